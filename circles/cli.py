"""The `circles` command line: a thin click layer over `circles.pipeline`; bad input exits 2 with one line.

The options `circles analyze` and `circles batch` share are declared once, in
`circles.options.RunOptions`; `run_options` turns those declarations into click options.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from circles.errors import USER_ERRORS, InputError

log = logging.getLogger("circles")

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def _handled(invoke: Callable[[click.Context], Any], ctx: click.Context) -> Any:
    """Run a command: our errors (and missing files) become one line on stderr and exit status 2."""
    try:
        return invoke(ctx)
    except USER_ERRORS as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except FileNotFoundError as exc:
        click.echo(f"error: {exc.filename}: file not found; check the path", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted 已中断", err=True)
        sys.exit(130)


class _Command(click.Command):
    """A command whose errors are handled the same way when it is invoked on its own (tests, scripts)."""

    def invoke(self, ctx: click.Context) -> Any:
        return _handled(super().invoke, ctx)


class _Group(click.Group):
    """A group whose commands (and the group itself) handle errors with `_handled`."""

    command_class = _Command

    def invoke(self, ctx: click.Context) -> Any:
        return _handled(super().invoke, ctx)


_Group.group_class = _Group


@click.group(cls=_Group, context_settings=CONTEXT)
@click.option("-v", "--verbose", is_flag=True, help="在标准错误输出进度细节 / log progress details to stderr.")
@click.version_option(package_name="circles")
def main(verbose: bool) -> None:
    """circles：15分钟养老服务圈规划工具（养老、助餐、未成年人保护）。

    circles: 15-minute service circles for elderly care, meals and child protection.

    \b
    命令 / commands:
      analyze     一个区域的可达性与覆盖 / access and coverage of one area
      batch       每个区县/街道分别分析 / the same for every district
      facilities  检查设施台账 / check a facility ledger
      network     路网概况 / summarise a network
      cache       路网缓存 / the network cache
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def run_options(command: str) -> Callable[[Callable], Callable]:
    """The click options of `command`, generated from the declarations in `circles.options.RunOptions`."""
    from circles.options import option_specs

    def decorate(f: Callable) -> Callable:
        for name, spec, default in reversed(option_specs(command)):
            kwargs: dict[str, Any] = {"help": spec.help, "show_default": default not in (None, False)}
            if spec.kind == "flag":
                kwargs.update(is_flag=True, default=False, show_default=False)
            elif spec.kind == "choice":
                kwargs.update(type=click.Choice(list(spec.choices)), default=default)
            elif spec.kind == "float":
                kwargs.update(type=float, default=default)
            elif spec.kind == "int":
                kwargs.update(type=int, default=default)
            else:
                kwargs.update(default=default)
            if spec.metavar:
                kwargs["metavar"] = spec.metavar
            f = click.option(spec.flag, name, **kwargs)(f)
        return f

    return decorate


def _options(kwargs: dict[str, Any]):
    from circles.options import RunOptions

    return RunOptions(**kwargs).validated()


def _err(msg: str) -> None:
    click.echo(msg, err=True)


# ============================================================================ analyze
@main.command("analyze", context_settings=CONTEXT)
@run_options("analyze")
@click.option("--out", "out_dir", type=click.Path(), required=True, help="输出文件夹 / output folder.")
def analyze_cmd(out_dir: str, **kwargs: Any) -> None:
    """一个区域的步行可达性与覆盖率：写出 summary.json、access.csv、gaps.geojson、表格和地图。

    Walking access and coverage of one area; writes summary.json, access.csv, gaps.geojson, tables and the map.
    """
    from circles.pipeline import analyse, prepare

    opts = _options(kwargs)
    out = _check_out(out_dir)
    result = analyse(prepare(opts, progress=_err), progress=_err)
    paths = result.write(out)
    lang = opts.lang
    for c in result.report.categories:
        label = c.label_zh if lang == "zh" else c.label_en
        click.echo(f"{c.category:8s} {label}: {c.coverage:6.1%} of {c.demand_total:,.0f} "
                   f"({c.demand_column}) within {c.minutes:g} min, {c.facilities} facilities")
    for r in result.suggestions:
        state = "optimal" if r.optimal else f"gap {r.gap:.1%}"
        click.echo(f"suggest  {r.category}: {r.n_sites} new sites, coverage {r.coverage_before:.1%} -> "
                   f"{r.coverage_after:.1%} ({state}, {r.solver})")
    for note in result.notes:
        _err(f"note: {note}")
    for w in result.report.warnings:
        _err(f"warning: {w}")
    click.echo(f"wrote {len(paths)} files to {out_dir}")


def _check_out(out_dir: str) -> Path:
    """The output folder, checked before any work: not a file, creatable, writable."""
    try:
        from circles.outputs.files import check_output_dir
    except ImportError:  # until the outputs package lands
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out_dir}: is a file, not a folder; give a folder path, e.g. --out out/run1")
        return out
    return check_output_dir(out_dir)


# ============================================================================ batch
@main.command("batch", context_settings=CONTEXT)
@run_options("batch")
@click.option("--out", "out_dir", type=click.Path(), required=True, help="输出文件夹 / output folder.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="本机进程数（1：本进程） / worker processes on this machine (1: in this process).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask 调度器地址，如 tcp://10.0.0.5:8786 / a Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                   "(--workers is ignored).")
@click.option("--resume", is_flag=True, help="跳过已完成的分区 / skip districts whose outputs are complete for the "
                                             "same inputs and options.")
@click.option("-q", "--quiet", is_flag=True, help="不显示进度 / no progress bar and no preparation messages.")
def batch_cmd(out_dir: str, workers: int, scheduler: str | None, resume: bool, quiet: bool, **kwargs: Any) -> None:
    """对 --districts 中数据覆盖到的每个区县/街道分别运行 analyze。

    Run `circles analyze` for every district (区/县) or street (街道/乡镇) of --districts that the data
    reaches. Writes one folder per district, plus districts.csv/.xlsx (one row per district × category),
    rules.csv, districts.geojson (a choropleth layer for QGIS), summary_map.html, errors.log and batch.json.
    A failing district is recorded with its cause and the others continue; the exit status is 1 when
    any district failed, 2 on bad input.
    """
    from circles.batch import run_batch

    opts = _options(kwargs)
    _check_out(out_dir)
    say = (lambda msg: None) if quiet else _err
    try:
        result = run_batch(opts, Path(out_dir), workers=workers, scheduler=scheduler, resume=resume,
                           progress=False if quiet else None, say=say)
    except KeyboardInterrupt:
        _err(f"interrupted 已中断; finished districts are kept: run again with --resume to go on ({out_dir})")
        sys.exit(130)
    n = result.counts()
    ran = n["ok"] + n["failed"]
    rate = f" ({ran / result.seconds * 60.0:.1f} districts/min)" if ran and result.seconds > 0 else ""
    click.echo(f"districts 区划: {len(result.outcomes)}: {n['ok']} done, {n['failed']} failed, "
               f"{n['skipped']} already complete (--resume); {result.seconds:.1f} s{rate}")
    if result.outside:
        shown = "、".join(result.outside[:10]) + (" …" if len(result.outside) > 10 else "")
        click.echo(f"outside the data 数据范围外: {len(result.outside)} districts left out ({shown})")
    for o in result.failed:
        _err(f"failed 失败: {o.name}: {o.cause}")
    click.echo(f"wrote {', '.join(p.name for p in result.paths)} and one folder per district to {out_dir}")
    if not result.ok:
        sys.exit(1)


# ============================================================================ network
def _network_source(network: str | None, sample: bool):
    """The network argument of the small commands: an OSM/GraphML file, a place name, or the sample."""
    if sample == bool(network):
        raise InputError("give exactly one of --network FILE or --sample (e.g. `circles network --sample`)")
    if sample:
        from circles.sample import make_sample

        s = make_sample()
        return s.ways, s.boundary, "sample (示例数据)"
    return network, None, str(network)


@main.command("network", context_settings=CONTEXT)
@click.option("--network", "network", metavar="FILE|PLACE",
              help="OSM 文件、GraphML 或地名 / OSM file (.osm/.osm.pbf/.osm.gz/.osm.bz2), GraphML file, or place name (online).")
@click.option("--sample", is_flag=True, help="内置示例区 / the built-in synthetic sample district.")
@click.option("--mode", type=click.Choice(["walk", "bike", "ebike", "drive"]), default="walk", show_default=True,
              help="出行方式（ebike = 电动自行车/电动三轮车）/ travel mode (ebike = e-bike / electric tricycle).")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 / print the summary as JSON.")
def network_cmd(network: str | None, sample: bool, mode: str, as_json: bool) -> None:
    """路网概况：节点、路段、道路长度、连通分量、范围、投影。

    Summarise a travel network: nodes, edges, km of ways, components, what was dropped, bbox, CRS.
    """
    from network import load_network

    source, boundary, label = _network_source(network, sample)
    net = load_network(source, mode=mode, boundary=boundary)
    s = net.summary()
    s["source"] = label
    if as_json:
        click.echo(json.dumps(s, ensure_ascii=False, indent=2))
        return
    lines = [
        f"source 数据源:        {label}",
        f"mode 出行方式:        {s['mode']}",
        f"nodes 节点:           {s['nodes']:,}",
        f"edges 路段:           {s['edges']:,} ({s['directed_edges']:,} directed)",
        f"length 道路长度:      {s['length_km']:,.1f} km",
        f"components 连通分量:  {s.get('components', 1)} (kept the largest; dropped {s.get('dropped_components', 0)}"
        f" with {s.get('dropped_nodes', 0):,} nodes, {s.get('dropped_length_km', 0.0):,.2f} km)",
        "bbox 范围 (lon/lat):  " + ", ".join(f"{v:.5f}" for v in s["bbox_lonlat"]),
        f"CRS 投影:             {s['crs']}",
    ]
    if "cache" in s:
        lines.append(f"cache 缓存:           {s['cache']}")
    click.echo("\n".join(lines))


# ============================================================================ facilities
@main.group("facilities", context_settings=CONTEXT)
def facilities_group() -> None:
    """设施台账：分析前检查 / facility ledgers: check before analysing."""


@facilities_group.command("check", context_settings=CONTEXT)
@click.option("--facilities", "facilities_path", type=click.Path(), required=True, help="设施台账 / facility ledger file.")
@click.option("--coords", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True,
              help="台账坐标系 / coordinate system of the ledger.")
@click.option("--network", "network", metavar="FILE",
              help="OSM 文件：同时检查离路网过远和坐标系 / OSM file: also check off-network points and the coordinate system.")
@click.option("--sample", is_flag=True, help="对照示例区路网 / check against the sample district's network.")
@click.option("--profile", "profile_name", default="15min", show_default=True, help="服务配置 / service profile.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="语言 / language.")
@click.option("--table", "table_path", type=click.Path(dir_okay=False), metavar="FILE.csv|FILE.xlsx",
              help="同时把每个问题写成表格（问题清单），供经办人修改后返回 / also write every problem as a table a clerk "
                   "can fix and send back: row, name, column, value, problem (zh, en), suggestion; written even when "
                   "the ledger is refused.")
def facilities_check_cmd(facilities_path, coords, network, sample, profile_name, lang, table_path) -> None:
    """打印台账检查报告：各类别和层级的数量、逐行问题、坐标系提示。

    Print the ledger's validation report: counts per category and tier, problems by row, coordinate hints.
    """
    from circles.facilities import LedgerError, format_report, problems_frame, read_ledger
    from circles.profiles import load_profile
    from network import load_network

    if table_path and Path(table_path).suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"--table {table_path}: give a .csv or .xlsx file, e.g. --table 问题清单.xlsx")
    profile = load_profile(profile_name)
    net = None
    if network or sample:
        source, boundary, _ = _network_source(network, sample)
        net = load_network(source, boundary=boundary)

    def write_table(problems) -> None:
        from circles.outputs import atomic_write_bytes
        from circles.outputs.workbook import problems_table_bytes

        path = atomic_write_bytes(table_path, problems_table_bytes(problems_frame(problems),
                                                                   Path(table_path).suffix.lower()))
        said = f"问题清单已写入 {path}（{len(problems)} 行）" if lang == "zh" else \
            f"problems table written to {path} ({len(problems)} rows)"
        click.echo(said, err=True)

    try:
        ledger = read_ledger(facilities_path, coords=coords, profile=profile, net=net)
    except LedgerError as exc:  # refused: the clerk still gets every row to fix
        if table_path:
            write_table(exc.problems)
        raise
    click.echo(format_report(ledger, lang=lang, profile=profile))
    if table_path:
        write_table(ledger.report.problems)


# ============================================================================ cache
@main.group("cache", context_settings=CONTEXT)
def cache_group() -> None:
    """路网缓存 / the network cache ($CIRCLES_CACHE_DIR, default ~/.cache/circles)."""


@cache_group.command("clear", context_settings=CONTEXT)
def cache_clear_cmd() -> None:
    """删除缓存的路网 / remove every cached network (they are rebuilt from the OSM files when needed)."""
    from network import clear_cache, default_cache_dir

    files, freed = clear_cache()
    click.echo(f"removed 已删除 {files} files, {freed / 1e6:,.1f} MB from {default_cache_dir()}")


if __name__ == "__main__":  # pragma: no cover
    main()

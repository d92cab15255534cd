"""The `circles` command line: a thin click layer over the library; bad input exits 2 with one line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from circles.errors import USER_ERRORS, CirclesError

log = logging.getLogger("circles")


class _Group(click.Group):
    """Turns `CirclesError` (and missing files) into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except FileNotFoundError as exc:
            click.echo(f"error: {exc.filename}: file not found; check the path", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.version_option(package_name="circles")
def main(verbose: bool) -> None:
    """circles: 15-minute service circles (15分钟养老服务圈) for elderly care, meals and child protection."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _network_source(network: str | None, sample: bool):
    """The network argument of every command: an OSM/GraphML file, a place name, or the sample."""
    if sample == bool(network):
        raise CirclesError("give exactly one of --network FILE or --sample (e.g. `circles network --sample`)")
    if sample:
        from circles.sample import make_sample

        s = make_sample()
        return s.ways, s.boundary, "sample (示例数据)"
    return network, None, str(network)


@main.command("network")
@click.option("--network", "network", metavar="FILE|PLACE", help="OSM file (.osm/.osm.pbf/.osm.gz/.osm.bz2), GraphML cache, or place name (online).")
@click.option("--sample", is_flag=True, help="Use the built-in synthetic sample district (示例数据).")
@click.option("--mode", type=click.Choice(["walk", "bike", "drive"]), default="walk", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def network_cmd(network: str | None, sample: bool, mode: str, as_json: bool) -> None:
    """Summarise a travel network: nodes, edges, km of ways, components, what was dropped, bbox, CRS."""
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


def _read_boundary(path: str | None):
    """A study-area polygon (WGS84) from a GeoJSON/GPKG/SHP file: the union of its polygons."""
    if path is None:
        return None
    import geopandas as gpd
    import shapely

    p = Path(path)
    if not p.exists():
        raise CirclesError(f"{p}: boundary file not found; give a GeoJSON/GPKG/SHP polygon file")
    try:
        g = gpd.read_file(p)
    except Exception as exc:  # noqa: BLE001
        raise CirclesError(f"{p}: not a readable vector file ({type(exc).__name__}); save it as GeoJSON") from None
    if g.crs is None:
        raise CirclesError(f"{p}: the file has no CRS; save it with EPSG:4326 (WGS84 lon/lat)")
    g = g.to_crs("EPSG:4326")
    poly = shapely.union_all(g.geometry.values)
    if poly.is_empty or poly.geom_type not in ("Polygon", "MultiPolygon"):
        raise CirclesError(f"{p}: no polygon found; the boundary must be a polygon layer")
    return poly


def _read_districts(path: str | None, col: str | None):
    if path is None:
        if col:
            raise CirclesError("--district-col needs --districts FILE")
        return None
    import geopandas as gpd

    p = Path(path)
    if not p.exists():
        raise CirclesError(f"{p}: districts file not found")
    g = gpd.read_file(p)
    if g.crs is None:
        raise CirclesError(f"{p}: the file has no CRS; save it with EPSG:4326 (WGS84 lon/lat)")
    if not col or col not in g.columns:
        valid = ", ".join(str(c) for c in g.columns if c != "geometry")
        raise CirclesError(f"{p}: district column {col!r} not found; use --district-col with one of: {valid}")
    return g.to_crs("EPSG:4326")


@main.command("analyze")
@click.option("--network", "network", metavar="FILE|PLACE", help="OSM file, GraphML cache, or place name (online).")
@click.option("--sample", is_flag=True, help="Run on the built-in synthetic sample district (示例数据).")
@click.option("--mode", type=click.Choice(["walk", "bike"]), default="walk", show_default=True,
              help="Network for the walking tiers (drive tiers of a profile always use roads).")
@click.option("--boundary", type=click.Path(), help="Study area polygon (GeoJSON/GPKG/SHP); residents counted only inside.")
@click.option("--buffer-m", type=float, default=1000.0, show_default=True, help="Network kept beyond the boundary (m).")
@click.option("--facilities", "facilities_path", type=click.Path(), help="Facility ledger (CSV/XLSX/GeoJSON/GPKG/SHP).")
@click.option("--coords", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True,
              help="Coordinate system of the ledger (Amap/Tencent: gcj02; Baidu: bd09).")
@click.option("--population", "population_path", type=click.Path(), help="Population units (CSV/XLSX/GeoJSON/GPKG/SHP).")
@click.option("--population-zones", type=click.Path(), help="Zones with population totals to spread onto buildings/roads.")
@click.option("--zone-population-col", help="Population column of --population-zones.")
@click.option("--districts", "districts_path", type=click.Path(), help="District polygons for per-district figures.")
@click.option("--district-col", help="Name column of --districts.")
@click.option("--profile", "profile_name", default="15min", show_default=True, help="Built-in profile or TOML file.")
@click.option("--minutes", type=float, help="One threshold (minutes) for every category and tier.")
@click.option("--speed-kmh", type=float, help="One plain speed for every walking tier and way (no way factors).")
@click.option("--horizon-min", type=float, default=60.0, show_default=True, help="Report times up to this many minutes.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Labels of tables and map.")
@click.option("--suggest", type=click.IntRange(min=1), help="Suggest N new sites per category (existing sites kept).")
@click.option("--target-coverage", type=click.FloatRange(0, 1, min_open=True), help="Or: fewest new sites reaching this share, e.g. 0.9.")
@click.option("--budget", type=float, help="Or: sites within this total budget (needs a cost column in --candidates).")
@click.option("--capacitated", is_flag=True, help="A site covers at most its capacity (needs a capacity column).")
@click.option("--candidates", "candidates_path", type=click.Path(), help="Candidate premises (CSV/XLSX like the ledger); default: points along the streets of the gaps.")
@click.option("--categories", help="Comma-separated category ids to suggest sites for (default: all).")
@click.option("--time-limit", "time_limit_s", type=float, default=60.0, show_default=True, help="Solver time limit per category (s).")
@click.option("--out", "out_dir", type=click.Path(), required=True, help="Output folder.")
def analyze_cmd(network, sample, mode, boundary, buffer_m, facilities_path, coords, population_path, population_zones,
                zone_population_col, districts_path, district_col, profile_name, minutes, speed_kmh, horizon_min,
                lang, suggest, target_coverage, budget, capacitated, candidates_path, categories, time_limit_s,
                out_dir) -> None:
    """Walking access and coverage per category; writes summary.json, access.csv, gaps.geojson, tables."""
    from circles.analysis import AnalysisInputs, run_analysis

    inputs = AnalysisInputs(
        network=network, sample=sample, mode=mode, boundary=_read_boundary(boundary), boundary_path=boundary,
        buffer_m=buffer_m, facilities_path=facilities_path, coords=coords, population_path=population_path,
        population_zones=population_zones, zone_population_col=zone_population_col,
        districts=_read_districts(districts_path, district_col), districts_path=districts_path,
        district_col=district_col, profile=profile_name, minutes=minutes, speed_kmh=speed_kmh,
        horizon_min=horizon_min, lang=lang, suggest=suggest, target_coverage=target_coverage, budget=budget,
        capacitated=capacitated, candidates_path=candidates_path, time_limit_s=time_limit_s,
        categories=tuple(c.strip() for c in categories.split(",") if c.strip()) if categories else None)
    result = run_analysis(inputs, progress=lambda msg: click.echo(msg, err=True))
    paths = result.write(Path(out_dir))
    for c in result.report.categories:
        label = c.label_zh if lang == "zh" else c.label_en
        click.echo(f"{c.category:8s} {label}: {c.coverage:6.1%} of {c.demand_total:,.0f} "
                   f"({c.demand_column}) within {c.minutes:g} min, {c.facilities} facilities")
    for r in result.suggestions:
        state = "optimal" if r.optimal else f"gap {r.gap:.1%}"
        click.echo(f"suggest  {r.category}: {r.n_sites} new sites, coverage {r.coverage_before:.1%} -> "
                   f"{r.coverage_after:.1%} ({state}, {r.solver})")
    for w in result.report.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"wrote {len(paths)} files to {out_dir}")


@main.group("facilities")
def facilities_group() -> None:
    """Facility ledgers: check before analysing."""


@facilities_group.command("check")
@click.option("--facilities", "facilities_path", type=click.Path(), required=True, help="Facility ledger file.")
@click.option("--coords", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True)
@click.option("--network", "network", metavar="FILE", help="OSM file: also check off-network points and the GCJ-02 hint.")
@click.option("--sample", is_flag=True, help="Check against the sample district's network.")
@click.option("--profile", "profile_name", default="15min", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--table", "table_path", type=click.Path(dir_okay=False), metavar="FILE.csv|FILE.xlsx",
              help="Also write every problem as a table a clerk can fix and send back (问题清单): row, name, "
                   "column, value, problem (zh, en), suggestion. Written even when the ledger is refused.")
def facilities_check_cmd(facilities_path, coords, network, sample, profile_name, lang, table_path) -> None:
    """Print the ledger's validation report: counts per category and tier, problems by row, coordinate hints."""
    from circles.errors import InputError
    from circles.facilities import LedgerError, format_report, problems_frame, read_ledger, write_problems_table
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
        path = write_problems_table(problems_frame(problems), table_path)
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


def _register_batch() -> None:
    from circles.batch import batch_cmd

    main.add_command(batch_cmd)


_register_batch()


if __name__ == "__main__":  # pragma: no cover
    main()

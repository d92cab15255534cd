"""The `circles` command line: a thin click layer over the library; bad input exits 2 with one line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from circles.errors import CirclesError

log = logging.getLogger("circles")


class _Group(click.Group):
    """Turns `CirclesError` (and missing files) into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CirclesError as exc:
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


if __name__ == "__main__":  # pragma: no cover
    main()

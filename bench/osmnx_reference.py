"""The osmnx reference path: filter an OSM file with osmnx's own walk filter, write OSM XML, graph_from_xml.

Used by the tests (agreement of our network with osmnx's) and the benchmarks (osmnx's XML graph
builder as the peer). osmnx's `graph_from_xml` builds every way of a file, so the file is first
cut down to the ways osmnx's Overpass filter for the network type would return: the filter string
is taken from osmnx itself and evaluated as Overpass does (unanchored regex, absent key passes).
"""

from __future__ import annotations

import re
from pathlib import Path

import osmium

_COND = re.compile(r'\["([^"]+)"(?:(!~|~|!=|=)"([^"]*)")?\]')


def osmnx_way_filter(network_type: str = "walk"):
    """A predicate on a way's tags equivalent to osmnx's Overpass filter for `network_type`."""
    from osmnx import _overpass

    return tags_predicate(_overpass._get_network_filter(network_type))


def tags_predicate(filter_str: str):
    """A predicate on a way's tags for an Overpass filter string (``["k"~"v"]["k2"!="w"]...``)."""
    conds = [(k, op, re.compile(v) if op in ("~", "!~") else v) for k, op, v in _COND.findall(filter_str)]

    def keep(tags: dict[str, str]) -> bool:
        for key, op, val in conds:
            have = tags.get(key)
            if not op:
                if have is None:
                    return False
            elif op == "!~":
                if have is not None and val.search(have):
                    return False
            elif op == "~":
                if have is None or not val.search(have):
                    return False
            elif op == "=":
                if have != val:
                    return False
            elif op == "!=" and have == val:
                return False
        return True

    return keep


def write_filtered_xml(src: Path, dst: Path, network_type: str = "walk") -> int:
    """Write the ways of `src` that osmnx's filter keeps, and their nodes, to OSM XML `dst`."""
    keep = osmnx_way_filter(network_type)
    ways, need = [], set()
    for w in osmium.FileProcessor(str(src), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway")):
        tags = {t.k: t.v for t in w.tags}
        if keep(tags):
            refs = [n.ref for n in w.nodes]
            ways.append((w.id, refs, tags))
            need.update(refs)
    dst = Path(dst)
    if dst.exists():
        dst.unlink()
    writer = osmium.SimpleWriter(str(dst))
    try:
        for n in osmium.FileProcessor(str(src), osmium.osm.NODE):
            if n.id in need and n.location.valid():
                writer.add_node(osmium.osm.mutable.Node(id=n.id, location=(n.location.lon, n.location.lat),
                                                        version=1, changeset=1, uid=1, user="x",
                                                        timestamp="2020-01-01T00:00:00Z"))
        for wid, refs, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags, version=1, changeset=1,
                                                  uid=1, user="x", timestamp="2020-01-01T00:00:00Z"))
    finally:
        writer.close()
    return len(ways)


def osmnx_graph(src: Path, work_dir: Path, network_type: str = "walk"):
    """osmnx's graph of `src` for `network_type`: filtered XML → ``graph_from_xml``."""
    import osmnx as ox

    xml = Path(work_dir) / (Path(src).name.split(".")[0] + f".{network_type}.osm")
    write_filtered_xml(src, xml, network_type)
    return ox.graph_from_xml(xml, bidirectional=(network_type in ox.settings.bidirectional_network_types))

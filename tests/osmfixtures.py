"""Small OSM XML files written from hand-made `RawWays`, and XML prologs that declare entities."""

from __future__ import annotations

from pathlib import Path

from network.raw import RawWays

# "Billion laughs", small: each entity is ten copies of the previous one (10**3 expansions here;
# the real attack nests ten levels for 10**9)
NESTED_ENTITIES = (
    '<!DOCTYPE osm [\n'
    ' <!ENTITY lol "lol">\n'
    ' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    ' <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">\n'
    ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
    ']>\n'
)


def osm_xml(raw: RawWays, *, bounds: tuple[float, float, float, float] | None = None,
            doctype: str = "", name_entity: str | None = None) -> str:
    """OSM XML text of `raw`: nodes, then ways with their tags.

    `bounds` (min lon, min lat, max lon, max lat) becomes a ``<bounds>`` element; `doctype`
    goes between the XML declaration and ``<osm>``; `name_entity` (e.g. ``"lol3"``) is
    referenced from the first way's ``name`` tag, so a parser that expands entities would.
    """
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', doctype + '<osm version="0.6" generator="circles tests">']
    if bounds is not None:
        w, s, e, n = bounds
        lines.append(f' <bounds minlat="{s}" minlon="{w}" maxlat="{n}" maxlon="{e}"/>')
    for i, lon, lat in zip(raw.node_id, raw.node_lon, raw.node_lat):
        lines.append(f' <node id="{int(i)}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for k, (wid, tags) in enumerate(zip(raw.way_id, raw.way_tags)):
        refs = "".join(f'<nd ref="{int(r)}"/>' for r in raw.refs[raw.way_offsets[k]:raw.way_offsets[k + 1]])
        tag_xml = "".join(f'<tag k="{t}" v="{v}"/>' for t, v in tags.items())
        if k == 0 and name_entity:
            tag_xml += f'<tag k="name" v="&{name_entity};"/>'
        lines.append(f' <way id="{int(wid)}">{refs}{tag_xml}</way>')
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def write_osm(path: Path, raw: RawWays, **kw) -> Path:
    """Write `osm_xml(raw, **kw)` to `path` (UTF-8) and return the path."""
    path.write_text(osm_xml(raw, **kw), encoding="utf-8")
    return path

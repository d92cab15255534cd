"""The maps' visual vocabulary: colours, sizes, panes, the page CSS, hatch patterns, swatches and the site star."""

from __future__ import annotations

from typing import Any

from circles.outputs.safety import Html, html_text

__all__ = ["BACKGROUND", "CANVAS_ABOVE", "COORD_DECIMALS", "DISTRICT_COLOUR", "FACILITY_RADIUS_PX", "GAP_COLOUR",
           "METRES_PER_DEGREE", "OTHER_COLOUR", "PALETTE", "PANES", "STREET_SWATCH", "UNIT_RADIUS_PX",
           "category_colours", "hatches",
           "page_css", "star", "swatch"]

#: Category colours in profile order; red is kept for gaps and uncovered residents.
PALETTE = ("#1f78b4", "#33a02c", "#6a3d9a", "#ff7f00", "#b15928", "#e7298a", "#17becf", "#666666")
GAP_COLOUR = "#d7191c"
OTHER_COLOUR = "#888888"
BACKGROUND = "#f3f1ec"  # the map's background when there are no tiles
DISTRICT_COLOUR = "#4d4d4d"
STREET_SWATCH = "#a8a398"  # the streets' symbol (their styles: circles.outputs.map.streets.STREET_STYLES)
METRES_PER_DEGREE = 111_320.0  # one degree of latitude; longitude degrees are shorter, so tolerances are conservative
CANVAS_ABOVE = 1000  # point layers with more features than this draw on a canvas instead of SVG (faster)
FACILITY_RADIUS_PX = (8.0, 6.0, 4.5)  # by tier position: the first (highest) tier is drawn largest
UNIT_RADIUS_PX = (3.0, 12.0)  # uncovered units: radius range, area proportional to people
COORD_DECIMALS = 6  # about 0.1 m

#: (name, z-index): streets under district borders under service areas under gaps under points.
PANES = (
    ("circles-streets", 401),
    ("circles-districts", 402),
    ("circles-areas", 410),
    ("circles-gaps", 420),
    ("circles-units", 430),
    ("circles-facilities", 440),
)

_CSS = """
.leaflet-container { background: %(background)s; font-family: "Microsoft YaHei", "PingFang SC",
  "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", Arial, sans-serif; }
.leaflet-control-layers.circles-layers { max-width: 300px; font-size: 12px; line-height: 1.3;
  padding: 0 8px 4px 6px; }
.circles-layers .leaflet-control-layers-list { max-height: 46vh; overflow-y: auto; overflow-x: hidden; }
.circles-layers-head { font-weight: bold; font-size: 13px; cursor: pointer; padding: 4px 0 3px; user-select: none; }
.circles-layers-head::before { content: "▾ "; }
.circles-folded .circles-layers-head::before { content: "▸ "; }
.circles-folded .leaflet-control-layers-list { display: none; }
.circles-layers .leaflet-control-layers-separator { display: none; }
.circles-layers label { margin: 1px 0 1px 10px; white-space: normal; overflow-wrap: anywhere; }
.circles-layers details > summary { cursor: pointer; margin: 3px 0 1px; font-weight: 600; white-space: normal; }
.circles-layers details.circles-base { border-top: 1px solid #ddd; margin-top: 3px; }
.circles-layers details.circles-base > summary { font-weight: normal; color: #444; }
.circles-layers .circles-small { color: #777; font-size: 11px; margin-left: 10px; }
.circles-swatch { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 2px; border-radius: 50%%;
  vertical-align: -1px; border: 1px solid rgba(0,0,0,.35); }
.circles-swatch-area { border-radius: 2px; opacity: .6; }
.circles-swatch-line { width: 12px; height: 3px; border-radius: 1px; border: none; vertical-align: 3px; }
.circles-swatch-gap { border-radius: 2px; border: 1px dashed %(gap)s; background: none; }
.circles-legend { background: rgba(255,255,255,.94); padding: 4px 8px; border-radius: 5px; max-width: 260px;
  max-height: 30vh; overflow-y: auto; font-size: 11.5px; line-height: 1.3; box-shadow: 0 1px 5px rgba(0,0,0,.35); }
.circles-legend details details > summary { font-weight: normal; font-size: 12px; color: #444; }
.circles-legend .circles-detail { color: #444; font-size: 11px; margin-left: 16px; }
.circles-legend summary { font-weight: bold; cursor: pointer; font-size: 13px; }
.circles-legend h4 { margin: 3px 0; font-size: 12px; }
.circles-legend .circles-row { margin: 2px 0; }
.circles-legend .circles-share { font-weight: bold; }
.circles-legend .circles-note { color: #a63603; font-weight: bold; }
.circles-legend .circles-small { color: #555; font-size: 11px; }
.circles-legend svg { vertical-align: middle; margin-right: 4px; }
.circles-key { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.circles-district-label { background: rgba(255,255,255,.75); border: none; box-shadow: none; color: #333;
  font-weight: bold; font-size: 13px; padding: 1px 4px; }
.circles-site { background: none; border: none; }
.leaflet-popup-content { font-size: 12px; line-height: 1.45; margin: 10px 14px; }
.circles-site svg { overflow: visible; }
%(hatch_css)s
"""


def category_colours(report: Any) -> dict[str, str]:
    """Colour (hex) of every category of `report`, in profile order; the map and its legend use them."""
    return {c.category: PALETTE[i % len(PALETTE)] for i, c in enumerate(report.categories)}


def page_css(n_categories: int) -> tuple[str, Html]:
    """The page CSS and the SVG patterns the gap areas of `n_categories` categories are hatched with."""
    hatch_css, hatch_svg = hatches(n_categories)
    return _CSS % {"background": BACKGROUND, "gap": GAP_COLOUR, "hatch_css": hatch_css}, hatch_svg


def hatches(n: int) -> tuple[str, Html]:
    """CSS and SVG patterns: gap areas of category i are hatched at their own angle, so overlaps cross-hatch."""
    angles = (45, -45, 0, 90)
    css, defs = [], []
    for i in range(n):
        css.append(f"path.circles-gap-{i} {{ fill: url(#circles-hatch-{i}); }}")
        defs.append(f'<pattern id="circles-hatch-{i}" patternUnits="userSpaceOnUse" width="7" height="7" '
                    f'patternTransform="rotate({angles[i % len(angles)]})">'
                    f'<line x1="0" y1="0" x2="0" y2="7" stroke="{GAP_COLOUR}" stroke-width="2.2"/></pattern>')
    svg = ('<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
           + "".join(defs) + "</defs></svg>")
    return "\n".join(css), Html(svg)


def swatch(colour: str, kind: str = "", *, border: str | None = None) -> Html:
    """A small coloured symbol for layer names and the legend (kind: "" dot, "area" square, "gap" dashed)."""
    colour = html_text(colour)
    cls = f"circles-swatch circles-swatch-{kind}" if kind else "circles-swatch"
    if kind == "gap":
        return Html(f'<span class="{cls}" style="border-color:{colour}"></span>')
    edge = f";border:1.5px solid {html_text(border)}" if border else ""
    return Html(f'<span class="{cls}" style="background:{colour}{edge}"></span>')


def star(colour: str, rank: int | None, *, size_px: int = 26) -> Html:
    """The symbol of a suggested site: a star in the category's colour with its rank (below 1000) inside."""
    text = (f'<text x="13" y="17" text-anchor="middle" font-size="9" font-weight="bold" fill="#ffffff">{int(rank)}'
            "</text>" if rank is not None and rank < 1000 else "")
    return Html(f'<svg width="{size_px}" height="{size_px}" viewBox="0 0 26 26"><polygon points="13,1 16.5,9 25,9.6 '
                f'18.5,15.2 20.5,24 13,19.3 5.5,24 7.5,15.2 1,9.6 9.5,9" fill="{html_text(colour)}" stroke="#222222" '
                f'stroke-width="1.3"/>{text}</svg>')

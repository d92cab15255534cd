"""The coverage map's legend (coverage share per category, symbols, notes) and its texts as escaped HTML."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from circles.outputs.labels import group_label, label
from circles.outputs.map.style import DISTRICT_COLOUR, GAP_COLOUR, star, swatch
from circles.outputs.safety import Html, html_format, html_text

__all__ = ["fmt_minutes", "fmt_people", "legend_html", "map_template", "map_text", "name_of"]


@functools.lru_cache(maxsize=None)
def map_template(key: str, lang: str) -> Html:
    """Label `key` (`circles.outputs.labels`) escaped as HTML, its ``{fields}`` left to fill with escaped values."""
    return html_text(label(key, lang))


def map_text(key: str, lang: str, **values: Any) -> Html:
    """Label `key` as HTML: the label escaped, each value escaped unless `Html` (`html_format`)."""
    return html_format(map_template(key, lang), **values)


def name_of(obj: Any, lang: str) -> str:
    """An object's ``label_zh`` or ``label_en`` (categories, tiers, profiles)."""
    return getattr(obj, "label_zh" if lang == "zh" else "label_en")


def fmt_people(x: Any) -> str:
    """People as ``1,234`` (``–`` when unknown): digits and commas only, safe in HTML as it is."""
    return f"{float(x):,.0f}" if x is not None and math.isfinite(float(x)) else "–"


def fmt_minutes(x: Any) -> str:
    """Minutes as ``15`` or ``7.5``."""
    return f"{float(x):g}"


def legend_html(report: Any, colours: Mapping[str, str], lang: str, *, note: str | None, caps: Sequence[str],
                has_sites: bool, has_districts: bool, has_areas: bool, has_streets: bool = False,
                population_source: str | None = None, folded: bool = False) -> Html:
    """The legend box: the note, the profile, each category's share and colour, the symbols (folded), the sources."""
    out = [html_format("<details{o}><summary>{t}</summary>", o=Html("" if folded else " open"),
                       t=label("map.legend", lang))]
    if note:
        out.append(html_format('<div class="circles-row circles-note">{note}</div>', note=note))
    title = getattr(report.profile, "label_zh" if lang == "zh" else "label_en", None) or label("map.title", lang)
    out.append(html_format("<h4>{title}</h4>", title=title))
    for res in report.categories:
        share = Html(f'<span class="circles-share">{100.0 * res.coverage:.1f}%</span>')
        detail = map_text("map.coverage", lang, share=share, covered=fmt_people(res.demand_covered),
                          total=fmt_people(res.demand_total), group=group_label(res.demand_column, lang),
                          minutes=fmt_minutes(res.minutes), n=res.facilities)
        out.append(html_format('<div class="circles-row">{swatch}<b>{name}</b><div class="circles-detail">{detail}'
                               "</div></div>", swatch=swatch(colours[res.category]), name=name_of(res, lang),
                               detail=detail))
    out.append(html_format('<details class="circles-symbols"><summary>{t}</summary>', t=label("map.symbols", lang)))
    out.extend(f'<div class="circles-row">{s}</div>' for s in _symbols(lang, has_sites=has_sites,
                                                                        has_districts=has_districts,
                                                                        has_areas=has_areas, has_streets=has_streets))
    # the sources (also in the attribution line) fold with the symbols, so the open legend stays small
    out.append(html_format('<div class="circles-row circles-small">{t}</div>', t=label("map.roads", lang)))
    if population_source:
        out.append(html_format('<div class="circles-row circles-small">{t}</div>',
                               t=label("map.population_source", lang, source=population_source)))
    out.append("</details>")
    out.extend(html_format('<div class="circles-row circles-note">{line}</div>', line=line) for line in caps)
    out.append("</details>")
    return Html("\n".join(out))


def _symbols(lang: str, *, has_sites: bool, has_districts: bool, has_areas: bool, has_streets: bool) -> list[Html]:
    """The legend's symbol rows: facility, uncovered unit, gap, and the optional layers'."""
    sym = []
    if has_streets:
        sym.append(Html('<svg width="16" height="16"><line x1="0" y1="10" x2="16" y2="6" stroke="#a8a398" '
                        'stroke-width="2.2"/></svg>') + html_text(label("map.streets", lang)))
    sym += [Html('<svg width="16" height="16"><circle cx="8" cy="8" r="6" fill="#777" stroke="#fff" stroke-width="2"/>'
                 "</svg>") + html_text(label("map.sym_facility", lang)),
            Html(f'<svg width="16" height="16"><circle cx="8" cy="8" r="5" fill="#bbb" stroke="{GAP_COLOUR}" '
                 'stroke-width="1.3"/></svg>') + html_text(label("map.sym_unit", lang)),
            Html(f'<svg width="16" height="16"><rect x="1" y="3" width="14" height="10" fill="url(#circles-hatch-0)" '
                 f'stroke="{GAP_COLOUR}" stroke-dasharray="3 2"/></svg>') + html_text(label("map.sym_gap", lang))]
    if has_areas:
        sym.append(Html('<svg width="16" height="16"><rect x="1" y="3" width="14" height="10" fill="#777" '
                        'fill-opacity=".25" stroke="#777"/></svg>') + html_text(label("map.sym_area", lang)))
    if has_sites:
        sym.append(star("#777777", None, size_px=16) + html_text(label("map.sym_site", lang)))
    if has_districts:
        sym.append(Html(f'<svg width="16" height="16"><line x1="0" y1="8" x2="16" y2="8" stroke="{DISTRICT_COLOUR}" '
                        'stroke-width="2" stroke-dasharray="4 2"/></svg>') + html_text(label("map.sym_district", lang)))
    return sym

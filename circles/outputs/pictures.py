"""Pictures for the Word reports, drawn offline with matplotlib from the same layers as the map.

- `coverage_pictures`: each category of an analysis: the streets (light, as the map's 道路 layer),
  district borders and names, the walking service area, the gap areas, the uncovered residents,
  the facilities by tier and the suggested sites by rank, a metric scale bar and a legend (the
  streets are prepared once for all the pictures);
- `choropleth_picture`: a batch's districts coloured by one category's coverage share (the
  colours of `circles.outputs.map.districts.COVERAGE_STEPS`).

Both return PNG bytes (no timestamp in the file: identical inputs give identical bytes). Chinese
text uses the first CJK font matplotlib finds (Noto Sans CJK, Source Han Sans, WenQuanYi, Microsoft
YaHei, SimHei, PingFang); without one the labels fall back to DejaVu Sans.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from circles.coverage import gap_areas, uncovered_units
from circles.outputs.labels import label
from circles.outputs.map.districts import COVERAGE_STEPS, FAILED_COLOUR, coverage_colour
from circles.outputs.map.streets import STREET_STYLES, street_lines
from circles.outputs.map.style import DISTRICT_COLOUR, GAP_COLOUR, METRES_PER_DEGREE, category_colours

__all__ = ["CJK_FONTS", "choropleth_picture", "coverage_pictures", "lorenz_png"]

#: Fonts tried for Chinese text, in order.
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Noto Sans SC")
_WIDTH_IN = 6.3  # 16 cm: the text width of an A4 page with 2.5 cm margins
_DPI = 140
_LEGEND_IN = 0.55  # room under a coverage picture for its legend (two rows)


@functools.cache
def _font_family() -> list[str]:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in CJK_FONTS if f in names] + ["DejaVu Sans"]


def _figure(height_in: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_WIDTH_IN, height_in), dpi=_DPI)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 6})
    return buf.getvalue()


def _paths(geoms: Sequence[Any]):
    """Polygons as one matplotlib Path (holes as their own rings; the even-odd rule leaves them open)."""
    from matplotlib.path import Path

    verts, codes = [], []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        polys = getattr(g, "geoms", [g])
        for p in polys:
            if p.geom_type != "Polygon":
                continue
            for ring in (p.exterior, *p.interiors):
                xy = np.asarray(ring.coords)
                if len(xy) < 3:
                    continue
                verts.append(xy)
                codes.append(np.concatenate([[Path.MOVETO], np.full(len(xy) - 2, Path.LINETO), [Path.CLOSEPOLY]]))
    if not verts:
        return None
    return Path(np.concatenate(verts), np.concatenate(codes))


def _patch(ax, geoms, **style) -> bool:
    from matplotlib.patches import PathPatch

    path = _paths(geoms)
    if path is None:
        return False
    _add(ax, PathPatch(path, **style))
    return True


def _add(ax, artist) -> None:
    """An artist in data coordinates, clipped to the axes, without updating the axes' limits (they are set:
    `Axes.add_patch` would walk every vertex of a street network to find them)."""
    artist.set_transform(ax.transData)
    artist.set_clip_path(ax.patch)
    ax.add_artist(artist)


def _frame(ax, west: float, south: float, east: float, north: float) -> None:
    """Axes fitted to the bounds, lon/lat with the aspect of the middle latitude, no ticks."""
    pad_x, pad_y = (east - west) * 0.03 or 0.001, (north - south) * 0.03 or 0.001
    ax.set_xlim(west - pad_x, east + pad_x)
    ax.set_ylim(south - pad_y, north + pad_y)
    ax.set_aspect(1.0 / max(math.cos(math.radians((south + north) / 2)), 0.1))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#f3f1ec")
    for spine in ax.spines.values():
        spine.set_color("#999999")


def _scale_bar(ax, lang: str) -> None:
    """A metric scale bar (a round length about a fifth of the width) in the lower right corner."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    m_per_deg = METRES_PER_DEGREE * math.cos(math.radians((y0 + y1) / 2))
    width_m = (x1 - x0) * m_per_deg
    target = width_m / 5
    step = 10 ** math.floor(math.log10(target))
    length = max(s * step for s in (1, 2, 5) if s * step <= target)
    deg = length / m_per_deg
    x, y = x1 - (x1 - x0) * 0.04 - deg, y0 + (y1 - y0) * 0.04
    ax.plot([x, x + deg], [y, y], color="#333333", linewidth=2.5, solid_capstyle="butt", zorder=20)
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x + deg / 2, y + (y1 - y0) * 0.015, text, ha="center", va="bottom", fontsize=7, color="#333333",
            zorder=20)


def _street_paths(streets: Any, bounds: tuple[float, float, float, float]) -> dict[str, Any]:
    """The streets, simplified to about a pixel of the picture, as one compound path per class (drawn at once)."""
    from matplotlib.path import Path

    west, south, east, north = bounds
    metres = (east - west) * METRES_PER_DEGREE * math.cos(math.radians((south + north) / 2))
    lines, major = street_lines(streets, simplify_m=max(metres / 1500.0, 2.0))
    out = {}
    for key, mask in (("minor", ~major), ("major", major)):
        chosen = [lines[i] for i in np.flatnonzero(mask)]
        if not chosen:
            continue
        counts = np.array([len(a) for a in chosen])
        codes = np.full(int(counts.sum()), Path.LINETO, dtype=np.uint8)
        codes[np.concatenate([[0], np.cumsum(counts)[:-1]])] = Path.MOVETO
        out[key] = Path(np.concatenate(chosen), codes)
    return out


def _streets(ax, paths: dict[str, Any]) -> None:
    from matplotlib.patches import PathPatch

    for key, z in (("minor", 1), ("major", 2)):
        if key in paths:
            style = STREET_STYLES[key]
            _add(ax, PathPatch(paths[key], facecolor="none", edgecolor=style["color"],
                               linewidth=style["weight"] * 0.45, zorder=z))


def _districts(ax, districts: Any, col: str | None, bounds: tuple[float, float, float, float]) -> None:
    """District borders, and each name on the part of its district the picture shows."""
    if districts is None or not len(districts):
        return
    geoms = districts.to_crs("EPSG:4326").geometry.values
    _patch(ax, geoms, facecolor="none", edgecolor=DISTRICT_COLOUR, linewidth=0.9, linestyle=(0, (5, 3)), zorder=4)
    if col is None or col not in districts:
        return
    view = shapely.box(*bounds)
    for name, g in zip(districts[col].tolist(), geoms):
        if g is None or g.is_empty or name is None:
            continue
        shown = g.intersection(view)
        if shown.is_empty or shown.area < 0.02 * view.area:
            continue
        p = shown.representative_point()
        ax.text(p.x, p.y, str(name), ha="center", va="center", fontsize=7, color="#333333", zorder=15,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0})


def coverage_pictures(result: Any, *, lang: str, sites: pd.DataFrame | None = None,
                      height_in: float | None = None) -> dict[str, bytes]:
    """Each category of an analysis as a PNG: streets, districts, service area, gaps, uncovered residents, sites.

    Parameters
    ----------
    result
        A `circles.pipeline.AnalysisResult`.
    lang
        ``"zh"`` or ``"en"``: the legend.
    sites
        Suggested sites (`circles.outputs.tables.suggestion_table`), drawn as numbered stars.
    height_in
        Height of each figure (inches; the width is 16 cm); default: the area's shape, 3–7.5 in.

    Returns
    -------
    dict of str to bytes
        PNG per category id, in the profile's order.
    """
    from circles.outputs.map.result import result_bounds

    bounds = result_bounds(result)
    if height_in is None:
        west, south, east, north = bounds
        shape = (north - south) / max((east - west) * math.cos(math.radians((south + north) / 2)), 1e-9)
        height_in = min(max(_WIDTH_IN * shape * 1.06, 3.0), 7.5) + _LEGEND_IN
    paths = _street_paths(result.walk, bounds) if result.networks else {}
    return {c.category: _coverage_picture(result, c.category, lang, sites, bounds, paths, height_in)
            for c in result.report.categories}


def _coverage_picture(result: Any, category: str, lang: str, sites: pd.DataFrame | None,
                      bounds: tuple[float, float, float, float], paths: dict[str, Any], height_in: float) -> bytes:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    report = result.report
    res = report.category(category)
    colour = category_colours(report)[category]
    with _style():
        fig = _figure(height_in)
        ax = fig.add_axes((0.005, _LEGEND_IN / height_in, 0.99, 1 - _LEGEND_IN / height_in - 0.005))
        _frame(ax, *bounds)
        _streets(ax, paths)
        _districts(ax, result.districts, result.district_col, bounds)
        handles = [Line2D([], [], color=STREET_STYLES["major"]["color"], linewidth=1.2,
                          label=label("map.streets", lang))]
        areas = result.service_areas
        if areas is not None and len(areas):
            mine = areas[(areas["category"] == category) & (areas["kind"] == "union")]
            if not len(mine):
                mine = areas[(areas["category"] == category) & (areas["kind"] == "ring")]
            if _patch(ax, mine.to_crs("EPSG:4326").geometry.values, facecolor=colour, alpha=0.22, edgecolor=colour,
                      linewidth=0.8, zorder=5):
                handles.append(Patch(facecolor=colour, alpha=0.3, edgecolor=colour,
                                     label=label("map.area_union", lang, cat=_name(res, lang),
                                                 minutes=f"{res.minutes:g}")))
        gaps = gap_areas(report, category)
        if _patch(ax, gaps.geometry.values, facecolor="none", edgecolor=GAP_COLOUR, hatch="////", linewidth=0.8,
                  linestyle=(0, (4, 2)), zorder=6):
            handles.append(Patch(facecolor="none", edgecolor=GAP_COLOUR, hatch="////",
                                 label=label("map.sym_gap", lang)))
        _units(ax, report, res, colour, handles, lang)
        _facilities(ax, report, category, colour, handles, lang)
        _sites(ax, sites, category, colour, handles, lang)
        _scale_bar(ax, lang)
        fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=6.5, frameon=False, handlelength=1.6,
                   bbox_to_anchor=(0.5, 0.0), columnspacing=1.2)
        return _png(fig)


def _units(ax, report, res, colour: str, handles: list, lang: str) -> None:
    from matplotlib.lines import Line2D

    from circles.outputs.map.layers import AGGREGATE_UNITS_ABOVE, merge_units

    units = uncovered_units(report, res.category)
    if not len(units):
        return
    if len(units) > AGGREGATE_UNITS_ABOVE:  # merged on a grid, as on the map
        units, _ = merge_units(units, res.demand_column, f"minutes_{res.category}", AGGREGATE_UNITS_ABOVE)
    people = units[res.demand_column].to_numpy(float)
    size = 4 + 60 * np.sqrt(np.clip(people, 0, None) / max(float(people.max()), 1.0))
    ax.scatter(units["lon"], units["lat"], s=size, facecolor=colour, edgecolor=GAP_COLOUR, linewidth=0.5, alpha=0.6,
               zorder=7)
    handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor=colour, markeredgecolor=GAP_COLOUR,
                          label=label("map.sym_unit", lang)))


def _facilities(ax, report, category: str, colour: str, handles: list, lang: str) -> None:
    from matplotlib.lines import Line2D

    fac = report.facilities
    fac = fac[(fac["category"] == category).to_numpy()] if "category" in fac else fac.iloc[:0]
    if not len(fac):
        return
    try:
        tiers = [t.id for t in report.profile.category(category).tiers]
    except Exception:  # noqa: BLE001 - a report without a profile: one size
        tiers = []
    rank = {t: k for k, t in enumerate(tiers)}
    k = np.array([rank.get(t, len(tiers) - 1) for t in fac["tier"]]) if "tier" in fac and tiers \
        else np.zeros(len(fac), int)
    size = np.where(k == 0, 42, np.where(k == 1, 22, 14))
    ax.scatter(fac["lon"], fac["lat"], s=size, facecolor=colour, edgecolor="white", linewidth=0.8, zorder=8)
    handles.append(Line2D([], [], linestyle="", marker="o", markerfacecolor=colour, markeredgecolor="white",
                          markersize=6, label=label("map.sym_facility", lang)))


def _sites(ax, sites: pd.DataFrame | None, category: str, colour: str, handles: list, lang: str) -> None:
    from matplotlib.lines import Line2D

    if sites is None or not len(sites):
        return
    mine = sites[sites["category"] == category]
    if not len(mine):
        return
    ax.scatter(mine["lon"], mine["lat"], s=170, marker="*", facecolor=colour, edgecolor="#222222", linewidth=0.7,
               zorder=9)
    for r in mine.itertuples(index=False):
        ax.annotate(str(int(r.rank)), (r.lon, r.lat), xytext=(5, 4), textcoords="offset points", fontsize=7,
                    fontweight="bold", color="#222222", zorder=10)
    handles.append(Line2D([], [], linestyle="", marker="*", markersize=10, markerfacecolor=colour,
                          markeredgecolor="#222222", label=label("map.sym_site", lang)))


def choropleth_picture(districts: Any, table: pd.DataFrame, category: str, *, lang: str, title: str,
                       name_col: str = "name", height_in: float = 4.6) -> bytes:
    """Districts coloured by one category's coverage share (grey: failed or no people), as a PNG.

    Parameters
    ----------
    districts
        District polygons (any CRS) with `name_col`.
    table
        The districts table (`circles.districts.DISTRICT_COLUMNS`).
    category
        The category whose ``coverage`` colours the districts.
    lang, title
        The legend's language and the picture's title.
    """
    from matplotlib.patches import Patch

    shares = {r["district"]: r["coverage"] for r in table[table["category"] == category].to_dict("records")}
    frame = districts.to_crs("EPSG:4326")
    geoms = frame.geometry.values
    drawn = [g for g in geoms if g is not None and not g.is_empty]
    with _style():
        fig = _figure(height_in)
        ax = fig.add_axes((0.005, 0.005, 0.99, 0.925))
        if drawn:
            _frame(ax, *shapely.total_bounds(np.asarray(drawn, dtype=object)))
        for name, g in zip(frame[name_col].tolist(), geoms):
            share = shares.get(name)
            share = None if share is None or (isinstance(share, float) and math.isnan(share)) else float(share)
            _patch(ax, [g], facecolor=coverage_colour(share), edgecolor="#555555", linewidth=0.6, zorder=2)
            if g is not None and not g.is_empty and len(drawn) <= 60:
                p = g.representative_point()
                ax.text(p.x, p.y, f"{name}\n{share:.0%}" if share is not None else str(name), ha="center",
                        va="center", fontsize=6, color="#222222", zorder=5)
        steps = ("< 60%", "60–80%", "80–90%", "≥ 90%")
        handles = [Patch(facecolor=c, edgecolor="#555555", label=n) for n, (_, c) in zip(steps, COVERAGE_STEPS)]
        handles.append(Patch(facecolor=FAILED_COLOUR, edgecolor="#555555", label=label("map.choropleth_failed_key",
                                                                                        lang)))
        ax.legend(handles=handles, loc="lower left", fontsize=6.5, framealpha=0.9)
        if drawn:
            _scale_bar(ax, lang)
        fig.suptitle(title, fontsize=9, y=0.99)
        return _png(fig)


def _name(obj: Any, lang: str) -> str:
    return getattr(obj, "label_zh" if lang == "zh" else "label_en")


class _style:
    """matplotlib settings of the pictures (fonts with CJK glyphs, no hatch too thick), for one drawing."""

    def __enter__(self):
        import matplotlib

        self._ctx = matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": _font_family(),
                                           "hatch.linewidth": 0.6, "hatch.color": GAP_COLOUR,
                                           "axes.unicode_minus": False, "svg.hashsalt": "circles"})
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def lorenz_png(report: Any, *, lang: str = "zh", categories: Sequence[str] | None = None) -> bytes:
    """The Lorenz curves of the minutes to the nearest facility, one per category, as PNG bytes (offline).

    The diagonal is equal access; the further a curve sags below it, the more unequal (its Gini,
    `circles.equity.weighted_gini`, in the legend). Words in `lang`. No software stamp in the PNG,
    so identical runs give identical bytes.
    """
    from circles.equity import lorenz_curve, minutes_and_weights, weighted_gini

    zh = lang == "zh"
    cats = tuple(categories) if categories else tuple(c.category for c in report.categories)
    fig = _figure(_WIDTH_IN * 0.8)
    fig.set_layout_engine("tight")
    ax = fig.add_subplot()
    font = {"family": _font_family()}
    colours = category_colours(report)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="完全均等" if zh else "equal access")
    for c in cats:
        res = report.category(c)
        x, w = minutes_and_weights(report, c)
        if not len(x):
            continue
        people, amount = lorenz_curve(x, w)
        ax.plot(people, amount, linewidth=2, color=colours.get(c),
                label=f"{res.label_zh if zh else res.label_en} (Gini {weighted_gini(x, w):.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("累计人口比例（按时间由短到长）" if zh else "cumulative share of people (shortest time first)", **font)
    ax.set_ylabel("累计时间比例" if zh else "cumulative share of minutes", **font)
    ax.set_title("可达时间的洛伦兹曲线" if zh else "Lorenz curves of the time to the nearest facility", **font)
    ax.legend(loc="upper left", prop={"family": _font_family(), "size": 8})
    ax.grid(True, alpha=0.3)
    return _png(fig)

"""The coverage map's data layers: streets, districts, service areas, gaps, uncovered residents, facilities, sites.

Each layer is a `folium.FeatureGroup` (named in the map's language, listed in the layer control
under its group: a category's id, or ``"general"``) holding one `GeoJsonLayer` (lines and polygons
packed, `circles.outputs.map.packing`) or the `Streets`. Every text of a tooltip, label or popup is
escaped (`html_text`) before it is put into the HTML the browser renders.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from circles.coverage import CoverageReport, gap_areas, uncovered_units
from circles.errors import InputError
from circles.coords import wgs84_to_bd09, wgs84_to_gcj02
from circles.outputs.geojson import properties_texts
from circles.outputs.labels import group_label, label
from circles.outputs.map import style
from circles.outputs.map.elements import GeoJsonLayer, GeoJsonText, Script, Streets
from circles.outputs.map.packing import packed_geometries
from circles.outputs.map.streets import street_streams
from circles.outputs.map.legend import fmt_minutes, fmt_people, map_template, map_text, name_of
from circles.outputs.map.style import (DISTRICT_COLOUR, FACILITY_RADIUS_PX, GAP_COLOUR, METRES_PER_DEGREE,
                                       OTHER_COLOUR, PALETTE, UNIT_RADIUS_PX, star, swatch)
from circles.outputs.safety import Html, html_format, html_join, html_text

__all__ = ["AGGREGATE_UNITS_ABOVE", "GENERAL", "Caps", "MapContext", "add_category_layers", "add_district_layer",
           "add_facility_layer", "add_other_facilities", "add_streets_layer", "add_suggestion_layer", "features",
           "point_features"]

#: The layer group of the streets, district borders, other facilities and suggested sites.
GENERAL = "general"
#: The layer group of one-stop access, meal delivery and home visits (folded on opening).
OUTREACH = "outreach"
#: Uncovered residents beyond this many per category are merged on a grid (a map of a city stays light).
AGGREGATE_UNITS_ABOVE = 2000

log = logging.getLogger(__name__)


# ============================================================================ shared parts
class Caps:
    """Point layers cut at `max_features`, and the legend lines that say so."""

    def __init__(self, max_features: int, lang: str):
        self.max_features = max_features
        self.lang = lang
        self.lines: list[str] = []

    def cut(self, frame: pd.DataFrame, layer: str) -> pd.DataFrame:
        if len(frame) <= self.max_features:
            return frame
        self.lines.append(label("map.capped", self.lang, layer=layer, shown=f"{self.max_features:,}",
                                total=f"{len(frame):,}"))
        log.info("map layer %s: %d of %d features drawn", layer, self.max_features, len(frame))
        return frame.iloc[: self.max_features]


@dataclass
class MapContext:
    """What every layer function needs: the map, the report, the language and the drawing options."""

    m: folium.Map
    report: CoverageReport
    lang: str
    colours: dict[str, str]
    simplify_m: float
    caps: Caps
    canvases: list[str] = field(default_factory=list)

    def text(self, key: str, **values: Any) -> Html:
        return map_text(key, self.lang, **values)


def features(geoms: Any, props: dict[str, Any]) -> GeoJsonText:
    """A FeatureCollection of `geoms` (WGS84) with property columns `props`; empty geometries dropped.

    Lines and polygons are packed (`circles.outputs.map.packing`, about 1 m), points keep their
    coordinates to `style.COORD_DECIMALS` (about 0.1 m); the page unpacks them (``circles.unpack``).
    """
    geoms = np.asarray(geoms, dtype=object)
    props_text = properties_texts(props, len(geoms))
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(np.where(shapely.is_missing(geoms), None, geoms)))
    packed = packed_geometries(geoms[keep], precision=style.COORD_DECIMALS - 1)
    lines = [f'{{"type": "Feature", "geometry": {g}, "properties": {p}}}' for g, p in zip(packed, props_text[keep])]
    return GeoJsonText('{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines)
                       + ("\n" if lines else "") + "]}\n")


def point_features(lon: Any, lat: Any, props: dict[str, Any]) -> GeoJsonText:
    """Points at `lon`/`lat` (degrees) with property columns `props`; points without coordinates dropped."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    points = shapely.points(x, y)
    points[~(np.isfinite(x) & np.isfinite(y))] = None
    return features(points, props)


def add_layer(ctx: MapContext, name: str, symbol: Html, *, show: bool = True,
              group: str = GENERAL) -> folium.FeatureGroup:
    """A layer named `name` (plain text, escaped here) after its `symbol`, in `group` of the layer control."""
    layer = folium.FeatureGroup(name=symbol + html_text(name), show=show)
    layer.circles_label = name  # the plain name, for tests and the app
    layer.circles_group = group
    layer.add_to(ctx.m)
    return layer


def _canvas(ctx: MapContext, pane: str, n: int) -> JsCode | None:
    """A shared canvas renderer for big point layers (SVG with tens of thousands of circles is slow)."""
    if n <= style.CANVAS_ABOVE:
        return None
    var = "circles_canvas_" + pane.replace("-", "_")
    if var not in ctx.canvases:
        ctx.canvases.append(var)
        ctx.m.add_child(Script(f'var {var} = L.canvas({{pane: "{pane}"}});'))
    return JsCode(var)


def _simplified(geoms: Any, simplify_m: float) -> np.ndarray:
    """Polygons simplified by `simplify_m` metres (as degrees of latitude); `features` rounds them to ~0.1 m."""
    geoms = np.asarray(geoms, dtype=object)
    if simplify_m > 0 and len(geoms):
        geoms = shapely.simplify(geoms, simplify_m / METRES_PER_DEGREE, preserve_topology=True)
    return geoms


def _area_geoms(areas: gpd.GeoDataFrame, simplify_m: float) -> np.ndarray:
    """Service areas drawn on a grid are simplified already (by most of a cell); others are simplified here."""
    if "cell_m" in areas and areas["cell_m"].notna().all() and (areas["cell_m"] * 0.5 >= simplify_m).all():
        return np.asarray(areas.geometry.values, dtype=object)
    return _simplified(areas.geometry.values, simplify_m)


def _profile_category(report: CoverageReport, category_id: str) -> Any:
    try:
        return report.profile.category(category_id)
    except Exception:  # a report built without a profile object: no tiers to split by
        return None


def _tier_label(report: CoverageReport, category_id: str, tier_id: Any, lang: str) -> str | None:
    if tier_id is None or (not isinstance(tier_id, str) and pd.isna(tier_id)):
        return None
    cat = _profile_category(report, category_id)
    for tier in (cat.tiers if cat is not None else ()):
        if tier.id == tier_id:
            return name_of(tier, lang)
    return str(tier_id)


def _facility_name(report: CoverageReport, facility: Any, lang: str) -> str:
    try:
        i = int(facility)
    except (TypeError, ValueError):
        return label("map.unnamed", lang)
    fac = report.facilities
    if 0 <= i < len(fac) and "name" in fac and pd.notna(fac["name"].iloc[i]):
        return str(fac["name"].iloc[i])
    return label("map.unnamed", lang)


# ============================================================================ layers
def add_streets_layer(ctx: MapContext, streets: Any) -> None:
    """The street network (道路/Streets), light grey under everything, simplified like the polygons."""
    streams = street_streams(streets, simplify_m=max(ctx.simplify_m, 1.0), precision=style.COORD_DECIMALS - 1)
    layer = add_layer(ctx, label("map.streets", ctx.lang), swatch(style.STREET_SWATCH, "line"))
    Streets(streams, pane="circles-streets").add_to(layer)


def add_district_layer(ctx: MapContext, districts: gpd.GeoDataFrame, district_col: str | None) -> None:
    """District borders, dashed, with their names as permanent labels."""
    group = add_layer(ctx, label("map.districts", ctx.lang), swatch(DISTRICT_COLOUR, "gap"))
    names = districts[district_col] if district_col is not None else pd.Series([None] * len(districts))
    labels = [html_text(v) if pd.notna(v) else None for v in names]
    data = features(_simplified(districts.geometry.values, ctx.simplify_m), {"label": labels} if district_col else {})
    GeoJsonLayer(data, pane="circles-districts", interactive=False, color=DISTRICT_COLOUR, weight=2,
                 dash_array="8 5", fill=False, opacity=0.85).add_to(group)


def add_category_layers(ctx: MapContext, res: Any, index: int, areas: gpd.GeoDataFrame | None, show: bool) -> None:
    """Every layer of one category: service areas, gaps, uncovered residents, facilities per tier."""
    colour = ctx.colours[res.category]
    if areas is not None:
        _service_area_layer(ctx, areas, res, colour, show)
        for kind, key, dash in (("catchment", "catchments", "3 4"), ("facility_area", "facility_areas", None)):
            _facility_area_layer(ctx, areas[areas["kind"].to_numpy() == kind], res, colour, kind, key, dash)
    _gap_layer(ctx, res, index, show)
    _uncovered_layer(ctx, res, colour, show)
    _facility_layers(ctx, res, colour)


def _service_area_layer(ctx: MapContext, areas: gpd.GeoDataFrame, res: Any, colour: str, show: bool) -> None:
    """The category's area within its threshold (an outline) over its 5/10/15-minute rings."""
    main = areas[np.isin(areas["kind"].to_numpy(), ("union", "ring"))]
    if not len(main):
        return
    cat_label = name_of(res, ctx.lang)
    minutes = main["minutes"] if "minutes" in main else pd.Series(res.minutes, index=main.index)
    main = main.assign(_minutes=minutes.fillna(res.minutes).astype(float), _union=main["kind"] == "union")
    # largest first so the smaller rings lie on top; unions (outlines) last
    main = main.sort_values(["_union", "_minutes"], ascending=[True, False], kind="stable")
    ring_minutes = sorted(set(main.loc[~main["_union"], "_minutes"]))
    tips, styles = [], []
    for row in main.drop(columns="geometry").to_dict("records"):
        mins = fmt_minutes(row["_minutes"])
        if row["_union"]:
            tip = ctx.text("map.area_union", cat=cat_label, minutes=mins)
            styles.append({"color": colour, "weight": 2, "fillColor": colour,
                           "fillOpacity": 0.10 if ring_minutes else 0.18})
        else:
            start = row.get("minutes_from")
            if start is not None and pd.notna(start) and float(start) > 0:
                mins = f"{fmt_minutes(start)}–{mins}"
            tip = ctx.text("map.area_ring", cat=cat_label, minutes=mins)
            k = ring_minutes.index(row["_minutes"])
            styles.append({"color": colour, "weight": 0.8, "fillColor": colour,
                           "fillOpacity": round(0.24 - 0.16 * k / max(len(ring_minutes) - 1, 1), 3)})
        tier = _tier_label(ctx.report, res.category, row.get("tier"), ctx.lang)
        tips.append(html_join("<br>", [tip, tier]) if tier else tip)
    group = add_layer(ctx, label("map.areas", ctx.lang, cat=cat_label, minutes=fmt_minutes(res.minutes)),
                      swatch(colour, "area"), show=show, group=res.category)
    GeoJsonLayer(features(_area_geoms(main, ctx.simplify_m), {"tip": tips, "style": styles}), pane="circles-areas",
                 color=colour, weight=1, fill=True, fill_color=colour, fill_opacity=0.15).add_to(group)


def _facility_area_layer(ctx: MapContext, part: gpd.GeoDataFrame, res: Any, colour: str, kind: str, key: str,
                         dash: str | None) -> None:
    """Each facility's catchment (nearest facility) or own service area; hidden on opening."""
    if not len(part):
        return
    name = label(f"map.{key}", ctx.lang, cat=name_of(res, ctx.lang))
    part = ctx.caps.cut(part, name)
    tips = []
    for row in part.drop(columns="geometry").to_dict("records"):
        mins = row.get("minutes")
        mins = fmt_minutes(mins if mins is not None and pd.notna(mins) else res.minutes)
        tips.append(ctx.text("map.area_catchment" if kind == "catchment" else "map.area_facility",
                             name=_facility_name(ctx.report, row.get("facility"), ctx.lang), minutes=mins))
    group = add_layer(ctx, name, swatch(colour, "area"), show=False, group=res.category)
    GeoJsonLayer(features(_area_geoms(part, ctx.simplify_m), {"tip": tips}), pane="circles-areas", color=colour,
                 weight=1.2, dash_array=dash, fill=True, fill_color=colour, fill_opacity=0.06).add_to(group)


def _gap_layer(ctx: MapContext, res: Any, index: int, show: bool) -> None:
    """Gap areas, hatched red, ranked by uncovered people."""
    cat_label = name_of(res, ctx.lang)
    name = label("map.gaps", ctx.lang, cat=cat_label)
    gaps = ctx.caps.cut(gap_areas(ctx.report, res.category), name)
    group_word = group_label(res.demand_column, ctx.lang)
    tips = []
    for g in gaps.drop(columns="geometry").to_dict("records"):
        lines = [html_format("<b>{t}</b>", t=ctx.text("map.gap_title", cat=cat_label, rank=int(g["rank"]))),
                 ctx.text("map.gap_people", group=group_word, n=fmt_people(g["demand_uncovered"]),
                          units=int(g["units"]))]
        lines.append(ctx.text("map.gap_minutes", minutes=float(g["max_minutes"])) if pd.notna(g["max_minutes"])
                     else ctx.text("map.gap_far", horizon=ctx.report.horizon_min))
        tips.append(html_join("<br>", lines))
    group = add_layer(ctx, name, swatch(GAP_COLOUR, "gap"), show=show, group=res.category)
    GeoJsonLayer(features(_simplified(gaps.geometry.values, ctx.simplify_m), {"tip": tips}), pane="circles-gaps",
                 class_name=f"circles-gap circles-gap-{index}", color=GAP_COLOUR, weight=1.5, dash_array="5 4",
                 fill=True, fill_color=GAP_COLOUR, fill_opacity=0.35).add_to(group)


def _uncovered_layer(ctx: MapContext, res: Any, colour: str, show: bool) -> None:
    """Uncovered residential units, circle area proportional to the people of the category's group.

    Beyond `AGGREGATE_UNITS_ABOVE` units they are merged on a grid (the legend says so): each
    circle then holds the units of one cell, at their people-weighted centre.
    """
    lang, report = ctx.lang, ctx.report
    cat_label = name_of(res, lang)
    name = label("map.uncovered", lang, cat=cat_label)
    units = uncovered_units(report, res.category)  # most people first
    cell_m = None
    if len(units) > AGGREGATE_UNITS_ABOVE:
        total = len(units)
        units, cell_m = merge_units(units, res.demand_column, f"minutes_{res.category}", AGGREGATE_UNITS_ABOVE)
        ctx.caps.lines.append(label("map.units_merged", lang, layer=name, total=f"{total:,}", cell=f"{cell_m:,.0f}",
                                    shown=f"{len(units):,}"))
    units = ctx.caps.cut(units, name)
    people = units[res.demand_column].to_numpy(float)
    top = float(people.max()) if len(people) else 1.0
    lo, hi = UNIT_RADIUS_PX
    radius = lo + (hi - lo) * np.sqrt(np.clip(people, 0, None) / top) if top > 0 else np.full(len(units), lo)
    props = {"tip": _unit_tips(ctx, res, units, cell_m), "style": [{"radius": r} for r in np.round(radius, 1).tolist()]}
    marker = folium.CircleMarker(radius=lo, color=GAP_COLOUR, weight=1.3, fill_color=colour, fill_opacity=0.55).options
    marker["pane"] = "circles-units"
    renderer = _canvas(ctx, "circles-units", len(units))
    if renderer is not None:
        marker["renderer"] = renderer
    group = add_layer(ctx, name, swatch(colour, border=GAP_COLOUR), show=show, group=res.category)
    GeoJsonLayer(point_features(units["lon"], units["lat"], props), point=("circle", marker)).add_to(group)


def _unit_tips(ctx: MapContext, res: Any, units: pd.DataFrame, cell_m: float | None) -> list[str]:
    """One tooltip per unit (or merged cell): its name, its people, its walk to the nearest facility."""
    lang, report = ctx.lang, ctx.report
    people = units[res.demand_column].to_numpy(float).tolist()
    minutes = units[f"minutes_{res.category}"].to_numpy(float).tolist()
    names = units["name"].tolist() if "name" in units else [None] * len(units)
    counts = units["units"].tolist() if cell_m is not None else [1] * len(units)
    pops = (units["population"].tolist() if "population" in units and res.demand_column != "population"
            else [None] * len(units))
    # tens of thousands on a city: templates escaped once, names escaped here, figures are digits
    # (fmt_people, {minutes:.1f}) and need no escaping
    people_t, population_t, minutes_t, longest_t = (map_template(f"map.{k}", lang) for k in (
        "people", "population", "minutes_to", "gap_minutes"))
    group_word = html_text(group_label(res.demand_column, lang))
    unnamed = html_text(name_of(res, lang))
    unreachable = ctx.text("map.unreachable", horizon=report.horizon_min)
    tips = []
    for k, p in enumerate(people):
        if cell_m is not None:
            title = ctx.text("map.merged_title", units=f"{int(counts[k]):,}", cell=f"{cell_m:,.0f}")
        else:
            title = html_text(names[k]) if pd.notna(names[k]) else unnamed
        lines = ["<b>" + title + "</b>", people_t.format(group=group_word, n=fmt_people(p))]
        if pops[k] is not None and pd.notna(pops[k]):
            lines.append(population_t.format(n=fmt_people(pops[k])))
        if not math.isfinite(minutes[k]):
            lines.append(unreachable)
        else:
            lines.append((longest_t if cell_m is not None else minutes_t).format(minutes=minutes[k]))
        tips.append("<br>".join(lines))
    return tips


def merge_units(units: pd.DataFrame, people_col: str, minutes_col: str, max_cells: int
                ) -> tuple[pd.DataFrame, float]:
    """Units merged on the finest grid of 100 m × √2^k cells that keeps at most `max_cells` cells.

    Returns one row per cell, most people first: ``lon``/``lat`` (the people-weighted centre),
    the sums of `people_col` and ``population``, the longest walk (`minutes_col`, NaN when any
    unit has no facility within the horizon), ``units``; and the cell size (metres).
    """
    lon, lat = units["lon"].to_numpy(float), units["lat"].to_numpy(float)
    x = lon * METRES_PER_DEGREE * math.cos(math.radians(float(np.median(lat))))
    y = lat * METRES_PER_DEGREE
    cell = 100.0
    while True:  # integer cell keys, numbered in order of first appearance
        ix, iy = np.floor(x / cell).astype(np.int64), np.floor(y / cell).astype(np.int64)
        ix -= ix.min() if len(ix) else 0
        iy -= iy.min() if len(iy) else 0
        key = ix * (int(iy.max()) + 1 if len(iy) else 1) + iy
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        if len(first) <= max_cells:
            codes = np.argsort(np.argsort(first, kind="stable"), kind="stable")[inverse]
            break
        cell = round(cell * math.sqrt(2.0))
    people = units[people_col].to_numpy(float)
    weight = np.where(people > 0, people, 1e-9)
    minutes = units[minutes_col].to_numpy(float)
    frame = pd.DataFrame({"cell": codes, "w": weight, "wx": weight * lon, "wy": weight * lat, people_col: people,
                          "m": np.where(np.isfinite(minutes), minutes, np.inf), "units": 1})
    if "population" in units and people_col != "population":
        frame["population"] = units["population"].to_numpy(float)
    agg = frame.groupby("cell", sort=True).agg({c: ("max" if c == "m" else "sum") for c in frame.columns
                                                if c != "cell"})
    out = pd.DataFrame({"lon": agg["wx"] / agg["w"], "lat": agg["wy"] / agg["w"], people_col: agg[people_col],
                        minutes_col: agg["m"].where(np.isfinite(agg["m"])), "units": agg["units"]})
    if "population" in agg:
        out["population"] = agg["population"]
    out = out.sort_values([people_col, "lon", "lat"], ascending=[False, True, True], kind="stable")
    return out.reset_index(drop=True), cell


def _facility_layers(ctx: MapContext, res: Any, colour: str) -> None:
    """One layer per tier of the category (an unset tier counts as the last, as in `assess`)."""
    cat_label = name_of(res, ctx.lang)
    profile_cat = _profile_category(ctx.report, res.category)
    tiers = profile_cat.tiers if profile_cat is not None else ()
    fac = ctx.report.facilities
    fac = fac[(fac["category"] == res.category).to_numpy()] if "category" in fac else fac.iloc[:0]
    if "tier" in fac and tiers:
        tier_of = fac["tier"].where(fac["tier"].notna(), tiers[-1].id)
    else:
        tier_of = pd.Series([None] * len(fac), index=fac.index, dtype=object)
    for k, tier in enumerate(tiers):
        radius = FACILITY_RADIUS_PX[min(k, len(FACILITY_RADIUS_PX) - 1)]
        add_facility_layer(ctx, fac[(tier_of == tier.id).to_numpy()],
                           label("map.facilities", ctx.lang, tier=name_of(tier, ctx.lang)), colour, radius,
                           cat_label, name_of(tier, ctx.lang), res.category)
    rest = fac[~tier_of.isin([tier.id for tier in tiers]).to_numpy()]
    if len(rest):  # tiers the profile does not list
        add_facility_layer(ctx, rest, label("map.facilities", ctx.lang, tier=cat_label), colour,
                           FACILITY_RADIUS_PX[-1], cat_label, None, res.category)


def add_other_facilities(ctx: MapContext, known: Sequence[str]) -> None:
    """Facilities of categories the report does not assess, in grey."""
    fac = ctx.report.facilities
    if "category" in fac:
        other = fac[~fac["category"].isin(known)]
        if len(other):
            add_facility_layer(ctx, other, label("map.other_facilities", ctx.lang), OTHER_COLOUR,
                               FACILITY_RADIUS_PX[-1], None, None)


def add_facility_layer(ctx: MapContext, fac: pd.DataFrame, name: str, colour: str, radius: float,
                       cat_label: str | None, tier_label: str | None, group_id: str = GENERAL) -> None:
    """Facilities as circles, the biggest (by capacity) kept when the layer is cut; tooltips list their data."""
    lang = ctx.lang
    if "capacity" in fac:
        fac = fac.sort_values("capacity", ascending=False, kind="stable", na_position="last")
    fac = ctx.caps.cut(fac, name)
    tips = []
    for f in fac.drop(columns="geometry", errors="ignore").to_dict("records"):
        nm = f.get("name")
        lines = [html_format("<b>{n}</b>", n=nm if pd.notna(nm) else label("map.unnamed", lang))]
        if cat_label:
            lines.append(cat_label)
        tier = tier_label or (f.get("tier") if pd.notna(f.get("tier")) else None)
        cap, dist = f.get("capacity"), f.get("district")
        for key, value in (("tier", tier), ("capacity", fmt_people(cap) if cap is not None and pd.notna(cap) else None),
                           ("district", dist if dist is not None and pd.notna(dist) else None)):
            if value:
                lines.append(ctx.text("map.field", field=label(f"map.{key}", lang), value=value))
        if bool(f.get("off_network", False)):
            lines.append(ctx.text("map.off_network", m=float(f.get("snap_m", float("nan")))))
        tips.append(html_join("<br>", lines))
    marker = folium.CircleMarker(radius=radius, color="#ffffff", weight=2 if radius >= FACILITY_RADIUS_PX[0] else 1.5,
                                 fill_color=colour, fill_opacity=0.95).options
    marker["pane"] = "circles-facilities"
    renderer = _canvas(ctx, "circles-facilities", len(fac))
    if renderer is not None:
        marker["renderer"] = renderer
    group = add_layer(ctx, name, swatch(colour), group=group_id)
    lon = fac["lon"] if "lon" in fac else fac.geometry.x
    lat = fac["lat"] if "lat" in fac else fac.geometry.y
    GeoJsonLayer(point_features(lon, lat, {"tip": tips}), point=("circle", marker)).add_to(group)


def add_suggestion_layer(ctx: MapContext, suggestions: gpd.GeoDataFrame) -> None:
    """Suggested sites as stars in their category's colour, numbered by rank ("建议新增 1").

    The tooltip names the site; its popup (a click) adds the people it newly covers, the coverage
    before → after and its coordinates in WGS84, GCJ-02 (Amap, Tencent) and BD-09 (Baidu).
    """
    lang = ctx.lang
    name = label("map.suggestions", lang)
    sites = suggestions.copy()
    if "rank" not in sites:
        sites["rank"] = np.arange(1, len(sites) + 1)
    sites = ctx.caps.cut(sites.sort_values("rank", kind="stable", na_position="last"), name)
    points = sites.geometry.values
    if not all(g is not None and not g.is_empty for g in points):
        raise InputError("suggestions: some rows have no geometry; give every suggested site a point")
    centres = shapely.centroid(np.asarray(points, dtype=object))  # a polygon site is marked at its centre
    lon, lat = shapely.get_x(centres), shapely.get_y(centres)
    tips, popups, icons = [], [], []
    for k, s in enumerate(sites.drop(columns="geometry").to_dict("records")):
        res = ctx.report.category(str(s["category"]))
        rank = int(s["rank"]) if pd.notna(s["rank"]) else None
        head = html_format("<b>{t}</b><br>{cat}", t=ctx.text("map.site_title", rank=rank if rank is not None else "–"),
                           cat=name_of(res, lang))
        if "name" in s and pd.notna(s["name"]) and str(s["name"]):
            head = html_join("<br>", [head, ctx.text("map.site_candidate", name=s["name"])])
        tips.append(head)
        popups.append(html_join("<br>", [head, *_site_lines(ctx, res, s, float(lon[k]), float(lat[k]))]))
        icons.append(star(ctx.colours[res.category], rank))
    icon = folium.DivIcon(html="", class_name="circles-site", icon_size=(26, 26), icon_anchor=(13, 13)).options
    group = add_layer(ctx, name, star(PALETTE[0], None, size_px=13))
    GeoJsonLayer(point_features(lon, lat, {"tip": tips, "popup": popups, "icon": icons}),
                 point=("icon", icon)).add_to(group)


def _site_lines(ctx: MapContext, res: Any, site: dict[str, Any], lon: float, lat: float) -> list[Html]:
    """A suggested site's figures and coordinates (WGS84, GCJ-02, BD-09; 6 decimals, about 0.1 m)."""
    lines = []
    if pd.notna(site.get("added_covered")):
        lines.append(ctx.text("map.site_added", n=fmt_people(site["added_covered"]),
                              group=group_label(res.demand_column, ctx.lang)))
    before, after = site.get("coverage_before"), site.get("coverage_after")
    if before is not None and after is not None and pd.notna(before) and pd.notna(after):
        lines.append(ctx.text("map.site_coverage", before=f"{100 * float(before):.1f}%",
                              after=f"{100 * float(after):.1f}%"))
    if math.isfinite(lon) and math.isfinite(lat):
        glon, glat = wgs84_to_gcj02(lon, lat)
        blon, blat = wgs84_to_bd09(lon, lat)
        for key, x, y in (("wgs84", lon, lat), ("gcj02", glon, glat), ("bd09", blon, blat)):
            lines.append(ctx.text(f"map.site_{key}", lon=f"{x:.6f}", lat=f"{y:.6f}"))
    return lines


#: One-stop access on the map (`add_one_stop_layer`): the residents who lack some service.
ONE_STOP_COLOUR = "#fdae61"


def add_one_stop_layer(ctx: MapContext) -> None:
    """Residential units without one-stop access (`circles.equity.one_stop_units`): some category is beyond its
    threshold, named in the tooltip; sized by residents, most first, off on opening. (The units with every service
    in reach are the rest; summary.json ``one_stop`` gives the share.)"""
    from circles.equity import one_stop_units

    lang = ctx.lang
    units = one_stop_units(ctx.report)
    name = label("map.one_stop", lang)
    units = units[~units["one_stop"].to_numpy(bool)].sort_values("population", ascending=False, kind="stable")
    units = units.assign(lon=shapely.get_x(units.geometry.values), lat=shapely.get_y(units.geometry.values),
                         n_missing=len(ctx.report.categories) - units["reached"].to_numpy(int))
    if len(units) > AGGREGATE_UNITS_ABOVE:  # merged on a grid, as the uncovered residents are
        total = len(units)
        units, cell_m = merge_units(units, "population", "n_missing", AGGREGATE_UNITS_ABOVE)
        ctx.caps.lines.append(label("map.units_merged", lang, layer=name, total=f"{total:,}", cell=f"{cell_m:,.0f}",
                                    shown=f"{len(units):,}"))
        tips = [ctx.text("map.one_stop_cell", n=fmt_people(p), units=int(k), k=int(m), cell=f"{cell_m:,.0f}")
                for p, k, m in zip(units["population"], units["units"], units["n_missing"])]
    else:
        tips = [ctx.text("map.one_stop_no", missing=m, n=fmt_people(p))
                for m, p in zip(units[f"missing_{lang}"], units["population"])]
    units = ctx.caps.cut(units.assign(tip=tips), name)
    people = units["population"].to_numpy(float)
    top = float(people.max()) if len(people) else 1.0
    lo, hi = UNIT_RADIUS_PX
    radius = lo + (hi - lo) * np.sqrt(np.clip(people, 0, None) / top) if top > 0 else np.full(len(units), lo)
    tips = list(units["tip"])
    props = {"tip": tips, "style": [{"radius": r} for r in np.round(radius, 1).tolist()]}
    marker = folium.CircleMarker(radius=lo, color="#7f3b08", weight=1, fill_color=ONE_STOP_COLOUR,
                                 fill_opacity=0.7).options
    marker["pane"] = "circles-units"
    renderer = _canvas(ctx, "circles-units", len(units))
    if renderer is not None:
        marker["renderer"] = renderer
    group = add_layer(ctx, name, swatch(ONE_STOP_COLOUR, border="#7f3b08"), show=False, group=OUTREACH)
    GeoJsonLayer(point_features(units["lon"], units["lat"], props), point=("circle", marker)).add_to(group)


#: Meal delivery and home visits on the map (`add_outreach_layers`).
DELIVERY_COLOUR = "#8c510a"
VISIT_COLOUR = "#c51b7d"


def add_outreach_layers(ctx: MapContext, outreach: Any) -> None:
    """Meal delivery (kitchen → meal point lines, meal points beyond reach) and the units home visits miss.

    `outreach` is a `circles.outreach.Outreach`; its parts that are None draw nothing. Lines within
    the delivery limit are solid, beyond it dashed red; every tooltip names the meal point, its
    kitchen and the minutes (escaped). Unreached home-visit units are sized by their people.
    """
    lang = ctx.lang
    from circles.delivery import reason_text

    delivery, visits = getattr(outreach, "delivery", None), getattr(outreach, "visits", None)
    if delivery is not None:
        links = delivery.links()
        tips = [html_join("<br>", [html_format("<b>{p}</b>", p=r.meal_point),
                                   ctx.text("map.delivery_tip", kitchen=r.kitchen, minutes=f"{float(r.minutes):.1f}")])
                for r in links.itertuples(index=False)]
        styles = [{"color": DELIVERY_COLOUR if ok else GAP_COLOUR, "dashArray": None if ok else "6 4"}
                  for ok in links["ok"].to_numpy(bool)]
        group = add_layer(ctx, label("map.delivery_links", lang), swatch(DELIVERY_COLOUR, "line"), group=OUTREACH)
        GeoJsonLayer(features(links.geometry.values, {"tip": tips, "style": styles}), pane="circles-facilities",
                     weight=2, opacity=0.85).add_to(group)
        gaps = delivery.gaps()
        if len(gaps):
            tips = [html_join("<br>", [html_format("<b>{p}</b>", p=r.meal_point),
                                       ctx.text("map.delivery_gap_tip", reason=reason_text(r.reason, lang),
                                                minutes="–" if pd.isna(r.minutes) else f"{float(r.minutes):.1f}")])
                    for r in gaps.itertuples(index=False)]
            group = add_layer(ctx, label("map.delivery_gaps", lang), swatch(GAP_COLOUR, border=DELIVERY_COLOUR),
                              group=OUTREACH)
            GeoJsonLayer(point_features(gaps.geometry.x, gaps.geometry.y, {"tip": tips}), pane="circles-facilities",
                         point=("circle", {"radius": 7, "color": DELIVERY_COLOUR, "weight": 2,
                                           "fillColor": GAP_COLOUR, "fillOpacity": 0.9})).add_to(group)
    if visits is not None:
        gaps = ctx.caps.cut(visits.gaps(), label("map.visit_gaps", lang))
        if len(gaps):
            people = gaps["demand"].to_numpy(float)
            tips = [html_join("<br>", [html_format("<b>{n}</b>", n=r.name if isinstance(r.name, str) else ""),
                                       ctx.text("map.visit_tip", n=fmt_people(r.demand),
                                                minutes="–" if pd.isna(r.minutes) else f"{float(r.minutes):.1f}")])
                    for r in gaps.itertuples(index=False)]
            radius = np.clip(3.0 + 1.5 * np.sqrt(np.maximum(people, 0.0)), 3.0, 18.0)
            styles = [{"radius": float(x)} for x in radius]
            group = add_layer(ctx, label("map.visit_gaps", lang), swatch(VISIT_COLOUR), show=False, group=OUTREACH)
            GeoJsonLayer(point_features(gaps["lon"], gaps["lat"], {"tip": tips, "style": styles}),
                         pane="circles-units", point=("circle", {"radius": 5, "color": VISIT_COLOUR, "weight": 1,
                                                                 "fillColor": VISIT_COLOUR, "fillOpacity": 0.6})
                         ).add_to(group)

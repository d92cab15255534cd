"""The coverage map: a coverage report as a folium map with toggleable layers, a layer control and a legend."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.coverage import CoverageReport
from circles.errors import InputError
from circles.outputs.labels import OSM_ATTRIBUTION, check_lang, label
from circles.outputs.map.elements import Header, Legend, Page, Script
from circles.outputs.map.layers import (Caps, MapContext, add_category_layers, add_district_layer,
                                        add_other_facilities, add_suggestion_layer)
from circles.outputs.map.legend import legend_html
from circles.outputs.map.style import PANES, category_colours, page_css
from circles.outputs.safety import html_text, script_json

__all__ = ["SERVICE_AREA_KINDS", "TILE_CHOICES", "coverage_map"]

SERVICE_AREA_KINDS = ("union", "ring", "catchment", "facility_area")
TILE_CHOICES = ("osm", "tianditu")  # or None (no tiles), or a "{z}/{x}/{y}" URL template


def coverage_map(
    report: CoverageReport,
    *,
    service_areas: gpd.GeoDataFrame | None = None,
    suggestions: Any = None,
    districts: gpd.GeoDataFrame | None = None,
    district_col: str | None = None,
    lang: str = "zh",
    tiles: str | None = None,
    tile_key: str | None = None,
    tile_attribution: str | None = None,
    note: str | None = None,
    focus: str | None = None,
    max_features: int = 20000,
    simplify_m: float = 5.0,
) -> folium.Map:
    """A folium map of a coverage report: facilities, service areas, gaps, uncovered residents, sites.

    Every layer is a `folium.FeatureGroup` named in `lang`, listed in a layer control, grouped by
    category. On opening, the facilities of every category show, and the service areas, gaps and
    uncovered residents of the `focus` category (catchments and per-facility areas start hidden);
    the rest are a click away. A legend lists each category's colour and coverage share. Every
    name from the inputs is escaped before it reaches the page. Render it with
    `circles.outputs.map.map_html` for a page that works without internet.

    Parameters
    ----------
    report
        The result of `circles.coverage.assess` (WGS84 demand and facilities).
    service_areas
        Walking service areas (any CRS, converted to WGS84): columns ``kind`` (``"union"``,
        ``"ring"``, ``"catchment"`` or ``"facility_area"``), ``category``, and optionally ``tier``,
        ``minutes`` and ``facility`` (row of ``report.facilities``, -1 when not per facility).
    suggestions
        Suggested new sites: WGS84 points (or a table with ``lon``/``lat``) with ``category`` and
        optionally ``rank``, ``added_covered`` (people of the category's demand group newly
        covered) and ``name``; or one `circles.siting.SitingResult` or a list of them.
    districts, district_col
        District (街道/乡镇) polygons and the column with their names (labels; None: borders only).
    lang
        ``"zh"`` or ``"en"``: layer names, legend and tooltips.
    tiles
        None: no basemap, a plain light background (works offline). ``"osm"``: OpenStreetMap tiles
        (internet). ``"tianditu"``: 天地图 vector tiles and labels (internet; CGCS2000 ≈ WGS84, so they
        fit the data); needs a browser-type key from https://console.tianditu.gov.cn as `tile_key`.
        A URL template with ``{z}``, ``{x}``, ``{y}`` (e.g. an intranet tile server, in WGS84 web
        Mercator) with `tile_attribution`. GCJ-02/BD-09 tiles (Amap, Baidu) would not line up.
    tile_key, tile_attribution
        Key of the Tianditu tiles; attribution text of a custom tile URL (plain text).
    note
        A line shown at the top of the legend, e.g. ``"示例数据 (synthetic sample)"``; by default
        ``report.inputs["sample_label"]`` when present.
    focus
        The category whose areas, gaps and uncovered residents show on opening (default: the
        first category of the profile); ``"all"`` shows every category's.
    max_features
        Most features drawn per layer; larger layers keep the most important ones (most uncovered
        people, highest ranked gaps and sites) and the legend says how many were left out.
    simplify_m
        Tolerance (metres) of the polygon simplification; 0 keeps every vertex.

    Returns
    -------
    folium.Map
        Add further folium layers if needed; `map_html` turns it into an offline page.

    Example
    -------
    >>> from circles.options import RunOptions
    >>> from circles.pipeline import analyse, prepare
    >>> from circles.sample import make_sample
    >>> result = analyse(prepare(RunOptions(sample=True)))
    >>> m = coverage_map(result.report, service_areas=result.service_areas, lang="en",
    ...                  districts=make_sample().districts, district_col="street")
    >>> sorted(g.circles_label for g in m._children.values() if hasattr(g, "circles_label"))[:2]
    ['Child protection: 15-min service area', 'Child protection: catchments (nearest facility)']
    """
    check_lang(lang)
    if isinstance(max_features, bool) or not isinstance(max_features, (int, np.integer)) or max_features < 1:
        raise InputError(f"max_features must be a positive whole number (got {max_features!r}), e.g. 20000")
    if not (isinstance(simplify_m, (int, float)) and math.isfinite(simplify_m) and simplify_m >= 0):
        raise InputError(f"simplify_m must be a non-negative number of metres (got {simplify_m!r}), e.g. 5")
    cat_ids = [c.category for c in report.categories]
    shown = _shown_categories(cat_ids, focus)
    service_areas, suggestions, districts = _checked_layers(service_areas, suggestions, districts, district_col,
                                                            cat_ids)
    if note is None:
        note = (report.inputs or {}).get("sample_label")

    m = _base_map(report, districts, tiles=tiles, tile_key=tile_key, tile_attribution=tile_attribution, lang=lang,
                  title=label("map.title", lang) + (f" — {note}" if note else ""))
    css, hatch_svg = page_css(len(report.categories))
    m.add_child(Header(css, hatch_svg))
    for name, z in PANES:
        m.add_child(folium.map.CustomPane(name, z_index=z, pointer_events=True))
    ctx = MapContext(m, report, lang, category_colours(report), float(simplify_m), Caps(int(max_features), lang))

    if districts is not None:
        add_district_layer(ctx, districts, district_col)
    for i, res in enumerate(report.categories):
        first = len(m._children)
        areas = service_areas[service_areas["category"] == res.category] if service_areas is not None else None
        add_category_layers(ctx, res, i, areas, res.category in shown)
        _mark_first(m, first)
    add_other_facilities(ctx, cat_ids)
    if suggestions is not None:
        add_suggestion_layer(ctx, suggestions)

    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    m.add_child(Legend(legend_html(report, ctx.colours, lang, note=note, caps=ctx.caps.lines,
                                   has_sites=suggestions is not None, has_districts=districts is not None,
                                   has_areas=service_areas is not None)))
    if tiles != "osm":
        attribution = script_json(json.dumps(html_text(OSM_ATTRIBUTION), ensure_ascii=False))
        m.add_child(Script(f"{{map}}.attributionControl.addAttribution({attribution});"))
    # last script: says every layer was built without a JavaScript error (the browser test reads it)
    m.add_child(Script('document.body.setAttribute("data-circles-map", "ready");'))
    return m


def _shown_categories(cat_ids: Sequence[str], focus: str | None) -> set[str]:
    if focus is None:
        return set(cat_ids[:1])
    if focus == "all":
        return set(cat_ids)
    if focus in cat_ids:
        return {focus}
    raise InputError(f"focus {focus!r} is not a category of the report; valid: {', '.join(cat_ids)} or 'all'")


def _checked_layers(service_areas, suggestions, districts, district_col, cat_ids):
    """The optional layers in WGS84 with their columns checked (one-line errors naming the fix)."""
    if service_areas is not None:
        service_areas = to_wgs84(service_areas, "service_areas")
        require_columns(service_areas, "service_areas", ("kind", "category"))
        bad = sorted({str(k) for k in service_areas["kind"].unique()} - set(SERVICE_AREA_KINDS))
        if bad:
            raise InputError(f"service_areas: kind {bad[0]!r} is not known; valid: {', '.join(SERVICE_AREA_KINDS)}")
        _check_categories(service_areas, "service_areas", cat_ids)
    if suggestions is not None:
        suggestions = suggestion_frame(suggestions)
        require_columns(suggestions, "suggestions", ("category",))
        _check_categories(suggestions, "suggestions", cat_ids)
    if districts is not None:
        districts = to_wgs84(districts, "districts")
        if district_col is not None:
            require_columns(districts, "districts", (district_col,))
    return service_areas, suggestions, districts


def to_wgs84(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """`frame` in EPSG:4326; a frame without CRS is refused with the fix."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(f"{name} must be a GeoDataFrame (got {type(frame).__name__}); "
                         "read it with geopandas.read_file")
    if frame.crs is None:
        raise InputError(f"{name} has no CRS; set it first, e.g. {name}.set_crs('EPSG:4326') for lon/lat")
    return frame.to_crs("EPSG:4326") if not frame.crs.equals("EPSG:4326") else frame


def suggestion_frame(suggestions: Any) -> gpd.GeoDataFrame:
    """Suggested sites as WGS84 points, from a GeoDataFrame, a lon/lat table, or `SitingResult`(s)."""
    if hasattr(suggestions, "sites") and hasattr(suggestions, "category"):  # a circles.siting.SitingResult
        suggestions = [suggestions]
    if isinstance(suggestions, (list, tuple)):
        frames = [r.sites.assign(category=r.category) for r in suggestions]
        if not frames:
            return gpd.GeoDataFrame({"category": []}, geometry=gpd.points_from_xy([], []), crs="EPSG:4326")
        suggestions = pd.concat(frames, ignore_index=True)
    if not isinstance(suggestions, gpd.GeoDataFrame) and isinstance(suggestions, pd.DataFrame):
        require_columns(suggestions, "suggestions", ("lon", "lat"))  # canonical tables are WGS84 lon/lat
        suggestions = gpd.GeoDataFrame(suggestions, geometry=gpd.points_from_xy(suggestions["lon"], suggestions["lat"]),
                                       crs="EPSG:4326")
    return to_wgs84(suggestions, "suggestions")


def require_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    """Refuse `frame` without `columns`, listing the columns it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{name} has no column(s) {', '.join(map(repr, missing))}; it has: "
                         + ", ".join(str(c) for c in frame.columns if c != "geometry"))


def _check_categories(frame: pd.DataFrame, name: str, known: Sequence[str]) -> None:
    unknown = sorted({str(c) for c in frame["category"].dropna().unique()} - set(known))
    if unknown:
        raise InputError(f"{name}: category {unknown[0]!r} is not in the report; valid: {', '.join(known)}")


def _mark_first(m: folium.Map, start: int) -> None:
    """Mark the first layer a category added (a thin rule above it in the layer control), unless it is the first."""
    children = list(m._children.values())
    if not any(isinstance(c, folium.FeatureGroup) for c in children[:start]):
        return
    for child in children[start:]:
        if isinstance(child, folium.FeatureGroup):
            child.layer_name = '<span class="circles-first"></span>' + child.layer_name
            return


def _base_map(report: CoverageReport, districts: gpd.GeoDataFrame | None, *, tiles: str | None,
              tile_key: str | None, tile_attribution: str | None, lang: str, title: str) -> folium.Map:
    """The map fitted to the demand, facilities and districts, on our `Page`, with the chosen basemap."""
    frames = [report.demand.geometry[report.demand["inside"]] if "inside" in report.demand else report.demand.geometry,
              report.facilities.geometry]
    if districts is not None:
        frames.append(districts.geometry)
    geoms = [g for f in frames for g in f.values if g is not None and not g.is_empty]
    if not geoms:
        raise InputError("the report has no demand units, facilities or districts to map")
    west, south, east, north = shapely.total_bounds(np.array(geoms, dtype=object))
    m = new_map(west, south, east, north, lang=lang, title=title, zoom_start=14, zoom_snap=0.25)
    if tiles is None:
        pass
    elif tiles == "osm":
        folium.TileLayer("OpenStreetMap", control=False).add_to(m)
    elif tiles == "tianditu":
        if not tile_key:
            raise InputError("tiles='tianditu' needs a key: get a browser key at https://console.tianditu.gov.cn "
                             "and pass tile_key=... (or use tiles=None for no basemap)")
        for layer in ("vec", "cva"):
            url = (f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                   f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                   f"&TILECOL={{x}}&tk={tile_key}")
            folium.TileLayer(url, attr="© 天地图 Tianditu", name=label("map.tiles_tianditu", lang) + f" {layer}",
                             subdomains="01234567", max_zoom=18, control=False).add_to(m)
    elif isinstance(tiles, str) and all(k in tiles for k in ("{z}", "{x}", "{y}")):
        folium.TileLayer(tiles, attr=html_text(tile_attribution or "basemap"), control=False).add_to(m)
    else:
        raise InputError(f"tiles {tiles!r} is not known; use None (no basemap, offline), 'osm', 'tianditu' "
                         "or a URL template such as http://tiles.intranet/{z}/{x}/{y}.png")
    return m


def new_map(west: float, south: float, east: float, north: float, *, lang: str, title: str, zoom_start: int,
            **options: Any) -> folium.Map:
    """A folium map without tiles on a `Page` in `lang`, fitted to the bounds (degrees)."""
    m = folium.Map(location=[round((south + north) / 2, 6), round((west + east) / 2, 6)], zoom_start=zoom_start,
                   tiles=None, control_scale=True, **options)
    Page(lang=lang, title=title).add_child(m)
    m.fit_bounds([[round(south, 6), round(west, 6)], [round(north, 6), round(east, 6)]], padding=(12, 12))
    return m

"""The coverage map: a coverage report as a folium map with streets, grouped layers, basemaps and a legend."""

from __future__ import annotations

import json
import math
import os
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
from circles.outputs.map.elements import Header, LayerPanel, Legend, Page, Runtime, Script
from circles.outputs.map.layers import (OUTREACH, Caps, MapContext, add_category_layers, add_district_layer,
                                        add_one_stop_layer, add_other_facilities, add_outreach_layers,
                                        add_streets_layer,
                                        add_suggestion_layer)
from circles.outputs.map.legend import legend_html, name_of
from circles.outputs.map.style import PANES, category_colours, page_css, swatch
from circles.outputs.safety import Html, html_format, html_text, script_json

__all__ = ["SERVICE_AREA_KINDS", "TIANDITU_KEY_ENV", "TILE_CHOICES", "basemaps", "coverage_map", "new_map",
           "population_source_text"]

SERVICE_AREA_KINDS = ("union", "ring", "catchment", "facility_area")
TILE_CHOICES = ("osm", "tianditu", "amap")  # or None (no tiles), or a "{z}/{x}/{y}" URL template
#: Environment variable with the Tianditu (天地图) browser key, used when no `tile_key` is given.
TIANDITU_KEY_ENV = "CIRCLES_TIANDITU_KEY"
_AMAP_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
_OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def coverage_map(
    report: CoverageReport,
    *,
    service_areas: gpd.GeoDataFrame | None = None,
    suggestions: Any = None,
    districts: gpd.GeoDataFrame | None = None,
    district_col: str | None = None,
    streets: Any = None,
    lang: str = "zh",
    tiles: str | None = None,
    tile_key: str | None = None,
    tile_attribution: str | None = None,
    note: str | None = None,
    population_source: Any = None,
    focus: str | None = None,
    max_features: int = 20000,
    simplify_m: float = 5.0,
    compact: bool = False,
    bounds: tuple[float, float, float, float] | None = None,
    outreach: Any = None,
) -> folium.Map:
    """A folium map of a coverage report: streets, facilities, service areas, gaps, uncovered residents, sites.

    Every layer is a `folium.FeatureGroup` named in `lang`, listed in a layer control with one
    collapsible group per category (its header shows the coverage share) and one for the
    streets, district borders and sites. On opening, the streets, the facilities of every
    category and the service areas, gaps and uncovered residents of the `focus` category show
    (catchments and per-facility areas start hidden). The map reads without internet: the
    streets are drawn from the network; online basemaps (OpenStreetMap, and in China 天地图 and
    Amap/高德) are offered, off unless `tiles` asks for one. A legend lists each category's
    colour and coverage share; a metric scale bar; names from the inputs are escaped. Render it
    with `circles.outputs.map.map_html` for a page that works without internet.

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
        covered), ``coverage_before``/``coverage_after`` (shares) and ``name``; or one
        `circles.siting.SitingResult` or a list of them.
    districts, district_col
        District (街道/乡镇) polygons and the column with their names (labels; None: borders only).
    streets
        The street network drawn as the base layer 道路/Streets: a `network.CompactNetwork` (e.g.
        ``result.walk``) or a GeoDataFrame of lines; None: no streets.
    lang
        ``"zh"`` or ``"en"``: layer names, legend and tooltips.
    tiles
        The basemap shown on opening. None: none, a plain light background with the streets
        (works offline). ``"osm"``: OpenStreetMap. ``"tianditu"``: 天地图 vector tiles and labels
        (CGCS2000 ≈ WGS84, so they fit the data); needs a browser-type key from
        https://console.tianditu.gov.cn as `tile_key` or in the environment variable
        ``CIRCLES_TIANDITU_KEY``. ``"amap"``: Amap/高德 tiles, which are in GCJ-02: while they show,
        every layer is drawn shifted from WGS84 to GCJ-02 so that it lines up. A URL template with
        ``{z}``, ``{x}``, ``{y}`` (e.g. an intranet tile server, WGS84 web Mercator) with
        `tile_attribution`. Every basemap available is listed in the layer control either way.
    tile_key, tile_attribution
        Key of the Tianditu tiles (default: ``$CIRCLES_TIANDITU_KEY``); attribution text of a
        custom tile URL (plain text).
    note
        A line shown at the top of the legend, e.g. ``"示例数据 (synthetic sample)"``; by default
        ``report.inputs["sample_label"]`` when present.
    population_source
        Where the population figures come from (e.g. ``"WorldPop 2020, CC BY 4.0"``), shown in the
        attribution beside the OSM contributors; default ``report.inputs["population_source"]``.
    focus
        The category whose areas, gaps and uncovered residents show on opening (default: the
        first category of the profile); ``"all"`` shows every category's.
    max_features
        Most features drawn per layer; larger layers keep the most important ones (most uncovered
        people, highest ranked gaps and sites) and the legend says how many were left out.
        Uncovered residents beyond a few thousand are first merged on a grid.
    simplify_m
        Tolerance (metres) of the simplification of polygons and streets; 0 keeps every vertex.
    compact
        Open with the legend folded and only the first layer group unfolded (small maps, the app).
    bounds
        West, south, east, north (degrees) the map opens on; default: the residents counted, the
        facilities and the districts.
    outreach
        Meal delivery and home visits (`circles.outreach.Outreach`): delivery lines, meal points
        beyond reach and homes beyond home-visit reach, as layers of their own.

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
    >>> m = coverage_map(result.report, service_areas=result.service_areas, lang="en", streets=result.walk,
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
    inputs = report.inputs or {}
    note = inputs.get("sample_label") if note is None else note
    population_source = inputs.get("population_source") if population_source is None else population_source
    west, south, east, north = bounds if bounds is not None else _bounds(report, districts)
    bases, start, base_note = basemaps(lang, centre=((west + east) / 2, (south + north) / 2), tiles=tiles,
                                       tile_key=tile_key, tile_attribution=tile_attribution)
    m = new_map(west, south, east, north, lang=lang, zoom_start=14, zoom_snap=0.25,
                title=label("map.title", lang) + (f" — {note}" if note else ""), datum=bases[start]["datum"])
    css, hatch_svg = page_css(len(report.categories))
    m.add_child(Header(css, hatch_svg))
    for name, z in PANES:
        m.add_child(folium.map.CustomPane(name, z_index=z, pointer_events=name != "circles-streets"))
    ctx = MapContext(m, report, lang, category_colours(report), float(simplify_m), Caps(int(max_features), lang))

    if streets is not None:
        add_streets_layer(ctx, streets)
    if districts is not None:
        add_district_layer(ctx, districts, district_col)
    for i, res in enumerate(report.categories):
        areas = service_areas[service_areas["category"] == res.category] if service_areas is not None else None
        add_category_layers(ctx, res, i, areas, res.category in shown)
    add_other_facilities(ctx, cat_ids)
    if len(report.categories) > 1:
        add_one_stop_layer(ctx)
    if suggestions is not None:
        add_suggestion_layer(ctx, suggestions)
    if outreach is not None:
        add_outreach_layers(ctx, outreach)

    m.add_child(_layer_panel(ctx, bases, start, base_note, shown, compact))
    m.add_child(Script('L.control.scale({imperial: false, metric: true, position: "bottomright"}).addTo({map});'))
    m.add_child(Legend(legend_html(report, ctx.colours, lang, note=note, caps=ctx.caps.lines,
                                   has_sites=suggestions is not None, has_districts=districts is not None,
                                   has_areas=service_areas is not None, has_streets=streets is not None,
                                   population_source=population_source_text(population_source), folded=compact)))
    m.add_child(Script(attribution_script(lang, population_source_text(population_source))))
    # last script: says every layer was built without a JavaScript error (the browser test reads it)
    m.add_child(Script('document.body.setAttribute("data-circles-map", "ready");'))
    return m


def attribution_script(lang: str, population_source: str | None) -> str:
    """JavaScript adding the data sources to the map's attribution: OSM contributors, the population source."""
    parts = [OSM_ATTRIBUTION]
    if population_source:
        parts.append(label("map.population_source", lang, source=population_source))
    return "".join(f"{{map}}.attributionControl.addAttribution("
                   f"{script_json(json.dumps(html_text(p), ensure_ascii=False))});" for p in parts)


def population_source_text(source: Any) -> str | None:
    """The population source as one line: a text, or a record's name, licence and year."""
    if source is None or (isinstance(source, float) and math.isnan(source)) or source == "":
        return None
    if isinstance(source, dict):
        keys = ("name", "label", "source", "dataset", "year", "licence", "license", "url")
        parts = [str(source[k]) for k in keys if source.get(k) not in (None, "")]
        return ", ".join(parts) if parts else json.dumps(source, ensure_ascii=False)
    return str(source)


def _layer_panel(ctx: MapContext, bases: list[dict[str, Any]], start: int, base_note: str, shown: set[str],
                 compact: bool) -> LayerPanel:
    """The layer control: every layer of the map in its group; a group per category, titled with its share."""
    lang = ctx.lang
    groups = [{"id": "general", "title": str(html_text(label("map.group_general", ctx.lang))), "open": True}]
    for res in ctx.report.categories:
        title = html_format('{swatch}{name} <b class="circles-share">{share}</b>', swatch=swatch(ctx.colours[
            res.category]), name=name_of(res, lang), share=f"{100.0 * res.coverage:.1f}%")
        groups.append({"id": res.category, "title": str(title), "open": res.category in shown and not compact})
    if any(getattr(c, "circles_group", None) == OUTREACH for c in ctx.m._children.values()):
        groups.append({"id": OUTREACH, "title": str(html_text(label("map.group_outreach", lang))), "open": False})
    overlays = [(child, child.layer_name, getattr(child, "circles_group", None))
                for child in ctx.m._children.values() if isinstance(child, folium.FeatureGroup)]
    return LayerPanel(overlays=overlays, groups=groups, basemaps=bases, start=start,
                      title=str(html_text(label("map.layers", lang))),
                      base_title=str(html_text(label("map.basemaps", lang))), base_note=base_note)


def basemaps(lang: str, *, centre: tuple[float, float], tiles: str | None = None, tile_key: str | None = None,
             tile_attribution: str | None = None) -> tuple[list[dict[str, Any]], int, str]:
    """The basemaps a map offers, the one shown on opening, and a note (HTML) under them.

    The first is blank (no tiles: the map works offline). OpenStreetMap everywhere; in China
    (by `centre`, lon/lat) also 天地图 when a key is at hand and Amap/高德, whose GCJ-02 tiles make
    the page draw every layer shifted while they show (``datum`` ``"gcj02"``).

    Raises
    ------
    InputError
        `tiles` is unknown, or ``"tianditu"`` without a key.
    """
    from circles.coords import in_china

    key = tile_key or os.environ.get(TIANDITU_KEY_ENV) or None
    china = bool(in_china(*centre))
    custom = isinstance(tiles, str) and all(k in tiles for k in ("{z}", "{x}", "{y}"))
    if tiles is not None and tiles not in TILE_CHOICES and not custom:
        raise InputError(f"tiles {tiles!r} is not known; use None (no basemap, offline), 'osm', 'tianditu', 'amap' "
                         "or a URL template such as http://tiles.intranet/{z}/{x}/{y}.png")
    if tiles == "tianditu" and not key:
        raise InputError("tiles='tianditu' needs a key: get a browser key at https://console.tianditu.gov.cn "
                         f"and pass tile_key=... or set {TIANDITU_KEY_ENV} (or use tiles=None for no basemap)")

    def base(name_key: str, layers: list[dict[str, Any]], datum: str = "wgs84", name: str | None = None):
        return {"key": name_key, "name": str(html_text(name or label(f"map.base_{name_key}", lang))),
                "datum": datum, "layers": layers}

    out = [base("none", []),
           base("osm", [{"url": _OSM_URL, "options": {"maxZoom": 19, "attribution": str(html_text(OSM_ATTRIBUTION))}}])]
    if key and (china or tiles == "tianditu"):
        out.append(base("tianditu", [
            {"url": f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                    f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                    f"&TILECOL={{x}}&tk={key}",
             "options": {"subdomains": "01234567", "maxZoom": 18, "attribution": "© 天地图 Tianditu"}}
            for layer in ("vec", "cva")]))
    if china or tiles == "amap":
        out.append(base("amap", [{"url": _AMAP_URL, "options": {"subdomains": "1234", "maxZoom": 18,
                                                                "attribution": "© 高德地图 AutoNavi"}}], "gcj02"))
    if custom:
        out.append(base("custom", [{"url": tiles, "options": {"maxZoom": 19, "attribution": str(html_text(
            tile_attribution or "basemap"))}}]))
    wanted = "custom" if custom else (tiles or "none")
    start = next(i for i, b in enumerate(out) if b["key"] == wanted)
    note = str(html_text(label("map.tianditu_key", lang))) if china and not key else ""
    return out, start, note


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


def _bounds(report: CoverageReport, districts: gpd.GeoDataFrame | None) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) of the residents counted, the facilities and the districts."""
    frames = [report.demand.geometry[report.demand["inside"]] if "inside" in report.demand else report.demand.geometry,
              report.facilities.geometry]
    if districts is not None:
        frames.append(districts.geometry)
    geoms = [g for f in frames for g in f.values if g is not None and not g.is_empty]
    if not geoms:
        raise InputError("the report has no demand units, facilities or districts to map")
    west, south, east, north = shapely.total_bounds(np.array(geoms, dtype=object))
    return float(west), float(south), float(east), float(north)


def new_map(west: float, south: float, east: float, north: float, *, lang: str, title: str, zoom_start: int,
            datum: str = "wgs84", **options: Any) -> folium.Map:
    """A folium map without tiles on a `Page` in `lang`, fitted to the bounds (degrees), with the maps' runtime."""
    m = folium.Map(location=[round((south + north) / 2, 6), round((west + east) / 2, 6)], zoom_start=zoom_start,
                   tiles=None, control_scale=False, **options)
    Page(lang=lang, title=title).add_child(m)
    m.add_child(Runtime(datum))  # before any layer: the data layers call it
    m.fit_bounds([[round(south, 6), round(west, 6)], [round(north, 6), round(east, 6)]], padding=(12, 12))
    return m

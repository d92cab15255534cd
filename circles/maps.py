"""Maps: a coverage report as a folium map with toggleable layers, and that map as one offline HTML page.

`coverage_map` draws, per service category, the facilities (one layer per tier), the service areas,
the gap areas and the uncovered demand units, plus suggested sites and district borders, each in a
`folium.FeatureGroup` named in Chinese or English, with a layer control and a legend that lists the
coverage share of every category. Only Leaflet itself is needed: points are ``L.circleMarker`` or
``L.divIcon`` markers inside ``L.geoJson`` layers, so no jQuery, Bootstrap or marker plugin.

`map_html` renders the map to a self-contained page for intranets without internet access: Leaflet's
JS and CSS (with its images) are inlined from the ``django-js-lib-leaflet`` package, folium's CDN
``<script>``/``<link>`` tags are dropped, and folium's random element ids are replaced by ids numbered
in order of appearance, so identical inputs give a byte-identical page.

Basemap tiles are optional: ``tiles=None`` draws the data on a plain light background (offline);
``"osm"`` (OpenStreetMap) and ``"tianditu"`` (天地图, needs a key) load tiles from the internet, and a
``{z}/{x}/{y}`` URL template can point at an intranet tile server. Amap/Baidu tiles are not offered:
they are drawn in GCJ-02/BD-09 and would sit 300–1,400 m off the WGS84 data.

Example
-------
>>> from circles.analysis import AnalysisInputs, run_analysis
>>> result = run_analysis(AnalysisInputs(sample=True))
>>> m = coverage_map(result.report, lang="zh", note=result.inputs.get("sample_label"))
>>> page = map_html(m)  # write it with circles.export; it opens without internet
"""

from __future__ import annotations

import base64
import copy
import functools
import html
import importlib.resources
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from circles.coverage import CoverageReport, gap_areas, uncovered_units
from circles.errors import CirclesError
from circles.export import feature_collection

__all__ = ["SERVICE_AREA_KINDS", "TILE_CHOICES", "category_colours", "coverage_map", "map_html"]

log = logging.getLogger(__name__)

LANGS = ("zh", "en")
SERVICE_AREA_KINDS = ("union", "ring", "catchment", "facility_area")
TILE_CHOICES = ("osm", "tianditu")  # or None (no tiles), or a "{z}/{x}/{y}" URL template

#: Category colours in profile order; red is kept for gaps and uncovered residents.
PALETTE = ("#1f78b4", "#33a02c", "#6a3d9a", "#ff7f00", "#b15928", "#e7298a", "#17becf", "#666666")
GAP_COLOUR = "#d7191c"
OTHER_COLOUR = "#888888"
BACKGROUND = "#f3f1ec"  # the map's background when there are no tiles
DISTRICT_COLOUR = "#4d4d4d"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
METRES_PER_DEGREE = 111_320.0  # one degree of latitude; longitude degrees are shorter, so tolerances are conservative
CANVAS_ABOVE = 3000  # point layers with more features than this draw on a canvas instead of SVG (faster)
FACILITY_RADIUS_PX = (8.0, 6.0, 4.5)  # by tier position: the first (highest) tier is drawn largest
UNIT_RADIUS_PX = (3.0, 12.0)  # uncovered units: radius range, area proportional to people
COORD_DECIMALS = 6  # about 0.1 m

_PANES = (  # (name, z-index): district borders under service areas under gaps under points
    ("circles-districts", 402),
    ("circles-areas", 410),
    ("circles-gaps", 420),
    ("circles-units", 430),
    ("circles-facilities", 440),
)

_DEMAND_GROUPS = {
    "pop_60plus": ("60岁及以上老人", "people aged 60+"),
    "pop_0_17": ("0–17岁儿童", "children aged 0–17"),
    "population": ("常住人口", "residents"),
}

_TEXT = {
    "zh": {
        "title": "15分钟服务圈：覆盖情况",
        "legend": "图例",
        "districts": "街道/乡镇边界",
        "facilities": "设施：{tier}",
        "other_facilities": "其他设施",
        "areas": "{cat}：{minutes}分钟服务范围",
        "catchments": "{cat}：服务片区（就近设施）",
        "facility_areas": "{cat}：各设施服务范围",
        "gaps": "{cat}：覆盖缺口",
        "uncovered": "{cat}：未覆盖居民点",
        "suggestions": "建议新增站点",
        "coverage": "{share}：{covered} / {total} 名{group}在{minutes}分钟内可达，{n} 处设施",
        "sym_facility": "设施（圆越大层级越高）",
        "sym_unit": "未覆盖居民点（圆面积∝人数）",
        "sym_gap": "覆盖缺口（未覆盖居民点周边）",
        "sym_area": "步行服务范围",
        "sym_site": "建议新增站点（数字为排序）",
        "sym_district": "街道/乡镇边界",
        "capped": "{layer}：仅显示最重要的 {shown} 个，共 {total} 个",
        "roads": "道路数据 " + OSM_ATTRIBUTION,
        "tier": "层级",
        "capacity": "容量",
        "district": "所属",
        "off_network": "距路网 {m:.0f} 米，未计入",
        "minutes_to": "最近设施：步行 {minutes:.1f} 分钟",
        "unreachable": "{horizon:g} 分钟内无可达设施",
        "people": "{group}：{n} 人",
        "population": "常住人口：{n} 人",
        "gap_title": "{cat} 覆盖缺口 第{rank}名",
        "gap_people": "未覆盖{group}：{n} 人（{units} 个居民点）",
        "gap_minutes": "最远步行 {minutes:.1f} 分钟",
        "gap_far": "部分居民点 {horizon:g} 分钟内无可达设施",
        "area_union": "{cat}：{minutes}分钟步行可达范围",
        "area_ring": "{cat}：步行 {minutes} 分钟",
        "area_catchment": "{name}：服务片区（离此设施最近）",
        "area_facility": "{name}：{minutes}分钟步行可达范围",
        "site_title": "建议新增 第{rank}名：{cat}",
        "site_added": "可新增覆盖 {n} 名{group}",
        "unnamed": "（未命名）",
        "tiles_tianditu": "天地图",
    },
    "en": {
        "title": "15-minute service circles: coverage",
        "legend": "Legend",
        "districts": "District borders",
        "facilities": "Facilities: {tier}",
        "other_facilities": "Other facilities",
        "areas": "{cat}: {minutes}-min service area",
        "catchments": "{cat}: catchments (nearest facility)",
        "facility_areas": "{cat}: per-facility service areas",
        "gaps": "{cat}: coverage gaps",
        "uncovered": "{cat}: uncovered residents",
        "suggestions": "Suggested new sites",
        "coverage": "{share}: {covered} of {total} {group} within {minutes} min, {n} facilities",
        "sym_facility": "Facility (larger = higher tier)",
        "sym_unit": "Uncovered residents (circle area ∝ people)",
        "sym_gap": "Coverage gap (around uncovered residents)",
        "sym_area": "Walking service area",
        "sym_site": "Suggested new site (number = rank)",
        "sym_district": "District border",
        "capped": "{layer}: showing the {shown} most important of {total}",
        "roads": "Road data " + OSM_ATTRIBUTION,
        "tier": "tier",
        "capacity": "capacity",
        "district": "district",
        "off_network": "{m:.0f} m from the road network, not counted",
        "minutes_to": "nearest facility: {minutes:.1f} min walk",
        "unreachable": "no facility within {horizon:g} min",
        "people": "{group}: {n}",
        "population": "residents: {n}",
        "gap_title": "{cat} gap #{rank}",
        "gap_people": "uncovered {group}: {n} ({units} units)",
        "gap_minutes": "longest walk {minutes:.1f} min",
        "gap_far": "some units have no facility within {horizon:g} min",
        "area_union": "{cat}: reached within {minutes} min walk",
        "area_ring": "{cat}: {minutes} min walk",
        "area_catchment": "{name}: catchment (nearest facility)",
        "area_facility": "{name}: reached within {minutes} min walk",
        "site_title": "Suggested site #{rank}: {cat}",
        "site_added": "adds {n} {group} covered",
        "unnamed": "(unnamed)",
        "tiles_tianditu": "Tianditu",
    },
}

_CSS = """
.leaflet-container { background: %(background)s; font-family: "Microsoft YaHei", "PingFang SC",
  "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", Arial, sans-serif; }
.leaflet-control-layers-expanded { max-width: 330px; font-size: 12px; line-height: 1.35; }
.leaflet-control-layers-overlays label { margin: 1px 0; }
.leaflet-control-layers-overlays label:has(.circles-first) { border-top: 1px solid #ddd; margin-top: 4px;
  padding-top: 3px; }
.circles-swatch { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 2px; border-radius: 50%%;
  vertical-align: -1px; border: 1px solid rgba(0,0,0,.35); }
.circles-swatch-area { border-radius: 2px; opacity: .6; }
.circles-swatch-gap { border-radius: 2px; border: 1px dashed %(gap)s; background: none; }
.circles-legend { background: rgba(255,255,255,.94); padding: 6px 10px; border-radius: 5px; max-width: 340px;
  max-height: 55vh; overflow-y: auto; font-size: 12px; line-height: 1.4; box-shadow: 0 1px 5px rgba(0,0,0,.35); }
.circles-legend summary { font-weight: bold; cursor: pointer; font-size: 13px; }
.circles-legend h4 { margin: 4px 0; font-size: 13px; }
.circles-legend .circles-row { margin: 3px 0; }
.circles-legend .circles-share { font-weight: bold; }
.circles-legend .circles-note { color: #a63603; font-weight: bold; }
.circles-legend .circles-small { color: #555; font-size: 11px; }
.circles-legend svg { vertical-align: middle; margin-right: 4px; }
.circles-district-label { background: rgba(255,255,255,.75); border: none; box-shadow: none; color: #333;
  font-weight: bold; font-size: 13px; padding: 1px 4px; }
.circles-site { background: none; border: none; }
.circles-site svg { overflow: visible; }
%(hatch_css)s
"""


# ---------------------------------------------------------------------------------------------- elements


class _Header(MacroElement):
    """The page's own CSS (header) and the SVG hatch patterns the gap areas fill with (body)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
            {{ this.body }}
        {% endmacro %}
        """
    )

    def __init__(self, css: str, body: str):
        super().__init__()
        self._name = "CirclesHeader"
        self.css = css
        self.body = body


class _Script(MacroElement):
    """A piece of JavaScript run after the map exists (``{map}`` is replaced by the map's variable)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this.code.replace("{map}", this._parent.get_name()) }}
        {% endmacro %}
        """
    )

    def __init__(self, code: str):
        super().__init__()
        self._name = "CirclesScript"
        self.code = code


class _Legend(MacroElement):
    """The legend: an HTML box in the page body that a bottom-left Leaflet control takes in."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}
            <div id="circles-legend" class="circles-legend">{{ this.content }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var circles_legend = L.control({position: "bottomleft"});
            circles_legend.onAdd = function () {
                var box = document.getElementById("circles-legend");
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                return box;
            };
            circles_legend.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, content: str):
        super().__init__()
        self._name = "CirclesLegend"
        self.content = content


# One onEachFeature for every data layer: tooltips, district labels and site icons from the properties.
_ON_EACH_FEATURE = JsCode(
    """function (feature, layer) {
        var p = feature.properties || {};
        if (p.tip) {
            layer.bindTooltip(p.tip, {sticky: typeof layer.getBounds === "function"});
        }
        if (p.label) {
            layer.bindTooltip(p.label, {permanent: true, direction: "center", className: "circles-district-label"});
        }
        if (p.icon && layer.setIcon) {
            layer.setIcon(L.divIcon({html: p.icon, className: "circles-site",
                                     iconSize: [26, 26], iconAnchor: [13, 13]}));
        }
    }"""
)


# ---------------------------------------------------------------------------------------------- helpers


def category_colours(report: CoverageReport) -> dict[str, str]:
    """Colour (hex) of every category of `report`, in profile order; the map and its legend use them."""
    return {c.category: PALETTE[i % len(PALETTE)] for i, c in enumerate(report.categories)}


def _fmt_n(x: float) -> str:
    return f"{x:,.0f}" if x is not None and math.isfinite(float(x)) else "–"


def _fmt_min(x: float) -> str:
    return f"{float(x):g}"


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _label(obj: Any, lang: str) -> str:
    return getattr(obj, "label_zh" if lang == "zh" else "label_en")


def _demand_group(demand_column: str, lang: str) -> str:
    zh, en = _DEMAND_GROUPS.get(demand_column, (demand_column, demand_column))
    return zh if lang == "zh" else en


def _swatch(colour: str, kind: str = "", *, border: str | None = None) -> str:
    """A small coloured symbol for layer names and the legend (kind: "" dot, "area" square, "gap" dashed)."""
    cls = f"circles-swatch circles-swatch-{kind}" if kind else "circles-swatch"
    if kind == "gap":
        return f'<span class="{cls}" style="border-color:{colour}"></span>'
    edge = f";border:1.5px solid {border}" if border else ""
    return f'<span class="{cls}" style="background:{colour}{edge}"></span>'


def _simplified(geoms: np.ndarray, simplify_m: float) -> np.ndarray:
    """Polygons simplified by `simplify_m` metres (as degrees of latitude); `_features` rounds them to ~0.1 m."""
    geoms = np.asarray(geoms, dtype=object)
    if simplify_m > 0 and len(geoms):
        geoms = shapely.simplify(geoms, simplify_m / METRES_PER_DEGREE, preserve_topology=True)
    return geoms


class _GeoJsonText(dict):
    """GeoJSON kept as the text the page embeds (folium would re-encode a dict, sorting every key).

    Reading it like a dict (``data["features"]``) parses the text once.
    """

    def __init__(self, text: str):
        super().__init__()
        self.text = text
        self.placeholder: str | None = None  # set by `map_html` while it renders
        self._dict: dict[str, Any] | None = None

    def _parsed(self) -> dict[str, Any]:
        if self._dict is None:
            self._dict = json.loads(self.text)
        return self._dict

    def __getitem__(self, key: str) -> Any:
        return self._parsed()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._parsed().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._parsed()

    def __deepcopy__(self, memo: dict) -> _GeoJsonText:
        return self  # never changed after it is made


def _tojson(obj: Any, **kwargs: Any) -> str:
    """folium's `tojson` filter, passing `_GeoJsonText` through as it is."""
    if isinstance(obj, _GeoJsonText):
        return json.dumps(obj.placeholder) if obj.placeholder else obj.text
    return json.dumps(obj, **kwargs)


folium.GeoJson._template.environment.policies["json.dumps_function"] = _tojson


def _features(geoms: np.ndarray, props: Sequence[Mapping[str, Any]]) -> _GeoJsonText:
    """A GeoJSON FeatureCollection of `geoms` (WGS84, already rounded) with `props`; empty ones dropped."""
    return _GeoJsonText(feature_collection(geoms, props, decimals=COORD_DECIMALS, drop_empty=True))


def _point_features(lon: np.ndarray, lat: np.ndarray, props: Sequence[Mapping[str, Any]]) -> _GeoJsonText:
    xs = np.round(np.asarray(lon, float), COORD_DECIMALS)
    ys = np.round(np.asarray(lat, float), COORD_DECIMALS)
    ok = np.isfinite(xs) & np.isfinite(ys)
    lines = [f'{{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [{x!r}, {y!r}]}}, "properties": '
             f"{json.dumps(p, ensure_ascii=False)}}}" for x, y, p, k in zip(xs.tolist(), ys.tolist(), props, ok) if k]
    return _GeoJsonText('{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + "]}")


def _to_wgs84(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise CirclesError(f"{name} must be a GeoDataFrame (got {type(frame).__name__}); "
                           "read it with geopandas.read_file")
    if frame.crs is None:
        raise CirclesError(f"{name} has no CRS; set it first, e.g. {name}.set_crs('EPSG:4326') for lon/lat")
    return frame.to_crs("EPSG:4326") if not frame.crs.equals("EPSG:4326") else frame


def _suggestion_frame(suggestions: Any) -> gpd.GeoDataFrame:
    """Suggested sites as WGS84 points, from a GeoDataFrame, a lon/lat table, or `SitingResult`(s)."""
    if hasattr(suggestions, "sites") and hasattr(suggestions, "category"):  # a circles.siting.SitingResult
        suggestions = [suggestions]
    if isinstance(suggestions, (list, tuple)):
        frames = [r.sites.assign(category=r.category) for r in suggestions]
        if not frames:
            return gpd.GeoDataFrame({"category": []}, geometry=gpd.points_from_xy([], []), crs="EPSG:4326")
        suggestions = pd.concat(frames, ignore_index=True)
    if not isinstance(suggestions, gpd.GeoDataFrame) and isinstance(suggestions, pd.DataFrame):
        _require_columns(suggestions, "suggestions", ("lon", "lat"))  # canonical tables are WGS84 lon/lat
        suggestions = gpd.GeoDataFrame(suggestions, geometry=gpd.points_from_xy(suggestions["lon"], suggestions["lat"]),
                                       crs="EPSG:4326")
    return _to_wgs84(suggestions, "suggestions")


def _require_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CirclesError(f"{name} has no column(s) {', '.join(map(repr, missing))}; it has: "
                           + ", ".join(str(c) for c in frame.columns if c != "geometry"))


def _check_categories(frame: pd.DataFrame, name: str, known: Sequence[str]) -> None:
    unknown = sorted({str(c) for c in frame["category"].dropna().unique()} - set(known))
    if unknown:
        raise CirclesError(f"{name}: category {unknown[0]!r} is not in the report; valid: {', '.join(known)}")


class _Caps:
    """Point layers cut at `max_features`, and the legend lines that say so."""

    def __init__(self, max_features: int, lang: str):
        self.max_features = max_features
        self.lang = lang
        self.lines: list[str] = []

    def cut(self, frame: pd.DataFrame, layer: str) -> pd.DataFrame:
        if len(frame) <= self.max_features:
            return frame
        self.lines.append(_TEXT[self.lang]["capped"].format(layer=layer, shown=f"{self.max_features:,}",
                                                             total=f"{len(frame):,}"))
        log.info("map layer %s: %d of %d features drawn", layer, self.max_features, len(frame))
        return frame.iloc[: self.max_features]


# ---------------------------------------------------------------------------------------------- the map


def coverage_map(
    report: CoverageReport,
    *,
    service_areas: gpd.GeoDataFrame | None = None,
    suggestions: gpd.GeoDataFrame | None = None,
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
    the rest are a click away. A legend lists each category's colour and coverage share.
    Render it with `map_html` for a page that works without internet.

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
        Key of the Tianditu tiles; attribution text of a custom tile URL.
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
    >>> from circles.analysis import AnalysisInputs, run_analysis
    >>> from circles.sample import make_sample
    >>> result = run_analysis(AnalysisInputs(sample=True))
    >>> m = coverage_map(result.report, service_areas=result.service_areas, lang="en",
    ...                  districts=make_sample().districts, district_col="street")
    >>> sorted(g.circles_label for g in m._children.values() if hasattr(g, "circles_label"))[:2]
    ['Child protection: 15-min service area', 'Child protection: catchments (nearest facility)']
    """
    if lang not in LANGS:
        raise CirclesError(f"lang {lang!r} is not supported; use zh or en")
    if isinstance(max_features, bool) or not isinstance(max_features, (int, np.integer)) or max_features < 1:
        raise CirclesError(f"max_features must be a positive whole number (got {max_features!r}), e.g. 20000")
    if not (isinstance(simplify_m, (int, float)) and math.isfinite(simplify_m) and simplify_m >= 0):
        raise CirclesError(f"simplify_m must be a non-negative number of metres (got {simplify_m!r}), e.g. 5")
    t = _TEXT[lang]
    cat_ids = [c.category for c in report.categories]
    if focus is None:
        shown = set(cat_ids[:1])
    elif focus == "all":
        shown = set(cat_ids)
    elif focus in cat_ids:
        shown = {focus}
    else:
        raise CirclesError(f"focus {focus!r} is not a category of the report; valid: {', '.join(cat_ids)} or 'all'")
    colours = category_colours(report)
    caps = _Caps(int(max_features), lang)

    if service_areas is not None:
        service_areas = _to_wgs84(service_areas, "service_areas")
        _require_columns(service_areas, "service_areas", ("kind", "category"))
        bad = sorted({str(k) for k in service_areas["kind"].unique()} - set(SERVICE_AREA_KINDS))
        if bad:
            raise CirclesError(f"service_areas: kind {bad[0]!r} is not known; valid: {', '.join(SERVICE_AREA_KINDS)}")
        _check_categories(service_areas, "service_areas", cat_ids)
    if suggestions is not None:
        suggestions = _suggestion_frame(suggestions)
        _require_columns(suggestions, "suggestions", ("category",))
        _check_categories(suggestions, "suggestions", cat_ids)
    if districts is not None:
        districts = _to_wgs84(districts, "districts")
        if district_col is not None:
            _require_columns(districts, "districts", (district_col,))

    m = _base_map(report, districts, tiles=tiles, tile_key=tile_key, tile_attribution=tile_attribution, lang=lang)
    hatch_css, hatch_svg = _hatches(len(report.categories))
    m.add_child(_Header(_CSS % {"background": BACKGROUND, "gap": GAP_COLOUR, "hatch_css": hatch_css}, hatch_svg))
    for name, z in _PANES:
        m.add_child(folium.map.CustomPane(name, z_index=z, pointer_events=True))
    canvases = []

    if districts is not None:
        _district_layer(m, districts, district_col, t, simplify_m)

    for i, res in enumerate(report.categories):
        colour = colours[res.category]
        show = res.category in shown
        first = len(m._children)
        if service_areas is not None:
            _service_area_layers(m, report, service_areas[service_areas["category"] == res.category], res, colour,
                                 lang, simplify_m, caps, show)
        _gap_layer(m, report, res, i, lang, simplify_m, caps, show)
        _uncovered_layer(m, report, res, colour, lang, caps, canvases, show)
        _facility_layers(m, report, res, colour, lang, caps, canvases)
        _mark_first(m, first)
    if "category" in report.facilities:
        other = report.facilities[~report.facilities["category"].isin(cat_ids)]
        if len(other):
            _facility_layer(m, other, t["other_facilities"], OTHER_COLOUR, FACILITY_RADIUS_PX[-1], None, None,
                            lang, caps, canvases)
    if suggestions is not None:
        _suggestion_layer(m, report, suggestions, colours, lang, caps)

    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    if note is None:
        note = (report.inputs or {}).get("sample_label")
    m.add_child(_Legend(_legend_html(report, colours, lang, note=note, caps=caps.lines,
                                     has_sites=suggestions is not None, has_districts=districts is not None,
                                     has_areas=service_areas is not None)))
    if tiles != "osm":
        m.add_child(_Script(f"{{map}}.attributionControl.addAttribution({json.dumps(OSM_ATTRIBUTION)});"))
    # last script: says every layer was built without a JavaScript error (the browser test reads it)
    m.add_child(_Script('document.body.setAttribute("data-circles-map", "ready");'))
    m.get_root().title = t["title"] + (f" — {note}" if note else "")
    m.circles_lang = lang  # map_html marks the page's language (browsers pick CJK glyphs by it)
    return m


def _profile_category(report: CoverageReport, category_id: str):
    try:
        return report.profile.category(category_id)
    except Exception:  # a report built without a profile object: no tiers to split by
        return None


def _base_map(report: CoverageReport, districts, *, tiles, tile_key, tile_attribution, lang) -> folium.Map:
    frames = [report.demand.geometry[report.demand["inside"]] if "inside" in report.demand else report.demand.geometry,
              report.facilities.geometry]
    if districts is not None:
        frames.append(districts.geometry)
    geoms = [g for f in frames for g in f.values if g is not None and not g.is_empty]
    if not geoms:
        raise CirclesError("the report has no demand units, facilities or districts to map")
    west, south, east, north = shapely.total_bounds(np.array(geoms, dtype=object))
    m = folium.Map(location=[round((south + north) / 2, 6), round((west + east) / 2, 6)], zoom_start=14,
                   tiles=None, control_scale=True, zoom_snap=0.25)
    if tiles is None:
        pass
    elif tiles == "osm":
        folium.TileLayer("OpenStreetMap", control=False).add_to(m)
    elif tiles == "tianditu":
        if not tile_key:
            raise CirclesError("tiles='tianditu' needs a key: get a browser key at https://console.tianditu.gov.cn "
                               "and pass tile_key=... (or use tiles=None for no basemap)")
        for layer in ("vec", "cva"):
            url = (f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                   f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                   f"&TILECOL={{x}}&tk={tile_key}")
            folium.TileLayer(url, attr="© 天地图 Tianditu", name=_TEXT[lang]["tiles_tianditu"] + f" {layer}",
                             subdomains="01234567", max_zoom=18, control=False).add_to(m)
    elif isinstance(tiles, str) and all(k in tiles for k in ("{z}", "{x}", "{y}")):
        folium.TileLayer(tiles, attr=tile_attribution or "basemap", control=False).add_to(m)
    else:
        raise CirclesError(f"tiles {tiles!r} is not known; use None (no basemap, offline), 'osm', 'tianditu' "
                           "or a URL template such as http://tiles.intranet/{z}/{x}/{y}.png")
    m.fit_bounds([[round(south, 6), round(west, 6)], [round(north, 6), round(east, 6)]], padding=(12, 12))
    return m


def _hatches(n: int) -> tuple[str, str]:
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
    return "\n".join(css), svg


class _Raw(Element):
    """Text put into the page as it is (branca would compile it as a Jinja template first)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _RawMacro(MacroElement):
    """`MacroElement.render` without compiling its own output as a template.

    branca wraps each rendered macro in an `Element` whose text is compiled as a Jinja template:
    with a layer's data inlined that is megabytes of JSON lexed for nothing (1.8 s on Porto).
    """

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        module = self._template.module
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.__dict__.get(part)
            if macro is not None:
                target.add_child(_Raw(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _GeoJsonLayer(folium.GeoJson, _RawMacro):
    """folium's GeoJson (its render chain unchanged) with `_RawMacro` in place of `MacroElement`."""


def _add_geojson(group: folium.FeatureGroup, data: dict[str, Any], *, marker=None, **options) -> None:
    _GeoJsonLayer(data, control=False, marker=marker, on_each_feature=_ON_EACH_FEATURE, **options).add_to(group)


def _layer(m: folium.Map, name: str, swatch: str, *, show: bool = True) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=f"{swatch}{html.escape(name, quote=False)}", show=show)
    group.circles_label = name  # the plain name, for tests and the app
    group.add_to(m)
    return group


def _mark_first(m: folium.Map, start: int) -> None:
    """Mark the first layer a category added (a thin rule above it in the layer control), unless it is the first."""
    children = list(m._children.values())
    if not any(isinstance(c, folium.FeatureGroup) for c in children[:start]):
        return
    for child in children[start:]:
        if isinstance(child, folium.FeatureGroup):
            child.layer_name = '<span class="circles-first"></span>' + child.layer_name
            return


def _canvas(m: folium.Map, pane: str, n: int, canvases: list[str]) -> JsCode | None:
    """A shared canvas renderer for big point layers (SVG with tens of thousands of circles is slow)."""
    if n <= CANVAS_ABOVE:
        return None
    var = "circles_canvas_" + pane.replace("-", "_")
    if var not in canvases:
        canvases.append(var)
        m.add_child(_Script(f"var {var} = L.canvas({{pane: {json.dumps(pane)}}});"))
    return JsCode(var)


def _district_layer(m, districts, district_col, t, simplify_m) -> None:
    group = _layer(m, t["districts"], _swatch(DISTRICT_COLOUR, "gap"))
    geoms = _simplified(districts.geometry.values, simplify_m)
    props = [{"label": _esc(v)} if district_col is not None and pd.notna(v) else {}
             for v in (districts[district_col] if district_col is not None else [None] * len(districts))]
    _add_geojson(group, _features(geoms, props), pane="circles-districts", interactive=False, color=DISTRICT_COLOUR,
                 weight=2, dash_array="8 5", fill=False, opacity=0.85)


def _service_area_layers(m, report, areas, res, colour, lang, simplify_m, caps, show) -> None:
    t = _TEXT[lang]
    cat_label = _label(res, lang)
    kinds = areas["kind"].to_numpy()
    main = areas[np.isin(kinds, ("union", "ring"))]
    if len(main):
        minutes = main["minutes"] if "minutes" in main else pd.Series(res.minutes, index=main.index)
        main = main.assign(_minutes=minutes.fillna(res.minutes).astype(float), _union=main["kind"] == "union")
        # largest first so the smaller rings lie on top; unions (outlines) last
        main = main.sort_values(["_union", "_minutes"], ascending=[True, False], kind="stable")
        ring_minutes = sorted(set(main.loc[~main["_union"], "_minutes"]))
        props = []
        for _, row in main.iterrows():
            mins = _fmt_min(row["_minutes"])
            tier = _tier_label(report, res.category, row.get("tier"), lang)
            if row["_union"]:
                tip = t["area_union"].format(cat=_esc(cat_label), minutes=mins)
                style = {"color": colour, "weight": 2, "fillColor": colour,
                         "fillOpacity": 0.10 if ring_minutes else 0.18}
            else:
                start = row.get("minutes_from")
                if start is not None and pd.notna(start) and float(start) > 0:
                    mins = f"{_fmt_min(start)}–{mins}"
                tip = t["area_ring"].format(cat=_esc(cat_label), minutes=mins)
                k = ring_minutes.index(row["_minutes"])
                style = {"color": colour, "weight": 0.8, "fillColor": colour,
                         "fillOpacity": round(0.24 - 0.16 * k / max(len(ring_minutes) - 1, 1), 3)}
            if tier:
                tip += f"<br>{_esc(tier)}"
            props.append({"tip": tip, "style": style})
        group = _layer(m, t["areas"].format(cat=cat_label, minutes=_fmt_min(res.minutes)), _swatch(colour, "area"),
                       show=show)
        _add_geojson(group, _features(_area_geoms(main, simplify_m), props), pane="circles-areas",
                     color=colour, weight=1, fill=True, fill_color=colour, fill_opacity=0.15)
    for kind, key, dash in (("catchment", "catchments", "3 4"), ("facility_area", "facility_areas", None)):
        part = areas[kinds == kind]
        if not len(part):
            continue
        name = t[key].format(cat=cat_label)
        part = caps.cut(part, name)
        props = []
        for row in part.drop(columns="geometry").to_dict("records"):
            fac_name = _facility_name(report, row.get("facility"), lang)
            mins = row.get("minutes")
            mins = _fmt_min(mins if mins is not None and pd.notna(mins) else res.minutes)
            key_tip = "area_catchment" if kind == "catchment" else "area_facility"
            tip = t[key_tip].format(name=_esc(fac_name), minutes=mins)
            props.append({"tip": tip})
        group = _layer(m, name, _swatch(colour, "area"), show=False)
        _add_geojson(group, _features(_area_geoms(part, simplify_m), props), pane="circles-areas",
                     color=colour, weight=1.2, dash_array=dash, fill=True, fill_color=colour, fill_opacity=0.06)


def _area_geoms(areas: gpd.GeoDataFrame, simplify_m: float) -> np.ndarray:
    """Service areas drawn on a grid are simplified already (by most of a cell); others are simplified here."""
    if "cell_m" in areas and areas["cell_m"].notna().all() and (areas["cell_m"] * 0.5 >= simplify_m).all():
        return areas.geometry.values
    return _simplified(areas.geometry.values, simplify_m)


def _tier_label(report, category_id, tier_id, lang) -> str | None:
    if tier_id is None or (not isinstance(tier_id, str) and pd.isna(tier_id)):
        return None
    cat = _profile_category(report, category_id)
    if cat is None:
        return str(tier_id)
    for tier in cat.tiers:
        if tier.id == tier_id:
            return _label(tier, lang)
    return str(tier_id)


def _facility_name(report, facility, lang) -> str:
    try:
        i = int(facility)
    except (TypeError, ValueError):
        return _TEXT[lang]["unnamed"]
    fac = report.facilities
    if 0 <= i < len(fac) and "name" in fac and pd.notna(fac["name"].iloc[i]):
        return str(fac["name"].iloc[i])
    return _TEXT[lang]["unnamed"]


def _gap_layer(m, report, res, index, lang, simplify_m, caps, show) -> None:
    t = _TEXT[lang]
    cat_label = _label(res, lang)
    gaps = gap_areas(report, res.category)
    name = t["gaps"].format(cat=cat_label)
    gaps = caps.cut(gaps, name)
    group_word = _demand_group(res.demand_column, lang)
    props = []
    for g in gaps.drop(columns="geometry").to_dict("records"):
        tip = (f"<b>{t['gap_title'].format(cat=_esc(cat_label), rank=int(g['rank']))}</b><br>"
               + t["gap_people"].format(group=group_word, n=_fmt_n(g["demand_uncovered"]), units=int(g["units"])))
        if pd.notna(g["max_minutes"]):
            tip += "<br>" + t["gap_minutes"].format(minutes=float(g["max_minutes"]))
        else:
            tip += "<br>" + t["gap_far"].format(horizon=report.horizon_min)
        props.append({"tip": tip})
    group = _layer(m, name, _swatch(GAP_COLOUR, "gap"), show=show)
    _add_geojson(group, _features(_simplified(gaps.geometry.values, simplify_m), props), pane="circles-gaps",
                 class_name=f"circles-gap circles-gap-{index}", color=GAP_COLOUR, weight=1.5, dash_array="5 4",
                 fill=True, fill_color=GAP_COLOUR, fill_opacity=0.35)


def _uncovered_layer(m, report, res, colour, lang, caps, canvases, show) -> None:
    t = _TEXT[lang]
    cat_label = _label(res, lang)
    units = uncovered_units(report, res.category)  # most people first
    name = t["uncovered"].format(cat=cat_label)
    units = caps.cut(units, name)
    people = units[res.demand_column].to_numpy(float)
    top = float(people.max()) if len(people) else 1.0
    lo, hi = UNIT_RADIUS_PX
    radius = lo + (hi - lo) * np.sqrt(np.clip(people, 0, None) / top) if top > 0 else np.full(len(units), lo)
    group_word = _demand_group(res.demand_column, lang)
    minutes = units[f"minutes_{res.category}"].to_numpy(float).tolist()
    names = units["name"].tolist() if "name" in units else [None] * len(units)
    pops = (units["population"].tolist() if "population" in units and res.demand_column != "population"
            else [None] * len(units))
    radius = np.round(radius, 1).tolist()
    props = []
    for k, p in enumerate(people.tolist()):
        nm = names[k]
        lines = [f"<b>{_esc(nm)}</b>" if pd.notna(nm) else f"<b>{_esc(cat_label)}</b>",
                 t["people"].format(group=group_word, n=_fmt_n(p))]
        if pops[k] is not None and pd.notna(pops[k]):
            lines.append(t["population"].format(n=_fmt_n(pops[k])))
        lines.append(t["minutes_to"].format(minutes=minutes[k]) if math.isfinite(minutes[k])
                     else t["unreachable"].format(horizon=report.horizon_min))
        props.append({"tip": "<br>".join(lines), "style": {"radius": radius[k]}})
    marker = folium.CircleMarker(radius=lo, color=GAP_COLOUR, weight=1.3, fill_color=colour, fill_opacity=0.55)
    marker.options["pane"] = "circles-units"
    renderer = _canvas(m, "circles-units", len(units), canvases)
    if renderer is not None:
        marker.options["renderer"] = renderer
    group = _layer(m, name, _swatch(colour, border=GAP_COLOUR), show=show)
    _add_geojson(group, _point_features(units["lon"], units["lat"], props), marker=marker)


def _facility_layers(m, report, res, colour, lang, caps, canvases) -> None:
    """One layer per tier of the category (an unset tier counts as the last, as in `assess`)."""
    t = _TEXT[lang]
    cat_label = _label(res, lang)
    profile_cat = _profile_category(report, res.category)
    tiers = profile_cat.tiers if profile_cat is not None else ()
    fac = report.facilities
    fac = fac[(fac["category"] == res.category).to_numpy()] if "category" in fac else fac.iloc[:0]
    if "tier" in fac and tiers:
        tier_of = fac["tier"].where(fac["tier"].notna(), tiers[-1].id)
    else:
        tier_of = pd.Series([None] * len(fac), index=fac.index, dtype=object)
    for k, tier in enumerate(tiers):
        radius = FACILITY_RADIUS_PX[min(k, len(FACILITY_RADIUS_PX) - 1)]
        _facility_layer(m, fac[(tier_of == tier.id).to_numpy()], t["facilities"].format(tier=_label(tier, lang)),
                        colour, radius, cat_label, _label(tier, lang), lang, caps, canvases)
    rest = fac[~tier_of.isin([tier.id for tier in tiers]).to_numpy()]
    if len(rest):  # tiers the profile does not list
        _facility_layer(m, rest, t["facilities"].format(tier=cat_label), colour, FACILITY_RADIUS_PX[-1], cat_label,
                        None, lang, caps, canvases)


def _facility_layer(m, fac, name, colour, radius, cat_label, tier_label, lang, caps, canvases) -> None:
    t = _TEXT[lang]
    if "capacity" in fac:  # the biggest first when a layer must be cut
        fac = fac.sort_values("capacity", ascending=False, kind="stable", na_position="last")
    fac = caps.cut(fac, name)
    props = []
    for f in fac.drop(columns="geometry", errors="ignore").to_dict("records"):
        nm = f.get("name")
        lines = [f"<b>{_esc(nm) if pd.notna(nm) else t['unnamed']}</b>"]
        if cat_label:
            lines.append(_esc(cat_label))
        tier = tier_label or (f.get("tier") if pd.notna(f.get("tier")) else None)
        cap, dist = f.get("capacity"), f.get("district")
        for key, value in (("tier", tier), ("capacity", _fmt_n(cap) if cap is not None and pd.notna(cap) else None),
                           ("district", dist if dist is not None and pd.notna(dist) else None)):
            if value:
                lines.append(f"{t[key]}{'：' if lang == 'zh' else ': '}{_esc(value)}")
        if bool(f.get("off_network", False)):
            lines.append(t["off_network"].format(m=float(f.get("snap_m", float("nan")))))
        props.append({"tip": "<br>".join(lines)})
    marker = folium.CircleMarker(radius=radius, color="#ffffff", weight=2 if radius >= FACILITY_RADIUS_PX[0] else 1.5,
                                 fill_color=colour, fill_opacity=0.95)
    marker.options["pane"] = "circles-facilities"
    renderer = _canvas(m, "circles-facilities", len(fac), canvases)
    if renderer is not None:
        marker.options["renderer"] = renderer
    group = _layer(m, name, _swatch(colour))
    _add_geojson(group, _point_features(fac["lon"] if "lon" in fac else fac.geometry.x,
                                        fac["lat"] if "lat" in fac else fac.geometry.y, props), marker=marker)


def _star(colour: str, rank: int | None) -> str:
    text = (f'<text x="13" y="17" text-anchor="middle" font-size="9" font-weight="bold" fill="#ffffff">{rank}</text>'
            if rank is not None and rank < 1000 else "")
    return ('<svg width="26" height="26" viewBox="0 0 26 26"><polygon points="13,1 16.5,9 25,9.6 18.5,15.2 20.5,24 '
            f'13,19.3 5.5,24 7.5,15.2 1,9.6 9.5,9" fill="{colour}" stroke="#222222" stroke-width="1.3"/>{text}</svg>')


def _suggestion_layer(m, report, suggestions, colours, lang, caps) -> None:
    t = _TEXT[lang]
    name = t["suggestions"]
    sites = suggestions.copy()
    if "rank" not in sites:
        sites["rank"] = np.arange(1, len(sites) + 1)
    sites = sites.sort_values("rank", kind="stable", na_position="last")
    sites = caps.cut(sites, name)
    props = []
    for _, s in sites.iterrows():
        res = report.category(str(s["category"]))
        rank = int(s["rank"]) if pd.notna(s["rank"]) else None
        title = t["site_title"].format(rank=rank if rank is not None else "–", cat=_esc(_label(res, lang)))
        lines = [f"<b>{title}</b>"]
        if "name" in s and pd.notna(s["name"]):
            lines.append(_esc(s["name"]))
        if "added_covered" in s and pd.notna(s["added_covered"]):
            lines.append(t["site_added"].format(n=_fmt_n(s["added_covered"]),
                                                group=_demand_group(res.demand_column, lang)))
        props.append({"tip": "<br>".join(lines), "icon": _star(colours[res.category], rank)})
    pts = sites.geometry.values
    ok = np.array([g is not None and not g.is_empty for g in pts], dtype=bool)
    if not ok.all():
        raise CirclesError("suggestions: some rows have no geometry; give every suggested site a point")
    cent = shapely.centroid(pts)  # a polygon site is marked at its centre
    marker = folium.Marker(icon=folium.DivIcon(html="", class_name="circles-site", icon_size=(26, 26),
                                               icon_anchor=(13, 13)))
    group = _layer(m, name, _star(PALETTE[0], None).replace('width="26" height="26"', 'width="13" height="13"'))
    _add_geojson(group, _point_features(shapely.get_x(cent), shapely.get_y(cent), props), marker=marker)


def _legend_html(report, colours, lang, *, note, caps, has_sites, has_districts, has_areas) -> str:
    t = _TEXT[lang]
    out = [f"<details open><summary>{_esc(t['legend'])}</summary>"]
    if note:
        out.append(f'<div class="circles-row circles-note">{_esc(note)}</div>')
    title = getattr(report.profile, "label_zh" if lang == "zh" else "label_en", None) or t["title"]
    out.append(f"<h4>{_esc(title)}</h4>")
    for res in report.categories:
        share = f'<span class="circles-share">{100.0 * res.coverage:.1f}%</span>'
        detail = t["coverage"].format(share=share, covered=_fmt_n(res.demand_covered), total=_fmt_n(res.demand_total),
                                      group=_esc(_demand_group(res.demand_column, lang)),
                                      minutes=_fmt_min(res.minutes), n=res.facilities)
        out.append(f'<div class="circles-row">{_swatch(colours[res.category])}<b>{_esc(_label(res, lang))}</b> '
                   f"{detail}</div>")
    sym = ['<svg width="16" height="16"><circle cx="8" cy="8" r="6" fill="#777" stroke="#fff" stroke-width="2"/>'
           f'</svg>{_esc(t["sym_facility"])}',
           f'<svg width="16" height="16"><circle cx="8" cy="8" r="5" fill="#bbb" stroke="{GAP_COLOUR}" '
           f'stroke-width="1.3"/></svg>{_esc(t["sym_unit"])}',
           f'<svg width="16" height="16"><rect x="1" y="3" width="14" height="10" fill="url(#circles-hatch-0)" '
           f'stroke="{GAP_COLOUR}" stroke-dasharray="3 2"/></svg>{_esc(t["sym_gap"])}']
    if has_areas:
        sym.append('<svg width="16" height="16"><rect x="1" y="3" width="14" height="10" fill="#777" '
                   f'fill-opacity=".25" stroke="#777"/></svg>{_esc(t["sym_area"])}')
    if has_sites:
        sym.append(_star("#777777", None).replace('width="26" height="26"', 'width="16" height="16"')
                   + _esc(t["sym_site"]))
    if has_districts:
        sym.append(f'<svg width="16" height="16"><line x1="0" y1="8" x2="16" y2="8" stroke="{DISTRICT_COLOUR}" '
                   f'stroke-width="2" stroke-dasharray="4 2"/></svg>{_esc(t["sym_district"])}')
    out.extend(f'<div class="circles-row">{s}</div>' for s in sym)
    out.extend(f'<div class="circles-row circles-note">{_esc(line)}</div>' for line in caps)
    out.append(f'<div class="circles-row circles-small">{_esc(t["roads"])}</div>')
    out.append("</details>")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------- the page


@functools.cache
def _leaflet_assets() -> tuple[str, str, str]:
    """Leaflet's JS, its CSS with the images inlined as data URIs, and its version, from django-js-lib-leaflet."""
    try:
        root = importlib.resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
        js = (root / "leaflet.js").read_text(encoding="utf-8")
        css = (root / "leaflet.css").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise CirclesError("Leaflet is not installed (package django-js-lib-leaflet); install the project's "
                           "dependencies (pip install -e .) to write offline maps") from exc

    def data_uri(match: re.Match) -> str:
        data = (root / "images" / match.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(data).decode("ascii") + ")"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)  # the .map file is not shipped with the page
    version = re.search(r"Leaflet (\d+\.\d+\.\d+)", js)
    return js.replace("</script", "<\\/script"), css, version.group(1) if version else "unknown"


#: What folium's page loads from CDNs: Leaflet (inlined instead) and jQuery, Bootstrap, awesome-markers
#: (not used by these maps). Any other external script or stylesheet is an error, not silently dropped.
_FOLIUM_CDN = {url for _, url in (*folium.Map.default_js, *folium.Map.default_css)}
_EXTERNAL_SCRIPT = re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']?((?:https?:)?//[^"'\s>]+)["']?[^>]*>\s*</script>\s*""",
                              re.IGNORECASE)
_EXTERNAL_LINK = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?((?:https?:)?//[^"'\s>]+)["']?[^>]*/?>\s*""",
                            re.IGNORECASE)
_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def map_html(m: folium.Map) -> str:
    """The map as one self-contained HTML page that works offline, identical for identical maps.

    Leaflet's JS and CSS are inlined; folium's CDN links (Leaflet, jQuery, Bootstrap, awesome-markers)
    are removed; folium's random element ids are renumbered in order of appearance. Basemap tiles,
    when the map has them, still come from their servers.

    Raises
    ------
    CirclesError
        When the map uses a plugin that loads other scripts or stylesheets from the internet.
    """
    # folium adds elements to the tree while rendering (a second render repeats them): render a copy,
    # so the page is the same however often it is asked for and `m` stays as the caller built it
    root = copy.deepcopy(m.get_root())
    # the layers' data (megabytes) stay out of the page while it is searched for links and ids
    data = [el.data for el in _walk(root) if isinstance(getattr(el, "data", None), _GeoJsonText)]
    for k, d in enumerate(data):
        d.placeholder = f"circles-data-{k}-placeholder"
    try:
        page = root.render()
    finally:
        for d in data:
            d.placeholder = None
    js, css, version = _leaflet_assets()
    inline_js = f"<script>/* Leaflet {version}, inlined for offline use */\n{js}\n</script>\n"
    inline_css = f"<style>/* Leaflet {version} */\n{css}\n</style>\n"
    foreign: list[str] = []

    def drop(match: re.Match, inline: str, marker: str) -> str:
        url = match.group(1)
        if url not in _FOLIUM_CDN:
            foreign.append(url)
            return match.group(0)
        return inline if marker in url.rsplit("/", 1)[-1] else ""

    page = _EXTERNAL_SCRIPT.sub(lambda mt: drop(mt, inline_js, "leaflet.js"), page)
    page = _EXTERNAL_LINK.sub(lambda mt: drop(mt, inline_css, "leaflet.css"), page)
    if foreign:
        raise CirclesError(f"the map loads {foreign[0]} from the internet, which an offline page cannot; "
                           "use only folium's core layers (GeoJson, CircleMarker, DivIcon markers)")
    if inline_js not in page:  # Leaflet was not among the links (e.g. cleared default_js): put it first
        page = page.replace("<head>", "<head>\n" + inline_css + inline_js, 1)
    lang = getattr(m, "circles_lang", None)
    if lang is not None:
        page = page.replace("<html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}">', 1)
    page = _renumber_ids(root, page)
    texts = {f'"circles-data-{k}-placeholder"': _html_safe(d.text) for k, d in enumerate(data)}
    return re.sub(r'"circles-data-\d+-placeholder"', lambda mt: texts[mt.group(0)], page) if texts else page


def _html_safe(text: str) -> str:
    """JSON text safe inside a <script> element (as jinja's `tojson` makes it)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


def _walk(root: Element):
    """Every element of the tree once (children and a figure's header/html/script)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        yield el
        stack.extend(el._children.values())
        for attr in ("header", "html", "script"):
            child = getattr(el, attr, None)
            if isinstance(child, Element):
                stack.append(child)


def _element_ids(root: Element) -> set[str]:
    return {el._id for el in _walk(root)}


def _renumber_ids(root: Element, page: str) -> str:
    """Replace folium's random 32-hex element ids by 1, 2, 3... in order of first appearance."""
    ids = _element_ids(root)
    numbers: dict[str, str] = {}

    def number(match: re.Match) -> str:
        hex_id = match.group(0)
        if hex_id not in ids:
            return hex_id
        return numbers.setdefault(hex_id, str(len(numbers) + 1))

    return _HEX_ID.sub(number, page)


# =================================================================== batch summary map
_COVERAGE_STEPS = ((0.6, "#d7301f"), (0.8, "#fc8d59"), (0.9, "#fee08b"), (1.01, "#1a9850"))


def _coverage_colour(share: Any) -> str:
    if share is None or (isinstance(share, float) and not np.isfinite(share)):
        return "#bdbdbd"  # failed or no demand
    return next(c for limit, c in _COVERAGE_STEPS if float(share) < limit)


def districts_map(collection: Mapping[str, Any], profile: Any, *, lang: str = "zh") -> folium.Map:
    """Choropleth of a batch run: each district coloured by its coverage share, one layer per category.

    Parameters
    ----------
    collection
        The FeatureCollection of ``districts.geojson`` written by `circles.batch` (WGS84; per
        district ``<category>_coverage``, ``<category>_demand_total``, ``status``, ``cause``).
    profile
        The profile of the run (category labels).
    lang
        ``"zh"`` or ``"en"``.
    """
    if lang not in ("zh", "en"):
        raise CirclesError(f"lang {lang!r} is not supported; use zh or en")
    geoms = [shapely.geometry.shape(f["geometry"]) for f in collection["features"] if f.get("geometry")]
    if not geoms:
        raise CirclesError("districts_map: no district has a geometry to draw")
    west, south, east, north = shapely.total_bounds(np.array(geoms, dtype=object))
    m = folium.Map(location=[round((south + north) / 2, 6), round((west + east) / 2, 6)], zoom_start=11,
                   tiles=None, control_scale=True)
    m.fit_bounds([[round(south, 6), round(west, 6)], [round(north, 6), round(east, 6)]], padding=(12, 12))
    zh = lang == "zh"
    for k, cat in enumerate(profile.categories):
        label = cat.label_zh if zh else cat.label_en
        feats = []
        for f in collection["features"]:
            if not f.get("geometry"):
                continue
            p = f["properties"]
            share = p.get(f"{cat.id}_coverage")
            text = (f"{p['district']}：{label} " + (f"{share:.1%}" if share is not None else
                                                    ("失败 " if zh else "failed ") + str(p.get("cause") or ""))
                    if zh else f"{p['district']}: {label} " + (f"{share:.1%}" if share is not None else
                                                                f"failed {p.get('cause') or ''}"))
            feats.append({"type": "Feature", "geometry": f["geometry"],
                          "properties": {"colour": _coverage_colour(share), "tip": text}})
        group = folium.FeatureGroup(name=f"{label}{'覆盖率' if zh else ' coverage'}", show=k == 0)
        folium.GeoJson({"type": "FeatureCollection", "features": feats},
                       style_function=lambda x: {"fillColor": x["properties"]["colour"], "color": "#555555",
                                                 "weight": 1, "fillOpacity": 0.7},
                       tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    names = ("< 60%", "60–80%", "80–90%", "≥ 90%")
    rows = "".join(f'<div><span style="display:inline-block;width:12px;height:12px;background:{c};'
                   f'margin-right:4px"></span>{n}</div>' for n, (_, c) in zip(names, _COVERAGE_STEPS))
    rows += ('<div><span style="display:inline-block;width:12px;height:12px;background:#bdbdbd;margin-right:4px">'
             f'</span>{"分析失败" if zh else "failed"}</div>')
    title = "各街道（乡镇）覆盖率" if zh else "Coverage by district"
    legend = (f'<div style="position:fixed;bottom:64px;left:12px;z-index:1000;background:white;padding:8px;'
              f'border:1px solid #999;font:12px sans-serif"><b>{title}</b>{rows}'
              '<div style="color:#666">© OpenStreetMap contributors</div></div>')
    m.get_root().html.add_child(folium.Element(legend))
    return m

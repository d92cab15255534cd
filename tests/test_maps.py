"""circles.outputs.map: the coverage map's layers, its offline page, determinism, and a real headless browser."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import browser
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circles.options import RunOptions
from circles.pipeline import analyse, prepare
from circles.coverage import uncovered_units
from circles.errors import CirclesError
from circles.outputs.map import PALETTE, GeoJsonLayer, category_colours, coverage_map, map_html
from circles.outputs.map.packing import unpack_geometry
from circles.sample import SAMPLE_LABEL, make_sample



@pytest.fixture(scope="module")
def sample():
    result = analyse(prepare(RunOptions(sample=True)))
    district = make_sample()
    sites = gpd.GeoDataFrame(
        {"category": ["elderly", "meal"], "rank": [1, 2], "added_covered": [1200.0, 800.0],
         "name": ["候选<A>", "候选B"]},
        geometry=gpd.points_from_xy([114.312, 114.309], [30.612, 30.590]), crs="EPSG:4326")
    return result, district, sites


def _map(sample, **kw) -> folium.Map:
    result, district, sites = sample
    args = {"service_areas": result.service_areas, "suggestions": sites, "districts": district.districts,
            "district_col": "street", "note": result.inputs.get("sample_label"), "streets": result.walk}
    args.update(kw)
    return coverage_map(result.report, **args)


def _layers(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {c.circles_label: c for c in m._children.values() if isinstance(c, folium.FeatureGroup)}


def _features(group: folium.FeatureGroup) -> list[dict]:
    """The features of a layer, geometries unpacked (the page gets lines and polygons packed)."""
    return [{**f, "geometry": unpack_geometry(f["geometry"])} for c in group._children.values()
            if isinstance(c, GeoJsonLayer) for f in c.data["features"]]


def _in_page(text: str, page: str) -> bool:
    """Folium writes layer names as HTML-safe JSON (non-ASCII as \\uXXXX); names are HTML-escaped text."""
    for name in (text, html.escape(text)):
        js = json.dumps(name)[1:-1]
        for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
            js = js.replace(char, code)
        if js in page or name in page:
            return True
    return False


def _expected_names(report, lang: str) -> list[str]:
    zh = lang == "zh"
    names = ["道路" if zh else "Streets", "街道/乡镇边界" if zh else "District borders",
             "建议新增站点" if zh else "Suggested new sites"]
    for c in report.categories:
        cat = c.label_zh if zh else c.label_en
        minutes = f"{c.minutes:g}"
        names += [f"{cat}：{minutes}分钟服务范围" if zh else f"{cat}: {minutes}-min service area",
                  f"{cat}：服务片区（就近设施）" if zh else f"{cat}: catchments (nearest facility)",
                  f"{cat}：各设施服务范围" if zh else f"{cat}: per-facility service areas",
                  f"{cat}：覆盖缺口" if zh else f"{cat}: coverage gaps",
                  f"{cat}：未覆盖居民点" if zh else f"{cat}: uncovered residents"]
        for tier in report.profile.category(c.category).tiers:
            names.append(f"设施：{tier.label_zh}" if zh else f"Facilities: {tier.label_en}")
    if len(report.categories) > 1:
        names.append("未能一站式可达的居民点（缺少某类设施）" if zh else "Residents without one-stop access")
    return names


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_layer_is_named_in_the_language(sample, lang):
    report = sample[0].report
    m = _map(sample, lang=lang)
    layers = _layers(m)
    expected = _expected_names(report, lang)
    assert set(expected) == set(layers), set(expected) ^ set(layers)
    page = map_html(m)
    for name in expected:
        assert _in_page(name, page), name
    # on opening: all facilities, the first category's areas/gaps/residents; catchments hidden
    first, other = report.categories[0], report.categories[1]
    cat = (lambda c: c.label_zh if lang == "zh" else c.label_en)
    for name, group in layers.items():
        if "服务片区" in name or "catchments" in name or "各设施" in name or "per-facility" in name:
            assert not group.show, name
        elif name.startswith(cat(other)):
            assert not group.show, name
        elif name.startswith(cat(first)) or name.startswith(("设施", "Facilities")):
            assert group.show, name
    assert SAMPLE_LABEL in page  # the synthetic-sample note
    assert "© OpenStreetMap contributors" in page
    for c in report.categories:  # the legend lists each category's coverage share
        assert f"{100 * c.coverage:.1f}%" in page
        assert cat(c) in page


def test_layers_hold_the_report(sample):
    result, district, sites = sample
    report = result.report
    layers = _layers(_map(sample))
    for c in report.categories:
        units = uncovered_units(report, c.category)
        drawn = _features(layers[f"{c.label_zh}：未覆盖居民点"])
        assert len(drawn) == len(units)
        if len(drawn):  # biggest circle for the most people; tooltip gives the people and minutes
            radii = [f["properties"]["style"]["radius"] for f in drawn]
            assert radii[0] == max(radii)
            assert f"{units[c.demand_column].iloc[0]:,.0f} 人" in drawn[0]["properties"]["tip"]
            assert "分钟" in drawn[0]["properties"]["tip"]
    n_fac = sum(len(_features(g)) for name, g in layers.items() if name.startswith("设施："))
    assert n_fac == len(report.facilities)
    stars = _features(layers["建议新增站点"])
    assert len(stars) == 2 and "<svg" in stars[0]["properties"]["icon"]
    assert "候选&lt;A&gt;" in stars[0]["properties"]["tip"]  # names are escaped
    gaps = _features(layers[f"{report.categories[0].label_zh}：覆盖缺口"])
    assert gaps and "第1名" in gaps[0]["properties"]["tip"]
    labels = [f["properties"].get("label") for f in _features(layers["街道/乡镇边界"])]
    assert labels == list(district.districts["street"])


def test_page_is_offline_with_leaflet_inlined(sample):
    page = map_html(_map(sample))
    external_scripts = re.findall(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", page, re.I)
    external_styles = re.findall(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//", page, re.I)
    assert external_scripts == [] and external_styles == []
    assert "<script src" not in page and "<link" not in page
    for cdn in ("cdn.jsdelivr.net", "code.jquery.com", "cdnjs.cloudflare.com", "bootstrapcdn", "jquery"):
        assert cdn not in page.lower(), cdn
    assert "L.map(" in page and 'version="1.9.4"' in page and "Leaflet 1.9.4" in page
    assert ".leaflet-container" in page and "url(images/" not in page and "data:image/png;base64," in page
    assert "sourceMappingURL" not in page
    assert '<html lang="zh-CN">' in page


def test_same_inputs_give_the_same_page(sample):
    first = map_html(_map(sample))
    m = _map(sample)
    second = map_html(m)
    assert first == second
    assert map_html(m) == second  # rendering twice changes nothing
    assert not re.search(r"_[0-9a-f]{32}\b", second)  # folium's random ids are gone
    assert "map_1" in second


def test_point_layers_are_capped_with_a_note(sample):
    report = sample[0].report
    c = report.categories[0]
    units = uncovered_units(report, c.category)
    assert len(units) > 3
    m = _map(sample, max_features=3)
    drawn = _features(_layers(m)[f"{c.label_zh}：未覆盖居民点"])
    assert len(drawn) == 3  # the three units with most uncovered people
    for f, (_, u) in zip(drawn, units.head(3).iterrows()):
        assert f["geometry"]["coordinates"] == pytest.approx([u["lon"], u["lat"]], abs=1e-6)
    page = map_html(m)
    assert f"{c.label_zh}：未覆盖居民点：仅显示最重要的 3 个，共 {len(units):,} 个" in page
    en = map_html(_map(sample, max_features=3, lang="en"))
    assert f"{c.label_en}: uncovered residents: showing the 3 most important of {len(units):,}" in en


def test_polygons_are_simplified(sample):
    report = sample[0].report
    name = f"{report.categories[0].label_zh}：15分钟服务范围"

    def vertices(simplify_m):
        feats = _features(_layers(_map(sample, simplify_m=simplify_m))[name])
        return sum(shapely.get_num_coordinates(shapely.from_geojson(json.dumps(f["geometry"]))) for f in feats)

    full, coarse = vertices(0.0), vertices(25.0)
    assert 0 < coarse < 0.8 * full


def test_without_optional_layers_and_with_tiles(sample):
    report = sample[0].report
    m = coverage_map(report, lang="en")
    names = set(_layers(m))
    assert "District borders" not in names and "Suggested new sites" not in names
    assert f"{report.categories[0].label_en}: coverage gaps" in names
    page = map_html(m)
    assert '<html lang="en">' in page and "道路" not in names and "Streets" not in names
    # basemaps are offered, off on opening (the blank one is first and shown)
    assert re.search(r"if \(k === 0\) \{ layer.addTo\(map\); \}", page)
    assert "tile.openstreetmap.org" in page and "autonavi.com" in page  # the sample lies in China: Amap offered
    osm = map_html(coverage_map(report, tiles="osm"))
    assert "if (k === 1) { layer.addTo(map); }" in osm  # OpenStreetMap shown on opening
    assert not re.search(r"<(script|link)\b[^>]*(src|href)\s*=\s*[\"']?https?:", osm, re.I)
    assert "tianditu.gov.cn" not in page and "CIRCLES_TIANDITU_KEY" in page  # no key: not offered, the note says how
    tdt = map_html(coverage_map(report, tiles="tianditu", tile_key="KEY123"))
    assert "tianditu.gov.cn" in tdt and "tk=KEY123" in tdt and "if (k === 2) { layer.addTo(map); }" in tdt
    amap = map_html(coverage_map(report, tiles="amap"))
    assert 'circles.datum = "gcj02";' in amap and 'circles.datum = "wgs84";' in page  # layers drawn shifted
    intranet = map_html(coverage_map(report, tiles="http://tiles.intranet/{z}/{x}/{y}.png",
                                     tile_attribution="本院底图"))
    assert "tiles.intranet" in intranet and "本院底图" in intranet


def test_unset_tiers_count_as_the_last_and_unknown_categories_are_other(sample):
    report = sample[0].report
    fac = report.facilities.copy()
    centre = fac.index[(fac["category"] == "elderly") & (fac["tier"] == "centre")][0]
    fac.loc[centre, "tier"] = None  # as in assess: a facility without tier is of the category's last tier
    fac.loc[fac.index[-1], "category"] = "library"
    layers = _layers(coverage_map(dataclasses.replace(report, facilities=fac)))
    before = _layers(coverage_map(report))
    tiers = report.profile.category("elderly").tiers
    last, first = f"设施：{tiers[-1].label_zh}", f"设施：{tiers[0].label_zh}"
    assert len(_features(layers[last])) == len(_features(before[last])) + 1
    assert len(_features(layers[first])) == len(_features(before[first])) - 1
    assert len(_features(layers["其他设施"])) == 1


def test_big_point_layers_draw_on_a_canvas(sample, monkeypatch):
    from circles.outputs.map import style

    page = map_html(coverage_map(sample[0].report))
    assert "circles_canvas_" not in page  # the sample's layers are small: SVG
    monkeypatch.setattr(style, "CANVAS_ABOVE", 2)
    page = map_html(coverage_map(sample[0].report))
    assert 'var circles_canvas_circles_units = L.canvas({pane: "circles-units"});' in page
    assert '"renderer": circles_canvas_circles_units' in page


def test_suggestions_from_tables_and_siting_results(sample):
    from types import SimpleNamespace

    report = sample[0].report
    table = pd.DataFrame({"rank": [1, 2], "name": ["甲", "乙"], "lon": [114.30, 114.31], "lat": [30.60, 30.61],
                          "added_covered": [500.0, 250.0]})
    result = SimpleNamespace(category="meal", sites=table)  # the shape of circles.siting.SitingResult
    for given in (result, [result], table.assign(category="meal")):
        stars = _features(_layers(coverage_map(report, suggestions=given))["建议新增站点"])
        assert [f["geometry"]["coordinates"] for f in stars] == [[114.30, 30.60], [114.31, 30.61]]
        assert stars[0]["properties"]["tip"].startswith("<b>建议新增 1</b>")  # known by its rank
        assert "可新增覆盖 500 名60岁及以上老人" in stars[0]["properties"]["popup"]
    with pytest.raises(CirclesError, match="'lon', 'lat'"):
        coverage_map(report, suggestions=pd.DataFrame({"category": ["meal"], "x": [1.0]}))


def test_category_colours_are_distinct_and_not_gap_red(sample):
    colours = category_colours(sample[0].report)
    assert list(colours) == [c.category for c in sample[0].report.categories]
    assert len(set(colours.values())) == len(colours) and set(colours.values()) <= set(PALETTE)


def test_bad_inputs_raise_one_line_errors(sample):
    result, district, sites = sample
    report = result.report
    with pytest.raises(CirclesError, match="lang 'fr'"):
        coverage_map(report, lang="fr")
    with pytest.raises(CirclesError, match="max_features"):
        coverage_map(report, max_features=0)
    with pytest.raises(CirclesError, match="set_crs"):
        coverage_map(report, service_areas=result.service_areas.set_crs(None, allow_override=True))
    bad_kind = result.service_areas.assign(kind="hull")
    with pytest.raises(CirclesError, match="kind 'hull'.*union, ring, catchment, facility_area"):
        coverage_map(report, service_areas=bad_kind)
    with pytest.raises(CirclesError, match="category 'library'"):
        coverage_map(report, suggestions=sites.assign(category="library"))
    with pytest.raises(CirclesError, match="no column.*'quarter'"):
        coverage_map(report, districts=district.districts, district_col="quarter")
    with pytest.raises(CirclesError, match="needs a key"):
        coverage_map(report, tiles="tianditu")
    with pytest.raises(CirclesError, match="tiles 'baidu' is not known"):
        coverage_map(report, tiles="baidu")
    with pytest.raises(CirclesError, match="focus 'parks'"):
        coverage_map(report, focus="parks")


def test_plugins_that_need_the_internet_are_refused(sample):
    from folium.plugins import MarkerCluster

    m = coverage_map(sample[0].report)
    MarkerCluster().add_to(m)
    with pytest.raises(CirclesError, match="from the internet"):
        map_html(m)


def test_projected_service_areas_are_converted(sample):
    result = sample[0]
    metric = result.service_areas.to_crs(result.service_areas.estimate_utm_crs())
    m = coverage_map(result.report, service_areas=metric)
    name = f"{result.report.categories[0].label_zh}：15分钟服务范围"
    lon, lat = _features(_layers(m)[name])[0]["geometry"]["coordinates"][0][0][0]
    assert 114 < lon < 115 and 30 < lat < 31


# ------------------------------------------------------------------------------------------ browser


def _open(context, path: Path):
    """The page of `path` once its scripts ran to the end, and the list of its console errors."""
    page = context.new_page()
    errors = browser.console_errors(page)
    page.goto(path.as_uri())
    page.locator("body[data-circles-map=ready]").wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(300)
    return page, errors


@browser.needs_chromium
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_map_reads_offline_in_headless_chromium(sample, tmp_path, lang):
    report = sample[0].report
    path = tmp_path / "map.html"
    path.write_text(map_html(_map(sample, lang=lang)), encoding="utf-8")
    with browser.chromium(tmp_path / "profile") as context:
        page, errors = _open(context, path)
        png = tmp_path / f"map_{lang}.png"
        page.screenshot(path=str(png))
        assert errors == []
        share, boxes = browser.control_share(page, 1280, 800)
        assert share <= browser.MAX_CONTROL_SHARE, boxes
        assert browser.scale_texts(page) and all(re.fullmatch(r"\d+ k?m", t) for t in browser.scale_texts(page))
        names = browser.overlay_names(page)
        expected = _expected_names(report, lang)
        for name in expected:  # every layer listed, in the language (groups may be folded)
            assert name in names, name
        if lang == "en":
            assert not any(re.search(r"[\u4e00-\u9fff]", n) for n in names), names
        streets = page.locator(".leaflet-control-layers-overlays label", has_text="道路" if lang == "zh" else "Streets")
        assert streets.locator("input").is_checked()  # the streets are on by default
        assert page.locator(".leaflet-circles-streets-pane canvas").count() == 1
        assert page.locator("path.leaflet-interactive").count() > 50  # service areas, gaps, facilities, residents
        assert page.locator("path.circles-gap-0").count() > 0 and page.locator(".circles-district-label").count() == 3
        # the groups fold: the second category's layers are hidden until its group opens
        groups = page.locator("details.circles-group")
        assert groups.count() == 2 + len(report.categories)  # general, one per category, one-stop and outreach
        assert groups.nth(1).get_attribute("open") is not None and groups.nth(2).get_attribute("open") is None
        page.locator(".circles-layers-head").click()
        folded, _ = browser.control_share(page, 1280, 800)
        assert folded < share / 1.5
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = pytest.importorskip("PIL.Image")
    pixels = np.asarray(image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
    for colour in (category_colours(report)[report.categories[0].category], "#d7191c", "#c4bfb4"):
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        near = (np.abs(pixels - rgb).sum(axis=1) < 30).sum()
        assert near > 50, f"too few {colour} pixels in the screenshot"


@browser.needs_chromium
def test_sites_popup_and_the_amap_shift_in_headless_chromium(sample, tmp_path):
    from circles.coords import wgs84_to_bd09, wgs84_to_gcj02

    result, _, sites = sample
    path = tmp_path / "map.html"
    path.write_text(map_html(_map(sample)), encoding="utf-8")
    lon, lat = float(sites.geometry.x.iloc[0]), float(sites.geometry.y.iloc[0])
    with browser.chromium(tmp_path / "profile") as context:
        page, errors = _open(context, path)
        # the page's GCJ-02 formulas are circles.coords' (to a billionth of a degree)
        for x, y in ((lon, lat), (116.3975, 39.9087), (113.95, 22.55), (-8.61, 41.15)):
            got = page.evaluate("([x, y]) => circles.toGcj(x, y)", [x, y])
            assert got == pytest.approx(list(wgs84_to_gcj02(x, y)), abs=1e-9)
        star = page.locator(".circles-site").first
        star.click()
        popup = page.locator(".leaflet-popup-content").inner_text()
        assert "建议新增 1" in popup and "可新增覆盖 1,200 名60岁及以上老人" in popup
        gx, gy = wgs84_to_gcj02(lon, lat)
        bx, by = wgs84_to_bd09(lon, lat)
        assert f"{lon:.6f}, {lat:.6f}" in popup and f"{gx:.6f}, {gy:.6f}" in popup and f"{bx:.6f}, {by:.6f}" in popup
        page.wait_for_timeout(600)  # the popup fades in, the map pans to show it
        page.screenshot(path=str(tmp_path / "site_popup.png"))
        assert errors == []
        markers = "() => { const out = []; map_1.eachLayer(l => { if (l instanceof L.Marker) " \
                  "out.push([l.getLatLng().lng, l.getLatLng().lat]); }); return out; }"
        before = page.evaluate(markers)
        page.route("**/*", lambda route: route.abort())  # no tile is fetched
        page.locator("details.circles-base summary").click()
        page.locator(".leaflet-control-layers-base label", has_text="高德").locator("input").check()
        assert page.evaluate("() => circles.datum") == "gcj02"
        after = page.evaluate(markers)
        assert len(after) == len(before) == len(sites)
        for (x0, y0), (x1, y1) in zip(before, after):  # every layer drawn shifted onto the GCJ-02 tiles
            assert [x1, y1] == pytest.approx(list(wgs84_to_gcj02(x0, y0)), abs=1e-7)
        page.locator(".leaflet-control-layers-base label").first.locator("input").check()
        assert page.evaluate(markers) == before  # back on WGS84 tiles: drawn where they are


def test_districts_map_is_offline_and_coloured():
    from circles.outputs.map import districts_map, map_html
    from circles.profiles import load_profile

    square = {"type": "Polygon", "coordinates": [[[114.3, 30.6], [114.31, 30.6], [114.31, 30.61], [114.3, 30.61],
                                                  [114.3, 30.6]]]}
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square,
         "properties": {"district": "一街道", "elderly_coverage": 0.95, "status": "ok", "cause": None}},
        {"type": "Feature", "geometry": square,
         "properties": {"district": "二街道", "elderly_coverage": None, "status": "failed", "cause": "no network"}}]}
    html = map_html(districts_map(collection, load_profile("15min"), lang="zh"))
    assert "#1a9850" in html and "#bdbdbd" in html and "各街道（乡镇）覆盖率" in html
    assert '<script src="http' not in html

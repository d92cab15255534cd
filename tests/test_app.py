"""The Streamlit app: every page and interaction on the sample district, through `streamlit.testing.v1.AppTest`.

The analysis of the sample is cached in the test process (`st.cache_data` in app_pages/services.py), so only the
first test pays for it; tests with other settings run their own analysis.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pytest

_MPLBACKEND = os.environ.get("MPLBACKEND")
from streamlit.testing.v1 import AppTest  # noqa: E402 - importing streamlit sets MPLBACKEND=Agg for the process

from app_pages import support as sup  # noqa: E402
from circles import scenarios as scen  # noqa: E402
from circles.options import RunOptions  # noqa: E402
from circles.errors import CirclesError  # noqa: E402
from circles.sample import make_sample  # noqa: E402
from conftest import ROOT, shared_data  # noqa: E402

# give other tests (the notebook's kernel inherits the environment) their matplotlib backend back
if _MPLBACKEND is None:
    os.environ.pop("MPLBACKEND", None)
else:
    os.environ["MPLBACKEND"] = _MPLBACKEND
os.environ["CIRCLES_APP_DISK_CACHE"] = "0"  # before app.py is imported: keep nothing in ~/.streamlit

APP = str(ROOT / "app.py")
PAGE = "app_pages/{}.py"
SAMPLE = RunOptions(sample=True)  # what the Data page runs by default
TIMEOUT = 300  # seconds; the first run computes the sample (about 10 s), CI machines are slower
ZH = {"elderly": "养老服务设施", "meal": "老年助餐服务", "child": "未成年人保护服务"}
EN = {"elderly": "Elderly-care facility", "meal": "Meal service for older people", "child": "Child protection"}


def _app(page: str | None = None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(PAGE.format(page)).run()
    _no_failure(at)
    return at


def _no_failure(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _component(at: AppTest) -> dict:
    """The arguments streamlit-folium's component got (script, header, js_links, ...)."""
    found = [n for n in at.main if getattr(n, "type", None) == "component_instance"]
    assert len(found) == 1, "expected one map on the page"
    return json.loads(found[0].proto.json_args)


def _button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert len(found) == 1, f"expected one button {label!r}, found {[b.label for b in at.button]}"
    return found[0]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture(scope="module")
def sample():
    """The sample analysis as the app caches it (the same object the pages show)."""
    from app_pages import services as app

    return app.analysis(SAMPLE)


# ============================================================================ map page
def test_map_page_shows_figures_and_an_offline_map(sample):
    at = _app()
    assert at.title[0].value == "覆盖地图"
    report = sample.report
    assert _metrics(at) == {ZH[c.category]: f"{100 * c.coverage:.1f}%" for c in report.categories}
    elderly = report.category("elderly")
    caption = " ".join(c.value for c in at.caption)
    assert f"未覆盖 {elderly.demand_total - elderly.demand_covered:,.0f} 人（60岁及以上老人）· {elderly.facilities} 处设施" \
        in caption

    args = _component(at)
    # offline: Leaflet comes inlined as data URIs, nothing from a CDN (no jQuery, Bootstrap, ...)
    assert [link[:28] for link in args["js_links"]] == ["data:text/javascript;base64,"]
    assert [link[:21] for link in args["css_links"]] == ["data:text/css;base64,"]
    assert "https://" not in json.dumps({k: args[k] for k in ("js_links", "css_links", "header")})
    assert args["returned_objects"] == []  # panning and zooming never rerun the page
    script = args["script"]
    assert "L.map(" in script and "data-circles-map" in script
    for layer in ("道路", "街道/乡镇边界", "养老服务设施：覆盖缺口", "养老服务设施：未覆盖居民点",
                  "养老服务设施：15分钟服务范围", "设施：社区养老服务站/日间照料中心", "老年助餐服务：覆盖缺口"):
        assert f'{layer}")' in script, layer  # ctl.addOverlay(layer, "<symbol>name")
    assert "circles.streets(" in script and "L.control.scale({imperial: false" in script
    assert "circles-legend" in args["html"] and "84.3%" in args["html"]
    assert "<details><summary>图例" in args["html"]  # the legend starts folded in the app: the map stays visible


def test_map_page_focus_and_detail_options():
    at = _app()
    at.selectbox(key="cfg_focus").set_value("child").run()
    at.toggle(key="cfg_per_facility").set_value(False).run()
    _no_failure(at)
    script = _component(at)["script"]
    assert "各设施服务范围" not in script  # per-facility areas left out
    assert "未成年人保护服务：覆盖缺口" in script


def test_language_switch_changes_every_label(sample):
    at = _app()
    at.sidebar.radio(key="cfg_lang").set_value("en").run()
    _no_failure(at)
    assert at.title[0].value == "Coverage map"
    assert set(_metrics(at)) == set(EN.values())
    assert "Coverage of" not in " ".join(c.value for c in at.caption)
    assert any("uncovered (people aged 60+)" in c.value for c in at.caption)
    args = _component(at)
    assert "Elderly-care facility: coverage gaps" in args["script"] and "养老服务设施：覆盖缺口" not in args["script"]
    assert 'Streets")' in args["script"]
    assert "Legend" in args["html"]
    assert at.selectbox(key="cfg_focus").options[-1] == "All categories"

    at.switch_page(PAGE.format("figures")).run()
    _no_failure(at)
    assert at.title[0].value == "Coverage figures"
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["category", "facilities", "demand group", "demand total", "demand covered",
                                   "uncovered", "coverage (%)", "minutes"]
    assert list(at.dataframe[1].value.columns)[:2] == ["district", "category"]
    assert "met" in list(at.dataframe[2].value.columns)

    at.sidebar.radio(key="cfg_lang").set_value("zh").run()
    _no_failure(at)
    assert at.title[0].value == "覆盖指标"
    assert list(at.dataframe[0].value.columns)[:2] == ["类别", "设施数"]


# ============================================================================ figures page
def test_figures_page_tables_and_rule_checks(sample):
    at = _app("figures")
    report = sample.report
    figures = at.dataframe[0].value
    assert list(figures["类别"]) == list(ZH.values())
    assert list(figures["设施数"]) == [c.facilities for c in report.categories]
    assert list(figures["未覆盖人口"]) == [round(c.demand_total - c.demand_covered) for c in report.categories]
    assert list(figures["覆盖率(%)"]) == [round(100 * c.coverage, 1) for c in report.categories]

    districts, rules = at.dataframe[1].value, at.dataframe[2].value
    assert sorted(set(districts["区划"])) == ["示例一街道", "示例二街道", "示例镇"]
    assert len(districts) == 9 and set(districts["部分在数据外"]) == {"否"}
    assert "None" not in districts.astype(str).to_numpy() and "None" not in rules.astype(str).to_numpy()
    table = report.districts
    row = table[(table["district"] == "示例一街道") & (table["category"] == "elderly") & table["rule"].isna()].iloc[0]
    mine = districts[(districts["区划"] == "示例一街道") & (districts["类别"] == ZH["elderly"])].iloc[0]
    assert mine["覆盖率(%)"] == round(100 * row["coverage"], 1)
    assert set(rules["是否达标"]) <= {"✓ 达标", "✗ 未达标", "– 无数据"} and "✓ 达标" in set(rules["是否达标"])
    assert all(rules["依据（标准条款）"].str.len() > 0)  # every rule cites its source
    assert at.get("vega_lite_chart"), "the coverage chart is missing"
    equity = at.dataframe[3].value  # one-stop and equity, as summary.json states them
    summary = sample.files()
    stated = json.loads(summary["summary.json"])
    assert equity["覆盖率(%)"].iloc[0] == f"{100 * stated['one_stop']['coverage']:.1f}"
    ginis = [stated["equity"][c.category]["gini"] for c in report.categories]
    assert list(equity["基尼系数（步行时间）"]) == ["–"] + [f"{g:.3f}" for g in ginis]
    assert at.get("image"), "the Lorenz picture is missing"


# ============================================================================ settings page
def test_settings_page_lists_profiles_and_tiers():
    at = _app("settings")
    assert at.selectbox(key="cfg_profile").value == "15min"
    assert {"15min", "gb50180", "rural"} <= set(at.selectbox(key="cfg_profile").options[i].split(":")[0]
                                               for i in range(3))
    tiers = at.dataframe[0].value
    assert "社区养老服务站/日间照料中心" in set(tiers["层级"])
    at.selectbox(key="cfg_profile").set_value("gb50180").run()
    _no_failure(at)
    assert "300 m · 3.6 km/h" in set(at.dataframe[0].value["阈值"])


def test_demand_group_and_categories_change_the_figures_not_the_run(sample):
    at = _app("settings")
    at.selectbox(key="cfg_group").set_value("population").run()
    at.multiselect(key="cfg_categories").set_value(["elderly", "meal"]).run()
    at.switch_page(PAGE.format("map")).run()
    _no_failure(at)
    d = sample.report.demand
    everyone = d.loc[d["inside"], "population"].sum()

    def share(cat: str) -> str:
        return f"{100 * d.loc[d['inside'] & d[f'covered_{cat}'], 'population'].sum() / everyone:.1f}%"

    assert _metrics(at) == {ZH["elderly"]: share("elderly"), ZH["meal"]: share("meal")}
    assert all("常住人口" in c.value for c in at.caption if "未覆盖" in c.value)


@pytest.mark.slow
def test_settings_threshold_and_speed_rerun_the_analysis(sample):
    at = _app("settings")
    at.toggle(key="cfg_minutes_on").set_value(True).run()
    at.number_input(key="cfg_minutes").set_value(10.0).run()
    at.selectbox(key="cfg_speed").set_value(2.7).run()  # the frail-elderly preset
    _no_failure(at)
    at.switch_page(PAGE.format("map")).run()
    _no_failure(at)
    shown = {k: float(v.rstrip("%")) for k, v in _metrics(at).items()}
    base = {ZH[c.category]: 100 * c.coverage for c in sample.report.categories}
    assert all(shown[k] < base[k] for k in base), (shown, base)  # 10 minutes at 2.7 km/h reach fewer people
    assert any("10 分钟内可达" in m.proto.help for m in at.metric)


# ============================================================================ scenarios page
def test_scenarios_suggest_sites_then_save_and_compare(sample):
    at = _app("scenarios")
    before = sample.report.category("elderly").coverage
    at.number_input(key="scen_n").set_value(2)
    _button(at, "计算建议").click().run()
    _no_failure(at)
    assert at.success and "2 处新站点" in at.success[0].value
    sites = at.dataframe[0].value
    assert len(sites) == 2 and (sites["新增覆盖人数"] > 0).all()
    _button(at, "加入当前方案").click().run()
    _no_failure(at)
    elderly = at.metric[0]
    assert float(elderly.value.rstrip("%")) > 100 * before and elderly.proto.delta.startswith("+")
    table = at.dataframe[0].value
    assert len(table) == 2 and set(table["来源"]) == {"建议"}

    at.text_input(key="scen_save_name").input("两处新站").run()
    _button(at, "保存方案").click().run()
    _no_failure(at)
    compare = at.dataframe[-1].value
    assert list(compare["方案"]) == ["现状", "两处新站", "当前方案"]
    assert compare.loc[1, ZH["elderly"]] > compare.loc[0, ZH["elderly"]]
    assert compare.loc[1, "新增站点"] == 2

    _button(at, "清空当前方案").click().run()
    _no_failure(at)
    assert at.info and at.info[0].value == "当前方案还没有新增站点。"
    assert list(at.dataframe[-1].value["方案"]) == ["现状", "两处新站"]


def test_scenarios_target_share(sample):
    at = _app("scenarios")
    at.selectbox(key="scen_s_cat").set_value("meal")
    at.radio(key="scen_goal").set_value("target")
    at.slider(key="scen_target").set_value(95)
    _button(at, "计算建议").click().run()
    _no_failure(at)
    text = at.success[0].value
    assert "老年助餐服务覆盖率 86.5%" in text and float(text.split("→ ")[1].split("%")[0]) >= 95.0


def test_scenarios_add_a_site_on_the_map(sample):
    at = _app("scenarios")
    at.segmented_control(key="cfg_scen_how").set_value("click").run()
    _no_failure(at)
    assert _component(at)["returned_objects"] == ["last_clicked"]  # only a click comes back from the map
    gap = sample.report.demand
    gap = gap[gap["inside"] & ~gap["covered_elderly"]].sort_values("pop_60plus", ascending=False).iloc[0]
    at.selectbox(key="scen_cat").set_value("elderly").run()
    at.number_input(key="scen_lon").set_value(round(float(gap["lon"]), 6))
    at.number_input(key="scen_lat").set_value(round(float(gap["lat"]), 6))
    at.text_input(key="scen_name").input("新建站点甲")
    _button(at, "添加站点").click().run()
    _no_failure(at)
    table = at.dataframe[0].value
    assert list(table["名称"]) == ["新建站点甲"] and list(table["来源"]) == ["手动添加"]
    after = float(at.metric[0].value.rstrip("%"))
    assert after > 100 * sample.report.category("elderly").coverage
    args = _component(at)
    assert "建议新增站点" in args["script"]  # the added site is on the map


def test_scenarios_bad_site_is_one_line(sample):
    at = _app("scenarios")
    at.segmented_control(key="cfg_scen_how").set_value("click").run()
    at.number_input(key="scen_lon").set_value(120.0)  # far from the district: off the network
    at.number_input(key="scen_lat").set_value(20.0)
    _button(at, "添加站点").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "from the nearest walkable way" in at.error[0].value
    assert "\n" not in at.error[0].value
    assert at.info[0].value == "当前方案还没有新增站点。"  # the site was not added


# ============================================================================ downloads page
def test_downloads_page_offers_the_analyze_files(sample, tmp_path):
    at = _app("downloads")
    labels = [b.label for b in at.get("download_button")]
    assert labels[:4] == ["覆盖缺口 gaps.geojson", "汇总表 summary.xlsx", "离线地图 map.html", "评估报告 report.docx"]

    from app_pages import services as app

    files = app.downloads(SAMPLE, (), "zh")
    written = {p.name: p.read_bytes() for p in sample.write(tmp_path / "out")}
    for name in ("gaps.geojson", "summary.xlsx", "summary.csv", "access.csv", "isochrones.geojson", "districts.csv"):
        assert files[name] == written[name], f"{name} differs from what `circles analyze` writes"
    gaps = json.loads(files["gaps.geojson"])
    assert gaps["type"] == "FeatureCollection"
    assert {f["properties"]["kind"] for f in gaps["features"]} == {"gap_area", "uncovered_unit"}
    book = openpyxl.load_workbook(io.BytesIO(files["summary.xlsx"]))
    assert book.sheetnames[0] == "总览" and book["总览"]["A1"].value == "类别"
    page = files["map.html"].decode("utf-8")
    assert "cdn.jsdelivr" not in page and "<script src=" not in page and "data-circles-map" in page

    english = app.downloads(SAMPLE, (), "en")
    book = openpyxl.load_workbook(io.BytesIO(english["summary.xlsx"]))
    assert book.sheetnames[0] == "overview" and book["overview"]["A1"].value == "category"
    assert "Legend" in english["map.html"].decode("utf-8")


def test_downloads_of_a_scenario_list_its_sites():
    from app_pages import services as app

    site = ("elderly", "station", 114.2887, 30.6148, "新站", "clicked")
    files = app.downloads(SAMPLE, (site,), "zh")
    gaps = json.loads(files["gaps.geojson"])
    added = [f for f in gaps["features"] if f["properties"]["kind"] == "suggested_site"]
    assert len(added) == 1 and added[0]["geometry"]["coordinates"] == [114.2887, 30.6148]
    assert "建议新增站点" in files["map.html"].decode("utf-8")

    at = _app(scen_drafts={SAMPLE: scen.sites_frame([dict(zip(scen.SITE_COLUMNS, site))])})
    at.switch_page(PAGE.format("downloads")).run()
    _no_failure(at)
    assert at.selectbox(key="dl_scenario").options == ["现状（现有设施）", "当前方案"]


# ============================================================================ data page
def _ledger_csv() -> bytes:
    return make_sample().facilities.to_csv(index=False).encode("utf-8-sig")


def test_data_page_defaults_to_the_sample():
    at = _app("data")
    assert at.radio(key="cfg_source").value == "sample"
    assert at.info[0].value.startswith("示例区是合成数据")
    assert "共享数据中的 OSM 文件" in at.radio(key="cfg_source").options


@pytest.mark.slow
def test_data_page_ledger_upload_is_checked_and_used():
    at = _app("data")
    at.file_uploader(key="w_up_facilities_0").set_value(("台账.csv", _ledger_csv(), "text/csv")).run()
    _no_failure(at)
    stored = Path(at.session_state["up_facilities"])
    assert stored.exists() and stored.name == "台账.csv"
    assert stored.parent.parent == Path(at.session_state["workdir"])
    check = at.code[0].value
    assert check.startswith("设施台账 台账.csv（坐标系") and "导入 52 个设施" in check

    at.switch_page(PAGE.format("map")).run()
    _no_failure(at)
    assert len(at.metric) == 3  # the uploaded ledger (the sample's facilities) was analysed
    evidence = json.loads(app_services().downloads(RunOptions(sample=True, facilities=str(stored)), (), "zh")
                          ["summary.json"])["inputs"]
    assert evidence["coords_given"] is False and evidence["coords"] == "wgs84"  # decided from the data

    at.switch_page(PAGE.format("data")).run()
    _button(at, "移除").click().run()
    _no_failure(at)
    assert "up_facilities" not in at.session_state


def test_rows_not_used_are_listed_by_row_and_name():
    """A ledger with two rows the run cannot use: the figures page and the downloaded workbook list both."""
    import openpyxl

    ledger = make_sample().facilities.astype({"lon": object})
    ledger.loc[3, ["lon", "lat"]] = None
    ledger.loc[7, "lon"] = "东经116度"
    at = _app("data")
    at.file_uploader(key="w_up_facilities_0").set_value(
        ("台账.csv", ledger.to_csv(index=False).encode("utf-8-sig"), "text/csv")).run()
    at.radio(key="cfg_coords").set_value("wgs84").run()
    at.switch_page(PAGE.format("figures")).run()
    _no_failure(at)
    dropped = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert list(dropped["行号"]) == [5, 9] and list(dropped["名称"]) == [ledger.loc[3, "name"], ledger.loc[7, "name"]]
    assert any("2 行数据未被使用" in w.value for w in at.warning)
    stored = at.session_state["up_facilities"]
    files = app_services().downloads(RunOptions(sample=True, facilities=stored, coords="wgs84"), (), "zh")
    sheet = openpyxl.load_workbook(io.BytesIO(files["summary.xlsx"]))["未使用的行"]
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == [5, 9]


def test_undecided_coordinates_are_asked_for_and_remembered():
    """A small ledger inside China whose coordinate system the data cannot tell: the app asks, with the evidence."""
    rows = make_sample().facilities.head(6).to_csv(index=False).encode("utf-8-sig")
    at = _app("data")
    at.file_uploader(key="w_up_facilities_0").set_value(("六行.csv", rows, "text/csv")).run()
    at.switch_page(PAGE.format("map")).run()
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and "坐标系" in at.warning[0].value
    assert [o.split("（")[0] for o in at.radio(key="w_coords_pick").options] == ["WGS84", "GCJ-02", "BD-09"]
    at.radio(key="w_coords_pick").set_value("wgs84")
    _button(at, "使用此坐标系").click().run()
    _no_failure(at)
    assert at.session_state["cfg_coords"] == "wgs84" and len(at.metric) == 3
    at.switch_page(PAGE.format("figures")).run()  # remembered for the session
    _no_failure(at)


def app_services():
    from app_pages import services

    return services


def test_bad_ledger_is_one_line_on_every_page():
    at = _app("data")
    at.file_uploader(key="w_up_facilities_0").set_value(("bad.csv", "名称,备注\n甲,乙\n".encode(), "text/csv")).run()
    assert not at.exception
    assert len(at.error) == 1 and len(at.error[0].value.splitlines()) == 1 and "bad.csv" in at.error[0].value
    at.switch_page(PAGE.format("map")).run()
    assert not at.exception
    assert len(at.error) == 1 and "bad.csv" in at.error[0].value and "Traceback" not in at.error[0].value


def test_place_name_offline_gives_a_clear_message():
    at = _app("data")
    at.radio(key="cfg_source").set_value("place").run()
    at.text_input(key="cfg_place").input("Haidian District, Beijing").run()
    _no_failure(at)
    at.switch_page(PAGE.format("map")).run()
    assert at.error[0].value == "这个路网没有配套的人口数据：请上传居民点文件，或选择按片区总数分摊。"
    at.switch_page(PAGE.format("data")).run()
    population = make_sample().population.to_csv(index=False).encode("utf-8-sig")
    at.file_uploader(key="w_up_population_0").set_value(("人口.csv", population, "text/csv")).run()
    _no_failure(at)
    at.switch_page(PAGE.format("map")).run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "Haidian District, Beijing" in message and "without internet" in message and "\n" not in message


def test_upload_source_without_a_file_asks_for_one():
    at = _app("data")
    at.radio(key="cfg_source").set_value("upload").run()
    at.switch_page(PAGE.format("map")).run()
    assert not at.exception
    assert at.error[0].value == "请先选择或上传路网文件。"


@pytest.mark.shared_data
@pytest.mark.slow
def test_shared_extract_with_zone_population():
    osm = shared_data("osm/helsinki_centre.osm.pbf")
    grid = shared_data("population/helsinki_grid_250m.gpkg")
    at = _app("data")
    at.radio(key="cfg_source").set_value("extract").run()
    names = at.selectbox(key="cfg_extract").options
    assert "osm/helsinki_centre.osm.pbf" in names and "osm/porto.osm.pbf" in names
    at.selectbox(key="cfg_extract").set_value(str(osm)).run()
    at.radio(key="cfg_pop_kind").set_value("zones").run()
    at.selectbox(key="cfg_zones_file").set_value(str(grid)).run()
    _no_failure(at)
    assert at.selectbox(key="cfg_zones_col").value == "population"
    at.switch_page(PAGE.format("map")).run()
    _no_failure(at)
    assert len(at.metric) == 3
    assert any("helsinki_centre.osm.pbf" in c.value for c in at.caption)
    at.switch_page(PAGE.format("figures")).run()  # where each grid cell's people went, by cell
    _no_failure(at)
    zones = next(d.value for d in at.dataframe if "人口分区" in d.value.columns)
    assert len(zones) > 10 and (zones["已分配（数据范围内）"] + zones["数据范围外（未分配）"]
                                - zones["总人口"]).abs().max() < 1


@pytest.mark.shared_data
def test_shared_extract_without_facilities_says_what_to_give():
    osm = shared_data("osm/beijing_haidian_wudaokou.osm")
    streets = shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg")
    at = _app("data")
    at.radio(key="cfg_source").set_value("extract").run()
    at.selectbox(key="cfg_extract").set_value(str(osm)).run()
    at.radio(key="cfg_pop_kind").set_value("zones").run()
    at.selectbox(key="cfg_zones_file").set_value(str(streets)).run()
    at.switch_page(PAGE.format("map")).run()
    assert not at.exception and len(at.error) == 1
    assert "no facilities given and none tagged" in at.error[0].value


# ============================================================================ app_support
def test_store_upload_limits_and_names(tmp_path):
    path = sup.store_upload(b"<osm></osm>", "../../etc/区 图.osm.pbf", kind="network", workdir=tmp_path)
    assert path.parent.parent == tmp_path and path.name == "区_图.osm.pbf" and path.read_bytes() == b"<osm></osm>"
    assert sup.store_upload(b"<osm></osm>", "other.osm.pbf", kind="network", workdir=tmp_path).parent == path.parent
    with pytest.raises(CirclesError, match="upload limit"):
        sup.store_upload(b"x" * 2_000_001, "big.osm", kind="network", workdir=tmp_path, max_mb=2)
    with pytest.raises(CirclesError, match="not accepted here"):
        sup.store_upload(b"\x80\x04K.", "model.pkl", kind="facilities", workdir=tmp_path)
    with pytest.raises(CirclesError, match="empty"):
        sup.store_upload(b"", "a.csv", kind="facilities", workdir=tmp_path)


def test_coverage_figures_for_another_demand_group(sample):
    report = sample.report
    own = sup.coverage_figures(report, lang="en")
    assert list(own.index) == ["elderly", "meal", "child"]
    assert own.loc["elderly", "demand_total"] == round(report.category("elderly").demand_total)
    everyone = sup.coverage_figures(report, lang="en", demand_group="population")
    d = report.demand[report.demand["inside"]]
    assert everyone.loc["child", "demand_total"] == round(d["population"].sum())
    assert everyone.loc["child", "demand_covered"] == round(d.loc[d["covered_child"], "population"].sum())
    assert list(sup.shown_figures(everyone, "zh").columns)[:3] == ["类别", "设施数", "服务人群"]
    with pytest.raises(CirclesError, match="demand group"):
        sup.coverage_figures(report, lang="en", demand_group="pop_80plus")


def test_scenario_report_adds_sites_exactly(sample):
    from app_pages import services as app

    nothing = scen.scenario_report(sample, scen.empty_sites())
    assert nothing is sample.report
    # a site on top of an existing meal point: one more facility, the same people covered
    meal = sample.report.facilities[sample.report.facilities["category"] == "meal"].iloc[0]
    same = scen.scenario_report(sample, scen.sites_frame([{"category": "meal", "lon": meal["lon"],
                                                              "lat": meal["lat"]}]))
    assert [c.demand_covered for c in same.categories] == [c.demand_covered for c in sample.report.categories]
    assert same.category("meal").facilities == sample.report.category("meal").facilities + 1
    with pytest.raises(CirclesError, match="from the nearest walkable way"):
        scen.scenario_report(sample, scen.sites_frame([{"category": "meal", "lon": 0.0, "lat": 0.0}]))
    with pytest.raises(CirclesError, match="not a WGS84"):
        scen.sites_frame([{"category": "meal", "lon": 300.0, "lat": 0.0}])
    with pytest.raises(CirclesError, match="no category"):
        scen.scenario_report(sample, scen.sites_frame([{"category": "parks", "lon": 114.3, "lat": 30.6}]))


def test_map_detail_scales_with_the_network(sample):
    assert sup.map_detail(sample) == {"simplify_m": 5.0, "max_features": 20000, "per_facility": True}
    porto = replace(sample, inputs={**sample.inputs, "networks": {"walk": {"nodes": 63035, "length_km": 9658.9}}})
    assert sup.map_detail(porto) == {"simplify_m": 30.0, "max_features": 2000, "per_facility": False}


def test_results_can_be_cached_by_copy(sample):
    sup.register_pickling()
    copy = pickle.loads(pickle.dumps(sample))
    assert copy.report.categories == sample.report.categories
    assert copy.report.profile.match_category("日间照料中心") == ("elderly", "station")
    assert dict(copy.report.profile.age_shares) == dict(sample.report.profile.age_shares)
    assert sup.code_fingerprint(ROOT) == sup.code_fingerprint(ROOT) and len(sup.code_fingerprint(ROOT)) == 16


MY_CITY = """base = "15min"
id = "my_city"
label_zh = "本市配置"
label_en = "My city"

[categories.elderly.tiers.station]
minutes = 10
source = "本市养老服务设施布局规划（2024）"
"""


def test_settings_profile_upload_is_selected_and_bad_toml_is_one_line():
    at = _app("settings")
    uploader = [u for u in at.file_uploader if u.key.startswith("w_up_profile")][0]
    uploader.set_value(("my_city.toml", MY_CITY.encode(), "application/toml")).run()
    _no_failure(at)
    assert at.selectbox(key="cfg_profile").value.endswith("my_city.toml")
    assert "10 min · 3.6 km/h" in set(at.dataframe[0].value["阈值"])

    at = _app("settings")
    uploader = [u for u in at.file_uploader if u.key.startswith("w_up_profile")][0]
    uploader.set_value(("broken.toml", b"id = [unclosed", "application/toml")).run()
    assert not at.exception
    assert len(at.error) == 1 and "broken.toml" in at.error[0].value and "\n" not in at.error[0].value


@pytest.mark.slow
def test_data_page_districts_and_boundary_uploads(tmp_path):
    district = make_sample()
    streets = district.districts.rename(columns={"street": "街道名称"})
    streets_file = tmp_path / "streets.geojson"
    streets.to_file(streets_file, driver="GeoJSON")
    at = _app("data")
    at.selectbox(key="cfg_districts_file").set_value("upload").run()
    [u for u in at.file_uploader if u.key.startswith("w_up_districts")][0].set_value(
        ("streets.geojson", streets_file.read_bytes(), "application/geo+json")).run()
    _no_failure(at)
    assert at.selectbox(key="cfg_districts_col").options[0] in streets.columns
    at.selectbox(key="cfg_districts_col").set_value("街道名称").run()
    at.selectbox(key="cfg_boundary_file").set_value("upload").run()
    [u for u in at.file_uploader if u.key.startswith("w_up_boundary")][0].set_value(
        ("streets.geojson", streets_file.read_bytes(), "application/geo+json")).run()
    _no_failure(at)
    at.switch_page(PAGE.format("figures")).run()
    _no_failure(at)
    assert sorted(set(at.dataframe[1].value["区划"])) == ["示例一街道", "示例二街道", "示例镇"]


# ============================================================================ issue 15: what a new user hit
def test_suggestion_view_shows_the_sites_on_a_map_by_rank(sample):
    at = _app("scenarios")
    at.number_input(key="scen_n").set_value(2)
    _button(at, "计算建议").click().run()
    _no_failure(at)
    sites = at.dataframe[0].value
    assert list(sites["名称"]) == ["建议新增 1", "建议新增 2"]  # never "gap point 77"
    assert {"经度（GCJ-02 高德/腾讯）", "纬度（GCJ-02 高德/腾讯）"} <= set(sites.columns)
    script = _component(at)["script"]  # the suggestion view has its map
    assert "建议新增站点" in script and "建议新增 1" in script and "gap point" not in script
    _button(at, "加入当前方案").click().run()
    _no_failure(at)
    assert list(at.dataframe[0].value["名称"]) == ["建议新增 1", "建议新增 2"]


def test_before_after_view_of_a_scenario(sample):
    gap = sample.report.demand
    gap = gap[gap["inside"] & ~gap["covered_elderly"]].sort_values("pop_60plus", ascending=False).iloc[0]
    site = {"category": "elderly", "tier": "station", "lon": round(float(gap["lon"]), 6),
            "lat": round(float(gap["lat"]), 6), "name": "新站", "origin": "clicked"}
    at = _app(scen_drafts={SAMPLE: scen.sites_frame([site])})
    at.switch_page(PAGE.format("scenarios")).run()
    at.segmented_control(key="cfg_scen_how").set_value("compare").run()
    _no_failure(at)
    after = _component(at)["script"]
    change = at.dataframe[0].value
    assert list(change.columns) == ["区划", "类别", "现状覆盖人口", "方案覆盖人口", "覆盖人数变化", "现状覆盖率(%)",
                                    "方案覆盖率(%)"]
    assert len(change) == 9 and (change["覆盖人数变化"] >= 0).all()
    from app_pages import services as app

    scenario = app.scenario(SAMPLE, scen.sites_key(scen.sites_frame([site])))
    elderly = change[change["类别"] == ZH["elderly"]]
    gained = scenario.report.category("elderly").demand_covered - sample.report.category("elderly").demand_covered
    assert int(elderly["覆盖人数变化"].sum()) == pytest.approx(gained, abs=3)  # the pipeline's figures
    at.segmented_control(key="cfg_scen_view").set_value("before").run()
    _no_failure(at)
    before = _component(at)["script"]
    assert before != after and "建议新增站点" in before  # the current state, the planned site marked


@pytest.mark.shared_data
def test_shared_extract_comes_with_its_population_or_asks_for_one():
    wudaokou = str(shared_data("osm/beijing_haidian_wudaokou.osm"))
    streets = str(shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg"))
    at = _app("data")
    at.radio(key="cfg_source").set_value("extract").run()
    _no_failure(at)
    assert at.selectbox(key="cfg_extract").value == wudaokou  # not Andorra: an extract with its population
    assert at.radio(key="cfg_pop_kind").options[0] == "随该文件提供的人口"
    assert at.session_state["cfg_pop_paired"] == streets and at.session_state["cfg_pop_paired_col"] == "population"
    at.switch_page(PAGE.format("map")).run()
    assert not at.exception and "no facilities given" in at.error[0].value  # the population is there
    at.switch_page(PAGE.format("data")).run()
    andorra = str(shared_data("osm/andorra.osm.pbf"))
    at.selectbox(key="cfg_extract").set_value(andorra).run()
    assert "随该文件提供的人口" not in at.radio(key="cfg_pop_kind").options and at.warning
    at.switch_page(PAGE.format("map")).run()
    assert at.error[0].value == "这个路网没有配套的人口数据：请上传居民点文件，或选择按片区总数分摊。"


@pytest.mark.shared_data
@pytest.mark.slow
def test_haidian_figures_list_only_the_streets_the_data_reaches():
    from test_batch import BEIJING_LEDGER

    streets = str(shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg"))
    at = _app("data")
    at.radio(key="cfg_source").set_value("extract").run()
    at.file_uploader(key="w_up_facilities_0").set_value(("台账.csv", BEIJING_LEDGER.encode(), "text/csv")).run()
    at.radio(key="cfg_coords").set_value("wgs84").run()
    at.selectbox(key="cfg_districts_file").set_value(streets).run()
    at.selectbox(key="cfg_districts_col").set_value("street").run()
    at.selectbox(key="cfg_districts_parent").set_value("county").run()  # 八里庄街道 is in two counties
    at.switch_page(PAGE.format("figures")).run()
    _no_failure(at)
    districts = at.dataframe[1].value
    names = set(districts["区划"])
    assert 1 <= len(names) <= 12 and "海淀区/清华园街道" in names  # not the city's 331 streets
    assert "None" not in districts.astype(str).to_numpy() and not districts.isna().any().any()
    assert any("不在数据范围内" in c.value for c in at.caption)

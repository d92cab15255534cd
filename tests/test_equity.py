"""circles.equity: one-stop share, the weighted Gini of walking minutes, Lorenz curves; checked against access.csv."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circles.coverage import assess
from circles.equity import (
    equity,
    lorenz_curve,
    one_stop,
    one_stop_units,
    summary_sections,
    weighted_gini,
)
from circles.errors import CirclesError
from circles.outputs.pictures import lorenz_png
from circles.profiles import load_profile
from conftest import shared_data
from netfixtures import grid_ways, lonlat
from network import load_network

PROFILE = load_profile("15min")


def naive_gini(x, w) -> float:
    """Σi Σj wi wj |xi − xj| / (2 W² μ), as written."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    total = w.sum()
    mu = (w * x).sum() / total
    return float((w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])).sum() / (2 * total ** 2 * mu))


# ============================================================================ Gini and Lorenz by hand
def test_gini_by_hand():
    assert weighted_gini([0, 10], [1, 1]) == pytest.approx(0.5)
    # |0 − 4| for 1 × 3 people, both ways: 24; W = 4, μ = 3: 24 / (2 × 16 × 3) = 0.25
    assert weighted_gini([0, 4], [1, 3]) == pytest.approx(0.25)
    assert weighted_gini([7, 7, 7], [1, 5, 2]) == 0.0
    assert weighted_gini([0, 0], [1, 1]) == 0.0  # everyone at the facility
    assert np.isnan(weighted_gini([1, 2], [0, 0]))
    assert weighted_gini([3, 9, 100], [2, 1, 0]) == pytest.approx(weighted_gini([3, 9], [2, 1]))  # no people, no say


def test_gini_equals_the_double_sum_and_the_lorenz_area():
    rng = np.random.default_rng(4)
    for n in (2, 17, 300):
        x = np.round(rng.exponential(8.0, n), 2)
        x[rng.random(n) < 0.2] = x[0]  # ties
        w = rng.integers(0, 500, n).astype(float)
        g = weighted_gini(x, w)
        assert g == pytest.approx(naive_gini(x[w > 0], w[w > 0]), abs=1e-12)
        people, amount = lorenz_curve(x, w)
        assert people[0] == amount[0] == 0 and people[-1] == pytest.approx(1) and amount[-1] == pytest.approx(1)
        assert np.all(np.diff(amount) >= -1e-12) and np.all(amount <= people + 1e-12)
        area = np.sum(np.diff(people) * (amount[1:] + amount[:-1]) / 2)
        assert g == pytest.approx(1 - 2 * area, abs=1e-9)


def test_gini_is_n_log_n_on_a_million_units():
    import time

    rng = np.random.default_rng(1)
    x, w = rng.random(1_000_000) * 60, rng.integers(1, 100, 1_000_000).astype(float)
    t0 = time.perf_counter()
    g = weighted_gini(x, w)
    assert time.perf_counter() - t0 < 5.0  # the double sum would take hours
    assert g == pytest.approx(1 / 3, abs=0.01)  # uniform minutes: Gini 1/3


# ============================================================================ on a grid analysis
@pytest.fixture(scope="module")
def grid_report():
    net = load_network(grid_ways(11, 100.0))  # 1 km × 1 km, 100 m blocks; 1 m/s: one block = 100 s
    fac = pd.DataFrame([{"name": "e", "category": "elderly", "tier": "station", "lon": lonlat(0, 0)[0],
                         "lat": lonlat(0, 0)[1]},
                        {"name": "m", "category": "meal", "tier": "point", "lon": lonlat(1000, 1000)[0],
                         "lat": lonlat(1000, 1000)[1]},
                        {"name": "c", "category": "child", "tier": "home", "lon": lonlat(0, 100)[0],
                         "lat": lonlat(0, 100)[1]}])
    pts = [(100, 100), (500, 500), (900, 900), (0, 900)]
    dem = pd.DataFrame([{"demand_id": f"d{i}", "lon": lonlat(*p)[0], "lat": lonlat(*p)[1], "population": 100 * (i + 1),
                         "pop_60plus": 20 * (i + 1), "pop_0_17": 10} for i, p in enumerate(pts)])
    west = shapely.box(*lonlat(-50, -50), *lonlat(450, 1050))
    east = shapely.box(*lonlat(450, -50), *lonlat(1050, 1050))
    districts = gpd.GeoDataFrame({"street": ["西街道", "东街道"]}, geometry=[west, east], crs="EPSG:4326")
    return assess({"walk": net}, fac, dem, profile=PROFILE.with_overrides(minutes=12), districts=districts,
                  district_col="street", horizon_min=25.0)


def test_one_stop_by_hand(grid_report):
    d = grid_report.demand
    # at 3.6 km/h: elderly from (0,0): 200 m, 1000 m, 1800 m, 900 m → within 12 min (720 m): d0 only;
    # meal from (1000,1000): d1 (1000 m) no, d2 (200 m) yes; so no unit has all three within 12 minutes
    assert d["covered_elderly"].tolist() == [True, False, False, False]
    assert d["covered_meal"].tolist() == [False, False, True, False]
    both = one_stop(grid_report, categories=["elderly", "child"])
    assert (both.demand_total, both.demand_covered) == (1000, 100)
    assert both.coverage == pytest.approx(0.1)
    assert both.districts["西街道"] == {"demand_total": 100 + 400, "demand_covered": 100, "coverage": 0.2}
    everything = one_stop(grid_report)
    assert everything.categories == ("elderly", "meal", "child") and everything.demand_covered == 0
    old = one_stop(grid_report, categories=["meal"], demand_column="pop_60plus")
    assert (old.demand_total, old.demand_covered) == (200, 60)
    with pytest.raises(CirclesError, match="valid"):
        one_stop(grid_report, categories=["health"])
    with pytest.raises(CirclesError, match="pop_90plus"):
        one_stop(grid_report, demand_column="pop_90plus")


def test_one_stop_map_layer(grid_report):
    layer = one_stop_units(grid_report, categories=["elderly", "child"])
    assert layer.crs.equals("EPSG:4326") and len(layer) == 4
    assert layer["one_stop"].tolist() == [True, False, False, False]
    assert layer["reached"].tolist()[0] == 2 and layer["missing_en"].iloc[0] == ""
    assert "养老服务设施" in layer["missing_zh"].iloc[1]


def test_equity_by_hand(grid_report):
    e = equity(grid_report)["elderly"]
    # minutes 200/60, 1000/60, 1800/60 → beyond the 25-minute horizon, 900/60; weights 20, 40, 60, 80 (60+)
    x = np.array([200 / 60, 1000 / 60, 25.0, 900 / 60])
    w = np.array([20, 40, 60, 80.0])
    assert grid_report.demand["minutes_elderly"].fillna(25.0).tolist() == pytest.approx(x, abs=0.01)
    assert e.gini == pytest.approx(naive_gini(x, w), abs=1e-3)
    assert e.zero_access_share == pytest.approx(60 / 200)
    worst = [d["district"] for d in e.worst_districts]
    assert worst == ["东街道", "西街道"]  # 100 uncovered east (d1, d2), 80 west (d3)
    assert e.worst_districts[0]["uncovered"] == 100


def test_summary_sections(grid_report):
    s = summary_sections(grid_report)
    assert set(s) == {"one_stop", "equity", "groups"}
    assert set(s["one_stop"]) >= {"categories", "demand_column", "demand_total", "demand_covered", "coverage"}
    assert set(s["equity"]["meal"]) >= {"gini", "zero_access_share", "worst_districts"}
    g = s["groups"]["elderly"]
    assert set(g) == {"pop_60plus", "pop_80plus", "pop_disabled"}
    assert g["pop_80plus"]["step_free"] is True and g["pop_80plus"]["estimated"] == 1.0
    assert g["pop_60plus"]["estimated"] == 0.0


def test_lorenz_picture_is_a_png_and_deterministic(grid_report):
    png = lorenz_png(grid_report, lang="zh")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert png == lorenz_png(grid_report, lang="zh")
    en = lorenz_png(grid_report, lang="en", categories=["elderly"])
    from PIL import Image

    assert Image.open(io.BytesIO(en)).size[0] == 882  # the page's text width, 6.3 in, at 140 dpi


# ============================================================================ against access.csv
def _from_access(files: dict, summary: dict) -> tuple[dict, dict]:
    """One-stop coverage and the Gini per category recomputed from access.csv and the thresholds alone."""
    access = pd.read_csv(io.BytesIO(files["access.csv"]), encoding="utf-8-sig")
    access = access[access["inside"]]
    cats = summary["categories"]
    horizon = summary["horizon_min"]
    within = np.ones(len(access), bool)
    gini = {}
    for c, info in cats.items():
        minutes = access[f"minutes_{c}"].to_numpy(float)
        within &= np.nan_to_num(minutes, nan=np.inf) <= info["minutes"] + 1e-9
        x = np.where(np.isnan(minutes), horizon, np.minimum(minutes, horizon))
        w = access[info["demand_column"]].to_numpy(float)
        gini[c] = naive_gini(x[w > 0], w[w > 0])
    people = access["population"].to_numpy(float)
    return {"coverage": people[within].sum() / people.sum(), "covered": people[within].sum()}, gini


@pytest.mark.parametrize("profile", ["15min", "xian", "beilun"])
def test_sample_one_stop_and_gini_from_access_csv(profile):
    from circles.options import RunOptions
    from circles.pipeline import analyse, prepare

    result = analyse(prepare(RunOptions(sample=True, figures_only=True, profile=profile)))
    files = result.files()
    summary = json.loads(files["summary.json"])
    mine, gini = _from_access(files, summary)
    assert summary["one_stop"]["categories"] == ["elderly", "meal", "child"]
    assert summary["one_stop"]["demand_column"] == "population"
    assert summary["one_stop"]["coverage"] == pytest.approx(mine["coverage"], abs=0.002)
    for c, g in gini.items():
        assert summary["equity"][c]["gini"] == pytest.approx(g, abs=0.01)
    assert set(summary["one_stop"]["districts"]) == {"示例一街道", "示例二街道", "示例镇"}
    assert "rules.csv" in files and "facility_rules.csv" in files


def test_real_wudaokou_run_one_stop_gini_and_rules(tmp_path):
    """The whole pipeline on real Wudaokou streets: summary.json against access.csv, rules.csv per street."""
    from circles.options import RunOptions
    from circles.pipeline import analyse, prepare
    from network.features import read_osm_features

    osm = shared_data("osm/beijing_haidian_wudaokou.osm")
    streets_path = shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg")
    feats = read_osm_features(osm)
    box = shapely.box(116.308, 39.991, 116.332, 40.012)
    named = feats[feats["name"].notna() & feats.intersects(box)].drop_duplicates("name").iloc[::9].head(30)
    p = named.geometry.representative_point()
    rng = np.random.default_rng(7)
    kinds = np.array(["日间照料中心", "老年食堂", "儿童之家", "综合养老服务中心", "未保工作站"])
    ledger = pd.DataFrame({"名称": named["name"].to_numpy(), "类型": kinds[np.arange(len(named)) % 5],
                           "经度": p.x.round(7), "纬度": p.y.round(7),
                           "建筑面积": rng.integers(50, 800, len(named)), "楼层": rng.integers(1, 4, len(named)),
                           "电梯": np.where(rng.random(len(named)) < 0.5, "有", "无")})
    homes = feats[(feats["kind"] == "building") & feats.intersects(box)]
    hp = homes.geometry.representative_point()
    pop = rng.integers(100, 1500, len(homes))
    people = pd.DataFrame({"编号": [f"B{i}" for i in range(len(homes))], "经度": hp.x.round(7), "纬度": hp.y.round(7),
                           "常住人口": pop, "户数": np.round(pop / 2.62).astype(int)})
    ledger.to_csv(tmp_path / "台账.csv", index=False, encoding="utf-8-sig")
    people.to_csv(tmp_path / "人口.csv", index=False, encoding="utf-8-sig")
    opts = RunOptions(network=str(osm), facilities=str(tmp_path / "台账.csv"), coords="wgs84",
                      population=str(tmp_path / "人口.csv"), districts=str(streets_path), district_col="county,street",
                      figures_only=True)
    result = analyse(prepare(opts))
    files = result.files()
    summary = json.loads(files["summary.json"])
    mine, gini = _from_access(files, summary)
    assert summary["one_stop"]["coverage"] == pytest.approx(mine["coverage"], abs=0.002)
    for c, g in gini.items():
        assert summary["equity"][c]["gini"] == pytest.approx(g, abs=0.01)
    assert summary["groups"]["elderly"]["pop_80plus"]["estimated"] == 1.0
    rules = pd.read_csv(io.BytesIO(files["rules.csv"]), encoding="utf-8-sig")
    area = rules[rules["rule_id"] == "elderly_area_per_100_households"]
    assert len(area) >= 5 and area["unit"].str.startswith("海淀区/").all()
    lifts = pd.read_csv(io.BytesIO(files["facility_rules.csv"]), encoding="utf-8-sig")
    upper = ledger[(ledger["楼层"] >= 2) & (ledger["电梯"] == "无") & ledger["类型"].isin(kinds[[0, 3]])]
    assert set(lifts.loc[lifts["ok"] == False, "name"]) == set(upper["名称"])  # noqa: E712


def test_one_stop_and_equity_in_the_workbook_report_and_map(tmp_path):
    """The workbook's 一站式与公平 sheet, the report's section with its Lorenz picture and the map's one-stop layer
    state the figures of summary.json."""
    import docx
    import openpyxl

    from circles.options import RunOptions
    from circles.pipeline import analyse, prepare

    files = analyse(prepare(RunOptions(sample=True))).files()
    summary = json.loads(files["summary.json"])
    sheet = openpyxl.load_workbook(io.BytesIO(files["summary.xlsx"]))["一站式与公平"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[0][2] == pytest.approx(summary["one_stop"]["coverage"], abs=1e-6)
    cats = list(summary["categories"])
    assert [r[3] for r in rows[1:]] == pytest.approx([summary["equity"][c]["gini"] for c in cats], abs=1e-6)
    assert [r[4] for r in rows[1:]] == pytest.approx([summary["equity"][c]["zero_access_share"] for c in cats])
    assert sheet["D2"].number_format == "0.000" and sheet["C2"].number_format == "0.0%"
    report = docx.Document(io.BytesIO(files["report.docx"]))
    text = "\n".join(p.text for p in report.paragraphs)
    assert f"一站式覆盖率：{100 * summary['one_stop']['coverage']:.1f}%" in text and "洛伦兹曲线" in text
    table = next(t for t in report.tables if t.rows[0].cells[3].text == "基尼系数（步行时间）")
    assert [r.cells[3].text for r in table.rows[2:]] == [f"{summary['equity'][c]['gini']:.3f}" for c in cats]
    groups = list(openpyxl.load_workbook(io.BytesIO(files["summary.xlsx"]))["分人群"].iter_rows(min_row=2,
                                                                                              values_only=True))
    stated = [g for c in cats for g in summary["groups"][c].values()]
    assert [r[1] for r in groups] == [g["label_zh"] for g in stated]
    assert [r[5] for r in groups] == pytest.approx([g["coverage"] for g in stated], abs=1e-6)
    assert [r[6] == "是" for r in groups] == [g["step_free"] for g in stated]
    page = files["map.html"].decode("utf-8")
    missing = summary["one_stop"]["demand_total"] - summary["one_stop"]["demand_covered"]
    assert "未能一站式可达的居民点" in page and missing > 0

"""Counties and villages (issue 18): modes per tier, meal delivery from central kitchens, home visits, the county example.

Small hand-checkable networks for each part, then the Guixi county example on the real extract, with
delivery and home-visit times recomputed independently (shapely snapping + networkx Dijkstra).
"""

from __future__ import annotations

import io
import json
import re
import shlex

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from circles.coverage import assess
from circles.delivery import DELIVERY_COLUMNS, meal_delivery
from circles.demand import read_population, spread_zone_totals
from circles.errors import CirclesError, InputError
from circles.outreach_base import outreach_modes
from circles.profiles import KITCHEN_CATEGORY, builtin_profile_dir, load_profile, profile_from_dict
from circles.visits import home_visits
from conftest import ROOT, shared_data
from netfixtures import grid_ways, lonlat
from network import load_network

RURAL = load_profile("rural")
EXAMPLE = ROOT / "circles" / "data" / "examples" / "guixi"


def _profile(**tables) -> object:
    """The rural profile with some tables replaced (as a user's TOML with ``base = "rural"``)."""
    return profile_from_dict({"base": "rural", **tables}, source="test.toml")


def _facilities(rows) -> pd.DataFrame:
    """``(name, category, tier, x_m, y_m)`` rows on the grid → a canonical facility frame (WGS84)."""
    return pd.DataFrame([{"name": n, "category": c, "tier": t, "lon": lonlat(x, y)[0], "lat": lonlat(x, y)[1]}
                         for n, c, t, x, y in rows])


def _units(rows, **columns) -> pd.DataFrame:
    """``(id, x_m, y_m, population, pop_60plus)`` rows → demand units (WGS84)."""
    frame = pd.DataFrame([{"demand_id": i, "lon": lonlat(x, y)[0], "lat": lonlat(x, y)[1], "population": p,
                           "pop_60plus": a, "pop_0_17": 0} for i, x, y, p, a in rows])
    for k, v in columns.items():
        frame[k] = v
    return frame


# ================================================================== part 1: modes per tier


def test_rural_profile_has_walk_ebike_and_drive_tiers_and_cites_the_seeds():
    tiers = {(c.id, t.id): (t.mode, t.speed_kmh, t.minutes) for c in RURAL.categories for t in c.tiers}
    assert tiers[("elderly", "station")] == ("walk", 3.6, 15.0)
    assert tiers[("elderly", "centre")] == ("ebike", 15.0, 20.0)
    assert tiers[("elderly", "county")][0] == "drive"
    assert RURAL.category("elderly").tiers[-1].id == "station"  # siting keeps using the walking tier
    text = (builtin_profile_dir() / "rural.toml").read_text(encoding="utf-8")
    # the Dianjiang and Ulanqab networks are cited from the seed documents, no longer UNVERIFIED
    assert "重庆政协报 2024-01-19" in " ".join(RURAL.sources) and "《中国民政》2023年第15期" in text
    assert not any("Dianjiang" in u or "Ulanqab" in u for u in RURAL.unverified)
    for needle in ("第五十八条", "GB 17761-2018", "CJJ 37-2012", "18.3%", "唐承沛"):
        assert needle in text
    assert "Ulanqab; UNVERIFIED" not in text and "no citable text" not in text


def test_profile_speeds_reach_the_network_builder():
    assert RURAL.network_options("walk") == {}
    drive = RURAL.network_options("drive")["speeds_kmh"]
    from network import DRIVE_SPEED_KMH, EBIKE_WAY_FACTORS

    assert drive == dict(DRIVE_SPEED_KMH)  # written out in the profile, equal to the documented defaults
    assert RURAL.network_options("ebike") == {"way_factors": dict(EBIKE_WAY_FACTORS)}
    slow = _profile(modes={"drive": {"speeds_kmh": {"tertiary": 30}}})
    assert slow.network_options("drive")["speeds_kmh"]["tertiary"] == 30.0
    assert slow.network_options("drive")["speeds_kmh"]["primary"] == 60.0  # the other classes kept
    assert load_profile("15min").network_options("drive") == {}


def test_bad_rural_tables_are_reported_together():
    with pytest.raises(CirclesError) as err:
        _profile(modes={"fly": {"label_zh": "x", "label_en": "x"}, "ebike": {"speeds_kmh": {"track": 5}}},
                 delivery={"category": "meals", "minutes": -5},
                 home_visits={"tiers": ["nowhere"], "speed_preset": "rocket", "estimate_share": 1.5})
    text = str(err.value)
    for part in ("'fly' is not a travel mode", "speeds_kmh apply to [modes.drive]", "[delivery] category must be one of",
                 "[delivery] minutes must be a number > 0", "'nowhere' is not a tier of category 'elderly'",
                 "speed_preset 'rocket' is not defined", "estimate_share must be a number > 0 and < 1.0"):
        assert part in text, part


def test_central_kitchens_are_a_ledger_category_no_coverage_counts():
    for name in ("rural", "15min"):
        profile = load_profile(name)
        for word in ("中心厨房", "配餐中心", "中央厨房", "central kitchen"):
            assert profile.match_category(word) == (KITCHEN_CATEGORY, None)
        assert KITCHEN_CATEGORY not in [c.id for c in profile.categories]
    assert load_profile("gb50180").lookup("中心厨房") == frozenset()  # no [delivery]: not a word of it
    # a walk-only run without kitchens builds no road network; with kitchens it builds the delivery mode's
    plain = pd.DataFrame({"category": ["meal"]})
    assert outreach_modes(load_profile("15min"), plain) == set()
    assert outreach_modes(load_profile("15min"), pd.DataFrame({"category": ["kitchen"]})) == {"drive"}


@pytest.fixture(scope="module")
def nets():
    raw = grid_ways(9, 250.0)  # 2 km × 2 km of residential streets, 250 m blocks
    return {m: load_network(raw, mode=m) for m in ("walk", "ebike", "drive")}


def test_each_tier_is_timed_with_its_mode_and_speed(nets):
    # one site of each elderly tier at the corner; residents 1,000 m and 1,500 m along the streets
    fac = _facilities([("乡镇中心", "elderly", "centre", 0, 0), ("县中心", "elderly", "county", 0, 0),
                       ("村点", "elderly", "station", 0, 0)])
    dem = _units([("a", 1000, 0, 100, 40), ("b", 1000, 500, 100, 60)])
    report = assess(nets, fac, dem, profile=RURAL)
    tiers = {t.tier: t for t in report.category("elderly").tiers}
    # walk 3.6 km/h: 1,000 m = 16.7 min > 15 (neither); e-bike 15 km/h: 4 and 6 min ≤ 20 (both);
    # drive residential 30 km/h: 2 and 3 min ≤ 30 (both)
    assert (tiers["station"].mode, tiers["station"].speed_kmh, tiers["station"].demand_covered) == ("walk", 3.6, 0)
    assert (tiers["centre"].mode, tiers["centre"].speed_kmh, tiers["centre"].demand_covered) == ("ebike", 15.0, 100)
    assert (tiers["county"].mode, tiers["county"].speed_kmh, tiers["county"].demand_covered) == ("drive", None, 100)
    # the category's minutes are its first tier's: e-bike minutes to the township centre
    assert report.demand["minutes_elderly"].round(2).tolist() == [4.0, 6.0]
    tighter = _profile(categories={"elderly": {"tiers": {"centre": {"minutes": 5}}}})
    assert {t.tier: t.demand_covered for t in assess(nets, fac, dem, profile=tighter)
            .category("elderly").tiers}["centre"] == 40


def test_prepared_modes_include_ebike_for_the_rural_profile():
    from circles.options import RunOptions
    from circles.pipeline import prepare

    prepared = prepare(RunOptions(sample=True, profile="rural"))
    assert prepared.modes() == ["drive", "ebike", "walk"]
    assert prepare(RunOptions(sample=True)).modes() == ["walk"]  # the default profile: walking only


def test_village_totals_as_points_polygons_or_zones(tmp_path):
    # points with totals: one unit per village
    points = read_population(EXAMPLE / "villages.geojson")
    assert len(points.units) == 17 and points.units["population"].sum() == 77_500
    assert "pop_80plus" in points.units and points.units["pop_80plus"].sum() == 1_816  # kept for home visits
    assert set(points.units["district"]) == {"雄石街道", "东门街道", "花园街道"}  # 乡镇 read as the district
    # polygons with totals as units: each polygon becomes its representative point
    zones = gpd.read_file(EXAMPLE / "townships.geojson")
    as_units = read_population(EXAMPLE / "townships.geojson")
    assert len(as_units.units) == 3 and as_units.units["population"].sum() == zones["常住人口"].sum()
    assert all(z.contains(shapely.Point(lo, la)) for z, lo, la in
               zip(zones.geometry, as_units.units["lon"], as_units.units["lat"]))
    # polygons with totals as zones: spread onto the roads, every zone's total kept exactly
    roads = load_network(grid_ways(9, 250.0))
    box = shapely.box(*lonlat(-10, -10), *lonlat(2010, 2010))
    village = gpd.GeoDataFrame({"行政村": ["甲村", "乙村"], "常住人口": [1200, 800]}, crs="EPSG:4326",
                               geometry=[shapely.box(*lonlat(-10, -10), *lonlat(990, 2010)),
                                         shapely.box(*lonlat(990, -10), *lonlat(2010, 2010))])
    spread = spread_zone_totals(village, population_col="常住人口", roads=roads, zone_id_col="行政村",
                                study_area=box)
    assert spread.units.groupby("district")["population"].sum().to_dict() == {"甲村": 1200, "乙村": 800}
    # a village table with 行政村 / 乡镇 headers and a group larger than the population is refused
    bad = pd.DataFrame({"行政村": ["甲村"], "乡镇": ["某镇"], "经度": [117.2], "纬度": [28.3], "常住人口": [100],
                        "80岁及以上": [150]})
    with pytest.raises(InputError, match="column '80岁及以上': 150 is more than the population 100"):
        from circles.demand import demand_from_frame

        demand_from_frame(bad, source_name="村.csv")


# ================================================================== part 2: meal delivery


def test_delivery_by_hand(nets):
    # drive at 30 km/h on residential streets: 250 m = 30 s. Kitchens at (0, 0) and (2000, 2000).
    fac = _facilities([("中心厨房A", "kitchen", None, 0, 0), ("配餐中心B", "kitchen", None, 2000, 2000),
                       ("村1老饭桌", "meal", "point", 1000, 0),      # 1,000 m from A: 2 min
                       ("村2老饭桌", "meal", "point", 1000, 1250),   # 2,250 m from A, 1,750 from B: 3.5 min
                       ("村3老饭桌", "meal", "point", 1000, 3000),   # 1 km beyond the roads: off the network
                       ("养老站", "elderly", "station", 250, 0)])  # not a meal point
    result = meal_delivery(nets, fac, _profile(delivery={"minutes": 3}))
    t = result.table.set_index("meal_point")
    assert list(result.table.columns) == list(DELIVERY_COLUMNS)
    assert t.loc["村1老饭桌", "kitchen"] == "中心厨房A" and t.loc["村1老饭桌", "minutes"] == pytest.approx(2.0, abs=0.01)
    assert t.loc["村2老饭桌", "kitchen"] == "配餐中心B" and t.loc["村2老饭桌", "minutes"] == pytest.approx(3.5, abs=0.01)
    assert t["ok"].tolist() == [True, False, False]
    assert t["reason"].tolist() == ["", "beyond_limit", "off_network"]
    f = result.figures()
    assert (f["kitchens"], f["points"], f["within_limit"], f["share"]) == (2, 3, 1, pytest.approx(1 / 3))
    assert [b["meal_point"] for b in f["beyond"]] == ["村2老饭桌", "村3老饭桌"]
    links = result.links()
    assert links.crs == "EPSG:4326" and len(links) == 2  # the off-network point has no link
    line = links.geometry.iloc[0]
    assert line.coords[0] == pytest.approx(lonlat(0, 0)) and line.coords[-1] == pytest.approx(lonlat(1000, 0))
    gaps = result.gaps()
    assert gaps["meal_point"].tolist() == ["村2老饭桌", "村3老饭桌"] and (gaps["kind"] == "delivery_gap").all()
    assert set(result.layer()["kind"]) == {"delivery_link", "delivery_gap"}
    # one district's meal points only, supplied by kitchens anywhere (a batch district)
    west = shapely.box(*lonlat(500, -100), *lonlat(1100, 1300))
    inside = meal_delivery(nets, fac, _profile(delivery={"minutes": 3}), area=west).table
    assert inside["meal_point"].tolist() == ["村1老饭桌", "村2老饭桌"] and inside["kitchen"].iloc[1] == "配餐中心B"


def test_delivery_follows_one_way_roads_and_reports_missing_kitchens(nets):
    from netfixtures import lonlat as ll
    from network import RawWays

    nodes = {1: ll(0, 0), 2: ll(1000, 0), 3: ll(2000, 0), 4: ll(1000, 500)}
    ways = [(1, [1, 2], {"highway": "primary", "oneway": "yes"}), (2, [2, 3], {"highway": "primary"}),
            (3, [2, 4], {"highway": "primary"})]
    drive = load_network(RawWays.from_lists(nodes, ways), mode="drive")
    fac = _facilities([("厨房", "kitchen", None, 2000, 0), ("上游", "meal", "point", 0, 0),
                       ("下游", "meal", "point", 1000, 500)])
    t = meal_delivery({"drive": drive}, fac, RURAL).table.set_index("meal_point")
    assert t.loc["上游", "reason"] == "unreachable" and np.isnan(t.loc["上游", "minutes"])  # against the one-way
    assert t.loc["下游", "minutes"] == pytest.approx(1.5, abs=0.01)  # 1,500 m at 60 km/h
    none = meal_delivery({"drive": drive}, fac[fac["category"] != "kitchen"], RURAL)
    assert none.kitchens == 0 and none.table["reason"].tolist() == ["no_kitchen", "no_kitchen"]
    assert none.figures()["share"] == 0.0
    with pytest.raises(CirclesError, match="meal delivery travels by drive but no drive network was built"):
        meal_delivery({"walk": nets["walk"]}, fac, RURAL)
    with pytest.raises(CirclesError, match="profile 'gb50180' has no \\[delivery\\] table"):
        meal_delivery(nets, fac, load_profile("gb50180"))


def test_delivery_by_ebike_uses_the_riding_speed(nets):
    fac = _facilities([("厨房", "kitchen", None, 0, 0), ("点", "meal", "point", 1500, 0)])
    by_ebike = _profile(delivery={"mode": "ebike", "speed_preset": "ebike"})
    t = meal_delivery(nets, fac, by_ebike).table
    assert t["minutes"].iloc[0] == pytest.approx(6.0, abs=0.01)  # 1,500 m at 15 km/h
    assert meal_delivery(nets, fac, by_ebike).figures()["speed_kmh"] == 15.0


# ================================================================== part 3: home visits


def test_home_visits_by_hand(nets):
    # e-bike 15 km/h: 250 m = 1 min. Stations: a village point at (0, 0); a county centre (not sending staff)
    fac = _facilities([("村点", "elderly", "station", 0, 0), ("县中心", "elderly", "county", 2000, 2000)])
    dem = _units([("a", 500, 0, 1000, 300), ("b", 2000, 1000, 1000, 200), ("c", 750, 0, 500, 100)],
                 pop_80plus=[40.0, 30.0, np.nan])
    result = home_visits(nets, fac, dem, _profile(home_visits={"minutes": 10}))
    t = result.table.set_index("demand_id")
    assert t["minutes"].tolist() == pytest.approx([2.0, 12.0, 3.0], abs=0.01)
    assert t["station"].tolist() == ["村点", "村点", "村点"]
    assert t["ok"].tolist() == [True, False, True]
    # pop_80plus where given, 18.3 % of the 60+ where blank (flagged)
    assert t["demand"].tolist() == pytest.approx([40.0, 30.0, 18.3])
    assert t["estimated"].tolist() == [False, False, True]
    f = result.figures()
    assert f["demand_column"] == "pop_80plus" and f["estimated_units"] == 1 and "18.3%" in f["estimate"]
    assert f["demand_total"] == pytest.approx(88.3) and f["demand_within"] == pytest.approx(58.3)
    assert f["share"] == pytest.approx(58.3 / 88.3, abs=1e-6) and f["stations"] == 1
    assert result.gaps()["demand_id"].tolist() == ["b"]


def test_home_visit_demand_is_estimated_when_the_population_has_no_group(nets):
    fac = _facilities([("乡镇中心", "elderly", "centre", 0, 0)])
    dem = _units([("a", 250, 0, 1000, 300)], inside=[True])
    f = home_visits(nets, fac, dem, RURAL).figures()
    assert f["demand_column"] is None and f["estimated_units"] == 1
    assert f["demand_total"] == pytest.approx(0.183 * 300) and f["share"] == 1.0
    assert f["estimate"].startswith("pop_60plus × 0.183 (") and "第四次中国城乡老年人生活状况抽样调查" in f["estimate"]
    with pytest.raises(CirclesError, match="home visits travels by ebike but no ebike network"):
        home_visits({"walk": nets["walk"]}, fac, dem, RURAL)
    with pytest.raises(CirclesError, match="demand has no 'pop_60plus' column"):
        home_visits(nets, fac, dem.drop(columns="pop_60plus"), RURAL)


# ================================================================== part 5: the county example


def _readme_command() -> list[str]:
    """The one command of the README's county example, as arguments after ``circles``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## County example"):]
    block = re.search(r"```(?:bash|sh)?\n(circles analyze.*?)```", section, re.S).group(1)
    return shlex.split(block.replace("\\\n", " "))[1:]


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """The README's county example, run as documented (from the project folder), and its outputs."""
    import os

    from click.testing import CliRunner

    from circles.cli import main

    shared_data("osm/jiangxi_guixi.osm")
    out = tmp_path_factory.mktemp("county") / "guixi"
    args = _readme_command()
    args[args.index("--out") + 1] = str(out)
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        res = CliRunner().invoke(main, args)
    finally:
        os.chdir(here)
    assert res.exit_code == 0, res.output
    return out, json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.shared_data
def test_county_example_runs_as_documented(county):
    out, summary = county
    for name in ("summary.json", "access.csv", "delivery.csv", "delivery.geojson", "home_visits.csv", "map.html",
                 "districts.csv", "rules.csv"):
        assert (out / name).exists(), name
    modes = {(c, t): v["mode"] for c, cat in summary["categories"].items() for t, v in cat["tiers"].items()}
    assert modes[("elderly", "station")] == "walk" and modes[("elderly", "centre")] == "ebike"
    assert modes[("elderly", "county")] == "drive" and modes[("child", "station")] == "drive"
    speeds = summary["categories"]["elderly"]["tiers"]
    assert speeds["centre"]["speed_kmh"] == 15.0 and speeds["station"]["speed_kmh"] == 3.6
    assert speeds["county"]["speed_kmh"] is None  # road speeds by class
    assert set(summary["inputs"]["networks"]) == {"walk", "ebike", "drive"}
    d, h = summary["delivery"], summary["home_visits"]
    assert (d["kitchens"], d["points"], d["limit_minutes"], d["mode"]) == (2, 6, 30.0, "drive")
    assert d["within_limit"] == 6 and d["share"] == 1.0
    assert h["demand_column"] == "pop_80plus" and h["estimated_units"] == 0 and h["demand_total"] == 1816
    assert h["mode"] == "ebike" and h["speed_kmh"] == 15.0 and h["stations"] == 8
    rules = pd.read_csv(out / "rules.csv", encoding="utf-8-sig")
    child = rules[(rules["unit"] == "花园街道") & (rules["category"] == "child") & (rules["kind"] == "min_facilities")]
    assert len(child) and not child["ok"].astype(bool).any()  # the example leaves 花园街道 without a child workstation
    assert any(c["not_met_units"] and "花园街道" in c["not_met_units"] for c in summary["rules"]["checks"].values())
    links = json.loads((out / "delivery.geojson").read_text(encoding="utf-8"))
    assert {f["geometry"]["type"] for f in links["features"]} == {"LineString"}


def test_county_delivery_and_visits_in_workbook_report_and_map(county):
    """The same delivery and home-visit figures in summary.json, the workbook, report.docx and map.html."""
    import docx
    import openpyxl

    out, summary = county
    delivery = pd.read_csv(out / "delivery.csv", encoding="utf-8-sig")
    book = openpyxl.load_workbook(out / "summary.xlsx")
    sheet = book["送餐配送"]
    head = [c.value for c in sheet[1]]
    assert head[:4] == ["助餐点", "中央厨房", "用时(分钟)", "是否达标"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == delivery["meal_point"].tolist()
    assert [r[2] for r in rows] == pytest.approx(delivery["minutes"].tolist())
    assert sum(r[3] == "是" for r in rows) == summary["delivery"]["within_limit"]
    visits = book["上门探访"]
    people = [r[1] for r in visits.iter_rows(min_row=2, values_only=True)]
    assert sum(people) == pytest.approx(summary["home_visits"]["demand_total"])
    text = "\n".join(p.text for p in docx.Document(out / "report.docx").paragraphs)
    d, h = summary["delivery"], summary["home_visits"]
    assert f"{d['points']} 个助餐点中 {d['within_limit']} 个" in text
    assert f"{h['demand_total']:,.0f} 名需上门探访的老人中 {h['demand_within']:,.0f} 名" in text
    overview = list(book["总览"].iter_rows(values_only=True))
    modes = {(r[0], r[1]): r[10] for r in overview[1:]}  # each tier's travel mode, in words
    assert modes[("elderly", "centre")] == "电动自行车/三轮车" and modes[("elderly", "county")] == "驾车/公交（道路）"
    assert modes[("elderly", "station")] == "步行" and overview[0][10] == "出行方式"
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "送餐配送（中央厨房→助餐点）" in page
    for name in delivery["meal_point"]:
        assert name in page  # each delivery line's tooltip names its meal point


def _reference_minutes(net, edge_cost_s, sources: pd.DataFrame, targets: pd.DataFrame) -> np.ndarray:
    """Independent answer: shapely snapping onto the edge lines, every edge split at its points, networkx Dijkstra."""
    lines = net.edge_lines()
    tree = shapely.STRtree(lines)
    on_edge: dict[int, list[tuple[float, str]]] = {}
    for prefix, frame in (("s", sources), ("t", targets)):
        x, y = net.to_xy(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
        for k, (px, py) in enumerate(zip(x, y)):
            p = shapely.Point(px, py)
            e = int(tree.nearest(p))
            on_edge.setdefault(e, []).append((lines[e].project(p, normalized=True), f"{prefix}{k}"))
    G = nx.DiGraph()

    def add(a, b, w, two):
        for x, y in ((a, b), (b, a)) if two else ((a, b),):
            if not G.has_edge(x, y) or G[x][y]["w"] > w:
                G.add_edge(x, y, w=w)

    for e in range(net.n_edges):
        chain = [(0.0, int(net.edge_u[e]))] + sorted(on_edge.get(e, [])) + [(1.0, int(net.edge_v[e]))]
        for (f0, a), (f1, b) in zip(chain[:-1], chain[1:]):
            add(a, b, (f1 - f0) * float(edge_cost_s[e]), not net.edge_oneway[e])
    for k in range(len(sources)):
        G.add_edge("S", f"s{k}", w=0.0)
    dist = nx.single_source_dijkstra_path_length(G, "S", weight="w")
    return np.array([dist.get(f"t{j}", np.inf) / 60.0 for j in range(len(targets))])


@pytest.mark.shared_data
def test_county_delivery_and_home_visits_recomputed_independently(county):
    out, summary = county
    osm = shared_data("osm/jiangxi_guixi.osm")
    ledger = pd.read_csv(EXAMPLE / "ledger.csv", encoding="utf-8-sig")
    kitchens = ledger[ledger["类型"].isin(["中心厨房", "配餐中心"])].rename(columns={"经度": "lon", "纬度": "lat"})
    delivery = pd.read_csv(out / "delivery.csv", encoding="utf-8-sig")
    points = delivery.rename(columns={"meal_point_lon": "lon", "meal_point_lat": "lat"})
    drive = load_network(osm, mode="drive", **RURAL.network_options("drive"))
    ref = _reference_minutes(drive, drive.travel_time_s(), kitchens, points)
    np.testing.assert_allclose(delivery["minutes"].to_numpy(float), ref, rtol=0.02, atol=0.02)
    assert delivery["ok"].tolist() == list(ref <= 30.0)

    visits = pd.read_csv(out / "home_visits.csv", encoding="utf-8-sig")
    senders = {"乡镇综合养老服务中心", "农村互助幸福院", "社区养老服务站"}
    stations = ledger[ledger["类型"].isin(senders)].rename(columns={"经度": "lon", "纬度": "lat"})
    ebike = load_network(osm, mode="ebike", **RURAL.network_options("ebike"))
    units = gpd.read_file(EXAMPLE / "villages.geojson")  # the inputs' coordinates, not the rounded output's
    units = pd.DataFrame({"lon": units.geometry.x, "lat": units.geometry.y})
    assert visits["lon"].to_numpy() == pytest.approx(units["lon"].to_numpy(), abs=1e-6)
    ref = _reference_minutes(ebike, ebike.travel_time_s(15.0), stations, units)
    np.testing.assert_allclose(visits["minutes"].to_numpy(float), ref, rtol=0.02, atol=0.02)
    within = visits["demand"].to_numpy(float)[ref <= 15.0].sum()
    assert summary["home_visits"]["demand_within"] == pytest.approx(within, rel=0.02)
    assert summary["home_visits"]["share"] == pytest.approx(within / visits["demand"].sum(), rel=0.02)


@pytest.mark.shared_data
def test_county_example_files_are_what_the_script_makes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_guixi", EXAMPLE / "make_guixi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files, left_out = module.build(shared_data("osm/jiangxi_guixi.osm"))
    for name, text in files.items():
        assert (EXAMPLE / name).read_text(encoding="utf-8") == text, f"run make_guixi.py and commit {name}"
    assert left_out == []
    provenance = (EXAMPLE / "PROVENANCE.md").read_text(encoding="utf-8")
    for needle in ("ODbL", "made up", "make_guixi.py", "炼厂社区"):
        assert needle in provenance


def test_docstring_examples_run():
    import doctest

    import circles.outreach_base
    import circles.profile_travel

    assert doctest.testmod(circles.outreach_base, extraglobs={"pd": pd}).failed == 0
    assert doctest.testmod(circles.profile_travel).failed == 0


@pytest.mark.shared_data
def test_outreach_gaps_on_the_map_escaped(tmp_path):
    """Short limits leave meal points and homes beyond reach: their layers are drawn, names escaped, in the workbook."""
    import openpyxl

    from circles.options import RunOptions
    from circles.pipeline import analyse, prepare

    osm = shared_data("osm/jiangxi_guixi.osm")
    ledger = pd.read_csv(EXAMPLE / "ledger.csv", encoding="utf-8-sig")
    meal = ledger.index[ledger["类型"].str.contains("老饭桌|助餐点")][0]
    ledger.loc[meal, "名称"] = "<img src=x onerror=alert(1)>"
    ledger.to_csv(tmp_path / "ledger.csv", index=False, encoding="utf-8-sig")
    (tmp_path / "p.toml").write_text('base = "rural"\nid = "rural_short"\n[delivery]\nminutes = 2\n'
                                     '[home_visits]\nminutes = 1\n', encoding="utf-8")
    result = analyse(prepare(RunOptions(network=str(osm), facilities=str(tmp_path / "ledger.csv"), coords="wgs84",
                                        population=str(EXAMPLE / "villages.geojson"), profile=str(tmp_path / "p.toml"),
                                        no_report=True)))
    outreach = result.outreach()
    assert (~outreach.delivery.table["ok"]).any() and len(outreach.visits.gaps())
    files = result.files()
    page = files["map.html"].decode("utf-8")
    assert "配送范围外的助餐点" in page and "上门探访范围外的居民点" in page
    assert "<img src=x" not in page and "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
    assert "超出送餐时限" in page
    book = openpyxl.load_workbook(io.BytesIO(files["summary.xlsx"]))
    beyond = [r for r in book["送餐配送"].iter_rows(min_row=2, values_only=True) if r[3] == "否"]
    assert len(beyond) == int((~outreach.delivery.table["ok"]).sum())
    visit_rows = list(book["上门探访"].iter_rows(min_row=2, values_only=True))
    assert visit_rows[0][5] == "否"  # units beyond reach first

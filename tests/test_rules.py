"""circles.rules: every rule kind on small hand-checkable cases, and the standards engine on real Wudaokou data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circles.districts import FACILITY_RULE_COLUMNS, RULE_COLUMNS, district_level
from circles.errors import CirclesError
from circles.facilities import ledger_from_frame
from circles.profiles import load_profile, profile_from_dict
from circles.rules import RuleChecks, check_rules, step_free_ok
from conftest import shared_data

BASE = load_profile("15min")
# Three streets side by side, 0.01° wide; the first two in 县甲, the third in 县乙.
STREETS = gpd.GeoDataFrame(
    {"name": ["县甲/一街道", "县甲/二街道", "县乙/三街道"]},
    geometry=[shapely.box(116.00 + 0.01 * i, 39.90, 116.01 + 0.01 * i, 39.91) for i in range(3)], crs="EPSG:4326")


def profile_with(rules: dict, **extra) -> object:
    """The default profile with only `rules` (TOML tables as dicts)."""
    import tomllib

    from circles.profiles import builtin_profile_dir

    data = tomllib.loads((builtin_profile_dir() / "15min.toml").read_text(encoding="utf-8"))
    data["rules"] = rules
    data.update(extra)
    return profile_from_dict(data, source="test")


def fac(rows: list[dict]) -> pd.DataFrame:
    """Facilities at (street index, x offset) with their attributes."""
    out = []
    for k, r in enumerate(rows):
        street = r.pop("street", 0)
        out.append({"name": f"f{k}", "category": "elderly", "tier": "station", "lon": 116.005 + 0.01 * street,
                    "lat": 39.905 + 0.0001 * k, **r})
    return pd.DataFrame(out)


def dem(rows: list[dict]) -> pd.DataFrame:
    out = []
    for k, r in enumerate(rows):
        street = r.pop("street", 0)
        out.append({"demand_id": f"d{k}", "name": f"小区{k}", "lon": 116.004 + 0.01 * street, "lat": 39.902 + 0.0001 * k,
                    "population": 1000, "pop_60plus": 200, "pop_0_17": 150, **r})
    return pd.DataFrame(out)


def rows_of(checks: RuleChecks, rule_id: str) -> pd.DataFrame:
    return checks.units[checks.units["rule_id"] == rule_id].set_index("unit")


RULE = {"label_zh": "规则", "label_en": "rule", "citation": "测试文件第1条"}


# ============================================================================ min_facilities and tiers
def test_min_facilities_per_street_and_no_substitution():
    p = profile_with({"station": {**RULE, "kind": "min_facilities", "category": "elderly", "tier": "station",
                                  "min_count": 2},
                      "station_or_centre": {**RULE, "kind": "min_facilities", "category": "elderly",
                                            "tier": "station", "substitutes": ["centre"], "min_count": 2}})
    f = fac([{"street": 0}, {"street": 0, "tier": "centre"}, {"street": 1}, {"street": 1}])
    checks = check_rules(p, f, dem([{"street": 0}]), districts=STREETS, district_col="name")
    strict = rows_of(checks, "station")
    # street 1 has a station and a centre: the centre does not stand in for the station (GB 50180)
    assert strict.loc["县甲/一街道", ["value", "required", "ok"]].tolist() == [1, 2, False]
    assert strict.loc["县甲/二街道", ["value", "ok"]].tolist() == [2, True]
    assert strict.loc["县乙/三街道", ["value", "ok"]].tolist() == [0, False]
    loose = rows_of(checks, "station_or_centre")  # unless the profile says so
    assert loose.loc["县甲/一街道", ["value", "ok"]].tolist() == [2, True]
    assert set(checks.units["scope"]) == {"street"} and set(checks.units["district"]) == set(STREETS["name"])


def test_min_facilities_per_county_and_city():
    p = profile_with({"c": {**RULE, "kind": "min_facilities", "scope": "county", "category": "elderly",
                            "min_count": 2},
                      "w": {**RULE, "kind": "min_facilities", "scope": "city", "category": "elderly", "min_count": 4}})
    f = fac([{"street": 0}, {"street": 1}, {"street": 2}])
    checks = check_rules(p, f, dem([{"street": 0}]), districts=STREETS, district_col="name", area_name="某市")
    county = rows_of(checks, "c")
    assert county.loc["县甲", ["value", "ok"]].tolist() == [2, True]
    assert county.loc["县乙", ["value", "ok"]].tolist() == [1, False]
    assert rows_of(checks, "w").loc["某市", ["value", "ok"]].tolist() == [3, False]
    assert county["district"].isna().all()


# ============================================================================ floor area per 100 households
def test_area_per_households_new_and_existing():
    p = profile_with({"a": {**RULE, "kind": "area_per_households", "category": "elderly",
                            "min_area_m2_per_100_households": 20, "min_area_m2_per_100_households_new": 30}})
    f = fac([{"street": 0, "area_m2": 150.0}, {"street": 0, "area_m2": 50.0}, {"street": 1, "area_m2": 300.0},
             {"street": 2, "area_m2": np.nan}])
    d = dem([{"street": 0, "households": 400, "area_type": "existing"},
             {"street": 0, "households": 600, "area_type": "new"},
             {"street": 1, "households": 1000},  # says nothing: an existing area
             {"street": 2, "households": 500}])
    r = rows_of(check_rules(p, f, d, districts=STREETS, district_col="name"), "a")
    # street 1: 200 m² over 1,000 households = 20 per 100; required (400 × 20 + 600 × 30) / 1,000 = 26
    assert r.loc["县甲/一街道", ["value", "required", "ok"]].tolist() == [20.0, 26.0, False]
    assert r.loc["县甲/二街道", ["value", "required", "ok"]].tolist() == [30.0, 20.0, True]
    # street 3: its only facility has no floor area: the rule cannot be judged
    assert np.isnan(r.loc["县乙/三街道", "value"]) and r.loc["县乙/三街道", "ok"] is None


def test_area_per_households_without_households_or_facilities():
    p = profile_with({"a": {**RULE, "kind": "area_per_households", "category": "elderly",
                            "min_area_m2_per_100_households": 20}})
    d = dem([{"street": 0}, {"street": 1, "households": 300}])
    r = rows_of(check_rules(p, fac([{"street": 0, "area_m2": 80.0}]), d, districts=STREETS, district_col="name"), "a")
    assert r.loc["县甲/一街道", "ok"] is None  # no households known
    assert r.loc["县甲/二街道", ["value", "required", "ok"]].tolist() == [0.0, 20.0, False]  # no facility: 0 m²


def test_area_rule_for_new_areas_only_skips_existing_ones():
    p = profile_with({"a": {**RULE, "kind": "area_per_households", "scope": "community", "category": "elderly",
                            "min_area_m2_per_100_households_new": 20}})
    d = dem([{"households": 500, "area_type": "new", "community": "甲社区"},
             {"households": 500, "community": "乙社区"}])
    f = fac([{"area_m2": 120.0, "community": "甲社区"}, {"area_m2": 10.0, "community": "乙社区"}])
    r = rows_of(check_rules(p, f, d), "a")
    assert r.loc["甲社区", ["value", "required", "ok"]].tolist() == [24.0, 20.0, True]
    assert r.loc["乙社区", "required"] is None and r.loc["乙社区", "ok"] is None  # Beilun sets nothing for existing areas


# ============================================================================ integrated facility, lift
def test_integrated_facility_area_and_functions():
    p = profile_with({"i": {**RULE, "kind": "integrated_facility", "category": "elderly", "min_area_m2": 600,
                            "min_functions": 3, "min_core_functions": 2}})
    f = fac([{"area_m2": 600.0, "functions": "社区助餐、养老服务、健康服务"},  # 3 functions, 2 core
             {"area_m2": 599.0, "functions": "社区助餐、养老服务、健康服务"},
             {"area_m2": 900.0, "functions": "养老服务、健康服务、文化休闲、体育健身"},  # 1 core
             {"area_m2": 900.0, "functions": "婴幼儿托育、儿童托管"},  # 2 functions
             {"area_m2": np.nan, "functions": "社区助餐、养老服务、婴幼儿托育"},
             {"area_m2": 100.0}])
    checks = check_rules(p, f, dem([{}]))
    assert checks.facilities["ok"].tolist() == [True, False, False, False, None, False]
    table = checks.facility_table("en")
    assert list(table.columns) == list(FACILITY_RULE_COLUMNS)
    assert table["value"].iloc[0] == "600 m², 3 functions (2 core)"
    assert checks.facility_table("zh")["value"].iloc[2] == "900㎡，4项功能（核心1项）"


def test_lift_rule_flags_exactly_upper_floors_without_a_lift():
    f = fac([{"floor": 1.0, "lift": False}, {"floor": 2.0, "lift": False}, {"floor": 3.0, "lift": True},
             {"floor": 4.0, "lift": None}, {"floor": np.nan, "lift": False}, {"floor": -1.0, "lift": False},
             {"floor": 2.0, "lift": False, "category": "meal", "tier": "point"}])
    f["lift"] = f["lift"].astype("boolean")
    checks = check_rules(BASE, f, dem([{}]))
    lift = checks.facilities[checks.facilities["rule_id"] == "elderly_lift"]
    assert lift["name"].tolist() == ["f0", "f1", "f2", "f3", "f4", "f5"]  # the meal point is not an elderly facility
    assert lift["ok"].tolist() == [True, False, True, None, None, False]  # a basement needs one too (JGJ 450 §5.6.4)
    assert "JGJ 450-2018" in lift["citation"].iloc[0] and "5.6.4" in lift["citation"].iloc[0]
    assert step_free_ok(f, BASE).tolist() == [True, False, True, True, True, False, True]
    no_lift_rule = profile_with({})
    assert step_free_ok(f, no_lift_rule).all()


# ============================================================================ coverage targets, needs
def test_coverage_target_share_of_counties_and_of_streets():
    p = profile_with({"counties": {**RULE, "kind": "coverage_target", "category": "child", "tier": "station",
                                   "of_scope": "county", "min_share": 0.75, "deadline": "2024-12-31"},
                      "streets": {**RULE, "kind": "coverage_target", "scope": "county", "of_scope": "street",
                                  "category": "child", "tier": "station", "min_share": 0.75}})
    f = fac([{"street": 0, "category": "child"}, {"street": 2, "category": "child"},
             {"street": 1, "category": "child", "tier": "home"}])
    checks = check_rules(p, f, dem([{}]), districts=STREETS, district_col="name", area_name="某市")
    c = checks.units[checks.units["rule_id"] == "counties"]
    assert c[c["scope"] == "county"].set_index("unit")["ok"].to_dict() == {"县甲": True, "县乙": True}
    assert c[c["scope"] == "city"][["unit", "value", "required", "ok"]].values.tolist() == [["某市", 1.0, 0.75, True]]
    s = checks.units[checks.units["rule_id"] == "streets"]
    per_county = s[s["scope"] == "county"].set_index("unit")
    assert per_county.loc["县甲", ["value", "ok"]].tolist() == [0.5, False]  # 1 of its 2 streets: 50 % < 75 %
    assert per_county.loc["县乙", ["value", "ok"]].tolist() == [1.0, True]


def test_needs_functions_by_share_and_by_people():
    p = profile_with({"old": {**RULE, "kind": "needs_functions", "scope": "community", "category": "elderly",
                              "tier": "station", "group": "pop_60plus", "min_group_share": 0.3,
                              "functions": ["养老服务", "助餐"]},
                      "baby": {**RULE, "kind": "needs_functions", "scope": "community", "category": "elderly",
                               "tier": "station", "group": "pop_0_3", "min_group_people": 24,
                               "functions": ["托育"]}})
    d = dem([{"community": "西重所", "pop_60plus": 500, "pop_0_3": 23},  # the seed's case: 50 % aged 60+, 23 infants
             {"community": "浐灞半岛", "pop_60plus": 100, "pop_0_3": 60},
             {"community": "无设施", "pop_60plus": 400, "pop_0_3": 0}])
    f = fac([{"community": "西重所", "functions": "助餐、日间照料、健康"}, {"community": "浐灞半岛", "functions": "助餐"}])
    checks = check_rules(p, f, d)
    old, baby = rows_of(checks, "old"), rows_of(checks, "baby")
    assert old["ok"].to_dict() == {"西重所": True, "浐灞半岛": None, "无设施": False}
    assert baby["ok"].to_dict() == {"西重所": None, "浐灞半岛": False, "无设施": None}
    assert checks.table("zh").set_index(["rule_id", "unit"]).loc[("baby", "西重所"), "required"] == "无此需求"
    assert "50.0%" in checks.table("en").set_index(["rule_id", "unit"]).loc[("old", "西重所"), "value"]


def test_communities_from_the_ledger_or_the_nearest_unit():
    p = profile_with({"s": {**RULE, "kind": "min_facilities", "scope": "community", "category": "elderly",
                            "tier": "station", "min_count": 1}})
    d = dem([{"community": "甲社区"}, {"community": "乙社区"}, {"community": "乙社区"}])
    f = fac([{"community": "乙社区"}, {}])  # the second has no 所属社区: it lies next to 甲社区's unit
    f.loc[1, ["lon", "lat"]] = [116.0041, 39.9019]
    assert rows_of(check_rules(p, f, d), "s")["value"].to_dict() == {"甲社区": 1, "乙社区": 1}
    alone = check_rules(p, f, d.drop(columns="community"))
    assert set(rows_of(alone, "s").index) == {"小区0", "小区1", "小区2"}
    assert any("社区" in n for n in alone.notes)


def test_without_districts_street_rules_are_noted_not_checked():
    checks = check_rules(BASE, fac([{}]), dem([{"households": 100}]))
    assert not (checks.units["scope"] == "street").any()
    assert any("--districts" in n for n in checks.notes)


def test_tables_and_verdicts():
    f = fac([{"street": 0, "tier": "centre", "floor": 2.0, "lift": False}, {"street": 1, "category": "child"}])
    f["lift"] = f["lift"].astype("boolean")
    checks = check_rules(BASE, f, dem([{"street": 0, "households": 100}]), districts=STREETS, district_col="name")
    zh, en = checks.table("zh"), checks.table("en")
    assert list(zh.columns) == list(RULE_COLUMNS) and list(en.columns) == list(RULE_COLUMNS)
    assert zh["rule"].iloc[0] == BASE.rules[0].label_zh and en["rule"].iloc[0] == BASE.rules[0].label_en
    assert set(zh["ok"].map(type)) <= {bool, type(None)}
    v = checks.verdicts()
    assert v[("县甲/一街道", "elderly")] is False  # centre there, but on floor 2 without a lift
    assert v[("县甲/二街道", "elderly")] is False  # no centre
    assert v[("县甲/二街道", "child")] is True
    summary = checks.summary()["checks"]
    assert summary["elderly_lift"]["not_met"] == 1 and summary["elderly_lift"]["not_met_units"] == ["f0"]


def test_district_level_from_names():
    assert district_level(["海淀区", "朝阳区", "密云县"]) == "county"
    assert district_level(["燕园街道", "东升镇"]) == "street" and district_level(["东升地区"]) == "street"
    f = fac([{"street": 0}, {"street": 1}])
    counties = STREETS.assign(name=["甲区", "乙区", "丙县"])
    p = profile_with({"c": {**RULE, "kind": "min_facilities", "scope": "county", "category": "elderly",
                            "min_count": 1}, **{"s": {**RULE, "kind": "min_facilities", "category": "elderly",
                                                      "min_count": 1}}})
    checks = check_rules(p, f, dem([{}]), districts=counties, district_col="name")
    assert rows_of(checks, "c")["ok"].to_dict() == {"甲区": True, "乙区": True, "丙县": False}
    assert not (checks.units["rule_id"] == "s").any() and any("counties" in n for n in checks.notes)


# ============================================================================ rules as data
@pytest.mark.parametrize("table, expected", [
    ({"kind": "min_facilities", "category": "elderly", "min_count": 1, "label_zh": "x", "label_en": "x"},
     "citation must be a non-empty text"),
    ({**RULE, "kind": "lift", "category": "elderly", "scope": "street"}, "scope must be one of facility"),
    ({**RULE, "kind": "coverage_target", "category": "child", "scope": "county", "of_scope": "county",
      "min_share": 0.75}, "of_scope must be one of street"),
    ({**RULE, "kind": "coverage_target", "category": "child", "of_scope": "street", "min_share": 75},
     "min_share must be a number > 0 and <= 1.0"),
    ({**RULE, "kind": "integrated_facility", "category": "elderly", "min_area_m2": 600, "min_functions": 3,
      "min_core_functions": 2, "core_functions": ["养老", "跳舞"]}, "'跳舞' is not a service function"),
    ({**RULE, "kind": "needs_functions", "category": "elderly", "group": "pop_60plus", "functions": ["助餐"]},
     "exactly one of min_group_share"),
    ({**RULE, "kind": "min_facilities", "category": "elderly", "min_count": 1, "min_share": 0.5},
     "min_share does not apply to kind = 'min_facilities'"),
    ({**RULE, "kind": "min_facilities", "category": "elderly", "min_count": 1, "substitutes": ["centre"]},
     "substitutes needs a tier"),
    ({**RULE, "kind": "coverage_target", "category": "child", "of_scope": "street", "min_share": 0.5,
      "deadline": "2024年底"}, "deadline must be a date written YYYY-MM-DD"),
])
def test_rule_tables_are_validated(table, expected):
    with pytest.raises(CirclesError, match=expected):
        profile_with({"r": table})


def test_every_rule_of_the_seed_profiles_cites_a_document():
    for name, seed in (("xian", "西安新闻广播"), ("beilun", "北仑区民政局"), ("ningxia", "宁夏")):
        p = load_profile(name)
        own = [r for r in p.rules if seed in r.citation]
        assert own, name
        assert all(r.citation and r.label_zh and r.label_en and r.scope for r in p.rules)
    kinds = {r.kind for n in ("xian", "beilun", "ningxia") for r in load_profile(n).rules}
    assert kinds == {"min_facilities", "area_per_households", "integrated_facility", "lift", "coverage_target",
                     "needs_functions"}
    assert load_profile("beilun").rules[-1].min_area_m2_per_100_households_new == 20


# ============================================================================ real data: Wudaokou
@pytest.fixture(scope="module")
def wudaokou():
    """A ledger with 建筑面积/楼层/电梯 at real named Wudaokou places; residential buildings as units with 户数."""
    from network import load_network
    from network.features import read_osm_features

    osm = shared_data("osm/beijing_haidian_wudaokou.osm")
    streets = gpd.read_file(shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg"))
    box = shapely.box(116.308, 39.991, 116.332, 40.012)
    streets = streets[streets.intersects(box)].reset_index(drop=True)
    streets["name"] = streets["county"] + "/" + streets["street"]
    feats = read_osm_features(osm)
    named = feats[feats["name"].notna() & feats.intersects(box)].drop_duplicates("name")
    named = named.set_geometry(named.geometry.representative_point())
    places = gpd.sjoin(named, streets[["street", "geometry"]], predicate="within").groupby("street").head(4)
    points = places.geometry
    rng = np.random.default_rng(16)
    floors = np.array(["1", "2层", "3F", "首层", "1-2层", "4"] * 4)[:len(places)]
    lifts = np.array(["无", "有", "无", "", "无", "有", "", "无"] * 3)[:len(places)]
    table = pd.DataFrame({"名称": places["name"].to_numpy(), "类型": "日间照料中心",
                          "经度": points.x.round(7), "纬度": points.y.round(7),
                          "建筑面积": rng.integers(60, 900, len(places)).astype(str),
                          "楼层": floors, "电梯": lifts})
    ledger = ledger_from_frame(table, source_name="五道口台账.csv", profile=BASE)
    homes = feats[(feats["kind"] == "building") & feats.intersects(box)]  # every building: units on all six streets
    hp = homes.geometry.representative_point()
    units = pd.DataFrame({"demand_id": [f"b{i}" for i in range(len(homes))], "lon": hp.x, "lat": hp.y,
                          "population": rng.integers(200, 2000, len(homes))})
    units["households"] = (units["population"] / 2.62).round().astype(int)
    units["pop_60plus"] = (units["population"] * 0.2).round().astype(int)
    units["pop_0_17"] = (units["population"] * 0.15).round().astype(int)
    return {"net": load_network(osm), "ledger": ledger, "table": table, "units": units, "streets": streets}


def test_real_streets_floor_area_per_100_households_and_lifts(wudaokou):
    from circles.coverage import assess

    fac_, units, streets = wudaokou["ledger"].facilities, wudaokou["units"], wudaokou["streets"]
    report = assess({"walk": wudaokou["net"]}, fac_, units, profile=BASE, districts=streets, district_col="name")
    table = report.rules.table("zh")
    area = table[table["rule_id"] == "elderly_area_per_100_households"].set_index("unit")
    # independently: Σ floor area ÷ Σ households × 100 per street, by polygon
    f_in = gpd.sjoin(gpd.GeoDataFrame(fac_[["area_m2"]], geometry=fac_.geometry, crs=4326),
                     streets[["name", "geometry"]], predicate="within")
    u = gpd.GeoDataFrame(units, geometry=gpd.points_from_xy(units.lon, units.lat), crs=4326)
    u_in = gpd.sjoin(u, streets[["name", "geometry"]], predicate="within")
    hh = u_in.groupby("name")["households"].sum()
    m2 = f_in.groupby("name")["area_m2"].sum()
    checked = 0
    for street, households in hh.items():
        expected = 100.0 * m2.get(street, 0.0) / households
        assert area.loc[street, "value"] == pytest.approx(expected, rel=0.01), street
        assert area.loc[street, "ok"] == (area.loc[street, "value"] >= 20)
        checked += 1
    assert checked >= 5
    # facility_rules: exactly the facilities above the ground floor without a lift are flagged
    lift = report.rules.facility_table("zh")
    flagged = set(lift.loc[lift["ok"] == False, "name"])  # noqa: E712
    t = wudaokou["table"]
    upper = t["楼层"].isin(["2层", "3F", "1-2层", "4"]) & (t["电梯"] == "无")
    assert flagged == set(t.loc[upper, "名称"]) and flagged
    unknown = set(lift.loc[lift["ok"].isna(), "name"])
    assert unknown == set(t.loc[t["楼层"].isin(["2层", "3F", "1-2层", "4"]) & (t["电梯"] == ""), "名称"])
    assert (lift["citation"].str.contains("JGJ 450-2018")).all()


@pytest.mark.parametrize("module", ["circles.rules", "circles.standards", "circles.districts", "circles.equity",
                                    "circles.demand.groups", "circles.profiles"])
def test_docstring_examples(module):
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module(module)).failed == 0

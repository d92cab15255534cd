"""circles.coverage and circles.isochrones: shares, tiers, districts, gaps, service areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from circles.access import snap_lonlat
from circles.coverage import assess, gap_areas, uncovered_units
from circles.isochrones import report_service_areas
from circles.profiles import load_profile
from conftest import shared_data
from netfixtures import grid_ways, lonlat
from network import load_network
from test_access import reference_costs

PROFILE = load_profile("15min")


def _frames(fac_xy, dem_xy, cats=("elderly",), tier="station"):
    fac = pd.DataFrame([{"name": f"f{i}", "category": c, "tier": tier if c != "meal" else "point",
                         "lon": lonlat(*p)[0], "lat": lonlat(*p)[1]}
                        for i, p in enumerate(fac_xy) for c in cats])
    dem = pd.DataFrame([{"demand_id": f"d{i}", "lon": lonlat(*p)[0], "lat": lonlat(*p)[1], "population": 100,
                         "pop_60plus": 20 + i, "pop_0_17": 10} for i, p in enumerate(dem_xy)])
    return fac, dem


@pytest.fixture(scope="module")
def grid():
    return load_network(grid_ways(11, 100.0))  # 1 km × 1 km, 100 m blocks


def test_grid_coverage_by_hand(grid):
    # at 3.6 km/h (1 m/s) 15 minutes is 900 m of street
    fac, dem = _frames([(0, 0)], [(300, 300), (500, 400), (1000, 1000)])
    r = assess({"walk": grid}, fac, dem, profile=PROFILE)
    d = r.demand
    assert d["minutes_elderly"].round(2).tolist()[:2] == [10.0, 15.0]  # 600 m, 900 m
    assert np.isnan(d["minutes_elderly"].iloc[2]) or d["minutes_elderly"].iloc[2] == pytest.approx(2000 / 60, rel=1e-3)
    assert d["covered_elderly"].tolist() == [True, True, False]
    e = r.category("elderly")
    assert e.demand_total == 20 + 21 + 22 and e.demand_covered == 20 + 21
    assert e.coverage == pytest.approx(41 / 63)
    assert r.category("meal").facilities == 0 and r.category("meal").coverage == 0.0
    assert any("meal" in w and "no facilities" in w for w in r.warnings)
    station = [t for t in e.tiers if t.tier == "station"][0]
    assert station.facilities == 1 and station.demand_covered == 41


def test_boundary_counts_only_residents_inside(grid):
    fac, dem = _frames([(900, 900)], [(100, 100), (800, 800)])
    lo0, la0 = lonlat(-10, -10)
    lo1, la1 = lonlat(500, 500)
    r = assess({"walk": grid}, fac, dem, profile=PROFILE, boundary=shapely.box(lo0, la0, lo1, la1))
    assert r.demand["inside"].tolist() == [True, False]
    assert r.category("elderly").demand_total == 20  # the resident outside is not counted


def test_plain_speed_overrides_every_tier(grid):
    fac, dem = _frames([(0, 0)], [(500, 500)], cats=("elderly", "child"))
    r = assess({"walk": grid}, fac, dem, profile=PROFILE, plain_speed_kmh=6.0)  # 1000 m at 100 m/min
    assert r.demand["minutes_elderly"].iloc[0] == pytest.approx(10.0, rel=1e-3)
    assert r.demand["minutes_child"].iloc[0] == pytest.approx(10.0, rel=1e-3)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000)), min_size=1, max_size=5),
       st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000)), min_size=1, max_size=8),
       st.floats(2, 20))
def test_coverage_never_drops_with_more_minutes_or_facilities(fac_xy, dem_xy, minutes):
    net = _grid_net()
    fac, dem = _frames(fac_xy, dem_xy)
    p = PROFILE.with_overrides(minutes=minutes)
    base = assess({"walk": net}, fac.iloc[:1], dem, profile=p).category("elderly").coverage
    more_fac = assess({"walk": net}, fac, dem, profile=p).category("elderly").coverage
    more_min = assess({"walk": net}, fac.iloc[:1], dem, profile=PROFILE.with_overrides(minutes=minutes + 5))
    assert 0.0 <= base <= more_fac <= 1.0
    assert base <= more_min.category("elderly").coverage <= 1.0


_NET = []


def _grid_net():
    if not _NET:
        _NET.append(load_network(grid_ways(11, 100.0)))
    return _NET[0]


def test_districts_and_rules(grid):
    fac, dem = _frames([(0, 0), (1000, 1000)], [(100, 100), (900, 900), (950, 50)])
    fac.loc[0, "tier"] = "centre"
    west = shapely.box(*lonlat(-50, -50), *lonlat(500, 1050))
    east = shapely.box(*lonlat(500, -50), *lonlat(1050, 1050))
    districts = gpd.GeoDataFrame({"street": ["西街道", "东街道"]}, geometry=[west, east], crs="EPSG:4326")
    r = assess({"walk": grid}, fac, dem, profile=PROFILE, districts=districts, district_col="street")
    t = r.districts
    figures = t[t["rule"].isna()] if "rule" in t else t
    e = figures[figures["category"] == "elderly"].set_index("district")
    assert e.loc["西街道", "demand_total"] == 20 and e.loc["东街道", "demand_total"] == 21 + 22
    assert e.loc["西街道", "facilities"] == 1
    rules = t[t["rule"] == "min_facilities"]
    centre = rules[(rules["category"] == "elderly")].set_index("district")["rule_ok"]
    assert bool(centre["西街道"]) is True and bool(centre["东街道"]) is False
    with pytest.raises(Exception, match="not found"):
        assess({"walk": grid}, fac, dem, profile=PROFILE, districts=districts, district_col="name")


def test_gap_areas_group_uncovered_units(grid):
    fac, dem = _frames([(0, 0)], [(1000, 1000), (1000, 900), (100, 1000), (0, 100)])
    r = assess({"walk": grid}, fac, dem, profile=PROFILE.with_overrides(minutes=10))
    unc = uncovered_units(r, "elderly")
    assert set(unc["demand_id"]) == {"d0", "d1", "d2"}
    gaps = gap_areas(r, "elderly")
    assert gaps["rank"].tolist() == [1, 2]
    assert gaps.iloc[0]["units"] == 2 and gaps.iloc[0]["demand_uncovered"] == 20 + 21
    assert gaps.iloc[1]["units"] == 1
    assert gaps.geometry.iloc[0].contains(unc.geometry[unc["demand_id"] == "d0"].iloc[0])


def test_service_areas_follow_the_network_and_contain_their_facility(grid):
    fac, dem = _frames([(500, 500), (0, 0)], [(100, 100)])
    r = assess({"walk": grid}, fac, dem, profile=PROFILE.with_overrides(minutes=5))  # 300 m
    areas = report_service_areas(r, {"walk": grid})
    one = areas[(areas["kind"] == "facility_area") & (areas["facility"] == 0)].geometry.iloc[0]
    assert one.contains(r.facilities.geometry.iloc[0])
    # the streets within 300 m (a diamond in a grid) with 50 m bands: the diamond's 180,000 m²
    # plus its margin, and less than the hull of it
    metric = gpd.GeoSeries([one], crs="EPSG:4326").to_crs(grid.crs).iloc[0]
    assert metric.area < metric.convex_hull.area * 0.95
    assert 0.18e6 < metric.area < 0.272e6
    union = areas[areas["kind"] == "union"].geometry.iloc[0]
    rings = areas[areas["kind"] == "ring"]
    assert rings["minutes"].tolist() == [5.0]
    assert union.contains(r.facilities.geometry.iloc[1])
    assert set(areas[areas["kind"] == "catchment"]["facility"]) == {0, 1}
    named = areas[areas["kind"].isin(["catchment", "facility_area"])]
    assert (named["facility_name"] == named["facility"].map({0: "f0", 1: "f1"})).all()
    assert areas.loc[areas["kind"] == "union", "facility_name"].isna().all()


@pytest.mark.parametrize("name", ["beijing_haidian_wudaokou.osm"])
def test_real_data_shares_against_independent_search(name):
    net = load_network(shared_data(f"osm/{name}"))
    rng = np.random.default_rng(5)
    lo0, la0, lo1, la1 = net.bbox_lonlat
    fac = pd.DataFrame({"category": "elderly", "tier": "station", "lon": rng.uniform(lo0, lo1, 5),
                        "lat": rng.uniform(la0, la1, 5)})
    dem = pd.DataFrame({"lon": rng.uniform(lo0, lo1, 60), "lat": rng.uniform(la0, la1, 60),
                        "population": 100, "pop_60plus": rng.integers(10, 50, 60), "pop_0_17": 10})
    r = assess({"walk": net}, fac, dem, profile=PROFILE, snap_max_m=1e9)
    cost = net.travel_time_s(3.6)
    ref = reference_costs(net, snap_lonlat(net, fac.lon, fac.lat), snap_lonlat(net, dem.lon, dem.lat), cost) / 60
    got = r.demand["minutes_elderly"].to_numpy()
    finite = np.isfinite(ref) & (ref <= 60)
    np.testing.assert_allclose(got[finite], ref[finite], rtol=0.01, atol=0.05)
    share = dem["pop_60plus"][ref <= 15].sum() / dem["pop_60plus"].sum()
    assert r.category("elderly").coverage == pytest.approx(share)


def test_floor_area_rule_per_100_households(grid):
    fac, dem = _frames([(0, 0)], [(100, 100), (200, 200)])
    fac["area_m2"] = [150.0]
    dem["households"] = [400, 600]  # 1,000 households need 200 m² at 20 m² per 100
    box = shapely.box(*lonlat(-50, -50), *lonlat(1050, 1050))
    districts = gpd.GeoDataFrame({"street": ["一街道"]}, geometry=[box], crs="EPSG:4326")
    r = assess({"walk": grid}, fac, dem, profile=PROFILE, districts=districts, district_col="street")
    rule = r.districts[r.districts["rule"] == "area_per_households"].iloc[0]
    assert rule["value"] == pytest.approx(15.0) and rule["required"] == 20 and bool(rule["rule_ok"]) is False
    no_hh = assess({"walk": grid}, fac, dem.drop(columns="households"), profile=PROFILE, districts=districts,
                   district_col="street")
    assert no_hh.districts[no_hh.districts["rule"] == "area_per_households"].iloc[0]["rule_ok"] is None


def test_two_step_floating_catchment_by_hand():
    from scipy import sparse

    from circles.coverage import two_step_fca

    # facility 0 (10 beds) reaches units 0, 1; facility 1 (30 beds) reaches units 1, 2
    reach = sparse.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=bool))
    ratio, access = two_step_fca(reach, np.array([10.0, 30.0]), np.array([100.0, 100.0, 200.0]))
    np.testing.assert_allclose(ratio, [10 / 200, 30 / 300])
    np.testing.assert_allclose(access, [0.05, 0.05 + 0.1, 0.1])


def test_capacity_aware_access_in_assess(grid):
    fac, dem = _frames([(0, 0), (1000, 1000)], [(100, 0), (900, 1000)])
    fac["capacity"] = [10.0, 40.0]
    r = assess({"walk": grid}, fac, dem, profile=PROFILE)
    # each facility reaches one unit: 10 beds / 20 people 60+ and 40 beds / 21 people
    np.testing.assert_allclose(r.facilities["capacity_per_1000"], [500.0, 1000 * 40 / 21], rtol=1e-4)
    np.testing.assert_allclose(r.demand["capacity_per_1000_elderly"], [500.0, 1000 * 40 / 21], rtol=1e-4)
    assert r.capacity["elderly"]["capacity_total"] == 50.0


def test_off_network_facility_is_named_in_the_warnings(grid):
    fac, dem = _frames([(500, 1400)], [(500, 1000), (0, 0)])  # 400 m north of the top street
    r = assess({"walk": grid}, fac, dem, profile=PROFILE)
    assert bool(r.facilities["off_network"].iloc[0]) is True
    assert any("1 facility lies more than 200 m" in w and "f0" in w for w in r.warnings)
    # it still serves from the nearest street point: the unit on that street is covered
    assert bool(r.demand["covered_elderly"].iloc[0]) is True


# ---------------------------------------------------------------- need groups and step-free access
def test_step_free_groups_are_served_only_by_facilities_passing_the_lift_rule(grid):
    fac, dem = _frames([(0, 0), (1000, 1000)], [(100, 100), (900, 900)])
    dem["pop_80plus"] = [5, 7]
    dem["pop_disabled"] = [3, 4]
    plain = assess({"walk": grid}, fac, dem, profile=PROFILE)
    fac["floor"] = [3.0, 1.0]  # the first station is on the third floor without a lift
    fac["lift"] = pd.array([False, False], dtype="boolean")
    r = assess({"walk": grid}, fac, dem, profile=PROFILE)
    e = r.category("elderly")
    # the category's own figures (60+) count every facility: unchanged by the lift rule
    assert (e.demand_total, e.demand_covered) == (plain.category("elderly").demand_total,
                                                  plain.category("elderly").demand_covered) == (41, 41)
    assert e.group("pop_60plus").demand_covered == 41
    assert (e.group("pop_80plus").demand_total, e.group("pop_80plus").demand_covered) == (12, 7)
    assert (e.group("pop_disabled").demand_covered, e.group("pop_disabled").step_free) == (4, True)
    assert plain.category("elderly").group("pop_80plus").demand_covered == 12  # no floor known: served
    assert r.demand["covered_step_free_elderly"].tolist() == [False, True]
    assert r.demand["covered_elderly"].tolist() == [True, True]
    assert any("without a lift" in w and "JGJ 450-2018" in w for w in r.warnings)
    flagged = r.rules.facilities
    assert flagged.loc[flagged["rule_id"] == "elderly_lift", "ok"].tolist() == [False, True]


def test_missing_groups_are_estimated_and_flagged(grid):
    fac, dem = _frames([(0, 0)], [(100, 100), (200, 200)], cats=("meal",))
    r = assess({"walk": grid}, fac, dem, profile=PROFILE)
    assert r.demand["pop_80plus"].tolist() == [round(100 * 0.0254)] * 2
    assert r.demand["estimated_pop_assistance"].tolist() == [True, True]
    meal = r.category("meal")
    assert meal.groups[1].group == "pop_assistance" and meal.groups[1].estimated == 1.0
    assert meal.groups[0].estimated == 0.0
    dem["pop_assistance"] = [4, np.nan]  # one given, one blank: only the blank one is estimated
    r = assess({"walk": grid}, fac, dem, profile=PROFILE)
    assert r.demand["pop_assistance"].tolist() == [4, 3]
    assert r.demand["estimated_pop_assistance"].tolist() == [False, True]
    assert r.category("meal").group("pop_assistance").estimated == pytest.approx(3 / 7, abs=1e-4)


def test_street_rules_keep_their_rows_in_the_districts_table(grid):
    fac, dem = _frames([(0, 0)], [(100, 100)])
    fac.loc[0, "tier"] = "centre"
    box = shapely.box(*lonlat(-50, -50), *lonlat(1050, 1050))
    districts = gpd.GeoDataFrame({"street": ["一街道"]}, geometry=[box], crs="EPSG:4326")
    r = assess({"walk": grid}, fac, dem, profile=PROFILE, districts=districts, district_col="street",
               area_name="一区")
    legacy = r.districts[r.districts["rule"].notna()]
    new = r.rules.units[r.rules.units["scope"] == "street"]
    assert len(legacy) == len(new) and list(legacy["rule_ok"]) == list(new["ok"])
    assert r.unit_districts.tolist() == ["一街道"] and r.facility_districts.tolist() == ["一街道"]

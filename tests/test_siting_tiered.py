"""circles.siting tiered siting: township centres and village points chosen together under a budget.

Hand-solvable matrices and a 7×7 grid whose optimum is worked out below; the model and its
reduction against brute force on random small models; and on the Guixi county-town extract the
budgeted choice against an exact optimum computed independently in this file (travel times by
`circles.access.nearest_source`, one search per site, then brute force or PuLP + CBC).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circles.access import nearest_source
from circles.coverage import assess
from circles.errors import CirclesError, InputError, SolverError
from circles.profiles import load_profile
from circles.siting import (
    XIAN_2024,
    XIAN_2024_SOURCE,
    SiteCosts,
    TieredModel,
    reduce_tiered,
    solve_tiered,
    suggest_tiered_sites,
)
from circles.siting.costs import build_kind
from circles.siting.tiered_solve import cost_step, least_cost
from conftest import shared_data
from netfixtures import grid_ways, lonlat
from network import load_network


# ------------------------------------------------------------------ an independent reference
def tiered_value(ac, ap, lk, w, free, centres, points) -> float:
    """People covered (uncapacitated) by open centres and the open points a centre links or that are free."""
    hit = ac[list(centres)].any(axis=0) if len(centres) else np.zeros(len(w), bool)
    linked = free | (lk[list(centres)].any(axis=0) if len(centres) else False)
    counted = [j for j in points if linked[j]]
    if counted:
        hit = hit | ap[counted].any(axis=0)
    return float(w[hit].sum())


def brute(ac, ap, lk, w, cc, cp, free, *, budget=None, target=None):
    """Every subset of sites: (most people within `budget`, its cost) or (least cost reaching `target`, most
    people at that cost); None when the target is out of reach."""
    ac, ap, lk = (np.asarray(a, bool) for a in (ac, ap, lk))
    n_c, n_p = len(ac), len(ap)
    best = None
    for mask in itertools.product([0, 1], repeat=n_c + n_p):
        cs = [k for k in range(n_c) if mask[k]]
        ps = [j for j in range(n_p) if mask[n_c + j]]
        cost = float(sum(cc[k] for k in cs) + sum(cp[j] for j in ps))
        value = tiered_value(ac, ap, lk, np.asarray(w, float), np.asarray(free, bool), cs, ps)
        if budget is not None:
            if cost <= budget + 1e-9 and (best is None or value > best[0] + 1e-9):
                best = (value, cost)
        elif value >= target - 1e-9 and (best is None or cost < best[1] - 1e-9
                                         or (abs(cost - best[1]) <= 1e-9 and value > best[0])):
            best = (value, cost)
    return best


# ------------------------------------------------------------------ hand-solvable matrices
def test_a_point_counts_only_when_a_centre_links_it():
    # unit 0 (10 people) is covered by point 0, which only centre 0 links; centre 1 covers unit 1 (10)
    m = TieredModel.build([[0, 0], [0, 1]], [[1, 0]], [[1], [0]], [10.0, 10.0],
                          centre_costs=[1.0, 2.0], point_costs=[1.0])
    one = solve_tiered(m, budget=1.0)  # the point alone would cover 10 but nothing links it
    assert one.objective == 0.0 and one.order == ()
    three = solve_tiered(m, budget=3.0)  # centre 0 + point 0 (cost 2) or centre 1 (cost 2): 10 people
    assert three.objective == 10.0 and three.optimal and three.gap == 0.0
    four = solve_tiered(m, budget=4.0)
    assert four.objective == 20.0 and four.cost == 4.0
    # greedy order: the linking centre comes before its point, and adds nobody itself
    assert four.order.index(("centre", 0)) < four.order.index(("point", 0))
    assert dict(zip(four.order, four.added.tolist())) == {("centre", 1): 10.0, ("centre", 0): 0.0, ("point", 0): 10.0}
    free = TieredModel.build([[0, 0], [0, 1]], [[1, 0]], [[1], [0]], [10.0, 10.0], centre_costs=[1.0, 2.0],
                             point_costs=[1.0], point_free=[True])  # an existing centre links it
    assert solve_tiered(free, budget=1.0).order == (("point", 0),)


def test_an_existing_point_is_linked_at_no_cost():
    # an existing point (cost 0) covers 30 people but no centre reaches it; the new centre 0 does (cost 5)
    m = TieredModel.build([[0, 0, 0], [0, 1, 0]], [[1, 0, 0]], [[1], [0]], [30.0, 10.0, 5.0],
                          centre_costs=[5.0, 4.0], point_costs=[0.0])
    sel = solve_tiered(m, budget=5.0)
    assert sel.objective == 30.0 and sel.cost == 5.0 and set(sel.order) == {("centre", 0), ("point", 0)}


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_budget_optimum_beats_the_greedy(solver):
    # centre 0 covers 5 people for 2 (2.5 per yuan), centre 1 covers 9 for 4 (2.25): with 4 to spend the
    # greedy takes centre 0 and cannot afford centre 1 (5 people); the optimum is centre 1 (9)
    ac = np.zeros((2, 14), bool)
    ac[0, :5] = True
    ac[1, 5:] = True
    m = TieredModel.build(ac, np.zeros((0, 14)), np.zeros((2, 0)), np.ones(14), centre_costs=[2.0, 4.0],
                          point_costs=[])
    sel = solve_tiered(m, budget=4.0, solver=solver)
    assert sel.greedy_objective == 5.0 and sel.objective == 9.0 and sel.order == (("centre", 1),)
    assert sel.optimal and sel.gap == 0.0 and sel.solver == solver
    greedy = solve_tiered(m, budget=4.0, solver="greedy")
    assert greedy.objective == 5.0 and not greedy.optimal and greedy.bound >= 9.0


def test_target_least_cost_then_most_people():
    # centre 0 covers units {0, 1} (5 people) for 2, centre 1 units {1, 2} (6) for 2, point 0 unit 3 (1) for 1
    # (free); to cover 5: the least cost is 2, and at that cost centre 1 covers the most (6)
    m = TieredModel.build([[1, 1, 0, 0], [0, 1, 1, 0]], [[0, 0, 0, 1]], [[0], [0]], [2.0, 3.0, 3.0, 1.0],
                          centre_costs=[2.0, 2.0], point_costs=[1.0], point_free=[True])
    sel = solve_tiered(m, target=5.0)
    assert sel.cost == 2.0 and sel.objective == 6.0 and sel.order == (("centre", 1),) and sel.target_met
    assert sel.optimal and sel.gap == 0.0
    # 9 people: centre 0 + centre 1 (8) fall short; all three (cost 5) reach 9
    assert (solve_tiered(m, target=9.0).cost, solve_tiered(m, target=9.0).objective) == (5.0, 9.0)
    # 20 people are out of reach: the least cost reaching the most (9) is listed, target not met
    out = solve_tiered(m, target=20.0)
    assert out.target_met is False and out.objective == 9.0 and out.cost == 5.0 and "not reachable" in out.message


def test_capacities_limit_whom_a_site_serves():
    # two units of 10; point 0 (capacity 4) reaches both, point 1 (no limit) reaches unit 1, both free
    m = TieredModel.build(np.zeros((0, 2)), [[1, 1], [0, 1]], np.zeros((0, 2)), [10.0, 10.0], centre_costs=[],
                          point_costs=[1.0, 1.0], point_free=[True, True], point_capacity=[4.0, np.nan])
    one = solve_tiered(m, budget=1.0)
    assert one.objective == pytest.approx(10.0) and one.order == (("point", 1),)  # 10 beats the capped 4
    two = solve_tiered(m, budget=2.0)
    assert two.objective == pytest.approx(14.0)
    loads = dict(zip(two.order, two.loads.tolist()))
    assert loads[("point", 0)] == pytest.approx(4.0)  # unit 1 needs no capacity: point 1 covers it
    assert two.added.sum() == pytest.approx(two.objective)


matrices = st.integers(0, 2**31 - 1).map(lambda seed: np.random.default_rng(seed))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=matrices, n_c=st.integers(0, 3), n_p=st.integers(1, 4), n_u=st.integers(1, 7))
def test_exact_against_brute_force(rng, n_c, n_p, n_u):
    ac = rng.random((n_c, n_u)) < 0.35
    ap = rng.random((n_p, n_u)) < 0.4
    ap[:, : n_u // 3] = ap[:, [0]]  # identical columns, to be merged
    lk = rng.random((n_c, n_p)) < 0.5
    free = rng.random(n_p) < 0.3
    w = rng.integers(0, 6, n_u).astype(float)
    cc = rng.integers(2, 6, n_c).astype(float)
    cp = rng.integers(0, 4, n_p).astype(float)
    m = TieredModel.build(ac, ap, lk, w, centre_costs=cc, point_costs=cp, point_free=free)
    budget = float(rng.integers(1, 10))
    ref = brute(ac, ap, lk, w, cc, cp, free, budget=budget)
    for reduce in (True, False):
        sel = solve_tiered(m, budget=budget, solver="highs", reduce=reduce)
        assert sel.objective == ref[0] and sel.cost <= budget + 1e-9 and sel.optimal
        # the sites reported cover what is claimed, in the independent reference
        assert tiered_value(ac, ap, lk, w, free, sel.centres, sel.points) == sel.objective
    # the reduced model keeps the optimum (and drops what cannot matter)
    red = reduce_tiered(m)
    rm = red.model
    if rm.n_units:
        rref = brute(rm.centre_covers.toarray(), rm.point_covers.toarray(), rm.links.toarray(), rm.weights,
                     rm.centre_costs, rm.point_costs, rm.point_free, budget=budget)
        assert rref[0] == ref[0]
    reach = brute(ac, ap, lk, w, cc, cp, free, budget=1e9)[0]
    if reach > 0:
        target = float(rng.uniform(0.3, 1.0) * reach)
        tref = brute(ac, ap, lk, w, cc, cp, free, target=target)
        sel = solve_tiered(m, target=target, solver="highs")
        assert sel.target_met and (sel.cost, sel.objective) == (tref[1], tref[0])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=matrices, n_c=st.integers(1, 3), n_p=st.integers(1, 4), n_u=st.integers(2, 7))
def test_least_cost_by_bisection_alone(rng, n_c, n_p, n_u):
    """Without the least-cost MIP, the budgeted MIPs alone find and prove the least cost (costs in steps of
    0.25 or 300,000)."""
    ac = rng.random((n_c, n_u)) < 0.35
    ap = rng.random((n_p, n_u)) < 0.45
    lk = rng.random((n_c, n_p)) < 0.5
    free = rng.random(n_p) < 0.3
    w = rng.integers(1, 6, n_u).astype(float)
    unit = 0.25 if rng.random() < 0.5 else 300_000.0
    cc, cp = rng.integers(1, 9, n_c) * unit, rng.integers(1, 9, n_p) * unit
    m = TieredModel.build(ac, ap, lk, w, centre_costs=cc, point_costs=cp, point_free=free)
    reach = brute(ac, ap, lk, w, cc, cp, free, budget=1e12)[0]
    if reach == 0:
        return
    target = float(rng.uniform(0.2, 1.0) * reach)
    value, cost = brute(ac, ap, lk, w, cc, cp, free, target=target)
    every = (list(range(n_c)), list(range(n_p)))
    got = least_cost(m, target, start=every, direct_share=0.0)
    assert got.optimal and got.status.startswith("least cost proven")
    assert m.cost(*got.sites) == cost and m.value(*got.sites) == value and got.bound == cost
    assert cost_step(m) == pytest.approx(unit * np.gcd.reduce(np.round(np.r_[cc, cp] / unit).astype(int)))


def test_cost_step():
    m = TieredModel.build([[1]], [[1], [1]], [[1, 0]], [1.0], centre_costs=[600_000.0],
                          point_costs=[300_000.0, 450_000.0])
    assert cost_step(m) == 150_000.0
    m = TieredModel.build([[1]], [[1]], [[1]], [1.0], centre_costs=[0.3], point_costs=[0.0])
    assert cost_step(m) == pytest.approx(0.3)


def test_matrix_level_bad_input():
    with pytest.raises(InputError, match=r"centre_covers has 2 and point_covers 3 columns for 2 weights"):
        TieredModel.build([[1, 0]], [[1, 0, 1]], [[1]], [1.0, 1.0], centre_costs=[1.0], point_costs=[1.0])
    with pytest.raises(InputError, match=r"links is 2 × 1; give candidate centres × candidate points \(1 × 1\)"):
        TieredModel.build([[1, 0]], [[1, 0]], [[1], [0]], [1.0, 1.0], centre_costs=[1.0], point_costs=[1.0])
    with pytest.raises(InputError, match=r"point_costs\[0\] is -1.0"):
        TieredModel.build([[1, 0]], [[1, 0]], [[1]], [1.0, 1.0], centre_costs=[1.0], point_costs=[-1.0])
    m = TieredModel.build([[1, 0]], [[1, 0]], [[1]], [1.0, 1.0], centre_costs=[1.0], point_costs=[1.0])
    with pytest.raises(InputError, match=r"give a budget .* or a target .*one of the two"):
        solve_tiered(m, budget=1.0, target=1.0)
    with pytest.raises(InputError, match=r"budget is -5"):
        solve_tiered(m, budget=-5.0)
    with pytest.raises(SolverError, match=r"solver 'gurobi' is not known"):
        solve_tiered(m, budget=1.0, solver="gurobi")
    assert issubclass(InputError, CirclesError)


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_solvers_print_nothing(capfd, solver):
    capfd.readouterr()
    m = TieredModel.build([[0, 0], [0, 1]], [[1, 0]], [[1], [0]], [10.0, 10.0], centre_costs=[1.0, 2.0],
                          point_costs=[1.0], point_capacity=[5.0])
    solve_tiered(m, budget=4.0, solver=solver)
    solve_tiered(m, target=15.0, solver=solver)
    assert capfd.readouterr() == ("", "")


# ------------------------------------------------------------------ costs: the Xi'an defaults
def test_cost_defaults_are_the_xian_figures_and_cite_them():
    assert (XIAN_2024.new_yuan, XIAN_2024.renovation_yuan, XIAN_2024.operating_yuan_per_year) == (
        600_000.0, 300_000.0, 100_000.0)
    assert XIAN_2024.operating_years == 0.0 and XIAN_2024.cost("new") == 600_000.0
    for words in ("最高60万元", "最高30万元", "1.5万-10万元", "2024-09-20", "西安市养老服务扶持政策措施清单"):
        assert words in XIAN_2024_SOURCE
    three = SiteCosts(operating_years=3)
    assert three.cost("renovation") == 300_000.0 + 3 * 100_000.0
    assert three.cost("renovation", 120_000.0) == 420_000.0  # a candidate's own one-off cost
    assert three.cost("existing") == 0.0
    assert [build_kind(v) for v in ("新建", "提升改造", "Renovation ", "new")] == ["new", "renovation", "renovation",
                                                                                "new"]
    with pytest.raises(InputError, match=r"'拆除' is not a kind of works; write one of"):
        build_kind("拆除")
    with pytest.raises(InputError, match=r"SiteCosts.new_yuan is -1"):
        SiteCosts(new_yuan=-1)
    over = XIAN_2024.with_overrides(new_yuan=500_000, renovation_yuan=None)
    assert over.new_yuan == 500_000.0 and over.renovation_yuan == 300_000.0 and "overridden" in over.source
    assert XIAN_2024.with_overrides() is XIAN_2024


# ------------------------------------------------------------------ a 7×7 grid worked by hand
# 80 m edges. Walking at a plain 4.8 km/h and driving at maxspeed 4.8, one edge takes one minute.
# Centres cover within 1.05 min by road, points within 1.05 min on foot, a centre links points within 2.05 min.
# People (60+): A (0,0) 100, B (6,6) 100, C (6,0) 50, D (0,6) 30, E (3,3) 10 → 290.
# Existing: a centre at (0,0) (covers A) and a point X at (6,6) (covers B) that no centre links.
# Candidates: centre K1 (6,4) new, links X (2 min) and covers nobody; centre K2 (4,0) renovated, links P1;
# centre K3 (0,6) new, covers D; point P1 (6,0) renovated, covers C (capacity 20);
# point P2 (0,5) new, covers D, linked by K3 only; point P3 (3,3) renovated, covers E, but no centre reaches it.
# Budget 600k: K1 (X counts: +100). 1.2M: K1 + K2 + P1 (+150) beats K1 + K3 (+130).
# 1.8M: all three centres and P1 (+180). E is never covered: at most (100 + 180) / 290 = 96.6 %.
@pytest.fixture(scope="module")
def grid_case(tmp_path_factory):
    path = tmp_path_factory.mktemp("profile") / "grid.toml"
    path.write_text('base = "rural"\nid = "rural_grid"\n[categories.elderly.tiers.centre]\nmode = "drive"\nminutes = 1.05\n'
                    '[categories.elderly.tiers.station]\nminutes = 1.05\n', encoding="utf-8")
    profile = load_profile(path)
    ways = grid_ways(7, 80.0, extra_tags={"maxspeed": "4.8"})
    nets = {"walk": load_network(ways), "drive": load_network(ways, mode="drive")}

    def at(c, r):
        return lonlat(80.0 * c, 80.0 * r)

    people = {"A": ((0, 0), 100), "B": ((6, 6), 100), "C": ((6, 0), 50), "D": ((0, 6), 30), "E": ((3, 3), 10)}
    demand = pd.DataFrame([{"name": k, "lon": at(*xy)[0], "lat": at(*xy)[1], "population": p, "pop_60plus": p,
                            "pop_0_17": 0.0} for k, (xy, p) in people.items()])
    facilities = pd.DataFrame([
        {"name": "镇中心", "category": "elderly", "tier": "centre", "lon": at(0, 0)[0], "lat": at(0, 0)[1]},
        {"name": "幸福院X", "category": "elderly", "tier": "station", "lon": at(6, 6)[0], "lat": at(6, 6)[1]}])
    report = assess(nets, facilities, demand, profile=profile, plain_speed_kmh=4.8)
    sites = [("K1", "centre", (6, 4), "新建", np.nan), ("K2", "centre", (4, 0), "改造", np.nan),
             ("K3", "centre", (0, 6), "new", np.nan), ("P1", "station", (6, 0), "renovation", 20.0),
             ("P2", "station", (0, 5), "新建", np.nan), ("P3", "村级互助养老服务点/农村幸福院", (3, 3), "改造", np.nan)]
    candidates = pd.DataFrame([{"name": n, "tier": t, "lon": at(*xy)[0], "lat": at(*xy)[1], "build": b,
                                "capacity": c} for n, t, xy, b, c in sites])
    return report, nets, candidates


def _names(out) -> list[str]:
    return sorted(out.sites["name"])


@pytest.mark.parametrize(("budget", "names", "added"), [
    (600_000, ["K1", "幸福院X"], 100), (1_200_000, ["K1", "K2", "P1", "幸福院X"], 150),
    (1_800_000, ["K1", "K2", "K3", "P1", "幸福院X"], 180)])
def test_grid_budget_by_hand(grid_case, budget, names, added):
    report, nets, candidates = grid_case
    out = suggest_tiered_sites(report, nets, candidates, category="elderly", budget=budget, link_minutes=2.05)
    assert out.model == "tiered_budget" and out.optimal and out.gap == 0.0 and out.solver == "highs"
    assert _names(out) == names and out.objective == added and out.total_cost == budget
    assert out.coverage_before == pytest.approx(100 / 290) and out.report_coverage_before == pytest.approx(200 / 290)
    assert out.coverage_after == pytest.approx((100 + added) / 290)
    rows = out.sites.set_index("name")
    assert rows.loc["幸福院X", "build"] == "existing" and rows.loc["幸福院X", "cost"] == 0.0
    assert rows.loc["幸福院X", "centre"] == "K1" and rows.loc["幸福院X", "centre_minutes"] == pytest.approx(2.0, abs=0.01)
    assert rows.loc["K1", "cost"] == 600_000.0 and rows.loc["K1", "build"] == "new"
    assert rows.loc["K1", "added_covered"] == 0.0 and rows.loc["幸福院X", "added_covered"] == 100.0
    if "P1" in rows.index:
        assert rows.loc["P1", "centre"] == "K2" and rows.loc["P1", "cost"] == 300_000.0
        assert rows.loc["K2", "build"] == "renovation"
    assert out.sites["rank"].tolist() == list(range(1, len(names) + 1))
    assert out.sites["added_covered"].sum() == pytest.approx(added)
    assert out.existing == {"centres": 1, "points": 1, "points_linked_before": 0, "points_linked_now": 1}
    assert any("count only once a new centre links them" in n for n in out.notes)
    new = out.newly_covered * report.demand["pop_60plus"]
    assert new.sum() == pytest.approx(added) and new[report.demand["name"] == "E"].sum() == 0.0


def test_grid_target_capacity_and_outputs(grid_case):
    report, nets, candidates = grid_case
    out = suggest_tiered_sites(report, nets, candidates, category="elderly", target_coverage=0.85, link_minutes=2.05)
    assert out.model == "tiered_target" and out.target_met and out.optimal
    assert out.total_cost == 1_200_000 and out.objective == 150  # K1 + K3 (1.2M) add only 130 < 146.5
    far = suggest_tiered_sites(report, nets, candidates, category="elderly", target_coverage=0.99, link_minutes=2.05)
    assert far.target_met is False and far.total_cost == 1_800_000 and far.coverage_after == pytest.approx(280 / 290)
    # P1 holds 20 people: K1 + K2 + P1 now add 120, less than K1 + K3 (130)
    cap = suggest_tiered_sites(report, nets, candidates, category="elderly", budget=1_200_000, link_minutes=2.05,
                               capacitated=True)
    assert _names(cap) == ["K1", "K3", "幸福院X"] and cap.objective == pytest.approx(130)
    # a year of operation in the budget: each new site costs 600k + 100k, so 600k buys nothing
    yearly = suggest_tiered_sites(report, nets, candidates, category="elderly", budget=600_000, link_minutes=2.05,
                                  costs=SiteCosts(operating_years=1))
    assert yearly.sites.empty and any("fits the budget" in n for n in yearly.notes)
    # the default link is the centre tier's threshold (1.05 min): K1 no longer reaches X
    short = suggest_tiered_sites(report, nets, candidates, category="elderly", budget=600_000)
    assert short.tiers["link"] == {"tier": "centre", "mode": "drive", "minutes": 1.05, "speed_kmh": None,
                                   "direction": "centre → point"}
    assert _names(short) == ["K3"] and short.objective == 30
    summary = json.loads(json.dumps(out.summary(), ensure_ascii=False))
    assert summary["model"] == "tiered_target" and summary["per_tier"]["centre"]["cost"] == 900_000
    assert summary["costs"]["source"] == XIAN_2024_SOURCE and summary["total_cost"] == 1_200_000
    assert {"lon", "lat", "build", "cost", "added_covered", "centre"} <= set(summary["sites"][0])
    g = out.to_geodataframe()
    assert (g["kind"] == "suggested_site").all() and (g["category"] == "elderly").all() and g.crs == "EPSG:4326"
    assert set(g["tier"]) == {"centre", "station"}


def test_grid_bad_input(grid_case):
    report, nets, candidates = grid_case
    with pytest.raises(InputError, match=r"no drive network was given \(have: walk\)"):
        suggest_tiered_sites(report, {"walk": nets["walk"]}, candidates, category="elderly", budget=1e6)
    with pytest.raises(InputError, match=r"candidates row 0: tier 'meal' is neither the centre tier"):
        suggest_tiered_sites(report, nets, candidates.assign(tier="meal"), category="elderly", budget=1e6)
    with pytest.raises(InputError, match=r"candidates row 1 build: '拆除' is not a kind of works"):
        suggest_tiered_sites(report, nets, candidates.assign(build=["新建", "拆除", "", "", "", ""]),
                             category="elderly", budget=1e6)
    with pytest.raises(InputError, match=r"give a budget .* or target_coverage"):
        suggest_tiered_sites(report, nets, candidates, category="elderly")
    with pytest.raises(InputError, match=r"target_coverage is 1.5"):
        suggest_tiered_sites(report, nets, candidates, category="elderly", target_coverage=1.5)
    with pytest.raises(InputError, match=r"centre_tier and point_tier are both 'station'"):
        suggest_tiered_sites(report, nets, candidates, category="elderly", budget=1e6, centre_tier="station")
    with pytest.raises(SolverError, match=r"no usable candidate sites for 'elderly'"):
        far = candidates.assign(lon=candidates["lon"] + 1.0)
        suggest_tiered_sites(report, nets, far, category="elderly", budget=1e6)


# ------------------------------------------------------------------ Guixi: against an independent exact optimum
GUIXI_PROFILE = ('base = "rural"\nid = "rural_guixi"\n[categories.elderly.tiers.centre]\nmode = "drive"\nminutes = 2\n'
                 '[categories.elderly.tiers.station]\nminutes = 10\n')
LINK_MIN = 4.0
CENTRE_COSTS = SiteCosts(new_yuan=1_500_000, renovation_yuan=900_000)  # township centres cost more (an assumption)


@pytest.fixture(scope="module")
def guixi(tmp_path_factory):
    """A county town: 150 demand units on its streets, one existing centre and three points, candidates."""
    import shapely

    osm = shared_data("osm/jiangxi_guixi.osm")
    path = tmp_path_factory.mktemp("profile") / "guixi.toml"
    path.write_text(GUIXI_PROFILE, encoding="utf-8")
    profile = load_profile(path)
    nets = {"walk": load_network(osm), "drive": load_network(osm, mode="drive")}
    rng = np.random.default_rng(18)

    def on_edges(net, n):
        e = rng.choice(net.n_edges, n, replace=False)
        pts = shapely.line_interpolate_point(net.edge_lines()[e], rng.uniform(0.1, 0.9, n), normalized=True)
        return net.to_lonlat(shapely.get_x(pts), shapely.get_y(pts))

    ulon, ulat = on_edges(nets["walk"], 150)
    w = rng.integers(10, 200, 150).astype(float)
    demand = pd.DataFrame({"lon": ulon, "lat": ulat, "population": 5 * w, "pop_60plus": w, "pop_0_17": w})
    flon, flat = on_edges(nets["drive"], 4)
    facilities = pd.DataFrame({"name": ["镇中心", "幸福院甲", "幸福院乙", "幸福院丙"], "category": "elderly",
                               "tier": ["centre", "station", "station", "station"], "lon": flon, "lat": flat})
    report = assess(nets, facilities, demand, profile=profile)
    clon, clat = on_edges(nets["drive"], 10)
    plon, plat = on_edges(nets["walk"], 30)
    candidates = pd.DataFrame({
        "name": [f"C{i}" for i in range(10)] + [f"P{i}" for i in range(30)],
        "tier": ["centre"] * 10 + ["station"] * 30, "lon": np.r_[clon, plon], "lat": np.r_[clat, plat],
        "build": (["新建", "改造"] * 20), "cost": [np.nan, np.nan, 450_000.0] + [np.nan] * 36 + [120_000.0]})
    return report, nets, facilities, candidates, profile


def independent_instance(report, nets, facilities, candidates, profile):
    """Coverage and links from one `nearest_source` search per site (not `coverage_sets`), costs from the
    Xi'an figures by hand: the arrays `brute` and the PuLP model take, and the people covered before."""
    walk, drive = nets["walk"], nets["drive"]
    station = profile.category("elderly").tier("station")
    walk_cost, drive_cost = walk.travel_time_s(station.speed_kmh), drive.travel_time_s()
    d = report.demand
    w = d["pop_60plus"].to_numpy(float)

    def reach(net, cost, frame, targets, limit_s):
        rows = []
        for lon, lat in zip(frame["lon"], frame["lat"]):
            acc = nearest_source(net, net.snap(*net.to_xy([lon], [lat])), targets, cost)
            t = acc.target_cost.copy()
            t[targets.off_network] = np.inf
            rows.append(t <= limit_s)
        return np.array(rows, dtype=bool).reshape(len(frame), -1)

    def snap(net, frame):
        return net.snap(*net.to_xy(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)))

    walk_units, drive_units = snap(walk, d), snap(drive, d)
    ex_c = facilities[facilities["tier"] == "centre"]
    ex_p = facilities[facilities["tier"] == "station"]
    c_all = pd.concat([ex_c, candidates[candidates["tier"] == "centre"]], ignore_index=True)
    p_all = pd.concat([candidates[candidates["tier"] == "station"], ex_p], ignore_index=True)
    cov_c = reach(drive, drive_cost, c_all, drive_units, 2 * 60.0)
    cov_p = reach(walk, walk_cost, p_all, walk_units, 10 * 60.0)
    links = reach(drive, drive_cost, c_all, snap(drive, p_all), LINK_MIN * 60.0)
    n_ec, n_jp = len(ex_c), int((candidates["tier"] == "station").sum())
    linked_before = links[:n_ec].any(axis=0)
    before = cov_c[:n_ec].any(axis=0) | cov_p[n_jp:][linked_before[n_jp:]].any(axis=0)
    any_tier = cov_c[:n_ec].any(axis=0) | cov_p[n_jp:].any(axis=0)
    cand = candidates.reset_index(drop=True)

    def price(rows, costs):
        return np.array([c if np.isfinite(c) else (costs.new_yuan if b == "新建" else costs.renovation_yuan)
                         for b, c in zip(rows["build"], rows["cost"])])

    cc = price(cand[cand["tier"] == "centre"], CENTRE_COSTS)
    cp = np.r_[price(cand[cand["tier"] == "station"], XIAN_2024), np.zeros(len(ex_p))]  # existing points: free
    w_new = np.where(before, 0.0, w)
    return dict(ac=cov_c[n_ec:], ap=cov_p, lk=links[n_ec:], w=w_new, cc=cc, cp=cp, free=linked_before,
                covered_before=float(w[before].sum()), any_tier=any_tier, total=float(w.sum()), n_jp=n_jp)


@pytest.mark.shared_data
def test_guixi_coverage_before_follows_the_assessment(guixi):
    report, nets, facilities, candidates, profile = guixi
    ref = independent_instance(report, nets, facilities, candidates, profile)
    # any existing site, as the assessment counts: the same units
    assert ref["any_tier"].tolist() == report.demand["covered_elderly"].tolist()
    out = suggest_tiered_sites(report, nets, candidates, category="elderly", budget=1.0, link_minutes=LINK_MIN,
                               centre_costs=CENTRE_COSTS)
    assert out.covered_before == pytest.approx(ref["covered_before"])
    assert out.report_coverage_before == pytest.approx(report.category("elderly").coverage)
    assert out.existing["points_linked_before"] == int(ref["free"][ref["n_jp"]:].sum()) < 3  # some need a centre


@pytest.mark.shared_data
@pytest.mark.parametrize("budget", [900_000, 2_400_000, 3_600_000])
def test_guixi_budget_equals_brute_force(guixi, budget):
    report, nets, facilities, candidates, profile = guixi
    small = candidates[candidates["name"].isin([f"C{i}" for i in range(4)] + [f"P{i}" for i in range(8)])]
    ref = independent_instance(report, nets, facilities, small, profile)
    best_value, _ = brute(ref["ac"], ref["ap"], ref["lk"], ref["w"], ref["cc"], ref["cp"], ref["free"], budget=budget)
    out = suggest_tiered_sites(report, nets, small, category="elderly", budget=budget, link_minutes=LINK_MIN,
                               centre_costs=CENTRE_COSTS)
    assert out.optimal and out.gap == 0.0
    assert out.objective == pytest.approx(best_value) and out.total_cost <= budget
    assert out.covered_after == pytest.approx(ref["covered_before"] + best_value)
    # the sites reported cover that many, counted independently
    names = list(small["name"])
    chosen_c = [k for k, n in enumerate(names[:4]) if n in set(out.sites["name"])]
    chosen_p = [j for j, n in enumerate(names[4:]) if n in set(out.sites["name"])]
    chosen_p += [ref["n_jp"] + k for k, n in enumerate(["幸福院甲", "幸福院乙", "幸福院丙"]) if n in set(out.sites["name"])]
    value = tiered_value(ref["ac"], ref["ap"], ref["lk"], ref["w"], ref["free"], chosen_c, chosen_p)
    assert value == pytest.approx(out.objective)
    assert out.total_cost == pytest.approx(ref["cc"][chosen_c].sum() + ref["cp"][chosen_p].sum())


@pytest.mark.shared_data
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP 3.3 announces that 4.0 drops its CBC binary
def test_guixi_larger_instance_equals_pulp_cbc(guixi):
    """10 centres × 30 points: the budgeted choice and the least cost for a target share against PuLP + CBC."""
    pulp = pytest.importorskip("pulp")
    report, nets, facilities, candidates, profile = guixi
    ref = independent_instance(report, nets, facilities, candidates, profile)
    ac, ap, lk, w, cc, cp, free = (ref[k] for k in ("ac", "ap", "lk", "w", "cc", "cp", "free"))

    def solve(sense, objective, limit):
        prob = pulp.LpProblem("tiered", sense)
        y = [pulp.LpVariable(f"y{k}", cat="Binary") for k in range(len(ac))]
        x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(len(ap))]
        z = [pulp.LpVariable(f"z{i}", 0, 1) for i in range(len(w))]
        cost = pulp.lpSum(c * v for c, v in zip(cc, y)) + pulp.lpSum(c * v for c, v in zip(cp, x))
        people = pulp.lpSum(wi * zi for wi, zi in zip(w, z))
        prob += cost if objective == "cost" else people
        for i in range(len(w)):
            prob += z[i] <= pulp.lpSum(y[k] for k in np.flatnonzero(ac[:, i])) + pulp.lpSum(
                x[j] for j in np.flatnonzero(ap[:, i]))
        for j in np.flatnonzero(~free):
            prob += x[j] <= pulp.lpSum(y[k] for k in np.flatnonzero(lk[:, j]))
        prob += (cost <= limit) if objective == "people" else (people >= limit)
        prob.solve(pulp.PULP_CBC_CMD(msg=False))
        assert pulp.LpStatus[prob.status] == "Optimal"
        return pulp.value(prob.objective)

    for budget in (1_500_000, 3_000_000):
        out = suggest_tiered_sites(report, nets, candidates, category="elderly", budget=budget,
                                   link_minutes=LINK_MIN, centre_costs=CENTRE_COSTS)
        assert out.optimal and out.objective == pytest.approx(solve(pulp.LpMaximize, "people", budget))
    out = suggest_tiered_sites(report, nets, candidates, category="elderly", target_coverage=0.7,
                               link_minutes=LINK_MIN, centre_costs=CENTRE_COSTS)
    need = 0.7 * ref["total"] - ref["covered_before"]
    least = solve(pulp.LpMinimize, "cost", need * (1 - 1e-9))
    assert out.target_met and out.optimal and out.total_cost == pytest.approx(least)
    assert out.objective == pytest.approx(solve(pulp.LpMaximize, "people", least))  # the most people at that cost
    assert out.coverage_after >= 0.7


# ------------------------------------------------------------------ the command line
def test_cli_tiered_budget_writes_the_sites(tmp_path):
    from click.testing import CliRunner

    from circles.cli import main

    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["analyze", "--sample", "--profile", "rural", "--tiered", "--budget", "1200000",
                                    "--categories", "elderly,meal", "--operating-years", "1", "--figures-only",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    elderly = summary["suggestions"]["elderly"]
    assert elderly["model"] == "tiered_budget" and elderly["tiers"]["centre"]["mode"] == "ebike"  # the rural profile: by e-bike
    assert elderly["tiers"]["point"]["mode"] == "walk" and elderly["total_cost"] <= 1_200_000
    assert elderly["costs"]["operating_years"] == 1.0 and "overridden" in elderly["costs"]["source"]
    assert summary["suggestions"]["meal"]["centre_tier"] is None  # one tier: points need no link
    assert summary["inputs"]["tiered"] is True
    gaps = json.loads((out / "gaps.geojson").read_text(encoding="utf-8"))
    sites = [f for f in gaps["features"] if f["properties"]["kind"] == "suggested_site"]
    assert len(sites) == elderly["n_sites"] + summary["suggestions"]["meal"]["n_sites"] and sites
    assert {"build", "cost", "tier"} <= set(sites[0]["properties"])


@pytest.mark.parametrize(("args", "error"), [
    (["--budget", "1000", "--cost-new", "5"], "--cost-new only apply to tiered siting; add --tiered"),
    (["--tiered", "--suggest", "2"], "--tiered needs --budget AMOUNT"),
])
def test_cli_tiered_option_errors(tmp_path, args, error):
    from click.testing import CliRunner

    from circles.cli import main

    res = CliRunner().invoke(main, ["analyze", "--sample", *args, "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and error in res.output and "Traceback" not in res.output

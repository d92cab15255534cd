"""circles.siting: exact site selection on hand-solvable matrices, reductions against brute force,
walking coverage sets against circles.access, the optimum against spopt + CBC on real data, and the
sample district end to end."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circles.access import nearest_source
from circles.errors import CirclesError, ExtentError, InputError, SolverError
from circles.siting import (
    candidates_in_gaps,
    coverage_sets,
    reduce_model,
    solve_mclp,
    solve_set_cover,
    suggest_sites,
    uncovered_demand,
)
from conftest import shared_data
from netfixtures import grid_ways, lonlat
from network import load_network

EXACT = ["highs", "cbc"]


# ------------------------------------------------------------------ brute force references
def brute_mclp(a: np.ndarray, w: np.ndarray, p: int, costs=None, budget=None) -> float:
    best = 0.0
    for k in range(1, p + 1):
        for s in itertools.combinations(range(a.shape[0]), k):
            if budget is not None and sum(costs[j] for j in s) > budget + 1e-9:
                continue
            best = max(best, float(w[a[list(s)].any(axis=0)].sum()))
    return best


def brute_set_cover(a: np.ndarray, w: np.ndarray, target: float) -> tuple[int, float] | None:
    """Fewest sites reaching `target`, and the most weight with that many; None when unreachable."""
    for k in range(1, a.shape[0] + 1):
        vals = [float(w[a[list(s)].any(axis=0)].sum()) for s in itertools.combinations(range(a.shape[0]), k)]
        if max(vals) >= target - 1e-9:
            return k, max(vals)
    return None


# ------------------------------------------------------------------ hand-solvable matrices
# Six units of one person. Site 0 covers four of them, sites 1 and 2 three each, disjoint:
# the greedy takes site 0 (4) and then one more unit (5); the optimum takes 1 and 2 (6).
GREEDY_TRAP = np.array([[1, 1, 1, 1, 0, 0],
                        [1, 1, 0, 0, 1, 0],
                        [0, 0, 1, 1, 0, 1]], dtype=bool)


@pytest.mark.parametrize("solver", EXACT)
def test_mclp_finds_optimum_where_greedy_fails(solver):
    sel = solve_mclp(GREEDY_TRAP, np.ones(6), n_sites=2, solver=solver)
    assert sorted(sel.sites.tolist()) == [1, 2]
    assert sel.objective == 6.0 and sel.greedy_objective == 5.0
    assert sel.optimal and sel.gap == 0.0 and sel.solver == solver
    assert sel.added.tolist() == [3.0, 3.0] and sel.added.sum() == sel.objective
    assert sel.served.tolist() == [1.0] * 6


def test_greedy_solver_reports_its_bound():
    sel = solve_mclp(GREEDY_TRAP, np.ones(6), n_sites=2, solver="greedy")
    assert sel.sites[0] == 0 and sel.objective == 5.0 and not sel.optimal
    assert sel.bound >= 6.0  # a valid upper bound on the optimum
    assert sel.gap == pytest.approx((sel.bound - 5.0) / 5.0)


def test_marginal_gains_in_greedy_order():
    # units weigh 5, 4, 3, 1; site 0 covers {0, 1}, site 1 {1, 2}, site 2 {3}
    a = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=bool)
    sel = solve_mclp(a, np.array([5.0, 4.0, 3.0, 1.0]), n_sites=3)
    assert sel.sites.tolist() == [0, 1, 2]
    assert sel.added.tolist() == [9.0, 3.0, 1.0]


def test_sites_adding_nobody_are_left_out():
    a = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0]], dtype=bool)
    sel = solve_mclp(a, np.array([1.0, 1.0, 0.0]), n_sites=3)
    assert sel.sites.tolist() == [0] and sel.objective == 2.0 and sel.optimal
    assert "cover nobody new" in sel.message


@pytest.mark.parametrize("solver", EXACT)
def test_set_cover_fewest_sites_then_most_covered(solver):
    # units weigh 5, 3, 1, 1; site 0 {0, 1} = 8, site 1 {2}, site 2 {3}, site 3 {0} = 5
    a = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0]], dtype=bool)
    w = np.array([5.0, 3.0, 1.0, 1.0])
    sel = solve_set_cover(a, w, 9.0, solver=solver)
    assert len(sel.sites) == 2 and sel.sites[0] == 0 and sel.objective == 9.0
    assert sel.target_met and sel.optimal
    # target 5: site 0 (8) and site 3 (5) each reach it alone; the one covering more is chosen
    sel = solve_set_cover(a, w, 5.0, solver=solver)
    assert sel.sites.tolist() == [0] and sel.objective == 8.0


def test_set_cover_impossible_target_reports_best_reachable():
    a = np.array([[1, 0, 0], [0, 1, 0]], dtype=bool)  # unit 2 (weight 2) is out of reach
    sel = solve_set_cover(a, np.array([4.0, 4.0, 2.0]), 10.0)
    assert sel.target_met is False and sel.reachable == 8.0
    assert sorted(sel.sites.tolist()) == [0, 1] and sel.objective == 8.0
    assert "target 10 is not reachable" in sel.message and "at most 8" in sel.message


@pytest.mark.parametrize("solver", EXACT)
def test_budget(solver):
    # site 0 covers 10 for 4; site 1 covers 3 for 1, site 2 covers 3 for 1 (disjoint), site 3 covers 6 for 3
    a = np.zeros((4, 22), dtype=bool)
    a[0, :10] = True
    a[1, 10:13] = True
    a[2, 13:16] = True
    a[3, 16:22] = True
    costs = np.array([4.0, 1.0, 1.0, 3.0])
    w = np.ones(22)
    sel = solve_mclp(a, w, budget=4.0, costs=costs, solver=solver)
    assert sel.objective == 10.0 and sel.optimal  # {0} = 10 beats {1, 2} = 6 and {1, 3} = 9
    # budget 5: the ratio greedy takes 1 and 2 (3 per unit of cost), can no longer afford 0 and adds 3: 12;
    # the optimum is 0 with 1 (or 2): 13
    sel = solve_mclp(a, w, budget=5.0, costs=costs, solver=solver)
    assert sel.greedy_objective == 12.0
    assert sel.objective == 13.0 and sel.sites[0] == 0 and costs[sel.sites].sum() <= 5.0
    sel = solve_mclp(a, w, 1, budget=7.0, costs=costs, solver=solver)  # both limits: one site
    assert sel.objective == 10.0 and sel.sites.tolist() == [0]


def test_budget_with_count_by_brute_force():
    a = np.zeros((4, 22), dtype=bool)
    a[0, :10] = True
    a[1, 10:13] = True
    a[2, 13:16] = True
    a[3, 16:22] = True
    costs = np.array([4.0, 1.0, 1.0, 3.0])
    sel = solve_mclp(a, np.ones(22), 2, budget=5.0, costs=costs)
    assert sel.objective == brute_mclp(a, np.ones(22), 2, costs, 5.0) == 13.0


@pytest.mark.parametrize("solver", EXACT)
def test_capacitated_assignment_respects_capacity(solver):
    # three units of 10 people. site 0 reaches {A, B} with 10 seats, site 1 {B, C} with 15, site 2 all with 12.
    # Uncapacitated, site 2 alone covers all 30; with capacities, {1, 2} serve 15 + 12 = 27, the best pair.
    a = np.array([[1, 1, 0], [0, 1, 1], [1, 1, 1]], dtype=bool)
    w = np.full(3, 10.0)
    cap = np.array([10.0, 15.0, 12.0])
    assert solve_mclp(a, w, 1).objective == 30.0
    sel = solve_mclp(a, w, 2, capacities=cap, solver=solver)
    assert sorted(sel.sites.tolist()) == [1, 2] and sel.objective == pytest.approx(27.0)
    assert sel.optimal
    assert np.all(sel.loads <= cap[sel.sites] + 1e-6) and sel.loads.sum() == pytest.approx(27.0)
    assert sel.added.sum() == pytest.approx(27.0)
    assert np.all((sel.served >= 0) & (sel.served <= 1 + 1e-9)) and (w * sel.served).sum() == pytest.approx(27.0)
    # duplicates add capacity: two identical sites are not "dominated" when capacitated
    a2 = np.array([[1, 1], [1, 1]], dtype=bool)
    sel = solve_mclp(a2, np.array([10.0, 10.0]), 2, capacities=[10.0, 10.0], solver=solver)
    assert sel.objective == pytest.approx(20.0) and len(sel.sites) == 2


def test_capacitated_target_beyond_capacity():
    a = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    sel = solve_set_cover(a, np.full(3, 10.0), 30.0, capacities=[5.0, 5.0])
    assert sel.target_met is False and sel.reachable == pytest.approx(10.0)
    assert "their capacities limit it" in sel.message


def test_matrix_level_bad_input():
    with pytest.raises(SolverError, match=r"n_sites=4 is more than the 3 candidate sites"):
        solve_mclp(GREEDY_TRAP, np.ones(6), 4)
    with pytest.raises(InputError, match=r"weights has 5 values for 6 demand units"):
        solve_mclp(GREEDY_TRAP, np.ones(5), 2)
    with pytest.raises(InputError, match=r"weights\[1\] is -1.0"):
        solve_mclp(GREEDY_TRAP, np.array([1, -1, 1, 1, 1, 1.0]), 2)
    with pytest.raises(InputError, match=r"budget needs a cost per candidate"):
        solve_mclp(GREEDY_TRAP, np.ones(6), budget=3.0)
    with pytest.raises(SolverError, match=r"budget 1 is below the cheapest candidate's cost 2"):
        solve_mclp(GREEDY_TRAP, np.ones(6), budget=1.0, costs=[2.0, 3.0, 4.0])
    with pytest.raises(InputError, match=r"capacities\[0\] is nan"):
        solve_mclp(GREEDY_TRAP, np.ones(6), 2, capacities=[np.nan, 1.0, 1.0])
    with pytest.raises(SolverError, match=r"solver 'gurobi' is not known"):
        solve_mclp(GREEDY_TRAP, np.ones(6), 2, solver="gurobi")
    with pytest.raises(SolverError, match=r"time_limit_s is 0"):
        solve_set_cover(GREEDY_TRAP, np.ones(6), 3.0, time_limit_s=0)
    with pytest.raises(InputError, match=r"n_sites is 0"):
        solve_mclp(GREEDY_TRAP, np.ones(6), 0)
    with pytest.raises(InputError, match=r"target is -1"):
        solve_set_cover(GREEDY_TRAP, np.ones(6), -1.0)
    # one family: callers that catch CirclesError (the CLI, batch) still catch them all
    assert issubclass(InputError, CirclesError) and issubclass(SolverError, CirclesError)


def test_time_limit_returns_best_found_with_its_gap():
    rng = np.random.default_rng(7)
    a = rng.random((120, 900)) < 0.03  # random sets: hard for any MIP
    w = rng.integers(1, 50, 900).astype(float)
    sel = solve_mclp(a, w, 8, solver="highs", time_limit_s=0.2, reduce=False)
    assert sel.objective >= sel.greedy_objective
    if not sel.optimal:
        assert sel.bound >= sel.objective and sel.gap > 0


# ------------------------------------------------------------------ reductions: exact, by brute force
matrices = st.integers(0, 2**31 - 1).map(lambda seed: np.random.default_rng(seed))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=matrices, n_c=st.integers(1, 6), n_u=st.integers(1, 9), p=st.integers(1, 3))
def test_reduction_keeps_the_optimum(rng, n_c, n_u, p):
    a = rng.random((n_c, n_u)) < rng.uniform(0.2, 0.7)
    a[:, : n_u // 3] = a[:, [0]]  # identical columns, to be merged
    w = rng.integers(0, 5, n_u).astype(float)
    costs = rng.integers(1, 4, n_c).astype(float)
    p = min(p, n_c)
    red = reduce_model(a, w)
    ra = red.covers.toarray()
    assert brute_mclp(ra, red.weights, min(p, max(1, ra.shape[0]))) == brute_mclp(a, w, p) if ra.shape[0] else brute_mclp(a, w, p) == 0
    # every merged unit carries the weight of its members; no two merged units share a column
    assert red.weights.sum() == pytest.approx(w[(w > 0) & a.any(axis=0)].sum())
    assert len({tuple(c) for c in ra.T}) == ra.shape[1]
    # the MIP on the reduced model equals brute force on the original, also with costs and a budget
    sel = solve_mclp(a, w, p, solver="highs")
    assert sel.objective == brute_mclp(a, w, p)
    budget = float(costs.min() + 2)
    sel = solve_mclp(a, w, budget=budget, costs=costs, solver="highs")
    assert sel.objective == brute_mclp(a, w, n_c, costs, budget) and costs[sel.sites].sum() <= budget
    target = float(rng.uniform(0.3, 1.2) * max(w.sum(), 1))
    ref = brute_set_cover(a, w, target)
    sel = solve_set_cover(a, w, target, solver="highs")
    if ref is None:
        assert sel.target_met is False
        reach = float(w[a.any(axis=0)].sum())
        if reach > 0:
            assert sel.objective == reach and (len(sel.sites), sel.objective) == brute_set_cover(a, w, reach)
    else:
        assert sel.target_met and (len(sel.sites), sel.objective) == ref


@settings(max_examples=25, deadline=None)
@given(rng=matrices, n_c=st.integers(1, 5), n_u=st.integers(1, 6), p=st.integers(1, 3))
def test_capacitated_matches_brute_force_assignment(rng, n_c, n_u, p):
    from scipy.optimize import linprog

    a = rng.random((n_c, n_u)) < 0.5
    w = rng.integers(1, 6, n_u).astype(float)
    cap = rng.integers(0, 10, n_c).astype(float)
    p = min(p, n_c)

    def value(sites):  # the best assignment as an LP, independently of the module
        pairs = [(j, i) for j in sites for i in range(n_u) if a[j, i]]
        if not pairs:
            return 0.0
        c = -np.array([w[i] for _, i in pairs])
        rows, rhs = [], []
        for i in range(n_u):
            rows.append([1.0 if pi == i else 0.0 for _, pi in pairs]); rhs.append(1.0)
        for j in sites:
            rows.append([w[pi] if pj == j else 0.0 for pj, pi in pairs]); rhs.append(cap[j])
        return -linprog(c, A_ub=rows, b_ub=rhs, bounds=(0, 1), method="highs").fun

    best = max(value(s) for k in range(1, p + 1) for s in itertools.combinations(range(n_c), k))
    sel = solve_mclp(a, w, p, capacities=cap, solver="highs")
    assert sel.objective == pytest.approx(best, abs=1e-6)


# ------------------------------------------------------------------ coverage sets on a network
def test_coverage_sets_equal_access_times():
    net = load_network(grid_ways(7, 80.0))
    cost = net.travel_time_s(4.8)  # one 80 m edge = 60 s
    rng = np.random.default_rng(3)
    cand = np.array([lonlat(*xy) for xy in rng.uniform(0, 480, (12, 2))])
    dem = np.array([lonlat(*xy) for xy in rng.uniform(0, 480, (60, 2))])
    cs = net.snap(*net.to_xy(cand[:, 0], cand[:, 1]))
    ds = net.snap(*net.to_xy(dem[:, 0], dem[:, 1]))
    sets = coverage_sets(net, cs, ds, cost, threshold_s=240.0)
    assert sets.covers.shape == (12, 60)
    for j in range(12):
        one = nearest_source(net, _one(cs, j), ds, cost)
        expect = one.target_cost <= 240.0
        assert sets.covers[j].toarray().ravel().tolist() == expect.tolist()
        got = sets.time_s[j].toarray().ravel()
        np.testing.assert_allclose(got[expect], np.maximum(one.target_cost[expect], 1e-6), rtol=1e-9, atol=1e-6)


def test_coverage_sets_equal_access_times_with_one_way_streets():
    from circles.sample import make_sample

    s = make_sample()
    net = load_network(s.ways, mode="bike", boundary=s.boundary)  # dual carriageways are one-way
    assert net.edge_oneway.any()
    cost = net.travel_time_s(15.0)
    rng = np.random.default_rng(11)
    on_oneway = rng.choice(np.flatnonzero(net.edge_oneway), 10)
    edges = np.concatenate([on_oneway, rng.choice(net.n_edges, 10)])
    import shapely

    pts = shapely.line_interpolate_point(net.edge_lines()[edges], rng.uniform(0, 1, len(edges)), normalized=True)
    cs = net.snap(shapely.get_x(pts), shapely.get_y(pts))
    dem = shapely.line_interpolate_point(net.edge_lines()[np.concatenate([on_oneway, rng.choice(net.n_edges, 200)])],
                                         rng.uniform(0, 1, 210), normalized=True)
    ds = net.snap(shapely.get_x(dem), shapely.get_y(dem))
    sets = coverage_sets(net, cs, ds, cost, threshold_s=120.0)
    assert sets.covers.nnz > 0
    for j in range(len(edges)):
        one = nearest_source(net, _one(cs, j), ds, cost)
        assert sets.covers[j].toarray().ravel().tolist() == (one.target_cost <= 120.0).tolist()


def test_coverage_sets_by_hand():
    net = load_network(grid_ways(7, 80.0))
    cost = net.travel_time_s(4.8)
    cs = net.snap(*net.to_xy(*np.array([lonlat(240.0, 240.0)]).T))  # the centre node
    pts = np.array([lonlat(240.0, 0.0), lonlat(240.0, 20.0), lonlat(160.0, 200.0), lonlat(0.0, 0.0)])
    ds = net.snap(*net.to_xy(pts[:, 0], pts[:, 1]))
    sets = coverage_sets(net, cs, ds, cost, threshold_s=170.0)  # 170 s = 226.7 m at 0.75 s/m
    # 240 m, 220 m, 80 + 40 = 120 m, 480 m away
    assert sets.covers.toarray().ravel().tolist() == [False, True, True, False]
    np.testing.assert_allclose(sets.time_s.data, [165.0, 90.0], rtol=2e-3)


def _one(snap, j):

    return snap.take(np.array([j]))


# ------------------------------------------------------------------ real data: the optimum of spopt + CBC
@pytest.mark.shared_data
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # spopt builds PuLP 3 models the 4.0 way will replace
def test_same_objective_as_spopt_on_haidian():
    pulp = pytest.importorskip("pulp")
    MCLP = pytest.importorskip("spopt.locate").MCLP
    net = load_network(shared_data("osm/beijing_haidian_wudaokou.osm"))
    rng = np.random.default_rng(2024)
    demand = net.snap(net.node_x, net.node_y)  # nodes as demand
    weights = rng.integers(1, 40, net.n_nodes).astype(float)
    edges = rng.choice(net.n_edges, 150, replace=False)
    import shapely

    pts = shapely.line_interpolate_point(net.edge_lines()[edges], rng.uniform(0, 1, 150), normalized=True)
    cands = net.snap(shapely.get_x(pts), shapely.get_y(pts))
    threshold_s = 10 * 60.0  # 10 minutes at 3.6 km/h: 600 m, so that the choice of p sites matters
    sets = coverage_sets(net, cands, demand, net.travel_time_s(3.6, way_factors=False), threshold_s=threshold_s)
    p = 5
    cost_matrix = np.full((net.n_nodes, 150), threshold_s * 10)  # spopt: units × facilities
    t = sets.time_s.tocoo()
    cost_matrix[t.col, t.row] = t.data
    ref = MCLP.from_cost_matrix(cost_matrix, weights, service_radius=threshold_s, p_facilities=p)
    ref = ref.solve(pulp.PULP_CBC_CMD(msg=False))
    ref_obj = float(pulp.value(ref.problem.objective))
    for solver in EXACT:
        sel = solve_mclp(sets.covers, weights, p, solver=solver)
        assert sel.optimal and sel.objective == pytest.approx(ref_obj, abs=1e-6)
    greedy = solve_mclp(sets.covers, weights, p, solver="greedy")
    assert greedy.objective < ref_obj <= greedy.bound  # a case where the greedy falls short


# ------------------------------------------------------------------ the sample district end to end
@pytest.fixture(scope="module")
def sample_case():
    from circles.coverage import assess
    from circles.demand import demand_from_frame
    from circles.facilities import ledger_from_frame
    from circles.profiles import load_profile
    from circles.sample import make_sample

    s = make_sample()
    net = load_network(s.ways, boundary=s.boundary)
    profile = load_profile("15min")
    ledger = ledger_from_frame(s.facilities, source_name="sample", coords="wgs84", profile=profile, net=net,
                               boundary=s.boundary)
    demand = demand_from_frame(s.population, source_name="sample", age_shares=dict(profile.age_shares))
    report = assess({"walk": net}, ledger.facilities, demand.units, profile=profile, boundary=s.boundary)
    return net, report, s


def test_sample_suggestions_raise_coverage(sample_case):
    net, report, _ = sample_case
    res = report.category("elderly")
    out = suggest_sites(report, net, category="elderly", n_sites=3)
    assert out.model == "mclp" and out.optimal and out.gap == 0.0
    assert out.coverage_before == pytest.approx(res.coverage)
    assert out.coverage_after > out.coverage_before
    assert out.covered_after == pytest.approx(res.demand_covered + out.objective)
    assert len(out.sites) == 3 and out.sites["added_covered"].is_monotonic_decreasing
    assert out.sites["added_covered"].sum() == pytest.approx(out.objective)
    assert out.sites["assigned"].sum() == pytest.approx(out.objective)
    assert out.sites["coverage_after"].iloc[-1] == pytest.approx(out.coverage_after)
    assert out.objective >= out.greedy_objective
    # newly covered units: uncovered before, inside, and their people add up to the objective
    d = report.demand
    new = out.newly_covered
    assert new.index.equals(d.index)
    assert not (new[d["covered_elderly"]] > 0).any()
    assert (new * d["pop_60plus"] * d["inside"]).sum() == pytest.approx(out.objective)
    # more sites never cover fewer people
    more = suggest_sites(report, net, category="elderly", n_sites=5)
    assert more.objective >= out.objective
    json.dumps(out.summary(), ensure_ascii=False)
    g = out.to_geodataframe()
    assert (g["kind"] == "suggested_site").all() and g.crs == "EPSG:4326" and len(g) == 3
    assert g.geometry.x.tolist() == out.sites["lon"].tolist()
    assert {"sites", "coverage_before", "coverage_after", "optimal", "gap"} <= set(out.summary())
    assert {"lon", "lat", "added_covered"} <= set(out.summary()["sites"][0])


def test_sample_both_solvers_agree(sample_case):
    net, report, _ = sample_case
    cands = candidates_in_gaps(net, report, "meal", spacing_m=300.0)
    a = suggest_sites(report, net, cands, category="meal", n_sites=2, solver="highs")
    b = suggest_sites(report, net, cands, category="meal", n_sites=2, solver="cbc")
    assert a.objective == pytest.approx(b.objective) and a.optimal and b.optimal


def test_sample_target_coverage(sample_case):
    net, report, _ = sample_case
    out = suggest_sites(report, net, category="elderly", target_coverage=0.95)
    assert out.model == "set_cover" and out.target_met and out.coverage_after >= 0.95
    fewer = suggest_sites(report, net, category="elderly", n_sites=len(out.sites) - 1)
    assert fewer.coverage_after < 0.95  # the count is the fewest
    done = suggest_sites(report, net, category="elderly", target_coverage=0.5)
    assert done.sites.empty and done.target_met and "no new site needed" in " ".join(done.notes)


def test_sample_premises_list_with_costs_and_capacities(sample_case):
    net, report, s = sample_case
    gaps = candidates_in_gaps(net, report, "elderly", spacing_m=400.0)
    rng = np.random.default_rng(5)
    premises = gaps.assign(name=[f"社区用房{i}" for i in range(len(gaps))],
                           cost=rng.integers(50, 300, len(gaps)).astype(float),
                           capacity=rng.integers(100, 600, len(gaps)).astype(float),
                           category=["elderly" if i % 4 else "meal" for i in range(len(gaps))])
    out = suggest_sites(report, net, premises, category="elderly", budget=500.0)
    assert out.model == "budget" and out.sites["cost"].sum() <= 500.0
    assert out.candidates_given == int((premises["category"] == "elderly").sum())
    assert out.sites["name"].str.startswith("社区用房").all()
    assert set(out.sites["candidate"]) <= set(premises.index[premises["category"] == "elderly"])
    cap = suggest_sites(report, net, premises, category="elderly", n_sites=3, capacitated=True)
    assert cap.capacitated and (cap.sites["assigned"] <= cap.sites["capacity"] + 1e-6).all()
    assert cap.objective == pytest.approx(cap.sites["assigned"].sum())
    free = suggest_sites(report, net, premises, category="elderly", n_sites=3)
    assert cap.objective <= free.objective + 1e-6
    # a target beyond the capacities: reported with the numbers, not raised
    tiny = premises.head(20).assign(capacity=5.0, category="elderly")  # 100 seats for thousands
    out = suggest_sites(report, net, tiny, category="elderly", target_coverage=0.99, capacitated=True)
    assert out.target_met is False
    assert any("highest possible capacity" in n for n in out.notes)


def test_sample_geodataframe_candidates(sample_case):
    import geopandas as gpd
    import shapely

    net, report, _ = sample_case
    gaps = candidates_in_gaps(net, report, "child", spacing_m=300.0)
    pts = gpd.GeoSeries(gpd.points_from_xy(gaps["lon"], gaps["lat"]), crs="EPSG:4326").to_crs(net.crs)
    buildings = gpd.GeoDataFrame({"name": [f"b{i}" for i in range(len(gaps))]},
                                 geometry=shapely.box(pts.x - 10, pts.y - 10, pts.x + 10, pts.y + 10), crs=net.crs)
    out = suggest_sites(report, net, buildings, category="child", n_sites=2)
    assert len(out.sites) >= 1 and out.coverage_after > out.coverage_before


def test_sample_bad_input(sample_case):
    net, report, _ = sample_case
    far = pd.DataFrame({"lon": [100.0, 100.01], "lat": [30.0, 30.01]})
    with pytest.raises(SolverError, match=r"all 2 candidates lie more than 200 m from any walkable way"):
        suggest_sites(report, net, far, category="elderly", n_sites=1)
    gaps = candidates_in_gaps(net, report, "elderly", spacing_m=400.0).head(4)
    with pytest.raises(SolverError, match=r"n_sites=9 is more than the 4 usable candidate sites"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=9)
    with pytest.raises(InputError, match=r"target_coverage is 1.5"):
        suggest_sites(report, net, gaps, category="elderly", target_coverage=1.5)
    with pytest.raises(InputError, match=r"no 'capacity' column"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=1, capacitated=True)
    with pytest.raises(InputError, match=r"candidates row 1: capacity is missing"):
        suggest_sites(report, net, gaps.assign(capacity=[5, None, 5, 5]), category="elderly", n_sites=1,
                      capacitated=True)
    with pytest.raises(SolverError, match=r"the highest possible capacity \(0\) cannot serve any of the"):
        suggest_sites(report, net, gaps.assign(capacity=0), category="elderly", n_sites=1, capacitated=True)
    with pytest.raises(InputError, match=r"generated gap points have none"):
        suggest_sites(report, net, category="elderly", budget=100.0)
    with pytest.raises(SolverError, match=r"budget 10 is below the cheapest usable candidate's cost 50"):
        suggest_sites(report, net, gaps.assign(cost=50.0), category="elderly", budget=10.0)
    with pytest.raises(InputError, match=r"give n_sites"):
        suggest_sites(report, net, gaps, category="elderly")
    with pytest.raises(InputError, match=r"n_sites is 2.5"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=2.5)
    with pytest.raises(InputError, match=r"category 'nursing' is not known"):
        suggest_sites(report, net, gaps.assign(category="nursing"), category="elderly", n_sites=1)
    with pytest.raises(SolverError, match=r"no candidate sites for category 'elderly'.*2 row\(s\)"):
        suggest_sites(report, net, gaps.head(2).assign(category="meal"), category="elderly", n_sites=1)
    with pytest.raises(InputError, match=r"candidates row 0: location \(200.0, 30.0\) is missing or out of range"):
        suggest_sites(report, net, pd.DataFrame({"lon": [200.0], "lat": [30.0]}), category="elderly", n_sites=1)
    with pytest.raises(SolverError, match=r"solver 'gurobi' is not known"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=1, solver="gurobi")
    with pytest.raises(CirclesError, match=r"category 'parks' is not in this report"):
        suggest_sites(report, net, gaps, category="parks", n_sites=1)


def test_candidates_in_gaps_are_within_reach_of_gaps(sample_case):
    net, report, _ = sample_case
    pts = candidates_in_gaps(net, report, "elderly", spacing_m=150.0)
    assert len(pts) > 0 and list(pts.columns) == ["lon", "lat", "name", "edge", "offset_m"]
    # no generated point on a street is dropped that could cover an uncovered unit: a point just past the
    # reach (900 m at 3.6 km/h) covers nobody, every kept point lies within it
    new_w = uncovered_demand(report, "elderly")
    d = report.demand[new_w > 0]
    ux, uy = net.to_xy(d["lon"], d["lat"])
    px, py = net.to_xy(pts["lon"], pts["lat"])
    dist = np.hypot(px[:, None] - ux[None, :], py[:, None] - uy[None, :]).min(axis=1)
    assert dist.max() <= 15 * 60 * 1.0 * 1.01 + 200  # reach plus the units' snap distance


def test_drive_tiers_are_refused(sample_case):
    import dataclasses

    from circles.profiles import load_profile

    net, report, _ = sample_case
    rural = dataclasses.replace(report, profile=load_profile("rural"))
    with pytest.raises(InputError, match=r"tier 'county' of category 'elderly' is reached by road.*station"):
        suggest_sites(rural, net, category="elderly", n_sites=1, tier="county")  # the centre is by e-bike
    assert suggest_sites(report, net, category="elderly", n_sites=1).tier == "station"


# ------------------------------------------------------------------ solvers print nothing
@pytest.mark.parametrize("solver", EXACT)
def test_solvers_print_nothing(capfd, solver):
    # maximal covering, set cover (two MIPs) and capacitated (the assignment LPs run on HiGHS either way)
    capfd.readouterr()
    solve_mclp(GREEDY_TRAP, np.ones(6), 2, solver=solver)
    solve_set_cover(GREEDY_TRAP, np.ones(6), 6.0, solver=solver)
    solve_mclp(GREEDY_TRAP, np.ones(6), 2, capacities=[3.0, 2.0, 2.0], solver=solver)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_a_fresh_process_solving_prints_nothing():
    """HiGHS prints its banner once per process, the first time a solver object is made with output on:
    only a fresh interpreter shows whether the first solve is silent."""
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from circles.siting import solve_mclp, solve_set_cover\n"
            "a = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], bool)\n"
            "for s in ('highs', 'cbc'):\n"
            "    assert solve_mclp(a, np.ones(6), 2, solver=s).objective == 6.0\n"
            "    solve_set_cover(a, np.ones(6), 6.0, solver=s)\n"
            "    solve_mclp(a, np.ones(6), 2, capacities=[3.0, 2.0, 2.0], solver=s)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert (done.stdout, done.stderr) == (b"", b"")


# ------------------------------------------------------------------ sites only inside `within`
def _west_half(polygon):
    import shapely

    x0, y0, x1, y1 = polygon.bounds
    return shapely.box(x0 - 0.01, y0 - 0.01, (x0 + x1) / 2, y1 + 0.01)


def test_within_drops_given_candidates_outside(sample_case):
    import shapely

    net, report, s = sample_case
    gaps = candidates_in_gaps(net, report, "elderly", spacing_m=300.0)
    west = _west_half(s.boundary)
    outside = ~shapely.contains_xy(west, gaps["lon"], gaps["lat"])
    assert 0 < outside.sum() < len(gaps)
    out = suggest_sites(report, net, gaps, category="elderly", n_sites=3, within=west)
    assert out.dropped_outside == int(outside.sum())
    assert out.candidates_given == len(gaps) and out.candidates_used <= len(gaps) - out.dropped_outside
    assert len(out.sites) >= 1 and shapely.contains_xy(west, out.sites["lon"], out.sites["lat"]).all()
    assert set(out.sites["candidate"]) <= set(gaps.index[~outside])
    assert f"{out.dropped_outside} candidate(s) outside the study area" in out.message
    assert out.summary()["dropped_outside"] == out.dropped_outside
    assert (out.to_geodataframe()["dropped_outside"] == out.dropped_outside).all()
    # fewer candidates never cover more
    free = suggest_sites(report, net, gaps, category="elderly", n_sites=3)
    assert free.dropped_outside == 0 and "outside the study area" not in free.message
    assert out.objective <= free.objective + 1e-9


def test_within_drops_generated_candidates_outside(sample_case):
    import shapely

    net, report, s = sample_case
    west = _west_half(s.boundary)
    out = suggest_sites(report, net, category="meal", n_sites=2, within=west)
    assert out.dropped_outside > 0
    assert shapely.contains_xy(west, out.sites["lon"], out.sites["lat"]).all()


def test_within_refusals(sample_case):
    import shapely

    net, report, s = sample_case
    gaps = candidates_in_gaps(net, report, "elderly", spacing_m=400.0)
    x0, y0, x1, y1 = s.boundary.bounds
    elsewhere = shapely.box(x1 + 0.1, y1 + 0.1, x1 + 0.2, y1 + 0.2)
    with pytest.raises(SolverError, match=rf"all {len(gaps)} candidates for 'elderly' lie outside the study area"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=1, within=elsewhere)
    with pytest.raises(ExtentError, match=r"within is empty"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=1, within=shapely.Polygon())
    with pytest.raises(InputError, match=r"outside lon/lat ranges.*not projected metres"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=1, within=shapely.box(0, 0, 5e5, 4e6))
    with pytest.raises(InputError, match=r"within is a Point"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=1, within=shapely.Point(x0, y0))
    west = _west_half(s.boundary)
    n_in = int(shapely.contains_xy(west, gaps["lon"], gaps["lat"]).sum())
    with pytest.raises(SolverError, match=rf"n_sites=99 is more than the \d+ usable candidate sites "
                                          rf"\({len(gaps) - n_in} more lie outside the study area"):
        suggest_sites(report, net, gaps, category="elderly", n_sites=99, within=west)


@pytest.mark.shared_data
def test_within_keeps_sites_inside_on_haidian():
    import shapely

    from circles.coverage import assess
    from circles.profiles import load_profile

    net = load_network(shared_data("osm/beijing_haidian_wudaokou.osm"))
    rng = np.random.default_rng(8)
    lo0, la0, lo1, la1 = net.bbox_lonlat
    fac = pd.DataFrame({"category": "elderly", "tier": "station", "lon": rng.uniform(lo0, lo1, 3),
                        "lat": rng.uniform(la0, la1, 3)})
    dem = pd.DataFrame({"lon": rng.uniform(lo0, lo1, 150), "lat": rng.uniform(la0, la1, 150),
                        "population": 100, "pop_60plus": rng.integers(10, 50, 150), "pop_0_17": 10})
    report = assess({"walk": net}, fac, dem, profile=load_profile("15min"))
    # the south-west quarter of the extract, as the study area cut to the data would be
    part = shapely.box(lo0, la0, (lo0 + lo1) / 2, (la0 + la1) / 2)
    out = suggest_sites(report, net, category="elderly", n_sites=4, within=part)
    assert len(out.sites) >= 1 and out.dropped_outside > 0
    assert shapely.contains_xy(part, out.sites["lon"], out.sites["lat"]).all()
    free = suggest_sites(report, net, category="elderly", n_sites=4)
    assert not shapely.contains_xy(part, free.sites["lon"], free.sites["lat"]).all()  # the limit mattered
    assert out.objective <= free.objective + 1e-9

"""Selection on a coverage matrix: `solve_mclp` (maximal covering, budgets) and `solve_set_cover` → `Selection`.

The cost-matrix seam (like spopt's ``MCLP.from_cost_matrix``): any boolean candidates × units
matrix and unit weights. The model is reduced (`circles.siting.reduce`), the lazy greedy gives
the warm start (`circles.siting.greedy`), the MIP is solved exactly (`circles.siting.mip`), and
the sites come back in greedy order, in the matrix's own indices, with each one's marginal gain.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from circles.errors import InputError, SolverError
from circles.siting.greedy import REL_TOL, coverage_value, greedy_order, lazy_greedy, mclp_bound
from circles.siting.mip import (
    DEFAULT_TIME_LIMIT_S,
    assign,
    capacitated_order,
    check_solver,
    relative_gap,
    solve_exact,
)
from circles.siting.reduce import ReducedModel, reduce_model

__all__ = ["Selection", "check_n_sites", "solve_mclp", "solve_set_cover"]


@dataclass(frozen=True)
class Selection:
    """The answer of `solve_mclp` / `solve_set_cover` on a coverage matrix.

    Attributes
    ----------
    sites
        Chosen candidates (rows of the matrix), in greedy order: each adds the most among the rest.
    added
        Weight newly covered by each site, given the sites before it (sums to ``objective``).
    objective
        Total weight covered by the sites (people), computed on the unreduced matrix.
    bound
        Best bound on the model's objective proven by the solver (the weight for maximal
        covering, the number of sites for set cover); NaN when unknown.
    optimal
        True when the solver proved optimality.
    gap
        Relative gap between the solution and the bound on the model's objective
        (``|bound − value| / |value|``); 0 when optimal, NaN when no bound is known.
    solver
        ``"highs"``, ``"cbc"`` or ``"greedy"`` (what produced the sites).
    time_limit_s, solve_s
        The solver's time limit and the wall time of reduction + greedy + MIP (seconds).
    greedy_objective
        Weight covered by the lazy greedy alone (the warm start), for comparison.
    served
        Per unit of the matrix: share of its weight covered by the sites (0/1 uncapacitated).
    loads
        Capacitated only: weight assigned to each site (in ``sites`` order), at most its capacity.
    target, target_met
        Set cover only: the weight to reach and whether it was reached (else the best
        reachable weight was targeted instead).
    reachable
        The most weight all candidates together can cover.
    model_size
        Candidates and units before and after reduction, MIP nonzeros.
    timings
        Seconds per stage: ``reduce``, ``greedy``, ``mip``.
    message
        One line for the planner: what was solved and how well.
    """

    sites: np.ndarray
    added: np.ndarray
    objective: float
    bound: float
    optimal: bool
    gap: float
    solver: str
    time_limit_s: float
    solve_s: float
    greedy_objective: float
    served: np.ndarray
    reachable: float
    loads: np.ndarray | None = None
    target: float | None = None
    target_met: bool | None = None
    model_size: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    status: str = ""
    message: str = ""


def _check_matrix(covers: sparse.spmatrix | np.ndarray, weights: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    a = sparse.csr_matrix(covers, dtype=bool)
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) != a.shape[1]:
        raise InputError(f"weights has {w.size} values for {a.shape[1]} demand units (columns of covers); "
                         "give one weight per unit")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if len(bad):
        raise InputError(f"weights[{bad[0]}] is {w[bad[0]]}; demand weights must be finite and >= 0")
    return a, w


def _check_vector(values: Any, n: int, name: str, *, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) != n:
        raise InputError(f"{name} has {v.size} values for {n} candidates; give one {what} per candidate")
    bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
    if len(bad):
        raise InputError(f"{name}[{bad[0]}] is {v[bad[0]]}; each {what} must be a number >= 0")
    return v


def check_n_sites(n_sites: Any) -> None:
    """Refuse a number of sites that is not a whole number >= 1 (`InputError`)."""
    if isinstance(n_sites, bool) or int(n_sites) != n_sites or n_sites < 1:
        raise InputError(f"n_sites is {n_sites!r}; give a whole number of new sites >= 1")


def solve_mclp(
    covers: sparse.spmatrix | np.ndarray,
    weights: np.ndarray,
    n_sites: int | None = None,
    *,
    budget: float | None = None,
    costs: np.ndarray | None = None,
    capacities: np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    solver: str = "auto",
    reduce: bool = True,
) -> Selection:
    """Maximal covering: at most `n_sites` sites (and/or a `budget`) covering the most weight.

    The matrix-level core (the cost-matrix seam, like spopt's ``MCLP.from_cost_matrix``): give
    it any boolean coverage matrix. Units already covered by existing facilities should carry
    weight 0 (`suggest_sites` does that). The model is reduced (`reduce_model`), a lazy greedy
    gives the warm start, and the MIP is solved exactly by HiGHS or CBC within `time_limit_s`.

    Parameters
    ----------
    covers
        Boolean matrix, candidates × demand units: True where the candidate covers the unit.
    weights
        Demand of each unit (people), ≥ 0.
    n_sites
        At most this many new sites (p). Required unless `budget` is given.
    budget
        Total cost allowed (same currency as `costs`).
    costs
        Cost of each candidate (needed with `budget`).
    capacities
        People each candidate can serve; None for the uncapacitated model. Capacitated, each
        site covers at most its capacity and units may be split between sites.
    time_limit_s
        Wall-clock limit of the MIP solver (seconds); the best solution found is returned with
        its gap when the limit is reached.
    solver
        ``"auto"`` (the faster back end for the model's shape, see `bench/bench_siting.py`),
        ``"highs"``, ``"cbc"``, or ``"greedy"`` (no MIP: the lazy greedy with a bound).
    reduce
        Reduce the model first (merge identical units, drop dominated candidates).

    Returns
    -------
    Selection

    Raises
    ------
    InputError
        Bad weights, costs, capacities, `n_sites` or `budget`.
    SolverError
        More sites than candidates, a budget below every cost, or an unknown solver.

    Examples
    --------
    Three candidates, six units of weight 1. The greedy takes the big first set (4 units) and
    then adds one unit; the optimum takes the other two sets and covers all six:

    >>> import numpy as np
    >>> covers = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], bool)
    >>> sel = solve_mclp(covers, np.ones(6), n_sites=2)
    >>> sorted(sel.sites.tolist()), sel.objective, sel.greedy_objective, sel.optimal
    ([1, 2], 6.0, 5.0, True)
    """
    a, w = _check_matrix(covers, weights)
    check_solver(solver, time_limit_s)
    n_cand = a.shape[0]
    if n_sites is None and budget is None:
        raise InputError("give n_sites (how many new sites) or a budget (with costs per candidate)")
    if n_sites is not None:
        check_n_sites(n_sites)
        n_sites = int(n_sites)
        if n_sites > n_cand:
            raise SolverError(f"n_sites={n_sites} is more than the {n_cand} candidate sites; "
                              f"lower n_sites to at most {n_cand} or add candidates")
    if budget is not None:
        if costs is None:
            raise InputError("a budget needs a cost per candidate: give costs (a 'cost' column of the candidates)")
        if not (np.isfinite(budget) and budget > 0):
            raise InputError(f"budget is {budget}; give a total budget > 0")
        costs = _check_vector(costs, n_cand, "costs", what="cost")
        if n_cand and costs.min() > budget:
            raise SolverError(f"budget {budget:,.0f} is below the cheapest candidate's cost {costs.min():,.0f}; "
                              "raise the budget or add cheaper candidates")
    elif costs is not None:
        costs = _check_vector(costs, n_cand, "costs", what="cost")
    cap = None if capacities is None else _check_vector(capacities, n_cand, "capacities", what="capacity")
    return _solve(a, w, model="mclp", n_sites=n_sites, budget=budget, costs=costs if budget is not None else None,
                  cap=cap, target=None, time_limit_s=time_limit_s, solver=solver, reduce=reduce)


def solve_set_cover(
    covers: sparse.spmatrix | np.ndarray,
    weights: np.ndarray,
    target: float,
    *,
    capacities: np.ndarray | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    solver: str = "auto",
    reduce: bool = True,
) -> Selection:
    """The fewest sites that cover at least `target` weight; among those, the most weight.

    Solved in two phases: the fewest sites k (MIP), then maximal covering with k sites,
    warm-started from phase one. When all candidates together cover less than `target`, the
    best reachable weight is targeted instead and ``target_met`` is False (the message gives
    both figures).

    Parameters
    ----------
    covers
        Boolean matrix, candidates × demand units.
    weights
        Demand of each unit (people), ≥ 0; units already covered should weigh 0.
    target
        Weight (people) the new sites must cover, > 0.
    capacities
        People each candidate can serve; None for uncapacitated.
    time_limit_s, solver, reduce
        As in `solve_mclp`; the time limit covers both phases.

    Returns
    -------
    Selection

    Examples
    --------
    >>> import numpy as np
    >>> covers = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], bool)
    >>> sel = solve_set_cover(covers, np.array([5.0, 3.0, 1.0, 1.0]), 9.0)
    >>> sel.sites.tolist(), sel.objective
    ([0, 1], 9.0)
    """
    a, w = _check_matrix(covers, weights)
    check_solver(solver, time_limit_s)
    if not (np.isfinite(target) and target > 0):
        raise InputError(f"target is {target}; give the demand (people) to cover, > 0")
    cap = None if capacities is None else _check_vector(capacities, a.shape[0], "capacities", what="capacity")
    return _solve(a, w, model="set_cover", n_sites=None, budget=None, costs=None, cap=cap, target=float(target),
                  time_limit_s=time_limit_s, solver=solver, reduce=reduce)


def _reachable(a: sparse.csr_matrix, w: np.ndarray, cap: np.ndarray | None) -> float:
    """The most weight all candidates together can cover (capacitated: their best assignment)."""
    if cap is None:
        return float(w[np.diff(a.tocsc().indptr) > 0].sum())
    return assign(a, w, cap, list(range(a.shape[0])))[0]


def _solve(a: sparse.csr_matrix, w: np.ndarray, *, model: str, n_sites: int | None, budget: float | None,
           costs: np.ndarray | None, cap: np.ndarray | None, target: float | None, time_limit_s: float, solver: str,
           reduce: bool) -> Selection:
    """Reduce, greedy, MIP, then the sites in greedy order in the original indices."""
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    red = reduce_model(a, w, costs=costs, drop_dominated=cap is None) if reduce else ReducedModel.unreduced(a, w)
    ra, rw = red.covers, red.weights
    rcost = None if costs is None else costs[red.candidates]
    rcap = None if cap is None else cap[red.candidates]
    timings["reduce"] = time.perf_counter() - t0
    size = {"candidates": int(a.shape[0]), "units": int(a.shape[1]), "candidates_reduced": int(ra.shape[0]),
            "units_reduced": int(ra.shape[1]), "dominated_dropped": int(red.dropped_dominated)}
    counts = np.diff(ra.tocsc().indptr)

    reachable = _reachable(ra, rw, rcap)
    target_met, want = None, target
    if model == "set_cover":
        target_met = reachable >= target * (1 - REL_TOL)
        want = target if target_met else reachable

    t0 = time.perf_counter()
    g_sites = _warm_start(ra, rw, rcap, model=model, want=want, n_sites=n_sites, costs=rcost, budget=budget,
                          counts=counts)
    g_value = assign(ra, rw, rcap, g_sites)[0] if rcap is not None else coverage_value(ra, rw, g_sites)
    timings["greedy"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sites, optimal, bound, used, status = _mip_stage(
        ra, rw, rcap, model=model, n_sites=n_sites, budget=budget, costs=rcost, want=want, reachable=reachable,
        g_sites=g_sites, g_value=g_value, time_limit_s=time_limit_s, solver=solver, size=size, timings=timings)
    timings["mip"] = time.perf_counter() - t0

    # ---- report in the original indices, sites in greedy order, those adding nobody left out
    tol = 1e-9 * max(1.0, float(rw.sum()))
    order, gains, keep, served_red, loads = _greedy_ordered(ra, rw, rcap, sites, counts, tol=tol)
    dropped_zero = int((~keep).sum())
    if model == "mclp" and n_sites is not None and budget is None:
        dropped_zero = n_sites - int(keep.sum())  # asked for more sites than add anyone new
    order = [j for j, k in zip(order, keep) if k]
    gains = [g for g, k in zip(gains, keep) if k]
    if loads is not None:
        loads = np.asarray(loads, dtype=float)[: len(order)]
    orig = red.candidates[np.asarray(order, dtype=np.int64)] if order else np.zeros(0, dtype=np.int64)
    served, objective = _served(a, w, red, orig, served_red)
    value = objective if model != "set_cover" else float(len(orig))
    if model != "set_cover" and not optimal and np.isfinite(bound) and value >= bound - tol:
        optimal, status = True, status + "; reaches the upper bound"  # e.g. the greedy meets the capacity bound
    gap = relative_gap(value, bound, optimal)
    capacity_limits = rcap is not None and reachable < float(rw.sum()) * (1 - REL_TOL)
    msg = _selection_message(model, orig, objective, optimal, gap, used, target, target_met, reachable, dropped_zero,
                             cap, capacity_limits)
    return Selection(sites=orig, added=np.asarray(gains, dtype=float), objective=objective, bound=float(bound),
                     optimal=bool(optimal), gap=float(gap), solver=used,
                     time_limit_s=float(time_limit_s), solve_s=time.perf_counter() - t_start,
                     greedy_objective=float(g_value), served=served, loads=loads, reachable=float(reachable),
                     target=target, target_met=target_met, model_size=size, timings=timings, status=status,
                     message=msg)


def _warm_start(ra: sparse.csr_matrix, rw: np.ndarray, rcap: np.ndarray | None, *, model: str, want: float | None,
                n_sites: int | None, costs: np.ndarray | None, budget: float | None, counts: np.ndarray) -> list[int]:
    """The greedy's sites: the MIP's warm start and its fallback."""
    if ra.shape[0] == 0 or (want is not None and want <= 0):
        return []
    if model != "set_cover":
        return lazy_greedy(ra, rw, n_sites=n_sites, costs=costs, budget=budget, capacities=rcap, counts=counts)
    g_sites = lazy_greedy(ra, rw, target=want, capacities=rcap, counts=counts)
    if rcap is not None:  # the heuristic assignment may stop short: add sites until the exact value reaches it
        while assign(ra, rw, rcap, g_sites)[0] < want * (1 - REL_TOL) and len(g_sites) < ra.shape[0]:
            rest = [j for j in range(ra.shape[0]) if j not in g_sites]
            g_sites.append(max(rest, key=lambda j: rcap[j]))
    return g_sites


def _mip_stage(ra: sparse.csr_matrix, rw: np.ndarray, rcap: np.ndarray | None, *, model: str, n_sites: int | None,
               budget: float | None, costs: np.ndarray | None, want: float | None, reachable: float,
               g_sites: list[int], g_value: float, time_limit_s: float, solver: str, size: dict[str, int],
               timings: dict[str, float]) -> tuple[list[int], bool, float, str, str]:
    """(sites, optimal, bound, solver used, status): the MIP's answer, or the greedy's when no MIP is needed or run.

    Records the MIP's nonzeros in `size` and its build time in `timings`.
    """
    bound = math.nan
    if model != "set_cover" and ra.shape[0]:
        # capacitated coverage is at most the uncapacitated one, and at most the p largest capacities
        bound = mclp_bound(ra, rw, g_sites, n_sites=n_sites, costs=costs, budget=budget)
        if rcap is not None and n_sites is not None:
            bound = min(bound, float(np.sort(rcap)[::-1][:n_sites].sum()))
    if model == "set_cover" and rcap is None and want and ra.shape[0]:
        top = np.cumsum(np.sort(np.asarray(ra @ rw).ravel())[::-1])
        bound = float(np.searchsorted(top, want * (1 - REL_TOL)) + 1)
    trivial = ra.shape[0] == 0 or (want is not None and want <= 0)
    if model != "set_cover" and not trivial and n_sites is not None and budget is None and n_sites >= ra.shape[0]:
        return list(range(ra.shape[0])), True, reachable, "exact", "all useful candidates fit"
    if trivial:
        return list(g_sites), True, 0.0, "greedy", "nothing to cover"
    if solver == "greedy":
        return list(g_sites), False, bound, "greedy", "greedy"
    ex = solve_exact(ra, rw, rcap, model=model, n_sites=n_sites, budget=budget, costs=costs, want=want,
                     g_sites=g_sites, g_value=g_value, time_limit_s=time_limit_s, solver=solver, bound=bound)
    size["mip_nonzeros"] = ex.nonzeros
    if ex.build_s is not None:
        timings["mip_build"] = ex.build_s
    return ex.sites, ex.optimal, ex.bound, ex.solver, ex.status


def _greedy_ordered(ra: sparse.csr_matrix, rw: np.ndarray, rcap: np.ndarray | None, sites: list[int],
                    counts: np.ndarray, *, tol: float) -> tuple[list[int], list[float], np.ndarray,
                                                                np.ndarray | None, np.ndarray | None]:
    """The sites in greedy order with their gains, which add someone (`keep`), served shares and loads."""
    if rcap is None:
        order, gains = greedy_order(ra, rw, sites)
        return order, gains, np.asarray(gains) > tol, None, None
    order, gains, served_red, loads = capacitated_order(ra, rw, rcap, sites, counts)
    keep = np.asarray(gains) > tol
    if not keep.all():  # a site adding nothing at its turn may still carry load later on: check
        kept = [j for j, k in zip(order, keep) if k]
        value, served2, loads2 = assign(ra, rw, rcap, kept)
        if value >= sum(gains) - tol:
            served_red, loads = served2, np.concatenate([loads2, np.zeros(int((~keep).sum()))])
        else:
            keep[:] = True
    return order, gains, keep, served_red, loads


def _served(a: sparse.csr_matrix, w: np.ndarray, red: ReducedModel, orig: np.ndarray,
            served_red: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Share of each original unit the sites serve, and the weight they cover (on the unreduced matrix)."""
    if served_red is None:
        hit = np.zeros(a.shape[1], dtype=bool)
        if len(orig):
            hit[a[orig].indices] = True
        return hit.astype(float), float(w[hit].sum())
    padded = np.concatenate([served_red, [0.0]])  # unit_group -1 (dropped units) reads the 0 at the end
    served = padded[red.unit_group]
    return served, float(w @ served)


def _selection_message(model: str, sites: np.ndarray, objective: float, optimal: bool, gap: float, used: str,
                       target: float | None, target_met: bool | None, reachable: float, dropped_zero: int,
                       cap: np.ndarray | None, capacity_limits: bool) -> str:
    parts = []
    how = "optimal" if optimal else (f"best found, gap {gap:.2%}" if np.isfinite(gap) else "best found, gap unknown")
    if used == "greedy" and not optimal:
        how = "greedy" + (f", within {gap:.2%} of the bound" if np.isfinite(gap) else "")
    parts.append(f"{len(sites)} new site(s) cover {objective:,.0f} more ({how}")
    parts[-1] += ", capacitated)" if cap is not None else ")"
    if model == "set_cover" and target_met is False:
        parts.append(f"target {target:,.0f} is not reachable with these candidates: at most {reachable:,.0f}"
                     + ("; their capacities limit it" if capacity_limits else "")
                     + "; the fewest sites reaching that are listed")
    if dropped_zero:
        parts.append(f"{dropped_zero} further site(s) would cover nobody new, so fewer are suggested")
    return "; ".join(parts)

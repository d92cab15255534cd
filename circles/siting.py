"""Siting: where new facilities should go — maximal coverage, set cover to a target, budgets and capacities.

Planners ask "we can afford N new stations (or must reach 90 % coverage): where?". This module
answers on walking times, for the people a category serves, with the existing facilities kept:

1. **Candidates**: a premises list (community rooms 社区用房 / 闲置用房, with optional ``cost``,
   ``capacity``, ``area_m2``), OSM buildings or amenities (a GeoDataFrame), or — when no list
   is given — points generated along the network near the gaps (`candidates_in_gaps`).
2. **Coverage sets** (`coverage_sets`): one truncated shortest-path search from every candidate
   point (points on edges, exactly as `circles.access` measures), giving a sparse
   candidates × demand-units matrix: True where the walk is within the threshold.
3. **Model reduction** (`reduce_model`): demand units already covered, or that no candidate
   reaches, are dropped; units with identical coverage sets are merged (their demand summed);
   candidates whose coverage set is contained in another's (at no lower cost) are dropped.
4. **Exact solving** (`solve_mclp`, `solve_set_cover`): a sparse MIP solved by HiGHS (highspy)
   or CBC (through PuLP), warm-started from a lazy greedy; the greedy is also the fallback for
   models beyond `MAX_MIP_NONZEROS` or when the solver fails.
5. **Report** (`suggest_sites` → `SitingResult`): the sites in greedy order with each one's
   marginal gain, coverage before and after, optimal flag, MIP gap, solver and time limit.

Models
------
``mclp``
    Maximal covering: choose at most ``n_sites`` new sites maximising the newly covered demand.
``budget``
    The same with a cost per site and a total budget (optionally also at most ``n_sites``).
``set_cover``
    The fewest new sites that reach a target coverage share; among those, the placement that
    covers the most. When the candidates cannot reach the target, the best reachable share is
    reported (``target_met`` False) with the fewest sites that reach it.
Each can be *capacitated*: a site serves at most its ``capacity`` people of the demand group
(meal seats, beds); the assignment of people to sites respects it. A demand unit's people may
be split between sites (the assignment is fractional, the choice of sites is not).

Example
-------
>>> from circles.siting import suggest_sites
>>> result = suggest_sites(report, net, premises, category="elderly", n_sites=5)  # doctest: +SKIP
>>> result.coverage_before, result.coverage_after  # doctest: +SKIP
(0.776, 0.912)
"""

from __future__ import annotations

import heapq
import logging
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from circles.access import CoverageSets, coverage_sets
from circles.errors import CirclesError
from network.compact import CompactNetwork

if TYPE_CHECKING:
    from circles.coverage import CoverageReport

log = logging.getLogger(__name__)

__all__ = [
    "CoverageSets", "ReducedModel", "Selection", "SitingResult",
    "coverage_sets", "reduce_model", "solve_mclp", "solve_set_cover",
    "candidates_in_gaps", "suggest_sites",
    "DEFAULT_SPACING_M", "MAX_MIP_NONZEROS", "SOLVERS",
]

DEFAULT_SPACING_M = 150.0
DEFAULT_TIME_LIMIT_S = 60.0
# Models with more constraint-matrix nonzeros than this are solved by the greedy alone (with a bound).
MAX_MIP_NONZEROS = 6_000_000
SOLVERS = ("auto", "highs", "cbc", "greedy")
# Distances from the Dijkstra chunks are kept in memory as float64 rows; about 160 MB per chunk.
# A share is met when it is reached within this relative tolerance (float sums of populations).
_REL_TOL = 1e-9


# ============================================================================ coverage sets
# ============================================================================ reduction
@dataclass(frozen=True)
class ReducedModel:
    """A covering model after reduction: what the MIP is built on.

    Attributes
    ----------
    covers
        Sparse boolean matrix, kept candidates × merged units (CSR).
    weights
        Demand of each merged unit (the sum over the units merged into it).
    candidates
        For each kept candidate, its row in the original matrix.
    unit_group
        For each original unit, its merged unit, or -1 when dropped (zero weight, or covered by
        no candidate).
    dropped_dominated
        How many candidates were dropped because another covers a superset at no higher cost.
    """

    covers: sparse.csr_matrix
    weights: np.ndarray
    candidates: np.ndarray
    unit_group: np.ndarray
    dropped_dominated: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.covers.shape


def _merge_columns(covers: sparse.csr_matrix, weights: np.ndarray, keep_units: np.ndarray):
    """Group the kept columns with identical row sets: (group of each original column, merged matrix, weights)."""
    csc = covers[:, keep_units].tocsc()
    csc.sort_indices()
    ind, ptr = csc.indices, csc.indptr
    groups: dict[bytes, int] = {}
    gid = np.empty(len(keep_units), dtype=np.int64)
    for k in range(len(keep_units)):
        gid[k] = groups.setdefault(ind[ptr[k]:ptr[k + 1]].tobytes(), len(groups))
    first = np.full(len(groups), -1, dtype=np.int64)
    first[gid[::-1]] = np.arange(len(keep_units))[::-1]
    merged = csc[:, first].tocsr().astype(bool)
    w = np.bincount(gid, weights=weights[keep_units], minlength=len(groups))
    unit_group = np.full(covers.shape[1], -1, dtype=np.int64)
    unit_group[keep_units] = gid
    return unit_group, merged, w


def _dominated(covers: sparse.csr_matrix, costs: np.ndarray | None) -> np.ndarray:
    """Candidates whose coverage set lies inside another's that costs no more (a strict order, ties by index)."""
    a = covers.astype(np.int32)
    size = np.asarray(a.sum(axis=1)).ravel()
    overlap = (a @ a.T).tocoo()
    j, k, o = overlap.row, overlap.col, overlap.data
    subset = (j != k) & (o == size[j])  # N(j) ⊆ N(k)
    j, k = j[subset], k[subset]
    c = np.zeros(covers.shape[0]) if costs is None else np.asarray(costs, dtype=float)
    equal = size[j] == size[k]
    beats = (c[k] < c[j]) | ((c[k] == c[j]) & (~equal | (k < j)))
    out = np.zeros(covers.shape[0], dtype=bool)
    out[j[beats]] = True
    return out


def reduce_model(
    covers: sparse.spmatrix,
    weights: np.ndarray,
    *,
    costs: np.ndarray | None = None,
    drop_dominated: bool = True,
) -> ReducedModel:
    """Shrink a covering model without changing its optimum.

    Units with zero weight or no covering candidate are dropped; units covered by exactly the
    same candidates are merged (weights summed); candidates that cover nothing left are
    dropped; with `drop_dominated`, a candidate whose set is contained in another candidate's
    set that costs no more is dropped (ties keep the lower index), and units are merged again.

    Dropping dominated candidates is exact for maximal covering (with a count or a budget) and
    for set cover; it is not for capacitated models, where two overlapping sites add capacity:
    pass ``drop_dominated=False`` there.

    Parameters
    ----------
    covers
        Boolean matrix, candidates × demand units.
    weights
        Demand of each unit (people), ≥ 0.
    costs
        Cost of each candidate (any currency), or None for equal costs.
    drop_dominated
        Drop dominated candidates.
    """
    covers = sparse.csr_matrix(covers, dtype=bool)
    covers.eliminate_zeros()
    w = np.asarray(weights, dtype=float)
    col_nnz = np.diff(covers.tocsc().indptr)
    keep_units = np.flatnonzero((w > 0) & (col_nnz > 0))
    unit_group, merged, mw = _merge_columns(covers, w, keep_units)
    cand = np.flatnonzero(np.diff(merged.indptr) > 0)
    merged = merged[cand]
    n_dom = 0
    if drop_dominated and len(cand) > 1:
        dom = _dominated(merged, None if costs is None else np.asarray(costs, dtype=float)[cand])
        n_dom = int(dom.sum())
        if n_dom:
            cand, merged = cand[~dom], merged[~dom]
            group2, merged, mw = _merge_columns(merged, mw, np.arange(merged.shape[1]))
            unit_group = np.where(unit_group >= 0, group2[np.maximum(unit_group, 0)], -1)
    return ReducedModel(covers=merged.tocsr(), weights=mw, candidates=cand, unit_group=unit_group,
                        dropped_dominated=n_dom)


# ============================================================================ greedy
def _rows(a: sparse.csr_matrix, j: int) -> np.ndarray:
    return a.indices[a.indptr[j]:a.indptr[j + 1]]


def _greedy(a: sparse.csr_matrix, w: np.ndarray, *, n_sites: int | None = None, costs: np.ndarray | None = None,
            budget: float | None = None, target: float | None = None, capacities: np.ndarray | None = None,
            counts: np.ndarray | None = None) -> list[int]:
    """Lazy greedy on a reduced model: the sites in the order picked.

    Picks the best gain (per unit cost when there is a budget) until `n_sites`, the `budget`, the
    `target` (weight) or no further gain. With `capacities` a site's gain is the residual demand
    it can take, at most its capacity, served from the units fewest candidates reach first
    (`counts`). Gains only shrink as demand is served, so stale heap entries are upper bounds.
    """
    n_cand = a.shape[0]
    residual = w.astype(float).copy()
    cost = np.ones(n_cand) if costs is None else np.maximum(np.asarray(costs, dtype=float), 1e-12)
    cap = None if capacities is None else np.asarray(capacities, dtype=float)

    def gain(j: int) -> float:
        g = float(residual[_rows(a, j)].sum())
        return min(g, cap[j]) if cap is not None else g

    heap = [(-gain(j) / cost[j], j) for j in range(n_cand)]
    heapq.heapify(heap)
    chosen: list[int] = []
    spent = reached = 0.0
    left = budget if budget is not None else np.inf
    while heap and (n_sites is None or len(chosen) < n_sites):
        if target is not None and reached >= target * (1 - _REL_TOL):
            break
        score, j = heapq.heappop(heap)
        if costs is not None and cost[j] > left - spent + 1e-9:
            continue  # unaffordable now, and the remaining budget only shrinks
        g = gain(j)
        if g <= 0:
            continue
        if heap and g / cost[j] < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-g / cost[j], j))
            continue
        chosen.append(j)
        spent += cost[j] if costs is not None else 0.0
        rows = _rows(a, j)
        if cap is None:
            residual[rows] = 0.0
            reached += g
        else:
            take = cap[j]
            order = rows[np.argsort(counts[rows], kind="stable")] if counts is not None else rows
            for i in order.tolist():
                if take <= 0:
                    break
                t = min(residual[i], take)
                residual[i] -= t
                take -= t
                reached += t
    if budget is not None and cap is None:
        # the ratio greedy can miss one big site; compare with the best single affordable site
        afford = np.flatnonzero(cost <= budget + 1e-9)
        if len(afford):
            singles = np.asarray(a[afford] @ w).ravel()
            best = afford[int(np.argmax(singles))]
            if singles.max() > _coverage_value(a, w, chosen) + 1e-9:
                chosen = [int(best)]
    return chosen


def _coverage_value(a: sparse.csr_matrix, w: np.ndarray, sites: Sequence[int]) -> float:
    if not len(sites):
        return 0.0
    hit = np.zeros(a.shape[1], dtype=bool)
    hit[a[list(sites)].indices] = True
    return float(w[hit].sum())


def _greedy_order(a: sparse.csr_matrix, w: np.ndarray, sites: Sequence[int]) -> tuple[list[int], list[float]]:
    """Order chosen sites by marginal gain (the greedy order among them) and give each one's gain."""
    left = list(sites)
    residual = w.astype(float).copy()
    order, gains = [], []
    while left:
        g = [float(residual[_rows(a, j)].sum()) for j in left]
        k = int(np.argmax(g))
        j = left.pop(k)
        order.append(j)
        gains.append(g[k])
        residual[_rows(a, j)] = 0.0
    return order, gains


def _mclp_bound(a: sparse.csr_matrix, w: np.ndarray, sites: Sequence[int], *, n_sites: int | None,
                costs: np.ndarray | None, budget: float | None) -> float:
    """Upper bound on maximal coverage (Minoux): for every prefix S of the greedy sequence, f(S) plus
    the best marginal gains w.r.t. S that fit the count / budget; the smallest over the prefixes."""
    best = math.inf
    hit = np.zeros(a.shape[1], dtype=bool)
    for k in range(len(sites) + 1):
        if k:
            hit[_rows(a, sites[k - 1])] = True
        base = float(w[hit].sum())
        delta = np.asarray(a @ np.where(hit, 0.0, w)).ravel()
        bounds = [base + float(delta.sum())]
        if n_sites is not None:
            bounds.append(base + float(np.sort(delta)[::-1][:n_sites].sum()))
        if budget is not None:
            c = np.asarray(costs, dtype=float)
            free = c <= 0
            extra = float(delta[free].sum())
            ratio = delta[~free] / c[~free]
            order = np.argsort(-ratio, kind="stable")
            d, cc = delta[~free][order], c[~free][order]
            cum = np.cumsum(cc)
            full = int((cum <= budget).sum())
            extra += float(d[:full].sum())
            if full < len(d):
                extra += float(d[full] * (budget - (cum[full - 1] if full else 0.0)) / cc[full])
            bounds.append(base + extra)
        best = min(best, min(bounds))
    return best


# ============================================================================ MIP back ends
@dataclass(frozen=True)
class _Mip:
    """A MIP in arrays: ``sense`` 1 minimise / -1 maximise; rows ``row_lo <= A x <= row_hi``."""

    sense: int
    c: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    integer: np.ndarray
    a: sparse.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray

    @property
    def nonzeros(self) -> int:
        return int(self.a.nnz)


@dataclass(frozen=True)
class _MipOutcome:
    x: np.ndarray | None
    objective: float
    bound: float
    optimal: bool
    status: str
    seconds: float
    build_s: float = 0.0


def _solve_highs(mip: _Mip, *, time_limit_s: float, start: np.ndarray | None) -> _MipOutcome:
    import highspy

    t0 = time.perf_counter()
    h = highspy._Highs()  # the plain class: `Highs()` prints a banner to stdout on first use
    options = {"output_flag": False, "log_to_console": False, "time_limit": float(max(time_limit_s, 0.01)),
               "mip_rel_gap": 0.0, "mip_abs_gap": 1e-6, "random_seed": 0}
    for key, value in options.items():
        h.setOptionValue(key, value)
    a = mip.a.tocsc()
    inf = highspy.kHighsInf
    h.passModel(int(a.shape[1]), int(a.shape[0]), int(a.nnz), 1, int(mip.sense), 0.0,
                mip.c.astype(float), np.where(np.isfinite(mip.lo), mip.lo, -inf).astype(float),
                np.where(np.isfinite(mip.hi), mip.hi, inf).astype(float),
                np.where(np.isfinite(mip.row_lo), mip.row_lo, -inf).astype(float),
                np.where(np.isfinite(mip.row_hi), mip.row_hi, inf).astype(float),
                a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data.astype(float),
                mip.integer.astype(np.int32))
    if start is not None:
        h.setSolution(int(len(start)), np.arange(len(start), dtype=np.int32), np.asarray(start, dtype=float))
    build_s = time.perf_counter() - t0
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=float) if has else None
    obj = float(info.objective_function_value) if has else math.nan
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    bound = obj if optimal else float(info.mip_dual_bound)
    return _MipOutcome(x, obj, bound, bool(optimal and has), status, time.perf_counter() - t0, build_s)


_CBC_BOUND = re.compile(r"^(Upper|Lower) bound:\s*(\S+)", re.M)
_CBC_RESULT = re.compile(r"^Result - (.*)$", re.M)


def _solve_cbc(mip: _Mip, *, time_limit_s: float, start: np.ndarray | None) -> _MipOutcome:
    import pulp

    t0 = time.perf_counter()
    prob = pulp.LpProblem("siting", pulp.LpMinimize if mip.sense == 1 else pulp.LpMaximize)
    n = len(mip.c)
    var = [prob.add_variable(f"v{k}", None if not np.isfinite(mip.lo[k]) else float(mip.lo[k]),
                             None if not np.isfinite(mip.hi[k]) else float(mip.hi[k]),
                             cat=pulp.LpInteger if mip.integer[k] else pulp.LpContinuous) for k in range(n)]
    nz = np.flatnonzero(mip.c)
    prob += pulp.LpAffineExpression([(var[k], float(mip.c[k])) for k in nz.tolist()])
    a = mip.a
    ind, ptr, data = a.indices.tolist(), a.indptr.tolist(), a.data.tolist()
    for r in range(a.shape[0]):
        expr = pulp.LpAffineExpression([(var[k], v) for k, v in zip(ind[ptr[r]:ptr[r + 1]], data[ptr[r]:ptr[r + 1]])])
        lo, hi = float(mip.row_lo[r]), float(mip.row_hi[r])
        if np.isfinite(lo) and np.isfinite(hi) and lo == hi:
            prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintEQ, rhs=lo))
            continue
        if np.isfinite(hi):
            prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintLE, rhs=hi))
        if np.isfinite(lo):
            prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=lo))
    if start is not None:
        for k, v in enumerate(np.asarray(start, dtype=float).tolist()):
            var[k].setInitialValue(round(v) if mip.integer[k] else v)
    build_s = time.perf_counter() - t0  # PuLP's model in Python; writing the MPS file counts as solving
    fd, log_path = tempfile.mkstemp(prefix="circles_cbc_", suffix=".log")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            # PuLP 3.3 announces that 4.0 drops the CBC binary it ships; 3.3 is pinned and ships it
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=max(1.0, float(time_limit_s)), gapRel=0.0, gapAbs=1e-6,
                                       warmStart=start is not None, logPath=log_path, threads=1)
        try:
            prob.solve(solver)
        except pulp.PulpSolverError as exc:
            return _MipOutcome(None, math.nan, math.nan, False, f"CBC failed ({exc})", time.perf_counter() - t0,
                               build_s)
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    finally:
        try:
            os.unlink(log_path)
        except OSError:
            pass
    result = _CBC_RESULT.search(text)
    status = result.group(1).strip() if result else pulp.LpStatus.get(prob.status, str(prob.status))
    has = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    x = np.array([v.varValue if v.varValue is not None else 0.0 for v in var], dtype=float) if has else None
    obj = float(mip.c @ x) if has else math.nan
    optimal = has and prob.sol_status == pulp.LpSolutionOptimal and (result is None or "Optimal" in status)
    bound = obj if optimal else math.nan
    m = _CBC_BOUND.search(text)
    if m and not optimal:
        try:
            bound = float(m.group(2))
        except ValueError:
            pass
    return _MipOutcome(x, obj, bound, bool(optimal), status, time.perf_counter() - t0, build_s)


def _run_mip(mip: _Mip, solver: str, *, time_limit_s: float, start: np.ndarray | None) -> _MipOutcome:
    if solver == "highs":
        return _solve_highs(mip, time_limit_s=time_limit_s, start=start)
    return _solve_cbc(mip, time_limit_s=time_limit_s, start=start)


def _choose_solver(solver: str, mip: _Mip, *, capacitated: bool) -> str:
    """The back end for `solver="auto"`: what bench/bench_siting.py measured faster for this shape.

    Uncapacitated models: CBC (through PuLP). It was level or faster on every uncapacitated
    maximal covering instance of the benchmark, up to 7× on the dense, overlapping sets of
    Porto's core and Shenzhen (HiGHS spends its time at the root node there); set cover, the same
    covering rows, follows it. PuLP builds the model in Python, though, about 1 µs and 100 bytes
    per nonzero, while HiGHS takes the arrays directly: above `_CBC_MAX_NONZEROS` nonzeros the
    building alone approaches the solve times measured, and HiGHS is used (a judgement, not a
    measurement). Capacitated models: HiGHS, about 3× faster on their many continuous
    assignment variables.
    """
    if solver != "auto":
        return solver
    if capacitated:
        return "highs"
    return "cbc" if mip.nonzeros <= _CBC_MAX_NONZEROS else "highs"


_CBC_MAX_NONZEROS = 2_000_000


# ---------------------------------------------------------------------------- model builders
def _covering_mip(a: sparse.csr_matrix, w: np.ndarray, *, objective: str, n_sites: int | None = None,
                  costs: np.ndarray | None = None, budget: float | None = None, target: float | None = None) -> _Mip:
    """Uncapacitated: columns [x (sites, binary), y (units, [0, 1])]; y_i <= sum of x_j covering i."""
    n_c, n_u = a.shape
    at = a.T.tocsr().astype(float)
    rows = [sparse.hstack([-at, sparse.identity(n_u, format="csr")], format="csr")]
    lo, hi = [np.full(n_u, -np.inf)], [np.zeros(n_u)]
    if n_sites is not None:
        rows.append(sparse.csr_matrix(np.concatenate([np.ones(n_c), np.zeros(n_u)])[None, :]))
        lo.append([-np.inf]); hi.append([float(n_sites)])
    if budget is not None:
        rows.append(sparse.csr_matrix(np.concatenate([np.asarray(costs, dtype=float), np.zeros(n_u)])[None, :]))
        lo.append([-np.inf]); hi.append([float(budget)])
    if target is not None:
        rows.append(sparse.csr_matrix(np.concatenate([np.zeros(n_c), w])[None, :]))
        lo.append([float(target)]); hi.append([np.inf])
    if objective == "coverage":
        sense, c = -1, np.concatenate([np.zeros(n_c), w])
    else:  # fewest sites
        sense, c = 1, np.concatenate([np.ones(n_c), np.zeros(n_u)])
    return _Mip(sense, c.astype(float), np.zeros(n_c + n_u), np.ones(n_c + n_u),
                np.concatenate([np.ones(n_c, dtype=bool), np.zeros(n_u, dtype=bool)]),
                sparse.vstack(rows, format="csr"), np.concatenate(lo).astype(float), np.concatenate(hi).astype(float))


def _capacitated_mip(a: sparse.csr_matrix, w: np.ndarray, cap: np.ndarray, *, objective: str,
                     n_sites: int | None = None, costs: np.ndarray | None = None, budget: float | None = None,
                     target: float | None = None, fixed: Sequence[int] | None = None) -> _Mip:
    """Capacitated: columns [x (sites), z (one per covering pair j-i: share of unit i served by j)].

    Rows: each unit served at most once; each site serves at most its capacity, and only when
    open; z_ji <= x_j (the strong linking rows). With `fixed` the sites are fixed open (and the
    others closed): an LP giving the best assignment to those sites.
    """
    n_c, n_u = a.shape
    coo = a.tocoo()
    pj, pi = coo.row.astype(np.int64), coo.col.astype(np.int64)
    k = len(pj)
    kk = np.arange(k)
    wz = w[pi].astype(float)
    unit_rows = sparse.csr_matrix((np.ones(k), (pi, n_c + kk)), shape=(n_u, n_c + k))
    site_rows = sparse.csr_matrix((np.concatenate([wz, -cap.astype(float)]),
                                   (np.concatenate([pj, np.arange(n_c)]), np.concatenate([n_c + kk, np.arange(n_c)]))),
                                  shape=(n_c, n_c + k))
    rows = [unit_rows, site_rows]
    lo = [np.full(n_u, -np.inf), np.full(n_c, -np.inf)]
    hi = [np.ones(n_u), np.zeros(n_c)]
    if fixed is None:
        link = sparse.csr_matrix((np.concatenate([np.ones(k), -np.ones(k)]),
                                  (np.concatenate([kk, kk]), np.concatenate([n_c + kk, pj]))), shape=(k, n_c + k))
        rows.append(link)
        lo.append(np.full(k, -np.inf)); hi.append(np.zeros(k))
    if n_sites is not None:
        rows.append(sparse.csr_matrix(np.concatenate([np.ones(n_c), np.zeros(k)])[None, :]))
        lo.append([-np.inf]); hi.append([float(n_sites)])
    if budget is not None:
        rows.append(sparse.csr_matrix(np.concatenate([np.asarray(costs, dtype=float), np.zeros(k)])[None, :]))
        lo.append([-np.inf]); hi.append([float(budget)])
    if target is not None:
        rows.append(sparse.csr_matrix(np.concatenate([np.zeros(n_c), wz])[None, :]))
        lo.append([float(target)]); hi.append([np.inf])
    if objective == "coverage":
        sense, c = -1, np.concatenate([np.zeros(n_c), wz])
    else:
        sense, c = 1, np.concatenate([np.ones(n_c), np.zeros(k)])
    xlo, xhi = np.zeros(n_c), np.ones(n_c)
    integer = np.concatenate([np.ones(n_c, dtype=bool), np.zeros(k, dtype=bool)])
    if fixed is not None:
        xlo[list(fixed)] = 1.0
        xhi = xlo.copy()
        integer[:] = False
    return _Mip(sense, c, np.concatenate([xlo, np.zeros(k)]), np.concatenate([xhi, np.ones(k)]), integer,
                sparse.vstack(rows, format="csr"), np.concatenate(lo).astype(float), np.concatenate(hi).astype(float))


def _assign(a: sparse.csr_matrix, w: np.ndarray, cap: np.ndarray,
            sites: Sequence[int]) -> tuple[float, np.ndarray, np.ndarray]:
    """Best capacitated assignment to the open `sites` (an LP on their rows only).

    Returns the covered weight, the served share of each unit, and the weight each site serves.
    """
    sites = list(sites)
    if not sites:
        return 0.0, np.zeros(a.shape[1]), np.zeros(0)
    sub = a[sites]
    out = _solve_highs(_capacitated_mip(sub, w, cap[sites], objective="coverage", fixed=range(len(sites))),
                       time_limit_s=600.0, start=None)
    if out.x is None:  # cannot happen for this always-feasible LP; keep the caller's numbers sane
        return 0.0, np.zeros(a.shape[1]), np.zeros(len(sites))
    z = np.clip(out.x[len(sites):], 0.0, 1.0)
    coo = sub.tocoo()
    served = np.clip(np.bincount(coo.col, weights=z, minlength=a.shape[1]), 0.0, 1.0)
    load = np.bincount(coo.row, weights=z * w[coo.col], minlength=len(sites))
    return float(w @ served), served, load


def _capacitated_order(a, w, cap, sites, counts) -> tuple[list[int], list[float], np.ndarray, np.ndarray]:
    """Sites in the capacitated greedy order; gains from exact assignments of each prefix; served shares; loads."""
    order = [sites[k] for k in _greedy(a[list(sites)], w, capacities=cap[list(sites)], counts=counts)]
    order += [j for j in sites if j not in order]
    gains, prev, served, load = [], 0.0, np.zeros(a.shape[1]), np.zeros(0)
    for k in range(1, len(order) + 1):
        value, served, load = _assign(a, w, cap, order[:k])
        gains.append(value - prev)
        prev = value
    return order, gains, served, load


# ============================================================================ matrix-level solving
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


def _check_matrix(covers, weights) -> tuple[sparse.csr_matrix, np.ndarray]:
    a = sparse.csr_matrix(covers, dtype=bool)
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) != a.shape[1]:
        raise CirclesError(f"weights has {w.size} values for {a.shape[1]} demand units (columns of covers); "
                           "give one weight per unit")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if len(bad):
        raise CirclesError(f"weights[{bad[0]}] is {w[bad[0]]}; demand weights must be finite and >= 0")
    return a, w


def _check_vector(values, n: int, name: str, *, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) != n:
        raise CirclesError(f"{name} has {v.size} values for {n} candidates; give one {what} per candidate")
    bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
    if len(bad):
        raise CirclesError(f"{name}[{bad[0]}] is {v[bad[0]]}; each {what} must be a number >= 0")
    return v


def _check_solver(solver: str, time_limit_s: float) -> None:
    if solver not in SOLVERS:
        raise CirclesError(f"solver {solver!r} is not known; use one of {', '.join(SOLVERS)}")
    if not (time_limit_s > 0):
        raise CirclesError(f"time_limit_s is {time_limit_s}; give a time limit > 0 seconds (e.g. 60)")


def _gap(value: float, bound: float, optimal: bool) -> float:
    if optimal:
        return 0.0
    if not (np.isfinite(value) and np.isfinite(bound)):
        return math.nan
    return abs(bound - value) / max(abs(value), 1e-9)


def _reachable(a: sparse.csr_matrix, w: np.ndarray, cap: np.ndarray | None) -> tuple[float, np.ndarray | None]:
    if cap is None:
        return float(w[np.diff(a.tocsc().indptr) > 0].sum()), None
    value, served, _ = _assign(a, w, cap, list(range(a.shape[0])))
    return value, served


def solve_mclp(
    covers: sparse.spmatrix,
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
    _check_solver(solver, time_limit_s)
    n_cand = a.shape[0]
    if n_sites is None and budget is None:
        raise CirclesError("give n_sites (how many new sites) or a budget (with costs per candidate)")
    if n_sites is not None:
        if isinstance(n_sites, bool) or int(n_sites) != n_sites or n_sites < 1:
            raise CirclesError(f"n_sites is {n_sites!r}; give a whole number of new sites >= 1")
        n_sites = int(n_sites)
        if n_sites > n_cand:
            raise CirclesError(f"n_sites={n_sites} is more than the {n_cand} candidate sites; "
                               f"lower n_sites to at most {n_cand} or add candidates")
    if budget is not None:
        if costs is None:
            raise CirclesError("a budget needs a cost per candidate: give costs (a 'cost' column of the candidates)")
        if not (np.isfinite(budget) and budget > 0):
            raise CirclesError(f"budget is {budget}; give a total budget > 0")
        costs = _check_vector(costs, n_cand, "costs", what="cost")
        if n_cand and costs.min() > budget:
            raise CirclesError(f"budget {budget:,.0f} is below the cheapest candidate's cost {costs.min():,.0f}; "
                               "raise the budget or add cheaper candidates")
    elif costs is not None:
        costs = _check_vector(costs, n_cand, "costs", what="cost")
    cap = None if capacities is None else _check_vector(capacities, n_cand, "capacities", what="capacity")
    return _solve(a, w, model="mclp", n_sites=n_sites, budget=budget, costs=costs if budget is not None else None,
                  cap=cap, target=None, time_limit_s=time_limit_s, solver=solver, reduce=reduce)


def solve_set_cover(
    covers: sparse.spmatrix,
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

    Examples
    --------
    >>> import numpy as np
    >>> covers = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], bool)
    >>> sel = solve_set_cover(covers, np.array([5.0, 3.0, 1.0, 1.0]), 9.0)
    >>> sel.sites.tolist(), sel.objective
    ([0, 1], 9.0)
    """
    a, w = _check_matrix(covers, weights)
    _check_solver(solver, time_limit_s)
    if not (np.isfinite(target) and target > 0):
        raise CirclesError(f"target is {target}; give the demand (people) to cover, > 0")
    cap = None if capacities is None else _check_vector(capacities, a.shape[0], "capacities", what="capacity")
    return _solve(a, w, model="set_cover", n_sites=None, budget=None, costs=None, cap=cap, target=float(target),
                  time_limit_s=time_limit_s, solver=solver, reduce=reduce)


def _solve(a: sparse.csr_matrix, w: np.ndarray, *, model: str, n_sites, budget, costs, cap, target,
           time_limit_s: float, solver: str, reduce: bool) -> Selection:
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if reduce:
        red = reduce_model(a, w, costs=costs, drop_dominated=cap is None)
    else:
        red = ReducedModel(a.copy(), w.copy(), np.arange(a.shape[0]), np.arange(a.shape[1]))
    ra, rw = red.covers, red.weights
    rcost = None if costs is None else costs[red.candidates]
    rcap = None if cap is None else cap[red.candidates]
    timings["reduce"] = time.perf_counter() - t0
    size = {"candidates": int(a.shape[0]), "units": int(a.shape[1]), "candidates_reduced": int(ra.shape[0]),
            "units_reduced": int(ra.shape[1]), "dominated_dropped": int(red.dropped_dominated)}
    counts = np.diff(ra.tocsc().indptr)

    reachable, _ = _reachable(ra, rw, rcap)
    target_met = None
    want = target
    if model == "set_cover":
        target_met = reachable >= target * (1 - _REL_TOL)
        want = target if target_met else reachable

    # ---- greedy: the warm start and the fallback
    t0 = time.perf_counter()
    if ra.shape[0] == 0 or (want is not None and want <= 0):
        g_sites: list[int] = []
    elif model == "set_cover":
        g_sites = _greedy(ra, rw, target=want, capacities=rcap, counts=counts)
        if rcap is not None:  # the heuristic assignment may stop short: add sites until the exact value reaches it
            while _assign(ra, rw, rcap, g_sites)[0] < want * (1 - _REL_TOL) and len(g_sites) < ra.shape[0]:
                rest = [j for j in range(ra.shape[0]) if j not in g_sites]
                g_sites.append(max(rest, key=lambda j: rcap[j]))
    else:
        g_sites = _greedy(ra, rw, n_sites=n_sites, costs=rcost, budget=budget, capacities=rcap, counts=counts)
    g_value = _assign(ra, rw, rcap, g_sites)[0] if rcap is not None else _coverage_value(ra, rw, g_sites)
    timings["greedy"] = time.perf_counter() - t0

    # ---- MIP
    t0 = time.perf_counter()
    sites, optimal, bound, used, status = list(g_sites), False, math.nan, "greedy", "greedy"
    if model != "set_cover" and ra.shape[0]:
        # capacitated coverage is at most the uncapacitated one, and at most the p largest capacities
        bound = _mclp_bound(ra, rw, g_sites, n_sites=n_sites, costs=rcost, budget=budget)
        if rcap is not None and n_sites is not None:
            bound = min(bound, float(np.sort(rcap)[::-1][:n_sites].sum()))
    if model == "set_cover" and rcap is None and want and ra.shape[0]:
        top = np.cumsum(np.sort(np.asarray(ra @ rw).ravel())[::-1])
        bound = float(np.searchsorted(top, want * (1 - _REL_TOL)) + 1)
    trivial = ra.shape[0] == 0 or (want is not None and want <= 0)
    if model != "set_cover" and not trivial and n_sites is not None and budget is None and n_sites >= ra.shape[0]:
        sites, optimal, bound, status = list(range(ra.shape[0])), True, reachable, "all useful candidates fit"
        used = "exact"
    elif trivial:
        optimal, bound, status = True, 0.0, "nothing to cover"
    elif solver != "greedy":
        sites, optimal, bound, used, status = _exact(ra, rw, rcap, model=model, n_sites=n_sites, budget=budget,
                                                      costs=rcost, want=want, g_sites=g_sites, g_value=g_value,
                                                      time_limit_s=time_limit_s, solver=solver, size=size,
                                                      bound=bound, timings=timings)
    timings["mip"] = time.perf_counter() - t0

    # ---- report in the original indices, sites in greedy order, those adding nobody left out
    tol = 1e-9 * max(1.0, float(rw.sum()))
    loads = None
    if rcap is None:
        order, gains = _greedy_order(ra, rw, sites)
        keep = np.asarray(gains) > tol
    else:
        order, gains, served_red, loads = _capacitated_order(ra, rw, rcap, sites, counts)
        keep = np.asarray(gains) > tol
        if not keep.all():  # a site adding nothing at its turn may still carry load later on: check
            kept = [j for j, k in zip(order, keep) if k]
            value, served2, loads2 = _assign(ra, rw, rcap, kept)
            if value >= sum(gains) - tol:
                served_red, loads = served2, np.concatenate([loads2, np.zeros(int((~keep).sum()))])
            else:
                keep[:] = True
    dropped_zero = int((~keep).sum())
    if model == "mclp" and n_sites is not None and budget is None:
        dropped_zero = n_sites - int(keep.sum())  # asked for more sites than add anyone new
    order = [j for j, k in zip(order, keep) if k]
    gains = [g for g, k in zip(gains, keep) if k]
    if loads is not None:
        loads = np.asarray(loads, dtype=float)[: len(order)]
    orig = red.candidates[np.asarray(order, dtype=np.int64)] if order else np.zeros(0, dtype=np.int64)
    if rcap is None:
        hit = np.zeros(a.shape[1], dtype=bool)
        if len(orig):
            hit[a[orig].indices] = True
        served = hit.astype(float)
        objective = float(w[hit].sum())
    else:
        padded = np.concatenate([served_red, [0.0]])  # unit_group -1 (dropped units) reads the 0 at the end
        served = padded[red.unit_group]
        objective = float(w @ served)
    value = objective if model != "set_cover" else float(len(orig))
    if model != "set_cover" and not optimal and np.isfinite(bound) and value >= bound - tol:
        optimal, status = True, status + "; reaches the upper bound"  # e.g. the greedy meets the capacity bound
    gap = _gap(value, bound, optimal)
    capacity_limits = rcap is not None and reachable < float(rw.sum()) * (1 - _REL_TOL)
    msg = _selection_message(model, orig, objective, optimal, gap, used, target, target_met, reachable, dropped_zero,
                             cap, capacity_limits)
    return Selection(sites=orig, added=np.asarray(gains, dtype=float), objective=objective, bound=float(bound),
                     optimal=bool(optimal), gap=float(gap), solver=used,
                     time_limit_s=float(time_limit_s), solve_s=time.perf_counter() - t_start,
                     greedy_objective=float(g_value), served=served, loads=loads, reachable=float(reachable),
                     target=target, target_met=target_met, model_size=size, timings=timings, status=status,
                     message=msg)


def _exact(ra, rw, rcap, *, model, n_sites, budget, costs, want, g_sites, g_value, time_limit_s, solver, size, bound,
           timings):
    """Solve the reduced model by MIP; fall back to the greedy sites on size, failure or a worse incumbent."""
    n_c, n_u = ra.shape
    deadline = time.perf_counter() + time_limit_s

    def build(objective: str, *, p=None, target=None):
        if rcap is None:
            return _covering_mip(ra, rw, objective=objective, n_sites=p, costs=costs, budget=budget, target=target)
        return _capacitated_mip(ra, rw, rcap, objective=objective, n_sites=p, costs=costs, budget=budget, target=target)

    def start_vector(sites: Sequence[int], mip: _Mip) -> np.ndarray:
        x = np.zeros(len(mip.c))
        x[list(sites)] = 1.0
        if rcap is None:
            hit = np.zeros(n_u)
            if len(sites):
                hit[ra[list(sites)].indices] = 1.0
            x[n_c:] = hit
        else:
            lp = _solve_highs(_capacitated_mip(ra, rw, rcap, objective="coverage", fixed=sites),
                              time_limit_s=60.0, start=None)
            if lp.x is not None:
                x[n_c:] = lp.x[n_c:]
        return x

    first = build("coverage" if model != "set_cover" else "count", p=n_sites,
                  target=want * (1 - _REL_TOL) if model == "set_cover" else None)
    size["mip_nonzeros"] = first.nonzeros
    if first.nonzeros > MAX_MIP_NONZEROS:
        log.warning("siting model has %d nonzeros (> %d): greedy solution with a bound",
                    first.nonzeros, MAX_MIP_NONZEROS)
        return list(g_sites), False, bound, "greedy", f"model too large for the MIP ({first.nonzeros:,} nonzeros)"
    back = _choose_solver(solver, first, capacitated=rcap is not None)
    out = _run_mip(first, back, time_limit_s=time_limit_s, start=start_vector(g_sites, first))
    timings["mip_build"] = out.build_s
    log.info("siting MIP (%s, %s): %s in %.2f s", back, model, out.status, out.seconds)
    if out.x is None:
        return list(g_sites), False, bound, "greedy", f"{back}: {out.status}; greedy solution kept"
    sites = [int(j) for j in np.flatnonzero(out.x[:n_c] > 0.5)]
    optimal = out.optimal
    if model != "set_cover":
        value = _coverage_value(ra, rw, sites) if rcap is None else _assign(ra, rw, rcap, sites)[0]
        if value + 1e-9 < g_value:  # the solver stopped before reaching its warm start
            sites, optimal = list(g_sites), False
        return sites, optimal, (out.bound if np.isfinite(out.bound) else bound), back, out.status
    # set cover, phase 2: with the fewest sites, cover the most
    count_bound = out.bound if np.isfinite(out.bound) else bound
    k = len(sites)
    left = deadline - time.perf_counter()
    status = out.status
    if k and left <= 0.5:
        optimal, status = False, status + "; no time left to maximise the coverage of that many sites"
    elif k:
        second = build("coverage", p=k)
        out2 = _run_mip(second, back, time_limit_s=left, start=start_vector(sites, second))
        timings["mip_build"] += out2.build_s
        if out2.x is not None:
            s2 = [int(j) for j in np.flatnonzero(out2.x[:n_c] > 0.5)]
            v1 = _coverage_value(ra, rw, sites) if rcap is None else _assign(ra, rw, rcap, sites)[0]
            v2 = _coverage_value(ra, rw, s2) if rcap is None else _assign(ra, rw, rcap, s2)[0]
            if v2 >= v1 - 1e-9 and len(s2) <= k:
                sites = s2
            optimal = optimal and out2.optimal
        else:
            optimal = False
    return sites, optimal, count_bound, back, status


def _selection_message(model, sites, objective, optimal, gap, used, target, target_met, reachable, dropped_zero, cap,
                       capacity_limits) -> str:
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


# ============================================================================ candidates
def _tier_of(report, category_id: str, tier: str | None):
    cat = report.profile.category(category_id)
    t = cat.tier(tier) if tier is not None else cat.tiers[-1]
    if t.mode == "drive":
        walk = [x.id for x in cat.tiers if x.mode != "drive"]
        raise CirclesError(f"tier {t.id!r} of category {category_id!r} is reached by road; siting uses walking times: "
                           f"choose a walking tier ({', '.join(walk) or 'none in this profile'})")
    speed = report.plain_speed_kmh or t.speed_kmh
    if t.minutes is not None:
        threshold = float(t.minutes)
    else:
        threshold = t.distance_m / (speed / 3.6) / 60.0
    return cat, t, float(threshold), float(speed), report.plain_speed_kmh is None


def _new_weights(report, category_id: str) -> tuple[np.ndarray, np.ndarray]:
    """(demand of each unit that new sites could add, the inside demand of each unit)."""
    res = report.category(category_id)
    d = report.demand
    w = np.nan_to_num(d[res.demand_column].to_numpy(float), nan=0.0)
    inside = d["inside"].to_numpy(bool) if "inside" in d else np.ones(len(d), bool)
    off = d["off_network"].to_numpy(bool) if "off_network" in d else np.zeros(len(d), bool)
    covered = d[f"covered_{category_id}"].to_numpy(bool)
    counted = np.where(inside, w, 0.0)
    return np.where(~covered & ~off, counted, 0.0), counted


def candidates_in_gaps(
    net: CompactNetwork,
    report: CoverageReport,
    category_id: str,
    *,
    spacing_m: float = DEFAULT_SPACING_M,
    tier: str | None = None,
    boundary: shapely.Geometry | None = None,
) -> pd.DataFrame:
    """Candidate sites generated on the network where new sites could cover uncovered people.

    Points are laid densely along every street (every ``spacing_m / 2``, at least one per
    edge, never on an intersection), then thinned to at most one per ``spacing_m × spacing_m``
    square of the projected grid: the point nearest the square's centre. A lone rural road thus
    gets a candidate about every `spacing_m` metres, and a dense compound one per square, not
    one per footpath. A point is kept when it lies within the walking reach of some uncovered
    demand unit in straight line: ``threshold minutes × speed`` metres (plus 1 % for
    projection). A site farther than that cannot cover anyone new, since a walk is never
    shorter than the straight line, so the filter drops no useful point.

    Parameters
    ----------
    net
        The walking network the report was computed on.
    report
        The `circles.coverage.CoverageReport`.
    category_id
        The category, e.g. ``"elderly"``.
    spacing_m
        Size of the squares that hold at most one generated point (metres). 150 m puts a
        candidate within about 100 m (under two minutes for older walkers) of every street.
    tier
        The tier new sites would belong to (its threshold and speed apply); default the
        category's last tier (stations / points, where facilities without a tier land).
    boundary
        Keep only points inside this polygon (WGS84), e.g. the district.

    Returns
    -------
    pandas.DataFrame
        ``lon``, ``lat`` (WGS84), ``name`` (``"gap point 12"``), ``edge``, ``offset_m``; one
        row per point, empty when everyone is covered.
    """
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        raise CirclesError(f"spacing_m is {spacing_m}; give a spacing > 0 metres (e.g. 150)")
    _, _, threshold, speed, way_factors = _tier_of(report, category_id, tier)
    new_w, _ = _new_weights(report, category_id)
    cols = ["lon", "lat", "name", "edge", "offset_m"]
    sel = np.flatnonzero(new_w > 0)
    if not len(sel):
        return pd.DataFrame({c: [] for c in cols})
    d = report.demand
    ux, uy = net.to_xy(d["lon"].to_numpy(float)[sel], d["lat"].to_numpy(float)[sel])
    snap = net.snap(ux, uy)
    factor = 1.0  # a way factor below 1 would let a walk outrun the straight line at this speed
    if way_factors:
        ok = net.edge_length_m > 0
        if ok.any():
            factor = min(1.0, float(np.min(net.edge_weighted_length_m[ok] / net.edge_length_m[ok])))
    # 1 % slack: projected metres differ from the great-circle lengths the times use by < 0.1 %
    reach_m = threshold * 60.0 * speed / 3.6 / max(factor, 1e-9) * 1.01
    # dense points along every street (every spacing/2, at least one per edge), then at most one per
    # spacing × spacing square: the point nearest the square's centre
    length = net.edge_geom_length_m
    count = np.maximum(1, np.ceil(length / (spacing_m / 2))).astype(np.int64)
    edge = np.repeat(np.arange(net.n_edges), count)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    k = np.arange(len(edge)) - np.repeat(first, count)
    offset = (k + 0.5) * length[edge] / count[edge]
    pts = shapely.line_interpolate_point(net.edge_lines()[edge], offset)
    px, py = shapely.get_x(pts), shapely.get_y(pts)
    cx, cy = np.floor(px / spacing_m), np.floor(py / spacing_m)
    off_centre = np.hypot(px - (cx + 0.5) * spacing_m, py - (cy + 0.5) * spacing_m)
    order = np.lexsort((np.arange(len(px)), off_centre, cy, cx))
    cell_first = np.concatenate([[True], (cx[order][1:] != cx[order][:-1]) | (cy[order][1:] != cy[order][:-1])])
    pick = np.sort(order[cell_first])
    edge, offset, px, py = edge[pick], offset[pick], px[pick], py[pick]
    dist, _ = cKDTree(np.column_stack([snap.x, snap.y])).query(np.column_stack([px, py]), distance_upper_bound=reach_m)
    keep = np.isfinite(dist)
    lon, lat = net.to_lonlat(px[keep], py[keep])
    out = pd.DataFrame({"lon": lon, "lat": lat, "edge": edge[keep], "offset_m": np.round(offset[keep], 1)})
    if boundary is not None:
        out = out[shapely.contains_xy(boundary, out["lon"].to_numpy(), out["lat"].to_numpy())]
    out = out.reset_index(drop=True)
    out.insert(2, "name", [f"gap point {i + 1}" for i in range(len(out))])
    return out[cols]


def _prepare_candidates(candidates: pd.DataFrame, profile, category_id: str, *, need_cost: bool,
                        need_capacity: bool) -> pd.DataFrame:
    """Canonical candidate frame: lon/lat (WGS84), name, cost, capacity; rows for this category only."""
    import geopandas as gpd

    if not isinstance(candidates, pd.DataFrame):
        raise CirclesError("candidates must be a DataFrame with lon/lat columns or a GeoDataFrame, "
                           f"got {type(candidates).__name__}")
    frame = candidates.copy()
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        if frame.crs is None:
            raise CirclesError("candidates: the GeoDataFrame has no CRS; set one first (e.g. .set_crs('EPSG:4326'))")
        geom = frame.geometry.to_crs("EPSG:4326")
        empty = geom.is_empty | geom.isna()
        if empty.any():
            first = frame.index[np.flatnonzero(empty.to_numpy())[0]]
            raise CirclesError(f"candidates row {first!r}: empty geometry; drop the row or give it a location")
        pts = shapely.point_on_surface(geom.values)
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        frame["lon"], frame["lat"] = shapely.get_x(pts), shapely.get_y(pts)
    for col in ("lon", "lat"):
        if col not in frame.columns:
            raise CirclesError(f"candidates have no {col!r} column; give WGS84 lon/lat columns "
                               "(read premises lists with circles.facilities)")
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lat) > 90) | (np.abs(lon) > 180))
    if len(bad):
        i = bad[0]
        raise CirclesError(f"candidates row {frame.index[i]!r}: location ({frame['lon'].iloc[i]}, "
                           f"{frame['lat'].iloc[i]}) is missing or out of range; give WGS84 lon/lat in degrees "
                           "(swapped columns?)")
    frame["lon"], frame["lat"] = lon, lat
    if "category" in frame.columns:
        keep = np.zeros(len(frame), dtype=bool)
        for k, value in enumerate(frame["category"].tolist()):
            if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
                keep[k] = True  # blank: premises usable by any category
            elif str(value).strip() == category_id:
                keep[k] = True
            else:
                try:
                    keep[k] = profile.match_category(str(value))[0] == category_id
                except CirclesError:
                    valid = ", ".join(c.id for c in profile.categories)
                    raise CirclesError(f"candidates row {frame.index[k]!r}: category {value!r} is not known to "
                                       f"profile '{profile.id}'; use one of {valid}, or leave it blank for any "
                                       "category") from None
        frame = frame[keep]
    if "name" not in frame.columns:
        frame["name"] = [f"candidate {i}" for i in frame.index]
    frame["area_m2"] = (pd.to_numeric(frame["area_m2"], errors="coerce").to_numpy(float) if "area_m2" in frame.columns
                        else np.nan)
    for col, needed, what in (("cost", need_cost, "a budget"), ("capacity", need_capacity, "capacitated siting")):
        if col not in frame.columns:
            if needed:
                raise CirclesError(f"candidates have no {col!r} column, needed for {what}; add one {col} per candidate")
            frame[col] = np.nan
            continue
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
        if needed:
            bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
            if len(bad):
                i = bad[0]
                raw = frame[col].iloc[i]
                problem = "is missing" if pd.isna(raw) or not np.isfinite(v[i]) else f"{raw} is negative"
                raise CirclesError(f"candidates row {frame.index[i]!r}: {col} {problem}; {what} needs a {col} >= 0 "
                                   "for every candidate (fill it or drop the row)")
        frame[col] = v
    return frame


# ============================================================================ the planner's call
@dataclass(frozen=True)
class SitingResult:
    """Suggested new sites for one category, with the figures a planner reports.

    Attributes
    ----------
    category, tier
        The category and the tier the new sites belong to (its threshold and speed apply).
    model
        ``"mclp"`` (n new sites), ``"budget"`` (a total budget) or ``"set_cover"`` (a target share).
    capacitated
        True when each site covers at most its capacity.
    sites
        One row per suggested site in greedy order: ``rank``, ``candidate`` (the index label of
        the candidate in the input frame), ``name``, ``lon``, ``lat`` (WGS84), ``added_covered``
        (people of the demand group the site newly covers given the sites before it),
        ``coverage_after`` (the share once this site and those before it are open),
        ``assigned`` (newly covered people served by this site: each unit's nearest new site, or
        the capacity-respecting assignment when capacitated), ``cost``, ``capacity``.
    demand_column
        The demand group counted (e.g. ``pop_60plus``).
    demand_total, covered_before, covered_after
        People of the demand group inside the study area; covered by existing facilities;
        covered once the new sites are open.
    objective
        People newly covered (``covered_after − covered_before``).
    coverage_before, coverage_after
        The shares.
    target_coverage, target_met
        The target share for set cover, and whether the candidates reach it.
    optimal, gap, bound
        Whether the solver proved optimality; the relative MIP gap of the model's objective
        (people for mclp/budget, number of sites for set_cover); the proven bound.
    solver
        ``"highs"``, ``"cbc"``, ``"greedy"`` or ``"exact"`` (every useful candidate fits).
    time_limit_s, solve_s
        The solver's time limit, and the wall time of the whole call (seconds).
    greedy_objective
        People the lazy greedy alone would newly cover (the warm start), for comparison.
    minutes, speed_kmh
        The threshold and walking speed used.
    candidates_given, candidates_used
        Candidate rows for this category, and those on the network.
    newly_covered
        Per demand unit (index of ``report.demand``): share of its people newly covered (0/1,
        fractional only when capacitated).
    model_size, timings
        Sizes before/after reduction and MIP nonzeros; seconds per stage.
    message
        One line for the planner.
    notes
        Further lines: dropped candidates, capacity or target limits.
    """

    category: str
    tier: str
    model: str
    capacitated: bool
    sites: pd.DataFrame
    demand_column: str
    demand_total: float
    covered_before: float
    covered_after: float
    objective: float
    coverage_before: float
    coverage_after: float
    target_coverage: float | None
    target_met: bool | None
    optimal: bool
    gap: float
    bound: float
    solver: str
    time_limit_s: float
    solve_s: float
    greedy_objective: float
    minutes: float
    speed_kmh: float
    candidates_given: int
    candidates_used: int
    newly_covered: pd.Series = field(repr=False)
    model_size: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""
    notes: tuple[str, ...] = ()

    @property
    def n_sites(self) -> int:
        return len(self.sites)

    def to_geodataframe(self):
        """The suggested sites as WGS84 points with ``kind`` = ``"suggested_site"`` and ``category``,
        ready for `circles.export` to add to ``gaps.geojson``."""
        import geopandas as gpd

        frame = self.sites.copy()
        frame.insert(0, "kind", "suggested_site")
        frame.insert(1, "category", self.category)
        frame.insert(2, "tier", self.tier)
        frame["demand_column"] = self.demand_column
        return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures for ``summary.json`` (``suggestions`` → category)."""
        def num(v):
            return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v

        sites = []
        for row in self.sites.itertuples(index=False):
            sites.append({"rank": int(row.rank), "candidate": _jsonable(row.candidate), "name": str(row.name),
                          "lon": round(float(row.lon), 7), "lat": round(float(row.lat), 7),
                          "added_covered": round(float(row.added_covered), 3),
                          "coverage_after": round(float(row.coverage_after), 6),
                          "assigned": round(float(row.assigned), 3),
                          "cost": num(float(row.cost)), "capacity": num(float(row.capacity))})
        return {
            "category": self.category, "tier": self.tier, "model": self.model, "capacitated": self.capacitated,
            "demand_column": self.demand_column, "minutes": self.minutes, "speed_kmh": self.speed_kmh,
            "sites": sites, "n_sites": self.n_sites,
            "demand_total": self.demand_total, "covered_before": self.covered_before,
            "covered_after": self.covered_after, "added_covered": self.objective,
            "coverage_before": round(self.coverage_before, 6), "coverage_after": round(self.coverage_after, 6),
            "target_coverage": self.target_coverage, "target_met": self.target_met,
            "optimal": self.optimal, "gap": num(round(self.gap, 6) if np.isfinite(self.gap) else self.gap),
            "solver": self.solver, "time_limit_s": self.time_limit_s, "solve_s": round(self.solve_s, 3),
            "greedy_added_covered": self.greedy_objective,
            "candidates_given": self.candidates_given, "candidates_used": self.candidates_used,
            "message": self.message, "notes": list(self.notes),
        }


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v if isinstance(v, (int, float, str)) or v is None else str(v)


def suggest_sites(
    report: CoverageReport,
    net: CompactNetwork,
    candidates: pd.DataFrame | None = None,
    *,
    category: str,
    n_sites: int | None = None,
    target_coverage: float | None = None,
    budget: float | None = None,
    capacitated: bool = False,
    tier: str | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    solver: str = "auto",
    spacing_m: float = DEFAULT_SPACING_M,
    snap_max_m: float = 200.0,
) -> SitingResult:
    """Where new sites of a category should go, existing facilities kept.

    Give one of: `n_sites` (maximal covering with that many new sites), `budget` (with a
    ``cost`` per candidate; may be combined with `n_sites`), or `target_coverage` (the fewest
    new sites reaching that share). Only people of the category's demand group (e.g. 60+)
    inside the study area count; those already covered by existing facilities count as
    covered before and add nothing when covered again.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport` of the existing facilities.
    net
        The walking network of the report (the network of the tier's mode).
    candidates
        Possible sites: a DataFrame with ``lon``, ``lat`` (WGS84 degrees) and optional ``name``,
        ``cost``, ``capacity`` (people of the demand group), ``area_m2``, ``category`` (rows of
        other categories are ignored; blank = any); or a GeoDataFrame (any CRS; polygons give a
        point on their surface), e.g. OSM buildings. None: points generated along the network
        near the gaps every `spacing_m` metres (`candidates_in_gaps`).
    category
        Category id, e.g. ``"elderly"``.
    n_sites
        Number of new sites (p), ≥ 1 and at most the number of usable candidates.
    target_coverage
        Share of the demand to reach, in (0, 1], e.g. 0.9.
    budget
        Total cost allowed (same currency as the candidates' ``cost``).
    capacitated
        Each site covers at most its ``capacity`` people; the assignment respects it.
    tier
        The tier new sites belong to (its threshold and speed apply); default the category's
        last tier (stations / points). Drive tiers are refused.
    time_limit_s
        Time limit of the MIP solver (seconds); the best solution found and its gap are
        reported when reached.
    solver
        ``"auto"``, ``"highs"``, ``"cbc"`` or ``"greedy"``; see `solve_mclp`.
    spacing_m
        Spacing of generated candidates when `candidates` is None (metres).
    snap_max_m
        Candidates farther than this from every walkable way are left out (metres).

    Returns
    -------
    SitingResult

    Examples
    --------
    >>> from circles.sample import make_sample  # doctest: +SKIP
    >>> result = suggest_sites(report, net, category="elderly", n_sites=5)  # doctest: +SKIP
    >>> print(result.message)  # doctest: +SKIP
    5 new site(s) cover 5,204 more (optimal); elderly coverage 77.6% → 92.2%
    """
    t_start = time.perf_counter()
    res = report.category(category)
    _, t, threshold, speed, way_factors = _tier_of(report, category, tier)
    asked = (("n_sites", n_sites), ("target_coverage", target_coverage), ("budget", budget))
    given = [name for name, v in asked if v is not None]
    if not given:
        raise CirclesError("give n_sites (e.g. 5 new sites), a budget, or target_coverage (e.g. 0.9)")
    if target_coverage is not None and len(given) > 1:
        raise CirclesError("target_coverage asks for the fewest sites; give it alone, without n_sites or budget")
    if target_coverage is not None and not (0 < target_coverage <= 1):
        raise CirclesError(f"target_coverage is {target_coverage}; give a share in (0, 1], e.g. 0.9 for 90 %")
    if n_sites is not None and (isinstance(n_sites, bool) or int(n_sites) != n_sites or n_sites < 1):
        raise CirclesError(f"n_sites is {n_sites!r}; give a whole number of new sites >= 1")
    _check_solver(solver, time_limit_s)
    model = "set_cover" if target_coverage is not None else ("budget" if budget is not None else "mclp")
    notes: list[str] = []

    if candidates is None:
        for needed, what in ((budget is not None, "a budget needs a 'cost'"),
                             (capacitated, "capacitated siting needs a 'capacity'")):
            if needed:
                raise CirclesError(f"{what} for every candidate, and generated gap points have none; give a premises "
                                   "list with that column")
        candidates = candidates_in_gaps(net, report, category, spacing_m=spacing_m, tier=t.id)
        notes.append(f"{len(candidates)} candidate points generated on the streets (at most one per "
                     f"{spacing_m:g} m square) within walking reach of uncovered people")
    frame = _prepare_candidates(candidates, report.profile, category, need_cost=budget is not None,
                                need_capacity=capacitated)
    n_given = len(frame)
    new_w, _ = _new_weights(report, category)
    total = float(res.demand_total)
    before = float(res.demand_covered)
    live = np.flatnonzero(new_w > 0)
    d = report.demand
    nothing = None
    if not len(live):
        nothing = (f"everyone of {res.demand_column} inside the study area whom the network reaches is already covered "
                   f"for {category!r}: no new site needed")
    elif target_coverage is not None and target_coverage * total - before <= total * _REL_TOL:
        nothing = f"coverage {before / total:.1%} already meets the target {target_coverage:.0%}: no new site needed"
    if nothing is not None:
        return _nothing_to_do(report, category, t, model, capacitated, threshold, speed, target_coverage, n_given,
                              time_limit_s, notes + [nothing], t_start)
    if n_given == 0:
        raise CirclesError(f"no candidate sites for category {category!r}: the candidates list has "
                           f"{len(candidates)} row(s), none for this category; give premises with lon/lat "
                           f"(category blank or {category!r})")
    x, y = net.to_xy(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    csnap = net.snap(x, y, max_distance_m=snap_max_m)
    on = ~csnap.off_network
    if not on.any():
        raise CirclesError(f"all {n_given} candidates lie more than {snap_max_m:g} m from any walkable way "
                           f"(nearest {csnap.distance_m.min():,.0f} m); check their coordinates (GCJ-02/BD-09 not "
                           "converted?) or give premises near the network")
    if (~on).any():
        notes.append(f"{int((~on).sum())} of {n_given} candidates lie more than {snap_max_m:g} m from any walkable way "
                     "and were left out")
    used = frame[on]
    csnap = csnap.take(np.flatnonzero(on))
    n_used = len(used)
    if n_sites is not None and n_sites > n_used:
        raise CirclesError(f"n_sites={n_sites} is more than the {n_used} usable candidate sites"
                           + (f" ({n_given - n_used} more are off the network)" if n_used < n_given else "")
                           + f"; lower n_sites to at most {n_used} or add candidates")

    ux, uy = net.to_xy(d["lon"].to_numpy(float)[live], d["lat"].to_numpy(float)[live])
    usnap = net.snap(ux, uy, max_distance_m=snap_max_m)
    cost_s = net.travel_time_s(speed, way_factors=way_factors)
    t0 = time.perf_counter()
    sets = coverage_sets(net, csnap, usnap, cost_s, threshold_s=threshold * 60.0)
    t_sets = time.perf_counter() - t0

    costs = used["cost"].to_numpy(float)
    caps = used["capacity"].to_numpy(float) if capacitated else None
    w = new_w[live]
    if model == "set_cover":
        need = target_coverage * total - before
        sel = solve_set_cover(sets.covers, w, need, capacities=caps, time_limit_s=time_limit_s, solver=solver)
    else:
        if budget is not None and costs.min() > budget:
            raise CirclesError(f"budget {budget:,.0f} is below the cheapest usable candidate's cost "
                               f"{np.nanmin(costs):,.0f}; raise the budget or add cheaper candidates")
        if capacitated and not (caps > 0).any():
            raise CirclesError(f"every candidate's capacity is 0; the highest possible capacity (0) cannot serve "
                               f"any of the {w.sum():,.0f} uncovered people; give capacities > 0")
        sel = solve_mclp(sets.covers, w, n_sites, budget=budget, costs=costs if budget is not None else None,
                         capacities=caps, time_limit_s=time_limit_s, solver=solver)

    newly = np.zeros(len(d))
    rows, added, objective = sel.sites, sel.added, sel.objective
    newly[live] = sel.served
    if capacitated and model == "set_cover" and sel.target_met is False:
        cap_total = float(np.nansum(caps))
        if cap_total < need:
            notes.append(f"the highest possible capacity of all candidates ({cap_total:,.0f}) is smaller than the "
                         f"demand to cover for the target ({need:,.0f}); add candidates or capacity")
    timings = dict(sel.timings)
    timings = {"coverage_sets": t_sets, **timings}
    assigned = np.zeros(len(rows))
    if len(rows):
        if sel.loads is not None:
            assigned = np.asarray(sel.loads, dtype=float)
        else:  # each newly covered unit to its nearest new site
            coo = sets.time_s[rows].tocoo()
            order = np.lexsort((coo.data, coo.col))
            col, row = coo.col[order], coo.row[order]
            first = np.concatenate([[True], col[1:] != col[:-1]]) if len(col) else np.zeros(0, dtype=bool)
            assigned = np.bincount(row[first], weights=w[col[first]], minlength=len(rows))
    after = before + objective
    cum = before + np.cumsum(added)
    sites = pd.DataFrame({
        "rank": np.arange(1, len(rows) + 1),
        "candidate": used.index.to_numpy()[rows] if len(rows) else np.zeros(0, dtype=object),
        "name": used["name"].astype(str).to_numpy()[rows],
        "lon": used["lon"].to_numpy(float)[rows], "lat": used["lat"].to_numpy(float)[rows],
        "added_covered": np.asarray(added, dtype=float),
        "coverage_after": cum / total if total > 0 else np.zeros(len(rows)),
        "assigned": assigned,
        "cost": costs[rows], "capacity": used["capacity"].to_numpy(float)[rows],
        "area_m2": used["area_m2"].to_numpy(float)[rows],
    })
    cov_b = before / total if total > 0 else 0.0
    cov_a = after / total if total > 0 else 0.0
    message = sel.message + f"; {category} coverage {cov_b:.1%} → {cov_a:.1%}"
    if model == "set_cover":
        message += f" (target {target_coverage:.0%}" + (", met)" if sel.target_met else ", not reachable)")
    return SitingResult(
        category=category, tier=t.id, model=model, capacitated=bool(capacitated), sites=sites,
        demand_column=res.demand_column, demand_total=total, covered_before=before, covered_after=after,
        objective=objective, coverage_before=cov_b, coverage_after=cov_a, target_coverage=target_coverage,
        target_met=sel.target_met, optimal=sel.optimal, gap=sel.gap, bound=sel.bound, solver=sel.solver,
        time_limit_s=float(time_limit_s), solve_s=time.perf_counter() - t_start,
        greedy_objective=sel.greedy_objective, minutes=threshold, speed_kmh=speed, candidates_given=n_given,
        candidates_used=n_used, newly_covered=pd.Series(newly, index=d.index, name=f"newly_covered_{category}"),
        model_size=dict(sel.model_size), timings=timings, message=message, notes=tuple(notes))


_SITE_COLUMNS = ["rank", "candidate", "name", "lon", "lat", "added_covered", "coverage_after", "assigned", "cost",
                 "capacity", "area_m2"]


def _nothing_to_do(report, category, t, model, capacitated, threshold, speed, target_coverage, n_given,
                   time_limit_s, notes, t_start) -> SitingResult:
    """The answer when no new site is needed (everyone reachable is covered, or the target is met)."""
    res = report.category(category)
    total, before = float(res.demand_total), float(res.demand_covered)
    share = before / total if total > 0 else 0.0
    d = report.demand
    return SitingResult(
        category=category, tier=t.id, model=model, capacitated=bool(capacitated),
        sites=pd.DataFrame({c: [] for c in _SITE_COLUMNS}), demand_column=res.demand_column, demand_total=total,
        covered_before=before, covered_after=before, objective=0.0, coverage_before=share, coverage_after=share,
        target_coverage=target_coverage,
        target_met=None if target_coverage is None else share >= target_coverage - _REL_TOL,
        optimal=True, gap=0.0, bound=0.0, solver="exact", time_limit_s=float(time_limit_s),
        solve_s=time.perf_counter() - t_start, greedy_objective=0.0, minutes=threshold, speed_kmh=speed,
        candidates_given=n_given, candidates_used=0,
        newly_covered=pd.Series(np.zeros(len(d)), index=d.index, name=f"newly_covered_{category}"),
        message=f"no new site needed; {category} coverage {share:.1%}", notes=tuple(notes))

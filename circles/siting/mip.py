"""The exact models: covering and capacitated MIPs in arrays, solved by HiGHS (highspy) or CBC (PuLP).

Neither solver prints: HiGHS is created with its output turned off before a model is passed, and
CBC runs with ``msg=False`` and its log in a temporary file (read for the status and the bound).
The figures the planner sees come from `circles.siting.api`; this module only builds and solves.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from circles.errors import SolverError
from circles.siting.greedy import REL_TOL, coverage_value, lazy_greedy

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TIME_LIMIT_S", "MAX_MIP_NONZEROS", "SOLVERS", "ExactOutcome", "Mip", "MipOutcome",
    "assign", "capacitated_mip", "capacitated_order", "check_solver", "choose_solver", "covering_mip",
    "relative_gap", "run_mip", "solve_cbc", "solve_exact", "solve_highs",
]

DEFAULT_TIME_LIMIT_S = 60.0
#: Models with more constraint-matrix nonzeros than this are solved by the greedy alone (with a bound).
MAX_MIP_NONZEROS = 6_000_000
#: Above this many nonzeros `solver="auto"` takes HiGHS even for uncapacitated models (see `choose_solver`).
CBC_MAX_NONZEROS = 2_000_000
SOLVERS = ("auto", "highs", "cbc", "greedy")


def check_solver(solver: str, time_limit_s: float) -> None:
    """Refuse an unknown solver or a time limit that is not a positive number of seconds.

    Parameters
    ----------
    solver
        One of `SOLVERS`.
    time_limit_s
        The solver's time limit (seconds).

    Raises
    ------
    SolverError
        Naming the bad value and the valid ones.
    """
    if solver not in SOLVERS:
        raise SolverError(f"solver {solver!r} is not known; use one of {', '.join(SOLVERS)}")
    if not (time_limit_s > 0):
        raise SolverError(f"time_limit_s is {time_limit_s}; give a time limit > 0 seconds (e.g. 60)")


def relative_gap(value: float, bound: float, optimal: bool) -> float:
    """``|bound − value| / |value|``; 0 when optimal, NaN when either is unknown."""
    if optimal:
        return 0.0
    if not (np.isfinite(value) and np.isfinite(bound)):
        return math.nan
    return abs(bound - value) / max(abs(value), 1e-9)


# ============================================================================ the MIP in arrays
@dataclass(frozen=True)
class Mip:
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
class MipOutcome:
    """What a back end returns: the solution (None when it has none), objective, bound, status, seconds."""

    x: np.ndarray | None
    objective: float
    bound: float
    optimal: bool
    status: str
    seconds: float
    build_s: float = 0.0


# ============================================================================ HiGHS
def _quiet_highs(highspy: Any) -> Any:
    """A HiGHS instance whose output is off before any model is passed.

    highspy's ``Highs()`` installs its Python callbacks in its constructor, and HiGHS then prints
    its banner ("Running HiGHS …: Copyright …") to the process's stdout once, before an option
    can be set. The class it extends, the plain binding of HiGHS's C++ class, prints nothing;
    ``Highs`` is the fallback should a highspy release drop that name (tests/test_siting.py then
    sees the banner).
    """
    core = getattr(highspy, "_Highs", None) or highspy.Highs
    h = core()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


def solve_highs(mip: Mip, *, time_limit_s: float, start: np.ndarray | None, abs_gap: float = 1e-6) -> MipOutcome:
    """Solve `mip` with HiGHS (relative gap 0, seed 0), from the warm start `start` when given.

    `abs_gap` is the absolute gap at which a solution counts as optimal: 1e-6 suits people;
    an objective in yuan (hundreds of thousands, whose bound carries rounding of 1e-5) needs
    a coarser one (tiered siting passes 0.01, a fen).
    """
    import highspy

    t0 = time.perf_counter()
    h = _quiet_highs(highspy)
    options = {"time_limit": float(max(time_limit_s, 0.01)), "mip_rel_gap": 0.0, "mip_abs_gap": float(abs_gap),
               "random_seed": 0}
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
    return MipOutcome(x, obj, bound, bool(optimal and has), status, time.perf_counter() - t0, build_s)


# ============================================================================ CBC through PuLP
_CBC_BOUND = re.compile(r"^(Upper|Lower) bound:\s*(\S+)", re.M)
_CBC_RESULT = re.compile(r"^Result - (.*)$", re.M)


def _pulp_problem(mip: Mip) -> tuple[Any, list[Any]]:
    """The PuLP problem of `mip` and its variables, in column order."""
    import pulp

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
    return prob, var


def _run_cbc(prob: Any, *, time_limit_s: float, warm: bool, abs_gap: float = 1e-6) -> tuple[str | None, str]:
    """Run CBC silently on `prob`: (its log text, or None when it failed; the failure)."""
    import pulp

    fd, log_path = tempfile.mkstemp(prefix="circles_cbc_", suffix=".log")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            # PuLP 3.3 announces that 4.0 drops the CBC binary it ships; 3.3 is pinned and ships it
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=max(1.0, float(time_limit_s)), gapRel=0.0, gapAbs=float(abs_gap),
                                       warmStart=warm, logPath=log_path, threads=1)
        try:
            prob.solve(solver)
        except pulp.PulpSolverError as exc:
            return None, f"CBC failed ({exc})"
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read(), ""
    finally:
        try:
            os.unlink(log_path)
        except OSError:
            pass


def solve_cbc(mip: Mip, *, time_limit_s: float, start: np.ndarray | None, abs_gap: float = 1e-6) -> MipOutcome:
    """Solve `mip` with CBC through PuLP (relative gap 0, one thread), from the warm start `start` when given;
    `abs_gap` as in `solve_highs`."""
    import pulp

    t0 = time.perf_counter()
    prob, var = _pulp_problem(mip)
    if start is not None:
        for k, v in enumerate(np.asarray(start, dtype=float).tolist()):
            var[k].setInitialValue(round(v) if mip.integer[k] else v)
    build_s = time.perf_counter() - t0  # PuLP's model in Python; writing the MPS file counts as solving
    text, failure = _run_cbc(prob, time_limit_s=time_limit_s, warm=start is not None, abs_gap=abs_gap)
    if text is None:
        return MipOutcome(None, math.nan, math.nan, False, failure, time.perf_counter() - t0, build_s)
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
    return MipOutcome(x, obj, bound, bool(optimal), status, time.perf_counter() - t0, build_s)


def run_mip(mip: Mip, solver: str, *, time_limit_s: float, start: np.ndarray | None,
            abs_gap: float = 1e-6) -> MipOutcome:
    """Solve `mip` with the back end `solver` (``"highs"`` or ``"cbc"``); `abs_gap` as in `solve_highs`."""
    if solver == "highs":
        return solve_highs(mip, time_limit_s=time_limit_s, start=start, abs_gap=abs_gap)
    return solve_cbc(mip, time_limit_s=time_limit_s, start=start, abs_gap=abs_gap)


def choose_solver(solver: str, mip: Mip, *, capacitated: bool) -> str:
    """The back end for `solver="auto"`: what bench/bench_siting.py measured faster for this shape.

    Uncapacitated models: CBC (through PuLP). It was level or faster on every uncapacitated
    maximal covering instance of the benchmark, up to 7× on the dense, overlapping sets of
    Porto's core and Shenzhen (HiGHS spends its time at the root node there); set cover, the same
    covering rows, follows it. PuLP builds the model in Python, though, about 1 µs and 100 bytes
    per nonzero, while HiGHS takes the arrays directly: above `CBC_MAX_NONZEROS` nonzeros the
    building alone approaches the solve times measured, and HiGHS is used (a judgement, not a
    measurement). Capacitated models: HiGHS, about 3× faster on their many continuous
    assignment variables.
    """
    if solver != "auto":
        return solver
    if capacitated:
        return "highs"
    return "cbc" if mip.nonzeros <= CBC_MAX_NONZEROS else "highs"


# ============================================================================ model builders
def covering_mip(a: sparse.csr_matrix, w: np.ndarray, *, objective: str, n_sites: int | None = None,
                 costs: np.ndarray | None = None, budget: float | None = None, target: float | None = None) -> Mip:
    """Uncapacitated: columns [x (sites, binary), y (units, [0, 1])]; y_i <= sum of x_j covering i.

    `objective` ``"coverage"`` maximises the covered weight; ``"count"`` minimises the sites.
    """
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
    return Mip(sense, c.astype(float), np.zeros(n_c + n_u), np.ones(n_c + n_u),
               np.concatenate([np.ones(n_c, dtype=bool), np.zeros(n_u, dtype=bool)]),
               sparse.vstack(rows, format="csr"), np.concatenate(lo).astype(float), np.concatenate(hi).astype(float))


def capacitated_mip(a: sparse.csr_matrix, w: np.ndarray, cap: np.ndarray, *, objective: str,
                    n_sites: int | None = None, costs: np.ndarray | None = None, budget: float | None = None,
                    target: float | None = None, fixed: Sequence[int] | None = None) -> Mip:
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
    return Mip(sense, c, np.concatenate([xlo, np.zeros(k)]), np.concatenate([xhi, np.ones(k)]), integer,
               sparse.vstack(rows, format="csr"), np.concatenate(lo).astype(float), np.concatenate(hi).astype(float))


# ============================================================================ capacitated assignment
def assign(a: sparse.csr_matrix, w: np.ndarray, cap: np.ndarray,
           sites: Sequence[int]) -> tuple[float, np.ndarray, np.ndarray]:
    """Best capacitated assignment to the open `sites` (an LP on their rows only, by HiGHS).

    Returns the covered weight, the served share of each unit, and the weight each site serves.
    """
    sites = list(sites)
    if not sites:
        return 0.0, np.zeros(a.shape[1]), np.zeros(0)
    sub = a[sites]
    out = solve_highs(capacitated_mip(sub, w, cap[sites], objective="coverage", fixed=range(len(sites))),
                      time_limit_s=600.0, start=None)
    if out.x is None:  # cannot happen for this always-feasible LP; keep the caller's numbers sane
        return 0.0, np.zeros(a.shape[1]), np.zeros(len(sites))
    z = np.clip(out.x[len(sites):], 0.0, 1.0)
    coo = sub.tocoo()
    served = np.clip(np.bincount(coo.col, weights=z, minlength=a.shape[1]), 0.0, 1.0)
    load = np.bincount(coo.row, weights=z * w[coo.col], minlength=len(sites))
    return float(w @ served), served, load


def capacitated_order(a: sparse.csr_matrix, w: np.ndarray, cap: np.ndarray, sites: Sequence[int],
                      counts: np.ndarray) -> tuple[list[int], list[float], np.ndarray, np.ndarray]:
    """Sites in the capacitated greedy order; gains from exact assignments of each prefix; served shares; loads."""
    order = [sites[k] for k in lazy_greedy(a[list(sites)], w, capacities=cap[list(sites)], counts=counts)]
    order += [j for j in sites if j not in order]
    gains, prev, served, load = [], 0.0, np.zeros(a.shape[1]), np.zeros(0)
    for k in range(1, len(order) + 1):
        value, served, load = assign(a, w, cap, order[:k])
        gains.append(value - prev)
        prev = value
    return order, gains, served, load


# ============================================================================ the exact stage
@dataclass(frozen=True)
class ExactOutcome:
    """The sites the exact stage settles on, and how: solver, optimality, bound, status, sizes."""

    sites: list[int]
    optimal: bool
    bound: float
    solver: str
    status: str
    nonzeros: int
    build_s: float | None = None  # None: no MIP was run


@dataclass(frozen=True)
class _Model:
    """A reduced model with what building its MIPs needs."""

    a: sparse.csr_matrix
    w: np.ndarray
    cap: np.ndarray | None
    costs: np.ndarray | None
    budget: float | None

    def build(self, objective: str, *, p: int | None = None, target: float | None = None) -> Mip:
        if self.cap is None:
            return covering_mip(self.a, self.w, objective=objective, n_sites=p, costs=self.costs, budget=self.budget,
                                target=target)
        return capacitated_mip(self.a, self.w, self.cap, objective=objective, n_sites=p, costs=self.costs,
                               budget=self.budget, target=target)

    def value(self, sites: Sequence[int]) -> float:
        return coverage_value(self.a, self.w, sites) if self.cap is None else assign(self.a, self.w, self.cap, sites)[0]

    def start(self, sites: Sequence[int], mip: Mip) -> np.ndarray:
        """The warm start of `mip` with `sites` open: units covered, or their best capacitated assignment."""
        n_c, n_u = self.a.shape
        x = np.zeros(len(mip.c))
        x[list(sites)] = 1.0
        if self.cap is None:
            hit = np.zeros(n_u)
            if len(sites):
                hit[self.a[list(sites)].indices] = 1.0
            x[n_c:] = hit
        else:
            lp = solve_highs(capacitated_mip(self.a, self.w, self.cap, objective="coverage", fixed=sites),
                             time_limit_s=60.0, start=None)
            if lp.x is not None:
                x[n_c:] = lp.x[n_c:]
        return x


def solve_exact(a: sparse.csr_matrix, w: np.ndarray, cap: np.ndarray | None, *, model: str, n_sites: int | None,
                budget: float | None, costs: np.ndarray | None, want: float | None, g_sites: Sequence[int],
                g_value: float, time_limit_s: float, solver: str, bound: float) -> ExactOutcome:
    """Solve the reduced model by MIP; fall back to the greedy sites on size, failure or a worse incumbent.

    Parameters
    ----------
    a, w, cap
        The reduced model: coverage matrix (CSR), unit weights (people), site capacities or None.
    model
        ``"mclp"``, ``"budget"`` or ``"set_cover"``.
    n_sites, budget, costs
        The limits of maximal covering.
    want
        Set cover: the weight to reach.
    g_sites, g_value
        The greedy's sites (the warm start and the fallback) and the weight they cover.
    time_limit_s
        Wall-clock limit for all MIPs together (seconds).
    solver
        ``"auto"``, ``"highs"`` or ``"cbc"``.
    bound
        The bound known before the MIP (kept when the solver gives none).
    """
    m = _Model(a, w, cap, costs, budget)
    deadline = time.perf_counter() + time_limit_s
    first = m.build("coverage" if model != "set_cover" else "count", p=n_sites,
                    target=want * (1 - REL_TOL) if model == "set_cover" else None)
    if first.nonzeros > MAX_MIP_NONZEROS:
        log.warning("siting model has %d nonzeros (> %d): greedy solution with a bound",
                    first.nonzeros, MAX_MIP_NONZEROS)
        return ExactOutcome(list(g_sites), False, bound, "greedy",
                            f"model too large for the MIP ({first.nonzeros:,} nonzeros)", first.nonzeros)
    back = choose_solver(solver, first, capacitated=cap is not None)
    out = run_mip(first, back, time_limit_s=time_limit_s, start=m.start(g_sites, first))
    log.info("siting MIP (%s, %s): %s in %.2f s", back, model, out.status, out.seconds)
    if out.x is None:
        return ExactOutcome(list(g_sites), False, bound, "greedy", f"{back}: {out.status}; greedy solution kept",
                            first.nonzeros, out.build_s)
    sites = [int(j) for j in np.flatnonzero(out.x[:a.shape[0]] > 0.5)]
    if model != "set_cover":
        optimal = out.optimal
        if m.value(sites) + 1e-9 < g_value:  # the solver stopped before reaching its warm start
            sites, optimal = list(g_sites), False
        return ExactOutcome(sites, optimal, out.bound if np.isfinite(out.bound) else bound, back, out.status,
                            first.nonzeros, out.build_s)
    count_bound = out.bound if np.isfinite(out.bound) else bound
    sites, optimal, status, build2_s = _most_covering(m, sites, out, back, left=deadline - time.perf_counter())
    return ExactOutcome(sites, optimal, count_bound, back, status, first.nonzeros, out.build_s + build2_s)


def _most_covering(m: _Model, sites: list[int], out: MipOutcome, back: str,
                   *, left: float) -> tuple[list[int], bool, str, float]:
    """Set cover, phase 2: with as many sites as phase 1 found, cover the most (within the time `left`).

    Returns the sites, whether both phases are optimal, the status and the seconds spent building.
    """
    k = len(sites)
    optimal, status, build_s = out.optimal, out.status, 0.0
    if k and left <= 0.5:
        optimal, status = False, status + "; no time left to maximise the coverage of that many sites"
    elif k:
        second = m.build("coverage", p=k)
        out2 = run_mip(second, back, time_limit_s=left, start=m.start(sites, second))
        build_s = out2.build_s
        if out2.x is not None:
            s2 = [int(j) for j in np.flatnonzero(out2.x[:m.a.shape[0]] > 0.5)]
            if m.value(s2) >= m.value(sites) - 1e-9 and len(s2) <= k:
                sites = s2
            optimal = optimal and out2.optimal
        else:
            optimal = False
    return sites, optimal, status, build_s

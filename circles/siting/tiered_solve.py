"""`solve_tiered`: the exact choice of centres and points on a `TieredModel`, with its gap and greedy order.

The model is reduced (`reduce_tiered`), the greedy gives a warm start (`tiered_greedy`), and
HiGHS (or CBC) solves it silently: a budget is one MIP (the most people within it); a target is
a sequence of budgeted MIPs (the least cost, then the most people at that cost). Sites that
add nobody are pruned, and the rest come back in greedy order with what each adds.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import sparse

from circles.errors import InputError
from circles.siting.greedy import REL_TOL
from circles.siting.mip import DEFAULT_TIME_LIMIT_S, MAX_MIP_NONZEROS, check_solver, relative_gap, run_mip, solve_highs
from circles.siting.tiered_model import (
    CENTRE,
    COST_ABS_GAP,
    POINT,
    Layout,
    ReducedTiered,
    TieredModel,
    assignment,
    reduce_tiered,
    tiered_greedy,
    tiered_mip,
)

log = logging.getLogger(__name__)

__all__ = ["ExactChoice", "TieredSelection", "cost_step", "least_cost", "solve_tiered"]


# ============================================================================ the answer
@dataclass(frozen=True)
class TieredSelection:
    """The answer of `solve_tiered`, in the indices of the model given.

    Attributes
    ----------
    order
        Every chosen site as ``(role, index)``, role ``"centre"`` or ``"point"``, in greedy
        order: each adds the most among those that count by then (a point only once a centre
        links it, unless it is free).
    added
        People each site of `order` newly covers given the sites before it (sums to ``objective``).
    loads
        People each site of `order` serves within its capacity (capacitated models), else None.
    centres, points
        The chosen candidate centres and points (in `order`'s order).
    objective, cost
        People newly covered; the cost of the chosen sites.
    bound, optimal, gap
        The solver's proven bound on the model's objective (people for a budget, cost for a
        target), whether it proved optimality, and the relative gap (0 when optimal, NaN unknown).
    solver, status
        ``"highs"``, ``"cbc"``, ``"greedy"`` or ``"exact"`` (nothing to choose), and its status line.
    time_limit_s, solve_s
        The solver's time limit and the wall time of the whole call (seconds).
    greedy_objective, greedy_cost
        What the warm start alone covers and costs.
    served
        Per unit of the model: share of its people newly covered.
    reachable
        The most people all candidates together can newly cover.
    budget, target, target_met
        The limits asked for; for a target, whether it was reached (else the most reachable was
        targeted at least cost).
    model_size, timings
        Sizes before and after reduction and MIP nonzeros; seconds per stage.
    message
        One line for the planner.
    """

    order: tuple[tuple[str, int], ...]
    added: np.ndarray
    loads: np.ndarray | None
    objective: float
    cost: float
    bound: float
    optimal: bool
    gap: float
    solver: str
    status: str
    time_limit_s: float
    solve_s: float
    greedy_objective: float
    greedy_cost: float
    served: np.ndarray
    reachable: float
    budget: float | None = None
    target: float | None = None
    target_met: bool | None = None
    model_size: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def centres(self) -> np.ndarray:
        return np.array([i for r, i in self.order if r == CENTRE], dtype=np.int64)

    @property
    def points(self) -> np.ndarray:
        return np.array([i for r, i in self.order if r == POINT], dtype=np.int64)


def solve_tiered(
    model: TieredModel,
    *,
    budget: float | None = None,
    target: float | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    solver: str = "auto",
    reduce: bool = True,
) -> TieredSelection:
    """Centres and points chosen together: most people within a `budget`, or least cost to cover `target`.

    Parameters
    ----------
    model
        The `TieredModel` (weights 0 for people covered before).
    budget
        Total cost allowed (yuan): the most people covered within it.
    target
        People to cover newly: the least cost reaching it, and at that cost the most people.
        When the candidates cannot reach it, the most they can reach is targeted instead
        (``target_met`` False).
    time_limit_s
        Wall-clock limit for the MIPs together (seconds); the best solution found is kept with
        its gap.
    solver
        ``"auto"`` (HiGHS), ``"highs"``, ``"cbc"`` or ``"greedy"`` (no MIP).
    reduce
        Reduce the model first (`reduce_tiered`).

    Returns
    -------
    TieredSelection

    Examples
    --------
    Two units of 10 people. Point 0 covers unit 0 but only centre 0 links it; centre 1 covers
    unit 1. With 2 to spend: centre 0 (1) and point 0 (1) cover 10, centre 1 (2) covers 10 —
    and with 3, centre 1 and point 0 cannot go together (no link):

    >>> import numpy as np
    >>> m = TieredModel.build([[0, 0], [0, 1]], [[1, 0]], [[1], [0]], [10.0, 10.0],
    ...                       centre_costs=[1.0, 2.0], point_costs=[1.0])
    >>> solve_tiered(m, budget=3.0).objective, solve_tiered(m, budget=4.0).objective
    (10.0, 20.0)
    """
    check_solver(solver, time_limit_s)
    if (budget is None) == (target is None):
        raise InputError("give a budget (the most people within it) or a target (the least cost reaching it), "
                         "one of the two")
    if budget is not None and not (np.isfinite(budget) and budget >= 0):
        raise InputError(f"budget is {budget}; give a total budget >= 0 (yuan), e.g. 3000000")
    if target is not None and not (np.isfinite(target) and target > 0):
        raise InputError(f"target is {target}; give the people to cover newly, > 0")
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    red = reduce_tiered(model) if reduce else ReducedTiered.unreduced(model)
    rm = red.model
    timings["reduce"] = time.perf_counter() - t0
    size = {"centres": model.n_centres, "points": model.n_points, "units": model.n_units,
            "centres_reduced": rm.n_centres, "points_reduced": rm.n_points, "units_reduced": rm.n_units,
            "dominated_dropped": red.dropped_dominated}
    reachable = rm.value(range(rm.n_centres), range(rm.n_points)) if rm.n_units else 0.0
    target_met, want = None, target
    if target is not None:
        target_met = reachable >= target * (1 - REL_TOL)
        want = target if target_met else reachable
    t0 = time.perf_counter()
    g_sites = tiered_greedy(rm, budget=budget, target=want) if rm.n_units and (want is None or want > 0) else ([], [])
    g_value = rm.value(*g_sites)
    timings["greedy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ex = _exact(rm, budget=budget, want=want, g_sites=g_sites, g_value=g_value, reachable=reachable,
                time_limit_s=time_limit_s, solver=solver, size=size, timings=timings)
    timings["mip"] = time.perf_counter() - t0
    centres, points = _prune(rm, *ex.sites)
    order, added, loads = _greedy_ordered(rm, centres, points)
    order = tuple((r, int(red.centres[i] if r == CENTRE else red.points[i])) for r, i in order)
    served = np.concatenate([assignment(rm, centres, points).served, [0.0]])[red.unit_group]
    objective = float(model.weights @ served)
    cost = float(sum(model.centre_costs[i] if r == CENTRE else model.point_costs[i] for r, i in order))
    value = objective if budget is not None else cost
    if target is not None:  # the greedy kept after a failed MIP may fall short
        target_met = bool(objective >= want * (1 - REL_TOL)) and bool(target_met)
    optimal, status = ex.optimal, ex.status
    tol = 1e-9 * max(1.0, float(model.weights.sum()))
    if budget is not None and not optimal and np.isfinite(ex.bound) and value >= ex.bound - tol:
        optimal, status = True, status + "; reaches the upper bound"
    gap = relative_gap(value, ex.bound, optimal)
    sel = TieredSelection(order=order, added=np.asarray(added, dtype=float), loads=loads, objective=objective,
                          cost=cost, bound=float(ex.bound), optimal=bool(optimal), gap=float(gap), solver=ex.solver,
                          status=status, time_limit_s=float(time_limit_s), solve_s=time.perf_counter() - t_start,
                          greedy_objective=float(g_value), greedy_cost=rm.cost(*g_sites), served=served,
                          reachable=float(reachable), budget=budget, target=target, target_met=target_met,
                          model_size=size, timings=timings)
    return replace(sel, message=_message(sel))


@dataclass(frozen=True)
class ExactChoice:
    """The sites the exact stage settles on, and how.

    Attributes
    ----------
    sites
        (centres, points): indices in the model solved.
    optimal
        Whether the solver proved them optimal.
    bound
        The proven bound on the objective (people for a budget, yuan for a target).
    solver, status
        The back end that produced them (``"greedy"`` when none did) and its status line.
    """

    sites: tuple[list[int], list[int]]
    optimal: bool
    bound: float
    solver: str
    status: str


def _sites_of(x: np.ndarray, lay: Layout) -> tuple[list[int], list[int]]:
    return ([int(k) for k in np.flatnonzero(x[:lay.n_c] > 0.5)],
            [int(j) for j in np.flatnonzero(x[lay.n_c:lay.z0] > 0.5)])


def _start(m: TieredModel, sites: tuple[list[int], list[int]], lay: Layout) -> np.ndarray:
    """The MIP vector of a choice of sites: open sites, covered shares, and the best assignment."""
    a = assignment(m, *sites)
    if a.x is not None:
        return a.x
    x = np.zeros(lay.n)
    x[list(sites[0])] = 1.0
    x[lay.n_c + m.active_points(*sites)] = 1.0
    x[lay.z0:lay.v0] = a.served
    return x


@dataclass(frozen=True)
class _Solved:
    """One budgeted MIP's answer: sites, people, whether proven optimal, the bound on people."""

    sites: tuple[list[int], list[int]]
    value: float
    optimal: bool
    bound: float
    status: str


def _most_people(m: TieredModel, budget: float, start: tuple[list[int], list[int]] | None, back: str,
                 time_limit_s: float, timings: dict[str, float]) -> _Solved | None:
    """The most people within `budget` (one MIP, warm-started from `start` when it fits); None without a solution."""
    mip, lay = tiered_mip(m, objective="coverage", budget=budget)
    fits = start is not None and m.cost(*start) <= budget + COST_ABS_GAP
    out = run_mip(mip, back, time_limit_s=time_limit_s, start=_start(m, start, lay) if fits else None)
    timings["mip_build"] = timings.get("mip_build", 0.0) + out.build_s
    log.info("tiered siting MIP (%s, budget %.0f): %s in %.2f s", back, budget, out.status, out.seconds)
    if out.x is None:
        return None
    sites, optimal = _sites_of(out.x, lay), out.optimal
    value = m.value(*sites)
    if fits and m.value(*start) > value + 1e-9:  # stopped before reaching its warm start
        sites, value, optimal = start, m.value(*start), False
    return _Solved(sites, value, optimal, out.bound if np.isfinite(out.bound) else math.nan, out.status)


def _exact(m: TieredModel, *, budget: float | None, want: float | None, g_sites: tuple[list[int], list[int]],
           g_value: float, reachable: float, time_limit_s: float, solver: str, size: dict[str, int],
           timings: dict[str, float]) -> ExactChoice:
    """The MIP's answer, or the greedy's when no MIP is needed, fits or succeeds.

    A budget is one MIP. A target is `least_cost`: a lower bound on the steps of the possible
    totals, the least-cost MIP for part of the time (it can spend minutes in HiGHS's root cuts
    on Porto-sized instances), then budgeted MIPs, which take seconds.
    """
    by_target = budget is None
    bound = math.nan if by_target else reachable
    if m.n_units == 0 or (want is not None and want <= 0):
        return ExactChoice(([], []), True, 0.0, "exact", "nothing to cover")
    if solver == "greedy":
        return ExactChoice(g_sites, False, bound, "greedy", "greedy")
    nonzeros = tiered_mip(m, objective="coverage", budget=0.0)[0].nonzeros
    size["mip_nonzeros"] = nonzeros
    if nonzeros > MAX_MIP_NONZEROS:
        log.warning("tiered siting model has %d nonzeros (> %d): greedy solution", nonzeros, MAX_MIP_NONZEROS)
        return ExactChoice(g_sites, False, bound, "greedy", f"model too large for the MIP ({nonzeros:,} nonzeros)")
    back = "highs" if solver == "auto" else solver
    if by_target:
        return least_cost(m, want, start=g_sites, solver=back, time_limit_s=time_limit_s, timings=timings)
    s = _most_people(m, budget, g_sites, back, time_limit_s, timings)
    if s is None:
        return ExactChoice(g_sites, False, bound, "greedy", f"{back}: no solution; greedy solution kept")
    return ExactChoice(s.sites, s.optimal, s.bound if np.isfinite(s.bound) else bound, back, s.status)


def cost_step(m: TieredModel) -> float:
    """The step between possible total costs: the greatest common divisor of the costs, in fen (at least a fen).

    Xi'an's 600,000 and 300,000 give 300,000: no total lies between 900,000 and 1,200,000.
    """
    fen = np.round(np.concatenate([m.centre_costs, m.point_costs]) / COST_ABS_GAP).astype(np.int64)
    g = int(np.gcd.reduce(fen[fen > 0])) if (fen > 0).any() else 1
    return max(g, 1) * COST_ABS_GAP


def least_cost(m: TieredModel, want: float, *, start: tuple[list[int], list[int]], solver: str = "highs",
               time_limit_s: float = DEFAULT_TIME_LIMIT_S, direct_share: float = 0.25,
               timings: dict[str, float] | None = None) -> ExactChoice:
    """The least cost covering `want` people, and at that cost the most people.

    Totals are multiples of `cost_step` g. A lower bound L — the LP relaxation of the
    least-cost model, rounded up to a multiple of g — may already prove the greedy's cost U.
    Otherwise the least-cost MIP runs for a quarter of the time (it can stall in HiGHS's root
    cuts), raising L by its bound; then budgeted MIPs bisect the multiples of g between L and
    U: the most people within k·g either reach `want` (U drops to their cost) or provably do
    not (L rises above k·g). U is proven once it is L. A last budgeted MIP at U gives the most
    people at that cost when no earlier one did.

    Parameters
    ----------
    m
        The (reduced) model.
    want
        People to cover newly, at most what all candidates together reach.
    start
        A choice (centres, points), e.g. the greedy's: the first U when it reaches `want`.
    solver
        ``"highs"`` or ``"cbc"``.
    time_limit_s
        For all the MIPs together (seconds).
    direct_share
        Share of the time the least-cost MIP may take before the bisection (0: bisect only).
    timings
        Seconds per stage, added to (``mip_build``).
    """
    timings = {} if timings is None else timings
    back, deadline = solver, time.perf_counter() + time_limit_s
    enough, step = want * (1 - REL_TOL), cost_step(m)
    best = start if m.value(*start) >= enough else (list(range(m.n_centres)), list(range(m.n_points)))
    upper, most, solves = m.cost(*best), False, 0
    lower = _on_step(_cost_bound(m, want), step)
    if direct_share > 0 and upper > lower + step / 2 and time.perf_counter() < deadline - 0.5:
        solves += 1
        mip, lay = tiered_mip(m, objective="cost", target=enough)
        left = deadline - time.perf_counter()
        out = run_mip(mip, back, time_limit_s=max(0.5, left * direct_share), start=_start(m, best, lay),
                      abs_gap=COST_ABS_GAP)
        timings["mip_build"] = timings.get("mip_build", 0.0) + out.build_s
        log.info("tiered siting least-cost MIP (%s): %s in %.2f s", back, out.status, out.seconds)
        if out.x is not None and m.value(*_sites_of(out.x, lay)) >= enough and m.cost(*_sites_of(out.x, lay)) < upper:
            best = _sites_of(out.x, lay)
            upper = m.cost(*best)
        if np.isfinite(out.bound):
            lower = max(lower, _on_step(out.bound, step))
    while upper > lower + step / 2 and time.perf_counter() < deadline - 0.5:
        k = math.floor((round(lower / step) + round(upper / step) - 1) / 2)  # a multiple below upper
        budget = k * step + step / 2
        solves += 1
        s = _most_people(m, budget, tiered_greedy(m, budget=budget), back, deadline - time.perf_counter(), timings)
        if s is not None and s.value >= enough:
            best, upper, most = s.sites, m.cost(*s.sites), s.optimal
        elif s is not None and (s.optimal or (np.isfinite(s.bound) and s.bound < enough)):
            lower = (k + 1) * step
        else:
            break
    proven = upper <= lower + step / 2
    if not most and time.perf_counter() < deadline - 0.5:
        solves += 1
        s = _most_people(m, upper + step / 2, best, back, deadline - time.perf_counter(), timings)
        if s is not None and s.value >= m.value(*best) - 1e-9 and m.cost(*s.sites) <= upper + COST_ABS_GAP:
            best, most = s.sites, s.optimal
    status = (f"least cost {'proven' if proven else 'not proven (time limit)'} in {solves} MIP(s), steps of "
              f"{step:,.2f}" + ("" if most else "; the most people at that cost not proven"))
    return ExactChoice(best, proven and most, upper if proven else lower, back, status)


def _on_step(cost: float, step: float) -> float:
    """The least multiple of `step` at or above `cost` (allowing rounding of a millionth of a step)."""
    return math.ceil(cost / step - 1e-6) * step


def _cost_bound(m: TieredModel, want: float) -> float:
    """A lower bound on the cost of covering `want`: the least-cost model's LP relaxation."""
    mip, _ = tiered_mip(m, objective="cost", target=want * (1 - REL_TOL))
    lp = replace(mip, integer=np.zeros_like(mip.integer))
    out = solve_highs(lp, time_limit_s=60.0, start=None)
    return float(out.objective) if out.x is not None else 0.0


def _prune(m: TieredModel, centres: Sequence[int], points: Sequence[int]) -> tuple[list[int], list[int]]:
    """The chosen sites without those that add nobody (costliest tried first); points that do not count dropped."""
    centres = [int(k) for k in centres]
    points = [int(j) for j in m.active_points(centres, points)]
    value = m.value(centres, points)
    tol = 1e-9 * max(1.0, float(m.weights.sum()))
    tries = sorted([(-float(m.centre_costs[k]), 0, -k, CENTRE, k) for k in centres]
                   + [(-float(m.point_costs[j]), 1, -j, POINT, j) for j in points])
    for *_, role, i in tries:
        c2 = [k for k in centres if not (role == CENTRE and k == i)]
        p2 = [j for j in points if not (role == POINT and j == i)]
        if m.value(c2, p2) >= value - tol:
            centres, points = c2, p2
    return centres, [int(j) for j in m.active_points(centres, points)]


def _greedy_ordered(m: TieredModel, centres: list[int], points: list[int]) -> tuple[list[tuple[str, int]],
                                                                                    list[float], np.ndarray | None]:
    """The chosen sites in greedy order (a point once it counts), people each adds, and loads when capacitated."""
    residual = m.weights.astype(float).copy()
    linked = m.point_free.copy()
    left_c, left_p = list(centres), list(points)
    order: list[tuple[str, int]] = []
    gains: list[float] = []
    def gain(covers: sparse.csr_matrix, i: int) -> float:
        return float(residual[covers[i].indices].sum())

    while left_c or left_p:
        # a centre ranks by what it covers plus what the chosen points it links would add: they follow it
        opts = [(gain(m.centre_covers, k) + sum(gain(m.point_covers, j) for j in m.links[k].indices
                                                if j in left_p and not linked[j]), 1, -k, CENTRE, k) for k in left_c]
        opts += [(gain(m.point_covers, j), 0, -j, POINT, j) for j in left_p if linked[j]]
        if not opts:
            break
        *_, role, i = max(opts)
        g = gain(m.centre_covers if role == CENTRE else m.point_covers, i)
        if role == CENTRE:
            left_c.remove(i)
            residual[m.centre_covers[i].indices] = 0.0
            linked[m.links[i].indices] = True
        else:
            left_p.remove(i)
            residual[m.point_covers[i].indices] = 0.0
        order.append((role, i))
        gains.append(g)
    if not m.capacitated:
        return order, gains, None
    values, loads = [0.0], np.zeros(len(order))
    for n in range(1, len(order) + 1):
        a = assignment(m, [i for r, i in order[:n] if r == CENTRE], [i for r, i in order[:n] if r == POINT])
        values.append(a.value)
    if order:
        loads = np.array([a.loads[i if r == CENTRE else m.n_centres + i] for r, i in order])
    return order, list(np.diff(values)), loads


def _message(sel: TieredSelection) -> str:
    n_c, n_p = len(sel.centres), len(sel.points)
    how = "optimal" if sel.optimal else (f"best found, gap {sel.gap:.2%}" if np.isfinite(sel.gap)
                                         else "best found, gap unknown")
    if sel.solver == "greedy" and not sel.optimal:
        how = "greedy" + (f", within {sel.gap:.2%} of the bound" if np.isfinite(sel.gap) else "")
    msg = f"{n_c} centre(s) and {n_p} point(s) for {sel.cost:,.0f} cover {sel.objective:,.0f} more ({how})"
    if sel.target is not None and sel.reachable < sel.target * (1 - REL_TOL):
        msg += (f"; target {sel.target:,.0f} is not reachable with these candidates: at most "
                f"{sel.reachable:,.0f}; the least cost reaching that is listed")
    return msg

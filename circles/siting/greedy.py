"""The lazy greedy: the MIP's warm start, the fallback beyond its size, and bounds on the optimum.

All functions work on a (reduced) coverage matrix ``a`` (candidates × units, CSR, boolean) and
the units' weights ``w`` (people).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np
from scipy import sparse

__all__ = ["REL_TOL", "coverage_value", "greedy_order", "lazy_greedy", "mclp_bound"]

#: A share or target is met when it is reached within this relative tolerance (float sums of populations).
REL_TOL = 1e-9


def _rows(a: sparse.csr_matrix, j: int) -> np.ndarray:
    """The units candidate `j` covers (column indices of row `j`)."""
    return a.indices[a.indptr[j]:a.indptr[j + 1]]


def lazy_greedy(
    a: sparse.csr_matrix,
    w: np.ndarray,
    *,
    n_sites: int | None = None,
    costs: np.ndarray | None = None,
    budget: float | None = None,
    target: float | None = None,
    capacities: np.ndarray | None = None,
    counts: np.ndarray | None = None,
) -> list[int]:
    """Lazy greedy on a reduced model: the sites in the order picked.

    Picks the best gain (per unit cost when there is a budget) until `n_sites`, the `budget`,
    the `target` or no further gain. Gains only shrink as demand is served, so stale heap
    entries are upper bounds and are re-evaluated only when they reach the top.

    Parameters
    ----------
    a
        Boolean matrix, candidates × units (CSR).
    w
        Demand of each unit (people).
    n_sites
        Stop after this many sites.
    costs
        Cost of each candidate; with a `budget`, gains are compared per unit of cost.
    budget
        Total cost allowed.
    target
        Stop once this much weight (people) is covered.
    capacities
        People each candidate can serve: a site's gain is the residual demand it can take, at
        most its capacity, served from the units fewest candidates reach first (`counts`).
    counts
        Candidates reaching each unit (the order in which a capacitated site serves units).

    Returns
    -------
    list of int
        Rows of `a`, in the order picked.
    """
    cost = np.ones(a.shape[0]) if costs is None else np.maximum(np.asarray(costs, dtype=float), 1e-12)
    cap = None if capacities is None else np.asarray(capacities, dtype=float)
    residual = w.astype(float).copy()

    def gain(j: int) -> float:
        g = float(residual[_rows(a, j)].sum())
        return min(g, cap[j]) if cap is not None else g

    heap = [(-gain(j) / cost[j], j) for j in range(a.shape[0])]
    heapq.heapify(heap)
    chosen: list[int] = []
    spent = reached = 0.0
    left = budget if budget is not None else np.inf
    while heap and (n_sites is None or len(chosen) < n_sites):
        if target is not None and reached >= target * (1 - REL_TOL):
            break
        _, j = heapq.heappop(heap)
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
        if cap is None:
            residual[_rows(a, j)] = 0.0
            reached += g
        else:
            reached = _serve(residual, _rows(a, j), cap[j], counts, reached)
    if budget is not None and cap is None:
        chosen = _or_best_single(a, w, cost, budget, chosen)
    return chosen


def _serve(residual: np.ndarray, rows: np.ndarray, capacity: float, counts: np.ndarray | None,
           reached: float) -> float:
    """Serve up to `capacity` of the residual demand of `rows` (those fewest candidates reach first), in place.

    Returns `reached` plus the weight served (added one unit at a time).
    """
    take = capacity
    order = rows[np.argsort(counts[rows], kind="stable")] if counts is not None else rows
    for i in order.tolist():
        if take <= 0:
            break
        t = min(residual[i], take)
        residual[i] -= t
        take -= t
        reached += t
    return reached


def _or_best_single(a: sparse.csr_matrix, w: np.ndarray, cost: np.ndarray, budget: float,
                    chosen: list[int]) -> list[int]:
    """The ratio greedy can miss one big site: the best single affordable site when it covers more."""
    afford = np.flatnonzero(cost <= budget + 1e-9)
    if len(afford):
        singles = np.asarray(a[afford] @ w).ravel()
        best = afford[int(np.argmax(singles))]
        if singles.max() > coverage_value(a, w, chosen) + 1e-9:
            return [int(best)]
    return chosen


def coverage_value(a: sparse.csr_matrix, w: np.ndarray, sites: Sequence[int]) -> float:
    """Weight (people) the `sites` cover together, uncapacitated.

    Parameters
    ----------
    a
        Boolean matrix, candidates × units (CSR).
    w
        Demand of each unit (people).
    sites
        Rows of `a`.
    """
    if not len(sites):
        return 0.0
    hit = np.zeros(a.shape[1], dtype=bool)
    hit[a[list(sites)].indices] = True
    return float(w[hit].sum())


def greedy_order(a: sparse.csr_matrix, w: np.ndarray, sites: Sequence[int]) -> tuple[list[int], list[float]]:
    """Order chosen sites by marginal gain (the greedy order among them) and give each one's gain.

    Parameters
    ----------
    a
        Boolean matrix, candidates × units (CSR).
    w
        Demand of each unit (people).
    sites
        Rows of `a`, in any order.

    Returns
    -------
    tuple of (list of int, list of float)
        The sites, each adding the most among the rest, and the weight each one adds.
    """
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


def mclp_bound(
    a: sparse.csr_matrix,
    w: np.ndarray,
    sites: Sequence[int],
    *,
    n_sites: int | None,
    costs: np.ndarray | None,
    budget: float | None,
) -> float:
    """Upper bound on maximal coverage (Minoux).

    For every prefix S of the greedy sequence: f(S) plus the best marginal gains with respect
    to S that fit the count / budget (a fractional knapsack for the budget); the smallest over
    the prefixes.

    Parameters
    ----------
    a
        Boolean matrix, candidates × units (CSR).
    w
        Demand of each unit (people).
    sites
        The greedy sequence (rows of `a`).
    n_sites
        The count limit, or None.
    costs
        Cost of each candidate (with `budget`).
    budget
        The budget, or None.

    Returns
    -------
    float
        A bound on the weight any feasible choice covers.
    """
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
            bounds.append(base + _knapsack_bound(delta, np.asarray(costs, dtype=float), budget))
        best = min(best, min(bounds))
    return best


def _knapsack_bound(delta: np.ndarray, c: np.ndarray, budget: float) -> float:
    """The fractional knapsack of gains `delta` at costs `c` within `budget` (free sites count whole)."""
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
    return extra

"""Tiered siting on matrices: centres and points chosen together, a point counting only when a centre links it.

The matrix-level core of tiered siting (like `solve_mclp` for one tier): give it who each
candidate centre and point covers, which centres reach which points by road, the costs and
optional capacities. This module holds the model, its MIP in arrays, the value of a fixed choice,
the reduction and the greedy warm start; `circles.siting.tiered_solve.solve_tiered` solves it.

The model
---------
Variables: ``y_k`` (open candidate centre k, binary), ``x_j`` (open candidate point j, binary),
``z_i`` (share of demand unit i newly covered, in [0, 1]) and, for sites with a capacity,
``v_si`` (share of unit i served by site s, in [0, 1]). Rows:

* cover: ``z_i <= Σ_k∋i y_k + Σ_j∋i x_j`` (uncapacitated sites) ``+ Σ_s v_si`` (capacitated);
* link: ``x_j <= Σ_k links j y_k`` for every point no existing centre links (``point_free``);
* capacity: ``Σ_i w_i v_si <= cap_s · open_s`` and ``v_si <= open_s``;
* budget: ``Σ c_k y_k + Σ c_j x_j <= B`` (objective: maximise ``Σ w_i z_i``), or
* target: ``Σ w_i z_i >= T`` (objective: minimise the cost; then, at that cost, the most people;
  `solve_tiered` reaches it through budgeted models).

Existing points that no existing centre links can enter as points of cost 0: opening one
means linking it (the optimiser opens it whenever a chosen centre links it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

from circles.errors import InputError
from circles.siting.greedy import REL_TOL
from circles.siting.mip import Mip, solve_highs
from circles.siting.reduce import dominated, merge_columns

__all__ = [
    "CENTRE", "COST_ABS_GAP", "POINT", "Assignment", "Layout", "ReducedTiered", "TieredModel", "assignment",
    "reduce_tiered", "tiered_greedy", "tiered_mip",
]

CENTRE, POINT = "centre", "point"
#: Absolute optimality gap of the least-cost model (yuan): a cost proven within a fen of the bound is optimal.
COST_ABS_GAP = 0.01


# ============================================================================ the model
@dataclass(frozen=True)
class TieredModel:
    """Who each candidate covers, which centre links which point, costs and capacities.

    Attributes
    ----------
    centre_covers
        Boolean matrix, candidate centres × demand units (CSR): the unit lies within the centre
        tier's threshold (e.g. 20 minutes by road).
    point_covers
        Boolean matrix, candidate points × demand units (CSR): within the point tier's
        threshold (e.g. a 15-minute walk).
    links
        Boolean matrix, candidate centres × candidate points (CSR): the centre reaches the point
        within the link time (by road).
    weights
        People of each unit still to cover (0 for those covered before), ≥ 0.
    centre_costs, point_costs
        Budget cost of each candidate (yuan), ≥ 0.
    point_free
        Points that count when opened without a new centre: an existing centre links them.
    centre_capacity, point_capacity
        People each site can serve (NaN: no limit); None: no capacities at all.
    """

    centre_covers: sparse.csr_matrix
    point_covers: sparse.csr_matrix
    links: sparse.csr_matrix
    weights: np.ndarray
    centre_costs: np.ndarray
    point_costs: np.ndarray
    point_free: np.ndarray
    centre_capacity: np.ndarray | None = None
    point_capacity: np.ndarray | None = None

    @classmethod
    def build(cls, centre_covers, point_covers, links, weights, *, centre_costs, point_costs, point_free=None,
              centre_capacity=None, point_capacity=None) -> TieredModel:
        """The model from array-likes, checked (`InputError` naming the bad input)."""
        ac = sparse.csr_matrix(centre_covers, dtype=bool)
        ap = sparse.csr_matrix(point_covers, dtype=bool)
        n_c, n_p = ac.shape[0], ap.shape[0]
        lk = sparse.csr_matrix(links, dtype=bool) if n_c and n_p else sparse.csr_matrix((n_c, n_p), dtype=bool)
        w = np.asarray(weights, dtype=float)
        if ac.shape[1] != len(w) or ap.shape[1] != len(w):
            raise InputError(f"centre_covers has {ac.shape[1]} and point_covers {ap.shape[1]} columns for "
                             f"{len(w)} weights; give one column per demand unit")
        if lk.shape != (n_c, n_p):
            raise InputError(f"links is {lk.shape[0]} × {lk.shape[1]}; give candidate centres × candidate points "
                             f"({n_c} × {n_p})")
        if not np.all(np.isfinite(w) & (w >= 0)):
            raise InputError(f"weights[{int(np.flatnonzero(~(np.isfinite(w) & (w >= 0)))[0])}] is not a number >= 0")
        free = np.zeros(n_p, dtype=bool) if point_free is None else np.asarray(point_free, dtype=bool)
        caps = [None if c is None else _vector(c, n, name, nan_ok=True)
                for c, n, name in ((centre_capacity, n_c, "centre_capacity"), (point_capacity, n_p, "point_capacity"))]
        if (caps[0] is None) != (caps[1] is None):
            caps = [np.full(n, np.nan) if c is None else c for c, n in zip(caps, (n_c, n_p))]
        ac.eliminate_zeros(); ap.eliminate_zeros(); lk.eliminate_zeros()
        return cls(ac, ap, lk, w, _vector(centre_costs, n_c, "centre_costs"), _vector(point_costs, n_p, "point_costs"),
                   _vector(free, n_p, "point_free").astype(bool), caps[0], caps[1])

    @property
    def n_centres(self) -> int:
        return int(self.centre_covers.shape[0])

    @property
    def n_points(self) -> int:
        return int(self.point_covers.shape[0])

    @property
    def n_units(self) -> int:
        return int(len(self.weights))

    @property
    def capacitated(self) -> bool:
        """True when some site has a finite capacity."""
        return any(c is not None and np.isfinite(c).any() for c in (self.centre_capacity, self.point_capacity))

    def active_points(self, centres: Sequence[int], points: Sequence[int]) -> np.ndarray:
        """The opened `points` that count: free, or linked by one of the opened `centres`."""
        points = np.asarray(points, dtype=np.int64)
        if not len(points):
            return points
        linked = self.point_free.copy()
        if len(centres):
            linked[self.links[list(centres)].indices] = True
        return points[linked[points]]

    def covered(self, centres: Sequence[int], points: Sequence[int]) -> np.ndarray:
        """Units covered (uncapacitated) by the opened `centres` and the `points` that count."""
        hit = np.zeros(self.n_units, dtype=bool)
        if len(centres):
            hit[self.centre_covers[list(centres)].indices] = True
        active = self.active_points(centres, points)
        if len(active):
            hit[self.point_covers[active].indices] = True
        return hit

    def cost(self, centres: Sequence[int], points: Sequence[int]) -> float:
        return float(self.centre_costs[list(centres)].sum() + self.point_costs[list(points)].sum())

    def value(self, centres: Sequence[int], points: Sequence[int]) -> float:
        """People the sites newly cover: the union (uncapacitated) or their best capacity-respecting assignment."""
        if not self.capacitated:
            return float(self.weights[self.covered(centres, points)].sum())
        return assignment(self, centres, points).value


def _vector(values, n: int, name: str, *, nan_ok: bool = False) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    if len(v) != n:
        raise InputError(f"{name} has {len(v)} values for {n} candidates; give one per candidate")
    bad = ~(np.isfinite(v) & (v >= 0)) & ~(nan_ok & np.isnan(v))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(f"{name}[{k}] is {v[k]}; each must be a number >= 0" + (" (or NaN: no limit)" if nan_ok else ""))
    return v


# ============================================================================ the MIP in arrays
@dataclass(frozen=True)
class Layout:
    """Where the variables sit: [y (centres) | x (points) | z (units) | v (pairs of capacitated sites)]."""

    n_c: int
    n_p: int
    n_u: int
    pair_site: np.ndarray  # column of the site's open variable (y or x) for each pair
    pair_unit: np.ndarray

    @property
    def z0(self) -> int:
        return self.n_c + self.n_p

    @property
    def v0(self) -> int:
        return self.z0 + self.n_u

    @property
    def n(self) -> int:
        return self.v0 + len(self.pair_site)


def _layout(m: TieredModel) -> tuple[Layout, np.ndarray, np.ndarray]:
    """The layout, and which centres / points are capacitated."""
    cap_c = np.zeros(m.n_centres, bool) if m.centre_capacity is None else np.isfinite(m.centre_capacity)
    cap_p = np.zeros(m.n_points, bool) if m.point_capacity is None else np.isfinite(m.point_capacity)
    sites, units = [], []
    for covers, capped, offset in ((m.centre_covers, cap_c, 0), (m.point_covers, cap_p, m.n_centres)):
        coo = covers[np.flatnonzero(capped)].tocoo()
        sites.append(np.flatnonzero(capped)[coo.row] + offset)
        units.append(coo.col)
    return (Layout(m.n_centres, m.n_points, m.n_units, np.concatenate(sites).astype(np.int64),
                    np.concatenate(units).astype(np.int64)), cap_c, cap_p)


class _Rows:
    """Constraint rows gathered as triplets: ``lo <= A x <= hi``."""

    def __init__(self, n_cols: int) -> None:
        self.n_cols, self.n = n_cols, 0
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []

    def add(self, count: int, rows, cols, vals, *, lo: float, hi: float) -> None:
        """`count` new rows; `rows` are numbered from 0 among them."""
        self.r.append(np.asarray(rows, dtype=np.int64) + self.n)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.broadcast_to(np.asarray(vals, dtype=float), np.shape(rows)))
        self.lo.append(np.full(count, lo)); self.hi.append(np.full(count, hi))
        self.n += count

    def matrix(self) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
        a = sparse.csr_matrix((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
                              shape=(self.n, self.n_cols))
        return a, np.concatenate(self.lo), np.concatenate(self.hi)


def tiered_mip(m: TieredModel, *, objective: str, budget: float | None = None, target: float | None = None,
               open_sites: tuple[Sequence[int], Sequence[int]] | None = None) -> tuple[Mip, Layout]:
    """The MIP of `m` (see the module text): `objective` ``"coverage"`` (most people) or ``"cost"`` (least).

    `budget` bounds the cost; `target` is the least weight to cover. With `open_sites`
    (centres, points) those sites are fixed open and the others closed: an LP giving the best
    assignment to them (the points must count, i.e. be free or linked by an open centre).
    """
    lay, cap_c, cap_p = _layout(m)
    n_c, n_p, n_u, k = lay.n_c, lay.n_p, lay.n_u, len(lay.pair_site)
    rows = _Rows(lay.n)
    pairs = np.arange(k)
    cu = m.centre_covers[np.flatnonzero(~cap_c)].tocoo()
    pu = m.point_covers[np.flatnonzero(~cap_p)].tocoo()
    rows.add(n_u, np.concatenate([np.arange(n_u), cu.col, pu.col, lay.pair_unit]),
             np.concatenate([lay.z0 + np.arange(n_u), np.flatnonzero(~cap_c)[cu.row], n_c + np.flatnonzero(~cap_p)[pu.row],
                             lay.v0 + pairs]),
             np.concatenate([np.ones(n_u), -np.ones(cu.nnz + pu.nnz + k)]), lo=-np.inf, hi=0.0)
    tied = np.flatnonzero(~m.point_free)
    if len(tied):  # x_j - Σ_k L_kj y_k <= 0
        pos = np.full(n_p, -1)
        pos[tied] = np.arange(len(tied))
        lc = m.links.tocoo()
        on = pos[lc.col] >= 0
        rows.add(len(tied), np.concatenate([np.arange(len(tied)), pos[lc.col[on]]]),
                 np.concatenate([n_c + tied, lc.row[on]]), np.concatenate([np.ones(len(tied)), -np.ones(int(on.sum()))]),
                 lo=-np.inf, hi=0.0)
    if k:
        cap = np.concatenate([m.centre_capacity, m.point_capacity])
        capped = np.flatnonzero(np.concatenate([cap_c, cap_p]))
        row_of = np.full(n_c + n_p, -1)
        row_of[capped] = np.arange(len(capped))
        rows.add(len(capped), np.concatenate([row_of[lay.pair_site], row_of[capped]]),
                 np.concatenate([lay.v0 + pairs, capped]), np.concatenate([m.weights[lay.pair_unit], -cap[capped]]),
                 lo=-np.inf, hi=0.0)
        rows.add(k, np.concatenate([pairs, pairs]), np.concatenate([lay.v0 + pairs, lay.pair_site]),
                 np.concatenate([np.ones(k), -np.ones(k)]), lo=-np.inf, hi=0.0)
    costs = np.concatenate([m.centre_costs, m.point_costs, np.zeros(n_u + k)])
    gains = np.concatenate([np.zeros(n_c + n_p), m.weights, np.zeros(k)])
    if budget is not None:
        nz = np.flatnonzero(costs)
        rows.add(1, np.zeros(len(nz)), nz, costs[nz], lo=-np.inf, hi=float(budget))
    if target is not None:
        nz = np.flatnonzero(gains)
        rows.add(1, np.zeros(len(nz)), nz, gains[nz], lo=float(target), hi=np.inf)
    sense, c = (-1, gains) if objective == "coverage" else (1, costs)
    xlo, xhi = np.zeros(lay.n), np.ones(lay.n)
    integer = np.zeros(lay.n, dtype=bool)
    integer[:lay.z0] = True
    if open_sites is not None:
        xhi[:lay.z0] = 0.0
        xhi[np.asarray(open_sites[0], dtype=np.int64)] = 1.0
        xhi[n_c + np.asarray(open_sites[1], dtype=np.int64)] = 1.0
        xlo[:lay.z0] = xhi[:lay.z0]
        integer[:] = False
    a, lo, hi = rows.matrix()
    return Mip(sense, c, xlo, xhi, integer, a, lo, hi), lay


# ============================================================================ a fixed choice: its value
@dataclass(frozen=True)
class Assignment:
    """What open sites cover: people, each unit's covered share, each site's load, and the MIP vector."""

    value: float
    served: np.ndarray
    loads: np.ndarray  # per site column (centres, then points): people served within its capacity
    x: np.ndarray | None = None


def assignment(m: TieredModel, centres: Sequence[int], points: Sequence[int]) -> Assignment:
    """The best capacity-respecting coverage by the open sites (an LP by HiGHS; the union when uncapacitated).

    Points that do not count (not free, no open centre links them) serve nobody. A unit's
    people may be split between capacitated sites; a unit within reach of an open site without
    capacity needs none.
    """
    centres = [int(k) for k in centres]
    active = [int(j) for j in m.active_points(centres, points)]
    hit = m.covered(centres, active)
    if not m.capacitated:
        return Assignment(float(m.weights[hit].sum()), hit.astype(float), np.zeros(m.n_centres + m.n_points))
    mip, lay = tiered_mip(m, objective="coverage", open_sites=(centres, active))
    out = solve_highs(mip, time_limit_s=600.0, start=None)
    if out.x is None:  # cannot happen for this always-feasible LP
        return Assignment(0.0, np.zeros(m.n_units), np.zeros(lay.z0))
    z = np.clip(out.x[lay.z0:lay.v0], 0.0, 1.0)
    v = np.clip(out.x[lay.v0:], 0.0, 1.0)
    free_hit = _uncapacitated_hit(m, centres, active)
    v = np.where(free_hit[lay.pair_unit], 0.0, v)  # covered without capacity: no load
    total = np.bincount(lay.pair_unit, weights=v, minlength=m.n_units)
    need = np.where(free_hit, 0.0, z)
    scale = np.where(total > need, need / np.maximum(total, 1e-12), 1.0)
    loads = np.bincount(lay.pair_site, weights=m.weights[lay.pair_unit] * v * scale[lay.pair_unit],
                        minlength=lay.z0)
    return Assignment(float(m.weights @ z), z, loads, out.x)


def _uncapacitated_hit(m: TieredModel, centres: list[int], active: list[int]) -> np.ndarray:
    """Units within reach of an open site that has no capacity limit."""
    hit = np.zeros(m.n_units, dtype=bool)
    for covers, sites, cap in ((m.centre_covers, centres, m.centre_capacity),
                               (m.point_covers, active, m.point_capacity)):
        free = [s for s in sites if cap is None or not np.isfinite(cap[s])]
        if free:
            hit[covers[free].indices] = True
    return hit


# ============================================================================ reduction
@dataclass(frozen=True)
class ReducedTiered:
    """A tiered model after reduction, and where its rows and columns came from.

    Attributes
    ----------
    model
        The reduced `TieredModel`.
    centres, points
        For each kept candidate, its index in the original model.
    unit_group
        For each original unit, its merged unit, or -1 when dropped (nobody to cover there, or
        no usable candidate reaches it).
    dropped_dominated
        Candidates dropped because another covers and links at least as much at no higher cost.
    """

    model: TieredModel
    centres: np.ndarray
    points: np.ndarray
    unit_group: np.ndarray
    dropped_dominated: int = 0

    @classmethod
    def unreduced(cls, m: TieredModel) -> ReducedTiered:
        return cls(m, np.arange(m.n_centres), np.arange(m.n_points), np.arange(m.n_units))


def _take(m: TieredModel, centres: np.ndarray, points: np.ndarray) -> TieredModel:
    """The model restricted to some candidates (all units kept)."""
    cap_c = None if m.centre_capacity is None else m.centre_capacity[centres]
    cap_p = None if m.point_capacity is None else m.point_capacity[points]
    return TieredModel(m.centre_covers[centres], m.point_covers[points], m.links[centres][:, points], m.weights,
                       m.centre_costs[centres], m.point_costs[points], m.point_free[points], cap_c, cap_p)


def _merge(m: TieredModel, keep_units: np.ndarray) -> tuple[TieredModel, np.ndarray]:
    """Units with identical columns (over centres and points) merged, their weights summed."""
    stacked = sparse.vstack([m.centre_covers, m.point_covers], format="csr")
    group, merged, w = merge_columns(stacked, m.weights, keep_units)
    merged = merged.tocsr()
    return replace(m, centre_covers=merged[:m.n_centres], point_covers=merged[m.n_centres:], weights=w), group


def _useful(m: TieredModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres, points, units) that can matter: points that can count and reach someone, centres that
    reach someone or link such a point, units with people that one of them reaches."""
    ac, ap = m.centre_covers.copy(), m.point_covers
    if m.centre_capacity is not None:  # a centre of capacity 0 serves nobody (it may still link points)
        ac = sparse.diags((m.centre_capacity != 0).astype(float)) @ ac.astype(float)
        ac = sparse.csr_matrix(ac, dtype=bool)
        ac.eliminate_zeros()
    points = m.point_free | (np.diff(m.links.tocsc().indptr) > 0)
    if m.point_capacity is not None:
        points &= m.point_capacity != 0
    reached = np.zeros(m.n_units, dtype=bool)
    reached[ac.indices] = True
    reached[ap[np.flatnonzero(points)].indices] = True
    units = (m.weights > 0) & reached
    live = units.astype(float)
    points &= np.asarray(ap @ live).ravel() > 0
    links_tied = m.links[:, np.flatnonzero(points & ~m.point_free)]
    centres = (np.asarray(ac @ live).ravel() > 0) | (np.diff(links_tied.indptr) > 0)
    return np.flatnonzero(centres), np.flatnonzero(points), units


def _dominated_points(m: TieredModel) -> np.ndarray:
    """Points another point beats: it covers a superset, counts whenever this one does, and costs no more.

    "Counts whenever": it is free, or neither is and every centre linking this one links it.
    Ties (same sets, same links, same cost) drop the higher index: a strict order, so dropping
    all of them keeps the optimum.
    """
    a = m.point_covers.astype(np.int32)
    size = np.asarray(a.sum(axis=1)).ravel()
    ov = (a @ a.T).tocoo()
    j, k = ov.row, ov.col
    sub = (j != k) & (ov.data == size[j])
    j, k = j[sub], k[sub]
    out = np.zeros(m.n_points, dtype=bool)
    if not len(j):
        return out
    lt = m.links.T.tocsr().astype(np.int32)
    lsize = np.asarray(lt.sum(axis=1)).ravel()
    shared = np.asarray((lt @ lt.T).tocsr()[j, k]).ravel()
    free = m.point_free
    counts = free[k] | (~free[j] & (shared == lsize[j]))
    equal = (size[j] == size[k]) & (free[j] == free[k]) & (free[j] | (lsize[j] == lsize[k]))
    c = m.point_costs
    beats = counts & ((c[k] < c[j]) | ((c[k] == c[j]) & (~equal | (k < j))))
    out[j[beats]] = True
    return out


def reduce_tiered(m: TieredModel, *, drop_dominated: bool | None = None) -> ReducedTiered:
    """Shrink a tiered model without changing its optimum.

    Points that can never count (no centre links them and none is free) or reach nobody are
    dropped, then centres that neither reach anyone nor link a remaining point, and units with
    nobody to cover or that no remaining site reaches; units reached by exactly the same sites
    are merged. Without capacities (`drop_dominated` None: when the model has none), dominated
    points (`_dominated_points`) and centres (covering and linking a subset of another's at no
    lower cost) are dropped too, and units merged again.
    """
    drop = (not m.capacitated) if drop_dominated is None else drop_dominated
    centres, points, units = _useful(m)
    sub = _take(m, centres, points)
    sub, group = _merge(sub, np.flatnonzero(units))
    n_dom = 0
    if drop and sub.n_points > 1:
        keep = ~_dominated_points(sub)
        n_dom += int((~keep).sum())
        points, sub = points[keep], _take(sub, np.arange(sub.n_centres), np.flatnonzero(keep))
    if drop and sub.n_centres:
        c2, _, _ = _useful(sub)
        tied = np.flatnonzero(~sub.point_free)
        rows = sparse.hstack([sub.centre_covers[c2], sub.links[c2][:, tied]], format="csr")
        keep = ~dominated(rows, sub.centre_costs[c2]) if len(c2) > 1 else np.ones(len(c2), dtype=bool)
        n_dom += int(sub.n_centres - keep.sum())
        centres, sub = centres[c2[keep]], _take(sub, c2[keep], np.arange(sub.n_points))
    if n_dom:
        c3, p3, u3 = _useful(sub)
        centres, points = centres[c3], points[p3]
        sub, group2 = _merge(_take(sub, c3, p3), np.flatnonzero(u3))
        group = np.where(group >= 0, group2[np.maximum(group, 0)], -1)
    return ReducedTiered(sub, centres, points, group, n_dom)


# ============================================================================ the greedy warm start
def tiered_greedy(m: TieredModel, *, budget: float | None = None, target: float | None = None) -> tuple[list[int], list[int]]:
    """Greedy by people per yuan: a centre, a point that counts, or a point with the centre that links it.

    Gains are those of the uncapacitated model, capped by the site's capacity; the result is
    the MIP's warm start and its fallback, not an optimum.

    Returns
    -------
    tuple of (list of int, list of int)
        The centres and the points opened.
    """
    ac, ap, lk = m.centre_covers.astype(float), m.point_covers.astype(float), m.links.astype(float)
    cap_c = _no_limit(m.centre_capacity, m.n_centres)
    cap_p = _no_limit(m.point_capacity, m.n_points)
    cc, cp = m.centre_costs, m.point_costs
    residual = m.weights.astype(float).copy()
    linked = m.point_free.copy()
    open_c, open_p = np.zeros(m.n_centres, bool), np.zeros(m.n_points, bool)
    chosen_c, chosen_p = [], []
    left = np.inf if budget is None else float(budget)
    total = float(m.weights.sum())
    while target is None or total - residual.sum() < target * (1 - REL_TOL):
        gc = np.where(open_c, 0.0, np.minimum(np.asarray(ac @ residual).ravel(), cap_c))
        gp = np.where(open_p, 0.0, np.minimum(np.asarray(ap @ residual).ravel(), cap_p))
        pick = _best_option(gc, gp, cc, cp, lk, linked, left)
        if pick is None:
            break
        k, j = pick
        for idx, covers, opened, chosen, costs in ((k, m.centre_covers, open_c, chosen_c, cc),
                                                   (j, m.point_covers, open_p, chosen_p, cp)):
            if idx is not None:
                opened[idx] = True
                chosen.append(int(idx))
                left -= costs[idx]
                residual[covers[idx].indices] = 0.0
        if k is not None:
            linked[m.links[k].indices] = True
    return chosen_c, chosen_p


def _no_limit(cap: np.ndarray | None, n: int) -> np.ndarray:
    return np.full(n, np.inf) if cap is None else np.where(np.isfinite(cap), cap, np.inf)


def _best_option(gc: np.ndarray, gp: np.ndarray, cc: np.ndarray, cp: np.ndarray, lk: sparse.csr_matrix,
                 linked: np.ndarray, left: float) -> tuple[int | None, int | None] | None:
    """The affordable option with the most people per yuan: (centre, None), (None, point) or (centre, point)."""
    eps = 1e-9 * max(1.0, left if np.isfinite(left) else 1.0)

    def ratio(gain, cost):
        return np.where(gain > 0, gain / np.maximum(cost, 1e-9), -np.inf)

    best, pick = -np.inf, None
    afford_c = cc <= left + eps
    rc = np.where(afford_c, ratio(gc, cc), -np.inf)
    if len(rc) and rc.max() > best:
        best, pick = float(rc.max()), (int(np.argmax(rc)), None)
    rp = np.where(linked & (cp <= left + eps), ratio(gp, cp), -np.inf)
    if len(rp) and rp.max() > best:
        best, pick = float(rp.max()), (None, int(np.argmax(rp)))
    tied = np.flatnonzero(~linked & (gp > 0))
    if len(tied) and afford_c.any():
        score = sparse.csr_matrix(lk[:, tied].multiply((np.where(afford_c, gc, -1.0) + 2.0)[:, None]))
        score.data[score.data < 1.5] = 0.0  # unaffordable centres
        score.eliminate_zeros()
        if score.nnz:
            who = np.asarray(score.argmax(axis=0)).ravel()
            has = np.asarray(score.max(axis=0).todense()).ravel() > 0
            cost = cc[who] + cp[tied]
            r = np.where(has & (cost <= left + eps), ratio(gp[tied] + np.where(has, gc[who], 0.0), cost), -np.inf)
            if r.max() > best:
                t = int(np.argmax(r))
                best, pick = float(r[t]), (int(who[t]), int(tied[t]))
    return pick



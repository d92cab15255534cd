"""Walking access: one multi-source shortest-path search from all facilities of a category at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from circles.errors import CirclesError
from network.arrays import csr_gather, ranges
from network.compact import MIN_EDGE_TIME_S, CompactNetwork, Snap


@dataclass(frozen=True)
class Access:
    """Cost from the nearest source to every node and target, and which source that is.

    Costs are in the unit of the edge costs given to `nearest_source` (seconds, or weighted
    metres); ``inf`` beyond the search limit, source ``-1`` there.
    """

    node_cost: np.ndarray
    node_source: np.ndarray
    target_cost: np.ndarray
    target_source: np.ndarray


def snap_lonlat(net: CompactNetwork, lon, lat, *, max_distance_m: float = 200.0) -> Snap:
    """Snap WGS84 points onto the network's edges (see `CompactNetwork.snap`)."""
    x, y = net.to_xy(lon, lat)
    return net.snap(x, y, max_distance_m=max_distance_m)


def _source_graph(net: CompactNetwork, sources: Snap, edge_cost: np.ndarray) -> sparse.csr_matrix:
    """The network plus one virtual node per source point, joined to its edge's ends.

    A source at fraction φ along edge u→v of cost c reaches v at (1 − φ)·c and, where the edge
    is two-way, u at φ·c: exactly the split edge a networkx search from that point would use.
    """
    n = net.n_nodes
    base = net.csr(edge_cost).tocoo()
    e = sources.edge
    c = np.maximum(edge_cost[e], MIN_EDGE_TIME_S)
    phi = sources.fraction
    u, v = net.edge_u[e].astype(np.int64), net.edge_v[e].astype(np.int64)
    virt = n + np.arange(len(e))
    two = ~net.edge_oneway[e]
    loop = u == v
    to_v = np.where(loop & two, np.minimum(phi, 1 - phi), 1 - phi) * c
    rows = [base.row, virt]
    cols = [base.col, v]
    vals = [base.data, to_v]
    back = two & ~loop
    rows.append(virt[back])
    cols.append(u[back])
    vals.append(phi[back] * c[back])
    vals = np.maximum(np.concatenate(vals), MIN_EDGE_TIME_S)
    size = n + len(e)
    return sparse.csr_matrix((vals, (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))


def nearest_source(
    net: CompactNetwork,
    sources: Snap,
    targets: Snap | None,
    edge_cost: np.ndarray,
    *,
    limit: float = np.inf,
) -> Access:
    """Cost to the nearest source point for every node and target point, in one search.

    Sources and targets are points snapped onto edges (with their offsets along them), not
    merely their nearest nodes, so a facility halfway along a 400 m street is 200 m from
    either end. The result equals networkx's Dijkstra from each source point on the graph with
    every source and target point inserted into its edge, minimised over sources.

    Parameters
    ----------
    net
        The network.
    sources
        Source points (e.g. the facilities of one category and tier), snapped.
    targets
        Target points (e.g. demand units), snapped; None for nodes only.
    edge_cost
        Cost of each edge of `net` (e.g. ``net.travel_time_s(3.6)``, seconds).
    limit
        Stop the search at this cost (e.g. a 60-minute horizon); beyond it costs are ``inf``.
    """
    edge_cost = np.asarray(edge_cost, dtype=float)
    if edge_cost.shape != (net.n_edges,):
        raise CirclesError(f"edge_cost has {edge_cost.shape[0]} values for {net.n_edges} edges; give one cost per edge")
    n = net.n_nodes
    n_targets = 0 if targets is None else len(targets)
    if len(sources) == 0:
        return Access(np.full(n, np.inf), np.full(n, -1), np.full(n_targets, np.inf), np.full(n_targets, -1))
    graph = _source_graph(net, sources, edge_cost)
    dist, _, src = csgraph.dijkstra(graph, directed=True, indices=n + np.arange(len(sources)),
                                    limit=limit, min_only=True, return_predecessors=True)
    node_cost = dist[:n]
    node_source = np.where(np.isfinite(node_cost), src[:n] - n, -1)
    if targets is None:
        return Access(node_cost, node_source, np.zeros(0), np.zeros(0, dtype=np.int64))
    target_cost, target_source = _to_targets(net, sources, targets, edge_cost, node_cost, node_source)
    beyond = target_cost > limit
    target_cost[beyond] = np.inf
    target_source[beyond] = -1
    return Access(node_cost, node_source, target_cost, target_source)


def _to_targets(net, sources: Snap, targets: Snap, edge_cost, node_cost, node_source):
    """Cost to each target point: through either end of its edge, or along the edge from a source on it."""
    e = targets.edge
    c = np.maximum(edge_cost[e], MIN_EDGE_TIME_S)
    psi = targets.fraction
    u, v = net.edge_u[e], net.edge_v[e]
    two = ~net.edge_oneway[e]
    via_u = node_cost[u] + psi * c  # enter at u, travel u -> point (allowed on every edge)
    via_v = np.where(two, node_cost[v] + (1 - psi) * c, np.inf)
    cost = np.minimum(via_u, via_v)
    source = np.where(via_u <= via_v, node_source[u], node_source[v])
    source = np.where(np.isfinite(cost), source, -1)

    # sources on the same edge as a target reach it directly along the edge
    on_edge: dict[int, list[int]] = {}
    for i, edge in enumerate(sources.edge.tolist()):
        on_edge.setdefault(edge, []).append(i)
    for t in np.flatnonzero(np.isin(e, sources.edge)).tolist():
        for i in on_edge[int(e[t])]:
            d = psi[t] - sources.fraction[i]
            if d < 0 and not two[t]:
                continue  # one-way edge: the target lies behind this source
            direct = abs(d) * c[t]
            if direct < cost[t]:
                cost[t], source[t] = direct, i
    return cost, source.astype(np.int64)


def mode_edge_cost(net: CompactNetwork, speed_kmh: float | None = None) -> np.ndarray:
    """Travel time of each edge (seconds): road speeds by class on a drive network, else at `speed_kmh`.

    Parameters
    ----------
    net
        The network (its ``mode`` says how it is timed).
    speed_kmh
        Walking or riding speed (km/h) for walk/bike/ebike networks, with the build's way factors
        (steps, tracks); ignored on drive networks.
    """
    if net.mode == "drive":
        return net.travel_time_s()
    if speed_kmh is None:
        raise CirclesError(f"a {net.mode} network needs a speed: give speed_kmh (e.g. 15 for e-bikes, 3.6 for older "
                           "walkers)")
    return net.travel_time_s(speed_kmh)


def nearest_times(
    net: CompactNetwork,
    sources: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    speed_kmh: float | None = None,
    horizon_min: float = 60.0,
    snap_max_m: float = 200.0,
) -> pd.DataFrame:
    """Minutes from the nearest of `sources` to every one of `targets`, on `net`, in one search.

    Points are snapped onto edges as `circles.coverage.assess` snaps them; a target farther than
    `snap_max_m` from every edge is off the network and reached by nothing, a source that far
    still serves from its nearest street point (as in `assess`). Travel runs from the sources to
    the targets (one-way streets respected on bike, ebike and drive networks).

    Parameters
    ----------
    net
        The network of the mode travelled.
    sources, targets
        Frames with ``lon``/``lat`` (WGS84 degrees), e.g. central kitchens and meal points.
    speed_kmh
        Speed (km/h) on walk/bike/ebike networks; drive networks use road speeds by class.
    horizon_min
        Times beyond this many minutes are not searched (NaN).
    snap_max_m
        Snapping distance (metres) beyond which a point is off the network.

    Returns
    -------
    pandas.DataFrame
        Index-aligned with `targets`: ``minutes`` (NaN beyond the horizon or off the network),
        ``source`` (position in `sources` of the nearest one, -1 for none), ``off_network`` and
        ``snap_m`` (the target's distance to the network, metres).

    Examples
    --------
    >>> t = nearest_times(drive_net, kitchens, meal_points)  # doctest: +SKIP
    >>> t["minutes"].le(30).mean()  # doctest: +SKIP
    """
    for name, frame in (("sources", sources), ("targets", targets)):
        if not {"lon", "lat"} <= set(frame.columns):
            raise CirclesError(f"nearest_times: {name} needs lon and lat columns (WGS84); it has "
                               f"{', '.join(map(str, frame.columns))}")
    cost = mode_edge_cost(net, speed_kmh)
    src = snap_lonlat(net, sources["lon"].to_numpy(float), sources["lat"].to_numpy(float), max_distance_m=snap_max_m)
    dst = snap_lonlat(net, targets["lon"].to_numpy(float), targets["lat"].to_numpy(float), max_distance_m=snap_max_m)
    acc = nearest_source(net, src, dst, cost, limit=horizon_min * 60.0)
    minutes = acc.target_cost / 60.0
    reached = np.isfinite(minutes) & ~dst.off_network
    return pd.DataFrame({
        "minutes": np.where(reached, minutes, np.nan),
        "source": np.where(reached, acc.target_source, -1).astype(np.int64),
        "off_network": dst.off_network.astype(bool),
        "snap_m": np.round(dst.distance_m, 1),
    }, index=targets.index)


# Memory cap of one chunk of truncated searches: chunk × nodes float64 cells (~160 MB)
_CHUNK_CELLS = 20_000_000


class LocalSearches:
    """Truncated searches from points on edges, each run on the part of the network it can reach.

    A search stopped at ``limit_s`` cannot leave the disc of radius ``limit_s × v`` around its
    start, ``v`` being the fastest edge (projected length over cost). Nodes are bucketed in square
    tiles of that radius; points starting in one tile search the graph of the 3 × 3 tiles around
    it. The cost of a search is then that of its neighbourhood, not of the whole network: with
    10,000 facilities on a million-node network, scipy's dense rows over every node were 829 s.
    """

    def __init__(self, net: CompactNetwork, edge_cost: np.ndarray, limit_s: float):
        self.net, self.limit_s = net, float(limit_s)
        self.edge_cost = np.maximum(np.asarray(edge_cost, float), MIN_EDGE_TIME_S)
        csr = net.csr(edge_cost)
        self.indptr, self.indices, self.data = csr.indptr, csr.indices, csr.data
        speed = float(np.max(net.edge_geom_length_m / self.edge_cost, initial=0.0))
        self.tile = max(self.limit_s * speed, 0.0) + 1.0
        self._tx0 = float(net.node_x.min(initial=0.0))
        self._ty0 = float(net.node_y.min(initial=0.0))
        tx, ty = self._tiles(net.node_x, net.node_y)
        self._ny = int(ty.max(initial=0)) + 3
        key = (tx + 1) * self._ny + (ty + 1)
        self._order = np.argsort(key, kind="stable")
        self._keys = key[self._order]
        self._loc = np.full(net.n_nodes, -1, dtype=np.int64)

    def _tiles(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tx = np.floor((np.asarray(x, float) - self._tx0) / self.tile).astype(np.int64)
        ty = np.floor((np.asarray(y, float) - self._ty0) / self.tile).astype(np.int64)
        return tx, ty

    def groups(self, points: Snap) -> list[tuple[np.ndarray, np.ndarray]]:
        """The points grouped by tile: ``(point indices, nodes of the 3 × 3 tiles around)`` per tile."""
        tx, ty = self._tiles(points.x, points.y)
        out = []
        pairs = np.stack([tx, ty], axis=1)
        uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        for g, (a, b) in enumerate(uniq.tolist()):
            parts = []
            for da in (-1, 0, 1):
                col = (a + da + 1) * self._ny
                lo, hi = np.searchsorted(self._keys, [col + b, col + b + 3])
                parts.append(self._order[lo:hi])
            out.append((np.flatnonzero(inverse == g), np.sort(np.concatenate(parts))))
        return out

    def search(self, sources: Snap, nodes: np.ndarray) -> np.ndarray:
        """Costs (seconds, inf beyond the limit) from each source to each of `nodes`: sources × nodes."""
        net, loc, m, k = self.net, self._loc, len(nodes), len(sources)
        loc[nodes] = np.arange(m)
        try:
            starts = self.indptr[nodes]
            lens = self.indptr[nodes + 1] - starts
            pos = ranges(starts, lens)
            src = np.repeat(np.arange(m), lens)
            dst = loc[self.indices[pos]]
            keep = dst >= 0
            e = sources.edge
            c = self.edge_cost[e]
            phi = sources.fraction
            u, v = loc[net.edge_u[e]], loc[net.edge_v[e]]
            two = ~net.edge_oneway[e]
            loop = net.edge_u[e] == net.edge_v[e]
            virt = m + np.arange(k)
            to_v = np.where(loop & two, np.minimum(phi, 1 - phi), 1 - phi) * c
            back = two & ~loop & (u >= 0)
            fwd = v >= 0
            rows = np.concatenate([src[keep], virt[fwd], virt[back]])
            cols = np.concatenate([dst[keep], v[fwd], u[back]])
            vals = np.maximum(np.concatenate([self.data[pos][keep], to_v[fwd], (phi * c)[back]]), MIN_EDGE_TIME_S)
            graph = sparse.csr_matrix((vals, (rows, cols)), shape=(m + k, m + k))
            return csgraph.dijkstra(graph, directed=True, indices=virt, limit=self.limit_s)[:, :m]
        finally:
            loc[nodes] = -1

    def chunks(self, points: Snap):
        """``(point indices, nodes, costs)`` for every point, searched tile by tile in memory-capped chunks."""
        for idx, nodes in self.groups(points):
            step = max(1, _CHUNK_CELLS // max(len(nodes), 1))
            for lo in range(0, len(idx), step):
                part = idx[lo:lo + step]
                yield part, nodes, self.search(points.take(part), nodes)


@dataclass(frozen=True)
class CoverageSets:
    """Which candidate covers which demand unit, and in what time.

    Attributes
    ----------
    covers
        Sparse boolean matrix, candidates × demand units (CSR): True where the walk from the
        candidate to the unit takes at most ``threshold_s``. Rows follow the candidates given
        to `coverage_sets`, columns the demand units (note: spopt's cost matrices are the
        transpose, units × facilities).
    time_s
        The walking times (seconds) of the same entries, same sparsity as ``covers`` (a unit
        exactly at a candidate gets `network.compact.MIN_EDGE_TIME_S` rather than 0).
    threshold_s
        The coverage threshold (seconds).
    """

    covers: sparse.csr_matrix
    time_s: sparse.csr_matrix
    threshold_s: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.covers.shape


def coverage_sets(
    net: CompactNetwork,
    candidates: Snap,
    demand: Snap,
    edge_cost: np.ndarray,
    *,
    threshold_s: float,
) -> CoverageSets:
    """Truncated shortest-path searches from every candidate: who each candidate would cover.

    Each candidate point is a virtual node on its edge (as `circles.access` places facilities)
    and one Dijkstra search per candidate stops at `threshold_s`; demand points on edges are
    reached through either end of their edge or directly along it, exactly as
    `circles.access.nearest_source` measures them. Each search runs on the neighbourhood it can
    reach (`LocalSearches`), in chunks so that memory stays near 160 MB whatever the network size.

    Parameters
    ----------
    net
        The walking network.
    candidates
        Candidate sites snapped onto the network (``net.snap``). Off-network candidates
        (``off_network`` True) cover nothing.
    demand
        Demand units snapped onto the network. Off-network units are covered by nothing, as in
        `circles.coverage.assess`.
    edge_cost
        Travel time of each edge (seconds), e.g. ``net.travel_time_s(3.6)``.
    threshold_s
        Coverage threshold (seconds), e.g. 15 minutes = 900.

    Returns
    -------
    CoverageSets
        ``covers`` is candidates × demand units.

    Examples
    --------
    >>> cost = net.travel_time_s(3.6)  # doctest: +SKIP
    >>> sets = coverage_sets(net, net.snap(cx, cy), net.snap(dx, dy), cost, threshold_s=900)  # doctest: +SKIP
    """
    edge_cost = np.asarray(edge_cost, dtype=float)
    if edge_cost.shape != (net.n_edges,):
        raise CirclesError(f"edge_cost has {edge_cost.shape[0]} values for {net.n_edges} edges; give one cost per edge")
    if not (np.isfinite(threshold_s) and threshold_s > 0):
        raise CirclesError(f"threshold_s is {threshold_s}; give a coverage threshold > 0 seconds "
                           "(e.g. 900 for 15 minutes)")
    n, n_cand, n_units = net.n_nodes, len(candidates), len(demand)
    rows: list[int] = []
    counts: list[int] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    live_units = np.flatnonzero(~demand.off_network)
    live_cands = np.flatnonzero(~candidates.off_network)
    if len(live_units) and len(live_cands):
        units = demand.take(live_units)
        # node -> demand units on an edge that touches it
        ue, ve = net.edge_u[units.edge], net.edge_v[units.edge]
        k = np.arange(len(units))
        incidence = sparse.csr_matrix(
            (np.ones(2 * len(k), dtype=np.int8), (np.concatenate([ue, ve]), np.concatenate([k, k]))), shape=(n, len(k)))
        by_edge_order = np.argsort(units.edge, kind="stable")
        by_edge_sorted = units.edge[by_edge_order]
        no_source = np.zeros(n, dtype=np.int64)
        node_cost = np.full(n, np.inf)  # one full-size row, filled and cleared per candidate
        inc_ptr, inc_ind = incidence.indptr, incidence.indices
        local = LocalSearches(net, edge_cost, threshold_s)
        cands = candidates.take(live_cands)
        for part, nodes, dist in local.chunks(cands):
            for r, c_local in enumerate(part.tolist()):
                finite = np.isfinite(dist[r])
                reached = nodes[finite]
                node_cost[reached] = dist[r][finite]
                near = csr_gather(inc_ptr, inc_ind, reached)
                e = cands.edge[c_local]
                lo, hi = np.searchsorted(by_edge_sorted, [e, e + 1])
                near = np.unique(np.concatenate([near, by_edge_order[lo:hi]]))
                if len(near):
                    one = cands.take(np.array([c_local]))
                    cost, _ = _to_targets(net, one, units.take(near), edge_cost, node_cost, no_source)
                    ok = cost <= threshold_s
                    if ok.any():
                        rows.append(live_cands[c_local])
                        counts.append(int(ok.sum()))
                        cols.append(live_units[near[ok]])
                        vals.append(np.maximum(cost[ok], MIN_EDGE_TIME_S))
                node_cost[reached] = np.inf
    if rows:
        r = np.repeat(np.asarray(rows, dtype=np.int64), counts)
        c, v = np.concatenate(cols), np.concatenate(vals)
    else:
        r = c = np.zeros(0, dtype=np.int64)
        v = np.zeros(0)
    time_s = sparse.csr_matrix((v, (r, c)), shape=(n_cand, n_units))
    time_s.sort_indices()
    covers = sparse.csr_matrix((np.ones(len(time_s.data), dtype=bool), time_s.indices.copy(), time_s.indptr.copy()),
                               shape=time_s.shape)
    return CoverageSets(covers=covers, time_s=time_s, threshold_s=float(threshold_s))

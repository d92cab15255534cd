"""Walking access: one multi-source shortest-path search from all facilities of a category at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from circles.errors import CirclesError
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

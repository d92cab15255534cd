"""circles.access: the multi-source search equals networkx's Dijkstra from every facility point."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circles.access import nearest_source, snap_lonlat
from conftest import shared_data
from netfixtures import grid_ways, lonlat
from network import load_network


def reference_costs(net, sources, targets, edge_cost):
    """Independent answer: split every edge at the points on it, then Dijkstra from each source."""
    G = nx.DiGraph()
    points: dict[int, list[tuple[float, str]]] = {}
    for k, (e, f) in enumerate(zip(sources.edge, sources.fraction)):
        points.setdefault(int(e), []).append((float(f), f"s{k}"))
    for k, (e, f) in enumerate(zip(targets.edge, targets.fraction)):
        points.setdefault(int(e), []).append((float(f), f"t{k}"))

    def add(a, b, w, two):
        for x, y in ((a, b), (b, a)) if two else ((a, b),):
            if not G.has_edge(x, y) or G[x][y]["w"] > w:
                G.add_edge(x, y, w=w)

    for e in range(net.n_edges):
        u, v, c, two = int(net.edge_u[e]), int(net.edge_v[e]), float(edge_cost[e]), not net.edge_oneway[e]
        chain = [(0.0, u)] + sorted(points.get(e, [])) + [(1.0, v)]
        for (f0, a), (f1, b) in zip(chain[:-1], chain[1:]):
            add(a, b, (f1 - f0) * c, two)
    best = np.full(len(targets), np.inf)
    for k in range(len(sources)):
        d = nx.single_source_dijkstra_path_length(G, f"s{k}", weight="w")
        for j in range(len(targets)):
            best[j] = min(best[j], d.get(f"t{j}", np.inf))
    return best


def test_grid_by_hand():
    net = load_network(grid_ways(7, 80.0))
    cost = net.travel_time_s(4.8)  # one 80 m segment = 60 s
    # facility 20 m along the bottom row from node 2 towards node 3; target 40 m up from node 3
    f = snap_lonlat(net, *lonlat(100.0, 0.0))
    t = snap_lonlat(net, *np.array([lonlat(160.0, 40.0), lonlat(100.0, 2.0), lonlat(480.0, 480.0)]).T)
    acc = nearest_source(net, f, t, cost)
    assert acc.target_cost[0] == pytest.approx((60 + 40) * 0.75, rel=2e-3)  # 60 m to node 3, 40 m up, 0.75 s/m
    assert acc.target_cost[1] == pytest.approx(0.0, abs=0.5)  # same edge, same spot
    assert acc.target_cost[2] / 60 == pytest.approx((380 + 480) / 80, rel=2e-3)
    assert acc.target_source.tolist() == [0, 0, 0]
    far = nearest_source(net, f, t, cost, limit=600.0)
    assert np.isinf(far.target_cost[2]) and far.target_source[2] == -1


def test_nearest_of_two_and_no_sources():
    net = load_network(grid_ways(7, 80.0))
    cost = net.travel_time_s(4.8)
    f = snap_lonlat(net, *np.array([lonlat(0.0, 40.0), lonlat(480.0, 440.0)]).T)
    t = snap_lonlat(net, *np.array([lonlat(80.0, 80.0), lonlat(400.0, 480.0)]).T)
    acc = nearest_source(net, f, t, cost)
    assert acc.target_source.tolist() == [0, 1]
    empty = nearest_source(net, snap_lonlat(net, [], []), t, cost)
    assert np.isinf(empty.target_cost).all() and (empty.target_source == -1).all()


def test_one_way_edges_are_respected():
    from network import RawWays

    nodes = {1: lonlat(0, 0), 2: lonlat(500, 0), 3: lonlat(500, 300), 4: lonlat(0, 300), 5: lonlat(-200, 0)}
    ways = [(1, [1, 2], {"highway": "primary", "oneway": "yes"}), (2, [2, 3, 4, 1], {"highway": "residential"}),
            (3, [5, 1], {"highway": "residential"})]
    net = load_network(RawWays.from_lists(nodes, ways), mode="drive")
    cost = net.travel_time_s()
    f = snap_lonlat(net, *lonlat(250, 0))  # on the one-way street, facing node 2
    t = snap_lonlat(net, *np.array([lonlat(400, 0), lonlat(100, 0)]).T)
    acc = nearest_source(net, f, t, cost)
    ref = reference_costs(net, f, t, cost)
    np.testing.assert_allclose(acc.target_cost, ref, rtol=1e-9)
    assert acc.target_cost[1] > acc.target_cost[0] * 5  # behind the source: all the way round


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 480), st.floats(0, 480)), min_size=1, max_size=4),
       st.lists(st.tuples(st.floats(0, 480), st.floats(0, 480)), min_size=1, max_size=6))
def test_grid_matches_networkx(fac, dem):
    net = _grid()
    cost = net.travel_time_s(3.6)
    f = snap_lonlat(net, *np.array([lonlat(*p) for p in fac]).T)
    t = snap_lonlat(net, *np.array([lonlat(*p) for p in dem]).T)
    acc = nearest_source(net, f, t, cost)
    np.testing.assert_allclose(acc.target_cost, reference_costs(net, f, t, cost), rtol=1e-9, atol=1e-6)


_GRID = []


def _grid():
    if not _GRID:
        _GRID.append(load_network(grid_ways(7, 80.0)))
    return _GRID[0]


@pytest.mark.parametrize("name", ["beijing_haidian_wudaokou.osm", "jiangxi_guixi.osm"])
def test_real_network_matches_networkx(name):
    net = load_network(shared_data(f"osm/{name}"))
    rng = np.random.default_rng(11)
    lo0, la0, lo1, la1 = net.bbox_lonlat
    f = snap_lonlat(net, rng.uniform(lo0, lo1, 6), rng.uniform(la0, la1, 6))
    t = snap_lonlat(net, rng.uniform(lo0, lo1, 40), rng.uniform(la0, la1, 40))
    cost = net.travel_time_s(3.6)
    acc = nearest_source(net, f, t, cost)
    ref = reference_costs(net, f, t, cost)
    np.testing.assert_allclose(acc.target_cost, ref, rtol=1e-9, atol=1e-6)
    # nodes too: every node's cost is the minimum over sources
    assert np.isfinite(acc.node_cost).all()

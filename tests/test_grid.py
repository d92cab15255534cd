"""circles.grid and the service areas drawn with it: disc filter, outlines, street samples, bands."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from circles.access import nearest_source, snap_lonlat
from circles.grid import Grid, disc_min, disc_rectangles, polygons
from circles.isochrones import SAMPLE_STEP_M, sample_minutes, service_areas
from conftest import shared_data
from netfixtures import grid_ways
from network import load_network
from network.compact import EdgeSamples
from test_access import reference_costs


@given(r=st.sampled_from([1.0, 2.5, 3.0, 5.0, 7.3]), seed=st.integers(0, 10_000),
       dtype=st.sampled_from([np.uint8, np.int32, np.int64]))
@settings(max_examples=30, deadline=None)
def test_disc_min_is_a_grey_erosion_with_a_disc(r, seed, dtype):
    rng = np.random.default_rng(seed)
    empty = int(np.iinfo(dtype).max) if dtype != np.int64 else 2 ** 40  # scipy's cval goes through a float
    g = np.full((150, 97), empty, dtype)  # more rows than a strip, so strips and their halos are exercised
    idx = rng.integers(0, g.size, 300)
    g.flat[idx] = rng.integers(0, 200, len(idx))
    k = int(np.floor(r))
    dy, dx = np.mgrid[-k:k + 1, -k:k + 1]
    disc = dy ** 2 + dx ** 2 <= r * r
    want = ndimage.minimum_filter(g, footprint=disc, mode="constant", cval=empty)
    assert np.array_equal(disc_min(g, r, empty), want)
    union = np.zeros_like(disc)
    for h, w in disc_rectangles(r):
        union[k - h:k + h + 1, k - w:k + w + 1] = True
    assert np.array_equal(union, disc)


def test_polygons_follow_cells_with_holes_and_labels():
    grid = Grid(x0=1000.0, y1=2000.0, cell=10.0, n_rows=20, n_cols=30)
    labels = np.zeros((20, 30), np.int32)
    labels[2:12, 2:12] = 3  # a 100 m square with a 20 m hole
    labels[5:7, 5:7] = 0
    labels[15:18, 20:28] = 7  # a second label: two parts touching only at a corner
    labels[14, 19] = 7
    vals, geoms = polygons(labels, grid, simplify=False)
    assert vals.tolist() == [3, 7]
    assert geoms[0].area == pytest.approx(100 * 100 - 20 * 20)
    assert len(geoms[0].interiors) == 1
    assert geoms[1].geom_type == "MultiPolygon" and geoms[1].area == pytest.approx(24 * 100 + 100)
    assert geoms[0].bounds == (1020.0, 1880.0, 1120.0, 1980.0)
    _, simple = polygons(labels, grid)
    assert shapely.is_valid(simple).all()
    assert simple[0].symmetric_difference(geoms[0]).area < 0.1 * geoms[0].area


def test_edge_samples_cover_every_edge_at_the_step():
    net = load_network(grid_ways(5, 80.0))
    s = net.edge_samples(5.0)
    assert s.ptr[0] == 0 and s.ptr[-1] == len(s) and (np.diff(s.ptr) >= 2).all()
    assert np.array_equal(s.x[s.ptr[:-1]], net.node_x[net.edge_u])
    assert np.array_equal(s.y[s.ptr[1:] - 1], net.node_y[net.edge_v])
    same = s.edge[1:] == s.edge[:-1]
    assert np.hypot(np.diff(s.x), np.diff(s.y))[same].max() <= 5.0 + 1e-9
    assert (np.diff(s.fraction)[same] > 0).all()
    assert net.edge_samples(5.0) is s  # cached


@pytest.mark.parametrize("name", ["beijing_haidian_wudaokou.osm", "jiangxi_guixi.osm"])
def test_sample_minutes_equal_an_independent_search(name):
    """Times at street samples (partial edges, facilities on edges, one-way streets) against networkx
    on the graph with every sample and facility point inserted."""
    net = load_network(shared_data(f"osm/{name}"))
    rng = np.random.default_rng(3)
    lo0, la0, lo1, la1 = net.bbox_lonlat
    fac = snap_lonlat(net, rng.uniform(lo0, lo1, 4), rng.uniform(la0, la1, 4), max_distance_m=1e9)
    cost = net.travel_time_s(3.6)
    acc = nearest_source(net, fac, fac, cost)
    samples = net.edge_samples(SAMPLE_STEP_M)
    t, owner = sample_minutes(net, samples, acc.node_cost / 60, acc.node_source, cost / 60, fac)
    pick = rng.choice(len(samples), 150, replace=False)
    pick = np.concatenate([pick, np.flatnonzero(np.isin(samples.edge, fac.edge))[:40]])  # on facilities' edges
    targets = EdgeSamples(edge=samples.edge[pick], fraction=samples.fraction[pick], x=samples.x[pick],
                          y=samples.y[pick], ptr=np.zeros(0))
    ref = reference_costs(net, fac, targets, cost) / 60
    np.testing.assert_allclose(t[pick], ref, rtol=1e-9, atol=1e-9)
    reached = np.isfinite(ref)
    assert (owner[pick][reached] >= 0).all()


def test_union_lies_within_a_cell_of_the_exact_buffer():
    net = load_network(shared_data("osm/beijing_haidian_wudaokou.osm"))
    rng = np.random.default_rng(11)
    lo0, la0, lo1, la1 = net.bbox_lonlat
    fac = snap_lonlat(net, rng.uniform(lo0, lo1, 3), rng.uniform(la0, la1, 3), max_distance_m=1e9)
    cost = net.travel_time_s(3.6)
    acc = nearest_source(net, fac, fac, cost)
    areas = service_areas(net, fac, cost, minutes=5.0, node_minutes=acc.node_cost / 60, node_facility=acc.node_source,
                          category="elderly", per_facility=True)
    metric = areas.to_crs(net.crs)
    union = metric[metric["kind"] == "union"].geometry.iloc[0]
    samples = net.edge_samples(SAMPLE_STEP_M)
    t, _ = sample_minutes(net, samples, acc.node_cost / 60, acc.node_source, cost / 60, fac)
    reached = t <= 5.0
    exact = shapely.union_all(shapely.buffer(shapely.points(samples.x[reached], samples.y[reached]), 50.0, quad_segs=8))
    cell = float(metric["cell_m"].iloc[0])
    assert cell == 10.0
    assert union.hausdorff_distance(exact) <= 1.5 * cell  # measured: 11.6 m
    assert abs(union.area - exact.area) / exact.area < 0.06  # measured: 4.5 % smaller
    assert union.symmetric_difference(exact).area / exact.area < 0.08
    # every facility inside its own area and the union; catchments split the union without overlaps
    pts = shapely.points(fac.x, fac.y)
    for k in range(len(fac)):
        own = metric[(metric["kind"] == "facility_area") & (metric["facility"] == k)].geometry.iloc[0]
        assert own.contains(pts[k]) and union.contains(pts[k])
    catch = metric[metric["kind"] == "catchment"].geometry.values
    assert sum(c.area for c in catch) == pytest.approx(union.area, rel=0.03)
    rings = metric[metric["kind"] == "ring"]
    assert rings["minutes"].tolist() == [5.0]
    parts = shapely.get_parts(areas.geometry.values)
    assert not shapely.is_empty(parts).any() and shapely.is_valid(areas.geometry.values).all()
    assert set(areas.columns) >= {"kind", "category", "minutes", "facility", "area_km2", "cell_m", "geometry"}
    assert isinstance(areas, gpd.GeoDataFrame) and areas.crs.to_epsg() == 4326


def test_grid_cell_grows_for_wide_windows():
    x = np.array([0.0, 100_000.0])
    y = np.array([0.0, 50_000.0])
    g = Grid.around(x, y, 10.0, 50.0, max_cells=4_000_000)
    assert g.cell > 10.0 and g.n_rows * g.n_cols <= 4_100_000
    assert g.x0 <= -50.0 and g.x0 + g.n_cols * g.cell >= 100_050.0


def test_sample_minutes_with_two_facilities_on_one_edge():
    net = load_network(grid_ways(5, 80.0))
    from netfixtures import lonlat

    fac = snap_lonlat(net, *np.array([lonlat(10.0, 0.0), lonlat(70.0, 0.0), lonlat(320.0, 320.0)]).T)
    assert fac.edge[0] == fac.edge[1]
    cost = net.travel_time_s(4.8)
    acc = nearest_source(net, fac, fac, cost)
    samples = net.edge_samples(SAMPLE_STEP_M)
    t, owner = sample_minutes(net, samples, acc.node_cost / 60, acc.node_source, cost / 60, fac)
    ref = reference_costs(net, fac, samples, cost) / 60
    np.testing.assert_allclose(t, ref, rtol=1e-9, atol=1e-9)
    on = samples.edge == fac.edge[0]
    d0 = np.hypot(samples.x - fac.x[0], samples.y - fac.y[0])
    d1 = np.hypot(samples.x - fac.x[1], samples.y - fac.y[1])
    assert (owner[on & (d0 < d1 - 1)] == 0).all() and (owner[on & (d1 < d0 - 1)] == 1).all()


@given(xy=st.lists(st.tuples(st.floats(0, 400), st.floats(0, 400)), min_size=1, max_size=4),
       minutes=st.sampled_from([1.0, 3.0, 7.5]))
@settings(max_examples=15, deadline=None)
def test_every_area_contains_its_facility(xy, minutes):
    from netfixtures import lonlat

    net = _small_grid()
    fac = snap_lonlat(net, *np.array([lonlat(x, y) for x, y in xy]).T)
    cost = net.travel_time_s(3.6)
    acc = nearest_source(net, fac, fac, cost)
    areas = service_areas(net, fac, cost, minutes=minutes, node_minutes=acc.node_cost / 60,
                          node_facility=acc.node_source, category="elderly").to_crs(net.crs)
    pts = shapely.points(fac.x, fac.y)
    union = areas[areas["kind"] == "union"].geometry.iloc[0]
    assert all(union.contains(p) for p in pts)
    rings = shapely.union_all(areas[areas["kind"] == "ring"].geometry.values)
    assert rings.symmetric_difference(union).area < 0.02 * union.area  # rings tile the union
    for k in range(len(fac)):
        own = areas[(areas["kind"] == "facility_area") & (areas["facility"] == k)].geometry
        assert len(own) == 1 and own.iloc[0].contains(pts[k])
    assert set(areas.loc[areas["kind"] == "catchment", "facility"]) <= set(range(len(fac)))


_GRID_NET = []


def _small_grid():
    if not _GRID_NET:
        _GRID_NET.append(load_network(grid_ways(6, 80.0)))
    return _GRID_NET[0]


def test_window_polygons_equal_one_call_per_window():
    from circles.grid import window_polygons

    rng = np.random.default_rng(4)
    windows = []
    for k in range(25):
        h, w = rng.integers(3, 60, 2)
        mask = ndimage.binary_dilation(rng.random((h, w)) < 0.05, iterations=2)
        cell = 10.0 if k % 5 else 7.0  # two cell sizes: two sheets
        windows.append((mask, Grid(x0=1000.0 * k, y1=5000.0 + 37.0 * k, cell=cell, n_rows=int(h), n_cols=int(w))))
    windows.append((np.zeros((4, 4), bool), Grid(0.0, 0.0, 10.0, 4, 4)))
    got = window_polygons(windows)
    assert got[-1] is None
    for (mask, grid), g in zip(windows[:-1], got[:-1]):
        _, want = polygons(mask.astype(np.uint8), grid)
        if not len(want):
            assert g is None
            continue
        assert g.symmetric_difference(want[0]).area < 1e-6 * max(want[0].area, 1.0)

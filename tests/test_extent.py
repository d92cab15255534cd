"""network.extent and file_bounds: the area the data covers, and the box an OSM file declares."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import shapely

from conftest import shared_data
from netfixtures import grid_ways, lonlat
from network import RawWays, data_extent, file_bounds, load_network
from network.errors import NetworkError, OutsideDataError
from osmfixtures import osm_xml, write_osm

HAIDIAN_BOUNDS = (116.3084, 39.9905, 116.332, 40.0123)

# ------------------------------------------------------------------------------ file_bounds


def test_file_bounds_of_the_real_extracts():
    assert file_bounds(shared_data("osm/beijing_haidian_wudaokou.osm")) == HAIDIAN_BOUNDS
    assert file_bounds(shared_data("osm/porto.osm.pbf")) == (-8.795, 40.981, -8.358, 41.399)
    assert file_bounds(shared_data("osm/shenzhen_nanshan.osm")) is None  # an Overpass download: no <bounds>


def test_file_bounds_forms_and_invalid_boxes(tmp_path):
    raw = grid_ways(3)
    box = (116.3, 40.0, 116.31, 40.01)
    assert file_bounds(write_osm(tmp_path / "a.osm", raw, bounds=box)) == box
    gz = tmp_path / "a.osm.gz"
    gz.write_bytes(gzip.compress(osm_xml(raw, bounds=box).encode()))
    assert file_bounds(gz) == box
    assert file_bounds(write_osm(tmp_path / "none.osm", raw)) is None
    osmosis = tmp_path / "osmosis.osm"  # Osmosis writes <bound box="minlat,minlon,maxlat,maxlon">
    osmosis.write_text(osm_xml(raw).replace("<node", '<bound box="40.0,116.3,40.01,116.31" origin="osmosis"/><node', 1),
                       encoding="utf-8")
    assert file_bounds(osmosis) == box
    assert file_bounds(write_osm(tmp_path / "swapped.osm", raw, bounds=(116.31, 40.0, 116.3, 40.01))) is None
    assert file_bounds(write_osm(tmp_path / "range.osm", raw, bounds=(116.3, 40.0, 116.31, 95.0))) is None
    garbled = tmp_path / "garbled.osm"
    garbled.write_text(osm_xml(raw, bounds=box).replace('minlat="40.0"', 'minlat="forty"'), encoding="utf-8")
    assert file_bounds(garbled) is None
    with pytest.raises(NetworkError, match=r"nope\.osm: file not found"):
        file_bounds(tmp_path / "nope.osm")


def test_load_network_records_the_bounds_and_the_cache_keeps_them(tmp_path):
    box = (116.3, 40.0, 116.31, 40.01)
    src = write_osm(tmp_path / "grid.osm", grid_ways(5, 80.0), bounds=box)
    first = load_network(src, cache_dir=tmp_path / "cache")
    second = load_network(src, cache_dir=tmp_path / "cache")
    assert second.report["cache"] == "hit"
    assert first.report["file_bounds"] == second.report["file_bounds"] == list(box)
    assert load_network(write_osm(tmp_path / "bare.osm", grid_ways(5, 80.0))).report["file_bounds"] is None
    assert load_network(grid_ways(5, 80.0)).report["file_bounds"] is None


# ------------------------------------------------------------------------------ data_extent


def _grid_with_stub() -> RawWays:
    """A 1 km × 1 km grid of streets 100 m apart, and a 2 km track leaving its east side at y = 500 m."""
    raw = grid_ways(11, 100.0)
    nodes = {int(i): (float(lo), float(la)) for i, lo, la in zip(raw.node_id, raw.node_lon, raw.node_lat)}
    ways = [(int(w), raw.refs[raw.way_offsets[k]:raw.way_offsets[k + 1]].tolist(), t)
            for k, (w, t) in enumerate(zip(raw.way_id, raw.way_tags))]
    nodes[500], nodes[501] = lonlat(2000.0, 500.0), lonlat(3000.0, 500.0)
    ways.append((77, [1 + 5 * 11 + 10, 500, 501], {"highway": "track"}))  # from row 5, column 10
    return RawWays.from_lists(nodes, ways)


def _in_metres(net, geom):
    return shapely.transform(geom, lambda c: np.column_stack(net.to_xy(c[:, 0], c[:, 1])))


def test_grid_extent_is_the_square_grown_by_the_margin_and_the_stub_a_corridor():
    net = load_network(_grid_with_stub())
    area = _in_metres(net, data_extent(net, fill_m=500.0, margin_m=100.0))
    assert isinstance(area, shapely.Polygon) and area.is_valid
    def xy(x_m, y_m):
        return tuple(float(v) for v in net.to_xy(*lonlat(x_m, y_m)))

    (x0, y0) = xy(0, 0)
    square = shapely.Polygon([xy(0, 0), xy(1000, 0), xy(1000, 1000), xy(0, 1000)])  # UTM turns it by ~0.4°
    stub = shapely.LineString([xy(1000, 500), xy(3000, 500)])
    expected = square.buffer(100.0).union(stub.buffer(100.0))
    # the 100 m blocks are filled; beyond the outermost streets the area reaches 100 m, to 1.5
    # cells (33 m cells, simplified by a cell: the rounded corners become chamfers)
    assert area.buffer(50.0).contains(expected)
    assert expected.buffer(-50.0).difference(area).is_empty
    # beyond that, only the closing's fillets in the two concave corners where the stub leaves
    extra = area.difference(expected.buffer(50.0))
    assert shapely.box(x0 + 1100, y0 - 100, x0 + 1650, y0 + 1100).contains(extra)
    assert extra.area < 2 * (1 - np.pi / 4) * 500.0**2  # two 90° corners filled with radius 500 m at most
    for dx in (1700.0, 2000.0, 2300.0, 2600.0):  # past the corners' reach the stub is a corridor ≈ 2 × 100 m
        across = shapely.LineString([(x0 + dx, y0 - 1000), (x0 + dx, y0 + 2000)])
        assert 170.0 <= area.intersection(across).length <= 240.0, dx
    assert area.bounds[2] - stub.bounds[2] == pytest.approx(100.0, abs=35.0)  # reaches 100 m past the stub's end
    assert area.area < 0.6 * shapely.box(*area.bounds).area  # not a bounding box


def test_declared_bounds_cut_the_stub_off():
    net = load_network(_grid_with_stub())
    lo0, la0 = lonlat(-150.0, -150.0)
    lo1, la1 = lonlat(1150.0, 1150.0)
    area = _in_metres(net, data_extent(net, bounds=(lo0, la0, lo1, la1)))
    x0, _ = (float(v) for v in net.to_xy(*lonlat(0, 0)))
    assert area.bounds[2] <= x0 + 1165.0  # the lon/lat box is turned by ~0.4° in UTM: ±10 m
    assert area.area == pytest.approx(shapely.box(0, 0, 1200, 1200).area, rel=0.03)
    net.report["file_bounds"] = [lo0, la0, lo1, la1]  # what load_network records for an OSM file
    assert data_extent(net).equals_exact(data_extent(net, bounds=(lo0, la0, lo1, la1)), 1e-12)


def test_distant_pieces_give_a_multipolygon():
    raw = grid_ways(5, 100.0)
    nodes = {int(i): (float(lo), float(la)) for i, lo, la in zip(raw.node_id, raw.node_lon, raw.node_lat)}
    ways = [(int(w), raw.refs[raw.way_offsets[k]:raw.way_offsets[k + 1]].tolist(), t)
            for k, (w, t) in enumerate(zip(raw.way_id, raw.way_tags))]
    nodes.update({900: lonlat(4000, 0), 901: lonlat(4400, 0), 902: lonlat(4400, 400)})
    ways.append((90, [900, 901, 902], {"highway": "residential"}))
    net = load_network(RawWays.from_lists(nodes, ways), largest_component=False)
    area = data_extent(net)
    assert isinstance(area, shapely.MultiPolygon) and len(area.geoms) == 2


def test_haidian_extent_fills_the_declared_bounds():
    net = load_network(shared_data("osm/beijing_haidian_wudaokou.osm"))
    bounds = shapely.box(*HAIDIAN_BOUNDS)
    assert not bounds.contains(shapely.box(*net.bbox_lonlat))  # the export's ways run past its box
    area = data_extent(net)
    assert bounds.buffer(1e-9).contains(area)
    assert area.area > 0.9 * bounds.area  # a dense city district: nearly all of the box


def test_guixi_rural_extent_is_not_a_box():
    net = load_network(shared_data("osm/jiangxi_guixi.osm"))
    area = data_extent(net)
    declared = shapely.box(*net.report["file_bounds"])
    assert declared.buffer(1e-9).contains(area)
    assert area.area < 0.8 * declared.area
    assert area.area < 0.8 * shapely.box(*area.bounds).area
    assert all(area.buffer(1e-6).contains(shapely.Point(lo, la))
               for lo, la in zip(net.node_lon, net.node_lat) if declared.contains(shapely.Point(lo, la)))


def test_bad_arguments():
    net = load_network(grid_ways(3))
    with pytest.raises(NetworkError, match="fill_m is -1"):
        data_extent(net, fill_m=-1)
    with pytest.raises(NetworkError, match="margin_m is 0"):
        data_extent(net, margin_m=0)
    with pytest.raises(NetworkError, match="not 4 numbers"):
        data_extent(net, bounds=(1, 2, 3))
    with pytest.raises(NetworkError, match="not a lon/lat box"):
        data_extent(net, bounds=(117, 40, 116, 41))
    with pytest.raises(OutsideDataError, match="outside the bounds"):
        data_extent(net, bounds=(0.0, 0.0, 1.0, 1.0))

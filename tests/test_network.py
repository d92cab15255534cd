"""network/: OSM files in, a simplified walking/driving network out; the compact form and snapping."""

from __future__ import annotations

import gzip
import random

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse import csgraph

from network.errors import NetworkError
from conftest import shared_data
from netfixtures import grid_ways, lonlat
from network import RawWays, load_network
from osmfixtures import NESTED_ENTITIES, osm_xml

# ----------------------------------------------------------------------------- hand-checkable


def test_grid_nodes_edges_and_times():
    net = load_network(grid_ways(7, 80.0))
    # the four corners join a row and a column end to end: 2 neighbours, degree 4, so osmnx's
    # simplification (and ours) merges through them
    assert net.n_nodes == 49 - 4
    assert net.n_edges == 84 - 4  # 7 rows × 6 + 7 columns × 6 segments, corners merged
    assert net.n_directed_edges == 2 * 80
    assert net.total_length_km == pytest.approx(84 * 0.080, rel=1e-3)
    t = net.travel_time_s(4.8)  # 80 m at 4.8 km/h = 60 s a segment
    np.testing.assert_allclose(t / (net.edge_length_m / 80.0), 60.0, rtol=1e-3)
    d = csgraph.dijkstra(net.csr(t), indices=int(np.flatnonzero(net.node_osmid == 2)[0]))
    far = int(np.flatnonzero(net.node_osmid == 48)[0])  # row 6, column 5
    assert d[far] / 60 == pytest.approx(10.0, rel=1e-3)  # 4 across + 6 up


def test_interior_nodes_and_end_to_end_ways_are_merged():
    # a 1-2-3 way continued by a 3-4-5 way, and a side street 3'... no: 2 is interior, 3 joins two
    # ways end to end (2 neighbours, degree 4) so it is not an intersection either (osmnx's rule)
    nodes = {i: lonlat(100.0 * i, 0.0) for i in range(1, 6)}
    nodes[6] = lonlat(400.0, 100.0)
    ways = [(1, [1, 2, 3], {"highway": "residential"}), (2, [3, 4, 5], {"highway": "footway"}),
            (3, [4, 6], {"highway": "footway"})]
    net = load_network(RawWays.from_lists(nodes, ways))
    assert sorted(net.node_osmid.tolist()) == [1, 4, 5, 6]
    assert net.n_edges == 3
    e = int(np.flatnonzero((net.node_osmid[net.edge_u] == 1) | (net.node_osmid[net.edge_v] == 1))[0])
    assert net.edge_length_m[e] == pytest.approx(300.0, rel=1e-3)
    g = slice(net.geom_offsets[e], net.geom_offsets[e + 1])
    assert len(net.geom_x[g]) == 4  # 1-2-3-4 kept as geometry for drawing


def test_walk_filter_follows_osmnx():
    nodes = {i: lonlat(100.0 * i, 50.0 * (i % 2)) for i in range(1, 22)}
    cases = [
        ({"highway": "footway"}, True), ({"highway": "steps"}, True), ({"highway": "motorway"}, False),
        ({"highway": "motorway_link"}, False), ({"highway": "cycleway"}, False),
        ({"highway": "residential", "access": "private"}, False), ({"highway": "service", "foot": "no"}, False),
        ({"highway": "pedestrian", "area": "yes"}, False), ({"highway": "primary", "sidewalk": "separate"}, False),
        ({"highway": "construction"}, False),
    ]
    ways = [(100 + k, [2 * k + 1, 2 * k + 2], tags) for k, (tags, _) in enumerate(cases)]  # disjoint
    net = load_network(RawWays.from_lists(nodes, ways), largest_component=False)
    kept = set(net.edge_osmid.tolist())
    assert kept == {100 + k for k, (_, ok) in enumerate(cases) if ok}


def test_drive_respects_oneway_and_class_speeds():
    nodes = {i: lonlat(500.0 * i, 0.0) for i in range(1, 5)}
    nodes.update({5: lonlat(1000.0, 300.0), 6: lonlat(1500.0, 300.0), 7: lonlat(500.0, 300.0)})
    ways = [(5, [2, 5], {"highway": "residential"}), (6, [3, 6], {"highway": "residential"}),
            (7, [1, 7], {"highway": "residential"}),  # side streets make 1, 2, 3 intersections
            (1, [1, 2], {"highway": "primary", "oneway": "yes"}),
            (2, [3, 2], {"highway": "secondary", "oneway": "-1"}),   # travel 2 -> 3
            (3, [3, 4], {"highway": "residential"}),
            (4, [4, 1], {"highway": "footway"})]                    # not drivable
    net = load_network(RawWays.from_lists(nodes, ways), mode="drive")
    idx = {int(o): i for i, o in enumerate(net.node_osmid)}
    m = net.csr(net.travel_time_s())
    assert m[idx[1], idx[2]] == pytest.approx(500 / (60 / 3.6), rel=1e-3)  # primary 60 km/h
    assert m[idx[2], idx[1]] == 0  # one-way: no edge back
    assert m[idx[2], idx[3]] == pytest.approx(500 / (50 / 3.6), rel=1e-3)
    assert m[idx[3], idx[2]] == 0
    assert m[idx[3], idx[4]] > 0 and m[idx[4], idx[3]] > 0
    walk = load_network(RawWays.from_lists(nodes, ways), mode="walk")
    assert not walk.edge_oneway.any()  # walking ignores one-way and uses the footway
    assert walk.total_length_km == pytest.approx(1.5 + 1.5 + 0.9, rel=1e-3)


def test_steps_are_slower_for_elderly_walkers_unless_disabled():
    nodes = {1: lonlat(0, 0), 2: lonlat(100, 0), 3: lonlat(200, 0)}
    ways = [(1, [1, 2], {"highway": "footway"}), (2, [2, 3], {"highway": "steps"})]
    net = load_network(RawWays.from_lists(nodes, ways))
    assert net.n_edges == 1  # one street, two way types
    assert net.edge_weighted_length_m[0] == pytest.approx(300.0, rel=1e-3)  # steps count double
    assert net.travel_time_s(3.6)[0] == pytest.approx(300.0, rel=1e-3)
    assert net.travel_time_s(3.6, way_factors=False)[0] == pytest.approx(200.0, rel=1e-3)
    plain = load_network(RawWays.from_lists(nodes, ways), way_factors={})
    assert plain.edge_weighted_length_m[0] == pytest.approx(200.0, rel=1e-3)


# ------------------------------------------------------------- e-bikes and road speeds (issue 18)


def test_ebike_filter_roads_and_tracks_but_no_motorways_or_footways():
    nodes = {i: lonlat(100.0 * i, 50.0 * (i % 2)) for i in range(1, 30)}
    cases = [
        ({"highway": "residential"}, True), ({"highway": "primary"}, True), ({"highway": "trunk"}, True),
        ({"highway": "track"}, True), ({"highway": "path"}, True), ({"highway": "cycleway"}, True),
        ({"highway": "service"}, True), ({"highway": "unclassified"}, True),
        ({"highway": "motorway"}, False), ({"highway": "motorway_link"}, False),  # 道路交通安全法 第六十七条
        ({"highway": "footway"}, False), ({"highway": "pedestrian"}, False), ({"highway": "steps"}, False),
        ({"highway": "primary", "motorroad": "yes"}, False), ({"highway": "secondary", "bicycle": "no"}, False),
        ({"highway": "residential", "access": "private"}, False),
    ]
    ways = [(100 + k, [2 * k - 1 + 2, 2 * k + 2], tags) for k, (tags, _) in enumerate(cases)]  # disjoint
    net = load_network(RawWays.from_lists(nodes, ways), mode="ebike", largest_component=False)
    assert set(net.edge_osmid.tolist()) == {100 + k for k, (_, ok) in enumerate(cases) if ok}
    assert net.mode == "ebike"


def test_ebike_times_speed_times_way_factor_and_one_ways():
    nodes = {1: lonlat(0, 0), 2: lonlat(500, 0), 3: lonlat(1000, 0), 4: lonlat(500, 400), 5: lonlat(1000, 400),
             6: lonlat(1500, 0), 7: lonlat(1500, 400), 8: lonlat(0, 400)}
    ways = [(1, [1, 2], {"highway": "tertiary"}),
            (2, [2, 3], {"highway": "track"}),                                   # 1.25 × as long
            (3, [2, 4], {"highway": "residential", "oneway": "yes"}),            # 2 -> 4 only
            (4, [4, 5], {"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}),  # both ways
            (5, [5, 3], {"highway": "residential"}),
            (6, [3, 6], {"highway": "residential"}), (7, [5, 7], {"highway": "residential"}),  # side streets:
            (8, [4, 8], {"highway": "residential"})]                                           # 3, 4, 5 are junctions
    net = load_network(RawWays.from_lists(nodes, ways), mode="ebike")
    idx = {int(o): i for i, o in enumerate(net.node_osmid)}
    m = net.csr(net.travel_time_s(15.0))  # 15 km/h: 500 m in 120 s
    assert m[idx[1], idx[2]] == pytest.approx(120.0, rel=1e-3)
    assert m[idx[2], idx[3]] == pytest.approx(150.0, rel=1e-3)  # the track: 1.25 × 120 s
    assert m[idx[2], idx[4]] == pytest.approx(400 / (15 / 3.6), rel=1e-3) and m[idx[4], idx[2]] == 0
    assert m[idx[4], idx[5]] > 0 and m[idx[5], idx[4]] > 0  # oneway:bicycle=no
    assert net.travel_time_s(15.0, way_factors=False)[np.flatnonzero(net.edge_osmid == 2)[0]] == pytest.approx(120.0, rel=1e-3)
    with pytest.raises(NetworkError, match="speed_kmh is needed for a ebike network.*15 for e-bikes"):
        net.travel_time_s()
    plain = load_network(RawWays.from_lists(nodes, ways), mode="ebike", way_factors={})
    assert plain.edge_weighted_length_m.sum() == pytest.approx(plain.edge_length_m.sum())


def test_drive_speeds_by_class_can_be_overridden_and_maxspeed_still_wins():
    nodes = {1: lonlat(0, 0), 2: lonlat(1000, 0), 3: lonlat(2000, 0), 4: lonlat(1000, 500)}
    ways = [(1, [1, 2], {"highway": "tertiary"}), (2, [2, 3], {"highway": "tertiary", "maxspeed": "60"}),
            (3, [2, 4], {"highway": "unclassified"})]
    raw = RawWays.from_lists(nodes, ways)
    default = load_network(raw, mode="drive")
    slow = load_network(raw, mode="drive", speeds_kmh={"tertiary": 20, "unclassified": 10})
    for net, tertiary, unclassified in ((default, 40.0, 30.0), (slow, 20.0, 10.0)):
        t = dict(zip(net.edge_osmid.tolist(), net.travel_time_s()))
        assert t[1] == pytest.approx(1000 / (tertiary / 3.6), rel=1e-3)
        assert t[2] == pytest.approx(1000 / (60 / 3.6), rel=1e-3)  # maxspeed=60 wins over the class
        assert t[3] == pytest.approx(500 / (unclassified / 3.6), rel=1e-3)


def test_road_speeds_are_checked_and_change_the_cache_key(tmp_path):
    from network.modes import ModeRules

    with pytest.raises(NetworkError, match="speeds_kmh .* apply to the drive mode, not 'ebike'"):
        load_network(grid_ways(3), mode="ebike", speeds_kmh={"primary": 20})
    with pytest.raises(NetworkError, match="speed for highway=primary is 0; road speeds must be numbers > 0"):
        ModeRules(mode="drive", speeds_kmh={"primary": 0})
    osm = tmp_path / "grid.osm"
    osm.write_text(osm_xml(grid_ways(3, 200.0, highway="tertiary")), encoding="utf-8")
    cache = tmp_path / "cache"
    first = load_network(osm, mode="drive", cache_dir=cache)
    other = load_network(osm, mode="drive", cache_dir=cache, speeds_kmh={"tertiary": 20})
    assert first.report["cache"] == "miss" and other.report["cache"] == "miss"  # a key of its own
    assert other.travel_time_s().sum() == pytest.approx(2 * first.travel_time_s().sum(), rel=1e-6)
    assert load_network(osm, mode="drive", cache_dir=cache, speeds_kmh={"tertiary": 20}).report["cache"] == "hit"


@pytest.mark.shared_data
def test_guixi_ebike_network_is_the_bike_network_without_motor_roads():
    src = shared_data("osm/jiangxi_guixi.osm")
    ebike = load_network(src, mode="ebike")
    bike = load_network(src, mode="bike")
    drive = load_network(src, mode="drive")
    # Guixi has no footways, pedestrian streets or motorways: e-bikes use the bike network ...
    assert ebike.n_edges == bike.n_edges and ebike.total_length_km == pytest.approx(bike.total_length_km)
    hw = {ebike.highway_values[i] for i in np.unique(ebike.edge_highway)}
    assert not hw & {"motorway", "motorway_link", "footway", "pedestrian", "steps"}
    # ... which includes the track and service roads cars are not routed on
    assert ebike.total_length_km > drive.total_length_km
    assert ebike.summary()["mode"] == "ebike"


def test_largest_component_kept_and_drop_reported():
    raw = grid_ways(5, 80.0)
    nodes = {int(i): (float(lo), float(la)) for i, lo, la in zip(raw.node_id, raw.node_lon, raw.node_lat)}
    nodes[900] = lonlat(2000, 2000)
    nodes[901] = lonlat(2100, 2000)
    ways = [(int(w), raw.refs[raw.way_offsets[k]:raw.way_offsets[k + 1]].tolist(), t)
            for k, (w, t) in enumerate(zip(raw.way_id, raw.way_tags))] + [(77, [900, 901], {"highway": "path"})]
    net = load_network(RawWays.from_lists(nodes, ways))
    assert net.n_nodes == 25 - 4
    assert net.report["dropped_components"] == 1
    assert net.report["dropped_nodes"] == 2
    assert net.report["dropped_length_km"] == pytest.approx(0.1, rel=1e-2)
    both = load_network(RawWays.from_lists(nodes, ways), largest_component=False)
    assert both.n_nodes == 25 - 4 + 2


def test_boundary_clip_keeps_the_buffer():
    raw = grid_ways(11, 100.0)  # 1 km × 1 km
    lo0, la0 = lonlat(0, 0)
    lo1, la1 = lonlat(300, 300)
    box = shapely.box(lo0 - 1e-6, la0 - 1e-6, lo1 + 1e-6, la1 + 1e-6)
    tight = load_network(raw, boundary=box, buffer_m=0.0)
    assert tight.n_nodes == 16 - 4  # 4 × 4 nodes, corners merged
    wide = load_network(raw, boundary=box, buffer_m=250.0)
    assert wide.n_nodes > tight.n_nodes and wide.total_length_km > tight.total_length_km
    far = shapely.box(120.0, 30.0, 120.1, 30.1)
    with pytest.raises(NetworkError, match="does not intersect"):
        load_network(raw, boundary=far)


def test_snap_to_nearest_point_on_nearest_edge():
    net = load_network(grid_ways(3, 100.0))
    x0, y0 = net.to_xy(*lonlat(0, 0))
    # 30 m along the first row, 7 m north of it: nearer to the edge than to any node
    s = net.snap(x0 + 30.0, y0 + 7.0)
    assert s.distance_m[0] == pytest.approx(7.0, abs=0.5)  # UTM grid vs parallels: < 0.5 m here
    e = int(s.edge[0])
    line, pt = net.edge_lines()[e], shapely.Point(x0 + 30.0, y0 + 7.0)
    assert s.distance_m[0] == pytest.approx(line.distance(pt), abs=1e-6)
    assert s.offset_m[0] == pytest.approx(line.project(pt), abs=1e-6)
    ends = {int(net.node_osmid[net.edge_u[e]]), int(net.node_osmid[net.edge_v[e]])}
    assert 2 in ends  # the corner node 1 is merged away: the edge runs 2 -> 1 -> 4
    from_2 = s.offset_m[0] if int(net.node_osmid[net.edge_u[e]]) == 2 else net.edge_geom_length_m[e] - s.offset_m[0]
    assert from_2 == pytest.approx(70.0, abs=0.5)
    assert not s.off_network[0]
    far = net.snap([x0 + 50.0, x0 - 900.0], [y0 + 100.0, y0], max_distance_m=200.0)
    assert far.off_network.tolist() == [False, True]
    assert far.distance_m[1] == pytest.approx(900.0, abs=0.5)
    nearest = net.kdtree.query([x0 + 101.0, y0 + 1.0])[1]
    assert int(net.node_osmid[nearest]) == 2


def test_cache_second_run_skips_parsing(tmp_path):
    src = shared_data("osm/jiangxi_guixi.osm")
    first = load_network(src, cache_dir=tmp_path)
    second = load_network(src, cache_dir=tmp_path)
    assert first.report["cache"] == "miss" and second.report["cache"] == "hit"
    np.testing.assert_array_equal(first.edge_length_m, second.edge_length_m)
    np.testing.assert_array_equal(first.geom_x, second.geom_x)
    other_mode = load_network(src, mode="drive", cache_dir=tmp_path)
    assert other_mode.report["cache"] == "miss"


def test_compressed_xml_reads_the_same(tmp_path):
    src = shared_data("osm/jiangxi_guixi.osm")
    gz = tmp_path / "guixi.osm.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    a = load_network(src, cache=False)
    b = load_network(gz, cache=False)
    assert a.n_nodes == b.n_nodes and a.total_length_km == pytest.approx(b.total_length_km)


# ------------------------------------------------------------------- real data against osmnx

REAL = ["shenzhen_nanshan.osm", "beijing_haidian_wudaokou.osm", "jiangxi_guixi.osm", "andorra.osm.pbf"]


@pytest.mark.parametrize("name", REAL)
def test_walk_network_agrees_with_osmnx(name, tmp_path):
    from bench.osmnx_reference import osmnx_graph

    src = shared_data(f"osm/{name}")
    G = osmnx_graph(src, tmp_path)
    net = load_network(src, cache=False)
    osmnx_km = sum(d["length"] for _, _, d in G.edges(data=True)) / 2 / 1000  # each street twice
    assert net.total_length_km == pytest.approx(osmnx_km, rel=0.005)
    assert net.n_nodes == len(G)
    assert net.n_directed_edges == len(G.edges)

    # shortest-path times between random node pairs equal networkx's on the osmnx graph
    speed_ms = 4.8 / 3.6
    m = net.csr(net.edge_length_m / speed_ms)
    index = {int(o): i for i, o in enumerate(net.node_osmid)}
    rng = random.Random(7)
    nodes = list(G.nodes)
    for _ in range(15):
        s, t = rng.sample(nodes, 2)
        ours = csgraph.dijkstra(m, indices=index[s])[index[t]]
        theirs = nx.shortest_path_length(G, s, t, weight="length") / speed_ms
        assert ours == pytest.approx(theirs, rel=0.005)


def test_graphml_source_matches_osm(tmp_path):
    import osmnx as ox

    from bench.osmnx_reference import osmnx_graph

    src = shared_data("osm/jiangxi_guixi.osm")
    G = osmnx_graph(src, tmp_path)
    ox.save_graphml(G, tmp_path / "guixi.graphml")
    net = load_network(tmp_path / "guixi.graphml")
    assert net.total_length_km == pytest.approx(load_network(src).total_length_km, rel=0.005)


# ------------------------------------------------------------------------------- bad input


def test_missing_file():
    with pytest.raises(NetworkError, match="nope.osm.pbf: file not found"):
        load_network("data/nope.osm.pbf")


def test_not_an_osm_file(tmp_path):
    p = tmp_path / "streets.osm"
    p.write_text("name,lon,lat\nA,1,2\n", encoding="utf-8")
    with pytest.raises(NetworkError, match="streets.osm: not OSM XML"):
        load_network(p)
    q = tmp_path / "streets.csv"
    q.write_text("x", encoding="utf-8")
    with pytest.raises(NetworkError, match="not an OSM file"):
        load_network(q)


def test_truncated_pbf(tmp_path):
    src = shared_data("osm/andorra.osm.pbf")
    p = tmp_path / "cut.osm.pbf"
    p.write_bytes(src.read_bytes()[: 300_000])
    with pytest.raises(NetworkError, match="cut.osm.pbf: not a readable OSM file"):
        load_network(p, cache=False)


def test_extract_without_walkable_ways(tmp_path):
    p = tmp_path / "buildings.osm"
    p.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="40.0" lon="116.3"/><node id="2" lat="40.001" lon="116.3"/>'
        '<node id="3" lat="40.001" lon="116.301"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>'
        '<way id="11"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way></osm>',
        encoding="utf-8",
    )
    with pytest.raises(NetworkError, match="no ways usable for mode 'walk'"):
        load_network(p)


def test_bad_mode():
    with pytest.raises(NetworkError, match="mode 'fly' is not known; use one of walk, bike, ebike, drive"):
        load_network(grid_ways(3), mode="fly")


def test_place_name_offline_gives_clear_message():
    with pytest.raises(NetworkError, match="without internet, pass an OSM file"):
        load_network("Haidian District, Beijing")


def test_polygon_source_offline_gives_clear_message():
    with pytest.raises(NetworkError, match="could not download it through osmnx"):
        load_network(shapely.box(116.30, 39.99, 116.31, 40.0))


def test_osm_xml_with_entities_is_refused_before_parsing(tmp_path):
    p = tmp_path / "laughs.osm"
    p.write_text(osm_xml(grid_ways(3), doctype=NESTED_ENTITIES, name_entity="lol3"), encoding="utf-8")
    with pytest.raises(NetworkError, match=r"laughs\.osm: the XML declares entities in a <!DOCTYPE>") as info:
        load_network(p)
    assert "\n" not in str(info.value) and "remove the <!DOCTYPE" in str(info.value)


def test_graphml_with_entities_is_refused(tmp_path):
    import osmnx as ox

    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_node(1, x=116.3, y=40.0, street_count=1)
    G.add_node(2, x=116.301, y=40.0, street_count=1)
    G.add_edge(1, 2, 0, length=85.0, highway="residential", oneway=False, reversed=False, osmid=5)
    ox.save_graphml(G, tmp_path / "plain.graphml")
    assert load_network(tmp_path / "plain.graphml").n_edges == 1
    text = (tmp_path / "plain.graphml").read_text(encoding="utf-8")
    end_decl = text.index("?>") + 2
    # osmnx (networkx, ElementTree) would expand &lol3; to 1,000 copies
    laughs = (text[:end_decl] + "\n" + NESTED_ENTITIES.replace("osm", "graphml") + text[end_decl:]).replace(
        ">residential<", ">&lol3;<")
    (tmp_path / "laughs.graphml").write_text(laughs, encoding="utf-8")
    with pytest.raises(NetworkError, match=r"laughs\.graphml: the XML declares entities.*osmnx\.save_graphml") as info:
        load_network(tmp_path / "laughs.graphml")
    assert "\n" not in str(info.value)


def test_import_network_stays_light():
    """`import network` loads none of the heavy optional libraries (they load where they are used)."""
    import subprocess
    import sys

    heavy = ["osmnx", "networkx", "geopandas", "rasterio", "folium"]
    code = ("import sys, network; from network import load_network, data_extent, clear_cache, file_bounds; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

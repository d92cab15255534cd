"""network.features: OSM buildings and tagged features, checked against an independent XML count."""

from __future__ import annotations

import bz2
import collections
import gzip
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import shapely
from conftest import shared_data

from circles.errors import CirclesError
from network.errors import NetworkError
from network.features import DEFAULT_TAG_KEYS, parse_levels, read_buildings, read_osm_features
from osmfixtures import NESTED_ENTITIES

WUDAOKOU = "osm/beijing_haidian_wudaokou.osm"

# A tiny hand-made file: a 2-storey house (closed way), a café node, an open footway, and a
# school as a multipolygon relation with a courtyard (inner ring).
TINY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
 <node id="1" lat="40.0000" lon="116.0000"/>
 <node id="2" lat="40.0000" lon="116.0010"/>
 <node id="3" lat="40.0010" lon="116.0010"/>
 <node id="4" lat="40.0010" lon="116.0000"/>
 <node id="5" lat="40.0020" lon="116.0020"><tag k="amenity" v="cafe"/><tag k="name" v="咖啡"/></node>
 <node id="6" lat="40.0030" lon="116.0030"/>
 <node id="11" lat="40.0100" lon="116.0100"/>
 <node id="12" lat="40.0100" lon="116.0130"/>
 <node id="13" lat="40.0130" lon="116.0130"/>
 <node id="14" lat="40.0130" lon="116.0100"/>
 <node id="21" lat="40.0110" lon="116.0110"/>
 <node id="22" lat="40.0110" lon="116.0120"/>
 <node id="23" lat="40.0120" lon="116.0120"/>
 <node id="24" lat="40.0120" lon="116.0110"/>
 <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
  <tag k="building" v="house"/><tag k="building:levels" v="2"/></way>
 <way id="101"><nd ref="5"/><nd ref="6"/><tag k="highway" v="footway"/><tag k="name" v="小路"/></way>
 <way id="102"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="11"/></way>
 <way id="103"><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="24"/><nd ref="21"/></way>
 <relation id="200">
  <member type="way" ref="102" role="outer"/><member type="way" ref="103" role="inner"/>
  <tag k="type" v="multipolygon"/><tag k="building" v="school"/><tag k="amenity" v="school"/>
 </relation>
</osm>
"""

HIGHWAYS_ONLY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
 <node id="1" lat="40.0" lon="116.0"/><node id="2" lat="40.0" lon="116.001"/>
 <way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
</osm>
"""


def _xml_building_counts(path) -> collections.Counter:
    """Count building areas independently: closed ways and complete multipolygon relations."""
    root = ET.parse(path).getroot()
    nodes = {n.get("id") for n in root.iter("node")}
    ways = {w.get("id"): [n.get("ref") for n in w.findall("nd")] for w in root.iter("way")}
    counts: collections.Counter = collections.Counter()
    for el in root:
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        if tags.get("building", "no") == "no":
            continue
        if el.tag == "way":
            refs = ways[el.get("id")]
            if len(refs) >= 4 and refs[0] == refs[-1] and all(r in nodes for r in refs):
                counts["area"] += 1
                counts[tags["building"]] += 1
        elif el.tag == "relation" and tags.get("type") == "multipolygon":
            members = [m.get("ref") for m in el.findall("member") if m.get("type") == "way"]
            if all(m in ways and all(r in nodes for r in ways[m]) for m in members):
                counts["area"] += 1
                counts[tags["building"]] += 1
        elif el.tag == "node":
            counts["node"] += 1
    return counts


@pytest.fixture(scope="module")
def wudaokou_features():
    return read_osm_features(shared_data(WUDAOKOU))


@pytest.fixture(scope="module")
def wudaokou_buildings():
    return read_buildings(shared_data(WUDAOKOU))


def test_wudaokou_buildings_match_independent_xml_count(wudaokou_buildings):
    expected = _xml_building_counts(shared_data(WUDAOKOU))
    b = wudaokou_buildings
    assert len(b) == expected["area"] == 521
    assert (b["building"] == "residential").sum() == expected["residential"] == 117
    assert (b["building"] == "dormitory").sum() == expected["dormitory"]
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"}
    assert b.crs.to_epsg() == 4326
    assert b.geometry.is_valid.all()
    assert (b["osm_type"] == "relation").sum() == 1
    assert list(b.columns) == ["osm_type", "osm_id", "building", "levels", "name", "geometry"]
    # building:levels: 11 tagged, parsed to numbers; the rest NaN
    assert b["levels"].notna().sum() == 11
    assert b["levels"].max() == 11


def test_wudaokou_pois_are_points_with_tags(wudaokou_features):
    feats = wudaokou_features
    root = ET.parse(shared_data(WUDAOKOU)).getroot()
    amenity_nodes = sum(1 for n in root.iter("node") if n.find("tag[@k='amenity']") is not None)
    node_rows = feats[feats["osm_type"] == "node"]
    assert (node_rows.geom_type == "Point").all()
    assert node_rows["amenity"].notna().sum() == amenity_nodes == 139
    pois = feats[feats["kind"] == "poi"]
    assert (pois["osm_type"] == "node").sum() > 400
    # building nodes are kept as points, but read_buildings leaves them out
    assert ((feats["kind"] == "building") & (feats["osm_type"] == "node")).sum() == 8
    assert list(feats.columns) == ["osm_type", "osm_id", "kind", *DEFAULT_TAG_KEYS, "geometry"]
    # a missing tag is None, not NaN or ""
    assert node_rows["shop"].map(lambda v: v is None or isinstance(v, str)).all()
    assert node_rows["shop"].isna().sum() > 0
    lon, lat = node_rows.geometry.x, node_rows.geometry.y
    assert lon.between(116.2, 116.4).all() and lat.between(39.9, 40.1).all()


def test_kinds_select_rows(wudaokou_features):
    path = shared_data(WUDAOKOU)
    only_pois = read_osm_features(path, kinds=("poi",))
    assert set(only_pois["kind"]) == {"poi"}
    assert len(only_pois) == (wudaokou_features["kind"] == "poi").sum()
    amenities = read_osm_features(path, tag_keys=("amenity",), kinds="poi")
    assert amenities["amenity"].notna().all()
    assert list(amenities.columns) == ["osm_type", "osm_id", "kind", "amenity", "geometry"]


def test_shenzhen_buildings_match_independent_xml_count():
    # PROVENANCE calls this extract "highways only", but it does carry ~430 building outlines
    path = shared_data("osm/shenzhen_nanshan.osm")
    expected = _xml_building_counts(path)
    b = read_buildings(path)
    assert len(b) == expected["area"]
    assert (b["building"] == "residential").sum() == expected["residential"]


def test_highways_only_file_has_no_buildings(tmp_path):
    path = tmp_path / "roads.osm"
    path.write_text(HIGHWAYS_ONLY_OSM, encoding="utf-8")
    b = read_buildings(path)
    assert len(b) == 0
    assert list(b.columns) == ["osm_type", "osm_id", "building", "levels", "name", "geometry"]
    assert b.crs.to_epsg() == 4326
    feats = read_osm_features(path)
    assert len(feats) == 0


@pytest.mark.parametrize("suffix", [".osm", ".osm.gz", ".osm.bz2"])
def test_tiny_file_geometries_all_formats(tmp_path, suffix):
    data = TINY_OSM.encode("utf-8")
    path = tmp_path / f"tiny{suffix}"
    if suffix == ".osm.gz":
        data = gzip.compress(data)
    elif suffix == ".osm.bz2":
        data = bz2.compress(data)
    path.write_bytes(data)

    feats = read_osm_features(path).set_index(["osm_type", "osm_id"])
    # the open footway is not an area, so its name does not make it a row
    assert set(feats.index) == {("way", 100), ("node", 5), ("relation", 200)}
    house = feats.loc[("way", 100)]
    assert house["kind"] == "building" and house["building:levels"] == "2"
    assert house.geometry.geom_type == "Polygon"
    cafe = feats.loc[("node", 5)]
    assert cafe["kind"] == "poi" and cafe["name"] == "咖啡" and cafe["building"] is None
    assert cafe.geometry.equals(shapely.Point(116.002, 40.002))
    school = feats.loc[("relation", 200)]
    assert school["amenity"] == "school"
    assert len(school.geometry.interiors) == 1  # the courtyard is a hole
    assert school.geometry.area == pytest.approx(0.003**2 - 0.001**2)

    b = read_buildings(path).set_index("osm_id")
    assert b.loc[100, "levels"] == 2 and b.loc[100, "building"] == "house"
    assert np.isnan(b.loc[200, "levels"])


def test_pbf_is_read():
    feats = read_osm_features(shared_data("osm/helsinki_centre.osm.pbf"), tag_keys=("building", "amenity"))
    assert (feats["kind"] == "building").sum() > 400
    assert (feats["osm_type"] == "relation").sum() > 0
    assert (feats["amenity"] == "restaurant").sum() > 100


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(NetworkError, match=r"missing\.osm: file not found"):
        read_osm_features(tmp_path / "missing.osm")
    garbage = tmp_path / "garbage.osm"
    garbage.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(NetworkError, match=r"garbage\.osm: not a readable OSM file.*export it again"):
        read_buildings(garbage)
    bad_pbf = tmp_path / "bad.osm.pbf"
    bad_pbf.write_bytes(b"\x00\x01not a pbf at all" * 10)
    with pytest.raises(NetworkError, match="not a readable OSM file"):
        read_osm_features(bad_pbf)
    csv = tmp_path / "buildings.csv"
    csv.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(NetworkError, match="unknown OSM file type"):
        read_buildings(csv)
    good = tmp_path / "tiny.osm"
    good.write_text(TINY_OSM, encoding="utf-8")
    with pytest.raises(NetworkError, match="kinds"):
        read_osm_features(good, kinds=("shops",))
    with pytest.raises(NetworkError, match="tag_keys"):
        read_osm_features(good, tag_keys="amenity")
    with pytest.raises(NetworkError, match="tag_keys"):
        read_osm_features(good, tag_keys=())


@pytest.mark.parametrize("suffix, compress", [(".osm", bytes), (".osm.gz", gzip.compress), (".osm.bz2", bz2.compress)])
def test_xml_with_entities_is_refused_before_parsing(suffix, compress, tmp_path):
    # "billion laughs" (small): the café's name would expand to 1,000 copies of "lol"
    text = TINY_OSM.replace("<osm ", NESTED_ENTITIES + "<osm ", 1).replace('v="咖啡"', 'v="&lol3;"')
    p = tmp_path / f"laughs{suffix}"
    p.write_bytes(compress(text.encode("utf-8")))
    for reader in (read_osm_features, read_buildings):
        with pytest.raises(NetworkError, match=r"laughs\.osm.*: the XML declares entities in a <!DOCTYPE>") as info:
            reader(p)
        assert "\n" not in str(info.value)


def test_parse_levels():
    got = parse_levels(["6", " 2.5 ", "3;5", None, "abc", "0", "5-6", 4, float("nan"), "-1"])
    expected = [6, 2.5, 5, np.nan, np.nan, np.nan, np.nan, 4, np.nan, np.nan]
    np.testing.assert_array_equal(got, expected)

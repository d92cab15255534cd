"""circles.demand: reading population tables, spreading zone totals, estimating from buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pytest
import shapely
from conftest import shared_data
from hypothesis import given, settings
from hypothesis import strategies as st

from circles.demand import (
    CENSUS_2020_AGE_SHARES,
    DEFAULT_LEVELS,
    Demand,
    apportion,
    demand_from_frame,
    estimate_from_buildings,
    read_population,
    spread_zone_totals,
)
from circles.errors import CirclesError
from network.features import read_buildings

CANONICAL = ["demand_id", "name", "lon", "lat", "population", "pop_60plus", "pop_0_17"]
UTM50 = "EPSG:32650"  # metres around Beijing
WUDAOKOU_BOX = shapely.box(116.308, 39.991, 116.332, 40.012)  # the extract's data area

CSV_TEXT = (
    "编号,小区名称,经度,纬度,常住人口（人）,60岁以上,所属街道\n"
    "X1,蓝旗营小区,116.3235,40.0008,\"3,200\",610,清华园街道\n"
    "X2,华清嘉园,116.3315,39.9935,5400,,学院路街道\n"
    "X3,五道口宿舍,116.3290,39.9962,800,95,学院路街道\n"
)


def _square(x0: float, y0: float, w: float, h: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + w, y0 + h)


# ---------------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_read_csv_with_chinese_headers(tmp_path, encoding):
    path = tmp_path / "xiaoqu.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    demand = read_population(path)
    u = demand.units
    assert isinstance(demand, Demand) and demand.source == "xiaoqu.csv"
    assert list(u.columns) == [*CANONICAL, "district", "estimated_pop_60plus", "estimated_pop_0_17", "geometry"]
    assert u["demand_id"].tolist() == ["X1", "X2", "X3"]
    assert u["name"].tolist() == ["蓝旗营小区", "华清嘉园", "五道口宿舍"]
    assert u["district"].tolist() == ["清华园街道", "学院路街道", "学院路街道"]
    assert u["population"].tolist() == [3200, 5400, 800]
    assert u["population"].dtype == np.int64
    # 60+ given except one blank cell: estimated with the census share and noted
    assert u["pop_60plus"].tolist() == [610, round(5400 * 0.187), 95]
    # no 0-17 column: all estimated
    assert u["pop_0_17"].tolist() == [round(3200 * 0.211), round(5400 * 0.211), round(800 * 0.211)]
    notes = " ".join(demand.notes)
    assert "pop_60plus estimated for 1 of 3 units" in notes
    assert "pop_0_17 estimated for all 3 units as 21.10%" in notes and "census" in notes
    assert u.crs.to_epsg() == 4326
    assert u.geometry.x.tolist() == u["lon"].tolist()
    assert u.index.tolist() == [2, 3, 4]  # spreadsheet rows (header = row 1)


def test_read_xlsx_and_caller_age_shares(tmp_path):
    path = tmp_path / "ledger.xlsx"
    pd.DataFrame({
        "Name": ["A", "B"], "LNG": [116.31, 116.32], "Lat": [39.99, 40.0], "总人口": [1000, 2000],
    }).to_excel(path, index=False)
    demand = read_population(path, age_shares={"pop_60plus": 0.25})
    u = demand.units
    assert u["pop_60plus"].tolist() == [250, 500]
    assert u["pop_0_17"].tolist() == [211, 422]  # census default for the key not given
    assert any("25.00%" in n and "given by the caller" in n for n in demand.notes)
    assert "district" not in u.columns


def test_polygons_become_representative_points(tmp_path):
    # an L-shaped 小区 whose centroid lies outside it, in a projected CRS
    l_shape = shapely.Polygon([(0, 0), (300, 0), (300, 50), (50, 50), (50, 300), (0, 300)])
    xy = gpd.GeoDataFrame(
        {"小区名称": ["L", "square"], "人口": [1200, 300]},
        geometry=[shapely.affinity.translate(l_shape, 441000, 4427000), _square(441500, 4427500, 100, 100)],
        crs=UTM50,
    )
    path = tmp_path / "xiaoqu.geojson"
    xy.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    demand = read_population(path)
    u = demand.units
    assert u.geom_type.eq("Point").all() and u.crs.to_epsg() == 4326
    polys = xy.to_crs("EPSG:4326").geometry.to_numpy()
    assert shapely.contains(polys, u.geometry.to_numpy()).all()
    assert u["population"].tolist() == [1200, 300]
    assert u["demand_id"].tolist() == ["1", "2"]
    # in memory, in the projected CRS, gives the same points
    again = demand_from_frame(xy, source_name="mem")
    np.testing.assert_allclose(again.units["lon"], u["lon"], atol=1e-7)


def test_gates_split_the_unit_evenly():
    frame = pd.DataFrame({
        "id": ["A", "A", "A", "B"],
        "lon": [116.30, 116.301, 116.302, 116.31],
        "lat": [40.0, 40.0, 40.0, 40.01],
        "population": [1000, 1000, 1000, 90],
        "pop_60plus": [200, 200, 200, 9],
    })
    u = demand_from_frame(frame, source_name="gates").units
    assert u["demand_id"].tolist() == ["A/1", "A/2", "A/3", "B"]
    assert u["unit_id"].tolist() == ["A", "A", "A", None]
    assert u["population"].tolist() == [334, 333, 333, 90]
    assert u["pop_60plus"].tolist() == [67, 67, 66, 9]
    assert u["population"].sum() == 1090


def test_bad_values_are_gathered_into_one_error():
    frame = pd.DataFrame({
        "名称": ["a", "b", "c", "d", "e"],
        "经度": [116.3, 116.3, 40.0, 116.3, 116.3],
        "纬度": [40.0, 40.0, 116.3, 40.0, 40.0],
        "常住人口": [100, -5, 100, "很多", 50],
        "老年人口": [10, 1, 10, 1, 60],
    })
    with pytest.raises(CirclesError) as info:
        demand_from_frame(frame, source_name="pop.csv")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("pop.csv: 4 bad values")
    assert "index 1 column '常住人口': -5 is negative" in msg
    assert "index 3 column '常住人口': '很多' is not a number" in msg
    assert "index 2: lon 40, lat 116.3 are out of range; are the lon/lat columns swapped?" in msg
    assert "index 4 column '老年人口': 60 is more than the population 50" in msg


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"lon": [116.3], "lat": [40.0], "people": [5]}), "no population column"),
        (pd.DataFrame({"pop": [5], "population": [5], "lon": [1], "lat": [1]}), "both look like the population"),
        (pd.DataFrame({"population": [5]}), "no coordinates"),
        (pd.DataFrame({"population": [], "lon": [], "lat": []}), "has no rows"),
        (pd.DataFrame({"population": [None], "lon": [116.3], "lat": [40.0]}), "value is blank"),
        (pd.DataFrame({"population": [10], "60+": [6], "儿童": [6], "lon": [116.3], "lat": [40.0]}), "add up to more"),
        (gpd.GeoDataFrame({"population": [5]}, geometry=[shapely.Point(1, 1)]), "has no CRS"),
    ],
)
def test_bad_frames(frame, match):
    with pytest.raises(CirclesError, match=match):
        demand_from_frame(frame, source_name="t")


def test_bad_files_and_shares(tmp_path):
    with pytest.raises(CirclesError, match="file not found"):
        read_population(tmp_path / "nope.csv")
    (tmp_path / "a.txt.xls").write_bytes(b"x")
    with pytest.raises(CirclesError, match="save it as .xlsx"):
        read_population(tmp_path / "a.txt.xls")
    (tmp_path / "a.parquet").write_bytes(b"x")
    with pytest.raises(CirclesError, match="unknown file type"):
        read_population(tmp_path / "a.parquet")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(CirclesError, match="empty"):
        read_population(tmp_path / "empty.csv")
    (tmp_path / "broken.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(CirclesError, match="not a readable vector file"):
        read_population(tmp_path / "broken.geojson")
    frame = pd.DataFrame({"population": [5], "lon": [116.3], "lat": [40.0]})
    with pytest.raises(CirclesError, match="unknown key 'pop_65plus'"):
        demand_from_frame(frame, source_name="t", age_shares={"pop_65plus": 0.1})
    with pytest.raises(CirclesError, match=r"not a share in \[0, 1\]"):
        demand_from_frame(frame, source_name="t", age_shares={"pop_60plus": 18.7})
    with pytest.raises(CirclesError, match="more than 1"):
        demand_from_frame(frame, source_name="t", age_shares={"pop_60plus": 0.6, "pop_0_17": 0.5})


def test_tables_read_like_the_ledger_title_rows_delimiters_full_width_digits(tmp_path):
    from openpyxl import Workbook

    text = "海淀区小区人口（2024）\n小区名称;经度;纬度;常住人口\nA;116.31;39.99;１２００\nB;116.32;40.0;\"2,500\"\n"
    path = tmp_path / "pop.txt"
    path.write_bytes(text.encode("gbk"))
    demand = read_population(path)
    assert demand.units["population"].tolist() == [1200, 2500]
    assert demand.units.index.tolist() == [3, 4]  # spreadsheet rows under the title row
    wb = Workbook()
    ws = wb.active
    ws.append(["某街道人口台账"])
    ws.append(["小区名称", "经度", "纬度", "常住人口"])
    ws.append(["A", 116.31, 39.99, "很多"])
    wb.save(tmp_path / "pop.xlsx")
    with pytest.raises(CirclesError, match=r"pop\.xlsx: 1 bad value: row 3 column '常住人口': '很多' is not a number"):
        read_population(tmp_path / "pop.xlsx")


def test_total_and_example_rows_are_not_residents_but_recorded(tmp_path):
    path = tmp_path / "pop.csv"
    path.write_text(
        "小区名称,经度,纬度,常住人口\n"
        "示例：某小区,116.30,39.99,100\n"
        "A,116.31,39.99,1200\n"
        ",,,\n"
        "B,116.32,40.0,800\n"
        "合计,,,2000\n",
        encoding="utf-8",
    )
    demand = read_population(path)
    assert demand.units["name"].tolist() == ["A", "B"] and demand.total_population == 2000
    assert demand.units.index.tolist() == [3, 5]
    assert [(d.row, d.name, d.reason, d.reason_zh) for d in demand.dropped] == [
        (2, "示例：某小区", "example_row", "模板示例行"), (6, "合计", "total_row", "合计行")]
    from circles.inputs import format_dropped

    assert format_dropped(demand.dropped, lang="en") == "2 rows not used: row 2 template example row; row 6 total row"
    only_total = pd.DataFrame({"名称": ["合计"], "人口": [5], "lon": [116.3], "lat": [40.0]})
    with pytest.raises(CirclesError, match="no data rows"):
        demand_from_frame(only_total, source_name="t")


# ---------------------------------------------------------------------------------------------
# apportionment
# ---------------------------------------------------------------------------------------------


def test_apportion_by_hand():
    assert apportion(40, [100.0, 300.0]).tolist() == [10, 30]
    assert apportion(10, [1, 1, 1]).tolist() == [4, 3, 3]
    assert apportion(0, [1.0, 2.0]).tolist() == [0, 0]
    assert apportion(7, [0.0, 1.0, 0.0]).tolist() == [0, 7, 0]
    with pytest.raises(CirclesError):
        apportion(5, [])
    with pytest.raises(CirclesError):
        apportion(5, [0.0, 0.0])


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(0, 10_000_000),
    weights=st.lists(st.floats(0.0, 1e7, allow_nan=False, allow_infinity=False), min_size=1, max_size=40),
)
def test_apportion_sums_exactly_and_stays_within_one_of_the_quota(total, weights):
    w = np.array(weights)
    if w.sum() <= 0:
        w[0] = 1.0
    parts = apportion(total, w)
    assert parts.sum() == total
    assert (parts >= 0).all()
    assert (parts[w == 0] == 0).all()
    quota = total * w / w.sum()
    assert np.all(np.abs(parts - quota) < 1 + 1e-6)


# ---------------------------------------------------------------------------------------------
# spreading zone totals
# ---------------------------------------------------------------------------------------------


def _zone(total: int, polygon=None, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Z"], "population": [total], **{k: [v] for k, v in cols.items()}},
        geometry=[polygon if polygon is not None else _square(440000, 4427000, 1000, 1000)],
        crs=UTM50,
    )


def test_spread_by_hand_two_buildings():
    zones = _zone(40)
    buildings = gpd.GeoDataFrame(
        {"building": ["residential", "residential"], "levels": [1.0, 1.0]},
        geometry=[_square(440100, 4427100, 10, 10), _square(440300, 4427300, 10, 30)],  # 100 m², 300 m²
        crs=UTM50,
    )
    demand = spread_zone_totals(zones, population_col="population", buildings=buildings, zone_id_col="name")
    u = demand.units
    assert u["population"].tolist() == [10, 30]
    assert u["floor_area_m2"].tolist() == pytest.approx([100.0, 300.0])
    assert u["basis"].tolist() == ["building", "building"]
    assert u["district"].tolist() == ["Z", "Z"]
    assert u["demand_id"].tolist() == ["Z/b0", "Z/b1"]
    # 40 × 18.7 % = 7.48 → 7 people aged 60+, 40 × 21.1 % = 8.44 → 8 aged 0-17
    assert u["pop_60plus"].sum() == 7 and u["pop_0_17"].sum() == 8
    assert (u["pop_60plus"] + u["pop_0_17"] <= u["population"]).all()
    assert list(u.columns[:8]) == [*CANONICAL, "district"]


def test_default_levels_and_building_types():
    # 100 m² residential without levels → 6 storeys = 600 m²; 100 m² house → 2 storeys = 200 m²;
    # a school and a building=yes get nobody while residential buildings exist
    zones = _zone(800)
    buildings = gpd.GeoDataFrame(
        {"building": ["residential", "house", "school", "yes"], "levels": [np.nan, np.nan, 3.0, 4.0]},
        geometry=[_square(440000 + 200 * i, 4427100, 10, 10) for i in range(4)],
        crs=UTM50,
    )
    u = spread_zone_totals(zones, population_col="population", buildings=buildings).units
    assert u["population"].tolist() == [600, 200]
    assert DEFAULT_LEVELS["residential"] == 6 and DEFAULT_LEVELS["house"] == 2
    # a caller's table (a county town with 3-storey walk-ups)
    u3 = spread_zone_totals(
        zones, population_col="population", buildings=buildings, default_levels={"residential": 3}
    ).units
    assert u3["population"].tolist() == [480, 320]


def test_unknown_buildings_only_when_no_residential_ones():
    zones = _zone(90)
    buildings = gpd.GeoDataFrame(
        {"building": ["yes", "yes", "commercial"], "levels": [np.nan, 2.0, np.nan]},
        geometry=[_square(440100, 4427100, 10, 10), _square(440300, 4427300, 10, 10), _square(440500, 4427500, 10, 10)],
        crs=UTM50,
    )
    demand = spread_zone_totals(zones, population_col="population", buildings=buildings)
    assert demand.units["population"].tolist() == [68, 22]  # weights 600 : 200 → 67.5 : 22.5, tie to the first
    assert any("used 2 buildings tagged building=yes" in n for n in demand.notes)


def test_roads_where_a_zone_has_no_buildings():
    zones = gpd.GeoDataFrame(
        {"zone": ["A", "B", "C"], "population": [40, 1001, 7]},
        geometry=[
            _square(440000, 4427000, 1000, 1000),
            _square(441000, 4427000, 1000, 1000),
            _square(443000, 4427000, 1000, 1000),  # no data at all
        ],
        crs=UTM50,
    )
    buildings = gpd.GeoDataFrame(
        {"building": ["apartments"]}, geometry=[_square(441100, 4427100, 20, 20)], crs=UTM50
    )
    roads = gpd.GeoDataFrame(
        geometry=[
            shapely.LineString([(440100, 4427500), (440200, 4427500)]),   # 100 m in A
            shapely.LineString([(440200, 4427500), (440100, 4427500)]),   # the same street, other direction
            shapely.LineString([(440500, 4427600), (440500, 4427900)]),   # 300 m in A
            shapely.LineString([(440900, 4427200), (441300, 4427200)]),   # 100 m in A, 300 m in B
        ],
        crs=UTM50,
    ).to_crs("EPSG:4326")  # any CRS
    demand = spread_zone_totals(
        zones, population_col="population", buildings=buildings, roads=roads, zone_id_col="zone"
    )
    u = demand.units
    a = u[u["district"] == "A"]
    assert a["basis"].eq("road").all()
    assert a["road_length_m"].tolist() == pytest.approx([100, 300, 100], abs=0.01)
    assert a["population"].tolist() == [8, 24, 8]
    b = u[u["district"] == "B"]
    assert b["basis"].tolist() == ["building"] and b["population"].tolist() == [1001]
    assert u.groupby("district")["population"].sum().to_dict() == {"A": 40, "B": 1001}
    # road units sit at the middle of the clipped piece
    mid = a.to_crs(UTM50).geometry.iloc[0]
    assert (mid.x, mid.y) == pytest.approx((440150, 4427500), abs=0.01)
    notes = " ".join(demand.notes)
    assert "'C' (7 people)" in notes and "could not be placed" in notes
    assert "spread along 0.5 km of road" in notes


def test_study_area_assigns_the_whole_total_to_the_covered_part():
    zones = _zone(1000)
    buildings = gpd.GeoDataFrame(
        {"building": ["residential", "residential"], "levels": [1.0, 1.0]},
        geometry=[_square(440100, 4427100, 10, 10), _square(440800, 4427800, 10, 10)],
        crs=UTM50,
    )
    half = gpd.GeoSeries([_square(440000, 4427000, 500, 1000)], crs=UTM50)
    demand = spread_zone_totals(zones, population_col="population", buildings=buildings, study_area=half)
    assert demand.units["population"].tolist() == [1000]
    assert any("assigned to the 50.0% of its area inside the study area" in n for n in demand.notes)
    shared = spread_zone_totals(
        zones, population_col="population", buildings=buildings, study_area=half, partial_zones="area_share"
    )
    assert shared.units["population"].tolist() == [500]
    assert shared.units["pop_60plus"].sum() == round(500 * 0.187)
    assert any("it got that share of its total: 500 of 1,000" in n for n in shared.notes)
    with pytest.raises(CirclesError, match="partial_zones"):
        spread_zone_totals(zones, population_col="population", partial_zones="some")
    far = gpd.GeoSeries([_square(500000, 4427000, 100, 100)], crs=UTM50)
    empty = spread_zone_totals(zones, population_col="population", buildings=buildings, study_area=far)
    assert len(empty.units) == 0 and list(empty.units.columns)[:7] == CANONICAL
    assert any("outside the study area" in n for n in empty.notes)


def test_zone_age_columns_are_apportioned_exactly():
    zones = _zone(1000, 老年人口=300)
    buildings = gpd.GeoDataFrame(
        {"building": ["residential"] * 3, "levels": [1.0, 2.0, 4.0]},
        geometry=[_square(440100 + 100 * i, 4427100, 10, 10) for i in range(3)],
        crs=UTM50,
    )
    demand = spread_zone_totals(zones, population_col="population", buildings=buildings)
    u = demand.units
    assert u["population"].tolist() == [143, 286, 571]
    assert u["pop_60plus"].sum() == 300 and u["pop_0_17"].sum() == 211
    assert (u["pop_60plus"] + u["pop_0_17"] <= u["population"]).all()
    assert any("taken from the zones' column '老年人口'" in n for n in demand.notes)


def test_roads_may_be_a_network_object():
    class FakeNetwork:  # the two things spread_zone_totals reads from a CompactNetwork
        crs = UTM50

        def edge_lines(self):
            return np.array([shapely.LineString([(440100, 4427500), (440500, 4427500)])])

    u = spread_zone_totals(_zone(12), population_col="population", roads=FakeNetwork()).units
    assert u["population"].tolist() == [12] and u["road_length_m"].tolist() == pytest.approx([400])


def test_spread_bad_inputs():
    zones = _zone(40)
    with pytest.raises(CirclesError, match="no column 'pop'"):
        spread_zone_totals(zones, population_col="pop")
    with pytest.raises(CirclesError, match="is negative"):
        spread_zone_totals(_zone(-4), population_col="population")
    with pytest.raises(CirclesError, match="zones: has no CRS"):
        spread_zone_totals(zones.set_crs(None, allow_override=True), population_col="population")
    twice = pd.concat([zones, zones])
    with pytest.raises(CirclesError, match=r"repeat \('Z'\).*\['county', 'street'\]"):
        spread_zone_totals(twice, population_col="population", zone_id_col="name")
    with pytest.raises(CirclesError, match="no 'building' column"):
        spread_zone_totals(zones, population_col="population", buildings=zones)
    with pytest.raises(CirclesError, match="not lon/lat degrees"):
        spread_zone_totals(zones, population_col="population", study_area=_square(440000, 4427000, 10, 10))


# ---------------------------------------------------------------------------------------------
# the real case: Beijing street totals on the Wudaokou extract
# ---------------------------------------------------------------------------------------------


def _highway_lines(path) -> gpd.GeoDataFrame:
    """Every highway way of an OSM file as a LineString (a stand-in for the network's edges)."""
    wkb = osmium.geom.WKBFactory()
    lines = [
        shapely.from_wkb(wkb.create_linestring(w))
        for w in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
        if len(w.nodes) >= 2
    ]
    return gpd.GeoDataFrame(geometry=lines, crs="EPSG:4326")


@pytest.mark.parametrize("road_source", ["osm_lines", "walk_network"])
def test_beijing_streets_spread_onto_wudaokou_sum_exactly(road_source):
    osm = shared_data("osm/beijing_haidian_wudaokou.osm")
    streets = gpd.read_file(shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg"))
    buildings = read_buildings(osm)
    if road_source == "osm_lines":
        roads = _highway_lines(osm)  # every highway way, independent of the network builder
    else:
        from network.load import load_network

        roads = load_network(osm, mode="walk")  # a CompactNetwork: its edge lines are used
    demand = spread_zone_totals(
        streets, population_col="population", buildings=buildings, roads=roads,
        zone_id_col=["county", "street"], study_area=WUDAOKOU_BOX,
    )
    u = demand.units
    hit = streets[streets.intersects(WUDAOKOU_BOX)]
    expected = dict(zip(hit["county"] + "/" + hit["street"], hit["population"]))
    assert len(expected) == 6
    got = u.groupby("district")["population"].sum().to_dict()
    assert got == expected  # every street's total, exactly, as integers
    assert u["population"].dtype == np.int64
    ages = u.groupby("district")[["pop_60plus", "pop_0_17"]].sum()
    for zid, total in expected.items():
        assert ages.loc[zid, "pop_60plus"] == round(total * CENSUS_2020_AGE_SHARES["pop_60plus"])
        assert ages.loc[zid, "pop_0_17"] == round(total * CENSUS_2020_AGE_SHARES["pop_0_17"])
    assert (u["pop_60plus"] + u["pop_0_17"] <= u["population"]).all()
    # 中关村街道 has only 1.3 % of its area in the box and no building there: road length
    zgc = u[u["district"] == "海淀区/中关村街道"]
    assert len(zgc) > 0 and zgc["basis"].eq("road").all()
    # 清华园街道 holds the residential compounds of the extract
    qhy = u[u["district"] == "海淀区/清华园街道"]
    assert qhy["basis"].eq("building").all() and len(qhy) > 100
    # every unit lies inside the data area and inside its street
    assert shapely.contains(WUDAOKOU_BOX.buffer(1e-9), u.geometry.to_numpy()).all()
    assert u["demand_id"].is_unique
    notes = " ".join(demand.notes)
    assert "325 of 331 zones lie outside the study area" in notes
    assert "'海淀区/清华园街道': its total 44,166 was assigned to the 97.1%" in notes


def test_estimate_from_buildings_by_hand_and_on_wudaokou():
    buildings = gpd.GeoDataFrame(
        {"building": ["residential", "dormitory", "school"], "levels": [5.0, np.nan, 4.0]},
        geometry=[_square(440000, 4427000, 10, 35), _square(440100, 4427000, 10, 10), _square(440200, 4427000, 50, 50)],
        crs=UTM50,
    )
    # 350 m² × 5 = 1,750 m² → 50 people; 100 m² × 6 (dormitory default) = 600 m² → 17.1 people
    demand = estimate_from_buildings(buildings)
    assert demand.units["population"].tolist() == [50, 17]
    assert demand.units["floor_area_m2"].tolist() == pytest.approx([1750, 600])
    assert "÷ 35 m² per person" in demand.notes[0]
    assert estimate_from_buildings(buildings, m2_per_person=50.0).units["population"].tolist() == [35, 12]
    with pytest.raises(CirclesError, match="m2_per_person"):
        estimate_from_buildings(buildings, m2_per_person=0)

    real = estimate_from_buildings(read_buildings(shared_data("osm/beijing_haidian_wudaokou.osm")))
    assert len(real) == 117 + 6 + 24  # residential, apartments, dormitory
    assert real.total_population == real.units["population"].sum() > 10_000


# ---------------------------------------------------------------------------------------------
# need groups, households, community and new/existing areas
# ---------------------------------------------------------------------------------------------
GROUP_TABLE = pd.DataFrame({
    "小区名称": ["蓝旗营", "华清嘉园", "五道口宿舍"], "经度": [116.32, 116.33, 116.34], "纬度": [40.0, 40.0, 40.0],
    "常住人口": [3200, 5400, 800], "60岁以上": [610, 900, 95], "0-17岁": [400, 1000, 60],
    "80岁及以上": [120, "", 20], "残疾人数": [40, 70, 9], "特困/低保": [15, 30, 2], "0-3岁婴幼儿": [60, 150, 5],
    "户数": ["1,220", 2050, ""], "所属社区": ["蓝旗营社区", "华清嘉园社区", "蓝旗营社区"], "新建/既有": ["老旧", "新建", ""],
})


def test_group_household_community_and_area_columns_are_read():
    u = demand_from_frame(GROUP_TABLE, source_name="人口.csv").units
    assert u["pop_80plus"].tolist()[0] == 120 and np.isnan(u["pop_80plus"].iloc[1])  # blank: estimated later
    assert u["pop_disabled"].tolist() == [40, 70, 9] and u["pop_assistance"].tolist() == [15, 30, 2]
    assert u["pop_0_3"].tolist() == [60, 150, 5]
    assert u["households"].tolist()[:2] == [1220, 2050] and np.isnan(u["households"].iloc[2])
    assert u["community"].tolist() == ["蓝旗营社区", "华清嘉园社区", "蓝旗营社区"]
    assert u["area_type"].tolist()[:2] == ["existing", "new"] and pd.isna(u["area_type"].iloc[2])
    english = GROUP_TABLE.rename(columns={"80岁及以上": "pop_80plus", "残疾人数": "disabled", "户数": "households",
                                          "所属社区": "community", "新建/既有": "area_type"})
    english["area_type"] = ["existing", "new", ""]
    assert demand_from_frame(english, source_name="pop.csv").units["area_type"].tolist()[:2] == ["existing", "new"]


def test_bad_group_values_are_one_error_naming_every_row():
    bad = GROUP_TABLE.copy()
    bad["80岁及以上"] = [700, "", 20]  # more than the 610 people aged 60+
    bad["户数"] = ["1,220", "很多", -3]
    bad["0-3岁婴幼儿"] = [60, 2000, 5]  # more than the 1,000 aged 0-17
    bad["新建/既有"] = ["老旧", "半新", ""]
    with pytest.raises(CirclesError) as info:
        demand_from_frame(bad.set_axis(pd.RangeIndex(2, 5, name="row")), source_name="人口.csv")
    message = str(info.value)
    assert message.startswith("人口.csv: 5 bad values")
    for part in ("row 2 column '80岁及以上': 700 is more than the 60岁以上 610", "row 3 column '户数': '很多'",
                 "row 4 column '户数': -3 is negative", "row 3 column '0-3岁婴幼儿': 2000 is more than the 0-17岁 1000",
                 "row 3 column '新建/既有': '半新' is neither a new nor an existing area"):
        assert part in message, part


def test_readers_flag_estimated_age_groups():
    d = demand_from_frame(GROUP_TABLE.drop(columns=["0-17岁"]), source_name="t")
    assert d.units["estimated_pop_0_17"].all() and "estimated_pop_60plus" not in d.units


def test_complete_groups_estimates_with_the_profiles_shares():
    from circles.demand.groups import complete_groups, estimated_share
    from circles.profiles import load_profile

    units = demand_from_frame(GROUP_TABLE, source_name="t").units
    done, counts = complete_groups(units, load_profile("15min"), ["pop_80plus", "pop_disabled"])
    assert counts == {"pop_80plus": 1}  # the blank cell only; disabled is given for every unit
    assert done["pop_80plus"].tolist() == [120, round(5400 * 0.0254), 20]
    assert done["estimated_pop_80plus"].tolist() == [False, True, False]
    assert estimated_share(done, "pop_80plus") == pytest.approx(137 / (120 + 137 + 20))
    assert estimated_share(done, "pop_disabled") == 0.0
    few = pd.DataFrame({"population": [100], "pop_60plus": [1], "pop_0_17": [0]})
    capped, _ = complete_groups(few, load_profile("15min"), ["pop_80plus", "pop_0_3"])
    assert capped["pop_80plus"].tolist() == [1] and capped["pop_0_3"].tolist() == [0]  # never above 60+ / 0-17
    with pytest.raises(CirclesError, match="gives no share"):
        complete_groups(few.drop(columns="pop_60plus"), load_profile("15min"), ["pop_60plus"])


def test_households_on_real_streets_spread_with_groups():
    """Real Beijing streets: units placed from street totals carry the groups the profile counts once assessed."""
    from circles.demand.groups import complete_groups
    from circles.profiles import load_profile

    streets = gpd.read_file(shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg"))
    hd = streets[streets["county"] == "海淀区"].head(5)
    units = hd.assign(geometry=hd.geometry.representative_point(), 户数=(hd["population"] / 2.62).round())
    d = demand_from_frame(units[["street", "population", "户数", "geometry"]], source_name="streets").units
    assert d["households"].sum() == pytest.approx((hd["population"] / 2.62).round().sum())
    done, _ = complete_groups(d, load_profile("15min"), ["pop_80plus", "pop_disabled", "pop_assistance"])
    assert (done["pop_disabled"] == np.rint(d["population"] * 0.0634)).all()
    assert done[["estimated_pop_80plus", "estimated_pop_60plus"]].all().all()

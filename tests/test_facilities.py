"""Tests of circles.facilities: reading ledgers in every encoding and format, and checking them."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import prcoords
import pytest
import shapely
from shapely.geometry import Point, box

from circles import CirclesError
from circles.errors import InputError
from circles.facilities import (
    FACILITY_COLUMNS,
    Ledger,
    LedgerError,
    facilities_from_osm,
    format_report,
    ledger_from_frame,
    ledger_table_from_bytes,
    read_ledger,
    read_ledger_table,
    report_counts,
)
from circles.profiles import load_profile
from network import load_network
from network.raw import RawWays

from conftest import ROOT, shared_data

TEMPLATES = ROOT / "circles" / "data" / "templates"

# WGS84 truth: Beijing Wudaokou, Shenzhen Nanshan, a village road near Guixi (Jiangxi).
TRUTH = pd.DataFrame({
    "名称": ["五道口社区养老服务站", "南山区幸福食堂", "塘湾村儿童之家"],
    "类型": ["日间照料中心", "老年助餐点", "儿童之家"],
    "lon": [116.3376, 113.9430, 117.1562],
    "lat": [39.9925, 22.5400, 28.2105],
})


@pytest.fixture(scope="module")
def profile():
    return load_profile("15min")


def distance_m(lon1, lat1, lon2, lat2):
    """Haversine distance (metres)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    hav = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(hav))


def ledger_frame(extra_rows: list[dict] | None = None) -> pd.DataFrame:
    """A ledger with Chinese headers: the three TRUTH facilities plus optional rows."""
    df = pd.DataFrame({
        "名称": TRUTH["名称"], "类型": TRUTH["类型"], "经度": TRUTH["lon"], "纬度": TRUTH["lat"],
        "床位": ["30张", "", ""], "所属街道": ["学院路街道", "粤海街道", "塘湾镇"],
    })
    if extra_rows:
        df = pd.concat([df, pd.DataFrame(extra_rows)], ignore_index=True)
    return df


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


# ---------------------------------------------------------------- encodings and formats
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_chinese_encoding(tmp_path, profile, encoding):
    df = ledger_frame()
    if encoding == "gb18030":  # a character GBK lacks (CJK extension A)
        df.loc[2, "名称"] = "塘湾村䶮儿童之家"
    path = tmp_path / f"设施_{encoding}.csv"
    df.to_csv(path, index=False, encoding=encoding)
    ledger = read_ledger(path, profile=profile)
    fac = ledger.facilities
    assert list(fac["name"]) == list(df["名称"])
    assert list(fac["category"]) == ["elderly", "meal", "child"]
    assert list(fac["tier"]) == ["station", "point", "home"]
    assert fac["capacity"].iloc[0] == 30 and np.isnan(fac["capacity"].iloc[1])
    assert list(fac["source_row"]) == [2, 3, 4]
    assert ledger.report.problems == ()


def test_utf16_tab_separated_unicode_text_from_excel(tmp_path, profile):
    path = tmp_path / "台账.txt"
    ledger_frame().to_csv(path, index=False, sep="\t", encoding="utf-16")  # BOM + tabs
    assert list(read_ledger(path, profile=profile).facilities["category"]) == ["elderly", "meal", "child"]


def test_facility_frame_has_the_canonical_columns(tmp_path, profile):
    path = tmp_path / "f.csv"
    ledger_frame().to_csv(path, index=False)
    ledger = read_ledger(path, profile=profile)
    assert isinstance(ledger, Ledger)
    fac = ledger.facilities
    assert isinstance(fac, gpd.GeoDataFrame)
    assert list(fac.columns) == [*FACILITY_COLUMNS, "geometry"]
    assert fac.crs.equals("EPSG:4326")
    assert list(fac.index) == [0, 1, 2]
    assert fac["district"].iloc[0] == "学院路街道" and fac["address"].isna().all()
    np.testing.assert_allclose(fac.geometry.x, fac["lon"])
    assert ledger.source == "f.csv" and ledger.coords == "wgs84"


def _vector_frame(crs="EPSG:4326") -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {"名称": TRUTH["名称"], "类型": TRUTH["类型"], "床位": [30, 0, 0]},
        geometry=gpd.points_from_xy(TRUTH["lon"], TRUTH["lat"]), crs="EPSG:4326",
    )
    return gdf.to_crs(crs)


@pytest.mark.parametrize("fmt", ["xlsx", "geojson", "gpkg", "shp"])
def test_every_format(tmp_path, profile, fmt):
    if fmt == "xlsx":
        path = tmp_path / "设施.xlsx"
        ledger_frame().to_excel(path, index=False, sheet_name="台账")
        first_row = 2
    elif fmt == "geojson":
        path = tmp_path / "设施.geojson"
        gdf = _vector_frame()
        # one facility drawn as its building: the representative point is used
        gdf.loc[1, "geometry"] = Point(TRUTH["lon"][1], TRUTH["lat"][1]).buffer(0.0002)
        gdf.to_file(path, driver="GeoJSON")
        first_row = 1
    elif fmt == "gpkg":
        path = tmp_path / "设施.gpkg"
        _vector_frame("EPSG:3857").to_file(path, layer="facilities")  # reprojected on reading
        first_row = 1
    else:
        path = tmp_path / "设施.shp"
        _vector_frame("EPSG:4326").to_file(path, encoding="GBK")
        path.with_suffix(".cpg").unlink()  # an old GBK shapefile without a code page file
        first_row = 1
    fac = read_ledger(path, profile=profile).facilities
    assert list(fac["name"]) == list(TRUTH["名称"])
    assert list(fac["category"]) == ["elderly", "meal", "child"]
    assert distance_m(fac["lon"], fac["lat"], TRUTH["lon"], TRUTH["lat"]).max() < 25.0  # inside the building
    assert list(fac["source_row"]) == [first_row, first_row + 1, first_row + 2]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".geojson"])
def test_uploads_read_from_bytes(tmp_path, profile, suffix):
    path = tmp_path / f"upload{suffix}"
    if suffix == ".csv":
        ledger_frame().to_csv(path, index=False, encoding="gbk")
    elif suffix == ".xlsx":
        ledger_frame().to_excel(path, index=False)
    else:
        _vector_frame().to_file(path, driver="GeoJSON")
    table, first_row = ledger_table_from_bytes(path.read_bytes(), file_name=f"上传{suffix}")
    ledger = ledger_from_frame(table, source_name=f"上传{suffix}", profile=profile, first_row=first_row)
    assert list(ledger.facilities["name"]) == list(TRUTH["名称"])
    with pytest.raises(CirclesError, match=r"上传\.shp: a Shapefile upload needs its \.dbf and \.shx; zip them"):
        ledger_table_from_bytes(b"", file_name="上传.shp")


def test_xlsx_with_a_title_row_and_a_chosen_sheet(tmp_path, profile):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    ws = wb.create_sheet("台账")
    ws.append(["海淀区养老服务设施台账（2024年）"])
    ws.append(["序号", "机构名称", "设施类型", "经度（GCJ-02）", "纬度（GCJ-02）", "建筑面积(㎡)"])
    ws.append([1, "学院路街道综合养老服务中心", "综合养老服务中心", 116.3503, 39.9967, 1800])
    ws.append([2, "成府路助餐点", "助餐", 116.3437, 123.0, 120])
    path = tmp_path / "台账.xlsx"
    wb.save(path)
    with pytest.raises(CirclesError, match=r"台账\.xlsx: no sheet named '养老'; the sheets are 说明, 台账"):
        read_ledger(path, profile=profile, sheet="养老")
    ledger = read_ledger(path, profile=profile, sheet="台账", coords="gcj02")
    assert list(ledger.facilities["name"]) == ["学院路街道综合养老服务中心"]
    assert ledger.facilities["area_m2"].iloc[0] == 1800
    (problem,) = ledger.report.errors
    assert (problem.row, problem.column, problem.kind) == (4, "纬度（GCJ-02）", "out_of_range")
    assert "台账.xlsx row 4: latitude 123 is out of range [-90, 90]" in problem.describe("台账.xlsx")


def test_gcj02_and_bd09_ledgers_of_the_same_points_give_wgs84_within_a_centimetre(tmp_path, profile):
    for coords, forward in (("gcj02", prcoords.wgs_gcj), ("bd09", prcoords.wgs_bd)):
        shifted = [forward((lat, lon)) for lon, lat in zip(TRUTH["lon"], TRUTH["lat"])]
        df = ledger_frame()
        df["经度"] = [s.lon for s in shifted]
        df["纬度"] = [s.lat for s in shifted]
        path = tmp_path / f"{coords}.csv"
        df.to_csv(path, index=False, float_format="%.9f")
        offset_m = distance_m(df["经度"], df["纬度"], TRUTH["lon"], TRUTH["lat"])
        assert offset_m.min() > 250  # the ledgers really are offset
        ledger = read_ledger(path, profile=profile, coords=coords)
        fac = ledger.facilities
        assert distance_m(fac["lon"], fac["lat"], TRUTH["lon"], TRUTH["lat"]).max() < 0.01
        assert ledger.coords == coords


# ---------------------------------------------------------------- fatal input errors
def test_undecodable_bytes_name_the_file_and_the_fix(tmp_path, profile):
    path = tmp_path / "乱码.csv"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with pytest.raises(CirclesError, match=r"乱码\.csv: cannot read the text.*UTF-8.*GBK.*CSV UTF-8"):
        read_ledger(path, profile=profile)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("名称,类型,经度,纬度\n养老站,养老,116.3,39.9\n".encode("utf-16-le"))  # no BOM
    with pytest.raises(CirclesError, match=r"utf16\.csv: cannot read the text"):
        read_ledger(utf16, profile=profile)


def test_xlsx_saved_as_csv_and_old_xls_are_explained(tmp_path, profile):
    path = tmp_path / "book.xlsx"
    ledger_frame().to_excel(path, index=False)
    misnamed = tmp_path / "book.csv"
    misnamed.write_bytes(path.read_bytes())
    with pytest.raises(CirclesError, match="book.csv: this is an Excel workbook"):
        read_ledger(misnamed, profile=profile)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(CirclesError, match=r"old\.xls: .*save it as \.xlsx"):
        read_ledger(xls, profile=profile)
    with pytest.raises(CirclesError, match="no such file"):
        read_ledger(tmp_path / "missing.csv", profile=profile)


def test_missing_coordinate_columns_list_found_and_accepted_headers(tmp_path, profile):
    path = write_csv(tmp_path / "无坐标.csv", [["名称", "类型", "地址"], ["养老站", "养老", "成府路1号"]])
    with pytest.raises(CirclesError) as err:
        read_ledger(path, profile=profile)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("无坐标.csv: no lon/lat column (found columns: 名称, 类型, 地址)")
    assert "lon: 经度/lon/lng/longitude/x" in msg and "lat: 纬度/lat/latitude/y" in msg


def test_one_location_column_is_split(profile):
    df = pd.DataFrame({"name": ["a", "b"], "category": ["meal", "meal"],
                       "location": ["116.3376,39.9925", "116.3380, 39.9930"]})
    fac = ledger_from_frame(df, source_name="amap.csv", profile=profile).facilities
    assert list(fac["lat"]) == [39.9925, 39.9930]


def test_latitude_out_of_range_in_every_row_is_fatal_with_the_row(tmp_path, profile):
    path = write_csv(tmp_path / "facilities.csv", [["名称", "类型", "经度", "纬度"], ["养老站", "养老", "116.31", "116.31"]])
    with pytest.raises(CirclesError, match=(
        r"^facilities\.csv row 2: latitude 116\.31 is out of range \[-90, 90\]; are the lon/lat columns "
        r"swapped\? \(no usable row")):
        read_ledger(path, profile=profile)


def test_all_rows_swapped_is_fatal_and_suggests_swapping(tmp_path, profile):
    df = ledger_frame().rename(columns={"经度": "纬度", "纬度": "经度"})
    path = tmp_path / "swapped.csv"
    df.to_csv(path, index=False)
    with pytest.raises(CirclesError, match=(
        r"swapped\.csv rows 2, 3, 4: longitude and latitude look swapped in every row "
        r"\(row 2: 经度 39\.9925, 纬度 116\.3376\); exchange the 经度 and 纬度 headers")):
        read_ledger(path, profile=profile)


def test_unknown_category_is_fatal_naming_rows_value_and_allowed(tmp_path, profile):
    df = ledger_frame([
        {"名称": "敬老院", "类型": "养老院", "经度": 116.34, "纬度": 39.99},
        {"名称": "社区卫生站", "类型": "卫生服务站", "经度": 116.35, "纬度": 39.99},
        {"名称": "另一个敬老院", "类型": "养老院", "经度": 116.36, "纬度": 39.99},
    ])
    path = tmp_path / "facilities.csv"
    df.to_csv(path, index=False)
    with pytest.raises(CirclesError) as err:
        read_ledger(path, profile=profile)
    msg = str(err.value)
    assert "\n" not in msg
    # one error names every unknown value: its rows, its column and the closest known word
    assert msg.startswith(
        "facilities.csv: 2 unknown values: rows 5, 7: 类型 '养老院' (closest known word: ")
    assert "; row 6: 类型 '卫生服务站' (closest known word: " in msg
    assert "allowed categories in profile '15min': elderly (养老服务设施; tiers: centre 街道/乡镇综合养老服务中心" in msg
    assert "child (" in msg
    assert isinstance(err.value, InputError) and isinstance(err.value, LedgerError)
    unknown = [p for p in err.value.problems if p.kind == "unknown_category"]
    assert [(p.row, p.name, p.value) for p in unknown] == [
        (5, "敬老院", "养老院"), (6, "社区卫生站", "卫生服务站"), (7, "另一个敬老院", "养老院")]
    assert all(p.suggestion for p in unknown)


def test_ambiguous_and_unknown_tiers(profile):
    ambiguous = pd.DataFrame({"名称": ["站"], "类型": ["station"], "经度": [116.3], "纬度": [39.9]})
    with pytest.raises(CirclesError, match=r"row 2: 类型 'station' \(ambiguous: it names child\.station, elderly\.station\)"):
        ledger_from_frame(ambiguous, source_name="a.csv", profile=profile)
    bad_tier = pd.DataFrame({"名称": ["站"], "类型": ["养老"], "层级": ["区级"], "经度": [116.3], "纬度": [39.9]})
    with pytest.raises(CirclesError, match=r"a\.csv: 1 unknown value: row 2: tier '区级' is not a tier of elderly \(allowed: centre"):
        ledger_from_frame(bad_tier, source_name="a.csv", profile=profile)


def test_tier_column_overrides_the_category_tier(profile):
    df = pd.DataFrame({
        "名称": ["中心", "站", "站2"], "类型": ["日间照料中心", "养老", "养老"],
        "层级": ["街道/乡镇综合养老服务中心", "station", ""],
        "经度": [116.30, 116.31, 116.32], "纬度": [39.99, 39.99, 39.99],
    })
    fac = ledger_from_frame(df, source_name="t.csv", profile=profile).facilities
    assert list(fac["category"]) == ["elderly"] * 3
    assert fac["tier"].iloc[0] == "centre" and fac["tier"].iloc[1] == "station" and pd.isna(fac["tier"].iloc[2])


def test_bad_arguments(tmp_path, profile):
    with pytest.raises(CirclesError, match="coords 'wsg84' is not a known coordinate system"):
        ledger_from_frame(ledger_frame(), source_name="t.csv", coords="wsg84", profile=profile)
    ods = tmp_path / "x.ods"
    ods.write_bytes(b"")
    with pytest.raises(CirclesError, match="x.ods: unknown ledger format '.ods'"):
        read_ledger(ods, profile=profile)


# ---------------------------------------------------------------- row problems (kept going)
def test_row_errors_are_dropped_and_reported(profile):
    df = ledger_frame([
        {"名称": "无坐标站", "类型": "养老", "经度": "", "纬度": ""},
        {"名称": "坏坐标站", "类型": "养老", "经度": "116.3x", "纬度": "39.9"},
        {"名称": "零点站", "类型": "养老", "经度": 0, "纬度": 0},
        {"名称": "投影坐标站", "类型": "养老", "经度": 441234.5, "纬度": 4428000.0},
        {"名称": "无类型站", "类型": "", "经度": 116.3, "纬度": 39.9},
        {"名称": "", "类型": "养老", "经度": "116.32°E", "纬度": "39.98°N", "床位": "很多"},
        {"名称": "", "类型": "", "经度": "", "纬度": ""},  # blank row: ignored
    ])
    ledger = ledger_from_frame(df, source_name="f.csv", profile=profile)
    rep = ledger.report
    assert rep.n_rows == 9 and rep.n_facilities == 4
    kinds = {(p.row, p.kind) for p in rep.problems}
    assert {(5, "missing_coordinates"), (6, "bad_coordinates"), (7, "missing_coordinates"),
            (8, "out_of_range"), (9, "missing_category"), (10, "missing_name"),
            (10, "bad_number")} <= kinds
    assert all(p.severity == "error" for p in rep.errors) and len(rep.errors) == 5
    assert "projected coordinates" in rep.of_kind("out_of_range")[0].message_en
    last = ledger.facilities.iloc[-1]
    assert (last["name"], last["lon"], last["lat"]) == ("#10", 116.32, 39.98)
    table = rep.to_frame()
    assert list(table.columns) == ["row", "column", "kind", "severity", "message_zh", "message_en"]
    assert len(table) == len(rep.problems)


def test_some_swapped_rows_are_swapped_back_with_a_warning(profile):
    df = ledger_frame([{"名称": "填反站", "类型": "养老", "经度": 39.9931, "纬度": 116.3390}])
    ledger = ledger_from_frame(df, source_name="f.csv", profile=profile)
    (warning,) = ledger.report.of_kind("swapped")
    assert warning.row == 5 and warning.severity == "warning"
    assert "look swapped; swapped back" in warning.message_en
    row = ledger.facilities.iloc[3]
    assert (row["lon"], row["lat"]) == (116.3390, 39.9931)


def test_duplicates_and_shared_locations_are_warned(profile):
    df = ledger_frame([
        {"名称": "南山区 幸福食堂", "类型": "助餐", "经度": 113.94303, "纬度": 22.54002},  # 4 m away
        {"名称": "五道口社区养老服务站", "类型": "养老", "经度": 116.3476, "纬度": 39.9925},  # 850 m away
        {"名称": "甲站", "类型": "养老", "经度": 116.3, "纬度": 39.95},
        {"名称": "乙站", "类型": "养老", "经度": 116.3, "纬度": 39.95},
        {"名称": "丙站", "类型": "助餐", "经度": 116.3, "纬度": 39.95},
    ])
    rep = ledger_from_frame(df, source_name="f.csv", profile=profile).report
    (dup,) = rep.of_kind("duplicate")
    assert dup.row == 5 and "same name as row 3" in dup.message_en and "与第 3 行同名" in dup.message_zh
    assert [p.row for p in rep.of_kind("same_location")] == [7, 8, 9]
    assert rep.n_facilities == 8  # warnings keep the rows


def test_template_example_rows_are_skipped(profile, tmp_path):
    for name in ("facilities_template.csv", "facilities_template.xlsx"):
        with pytest.raises(CirclesError, match="only template example rows"):
            read_ledger(TEMPLATES / name, profile=profile)
        table, first_row = read_ledger_table(TEMPLATES / name)
        assert first_row == 2 and len(table) == 3
        filled = pd.concat([table, ledger_frame().rename(columns={"床位": "容量"})], ignore_index=True)
        ledger = ledger_from_frame(filled, source_name=name, profile=profile, coords="gcj02")
        assert ledger.report.n_facilities == 3
        assert [p.row for p in ledger.report.of_kind("example_row")] == [2, 3, 4]
    # only "示例：" marks an example: a real street called 示例一街道 is kept
    real = pd.DataFrame({"名称": ["示例一街道养老服务中心"], "类型": ["养老"], "经度": [116.3], "纬度": [39.9]})
    assert ledger_from_frame(real, source_name="s.csv", profile=profile).report.problems == ()
    # every header of the templates maps to a canonical column (备注 is the free note)
    examples = ledger_table_from_bytes((TEMPLATES / "facilities_template.csv").read_bytes(), file_name="t.csv")[0]
    examples["名称"] = examples["名称"].str.removeprefix("示例：")
    fac = ledger_from_frame(examples, source_name="t", profile=profile, coords="gcj02").facilities
    assert list(fac["tier"]) == ["centre", "point", "home"]
    assert fac[["capacity", "area_m2", "district", "address"]].notna().sum().tolist() == [2, 3, 3, 3]


# ---------------------------------------------------------------- with a road network
RURAL_ROAD_LAT = 28.21  # an east-west and a north-south village road near Guixi, Jiangxi


@pytest.fixture(scope="module")
def rural_net():
    nodes, ways = {}, []
    ew = []
    for i, lon in enumerate(np.arange(117.14, 117.1801, 0.002)):
        nodes[100 + i] = (float(lon), RURAL_ROAD_LAT)
        ew.append(100 + i)
    ns = []
    for i, lat in enumerate(np.arange(28.19, 28.2301, 0.002)):
        node = 110 if abs(lat - RURAL_ROAD_LAT) < 1e-9 else 200 + i  # crossing at 117.16
        nodes.setdefault(node, (117.16, float(lat)))
        ns.append(node)
    ways = [(1, ew, {"highway": "residential"}), (2, ns, {"highway": "track"})]
    return load_network(RawWays.from_lists(nodes, ways))


def _rural_facilities(n=10):
    """WGS84 points 0–30 m north of the east-west road, more than 1 km from the other road."""
    lon = np.r_[np.linspace(117.141, 117.149, n // 2), np.linspace(117.171, 117.179, n - n // 2)]
    lat = RURAL_ROAD_LAT + np.resize([0.0, 0.0001, 0.0002, 0.00027], n)
    return pd.DataFrame({"名称": [f"村助餐点{i}" for i in range(n)], "类型": "老饭桌", "经度": lon, "纬度": lat})


def test_off_network_and_outside_area_with_a_network(rural_net, profile):
    df = pd.concat([_rural_facilities(4), pd.DataFrame({
        "名称": ["山里老饭桌", "邻县老饭桌"], "类型": "老饭桌", "经度": [117.145, 117.30], "纬度": [28.222, 28.21],
    })], ignore_index=True)
    ledger = ledger_from_frame(df, source_name="村.csv", profile=profile, net=rural_net)
    rep = ledger.report
    (off,) = rep.of_kind("off_network")
    assert off.row == 6
    assert re.search(r"^the nearest walkable road is 13\d\d m away \(limit 200 m\)", off.message_en)
    (out,) = rep.of_kind("outside_area")
    assert out.row == 7 and "outside the road network's extent" in out.message_en
    assert rep.n_facilities == 6 and rep.suggested_coords is None
    # a tighter threshold flags more
    tight = ledger_from_frame(df, source_name="村.csv", profile=profile, net=rural_net, max_snap_m=25)
    assert [p.row for p in tight.report.of_kind("off_network")] == [5, 6]


def test_boundary_polygon_defines_the_study_area(profile):
    df = ledger_frame()
    beijing = gpd.GeoDataFrame(geometry=[box(116.2, 39.9, 116.5, 40.1)], crs="EPSG:4326").to_crs("EPSG:3857")
    rep = ledger_from_frame(df, source_name="f.csv", profile=profile, boundary=beijing).report
    assert [p.row for p in rep.of_kind("outside_area")] == [3, 4]
    assert "study-area boundary" in rep.of_kind("outside_area")[0].message_en
    rep2 = ledger_from_frame(df, source_name="f.csv", profile=profile, boundary=box(100, 20, 120, 42)).report
    assert rep2.of_kind("outside_area") == ()


@pytest.mark.parametrize(("actual", "forward"), [("gcj02", prcoords.wgs_gcj), ("bd09", prcoords.wgs_bd)])
def test_hint_when_a_wgs84_ledger_fits_the_roads_better_as_gcj02_or_bd09(rural_net, profile, actual, forward):
    df = _rural_facilities(10)
    shifted = [forward((lat, lon)) for lon, lat in zip(df["经度"], df["纬度"])]
    df["经度"] = [s.lon for s in shifted]
    df["纬度"] = [s.lat for s in shifted]
    ledger = ledger_from_frame(df, source_name="村.csv", profile=profile, net=rural_net)
    rep = ledger.report
    assert rep.suggested_coords == actual
    (hint,) = rep.of_kind("coords_hint")
    label = {"gcj02": "GCJ-02 (Amap/Tencent)", "bd09": "BD-09 (Baidu)"}[actual]
    assert hint.message_en.startswith(f"looks like {label} coordinates: median distance to the road network ")
    assert hint.message_en.endswith(f"; rerun with --coords {actual}")
    assert rep.median_snap_m["wgs84"] > 250 and rep.median_snap_m[actual] < 20
    assert hint.message_en in format_report(ledger, lang="en")
    assert "坐标看起来是" in format_report(ledger, lang="zh")
    # read as it really is: no hint, and the points sit on the road
    right = ledger_from_frame(df, source_name="村.csv", coords=actual, profile=profile, net=rural_net)
    assert right.report.suggested_coords is None and right.report.of_kind("coords_hint") == ()
    assert right.report.of_kind("off_network") == ()


def test_no_hint_for_a_correct_wgs84_ledger_or_too_few_points(rural_net, profile):
    rep = ledger_from_frame(_rural_facilities(10), source_name="村.csv", profile=profile, net=rural_net).report
    assert rep.suggested_coords is None and set(rep.median_snap_m) == {"wgs84", "gcj02", "bd09"}
    few = _rural_facilities(4)
    few[["经度", "纬度"]] = [list(prcoords.wgs_gcj((la, lo)))[::-1] for lo, la in zip(few["经度"], few["纬度"])]
    rep_few = ledger_from_frame(few, source_name="村.csv", profile=profile, net=rural_net).report
    assert rep_few.median_snap_m == {} and rep_few.suggested_coords is None


@pytest.mark.shared_data
def test_hint_on_the_real_beijing_network(profile):
    """Dense city: GCJ-02 points read as WGS84 are only ~20 m from some road, yet the hint fires."""
    net = load_network(shared_data("osm/beijing_haidian_wudaokou.osm"), cache=False)
    rng = np.random.default_rng(3)
    idx = rng.choice(net.n_nodes, 30, replace=False)
    angle, radius = rng.uniform(0, 2 * np.pi, 30), rng.uniform(5, 40, 30)
    lon, lat = net.to_lonlat(net.node_x[idx] + radius * np.cos(angle), net.node_y[idx] + radius * np.sin(angle))
    gcj = [prcoords.wgs_gcj((la, lo)) for lo, la in zip(lon, lat)]
    df = pd.DataFrame({"名称": [f"站{i}" for i in range(30)], "类型": "养老",
                       "经度": [g.lon for g in gcj], "纬度": [g.lat for g in gcj]})
    assert ledger_from_frame(df, source_name="海淀.csv", profile=profile, net=net).report.suggested_coords == "gcj02"
    fine = pd.DataFrame({"名称": df["名称"], "类型": "养老", "经度": lon, "纬度": lat})
    assert ledger_from_frame(fine, source_name="海淀.csv", profile=profile, net=net).report.suggested_coords is None


# ---------------------------------------------------------------- summaries
def test_report_counts_and_format_report(profile):
    df = ledger_frame([
        {"名称": "学院路街道综合养老服务中心", "类型": "综合养老服务中心", "经度": 116.35, "纬度": 39.997, "床位": 60},
        {"名称": "坏站", "类型": "养老", "经度": "", "纬度": "39.9"},
    ])
    ledger = ledger_from_frame(df, source_name="海淀.csv", coords="gcj02", profile=profile)
    counts = report_counts(ledger)
    assert counts[["category", "count"]].values.tolist() == [
        ["child", 1], ["elderly", 1], ["elderly", 1], ["meal", 1]]
    full = report_counts(ledger, profile=profile)
    assert list(full.columns) == ["category", "tier", "count", "capacity", "label_zh", "label_en"]
    assert full.set_index(["category", "tier"])["count"].to_dict() == {
        ("elderly", "centre"): 1, ("elderly", "station"): 1, ("meal", "point"): 1,
        ("child", "station"): 0, ("child", "home"): 1}
    assert full.set_index(["category", "tier"])["capacity"][("elderly", "centre")] == 60
    zh = format_report(ledger, profile=profile)
    assert zh.splitlines()[0] == "设施台账 海淀.csv（坐标系 GCJ-02，已转换为 WGS84）"
    assert "未成年人保护服务 / 未成年人保护工作站 [child/station]: 0" in zh
    assert "第 6 行 [错误] 经度为空" in zh
    en = format_report(ledger, lang="en")
    assert "5 rows read, 4 facilities imported; 1 error(s)" in en
    assert "row 6 [error] the longitude is missing" in en
    with pytest.raises(CirclesError, match="lang 'fr'"):
        format_report(ledger, lang="fr")


# ---------------------------------------------------------------- OSM fallback
def test_facilities_from_osm_uses_the_profile_tags(profile):
    features = gpd.GeoDataFrame(
        {
            "osm_type": ["node", "way", "node", "node", "node", "node", "node"],
            "osm_id": [1, 2, 3, 4, 5, 6, 7],
            "amenity": ["nursing_home", None, "childcare", "restaurant", "social_facility", "social_facility",
                        "social_facility"],
            "social_facility": [None, "soup_kitchen", None, None, "day_care", "day_care", "day_care"],
            "social_facility:for": [None, None, None, None, "senior;juvenile", "child", None],
            "name": ["敬老院", "幸福食堂", None, "饭馆", "日托", "儿童日托", "日间照料"],
            "geometry": [Point(116.30, 39.99), box(116.31, 39.99, 116.3102, 39.9902), Point(116.32, 39.99),
                         Point(116.33, 39.99), Point(116.34, 39.99), Point(116.35, 39.99), Point(116.36, 39.99)],
        },
        crs="EPSG:4326",
    ).to_crs("EPSG:32650")
    fac = facilities_from_osm(features, profile)
    assert list(fac.columns) == [*FACILITY_COLUMNS, "geometry"] and fac.crs.equals("EPSG:4326")
    got = sorted(zip(fac["category"], fac["name"], fac["source_row"]))
    # a children's day care (social_facility:for=child) is not an elderly day care; one without `for` is
    assert got == [("child", "OSM 3", 3), ("child", "儿童日托", 6), ("child", "日托", 5), ("elderly", "敬老院", 1),
                   ("elderly", "日托", 5), ("elderly", "日间照料", 7), ("meal", "幸福食堂", 2)]
    meal = fac[fac["category"] == "meal"].iloc[0]
    assert meal["tier"] == "point"
    assert shapely.contains(box(116.31, 39.99, 116.3102, 39.9902), Point(meal["lon"], meal["lat"]))
    empty = facilities_from_osm(features.iloc[3:4], profile)
    assert len(empty) == 0 and list(empty.columns) == [*FACILITY_COLUMNS, "geometry"]


# ---------------------------------------------------------------- rows not used, as data
def test_twelve_rows_eight_without_coordinates_are_dropped_with_the_reason(tmp_path, profile):
    from circles.inputs import format_dropped

    no_coords = {3, 4, 6, 7, 9, 10, 12, 13}  # spreadsheet rows (header = row 1)
    rows = []
    for r in range(2, 14):
        has = r not in no_coords
        rows.append({"名称": f"第{r}行养老驿站", "类型": "养老驿站", "经度": 116.30 + r / 1000 if has else "",
                     "纬度": 39.99 if has else ""})
    path = tmp_path / "台账.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")
    ledger = read_ledger(path, profile=profile)
    assert ledger.report.n_rows == 12 and len(ledger.facilities) == 4
    assert [d.row for d in ledger.dropped] == sorted(no_coords)
    assert {(d.reason, d.reason_zh, d.reason_en) for d in ledger.dropped} == {
        ("missing_coordinates", "坐标为空", "no coordinates")}
    assert [d.name for d in ledger.dropped] == [f"第{r}行养老驿站" for r in sorted(no_coords)]
    line = format_dropped(ledger.dropped)
    assert line == "8 行未使用：第 3、4、6、7、9、10、12、13 行 坐标为空"
    assert format_dropped(ledger.dropped, lang="en").startswith("8 rows not used: rows 3, 4, 6")
    assert line in format_report(ledger)


def test_total_and_example_rows_are_skipped_and_recorded(profile):
    df = ledger_frame([
        {"名称": "示例：某某驿站", "类型": "养老驿站", "经度": 116.3, "纬度": 39.9},
        {"名称": "合计", "类型": "", "经度": "", "纬度": "", "床位": "30"},
        {"名称": "无类型站", "类型": "", "经度": 116.3, "纬度": 39.9},
    ])
    ledger = ledger_from_frame(df, source_name="f.csv", profile=profile)
    assert len(ledger.facilities) == 3 and ledger.report.n_rows == 6
    assert [(d.row, d.reason) for d in ledger.dropped] == [
        (5, "example_row"), (6, "total_row"), (7, "missing_category")]
    assert ledger.dropped[1].reason_zh == "合计行" and ledger.dropped[2].name == "无类型站"
    (total,) = ledger.report.of_kind("total_row")
    assert total.severity == "warning" and total.row == 6


def test_unknown_words_are_all_named_in_one_error_with_the_closest_known_word(profile):
    df = ledger_frame([
        {"名称": "燕园社区养老驿站", "类型": "社区养老服务驿栈", "经度": 116.30, "纬度": 39.99},  # a typo
        {"名称": "燕园卫生院", "类型": "卫生院", "经度": 116.31, "纬度": 39.99},
        {"名称": "燕园长者饭堂", "类型": "长者饭堂", "经度": 116.32, "纬度": 39.99},  # known
    ])
    with pytest.raises(LedgerError) as err:
        ledger_from_frame(df, source_name="f.csv", profile=profile)
    msg = str(err.value)
    assert msg.startswith("f.csv: 2 unknown values: row 5: 类型 '社区养老服务驿栈' (closest known word: '社区养老服务驿站'); "
                          "row 6: 类型 '卫生院' (no close known word)")
    by_row = {p.row: p for p in err.value.problems if p.kind == "unknown_category"}
    assert by_row[5].suggestion == "社区养老服务驿站" and by_row[6].suggestion == ""
    assert by_row[5].name == "燕园社区养老驿站" and by_row[5].column == "类型"


@pytest.mark.parametrize("name", ["15min", "gb50180", "rural"])
def test_a_ledger_in_the_bureaus_words_is_read_by_every_profile(name):
    df = pd.DataFrame({
        "名称": ["学院路街道养老照料中心", "五道口养老驿站", "塘湾村互助幸福院", "南山长者饭堂", "学院路未保站",
               "塘湾村儿童关爱服务站", "燕园社区养老服务驿站", "某镇区域养老服务中心"],
        "类型": ["镇街综合养老服务中心", "养老驿站", "农村互助幸福院", "长者饭堂", "未保站", "儿童关爱服务站",
               "社区养老服务驿站", "区域养老服务中心"],
        "经度": np.linspace(116.30, 116.37, 8), "纬度": 39.99,
    })
    fac = ledger_from_frame(df, source_name="民政局台账.xlsx", profile=load_profile(name)).facilities
    assert list(zip(fac["category"], fac["tier"])) == [
        ("elderly", "centre"), ("elderly", "station"), ("elderly", "station"), ("meal", "point"),
        ("child", "station"), ("child", "home"), ("elderly", "station"), ("elderly", "centre")]


# ---------------------------------------------------------------- the clerk's problems table
def test_problems_table_names_row_value_and_fix_and_is_safe_in_excel(tmp_path, profile):
    from openpyxl import load_workbook

    from circles.facilities import PROBLEM_TABLE_COLUMNS, problems_frame
    from circles.outputs.workbook import problems_table_bytes

    def write_problems_table(table, path):
        path.write_bytes(problems_table_bytes(table, path.suffix))
        return path

    df = ledger_frame([
        {"名称": "=HYPERLINK(\"http://x\",\"点我\")", "类型": "养老", "经度": "-116.3x", "纬度": "39.9"},
        {"名称": "填反站", "类型": "养老", "经度": 39.9931, "纬度": 116.3390},
        {"名称": "@站", "类型": "养老", "经度": "", "纬度": ""},
    ])
    ledger = ledger_from_frame(df, source_name="f.csv", profile=profile)
    table = problems_frame(ledger.report.problems)
    assert tuple(table.columns) == PROBLEM_TABLE_COLUMNS
    rows = table.set_index("row")
    assert rows.loc[5, "value"] == "-116.3x" and rows.loc[5, "column"] == "经度"
    assert rows.loc[6, "suggestion"] == "116.339, 39.9931" and rows.loc[6, "name"] == "填反站"
    assert "经纬度为空" in rows.loc[7, "problem_zh"] and "missing" in rows.loc[7, "problem_en"]

    xlsx = write_problems_table(table, tmp_path / "问题清单.xlsx")
    ws = load_workbook(xlsx).active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0][:2] == ["行号 row", "名称 name"]
    body = {r[0]: r for r in values[1:]}
    assert isinstance(values[1][0], int)  # numbers stay numbers
    assert body[5][1] == "'=HYPERLINK(\"http://x\",\"点我\")" and body[5][3] == "'-116.3x"
    assert body[7][1] == "'@站"
    assert all(not (isinstance(v, str) and v[:1] in "=+-@\t\r") for r in values for v in r)

    csv_path = write_problems_table(table, tmp_path / "问题清单.csv")
    text = csv_path.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")  # a BOM: Excel shows the Chinese text
    back = list(csv.reader(text.decode("utf-8-sig").splitlines()))
    assert back[0][0] == "行号 row" and len(back) == len(table) + 1
    assert all(not cell[:1] in ("=", "+", "-", "@") for r in back for cell in r if cell)


@pytest.mark.parametrize("module", ["attributes", "categories", "coordinates", "ledger", "report"])
def test_docstring_examples(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"circles.facilities.{module}")
    assert doctest.testmod(mod, extraglobs={"pd": pd, "load_profile": load_profile}).failed == 0


# ---------------------------------------------------------------- attributes the standards need
ATTRS = pd.DataFrame({
    "名称": ["五道口社区养老服务站", "学院路综合体", "成府路助餐点"],
    "类型": ["日间照料中心", "社区嵌入式服务设施", "老年助餐点"],
    "经度": ["116.3376", "116.3400", "116.3420"], "纬度": ["39.9925", "39.9930", "39.9940"],
    "座位": ["", "", "40座"], "建筑面积(㎡)": ["320", "1,200", "80"],
    "楼层": ["2层", "1-3层", "首层"], "电梯": ["无", "有", ""],
    "服务功能": ["日间照料、助浴", "助餐；托育、儿童托管 康复", ""],
    "开放时间": ["周一至周五 08:00-17:30", "08:00-12:00, 14:00-20:00", ""], "每周开放天数": ["", "7", "6"],
    "所属社区": ["五道口社区", "", "成府路社区"],
})


def test_attributes_read_and_carried_through():
    from circles.profiles import load_profile as lp

    fac = ledger_from_frame(ATTRS, source_name="台账.csv", profile=lp("xian")).facilities
    assert list(fac.columns) == [*FACILITY_COLUMNS, "geometry"]
    assert fac["tier"].tolist() == ["station", "embedded", "point"]
    assert fac["floor"].tolist() == [2.0, 3.0, 1.0]  # rooms on floors 1-3: the highest counts
    assert fac["lift"].tolist() == [False, True, pd.NA]
    assert fac["functions"].tolist()[:2] == ["养老服务", "社区助餐、婴幼儿托育、儿童托管、养老服务"]
    assert pd.isna(fac["functions"].iloc[2])
    assert fac["hours_per_day"].tolist()[:2] == [9.5, 10.0] and np.isnan(fac["hours_per_day"].iloc[2])
    assert fac["days_per_week"].tolist() == [5.0, 7.0, 6.0]  # 周一至周五 read from the opening hours
    assert fac["area_m2"].tolist() == [320.0, 1200.0, 80.0] and fac["capacity"].iloc[2] == 40
    assert fac["community"].tolist()[0] == "五道口社区" and pd.isna(fac["community"].iloc[1])


def test_english_attribute_headers():
    en = ATTRS.rename(columns={"楼层": "floor", "电梯": "lift", "服务功能": "functions", "开放时间": "opening_hours",
                               "每周开放天数": "days_per_week", "所属社区": "community", "建筑面积(㎡)": "area_m2"})
    en["lift"] = ["no", "yes", ""]
    en["functions"] = ["day care, meals", "meals; infant care; after-school care", ""]
    fac = ledger_from_frame(en, source_name="ledger.csv", profile=load_profile("xian")).facilities
    assert fac["lift"].tolist() == [False, True, pd.NA]
    assert fac["functions"].iloc[1] == "社区助餐、婴幼儿托育、儿童托管"


def test_bad_attribute_values_are_one_error_naming_every_row():
    bad = ATTRS.copy()
    bad.loc[0, "楼层"] = "顶楼"
    bad.loc[1, "电梯"] = "可能"
    bad.loc[2, "服务功能"] = "助餐、跳舞"
    bad.loc[2, "开放时间"] = "上午"
    bad.loc[1, "建筑面积(㎡)"] = "-5"
    with pytest.raises(LedgerError) as info:
        ledger_from_frame(bad, source_name="台账.csv", profile=load_profile("xian"))
    message = str(info.value)
    assert message.startswith("台账.csv: 5 bad attribute values")
    for part in ("row 2 column '楼层': '顶楼' is not a floor", "row 3 column '电梯': '可能' is not 有 or 无",
                 "row 4 column '服务功能': 跳舞 is not a service function", "row 4 column '开放时间'",
                 "row 3 column '建筑面积(㎡)': -5 is negative"):
        assert part in message, part
    assert "\n" not in message
    assert {p.kind for p in info.value.problems} >= {"bad_attribute"}


@pytest.mark.parametrize("text, floor", [("1", 1), ("3层", 3), ("三楼", 3), ("F2", 2), ("2F", 2), ("首层", 1),
                                         ("1至2层", 2), ("十二层", 12), ("地下一层", -1), ("B1", -1), ("-2", -2)])
def test_floor_words(text, floor):
    from circles.facilities.attributes import parse_floor_text

    assert parse_floor_text(text) == floor


def test_ledger_attributes_on_real_wudaokou_places():
    from network.features import read_osm_features

    feats = read_osm_features(shared_data("osm/beijing_haidian_wudaokou.osm"))
    named = feats[feats["name"].notna() & (feats["kind"] == "building")].head(12)
    p = named.geometry.representative_point()
    table = pd.DataFrame({"名称": named["name"].to_numpy(), "类型": "日间照料中心", "经度": p.x, "纬度": p.y,
                          "建筑面积": [str(100 + 10 * i) for i in range(len(named))],
                          "楼层": ["1", "2", "3层"] * (len(named) // 3) + ["1"] * (len(named) % 3),
                          "电梯": ["有", "无"] * (len(named) // 2) + ["无"] * (len(named) % 2)})
    fac = ledger_from_frame(table, source_name="五道口.csv", profile=load_profile()).facilities
    assert len(fac) == len(named) and fac["name"].tolist() == named["name"].tolist()
    assert fac["area_m2"].sum() == sum(100 + 10 * i for i in range(len(named)))
    assert fac["floor"].tolist()[:3] == [1.0, 2.0, 3.0] and fac["lift"].tolist()[:2] == [True, False]

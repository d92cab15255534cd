"""circles.inputs: one reader per kind of file (tables, GIS files, boundaries, districts) and dropped rows."""

from __future__ import annotations

import csv
import doctest
import io
import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

import circles.inputs.dropped
import circles.inputs.tables
import circles.inputs.text
from circles.errors import InputError
from circles.inputs import (
    DroppedRow,
    dropped_frame,
    format_dropped,
    norm_header,
    read_boundary,
    read_districts,
    read_table,
    read_vector,
    row_skip_reasons,
)

ROWS = [["名称", "类型", "人口"], ["甲", "养老驿站", "1,200"], ["乙", "长者饭堂", "３００"]]


def _text(rows, sep=","):
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)  # "1,200" quoted where needed
    return buf.getvalue()


# ---------------------------------------------------------------- tables
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_every_encoding_and_delimiter_gives_the_same_text_cells(tmp_path, encoding, sep):
    path = tmp_path / "t.csv"
    path.write_bytes(_text(ROWS, sep).encode(encoding))
    table, first_row = read_table(path, source_name="t.csv")
    assert list(table.columns) == ROWS[0]
    assert table.values.tolist() == ROWS[1:]  # text as typed: thousands separators and full-width digits kept
    assert first_row == 2


def test_title_rows_above_the_header_are_skipped_and_rows_numbered_as_in_excel(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["海淀区养老服务设施台账（2024年）"])
    ws.append(["制表单位：区民政局"])
    ws.append(["名称", "人口", "经度"])
    ws.append(["甲", 1200, 116.3])
    ws.append(["乙", 3.0, None])
    ws.append([None, None, None])  # Excel's formatted empty rows at the end are dropped
    path = tmp_path / "t.xlsx"
    wb.save(path)
    table, first_row = read_table(path, source_name="t.xlsx")
    assert first_row == 4  # the first data row is spreadsheet row 4
    assert table.values.tolist() == [["甲", "1200", "116.3"], ["乙", "3", ""]]
    # a caller's own header test
    table2, first2 = read_table(path, source_name="t.xlsx", is_header=lambda cells: "经度" in cells)
    assert first2 == 4 and list(table2.columns) == ["名称", "人口", "经度"]


def test_a_title_line_does_not_decide_the_delimiter(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("台账\n" + _text(ROWS, "\t"), encoding="utf-8")
    table, first_row = read_table(path, source_name="t.txt")
    assert list(table.columns) == ROWS[0] and first_row == 3


def test_uploads_sheets_and_bad_files(tmp_path):
    table, _ = read_table(_text(ROWS).encode("gbk"), source_name="上传.csv")
    assert table["名称"].tolist() == ["甲", "乙"]
    with pytest.raises(InputError, match=r"old\.xls: the old Excel \.xls format .* save it as \.xlsx"):
        read_table(b"", source_name="old.xls")
    with pytest.raises(InputError, match=r"x\.ods: '\.ods' is not a table file"):
        read_table(b"", source_name="x.ods")
    with pytest.raises(InputError, match="the table is empty"):
        read_table(b"\n\n", source_name="e.csv")
    with pytest.raises(InputError, match=r"no such file"):
        read_table(tmp_path / "missing.csv", source_name="missing.csv")
    with pytest.raises(InputError, match="neither UTF-8 nor GBK"):
        read_table("名称\n甲\n".encode("utf-16-le"), source_name="u.csv")  # UTF-16 without its BOM
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    wb.create_sheet("台账").append(["名称", "人口"])
    path = tmp_path / "w.xlsx"
    wb.save(path)
    assert list(read_table(path, source_name="w.xlsx", sheet="台账")[0].columns) == ["名称", "人口"]
    with pytest.raises(InputError, match="sheet number 5 does not exist; the workbook has 2 sheet"):
        read_table(path, source_name="w.xlsx", sheet=5)
    with pytest.raises(InputError, match="no sheet named '养老'; the sheets are 说明, 台账"):
        read_table(path, source_name="w.xlsx", sheet="养老")


def test_row_skip_reasons_blank_total_example():
    table = pd.DataFrame({
        "序号": ["1", "", "合　计：", "", "4"],
        "名称": ["甲", "", "", "示例：乙", "示例一街道"],
        "人口": ["10", "", "30", "5", "7"],
    })
    assert row_skip_reasons(table) == [None, "blank", "total", "example", None]
    assert row_skip_reasons(pd.DataFrame({"name": ["Total", "totalled"]})) == ["total", None]


def test_norm_header_folds_every_spelling():
    assert {norm_header(h) for h in ("经度", " 经度（GCJ-02） ", "经度*", "经度(°)", "经 度")} == {"经度"}
    assert norm_header("ＬＯＮ") == "lon" and norm_header("pop_60plus") == norm_header("pop60plus")


# ---------------------------------------------------------------- GIS files
def _polygons(crs="EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"county": ["海淀区", "海淀区", "朝阳区"], "street": ["燕园街道", "学院路街道", "燕园街道"]},
        geometry=[box(116.30, 39.98, 116.32, 40.00), box(116.32, 39.98, 116.34, 40.00),
                  box(116.44, 39.90, 116.46, 39.92)],
        crs="EPSG:4326",
    ).to_crs(crs)


def test_read_vector_formats_and_the_missing_crs_fix(tmp_path):
    gdf = _polygons()
    gdf.to_file(tmp_path / "d.gpkg", layer="streets")
    gdf.to_file(tmp_path / "d.shp", encoding="GBK")
    (tmp_path / "d.cpg").unlink()  # an old GBK shapefile without a code page file
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as z:
        for suffix in (".shp", ".shx", ".dbf", ".prj"):
            z.write(tmp_path / f"d{suffix}", f"d{suffix}")
    for name in ("d.gpkg", "d.shp", "d.zip"):
        frame = read_vector(tmp_path / name, what="districts")
        assert frame["street"].tolist() == ["燕园街道", "学院路街道", "燕园街道"] and frame.crs.equals("EPSG:4326")
    upload = read_vector((tmp_path / "d.zip").read_bytes(), what="districts", source_name="上传.zip")
    assert upload["street"].tolist()[0] == "燕园街道"
    (tmp_path / "d.prj").unlink()
    with pytest.raises(InputError, match=r"d\.shp: the districts file has no CRS .*save it with EPSG:4326"):
        read_vector(tmp_path / "d.shp", what="districts")
    (tmp_path / "bad.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_vector(tmp_path / "bad.geojson", what="boundary")
    assert "\n" not in str(err.value) and "not a readable vector file for the boundary" in str(err.value)
    with pytest.raises(InputError, match=r"d\.csv: the boundary must be a GIS file"):
        read_vector(tmp_path / "d.csv", what="boundary")
    with pytest.raises(InputError, match="no such file; check the path of the boundary file"):
        read_vector(tmp_path / "none.geojson", what="boundary")


def test_read_boundary_unions_polygons_in_wgs84_and_refuses_other_shapes(tmp_path):
    _polygons("EPSG:32650").to_file(tmp_path / "b.geojson", driver="GeoJSON")
    area = read_boundary(tmp_path / "b.geojson")
    assert area.geom_type == "MultiPolygon" and area.is_valid
    assert shapely.box(116.30, 39.98, 116.34, 40.00).buffer(-1e-6).within(area.buffer(1e-7))
    bowtie = shapely.Polygon([(116.3, 39.9), (116.4, 40.0), (116.4, 39.9), (116.3, 40.0)])  # self-crossing
    gpd.GeoDataFrame(geometry=[bowtie], crs="EPSG:4326").to_file(tmp_path / "bow.geojson", driver="GeoJSON")
    assert read_boundary(tmp_path / "bow.geojson").area == pytest.approx(0.005)
    mixed = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1), Point(0.5, 0.5)], crs="EPSG:4326")
    mixed.to_file(tmp_path / "mixed.gpkg")
    with pytest.raises(InputError, match=r"feature 2 is Point, not polygons; the boundary must be a polygon layer"):
        read_boundary(tmp_path / "mixed.gpkg")


def test_read_districts_joins_columns_sorts_and_refuses_empty_or_repeated_names(tmp_path):
    path = tmp_path / "streets.gpkg"
    _polygons("EPSG:3857").to_file(path)
    districts = read_districts(path, "county,street")
    assert districts["name"].tolist() == ["朝阳区/燕园街道", "海淀区/学院路街道", "海淀区/燕园街道"]
    assert list(districts.columns) == ["name", "geometry"] and districts.crs.equals("EPSG:4326")
    with pytest.raises(InputError, match=r"district names repeat \(燕园街道\); use --district-col with several "
                                         r"columns, e.g. --district-col county,street"):
        read_districts(path, "street")
    with pytest.raises(InputError, match=r"district column 'name' not found; use --district-col with one of: "
                                         r"county, street"):
        read_districts(path, "name")
    blank = _polygons()
    blank.loc[1, "street"] = " "
    with pytest.raises(InputError, match=r"districts feature 2: the district column 'street' is empty"):
        read_districts(blank, "street")
    with pytest.raises(InputError, match="the districts have no CRS"):
        read_districts(_polygons().set_crs(None, allow_override=True), "street")


# ---------------------------------------------------------------- dropped rows
def test_format_dropped_groups_by_reason_in_both_languages():
    rows = [DroppedRow(r, f"站{r}", "missing_coordinates", "坐标为空", "no coordinates") for r in range(2, 14)]
    rows.append(DroppedRow(20, "合计", "total_row", "合计行", "total row"))
    zh = format_dropped(rows, limit=3)
    assert zh == "13 行未使用：第 2、3、4 等 12 行 坐标为空；第 20 行 合计行"
    assert format_dropped(rows, lang="en", source="台账.csv", limit=3) == (
        "台账.csv: 13 rows not used: rows 2, 3, 4 and 9 more no coordinates; row 20 total row")
    assert format_dropped([]) == ""
    assert dropped_frame(rows[:1]).to_dict("records") == [
        {"row": 2, "name": "站2", "reason": "missing_coordinates", "reason_zh": "坐标为空", "reason_en": "no coordinates"}]
    with pytest.raises(InputError, match="lang 'fr'"):
        format_dropped(rows, lang="fr")


@pytest.mark.parametrize("module", [circles.inputs.text, circles.inputs.tables, circles.inputs.dropped])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0

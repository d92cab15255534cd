"""summary.xlsx and districts.xlsx read like a workbook: sheets per purpose, headers in the run's language, percentages,
whole numbers, fitted widths, frozen and filtered headers, and coordinates a planner can paste into Amap or Baidu."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from circles.cli import main
from circles.coords import wgs84_to_bd09, wgs84_to_gcj02
from circles.options import RunOptions
from circles.outputs import districts_workbook, workbook_bytes
from circles.outputs.workbook import sheet
from circles.pipeline import analyse, prepare


@pytest.fixture(scope="module")
def suggested():
    """The sample with three suggested sites per category, as `circles analyze --suggest 3` runs it."""
    return analyse(prepare(RunOptions(sample=True, suggest=3)))


def _book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def _rows(ws) -> list[dict]:
    head = [c.value for c in ws[1]]
    return [dict(zip(head, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]


def test_widths_fit_chinese_text_and_formats_follow_the_columns():
    frame = pd.DataFrame({"district": ["示例一街道综合养老服务中心所在街道", "a"], "coverage": [0.8428, 1.0],
                          "demand_total": [1234.6, 7.0], "lon_gcj02": [114.1234567, 114.0]})
    ws = _book(workbook_bytes([sheet("districts", frame, "zh")]))["分街道"]
    assert [c.value for c in ws[1]] == ["区划", "覆盖率", "服务人口", "经度（GCJ-02 高德/腾讯）"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:D3"
    assert ws["A1"].font.bold
    # 17 Chinese characters are 34 columns wide (+2): a width by characters would cut them in half
    assert ws.column_dimensions["A"].width == 36
    assert ws["B2"].value == 0.8428 and ws["B2"].number_format == "0.0%"  # shows 84.3%, stays a number
    assert ws["C2"].value == 1235 and isinstance(ws["C2"].value, int) and ws["C2"].number_format == "#,##0"
    assert ws["D2"].number_format == "0.000000"
    en = _book(workbook_bytes([sheet("districts", frame, "en")]))["districts"]
    assert [c.value for c in en[1]][:2] == ["district", "coverage"]


def test_analyze_workbook_has_a_sheet_per_purpose(suggested, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["analyze", "--sample", "--suggest", "3", "--lang", "zh", "--out", str(out)])
    assert result.exit_code == 0, result.output
    book = _book((out / "summary.xlsx").read_bytes())
    assert book.sheetnames == ["总览", "分街道", "缺口", "建议选址", "设施", "规则检查", "分人群",
                               "一站式与公平"]
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref, ws.title
        assert not any(str(c.value).isascii() for c in ws[1] if c.value), [c.value for c in ws[1]]  # Chinese headers
    overview = _rows(book["总览"])
    elderly = suggested.report.category("elderly")
    first = overview[0]
    assert first["类别"] == "elderly" and first["覆盖人口"] == round(elderly.demand_covered)
    assert book["总览"]["I2"].number_format == "0.0%" and first["覆盖率"] == pytest.approx(elderly.coverage, abs=1e-4)
    districts = _rows(book["分街道"])
    assert {r["区划"] for r in districts} == {"示例一街道", "示例二街道", "示例镇"}
    assert {r["类别"] for r in districts} == {"养老服务设施", "老年助餐服务", "未成年人保护服务"}
    gaps = _rows(book["缺口"])
    assert gaps and all(isinstance(r["未覆盖人口"], int) for r in gaps) and gaps[0]["区划"]
    rules = _rows(book["规则检查"])
    assert rules and all(r["依据（标准条款）"] for r in rules) and {r["是否达标"] for r in rules} <= {"是", "否", None}
    facilities = _rows(book["设施"])
    assert len(facilities) == len(suggested.report.facilities) and {"距道路(米)", "提示"} <= set(facilities[0])


def test_suggestion_sheet_coordinates_for_amap_and_baidu(suggested, tmp_path):
    files = suggested.files()
    book = _book(files["summary.xlsx"])
    rows = _rows(book["建议选址"])
    sites = [s for r in suggested.suggestions for s in r.sites.itertuples()]
    assert len(rows) == len(sites) >= 6  # up to 3 per category (fewer where fewer are useful)
    head = list(rows[0])
    gcj = [h for h in head if "GCJ-02" in h]
    assert gcj == ["经度（GCJ-02 高德/腾讯）", "纬度（GCJ-02 高德/腾讯）"]
    for row, site in zip(rows, sites):
        assert row["经度（WGS84）"] == pytest.approx(site.lon, abs=1e-7)
        lon, lat = wgs84_to_gcj02(row["经度（WGS84）"], row["纬度（WGS84）"])
        assert (row["经度（GCJ-02 高德/腾讯）"], row["纬度（GCJ-02 高德/腾讯）"]) == pytest.approx((lon, lat), abs=1e-7)
        lon, lat = wgs84_to_bd09(row["经度（WGS84）"], row["纬度（WGS84）"])
        assert (row["经度（BD-09 百度）"], row["纬度（BD-09 百度）"]) == pytest.approx((lon, lat), abs=1e-7)
        assert isinstance(row["新增覆盖人数"], int) and row["新增后覆盖率"] >= row["新增前覆盖率"]
    first = suggested.suggestions[0]
    assert rows[0]["新增前覆盖率"] == pytest.approx(first.coverage_before)
    assert rows[0]["排序"] == 1 and "名称" not in head  # generated points are known by their rank
    assert suggested.files()["summary.xlsx"] == files["summary.xlsx"]  # deterministic bytes


def test_english_workbook_and_the_batch_districts_workbook(suggested):
    english = _book(analyse(prepare(RunOptions(sample=True, lang="en"))).files()["summary.xlsx"])
    assert english.sheetnames == ["overview", "districts", "gaps", "facilities", "rule checks",
                                  "need groups", "one-stop and equity"]
    assert [c.value for c in english["gaps"][1]][:3] == ["category", "rank", "district"]
    table, rules = suggested.tables()
    book = _book(districts_workbook(table, "zh", rules, suggested.report.profile))
    assert book.sheetnames == ["分街道", "规则检查"]
    assert book["分街道"]["A1"].value == "区划" and book["分街道"].freeze_panes == "A2"
    assert all(r["依据（标准条款）"] for r in _rows(book["规则检查"]))


@pytest.mark.shared_data
def test_population_outside_the_data_has_its_sheet(tmp_path):
    """Zones reaching past the extract: the 人口分配 sheet lists, by zone name, what was placed and what lies outside."""
    from circles.options import RunOptions
    from circles.pipeline import analyse, prepare
    from conftest import shared_data
    from test_batch import BEIJING_LEDGER

    ledger = tmp_path / "ledger.csv"
    ledger.write_text(BEIJING_LEDGER, encoding="utf-8")
    streets = str(shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg"))
    result = analyse(prepare(RunOptions(network=str(shared_data("osm/beijing_haidian_wudaokou.osm")),
                                        facilities=str(ledger), coords="wgs84", population_zones=streets,
                                        zone_population_col="population", figures_only=True, no_report=True)))
    files = result.files()
    summary = json.loads(files["summary.json"])
    book = openpyxl.load_workbook(io.BytesIO(files["summary.xlsx"]))
    sheet = book["人口分配"]
    head = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(head, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    stated = {z["zone"]: z for z in summary["inputs"]["population_zones"]}
    assert set(rows) == set(stated) and "海淀区/学院路街道" in rows  # county/street: names repeat across counties
    assert sum(r["数据范围外（未分配）"] for r in rows.values()) == pytest.approx(summary["inputs"]["population_outside"])
    assert rows["海淀区/学院路街道"]["总人口"] == pytest.approx(stated["海淀区/学院路街道"]["total"])
    assert sheet["C2"].number_format == "0.0%" and sheet.freeze_panes == "A2"

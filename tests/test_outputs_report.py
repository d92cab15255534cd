"""report.docx: the Word report of every analysis (and a batch's city report), read back with python-docx."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from click.testing import CliRunner

from circles.cli import main
from circles.options import RunOptions
from circles.outputs.report import analysis_report, city_report
from circles.pipeline import analyse, prepare
from conftest import shared_data

docx = pytest.importorskip("docx", reason="python-docx is a dependency: pip install -e .")


def _text(document) -> str:
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


@pytest.fixture(scope="module")
def suggested():
    return analyse(prepare(RunOptions(sample=True, suggest=2)))


def test_every_analyze_output_has_a_report(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["analyze", "--sample", "--suggest", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = docx.Document(str(out / "report.docx"))
    text = _text(document)
    title = document.paragraphs[0].text
    assert title == "示例区15分钟服务圈评估报告" and dt.date.today().isoformat() in document.paragraphs[1].text
    assert len(document.inline_shapes) == 4  # a map per category, drawn offline with the streets; the Lorenz curves
    assert len(document.tables) >= 5
    for street in ("示例一街道", "示例二街道", "示例镇"):  # the gaps and districts are named by their streets
        assert street in text
    assert "GB 50180-2018" in text and "民发〔2023〕58号" in text  # the standards are cited
    assert "建议新增站点" in text and "GCJ-02" in text and "BD-09" in text
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、总体情况", "二、覆盖地图", "三、分类别与层级覆盖", "四、分街道（乡镇）覆盖", "五、规则检查",
                        "六、一站式与公平性", "七、主要覆盖缺口", "八、建议新增站点", "九、数据来源与方法"]
    rules = next(t for t in document.tables if t.rows[0].cells[-1].text == "依据（标准条款）")
    assert all(row.cells[-1].text for row in rules.rows[1:])


def test_no_report_option_and_english(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["analyze", "--sample", "--no-report", "--lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "report.docx").exists() and (out / "summary.xlsx").exists()
    english = analyse(prepare(RunOptions(sample=True, lang="en")))
    document = docx.Document(io.BytesIO(analysis_report(english)))
    assert document.paragraphs[0].text == "15-minute service circles: the sample district"
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[0] == "1. Summary" and not any(re.search(r"[\u4e00-\u9fff]", h) for h in headings[:6])
    assert "No site suggestions were asked for" in _text(document)


def test_same_day_same_bytes_and_fast(suggested):
    day = dt.date(2026, 1, 5)
    t0 = time.perf_counter()
    first = analysis_report(suggested, date=day)
    seconds = time.perf_counter() - t0
    assert analysis_report(suggested, date=day) == first
    document = docx.Document(io.BytesIO(first))
    assert document.core_properties.created.date() == day
    assert "2026-01-05" in document.paragraphs[1].text
    print(f"\nreport.docx of the sample: {seconds:.2f} s, {len(first) / 1e6:.2f} MB")
    assert seconds < 20  # per district of a batch: about a second on the sample


def test_city_report_of_a_batch(suggested):
    table, rules = suggested.tables()
    failed = table.iloc[:1].assign(district="远郊镇", status="failed", cause="no network", demand_total=None,
                                   demand_covered=None, coverage=None)
    import pandas as pd

    whole = pd.concat([table, failed], ignore_index=True)
    data = city_report(whole, suggested.districts, suggested.report.profile, lang="zh", rules=rules, area="示例市",
                       date=dt.date(2026, 1, 5))
    document = docx.Document(io.BytesIO(data))
    text = _text(document)
    assert document.paragraphs[0].text == "示例市各街道（乡镇）15分钟服务圈评估报告"
    assert len(document.inline_shapes) == len(suggested.report.categories)  # a choropleth per category
    assert "远郊镇" in text and "分析失败" in text and "示例二街道" in text
    assert len(document.tables) == 2 and "依据（标准条款）" in text


@pytest.mark.shared_data
def test_report_on_real_streets(tmp_path):
    from test_batch import BEIJING_LEDGER

    osm = shared_data("osm/beijing_haidian_wudaokou.osm")
    zones = shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(BEIJING_LEDGER, encoding="utf-8")
    result = analyse(prepare(RunOptions(network=str(osm), facilities=str(ledger), coords="wgs84",
                                        population_zones=str(zones), zone_population_col="population",
                                        districts=str(zones), district_col="county,street", suggest=1)))
    document = docx.Document(io.BytesIO(analysis_report(result)))
    text = _text(document)
    assert document.paragraphs[0].text.startswith("beijing_haidian_wudaokou")
    assert "海淀区/清华园街道" in text and len(document.inline_shapes) == 4
    gaps = [t for t in document.tables if t.rows[0].cells[1].text == "区划" and t.rows[0].cells[0].text == "排序"]
    assert gaps and all("街道" in row.cells[1].text or "镇" in row.cells[1].text or "乡" in row.cells[1].text
                        for t in gaps for row in t.rows[1:])


def test_figures_only_report_has_no_map_pictures():
    """--figures-only draws nothing: the report keeps its figures and tables, without the map pictures."""
    import docx

    from circles.options import RunOptions
    from circles.pipeline import analyse, prepare

    files = analyse(prepare(RunOptions(sample=True, figures_only=True))).files()
    document = docx.Document(io.BytesIO(files["report.docx"]))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert "二、覆盖地图" not in headings and headings[1] == "二、分类别与层级覆盖"
    assert len(document.inline_shapes) == 1  # the Lorenz curves only
    assert "map.html" not in files

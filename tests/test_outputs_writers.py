"""circles.outputs writers: labels, GeoJSON written column by column, the XLSX writer, and the files of an analysis."""

from __future__ import annotations

import io
import json
import string
import time
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from circles.options import RunOptions
from circles.pipeline import analyse, prepare
from circles.errors import InputError
from circles.outputs import (RUN_MARKER, analysis_files, districts_workbook, feature_collection, group_label, header,
                             label, workbook_bytes, write_analysis)
from circles.outputs.geojson import json_ready
from circles.outputs.labels import LABELS, check_lang

# ---------------------------------------------------------------------------------------------- labels


def test_every_label_has_both_languages_with_the_same_fields():
    for key, (zh, en) in LABELS.items():
        assert zh and en, key
        fields = [{f for _, f, _, _ in string.Formatter().parse(t) if f} for t in (zh, en)]
        assert fields[0] == fields[1], key


def test_one_wording_per_demand_group():
    assert group_label("pop_60plus", "zh") == "60岁及以上老人" and group_label("pop_60plus", "en") == "people aged 60+"
    sentence = label("map.site_added", "zh", n="500", group=group_label("pop_60plus", "zh"))
    assert sentence == "可新增覆盖 500 名60岁及以上老人"
    assert group_label("households", "zh") == "households"  # a column of a profile's own keeps its name
    assert header("demand_covered", "en") == "demand covered" and header("minutes_elderly", "zh") == "minutes_elderly"


def test_an_unknown_language_is_one_line():
    with pytest.raises(InputError, match=r"^lang 'fr' is not supported; use zh or en"):
        check_lang("fr")
    with pytest.raises(InputError):
        header("coverage", "fr")


# ---------------------------------------------------------------------------------------------- GeoJSON


def _reference(geoms, frame: pd.DataFrame) -> str:
    """What json.dumps per feature gives (the writer before it was written column by column)."""
    geoms = shapely.orient_polygons(shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.round(c, 7)),
                                    exterior_cw=False)
    lines = []
    for g, props in zip(geoms, frame.to_dict("records")):
        text = shapely.to_geojson(g) if g is not None else "null"
        lines.append('{"type": "Feature", "geometry": ' + text + ', "properties": '
                     + json.dumps(json_ready(props), ensure_ascii=False) + "}")
    return '{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + ("\n" if lines else "") + "]}\n"


def test_properties_written_by_column_equal_json_dumps_per_feature():
    rng = np.random.default_rng(7)
    n = 200
    floats = rng.normal(0, 1e4, n) * 10.0 ** rng.integers(-9, 9, n)
    floats[::17] = np.nan
    floats[5], floats[6], floats[7] = np.inf, -0.0, 0.1 + 0.2
    words = ['甲"乙', "a\\b", "tab\tnew\nline", "\x01", "", "é", None, np.nan]
    frame = pd.DataFrame({
        "kind": "gap_area", "rank": np.arange(n), "share": floats, "flag": rng.random(n) > 0.5,
        "name": [words[i % len(words)] for i in range(n)],
        "count": pd.array([None if i % 5 == 0 else i for i in range(n)], dtype="Int64"),
        "mixed": [[1, 2.5] if i % 3 == 0 else {"radius": 3.25, "colour": "#fff"} if i % 3 == 1 else np.int64(i)
                  for i in range(n)],
    })
    xs, ys = rng.uniform(114, 115, n), rng.uniform(30, 31, n)
    geoms = np.array([shapely.Point(x, y) if i % 11 else None for i, (x, y) in enumerate(zip(xs, ys))], dtype=object)
    assert feature_collection(geoms, frame) == _reference(geoms, frame)
    assert feature_collection([], {}) == '{"type": "FeatureCollection", "features": [\n]}\n'


def test_polygons_are_rfc7946():
    clockwise = shapely.Polygon([(0, 0), (0, 1), (1, 1), (1, 0)], holes=[[(0.2, 0.2), (0.4, 0.2), (0.4, 0.4)]])
    doc = json.loads(feature_collection([shapely.affinity.translate(clockwise, 114.123456789, 30.0)], {"k": [1]}))
    ring, hole = doc["features"][0]["geometry"]["coordinates"]
    assert shapely.LinearRing(ring).is_ccw and not shapely.LinearRing(hole).is_ccw
    assert ring[0][0] == 114.1234568  # 7 decimals


# ---------------------------------------------------------------------------------------------- workbooks


def test_workbook_cells_keep_their_types_and_the_bytes_their_times():
    frame = pd.DataFrame({"名称": ["甲", "=1+1", None], "人数": [12, -3, 7], "覆盖率": [0.5, np.nan, np.inf],
                          "达标": [True, False, True], "ctrl": ["a\x01b", "\tx", "ok"]})
    first = workbook_bytes([("汇总", frame)])
    time.sleep(2.1)  # zip entries carry seconds/2: a stamped time would differ now
    assert workbook_bytes([("汇总", frame)]) == first
    sheet = openpyxl.load_workbook(io.BytesIO(first))["汇总"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [["名称", "人数", "覆盖率", "达标", "ctrl"], ["甲", 12, 0.5, True, "ab"],
                    ["'=1+1", -3, None, False, "'\tx"], [None, 7, None, True, "ok"]]
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z" in z.read("docProps/core.xml")


def test_districts_workbook_words_follow_the_language():
    table = pd.DataFrame({"district": ["一街道", "二街道"], "status": ["ok", "failed"], "rules_ok": [True, None],
                          "coverage": [0.8, None]})
    zh = openpyxl.load_workbook(io.BytesIO(districts_workbook(table, "zh")))
    assert zh.sheetnames == ["分街道"]
    assert [[c.value for c in r] for r in zh.active.iter_rows()] == [
        ["区划", "状态", "规则达标", "覆盖率"], ["一街道", "完成", "是", 0.8], ["二街道", "失败", None, None]]
    assert zh.active["D2"].number_format == "0.0%" and zh.active.freeze_panes == "A2"
    en = openpyxl.load_workbook(io.BytesIO(districts_workbook(table, "en")))
    assert [c.value for c in next(en.active.iter_rows())] == ["district", "status", "rules met", "coverage"]
    assert [c.value for c in list(en.active.iter_rows())[1]] == ["一街道", "ok", "yes", 0.8]


# ---------------------------------------------------------------------------------------------- an analysis


@pytest.fixture(scope="module")
def sample():
    return analyse(prepare(RunOptions(sample=True)))


def test_analysis_files_are_the_contract_and_deterministic(sample, tmp_path):
    files = analysis_files(sample.report, inputs=sample.inputs, lang="en", service_areas=sample.service_areas,
                           map_page="<!doctype html><p>map</p>")
    assert list(files) == ["summary.json", "access.csv", "gaps.geojson", "isochrones.geojson", "summary.csv",
                           "summary.xlsx", "districts.csv", "map.html"]
    assert files == analysis_files(sample.report, inputs=sample.inputs, lang="en", service_areas=sample.service_areas,
                                   map_page="<!doctype html><p>map</p>")
    assert files["summary.csv"].decode("utf-8-sig").splitlines()[0] == ("category,tier,label,facilities,demand group,"
                                                                        "demand total,demand covered,uncovered,"
                                                                        "coverage,minutes,travel mode,"
                                                                        "speed (km/h; blank = by road class)")
    zh = analysis_files(sample.report, inputs=sample.inputs, lang="zh", service_areas=sample.service_areas)
    assert zh["summary.csv"].decode("utf-8-sig").startswith("类别,层级,名称,设施数,服务人群,服务人口,覆盖人口")
    assert "map.html" not in zh
    assert openpyxl.load_workbook(io.BytesIO(zh["summary.xlsx"])).sheetnames == ["总览", "分街道", "缺口", "设施",
                                                                                        "分人群", "一站式与公平"]
    written = write_analysis(sample.report, tmp_path / "out", inputs=sample.inputs, lang="zh",
                             service_areas=sample.service_areas)
    assert [p.name for p in written] == list(zh)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([*zh, RUN_MARKER])
    assert all(p.read_bytes() == zh[p.name] for p in written)


def test_added_sites_go_into_gaps_geojson(sample):
    import geopandas as gpd

    sites = gpd.GeoDataFrame({"category": ["meal"], "rank": [1], "name": ["新站"]},
                             geometry=gpd.points_from_xy([114.30], [30.60]), crs="EPSG:4326")
    files = analysis_files(sample.report, inputs=sample.inputs, lang="zh", suggestions=sites)
    feats = json.loads(files["gaps.geojson"])["features"]
    assert feats[-1]["properties"] == {"kind": "suggested_site", "category": "meal", "rank": 1, "name": "新站"}
    assert "suggestions" not in json.loads(files["summary.json"])  # figures come with SitingResult objects only


def test_written_folder_holds_the_same_bytes_as_files(tmp_path):
    """`AnalysisResult.write` makes the map, the GeoJSON files and the report only when it writes them (a smaller
    peak of memory): the folder holds exactly the bytes `files()` gives, in the same order."""
    from circles.options import RunOptions
    from circles.pipeline import analyse, prepare

    result = analyse(prepare(RunOptions(sample=True, suggest=1, categories="elderly")))
    lazy = result.files(lazy=True)
    assert callable(lazy["map.html"]) and callable(lazy["gaps.geojson"]) and callable(lazy["report.docx"])
    written = result.write(tmp_path / "out")
    files = result.files()
    assert [p.name for p in written] == list(files)
    for path in written:
        assert path.read_bytes() == files[path.name], path.name

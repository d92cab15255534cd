"""Hostile names through every output: no formula in a CSV/XLSX cell, no script or element injected into a page.

Districts, residential compounds, facilities and suggested sites are named like the payloads a
planner's ledger could carry (``<img src=x onerror=alert(1)>``, ``=HYPERLINK(...)``, ``-2+3`` ...);
the analysis files, the offline map and the batch outputs (districts workbook, GeoJSON, choropleth)
are then read the way Excel and a browser read them: every XLSX with openpyxl, every CSV with the
csv module, every page in headless Chromium (offline) with every layer shown and every tooltip open.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from circles.options import RunOptions
from circles.pipeline import analyse, prepare
from circles.districts import DISTRICT_COLUMNS
from circles.outputs import (analysis_files, cell_text, csv_bytes, districts_geojson, districts_workbook, html_text,
                             safe_frame)
from circles.outputs.map import coverage_map, districts_map_page, map_html
from circles.outputs.safety import FORMULA_STARTS, html_format
from circles.sample import make_sample, write_sample_files

NAMES = ('<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '=HYPERLINK("http://example.com","click")',
         "=1+1", "@SUM(1)", "+1", "-2+3", "\tx")
FORMULA_LIKE = tuple(n for n in NAMES if n.startswith(FORMULA_STARTS))
STREETS = {"示例一街道": NAMES[0], "示例二街道": NAMES[2], "示例镇": NAMES[7]}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_BINARY = Path("/usr/lib/chromium/chromium")  # Debian's /usr/bin/chromium is a wrapper script


# ---------------------------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(1)", "'@SUM(1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("plain 名称", "plain 名称"), ("", ""), (-2, -2), (-2.5, -2.5), (True, True), (None, None),
])
def test_cell_text_prefixes_formula_like_text_only(value, expected):
    assert cell_text(value) == expected and type(cell_text(value)) is type(expected)


def test_safe_frame_keeps_numbers_and_the_index():
    frame = pd.DataFrame({"name": ["=1+1", "ok", None], "n": [-2, 3, 4], "share": [-0.5, np.nan, 1.0],
                          "=col": [True, False, True]}, index=[10, 11, 12])
    safe = safe_frame(frame)
    assert safe["name"].tolist()[:2] == ["'=1+1", "ok"] and safe["name"].isna().tolist()[2]
    assert safe["n"].tolist() == [-2, 3, 4] and safe["n"].dtype == frame["n"].dtype
    assert safe["share"].iloc[0] == -0.5 and list(safe.index) == [10, 11, 12]
    assert list(safe.columns) == ["name", "n", "share", "'=col"]
    assert frame["name"].iloc[0] == "=1+1"  # the input is not changed
    assert csv_bytes(frame).startswith(b"\xef\xbb\xbfname,n,share,'=col\n'=1+1,-2,-0.5,True\n")


def test_html_text_and_format_escape_every_value():
    assert html_text(NAMES[0]) == "&lt;img src=x onerror=alert(1)&gt;"
    assert html_text('"\'&') == "&quot;&#x27;&amp;"
    assert html_format("<b>{name}</b> {n:.1f}", name=NAMES[1], n=2.25) == \
        "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> 2.2"
    assert html_text(html_text("<b>")) == "&lt;b&gt;"  # escaped once, not twice


# ---------------------------------------------------------------------------------------------- the outputs


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The sample (size 0.3) with hostile names, analysed end to end from its files, and every output."""
    root = tmp_path_factory.mktemp("hostile")
    sample = make_sample(size=0.3, seed=2024)
    paths = write_sample_files(sample, root)
    for key, column in (("facilities", "名称"), ("population", "小区名称")):
        table = pd.read_csv(paths[key], encoding="utf-8-sig", dtype=str)
        table[column] = [NAMES[i % len(NAMES)] for i in range(len(table))]
        table["所属街道"] = table["所属街道"].map(STREETS)
        table.to_csv(paths[key], index=False, encoding="utf-8-sig")
    districts = sample.districts[["street", "geometry"]].assign(street=lambda d: d["street"].map(STREETS))
    result = analyse(prepare(RunOptions(network=str(paths["osm"]), facilities=str(paths["facilities"]), coords="wgs84",
                                        population=str(paths["population"]), district_col="street"),
                             districts=districts))
    lo0, la0, lo1, la1 = districts.total_bounds
    sites = gpd.GeoDataFrame({"category": ["elderly", "meal", "child"], "rank": [1, 2, 3],
                              "name": [NAMES[1], NAMES[3], NAMES[7]], "added_covered": [10.0, 5.0, 1.0]},
                             geometry=gpd.points_from_xy([lo0 + 0.3 * (lo1 - lo0)] * 3, [la0 + 0.5 * (la1 - la0)] * 3),
                             crs="EPSG:4326")
    report = result.report
    page = map_html(coverage_map(report, service_areas=result.service_areas, suggestions=sites, districts=districts,
                                 district_col="street", lang="zh"))
    files = {lang: analysis_files(report, inputs=result.inputs, lang=lang, service_areas=result.service_areas,
                                  suggestions=sites, map_page=page if lang == "zh" else None) for lang in ("zh", "en")}
    table = _batch_table(report, districts)
    batch_districts = gpd.GeoDataFrame({"name": districts["street"], "folder": [f"{n}/x" for n in districts["street"]]},
                                       geometry=districts.geometry.values, crs="EPSG:4326")
    collection = districts_geojson(batch_districts, table, report.profile)
    batch = {lang: {"districts.xlsx": districts_workbook(table, lang), "districts.csv": csv_bytes(table),
                    "summary_map.html": districts_map_page(collection, report.profile, lang).encode("utf-8")}
             for lang in ("zh", "en")}
    return {"report": report, "files": files, "batch": batch, "collection": collection, "root": root}


def _batch_table(report, districts) -> pd.DataFrame:
    """A combined table as `circles batch` writes it: the first district done, the others failed with hostile causes."""
    rows = []
    for k, name in enumerate(districts["street"]):
        for c in report.categories:
            ok = k == 0
            rows.append({"district": name, "category": c.category, "label": NAMES[3 + k % 3],
                         "status": "ok" if ok else "failed",
                         "facilities": 2 if ok else None, "demand_column": c.demand_column,
                         "demand_total": 100.0 if ok else None, "demand_covered": 80.0 if ok else None,
                         "uncovered": 20.0 if ok else None, "coverage": 0.8 if ok else None,
                         "minutes": 15 if ok else None, "inside_share": 1.0, "partial": False,
                         "rules_ok": True if ok else None,
                         "cause": "" if ok else (NAMES[1] if k == 1 else NAMES[6])})
    return pd.DataFrame(rows, columns=list(DISTRICT_COLUMNS)).astype({"facilities": "Int64"})


def _all_outputs(hostile) -> list[tuple[str, bytes]]:
    out = [(f"{lang}/{name}", data) for lang, files in hostile["files"].items() for name, data in files.items()]
    out += [(f"batch-{lang}/{name}", data) for lang, files in hostile["batch"].items() for name, data in files.items()]
    return out


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def test_no_csv_cell_starts_like_a_formula(hostile):
    seen: set[str] = set()
    for name, data in _all_outputs(hostile):
        if not name.endswith(".csv"):
            continue
        assert data.startswith(b"\xef\xbb\xbf"), name
        cells = [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for c in row]
        bad = [c for c in cells if c.startswith(FORMULA_STARTS) and not _is_number(c)]
        assert bad == [], (name, bad[:5])
        seen.update(c for c in cells if c.startswith("'"))
    assert {"'" + n for n in FORMULA_LIKE} <= seen  # every payload went through a CSV, neutralised


def test_no_xlsx_cell_is_a_formula(hostile):
    seen: set[str] = set()
    for name, data in _all_outputs(hostile):
        if not name.endswith(".xlsx"):
            continue
        book = openpyxl.load_workbook(io.BytesIO(data))
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (name, sheet.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert not cell.value.startswith(FORMULA_STARTS), (name, cell.coordinate, cell.value)
                        seen.add(cell.value)
    assert {"'" + n for n in FORMULA_LIKE} <= seen
    assert NAMES[0] in seen  # markup is plain text in a workbook


def test_geojson_keeps_the_names_as_data(hostile):
    gaps = json.loads(hostile["files"]["zh"]["gaps.geojson"])
    names = {f["properties"].get("name") for f in gaps["features"]}
    assert {NAMES[1], NAMES[3], NAMES[7]} <= names  # the suggested sites, as given
    assert {f["properties"]["district"] for f in hostile["collection"]["features"]} == set(STREETS.values())


# ---------------------------------------------------------------------------------------------- in a browser

_SHOW_EVERYTHING = """() => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    for (const v of Object.values(window)) {
        if (v instanceof L.FeatureGroup && !(v instanceof L.GeoJSON) && !map.hasLayer(v)) map.addLayer(v);
    }
    let opened = 0;
    map.eachLayer(layer => {
        if (layer.getTooltip && layer.getTooltip()) { layer.openTooltip(); opened += 1; }
    });
    return opened;
}"""

_INJECTED = """() => ({
    images: document.querySelectorAll('img[src="x"], img[onerror]').length,
    scripts: [...document.scripts].filter(s => s.textContent.includes('alert(1)') && s.textContent.length < 100).length,
    handlers: [...document.querySelectorAll('*')].filter(e => e.hasAttribute('onerror')).length,
    text: document.body.innerText,
})"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) "
                    "to render the pages")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install "
                                   "playwright (the system Chromium is used, no browser download)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM_BINARY if CHROMIUM_BINARY.exists() else CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--host-resolver-rules=MAP * ~NOTFOUND"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize("which", ["zh/map.html", "batch-zh/summary_map.html", "batch-en/summary_map.html"])
def test_pages_show_hostile_names_as_text(hostile, browser, tmp_path, which):
    data = dict(_all_outputs(hostile))[which]
    path = tmp_path / "page.html"
    path.write_bytes(data)
    page = browser.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector('body[data-circles-map="ready"]', state="attached", timeout=60_000)
    opened = page.evaluate(_SHOW_EVERYTHING)
    page.wait_for_timeout(300)
    found = page.evaluate(_INJECTED)
    page.close()
    assert errors == [] and dialogs == []
    assert opened > 0
    assert found["images"] == 0 and found["scripts"] == 0 and found["handlers"] == 0
    for name in (NAMES[0], NAMES[2], NAMES[1]):  # district labels/tooltips, and unit or failure-cause tooltips
        assert name in found["text"], name

"""Issue 13 end to end: hostile names through `circles analyze`, `circles batch` and the app's downloads.

A careless or hostile planner's files, run through the command line exactly as a user runs it
(click's CliRunner on `circles.cli.main`): districts, facilities, their addresses, residential
compounds and candidate premises are named ``<img src=x onerror=alert(1)>``, ``=HYPERLINK(...)``,
``=1+1``, ``@SUM(1)``, ``+1``, ``-1+2`` ... Then every file written is read the way its reader
reads it: every CSV cell with the csv module and every XLSX cell with openpyxl (no formula), every
page in headless Chromium (no dialog, no injected element, the names shown as text) and raw (no
unescaped markup, also after the JavaScript string escapes are undone), report.docx with
python-docx (the names as given), every JSON/GeoJSON parsed. The app's download buttons are read
from the bytes Streamlit was handed. Also: a ledger with 8 of 12 rows unusable, and a damaged
network cache under `circles analyze`.

`tests/test_outputs_safety.py` checks the writers one by one on in-memory results; this file
checks what the commands leave on disk.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from pathlib import Path

import docx
import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

import browser
from circles.cli import main
from circles.outputs.labels import sheet_name
from circles.outputs.safety import FORMULA_STARTS
from circles.sample import make_sample, write_sample_files

NAMES = ('<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '=HYPERLINK("http://x","click")',
         "=1+1", "@SUM(1)", "+1", "-1+2")
MARKUP = NAMES[:2]
FORMULA_LIKE = tuple(n for n in NAMES if n.startswith(FORMULA_STARTS))
EMPTY_DISTRICT = NAMES[6]  # a 30 m square where nobody lives: batch fails it, with its name in the cause
SIZE, SEED = 0.3, 2024  # the small sample: every command below runs in a few seconds


# ---------------------------------------------------------------------------------------------- the inputs


def _hostile(i: int) -> str:
    """The i-th hostile name: the payloads as they are first, then numbered (still formula-like or markup)."""
    return NAMES[i % len(NAMES)] if i < len(NAMES) else f"{NAMES[i % len(NAMES)]} {i}"


def _hostile_districts(sample) -> gpd.GeoDataFrame:
    """Each sample street cut in two at the median longitude of its residents (both halves lived in), plus
    `EMPTY_DISTRICT`: seven districts, one per hostile name."""
    people = shapely.points(sample.population[["lon", "lat"]].to_numpy(float))
    parts = []
    for street in sample.districts.geometry:
        x0, y0, x1, y1 = street.bounds
        inside = shapely.get_x(people[shapely.contains(street, people)])
        assert len(inside) >= 2
        xm = float(np.median(inside))
        parts += [shapely.intersection(street, shapely.box(x0 - 1, y0 - 1, xm, y1 + 1)),
                  shapely.intersection(street, shapely.box(xm, y0 - 1, x1 + 1, y1 + 1))]
    c = shapely.centroid(sample.districts.geometry.iloc[0])
    empty = next(box for dx in np.linspace(-0.004, 0.004, 17)
                 if not shapely.contains(box := shapely.box(c.x + dx, c.y, c.x + dx + 0.0003, c.y + 0.00027),
                                         people).any() and shapely.contains(sample.districts.geometry.iloc[0], box))
    return gpd.GeoDataFrame({"street": list(NAMES)}, geometry=[*parts, empty], crs="EPSG:4326")


def write_hostile_inputs(folder: Path, size: float = SIZE) -> dict[str, Path]:
    """The sample's files with every name hostile: ledger (名称, 地址, 所属街道), population (小区名称, 所属街道),
    districts (street) and candidate premises at the residential compounds (名称, with markup: a chosen site's
    name reaches the map's popup)."""
    sample = make_sample(size=size, seed=SEED)
    paths = write_sample_files(sample, folder)
    for key, columns in (("facilities", ("名称", "地址", "所属街道")), ("population", ("小区名称", "所属街道"))):
        table = pd.read_csv(paths[key], encoding="utf-8-sig", dtype=str)
        for shift, column in enumerate(columns):
            table[column] = [_hostile(i + shift) for i in range(len(table))]
        table.to_csv(paths[key], index=False, encoding="utf-8-sig")
    paths["districts"] = folder / "districts.geojson"
    _hostile_districts(sample).to_file(paths["districts"], driver="GeoJSON")
    units = sample.population
    paths["candidates"] = folder / "candidates.csv"
    pd.DataFrame({"名称": [f"{_hostile(i + 3)} {NAMES[0]}" for i in range(len(units))], "经度": units["lon"],
                  "纬度": units["lat"]}).to_csv(paths["candidates"], index=False, encoding="utf-8-sig")
    return paths


def _args(paths: dict[str, Path]) -> list[str]:
    return ["--network", str(paths["osm"]), "--facilities", str(paths["facilities"]), "--coords", "wgs84",
            "--population", str(paths["population"]), "--districts", str(paths["districts"]),
            "--district-col", "street"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`circles analyze` (with suggested sites from hostile candidate premises) and `circles batch`, zh and en."""
    root = tmp_path_factory.mktemp("hostile_e2e")
    paths = write_hostile_inputs(root / "inputs")
    runner = CliRunner()
    results = {}
    for lang in ("zh", "en"):
        results[f"analyze-{lang}"] = runner.invoke(main, [
            "analyze", *_args(paths), "--lang", lang, "--suggest", "1", "--categories", "elderly",
            "--candidates", str(paths["candidates"]), "--out", str(root / f"analyze-{lang}")])
        results[f"batch-{lang}"] = runner.invoke(main, ["batch", *_args(paths), "--lang", lang, "-q",
                                                        "--out", str(root / f"batch-{lang}")])
    return {"root": root, "paths": paths, "results": results}


def _outputs(runs, suffixes: tuple[str, ...]) -> list[Path]:
    """Every output file of the four runs ending in one of `suffixes` (district folders included)."""
    found = [p for name in runs["results"] for p in sorted((runs["root"] / name).rglob("*"))
             if p.is_file() and p.name.endswith(suffixes)]
    assert found, suffixes
    return found


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def test_the_commands_run_and_fail_only_the_empty_district(runs):
    res = runs["results"]
    for lang in ("zh", "en"):
        assert res[f"analyze-{lang}"].exit_code == 0, res[f"analyze-{lang}"].output
        batch = res[f"batch-{lang}"]
        assert batch.exit_code == 1, batch.output  # the empty district failed, on purpose
        assert "7: 6 done, 1 failed" in batch.output and "Traceback" not in batch.output
        table = pd.read_csv(runs["root"] / f"batch-{lang}" / "districts.csv", encoding="utf-8-sig", dtype=str)
        failed = table.loc[table["status"] == "failed", "district"]
        assert set(failed) == {"'" + EMPTY_DISTRICT}  # written neutralised
    summary = json.loads((runs["root"] / "analyze-zh" / "summary.json").read_text(encoding="utf-8"))
    sites = summary["suggestions"]["elderly"]["sites"]
    assert sites and all(s["name"].startswith(NAMES) and s["name"].endswith(NAMES[0]) for s in sites)  # hostile
    assert all(set(c["districts"]) == set(NAMES) for c in summary["categories"].values())


# ---------------------------------------------------------------------------------------------- CSV and XLSX


def test_no_csv_cell_of_any_output_reads_as_a_formula(runs):
    seen: set[str] = set()
    for path in _outputs(runs, (".csv",)):
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), path  # UTF-8 with BOM: Excel reads the names right
        cells = [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for c in row]
        bad = [c for c in cells if c.startswith(FORMULA_STARTS) and not _is_number(c)]
        assert bad == [], (path, bad[:5])
        seen.update(cells)
    assert {"'" + n for n in FORMULA_LIKE} <= seen  # every payload reached a CSV, neutralised
    assert set(MARKUP) <= seen  # markup is plain text in a CSV


def test_no_xlsx_cell_of_any_sheet_is_a_formula(runs):
    seen: set[str] = set()
    books = _outputs(runs, (".xlsx",))
    assert {p.name for p in books} == {"summary.xlsx", "districts.xlsx"}
    for path in books:
        book = openpyxl.load_workbook(path)
        lang = "en" if path.relative_to(runs["root"]).parts[0].endswith("-en") else "zh"
        if path.name == "summary.xlsx":
            for key in ("summary", "districts", "gaps", "facilities"):
                assert sheet_name(key, lang) in book.sheetnames, (path, book.sheetnames)
        for ws in book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path, ws.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert not cell.value.startswith(FORMULA_STARTS), (path, ws.title, cell.coordinate)
                        seen.add(cell.value)
    assert {"'" + n for n in FORMULA_LIKE} <= seen
    assert set(MARKUP) <= seen
    facilities = openpyxl.load_workbook(runs["root"] / "analyze-zh" / "summary.xlsx")[sheet_name("facilities", "zh")]
    names = {c.value for c in next(facilities.iter_cols(min_col=1, max_col=1, min_row=2))}
    assert {"'" + n for n in FORMULA_LIKE} <= names and set(MARKUP) <= names  # the ledger's names, each one


# ---------------------------------------------------------------------------------------------- JSON, GeoJSON, Word


def test_json_and_geojson_parse_and_keep_the_names_as_data(runs):
    for path in _outputs(runs, (".json", ".geojson")):
        json.loads(path.read_text(encoding="utf-8"))
    fc = json.loads((runs["root"] / "batch-zh" / "districts.geojson").read_text(encoding="utf-8"))
    assert {f["properties"]["district"] for f in fc["features"]} == set(NAMES)
    run = json.loads((runs["root"] / "batch-zh" / "batch.json").read_text(encoding="utf-8"))
    assert EMPTY_DISTRICT in json.dumps(run, ensure_ascii=False)


def _docx_text(source: Path | bytes) -> str:
    """Every paragraph's and table cell's text of a Word file (or its bytes)."""
    doc = docx.Document(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_reports_show_the_names_literally(runs):
    for path in _outputs(runs, ("report.docx",)):
        text = _docx_text(path)
        assert "&lt;" not in text and "&amp;" not in text, path  # not HTML-escaped
        assert not any("'" + n in text for n in FORMULA_LIKE), path  # not spreadsheet-neutralised
    city = _docx_text(runs["root"] / "batch-zh" / "report.docx")
    one = _docx_text(runs["root"] / "analyze-zh" / "report.docx")
    for name in NAMES[:6]:  # the districts that were analysed
        assert name in city and name in one, name


# ---------------------------------------------------------------------------------------------- the pages

#: The JavaScript string escapes `circles.outputs.safety.script_json` writes, undone: what a script would see.
_JS_ESCAPES = {"\\u003c": "<", "\\u003e": ">", "\\u0026": "&", "\\u0027": "'", '\\"': '"', "\\/": "/"}


def _no_markup(text: str, where: object) -> None:
    """No hostile markup in the page `text`, also once the JavaScript string escapes are undone."""
    unescaped = re.sub("|".join(re.escape(k) for k in _JS_ESCAPES), lambda m: _JS_ESCAPES[m.group(0)], text)
    for t in (text, unescaped):
        for payload in MARKUP:
            assert payload not in t, (where, payload)
        assert not re.search(r"<img\b[^>]*\bonerror", t, re.I), where


def test_raw_pages_hold_no_unescaped_markup(runs):
    pages = _outputs(runs, (".html",))
    assert {p.name for p in pages} == {"map.html", "summary_map.html"}
    for path in pages:
        _no_markup(path.read_text(encoding="utf-8"), path)


#: Show every layer, open every tooltip, and open every popup one after the other, counting what each inserted.
_SHOW_EVERYTHING = """() => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    for (const v of Object.values(window)) {
        if (v instanceof L.LayerGroup && !(v instanceof L.GeoJSON) && !map.hasLayer(v)) map.addLayer(v);
    }
    const injected = () => document.querySelectorAll('img[src="x"], img[onerror], [onerror]').length
        + [...document.scripts].filter(s => s.textContent.includes('alert(1)') && s.textContent.length < 100).length;
    let tooltips = 0, popups = 0, worst = 0;
    const layers = [];
    map.eachLayer(layer => layers.push(layer));
    for (const layer of layers) {
        if (layer.getTooltip && layer.getTooltip()) { layer.openTooltip(); tooltips += 1; }
    }
    worst = injected();
    for (const layer of layers) {
        if (layer.getPopup && layer.getPopup()) {
            layer.openPopup(); popups += 1; worst = Math.max(worst, injected()); layer.closePopup();
        }
    }
    return {tooltips, popups, worst};
}"""

#: In one document (the page or a frame): injected elements and the text shown.
_INJECTED = """() => ({
    images: document.querySelectorAll('img[src="x"], img[onerror]').length,
    scripts: [...document.scripts].filter(s => s.textContent.includes('alert(1)') && s.textContent.length < 100).length,
    handlers: [...document.querySelectorAll('*')].filter(e => e.hasAttribute('onerror')).length,
    text: document.body ? document.body.innerText : "",
})"""

PAGES = ["analyze-zh/map.html", "analyze-en/map.html", "batch-zh/summary_map.html", "batch-en/summary_map.html",
         "batch-zh/{district}/map.html"]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if not browser.CHROMIUM.exists():
        pytest.skip(f"{browser.CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    with browser.chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@browser.needs_chromium
@pytest.mark.parametrize("which", PAGES)
def test_pages_in_chromium_run_no_hostile_markup_and_show_the_names(runs, chromium, which):
    if "{district}" in which:  # a district's own map: the folder of the <img ...> district
        which = which.format(district=next(p.parent.name for p in (runs["root"] / "batch-zh").glob("*/map.html")
                                           if p.parent.name.startswith("_img")))
    path = runs["root"] / which
    page = chromium.new_page()
    dialogs: list[str] = []
    errors = browser.console_errors(page)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector('body[data-circles-map="ready"]', state="attached", timeout=60_000)
    opened = page.evaluate(_SHOW_EVERYTHING)
    page.wait_for_timeout(300)  # an <img onerror> fires after its failed load
    frames = [f.evaluate(_INJECTED) for f in page.frames]
    page.close()
    assert dialogs == [], dialogs
    assert errors == []
    assert opened["tooltips"] > 0 and opened["worst"] == 0, opened
    if which.startswith("analyze"):
        assert opened["popups"] > 0  # the suggested site's popup, with its hostile name, was opened
    for found in frames:
        assert found["images"] == 0 and found["scripts"] == 0 and found["handlers"] == 0, which
    text = "\n".join(f["text"] for f in frames)
    shown = [n for n in NAMES if n in text]
    assert set(MARKUP) <= set(shown), (which, shown)  # shown as text, not run
    if "summary_map" in which:
        assert set(NAMES) <= set(shown)  # every district, the failed one with its cause


# ---------------------------------------------------------------------------------------------- rows not used

_DROPPED_POSITIONS = [1, 2, 4, 5, 6, 8, 9, 11]  # of the 12 rows: no latitude


@pytest.fixture(scope="module")
def partial_ledger(runs):
    """A 12-row ledger with hostile names whose rows 3, 4, 6, 7, 8, 10, 11, 13 (as Excel numbers them) lack
    coordinates, analysed with the hostile districts; and refused with --strict."""
    folder = runs["root"] / "partial"
    folder.mkdir()
    ledger = pd.read_csv(runs["paths"]["facilities"], encoding="utf-8-sig", dtype=str).head(12)
    ledger["名称"] = [_hostile(i) for i in range(12)]
    ledger.loc[ledger.index[_DROPPED_POSITIONS], "纬度"] = ""
    path = folder / "台账.csv"
    ledger.to_csv(path, index=False, encoding="utf-8-sig")
    args = [a if a != str(runs["paths"]["facilities"]) else str(path) for a in _args(runs["paths"])]
    run = CliRunner().invoke(main, ["analyze", *args, "--out", str(folder / "out")])
    strict = CliRunner().invoke(main, ["analyze", *args, "--strict", "--out", str(folder / "strict")])
    expected = [(k + 2, _hostile(k), "missing_coordinates") for k in _DROPPED_POSITIONS]
    return {"folder": folder, "run": run, "strict": strict, "expected": expected}


def test_a_partial_ledger_is_reported_by_the_run(partial_ledger):
    run, folder = partial_ledger["run"], partial_ledger["folder"]
    assert run.exit_code == 0, run.output
    assert "台账.csv：8 行未使用：第 3、4、6、7、8、10、11、13 行 坐标为空" in run.output
    summary = json.loads((folder / "out" / "summary.json").read_text(encoding="utf-8"))
    dropped = [(d["row"], d["name"], d["reason"]) for d in summary["inputs"]["facilities_dropped"]]
    assert dropped == partial_ledger["expected"]  # exactly those 8, names as given
    assert sum(v["facilities"] for v in summary["categories"].values()) == 12 - 8  # the run used the other 4


def test_a_partial_ledger_is_refused_with_strict_in_one_line(partial_ledger):
    strict = partial_ledger["strict"]
    assert strict.exit_code == 2, strict.output
    errors = [line for line in strict.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--strict" in errors[0] and "坐标为空" in errors[0], strict.stderr
    assert "Traceback" not in strict.output
    assert not (partial_ledger["folder"] / "strict").exists()


def test_the_facilities_table_lists_the_rows_not_used_after_the_facilities(partial_ledger, runs):
    """`facility_table` with the run's ``facilities_dropped``: the 4 facilities, then the 8 rows with row and reason."""
    from circles.options import RunOptions
    from circles.outputs.tables import FACILITY_COLUMNS, facility_table
    from circles.pipeline import analyse, prepare

    paths = runs["paths"]
    result = analyse(prepare(RunOptions(network=str(paths["osm"]), facilities=str(partial_ledger["folder"] / "台账.csv"),
                                        coords="wgs84", population=str(paths["population"]), figures_only=True)))
    dropped = result.inputs["facilities_dropped"]
    for lang, words in (("zh", "未使用：第 {row} 行 坐标为空"), ("en", "not used: row {row}, no coordinates")):
        table = facility_table(result.report, lang=lang, dropped=dropped)
        assert list(table.columns) == list(FACILITY_COLUMNS) and len(table) == 12
        assert table["lon"].head(4).notna().all() and table["lon"].tail(8).isna().all()
        tail = table.tail(8)
        assert tail["name"].tolist() == [name for _, name, _ in partial_ledger["expected"]]
        assert tail["warnings"].tolist() == [words.format(row=row) for row, _, _ in partial_ledger["expected"]]
        assert tail["off_network"].isna().all()
    pd.testing.assert_frame_equal(facility_table(result.report), facility_table(result.report, dropped=dropped).head(4),
                                  check_dtype=False)  # the facilities themselves are as before


def test_the_workbooks_facilities_sheet_lists_the_rows_not_used(partial_ledger):
    book = openpyxl.load_workbook(partial_ledger["folder"] / "out" / "summary.xlsx")
    ws = book[sheet_name("facilities", "zh")]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    notes = {r[0]: r[-1] for r in rows}
    for row, name, _ in partial_ledger["expected"]:
        shown = "'" + name if name.startswith(FORMULA_STARTS) else name
        assert shown in notes and f"第 {row} 行" in notes[shown] and "坐标为空" in notes[shown], (name, notes)


# ---------------------------------------------------------------------------------------------- the app


def _inert_table_files(files: dict[str, bytes]) -> set[str]:
    """Check every CSV and XLSX among `files` (and inside a zip of them): no formula; return the text cells seen."""
    import zipfile

    seen: set[str] = set()
    for name, data in files.items():
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                seen |= _inert_table_files({n: z.read(n) for n in z.namelist()})
        elif name.endswith(".csv"):
            cells = [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for c in row]
            assert [c for c in cells if c.startswith(FORMULA_STARTS) and not _is_number(c)] == [], name
            seen.update(cells)
        elif name.endswith(".xlsx"):
            for ws in openpyxl.load_workbook(io.BytesIO(data)).worksheets:
                for row in ws.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", (name, ws.title, cell.coordinate)
                        if isinstance(cell.value, str):
                            assert not cell.value.startswith(FORMULA_STARTS), (name, ws.title, cell.coordinate)
                            seen.add(cell.value)
    return seen


@pytest.mark.slow
def test_app_map_and_downloads_with_hostile_uploads(tmp_path, monkeypatch):
    """The app on the sample network with the hostile ledger, population and districts uploaded: its map holds no
    markup, and every file its download buttons (and the zip) offer holds no formula and no markup."""
    monkeypatch.setenv("CIRCLES_APP_DISK_CACHE", "0")  # keep nothing in ~/.streamlit
    monkeypatch.delenv("MPLBACKEND", raising=False)  # importing streamlit sets it; given back after the test
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    offered: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):  # what st.download_button hands to Streamlit
        file_id = load(self, path_or_data, mimetype, kind, filename)
        offered[filename] = self.get_file(file_id).content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    paths = write_hostile_inputs(tmp_path, size=1.0)  # the app's sample is the full-size one
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    for key, value in {"up_facilities": str(paths["facilities"]), "cfg_coords": "wgs84", "cfg_pop_kind": "units",
                       "up_population": str(paths["population"]), "cfg_districts_file": "upload",
                       "up_districts": str(paths["districts"]), "cfg_districts_col": "street"}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    (component,) = [n for n in at.main if getattr(n, "type", None) == "component_instance"]
    args = json.loads(component.proto.json_args)
    _no_markup(args["script"] + args.get("html", ""), "the app's map")
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in args["script"]  # the hostile districts are on it

    at.switch_page("app_pages/downloads.py").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    labels = {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")}
    assert {"dl_summary.xlsx", "dl_access.csv", "dl_districts.csv", "dl_map.html", "dl_zip"} <= labels
    assert {"summary.xlsx", "access.csv", "districts.csv", "map.html", "report.docx",
            "circles_outputs.zip"} <= set(offered)
    seen = _inert_table_files(offered)
    assert {"'" + n for n in FORMULA_LIKE} <= seen and set(MARKUP) <= seen
    _no_markup(offered["map.html"].decode("utf-8"), "map.html")
    for name in ("summary.json", "gaps.geojson", "isochrones.geojson"):
        json.loads(offered[name])
    text = _docx_text(offered["report.docx"])
    assert NAMES[0] in text and "&lt;" not in text


# ---------------------------------------------------------------------------------------------- the network cache


def _truncate(npz: Path) -> None:
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])


def _empty(npz: Path) -> None:
    npz.write_bytes(b"")


def _lengths_x5(npz: Path) -> None:
    """The tester's edit: a consistent arrays file (same names, dtypes, shapes), every edge five times longer."""
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["edge_length_m"] = arrays["edge_length_m"] * 5
    with npz.open("wb") as f:
        np.savez(f, **arrays)


DAMAGE = {"truncated": (_truncate, "unreadable"), "empty": (_empty, "empty"), "tampered": (_lengths_x5, "checksum")}
FIGURES = ("summary.json", "access.csv", "summary.csv")


def _cached_analyze(runs, out: Path) -> tuple[int, str, dict[str, bytes]]:
    paths = runs["paths"]
    res = CliRunner().invoke(main, ["analyze", "--network", str(paths["osm"]), "--facilities", str(paths["facilities"]),
                                    "--coords", "wgs84", "--population", str(paths["population"]),
                                    "--figures-only", "--no-report", "--out", str(out)])
    return res.exit_code, res.output, {n: (out / n).read_bytes() for n in FIGURES if (out / n).exists()}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_cache_is_rebuilt_with_a_warning_and_the_same_figures(runs, damage, tmp_path, monkeypatch, caplog):
    harm, reason = DAMAGE[damage]
    monkeypatch.setenv("CIRCLES_CACHE_DIR", str(tmp_path / "cache"))
    code, output, clean = _cached_analyze(runs, tmp_path / "clean")
    assert code == 0, output
    entries = sorted((tmp_path / "cache").glob("*.npz"))
    assert entries
    for npz in entries:
        harm(npz)
    with caplog.at_level("WARNING", logger="network.cache"):
        code, output, again = _cached_analyze(runs, tmp_path / "again")
    assert code == 0 and "Traceback" not in output, output
    warned = [r.getMessage() for r in caplog.records if r.name == "network.cache"]
    assert len(warned) == len(entries) and all("ignored" in w and reason in w for w in warned), warned
    assert again == clean  # the same figures, to the byte
    caplog.clear()
    with caplog.at_level("WARNING", logger="network.cache"):
        code, _, third = _cached_analyze(runs, tmp_path / "third")
    assert code == 0 and third == clean and not caplog.records  # the rebuilt entries were written back


def test_an_empty_cache_file_is_one_warning_line_for_a_user(runs, tmp_path):
    """As a user sees it (a process of its own, logging as the CLI sets it up): a warning, no 'Aborted!', exit 0."""
    import subprocess
    import sys

    env = {**os.environ, "CIRCLES_CACHE_DIR": str(tmp_path / "cache")}
    paths = runs["paths"]
    cmd = [sys.executable, "-m", "circles.cli", "analyze", "--network", str(paths["osm"]), "--facilities",
           str(paths["facilities"]), "--coords", "wgs84", "--population", str(paths["population"]),
           "--figures-only", "--no-report"]
    first = subprocess.run([*cmd, "--out", str(tmp_path / "a")], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    for npz in (tmp_path / "cache").glob("*.npz"):
        npz.write_bytes(b"")
    second = subprocess.run([*cmd, "--out", str(tmp_path / "b")], env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    warnings = [line for line in second.stderr.splitlines() if line.startswith("WARNING network.cache")]
    assert len(warnings) >= 1 and all("is empty" in w and "rebuilding" in w for w in warnings), second.stderr
    assert "Aborted" not in second.stderr and "Traceback" not in second.stderr
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()


def test_cache_clear_removes_the_entries_and_the_next_run_rebuilds_them(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("CIRCLES_CACHE_DIR", str(tmp_path / "cache"))
    code, output, clean = _cached_analyze(runs, tmp_path / "clean")
    assert code == 0, output
    n = len(list((tmp_path / "cache").iterdir()))
    assert n >= 2  # arrays and index of each network
    cleared = CliRunner().invoke(main, ["cache", "clear"])
    assert cleared.exit_code == 0 and f"removed 已删除 {n} files" in cleared.output, cleared.output
    assert str(tmp_path / "cache") in cleared.output and list((tmp_path / "cache").iterdir()) == []
    code, output, again = _cached_analyze(runs, tmp_path / "again")
    assert code == 0 and again == clean and len(list((tmp_path / "cache").iterdir())) == n


# ---------------------------------------------------------------------------------------------- control characters


def _renamed_districts(runs, folder: Path, names: list[str]) -> list[str]:
    """`circles` arguments with the hostile districts renamed to `names` (the last one is the empty square)."""
    districts = gpd.read_file(runs["paths"]["districts"])
    keep = [*range(len(names) - 1), len(districts) - 1]
    renamed = districts.iloc[keep].assign(street=names)
    folder.mkdir(parents=True, exist_ok=True)
    renamed.to_file(folder / "districts.geojson", driver="GeoJSON")
    return [a if a != str(runs["paths"]["districts"]) else str(folder / "districts.geojson") for a in _args(runs["paths"])]


def test_errors_log_keeps_one_line_per_failed_district_whatever_its_name(runs, tmp_path):
    """A name typed with Alt+Enter (a line break) or holding a tab: errors.log stays ``name<TAB>cause`` per line."""
    names = ["甲\n乙", "空地\n（新区）\t甲"]
    args = _renamed_districts(runs, tmp_path / "inputs", names)
    res = CliRunner().invoke(main, ["batch", *args, "-q", "--no-report", "--out", str(tmp_path / "out")])
    assert res.exit_code == 1 and "2: 1 done, 1 failed" in res.output, res.output
    lines = (tmp_path / "out" / "errors.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and lines[0].split("\t")[0] == "空地 （新区） 甲" and len(lines[0].split("\t")) == 2, lines
    assert "no resident" in lines[0]
    table = pd.read_csv(tmp_path / "out" / "districts.csv", encoding="utf-8-sig")
    assert set(table["district"]) == set(names)  # the tables keep the names as given


def test_names_with_terminal_control_codes_do_not_stop_the_report(runs, tmp_path):
    """``\\x1b[31m`` (a terminal colour) in district names: python-docx refused it with a ValueError, so analyze
    ended in a traceback and every batch district failed as 'unexpected ValueError'."""
    names = [f"\x1b[31m{n}\x1b[0m\x07" for n in NAMES[:6]] + [EMPTY_DISTRICT]
    args = _renamed_districts(runs, tmp_path / "inputs", names)
    one = CliRunner().invoke(main, ["analyze", *args, "--figures-only", "--out", str(tmp_path / "analyze")])
    assert one.exit_code == 0, one.output
    text = _docx_text(tmp_path / "analyze" / "report.docx")
    assert "\x1b" not in text and "[31m" + NAMES[0] in text  # the visible text is kept
    many = CliRunner().invoke(main, ["batch", *args, "-q", "--figures-only", "--out", str(tmp_path / "batch")])
    assert many.exit_code == 1 and "7: 6 done, 1 failed" in many.output and "unexpected" not in many.output
    for path in [*tmp_path.glob("analyze/*.xlsx"), *tmp_path.glob("batch/**/*.xlsx")]:
        for ws in openpyxl.load_workbook(path).worksheets:  # XLSX cells lose the control codes too
            assert not any(isinstance(c.value, str) and "\x1b" in c.value for r in ws.iter_rows() for c in r)


@pytest.mark.parametrize("value, expected", [
    ("\x1b[31m红区\x1b[0m", "[31m红区[0m"), ("甲\x07\x00\x0b\x0c乙", "甲乙"), ("tab\tnew\nline\r", "tab\tnew\nline\r"),
    ("\ufffe\uffff\ud800ok", "ok"), ("=1+1", "=1+1"), (3, 3), (None, None),
])
def test_xml_text_removes_only_what_xml_cannot_hold(value, expected):
    from circles.outputs.safety import xml_text

    assert xml_text(value) == expected
    if isinstance(value, str):
        docx.Document().add_paragraph().add_run(xml_text(value))  # python-docx takes it
    if isinstance(value, str) and value != expected:
        with pytest.raises(ValueError):  # and refused the input
            docx.Document().add_paragraph().add_run(value)

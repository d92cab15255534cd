"""The one XLSX writer: sheets of tables as deterministic bytes that read like a workbook, every text cell neutralised.

`workbook_bytes` writes sheets with openpyxl: a bold header row that stays in view (frozen) with
an autofilter, columns as wide as their text (a Chinese character counts two), then the values:
numbers stay numbers, missing values are empty cells. A `Sheet` made by `sheet` also knows its
columns by their canonical names (`COLUMN_FORMATS`): shares are Excel percentages (0.8428 shows
as 84.3%), people and counts whole numbers, coordinates six decimals. Text goes through
`circles.outputs.safety.safe_frame`, so no cell is ever a formula. The document's times and every
zip entry's time are fixed (2000-01-01), so identical tables give identical files.

Example
-------
>>> data = workbook_bytes([("汇总", pd.DataFrame({"名称": ["=1+1"], "人数": [12]}))])
>>> data[:2]
b'PK'
>>> frame = pd.DataFrame({"district": ["一街道"], "coverage": [0.8428]})
>>> book = load_workbook(io.BytesIO(workbook_bytes([sheet("districts", frame, "zh")])))
>>> book["分街道"]["B1"].value, book["分街道"]["B2"].number_format
('覆盖率', '0.0%')
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from circles.outputs.files import atomic_write_bytes
from circles.outputs.labels import check_lang, group_label, header, sheet_name, status_label, yes_no
from circles.outputs.safety import safe_frame

__all__ = ["COLUMN_FORMATS", "FIXED_TIME", "Sheet", "districts_workbook", "freeze_timestamps", "sheet",
           "workbook_bytes"]

#: Creation/modification time written into every workbook (and its zip entries).
FIXED_TIME = dt.datetime(2000, 1, 1)

#: Excel number format of canonical columns: shares as percentages, people and counts whole, coordinates.
COLUMN_FORMATS: Mapping[str, str] = {
    **{c: "0.0%" for c in ("coverage", "coverage_before", "coverage_after", "inside_share", "share",
                           "zero_access_share", "estimated_share")},
    "gini": "0.000",
    **{c: "#,##0" for c in ("facilities", "demand_total", "demand_covered", "uncovered", "demand_uncovered",
                            "population", "pop_60plus", "pop_0_17", "units", "added_covered", "rank", "capacity",
                            "covered_before", "covered_after", "people_change", "sites_added", "visit_demand",
                            "total", "placed", "on_buildings", "on_roads", "outside", "moved_by_cap")},
    **{c: "0.000000" for c in ("lon", "lat", "lon_gcj02", "lat_gcj02", "lon_bd09", "lat_bd09")},
    **{c: "0.0" for c in ("max_minutes", "speed_kmh", "snap_m", "travel_minutes", "mean_minutes")},
}
_WHOLE = "#,##0"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="EEEEEE")
_MIN_WIDTH, _MAX_WIDTH = 6, 60


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its name, its table (headers as written) and the number format of some headers.

    Build it with `sheet`, which translates canonical column names and finds their formats.
    """

    name: str
    table: pd.DataFrame
    formats: Mapping[str, str] = field(default_factory=dict)


def sheet(key: str, table: pd.DataFrame, lang: str) -> Sheet:
    """A worksheet named by `key` (``summary``, ``districts``, ``gaps`` ...) in `lang`, from a table with
    canonical column names: headers in `lang` (`circles.outputs.labels.header`), formats by `COLUMN_FORMATS`."""
    check_lang(lang)
    formats = {header(c, lang): COLUMN_FORMATS[c] for c in table.columns if c in COLUMN_FORMATS}
    return Sheet(sheet_name(key, lang), table.rename(columns={c: header(c, lang) for c in table.columns}), formats)


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries all carry `FIXED_TIME` (zipfile stamps entries named by string, or added from files, now)."""

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: Any = None, compresslevel: Any = None) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=FIXED_TIME.timetuple()[:6])
            zinfo_or_arcname.compress_type = zipfile.ZIP_DEFLATED
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: Any, arcname: Any = None, compress_type: Any = None, compresslevel: Any = None) -> None:
        with open(filename, "rb") as f:  # openpyxl stages worksheets in temporary files: their time is now
            self.writestr(str(arcname or filename), f.read())


def _cell(value: Any) -> Any:
    """A value openpyxl writes as it is: Python scalars, None for missing, text without control bytes."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control bytes XML cannot hold (tab and CR are kept)
    return value


def workbook_bytes(sheets: Sequence[Sheet | tuple[str, pd.DataFrame]]) -> bytes:
    """An XLSX workbook with one sheet per `Sheet` (or ``(name, table)``), as bytes.

    Parameters
    ----------
    sheets
        Sheet names (at most 31 characters, no ``[]:*?/\\``) and their tables; the columns
        become the header row, the index is not written.

    Returns
    -------
    bytes
        The workbook; identical tables give identical bytes. Text starting with ``=``, ``+``,
        ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (never a formula); NaN,
        inf and missing values are empty cells; whole-number columns hold integers.
    """
    book = Workbook()
    book.remove(book.active)
    for item in sheets:
        spec = item if isinstance(item, Sheet) else Sheet(item[0], item[1])
        _write_sheet(book.create_sheet(title=spec.name), spec)
    return _book_bytes(book)


def _write_sheet(ws: Any, spec: Sheet) -> None:
    """Header, rows, number formats, widths, frozen header and autofilter of one sheet."""
    safe = safe_frame(spec.table)
    names = [_cell(c) for c in safe.columns]
    ws.append(names)
    formats = [spec.formats.get(c) for c in spec.table.columns]
    whole = [f == _WHOLE for f in formats]
    width = [_text_width(n) for n in names]
    sampled = 0
    for row in safe.itertuples(index=False, name=None):
        values = [_whole(_cell(v)) if w else _cell(v) for v, w in zip(row, whole)]
        ws.append(values)
        if sampled < 2000:  # widths from the first rows: enough to fit, cheap on long tables
            sampled += 1
            width = [max(w, _shown_width(v, f)) for w, v, f in zip(width, values, formats)]
    for k, (fmt, w) in enumerate(zip(formats, width), start=1):
        letter = get_column_letter(k)
        ws.column_dimensions[letter].width = min(max(w + 2, _MIN_WIDTH), _MAX_WIDTH)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                cell.number_format = fmt
    for cell in ws[1]:
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=False)
    ws.freeze_panes = "A2"
    if len(names):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{max(ws.max_row, 1)}"


def _whole(value: Any) -> Any:
    """A count as an integer (people are whole); other values as they are."""
    if isinstance(value, float) and math.isfinite(value):
        return int(round(value))
    return value


def _text_width(text: Any) -> int:
    """Display width of a text in Excel columns: a Chinese (wide) character counts two."""
    if text is None:
        return 0
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _shown_width(value: Any, fmt: str | None) -> int:
    """Width of a value as Excel shows it with `fmt`."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _text_width(value)
    if fmt == "0.0%":
        return len(f"{100 * value:.1f}%")
    if fmt == _WHOLE:
        return len(f"{value:,.0f}")
    if fmt == "0.000000":
        return len(f"{value:.6f}")
    if fmt == "0.0":
        return len(f"{value:.1f}")
    return min(len(repr(value)), 12)


def _book_bytes(book: Workbook) -> bytes:
    book.properties.created = FIXED_TIME
    book.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    ExcelWriter(book, _FixedTimeZip(buf, "w", zipfile.ZIP_DEFLATED)).save()
    return buf.getvalue()


def freeze_timestamps(path: str | os.PathLike) -> None:
    """Rewrite the XLSX file at `path` with the fixed times of `workbook_bytes` (content unchanged).

    For workbooks still written by another tool (pandas ``to_excel``); `workbook_bytes` needs
    no rewriting and also neutralises formula-like text, so prefer it.
    """
    path = Path(path)
    atomic_write_bytes(path, _book_bytes(load_workbook(path)))


def districts_workbook(table: pd.DataFrame, lang: str, rules: pd.DataFrame | None = None,
                       profile: Any = None) -> bytes:
    """districts.xlsx of a batch run: the combined table (分街道) and the rule checks (规则检查), words in `lang`.

    Parameters
    ----------
    table
        One row per district × category, columns `circles.districts.DISTRICT_COLUMNS`.
    lang
        ``"zh"`` or ``"en"``: headers, the status (完成/失败), yes/no, demand groups.
    rules, profile
        The rule checks (`circles.districts.RULE_COLUMNS`, and ``citation`` where given) and the
        profile that cites the rules' standards; the sheet is left out without rules.

    Returns
    -------
    bytes
        The workbook.
    """
    check_lang(lang)
    sheets = [sheet("batch", district_sheet_table(table, lang), lang)]
    if rules is not None and len(rules):
        sheets.append(sheet("rules", rule_sheet_table(rules, lang, profile), lang))
    return workbook_bytes(sheets)


def district_sheet_table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The districts table with its words in `lang`: status, yes/no, demand groups (canonical headers kept)."""
    shown = table.copy()
    if "status" in shown:
        shown["status"] = [status_label(s, lang) if isinstance(s, str) else s for s in shown["status"]]
    for col in ("rules_ok", "partial"):
        if col in shown:
            shown[col] = [yes_no(v, lang) for v in shown[col]]
    if "demand_column" in shown:
        shown["demand_column"] = [group_label(g, lang) if isinstance(g, str) else g for g in shown["demand_column"]]
    return shown


def rule_sheet_table(rules: pd.DataFrame, lang: str, profile: Any = None) -> pd.DataFrame:
    """The rule checks for reading: the rule's text, the category's name, the scope and yes/no in `lang`, and each
    rule's citation (the row's, else the profile's); the rule's id and kind (for machines) left to rules.csv."""
    from circles.outputs.tables import rule_citation

    shown = rules.copy()
    if profile is not None and "citation" not in shown:
        shown["citation"] = [rule_citation(profile, r) for r in rules.to_dict("records")]
    if "label" in shown and "rule" in shown:
        shown["rule"] = shown["label"]
        shown = shown.drop(columns="label")
    shown = shown.drop(columns=[c for c in ("rule_id", "kind") if c in shown])
    if "scope" in shown:
        shown["scope"] = [header(f"scope.{v}", lang) if isinstance(v, str) else v for v in shown["scope"]]
    if profile is not None and "category" in shown:
        names = {c.id: (c.label_zh if lang == "zh" else c.label_en) for c in profile.categories}
        shown["category"] = [names.get(c, c) for c in shown["category"]]
    for col in ("ok", "rule_ok"):
        if col in shown:
            shown[col] = [yes_no(v, lang) for v in shown[col]]
    return shown


def problems_table_bytes(frame: pd.DataFrame, suffix: str) -> bytes:
    """The clerk's problems table as CSV (UTF-8 with BOM) or XLSX bytes, formula-like text neutralised.

    Parameters
    ----------
    frame
        `circles.facilities.problems_frame` of a ledger's problems.
    suffix
        ``".csv"`` or ``".xlsx"``.
    """
    from circles.facilities.report import PROBLEM_TABLE_HEADERS
    from circles.outputs.safety import csv_bytes

    shown = frame.rename(columns=lambda c: PROBLEM_TABLE_HEADERS.get(c, c))
    if suffix == ".csv":
        return csv_bytes(shown)
    return workbook_bytes([("问题清单", shown)])

"""The one XLSX writer: sheets of tables as deterministic bytes, every text cell neutralised.

`workbook_bytes` writes (sheet name, table) pairs with openpyxl: a header row, then the values
(numbers stay numbers, missing values are empty cells). Text goes through
`circles.outputs.safety.safe_frame`, so no cell is ever a formula. The document's created and
modified times and every zip entry's time are fixed (2000-01-01), so identical tables give
identical files.

Example
-------
>>> data = workbook_bytes([("汇总", pd.DataFrame({"名称": ["=1+1"], "人数": [12]}))])
>>> data[:2]
b'PK'
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.writer.excel import ExcelWriter

from circles.outputs.files import atomic_write_bytes
from circles.outputs.labels import check_lang, header, sheet_name, status_label, yes_no
from circles.outputs.safety import safe_frame

__all__ = ["FIXED_TIME", "districts_workbook", "freeze_timestamps", "workbook_bytes"]

#: Creation/modification time written into every workbook (and its zip entries).
FIXED_TIME = dt.datetime(2000, 1, 1)


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


def workbook_bytes(sheets: Sequence[tuple[str, pd.DataFrame]]) -> bytes:
    """An XLSX workbook with one sheet per ``(name, table)``, as bytes.

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
        inf and missing values are empty cells.
    """
    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets:
        ws = book.create_sheet(title=name)
        safe = safe_frame(frame)
        ws.append([_cell(c) for c in safe.columns])
        for row in safe.itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
    return _book_bytes(book)


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


def districts_workbook(table: pd.DataFrame, lang: str) -> bytes:
    """districts.xlsx of a batch run: the combined table with headers and words in `lang`.

    Parameters
    ----------
    table
        One row per district × category, columns `circles.districts.DISTRICT_COLUMNS`.
    lang
        ``"zh"`` or ``"en"``: headers, the status (完成/失败) and the rules verdict (是/否).

    Returns
    -------
    bytes
        One sheet (分区汇总 / districts).
    """
    check_lang(lang)
    shown = table.copy()
    if "status" in shown:
        shown["status"] = [status_label(s, lang) if isinstance(s, str) else s for s in shown["status"]]
    if "rules_ok" in shown:
        shown["rules_ok"] = [yes_no(v, lang) for v in shown["rules_ok"]]
    shown = shown.rename(columns={c: header(c, lang) for c in shown.columns})
    return workbook_bytes([(sheet_name("batch", lang), shown)])


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

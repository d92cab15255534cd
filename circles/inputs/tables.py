"""Tables as planners keep them: CSV/TXT/TSV in any Chinese encoding and Excel workbooks.

`read_table` is the one reader of tabular files for the ledger, the population and the
candidate premises. It returns every cell as stripped text (nothing is parsed, so nothing is
lost: ``"0010"`` stays ``"0010"``) and the spreadsheet row of the first data row, so that every
message can name the row the planner sees in Excel (the header is row 1 unless a title row sits
above it).

`row_skip_reasons` marks the rows no reader should use as data: blank rows, total rows
(合计/总计/小计) and template example rows (a cell starting with ``示例：``).
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from circles.errors import InputError
from circles.inputs.text import cell_text, one_line

log = logging.getLogger(__name__)

__all__ = [
    "CSV_SUFFIXES", "EXCEL_SUFFIXES", "HEADER_SEARCH_ROWS", "TABLE_SUFFIXES", "TOTAL_WORDS",
    "read_table", "row_skip_reasons", "table_suffix",
]

CSV_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
TABLE_SUFFIXES: tuple[str, ...] = CSV_SUFFIXES + EXCEL_SUFFIXES
DELIMITERS: tuple[str, ...] = (",", "\t", ";", "|")
HEADER_SEARCH_ROWS = 10  # the header is looked for among the first rows (title rows above it)
#: Words that mark a total row when a cell holds nothing else (ignoring spaces and a colon).
TOTAL_WORDS: tuple[str, ...] = ("合计", "总计", "小计", "共计", "total", "subtotal", "grandtotal")
# Template example rows: a cell starts with "示例：" (or "example:"). Only with the colon, so that
# real names such as 示例一街道 (the sample district) are kept.
EXAMPLE_RE = re.compile(r"^\s*(示例|example)\s*[:：]", re.IGNORECASE)

HeaderTest = Callable[[Sequence[str]], bool]


def table_suffix(name: str) -> str:
    """The lower-case suffix of a table file; `InputError` for ``.xls`` and non-table files."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        raise InputError(
            f"{name}: the old Excel .xls format is not supported; open it in Excel or WPS and "
            "save it as .xlsx (or as CSV UTF-8)"
        )
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            f"{name}: {suffix or '(no suffix)'!r} is not a table file; use {', '.join(TABLE_SUFFIXES)}"
        )
    return suffix


def read_table(
    source: str | Path | bytes,
    *,
    source_name: str,
    sheet: str | int | None = None,
    is_header: HeaderTest | None = None,
) -> tuple[pd.DataFrame, int]:
    """Read a CSV/TXT/TSV or XLSX/XLSM table into text cells.

    CSV text encodings are tried in order: a UTF-16 or UTF-8 byte-order mark, UTF-8, then
    GB18030 (a superset of GBK and GB2312, what Excel and WPS in China save as "CSV"). The
    delimiter is the one of comma, tab, semicolon and ``|`` that splits the first rows into the
    most columns. Workbooks give the chosen sheet (default: the first). Full-width digits and
    thousands separators are left in the text; the number parsers fold them.

    The header is the first of the top `HEADER_SEARCH_ROWS` rows that `is_header` accepts
    (default: a row with at least two filled cells that are not all numbers), so a title row such
    as "海淀区养老服务设施台账（2024年）" above it is skipped; the first row when none is accepted.
    Empty header cells become ``column<k>``; repeated headers get ``.1``, ``.2``. Trailing blank
    rows (Excel's formatted empty rows) are dropped; other rows are kept, total and example rows
    included (see `row_skip_reasons`).

    Parameters
    ----------
    source
        The file's path, or its bytes (an upload); the format comes from `source_name`'s suffix.
    source_name
        The file's name in messages, e.g. ``"养老设施.xlsx"``.
    sheet
        Workbooks: the sheet name or 0-based number; default the first sheet.
    is_header
        Optional test of a row's cell texts: True for the header row.

    Returns
    -------
    tuple
        ``(table, first_row)``: a DataFrame of ``str`` cells (index 0..n-1) and the spreadsheet
        row of its first data row (2 when the header is row 1).

    Raises
    ------
    InputError
        Missing file, unknown format, undecodable text, unreadable workbook, unknown sheet, or
        an empty table; the message names the file and the fix.

    Examples
    --------
    >>> table, first_row = read_table(b"name,pop\\nA,10\\n", source_name="a.csv")
    >>> table.values.tolist(), first_row
    ([['A', '10']], 2)
    """
    suffix = table_suffix(source_name)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "no such file"
            raise InputError(f"{path}: {what}; check the path of the table (CSV or XLSX)")
        data: bytes | Path = path.read_bytes() if suffix in CSV_SUFFIXES else path
    else:
        data = bytes(source)
    if suffix in CSV_SUFFIXES:
        rows = _csv_rows(data if isinstance(data, bytes) else data.read_bytes(), source_name=source_name)
    else:
        rows = _excel_rows(data if isinstance(data, Path) else io.BytesIO(data), source_name=source_name,
                           sheet=sheet)
    return _table_from_rows(rows, source_name=source_name, is_header=is_header or _looks_like_header)


#: A cell that is a plain number (no total word or example can be one).
_NUMBER_CELL = r"[-+]?[\d.,]*"


def row_skip_reasons(table: pd.DataFrame) -> list[str | None]:
    """Why each row is not data: ``"blank"``, ``"total"``, ``"example"``, or None for a data row.

    A total row has a cell holding only 合计, 总计, 小计, 共计 or total (spaces and a trailing
    colon ignored); an example row has a cell starting with ``示例：`` (``example:``), as in the
    ledger templates. Geometry columns are ignored.

    Examples
    --------
    >>> t = pd.DataFrame({"名称": ["A", "合 计", "示例：B", ""], "人口": ["1", "9", "2", ""]})
    >>> row_skip_reasons(t)
    [None, 'total', 'example', 'blank']
    """
    geometry = getattr(table, "_geometry_column_name", None)
    columns = [c for c in table.columns if c != geometry]
    if not columns:
        return ["blank"] * len(table)
    totals = sorted({w.casefold() for w in TOTAL_WORDS})
    any_text = np.zeros(len(table), dtype=bool)
    total = np.zeros(len(table), dtype=bool)
    example = np.zeros(len(table), dtype=bool)
    for c in columns:  # vectorised over rows: a 20,000-row population table in milliseconds
        text = pd.Series([cell_text(v) for v in table[c].tolist()] if table[c].dtype != object
                         else table[c].map(lambda v: v.strip() if isinstance(v, str) else cell_text(v)),
                         index=table.index, dtype=object).astype(str)
        filled = (text != "").to_numpy()
        any_text |= filled
        # a total word (合计, 总计 ...) is a short cell that is not a number
        short = (text.str.len().to_numpy() <= 12) & ~text.str.fullmatch(_NUMBER_CELL).to_numpy(bool)
        if short.any():
            folded = (text[short].str.normalize("NFKC").str.lower().str.replace(r"\s+", "", regex=True)
                      .str.rstrip(":"))
            total[np.flatnonzero(short)] |= folded.isin(totals).to_numpy()
        example |= text.str.match(EXAMPLE_RE).to_numpy() & filled
    return ["blank" if not t else "total" if tot else "example" if ex else None
            for t, tot, ex in zip(any_text, total, example)]


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(":")


# ------------------------------------------------------------------------ CSV
def _csv_rows(data: bytes, *, source_name: str) -> list[list[Any]]:
    text = _decode(data, source_name=source_name)
    delimiter = _sniff_delimiter(text)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(
            f"{source_name}: not a readable CSV ({one_line(exc)}); save it again from Excel or WPS as CSV UTF-8"
        ) from None


def _decode(data: bytes, *, source_name: str) -> str:
    if data[:4] == b"PK\x03\x04":
        raise InputError(
            f"{source_name}: this is an Excel workbook (.xlsx) saved under a CSV name; rename it "
            "to .xlsx or save it from Excel as CSV UTF-8"
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        candidates: Sequence[str] = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # NULs: UTF-16 without a BOM, or a binary file
            log.debug("%s: decoded as %s", source_name, encoding)
            return text
    raise InputError(
        f"{source_name}: cannot read the text: it is neither UTF-8 nor GBK/GB18030; open it in "
        "Excel or WPS and save it as CSV UTF-8 (逗号分隔), or save it as .xlsx"
    )


def _sniff_delimiter(text: str) -> str:
    """The delimiter giving the most columns on the typical one of the first rows (ties: comma)."""
    lines = [ln for ln in text.splitlines() if ln.strip()][:HEADER_SEARCH_ROWS]
    best, best_width = ",", 1
    for delimiter in DELIMITERS:
        try:
            widths = sorted(len(r) for r in csv.reader(lines, delimiter=delimiter))
        except csv.Error:
            continue
        width = widths[len(widths) // 2] if widths else 1  # the median row: a title row does not decide
        if width > best_width:
            best, best_width = delimiter, width
    return best


# ------------------------------------------------------------------------ Excel
def _excel_rows(source: Path | io.BytesIO, *, source_name: str, sheet: str | int | None) -> list[list[Any]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        raise InputError(
            f"{source_name}: cannot open the workbook ({type(exc).__name__}: {one_line(exc)}); save it "
            "again from Excel or WPS as .xlsx"
        ) from None
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 0 <= sheet < len(names):
                raise InputError(
                    f"{source_name}: sheet number {sheet} does not exist; the workbook has {len(names)} "
                    f"sheet(s): {', '.join(names)} (numbers start at 0)"
                )
            ws = wb[names[sheet]]
        else:
            if sheet not in names:
                raise InputError(f"{source_name}: no sheet named {sheet!r}; the sheets are {', '.join(names)}")
            ws = wb[sheet]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


# ------------------------------------------------------------------------ header and body
def _looks_like_header(texts: Sequence[str]) -> bool:
    filled = [t for t in texts if t]
    return len(filled) >= 2 and not all(_is_number(t) for t in filled)


def _is_number(text: str) -> bool:
    try:
        float(unicodedata.normalize("NFKC", text).replace(",", ""))
    except ValueError:
        return False
    return True


def _table_from_rows(rows: list[list[Any]], *, source_name: str, is_header: HeaderTest) -> tuple[pd.DataFrame, int]:
    """Header detection and padding for rows of cells (CSV lines or Excel rows)."""
    rows = [[cell_text(c) for c in r] for r in rows]
    while rows and not any(rows[-1]):  # Excel's formatted empty rows
        rows.pop()
    if not rows:
        raise InputError(
            f"{source_name}: the table is empty; put the column names in row 1 and one record per row "
            "below (see circles/data/templates/)"
        )
    header_idx = next((i for i, r in enumerate(rows[:HEADER_SEARCH_ROWS]) if is_header(r)), 0)
    width = max(len(r) for r in rows)
    header = rows[header_idx] + [""] * (width - len(rows[header_idx]))
    columns: list[str] = []
    for i, h in enumerate(header):
        h = h or f"column{i + 1}"
        base, k = h, 1
        while h in columns:
            h = f"{base}.{k}"
            k += 1
        columns.append(h)
    body = [r + [""] * (width - len(r)) for r in rows[header_idx + 1:]]
    table = pd.DataFrame(body, columns=columns, dtype=object)
    return table, header_idx + 2

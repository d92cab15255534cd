"""What checking a ledger found: problems by row, the report, and the clerk's problems table (as data)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from circles.errors import InputError, OutputError
from circles.inputs.dropped import DroppedRow

__all__ = [
    "COORDS_LABEL", "COORDS_SOURCE", "DROP_REASONS", "PROBLEM_KINDS", "PROBLEM_TABLE_COLUMNS", "PROBLEM_TABLE_HEADERS",
    "SEVERITIES", "LedgerError", "LedgerReport", "Problem", "check_lang", "make_problem", "problems_frame",
]

SEVERITIES: tuple[str, ...] = ("error", "warning")

#: Problem kinds, with their severity.
PROBLEM_KINDS: Mapping[str, str] = {
    "unknown_category": "error",
    "ambiguous_category": "error",
    "unknown_tier": "error",
    "missing_category": "error",
    "missing_coordinates": "error",
    "bad_attribute": "error",
    "bad_coordinates": "error",
    "out_of_range": "error",
    "swapped": "warning",
    "example_row": "warning",
    "total_row": "warning",
    "missing_name": "warning",
    "bad_number": "warning",
    "outside_area": "warning",
    "off_network": "warning",
    "duplicate": "warning",
    "same_location": "warning",
    "duplicate_column": "warning",
    "coords_hint": "warning",
}

#: Why a row was not used (`LedgerReport.dropped`), by the kind of its first error: (中文, English).
DROP_REASONS: Mapping[str, tuple[str, str]] = {
    "missing_category": ("类型为空", "no category"),
    "missing_coordinates": ("坐标为空", "no coordinates"),
    "bad_coordinates": ("坐标不是数字", "coordinates not a number"),
    "out_of_range": ("坐标超出范围", "coordinates out of range"),
    "unknown_category": ("类型未知", "unknown category"),
    "ambiguous_category": ("类型有歧义", "ambiguous category"),
    "unknown_tier": ("层级未知", "unknown tier"),
    "example_row": ("模板示例行", "template example row"),
    "total_row": ("合计行", "total row"),
}

COORDS_LABEL: Mapping[str, str] = {"wgs84": "WGS84", "gcj02": "GCJ-02", "bd09": "BD-09"}
#: Who writes each coordinate system: (English, Chinese).
COORDS_SOURCE: Mapping[str, tuple[str, str]] = {
    "wgs84": ("GPS/OpenStreetMap", "GPS/OpenStreetMap"),
    "gcj02": ("Amap/Tencent", "高德/腾讯"),
    "bd09": ("Baidu", "百度"),
}

#: Columns of the problems table (`problems_frame`), and their headers in the written file.
PROBLEM_TABLE_COLUMNS: tuple[str, ...] = (
    "row", "name", "column", "value", "problem_zh", "problem_en", "suggestion",
)
PROBLEM_TABLE_HEADERS: Mapping[str, str] = {
    "row": "行号 row", "name": "名称 name", "column": "列 column", "value": "值 value",
    "problem_zh": "问题", "problem_en": "problem", "suggestion": "建议 suggestion",
}


@dataclass(frozen=True)
class Problem:
    """One problem found in a ledger.

    Attributes
    ----------
    row
        Spreadsheet row as the planner sees it (header = row 1, first data row = row 2; for
        GIS files the feature number from 1), or None for a problem of the whole file.
    column
        The ledger's header of the offending column (e.g. ``"纬度"``), or None.
    kind
        One of `PROBLEM_KINDS` (``"out_of_range"``, ``"duplicate"``, ...).
    message_zh, message_en
        The problem and its fix, without the file name and row (see `Problem.describe`).
    severity
        ``"error"`` (the row was dropped, or the ledger refused) or ``"warning"`` (the row was
        kept; example and total rows are skipped with a warning).
    name
        The row's facility name, when it has one.
    value
        The offending cell's text (e.g. the unknown category), when there is one.
    suggestion
        A replacement for the cell, when one is known (the closest known word, the swapped
        coordinates); ``""`` otherwise.
    """

    row: int | None
    column: str | None
    kind: str
    message_zh: str
    message_en: str
    severity: str
    name: str | None = None
    value: str | None = None
    suggestion: str = ""

    def describe(self, source: str = "", *, lang: str = "en") -> str:
        """One line naming the file and row: ``"facilities.csv row 17: latitude ..."``."""
        lang = check_lang(lang)
        if lang == "zh":
            where = f"{source} 第 {self.row} 行" if self.row is not None else source
            return f"{where}：{self.message_zh}" if where else self.message_zh
        where = f"{source} row {self.row}" if self.row is not None else source
        return f"{where}: {self.message_en}" if where else self.message_en


class LedgerError(InputError):
    """A ledger that cannot be used, with every problem found before it was refused.

    ``problems`` lets `circles facilities check --table` write the clerk's table even when the
    ledger is refused (e.g. for unknown category values); the message is the one line to print.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)


@dataclass(frozen=True)
class LedgerReport:
    """What reading a ledger found.

    Attributes
    ----------
    source
        The ledger's name in messages (its file name).
    coords
        The declared coordinate system of the ledger (``"wgs84"``, ``"gcj02"``, ``"bd09"``).
    n_rows
        Data rows read (blank rows not counted).
    n_facilities
        Rows kept as facilities.
    problems
        Every problem, in row order; file-level problems (row None) first.
    median_snap_m
        With a network: the median distance (metres) from the facilities to the nearest road
        when the ledger's numbers are read as each coordinate system; empty without a network.
    suggested_coords
        The coordinate system the ledger more likely uses, when it fits the network markedly
        better than the declared one; None otherwise.
    dropped
        One `circles.inputs.DroppedRow` per data row not used (no coordinates, no category,
        example or total row ...), in row order.
    """

    source: str
    coords: str
    n_rows: int
    n_facilities: int
    problems: tuple[Problem, ...] = ()
    median_snap_m: Mapping[str, float] = field(default_factory=dict, compare=False)
    suggested_coords: str | None = None
    dropped: tuple[DroppedRow, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems whose rows were dropped."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems whose rows were kept (and file-level hints)."""
        return tuple(p for p in self.problems if p.severity == "warning")

    def of_kind(self, kind: str) -> tuple[Problem, ...]:
        """Problems of one kind, e.g. ``report.of_kind("duplicate")``."""
        if kind not in PROBLEM_KINDS:
            raise InputError(f"problem kind {kind!r} is unknown; use one of {', '.join(PROBLEM_KINDS)}")
        return tuple(p for p in self.problems if p.kind == kind)

    def to_frame(self) -> pd.DataFrame:
        """The problems as a table (row, column, kind, severity, message_zh, message_en)."""
        cols = ["row", "column", "kind", "severity", "message_zh", "message_en"]
        return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in self.problems], columns=cols)


def make_problem(
    row: int | None, column: str | None, kind: str, zh: str, en: str, *,
    value: str | None = None, suggestion: str = "",
) -> Problem:
    """A `Problem` of `kind` with its severity from `PROBLEM_KINDS`."""
    return Problem(row=row, column=column, kind=kind, message_zh=zh, message_en=en,
                   severity=PROBLEM_KINDS[kind], value=value, suggestion=suggestion)


def check_lang(lang: str) -> str:
    """`lang` when it is ``"zh"`` or ``"en"``; `InputError` otherwise."""
    if lang not in ("zh", "en"):
        raise InputError(f"lang {lang!r} is not supported; use 'zh' or 'en'")
    return lang


# ======================================================================== counts and text
# ======================================================================== the clerk's table
def problems_frame(problems: Sequence[Problem]) -> pd.DataFrame:
    """Every problem as a row a clerk can fix: `PROBLEM_TABLE_COLUMNS`, in row order.

    ``row`` is the spreadsheet row (empty for file-level problems), ``name`` the facility's
    name, ``column`` the ledger's header, ``value`` the cell's text, ``suggestion`` a
    replacement when one is known (the closest known category word, swapped coordinates).

    Examples
    --------
    >>> p = make_problem(5, "类型", "unknown_category", "未知类型", "unknown category",
    ...                  value="养老驿站X", suggestion="养老驿站")
    >>> problems_frame([p])[["row", "value", "suggestion"]].values.tolist()
    [[5, '养老驿站X', '养老驿站']]
    """
    rows = [
        {"row": p.row, "name": p.name or "", "column": p.column or "", "value": p.value or "",
         "problem_zh": p.message_zh, "problem_en": p.message_en, "suggestion": p.suggestion or ""}
        for p in sorted(problems, key=lambda p: (p.row is not None, p.row or 0))
    ]
    frame = pd.DataFrame(rows, columns=list(PROBLEM_TABLE_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame

"""What checking a ledger found: problems by row, the report, its text and the clerk's problems table."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from circles.errors import InputError, OutputError
from circles.inputs.dropped import DroppedRow

if TYPE_CHECKING:  # pragma: no cover
    from circles.facilities.ledger import Ledger

__all__ = [
    "COORDS_LABEL", "COORDS_SOURCE", "DROP_REASONS", "PROBLEM_KINDS", "PROBLEM_TABLE_COLUMNS", "PROBLEM_TABLE_HEADERS",
    "SEVERITIES", "LedgerError", "LedgerReport", "Problem", "check_lang", "format_report", "make_problem",
    "problems_frame", "report_counts", "write_problems_table",
]

SEVERITIES: tuple[str, ...] = ("error", "warning")

#: Problem kinds, with their severity.
PROBLEM_KINDS: Mapping[str, str] = {
    "unknown_category": "error",
    "ambiguous_category": "error",
    "unknown_tier": "error",
    "missing_category": "error",
    "missing_coordinates": "error",
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
def report_counts(ledger: Ledger, *, profile: Any = None) -> pd.DataFrame:
    """Facilities per category and tier, with their total capacity.

    Parameters
    ----------
    ledger
        A read ledger.
    profile
        Optional: adds ``label_zh``/``label_en`` and lists every category and tier of the
        profile, with count 0 where the ledger has none (a gap worth seeing).

    Returns
    -------
    pandas.DataFrame
        Columns ``category``, ``tier`` (NaN for facilities without a tier), ``count``,
        ``capacity`` (sum, NaN when no row gives one) and, with a profile, ``label_zh`` and
        ``label_en``; profile order, else sorted.
    """
    fac = ledger.facilities
    grouped = (
        fac.assign(tier=fac["tier"].astype(object).where(fac["tier"].notna(), ""))
        .groupby(["category", "tier"], sort=True, dropna=False)
        .agg(count=("name", "size"), capacity=("capacity", lambda s: s.sum(min_count=1)))
        .reset_index()
    )
    if profile is not None:
        frame = _profile_rows(profile, grouped)
        extra = grouped.merge(frame[["category", "tier"]], how="left", indicator=True)
        extra = extra[extra["_merge"] == "left_only"].drop(columns="_merge")
        out = frame.merge(grouped, on=["category", "tier"], how="left")
        out = pd.concat([out, extra], ignore_index=True)
        out["count"] = out["count"].fillna(0).astype(np.int64)
    else:
        out = grouped
    out["tier"] = out["tier"].astype(object).where(out["tier"] != "", np.nan)
    cols = ["category", "tier", "count", "capacity"] + (["label_zh", "label_en"] if profile is not None else [])
    return out[cols].reset_index(drop=True)


def _profile_rows(profile: Any, grouped: pd.DataFrame) -> pd.DataFrame:
    """One row per category and tier of the profile (and one without a tier where the ledger has it)."""
    rows = []
    for cat in getattr(profile, "categories", ()):
        tiers = list(getattr(cat, "tiers", ()) or ())
        keys = [(t.id, getattr(t, "label_zh", t.id), getattr(t, "label_en", t.id)) for t in tiers]
        present = set(grouped.loc[grouped["category"] == cat.id, "tier"])
        if "" in present or not keys:
            keys = keys + [("", "", "")]
        for tid, tzh, ten in keys:
            rows.append({
                "category": cat.id, "tier": tid,
                "label_zh": " / ".join(x for x in (getattr(cat, "label_zh", cat.id), tzh) if x),
                "label_en": " / ".join(x for x in (getattr(cat, "label_en", cat.id), ten) if x),
            })
    from circles.profiles import KITCHEN_CATEGORY

    delivery = getattr(profile, "delivery", None)
    if delivery is not None and (grouped["category"] == KITCHEN_CATEGORY).any():  # issue 18: central kitchens,
        rows.append({"category": KITCHEN_CATEGORY, "tier": "",       # a ledger category no coverage counts
                     "label_zh": delivery.label_zh, "label_en": delivery.label_en})
    return pd.DataFrame(rows, columns=["category", "tier", "label_zh", "label_en"])


def format_report(ledger: Ledger, *, lang: str = "zh", profile: Any = None) -> str:
    """The text `circles facilities check` prints: counts, problems by row, rows not used, the hint.

    Parameters
    ----------
    ledger
        A read ledger.
    lang
        ``"zh"`` or ``"en"``.
    profile
        Optional: category labels and zero counts (see `report_counts`).

    Returns
    -------
    str
        Several lines, no trailing newline.
    """
    from circles.inputs.dropped import format_dropped

    zh = check_lang(lang) == "zh"
    rep = ledger.report
    lines = _report_heading(ledger, zh=zh)
    for rec in report_counts(ledger, profile=profile).itertuples(index=False):
        if profile is not None:
            what = rec.label_zh if zh else rec.label_en
            what = f"{what} [{rec.category}{'/' + rec.tier if isinstance(rec.tier, str) else ''}]"
        else:
            what = rec.category + (f" / {rec.tier}" if isinstance(rec.tier, str) else "")
        cap = ""
        if not pd.isna(rec.capacity):
            cap = f"（容量 {rec.capacity:g}）" if zh else f" (capacity {rec.capacity:g})"
        lines.append(f"  {what}: {rec.count}{cap}")
    listed = [p for p in rep.problems if p.kind != "coords_hint"]
    if listed:
        lines.append("问题：" if zh else "Problems:")
        for p in listed:
            sev = {"error": "错误", "warning": "警告"}[p.severity] if zh else p.severity
            where = (f"第 {p.row} 行" if zh else f"row {p.row}") if p.row is not None else ("全表" if zh else "file")
            lines.append(f"  {where} [{sev}] {p.message_zh if zh else p.message_en}")
    else:
        lines.append("未发现问题。" if zh else "No problems found.")
    if rep.dropped:
        lines.append(format_dropped(rep.dropped, lang=lang))
    hint = rep.of_kind("coords_hint")
    if hint:
        lines.append(("提示：" if zh else "Hint: ") + (hint[0].message_zh if zh else hint[0].message_en))
    return "\n".join(lines)


def _report_heading(ledger: Ledger, *, zh: bool) -> list[str]:
    rep = ledger.report
    label = COORDS_LABEL[ledger.coords]
    converted = "" if ledger.coords == "wgs84" else ("，已转换为 WGS84" if zh else ", converted to WGS84")
    if zh:
        return [
            f"设施台账 {ledger.source}（坐标系 {label}{converted}）",
            f"读取 {rep.n_rows} 行，导入 {rep.n_facilities} 个设施；{len(rep.errors)} 个错误（该行未导入），"
            f"{len(rep.warnings)} 个警告",
            "按类型统计：",
        ]
    return [
        f"Facility ledger {ledger.source} (coordinates {label}{converted})",
        f"{rep.n_rows} rows read, {rep.n_facilities} facilities imported; {len(rep.errors)} error(s) "
        f"(rows not imported), {len(rep.warnings)} warning(s)",
        "Facilities per category and tier:",
    ]


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


def write_problems_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the problems table as CSV (UTF-8 with BOM, for Excel) or XLSX, safe to open in Excel.

    Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
    leading ``'`` so that Excel/WPS never run them as formulas; numbers stay numbers. Headers
    are bilingual (`PROBLEM_TABLE_HEADERS`).

    Parameters
    ----------
    frame
        The table of `problems_frame`.
    path
        ``.csv`` or ``.xlsx`` file to write (its folder must exist).

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError(f"{path}: the problems table must be .csv or .xlsx, e.g. --table 问题清单.xlsx")
    headers = [PROBLEM_TABLE_HEADERS.get(c, str(c)) for c in frame.columns]
    body = [[_safe_cell(v) for v in rec] for rec in frame.itertuples(index=False)]
    try:
        if suffix == ".csv":
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow([_safe_cell(h) for h in headers])
            writer.writerows(["" if v is None else v for v in r] for r in body)
            path.write_text(buf.getvalue(), encoding="utf-8-sig", newline="")
        else:
            _write_xlsx(path, headers, body)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the problems table ({exc.strerror}); check the folder") from None
    return path


def _write_xlsx(path: Path, headers: list[str], body: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "问题清单"
    ws.append([_safe_cell(h) for h in headers])
    for r in body:
        ws.append(r)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDEFG", (8, 28, 12, 20, 48, 48, 20)):
        ws.column_dimensions[letter].width = width
    wb.save(path)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: Any) -> Any:
    """A cell that no spreadsheet runs as a formula: text starting with = + - @ tab CR gets a leading '.

    Local helper for now (the project's shared one lives with the writers in circles.export).
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if hasattr(value, "item") else value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text

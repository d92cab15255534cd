"""Rows of an input a run does not use, kept as data: which row, which name, and why.

Readers return one `DroppedRow` per spreadsheet row (or feature) they left out, so that the
command line, summary.json, the workbook and the app can all say "8 行未使用：第 2、3… 行 坐标为空"
from the same records. `format_dropped` writes that one line; `dropped_frame` the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from circles.errors import InputError

__all__ = ["DROPPED_COLUMNS", "DroppedRow", "dropped_frame", "format_dropped"]

DROPPED_COLUMNS: tuple[str, ...] = ("row", "name", "reason", "reason_zh", "reason_en")


@dataclass(frozen=True)
class DroppedRow:
    """One row of an input that a run does not use.

    Attributes
    ----------
    row
        The spreadsheet row the planner sees (header = row 1), the feature number (from 1) of a
        GIS file, or the frame's own index label for an in-memory table.
    name
        The row's name cell (facility or residential unit), ``""`` when it has none.
    reason
        A stable code: ``"missing_coordinates"``, ``"missing_category"``, ``"total_row"`` ...
    reason_zh, reason_en
        The reason in a few words, e.g. ``"坐标为空"`` / ``"no coordinates"``.
    """

    row: int
    name: str
    reason: str
    reason_zh: str
    reason_en: str

    def to_dict(self) -> dict[str, object]:
        """The record as a plain dict (for JSON), keys as in `DROPPED_COLUMNS`."""
        return asdict(self)


def dropped_frame(dropped: Sequence[DroppedRow]) -> pd.DataFrame:
    """The dropped rows as a table with the columns of `DROPPED_COLUMNS`, in row order."""
    return pd.DataFrame([d.to_dict() for d in dropped], columns=list(DROPPED_COLUMNS))


def format_dropped(
    dropped: Sequence[DroppedRow], *, lang: str = "zh", source: str = "", limit: int = 10,
) -> str:
    """The one-line message of rows not used, grouped by reason; ``""`` when none was dropped.

    Parameters
    ----------
    dropped
        The records (e.g. ``ledger.dropped`` or ``demand.dropped``).
    lang
        ``"zh"`` or ``"en"``.
    source
        Optional name of the input, put in front: ``"台账.csv：8 行未使用 ..."``.
    limit
        At most this many row numbers per reason; the rest are counted.

    Returns
    -------
    str
        One line, e.g. ``"8 行未使用：第 2、3、4、5、6、7、8、9 行 坐标为空"`` or
        ``"8 rows not used: rows 2, 3, 4, 5, 6, 7, 8, 9 no coordinates"``.

    Examples
    --------
    >>> rows = [DroppedRow(2, "A", "missing_coordinates", "坐标为空", "no coordinates"),
    ...         DroppedRow(5, "B", "total_row", "合计行", "total row")]
    >>> format_dropped(rows)
    '2 行未使用：第 2 行 坐标为空；第 5 行 合计行'
    >>> format_dropped(rows, lang="en", source="f.csv")
    'f.csv: 2 rows not used: row 2 no coordinates; row 5 total row'
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang {lang!r} is not supported; use 'zh' or 'en'")
    if not dropped:
        return ""
    groups: dict[tuple[str, str], list[int]] = {}
    for d in sorted(dropped, key=lambda d: d.row):
        groups.setdefault((d.reason_zh, d.reason_en), []).append(d.row)
    parts = []
    for (zh, en), rows in groups.items():
        shown, more = rows[:limit], len(rows) - limit
        if lang == "zh":
            tail = f" 等 {len(rows)} 行" if more > 0 else " 行"
            parts.append(f"第 {'、'.join(str(r) for r in shown)}{tail} {zh}")
        else:
            tail = f" and {more} more" if more > 0 else ""
            parts.append(f"row{'s' if len(rows) > 1 else ''} {', '.join(str(r) for r in shown)}{tail} {en}")
    n = len(dropped)
    if lang == "zh":
        text = f"{n} 行未使用：" + "；".join(parts)
        return f"{source}：{text}" if source else text
    text = f"{n} row{'s' if n > 1 else ''} not used: " + "; ".join(parts)
    return f"{source}: {text}" if source else text

"""Cells as the planner typed them: text, header names, numbers with full-width digits, row lists.

One set of rules for every input table (the facility ledger, the population, the candidates):
headers compare without regard to case, full-/half-width forms, spaces, a leading or trailing
``*`` and a trailing unit in brackets (``常住人口（人）``, ``经度(GCJ-02)``); numbers accept
full-width digits and thousands separators (``１,２００`` is 1200).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cell_text", "norm_header", "norm_value", "number_text", "one_line", "rows_text", "text_series"]


def cell_text(value: Any) -> str:
    """A cell as stripped text, ``""`` when empty; whole floats lose their ``.0`` (Excel numbers).

    Examples
    --------
    >>> cell_text(12.0), cell_text(None), cell_text("  养老驿站 ")
    ('12', '', '养老驿站')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
    return str(value).strip()


def text_series(values: pd.Series) -> pd.Series:
    """Cells as stripped strings, ``""`` for empty cells; keeps the index."""
    return pd.Series([cell_text(v) for v in values], index=values.index, dtype=object)


def norm_header(value: Any) -> str:
    """A header folded for matching: ``"经度（GCJ-02）"`` and ``"经度"`` compare equal.

    NFKC (full-width to half-width), lower case, no whitespace, ``_``, ``/`` or ``、``, no leading
    or trailing ``*``, no trailing bracketed unit or note; ``~`` and dashes unified.

    Examples
    --------
    >>> norm_header(" 常住人口（人） "), norm_header("名称*"), norm_header("Pop_60plus")
    ('常住人口', '名称', 'pop60plus')
    """
    s = unicodedata.normalize("NFKC", str(value)).replace("\ufeff", "").strip().lower()
    s = re.sub(r"\s+", "", s)
    s = s.strip("*")
    s = re.sub(r"\([^()]*\)$", "", s)  # a trailing unit or note: 经度(GCJ-02), 建筑面积(m2)
    s = re.sub(r"\[[^\[\]]*\]$", "", s)
    s = re.sub(r"[_/、]+", "", s)
    return s.replace("—", "-").replace("–", "-")


def norm_value(value: Any) -> str:
    """A cell value folded for matching words: NFKC, lower case, no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value))).lower()


def number_text(value: Any) -> str:
    """A cell's text ready for `float`: NFKC (full-width digits), no spaces or thousands separators.

    Examples
    --------
    >>> number_text("１，２００ "), number_text(30.0)
    ('1200', '30')
    """
    return unicodedata.normalize("NFKC", cell_text(value)).replace(",", "").replace(" ", "")


def rows_text(rows: Iterable[int], *, word: str = "row", limit: int = 8) -> str:
    """``"rows 2, 3, 5"`` (at most `limit` numbers, then ``"and N more"``); `word` may be ``"feature"``.

    Examples
    --------
    >>> rows_text([7]), rows_text(range(2, 12), limit=3)
    ('row 7', 'rows 2, 3, 4 and 7 more')
    """
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{word}{'s' if len(rows) > 1 else ''} {shown}{more}"


def one_line(exc: BaseException | str) -> str:
    """An exception's text on one line (for messages that must stay one line)."""
    text = " ".join(str(exc).split())
    return text or (type(exc).__name__ if isinstance(exc, BaseException) else "")

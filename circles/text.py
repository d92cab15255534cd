"""Small text helpers shared by the stages: header normalisation, row lists, one-line messages, JSON-safe values."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["norm_header", "rows_text", "one_line", "jsonable"]


def norm_header(value: Any) -> str:
    """A column header as compared with aliases: NFKC, no BOM, no spaces, lower case, no ``*`` marks.

    >>> norm_header(" 经 度* ")
    '经度'
    """
    s = unicodedata.normalize("NFKC", str(value)).replace("\ufeff", "").strip().lower()
    return "".join(s.split()).strip("*")


def rows_text(rows: Iterable[int], *, most: int = 5) -> str:
    """``"row 7"`` or ``"rows 2, 3, 9 ..."`` (at most `most` numbers shown)."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:most])
    return f"row {shown}" if len(rows) == 1 else f"rows {shown}{' ...' if len(rows) > most else ''}"


def one_line(text: Any) -> str:
    """Any text as one line (runs of white space, newlines included, become one space)."""
    return " ".join(str(text).split())


def jsonable(v: Any) -> Any:
    """`v` with numpy scalars as Python numbers, NaN/inf and pandas NA as None, mappings keyed by text."""
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NA:
        return None
    return v

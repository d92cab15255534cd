"""Facility attributes the standards need: floor (楼层), lift (电梯), service functions (服务功能), opening times.

Each parser reads one ledger column cell by cell and returns an array aligned with the rows; a
cell it cannot read becomes a ``"bad_attribute"`` problem naming the row, the column, the value
and the fix. `bad_attributes_message` gathers them into the one line the ledger is refused with
(a rule cannot be checked on a value that was guessed).

Examples
--------
>>> parse_floor_text("1-3层"), parse_floor_text("二楼"), parse_floor_text("地下一层")
(3, 2, -1)
>>> parse_lift_text("有"), parse_lift_text("无电梯"), parse_lift_text("")
(True, False, None)
>>> parse_functions_text("助餐、日间照料；托育")
('meals', 'elderly_care', 'infant_care')
>>> parse_hours_text("08:00-12:00, 14:00-17:30")
7.5
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from circles.facilities.report import Problem, make_problem
from circles.inputs.text import rows_text
from circles.standards import FUNCTIONS, function_id, function_label

__all__ = [
    "ATTRIBUTE_COLUMNS", "bad_attributes_message", "function_ids", "parse_attributes", "parse_days_text",
    "parse_floor_text", "parse_functions_text", "parse_hours_text", "parse_lift_text",
]

#: The canonical ledger columns read here (see `circles.facilities.columns.COLUMN_ALIASES`).
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("floor", "lift", "functions", "opening_hours", "days_per_week")

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_YES = frozenset({"有", "是", "y", "yes", "true", "1", "√", "✓", "✔", "有电梯", "已安装", "已加装", "配备", "有无障碍电梯"})
_NO = frozenset({"无", "否", "没有", "n", "no", "false", "0", "×", "✗", "✘", "无电梯", "未安装", "未加装", "不配备"})
_GROUND = frozenset({"首层", "底层", "一层", "一楼", "地面层", "地上一层", "首", "g", "gf"})
_SEPARATORS = re.compile(r"[、,，;；/|+＋]+")
_TIME = re.compile(r"(\d{1,2})[:：](\d{2})\s*[-–—~～至到]\s*(\d{1,2})[:：](\d{2})")
_WEEKDAYS = "一二三四五六日天"


def _fold(value: Any) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value)).casefold().split())


def _cn_number(text: str) -> int | None:
    """An integer written in digits or Chinese numerals up to 99 (``"十二"`` = 12), else None."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return _DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


def parse_floor_text(value: Any) -> int | None:
    """The highest floor a facility's rooms are on (1 = ground floor, -1 = first basement), None for a blank.

    Accepts ``2``, ``"2层"``, ``"2楼"``, ``"二层"``, ``"3F"``, ``"F3"``, ``"1-3层"``/``"1至3层"`` (rooms on
    several floors: the highest counts), ``"首层"``, ``"地下一层"``/``"B1"``/``"-1"``. Raises `ValueError`
    for anything else, and for floor 0 (floors are counted from 1, the ground floor).
    """
    text = _fold(value)
    if not text:
        return None
    if text in _GROUND:
        return 1
    below = text.startswith(("地下", "负", "-", "b"))
    text = re.sub(r"^(地下|地上|负|-|b)", "", text)
    text = re.sub(r"(层|楼|f|l)$", "", re.sub(r"^(f|l)", "", text))
    parts = [p for p in re.split(r"[-~～至到、,，]|层|楼", text) if p]
    numbers = [_cn_number(p) for p in parts]
    if not numbers or any(n is None for n in numbers):
        raise ValueError(f"{value!r} is not a floor; write the floor number, e.g. 2, 2层 or 1-3层 (首层 = 1)")
    top = max(numbers)
    if top == 0 or top > 200:
        raise ValueError(f"{value!r} is not a floor; floors count from 1 (首层/ground floor), e.g. 1 or 2层")
    return -min(numbers) if below else top


def parse_lift_text(value: Any) -> bool | None:
    """True for 有/是/yes, False for 无/否/no, None for a blank; `ValueError` for anything else."""
    text = _fold(value)
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"{value!r} is not 有 or 无; write 有 (a lift) or 无 (none)")


def parse_functions_text(value: Any) -> tuple[str, ...]:
    """Service function ids of a cell listing them (``"助餐、日间照料"``), in order, without repeats.

    Words are separated by 、 , ; / (or spaces between words that are not one name together); each
    must name one of `circles.standards.FUNCTIONS`
    (``ValueError`` naming the unknown ones and the accepted names otherwise).
    """
    words: list[str] = []
    for piece in _SEPARATORS.split(unicodedata.normalize("NFKC", str(value or ""))):
        # "day care" is one function; "助餐 康复" two: spaces separate only words that are not one name together
        words += [piece] if function_id(piece) or not piece.strip() else piece.split()
    words = [w for w in words if w.strip()]
    ids = [function_id(w) for w in words]
    unknown = [w for w, f in zip(words, ids) if f is None]
    if unknown:
        names = "、".join(zh for zh, _, _ in FUNCTIONS.values())
        raise ValueError(f"{'、'.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a service function; "
                         f"use {names} (or 日间照料、助浴、康复 …)")
    return tuple(dict.fromkeys(i for i in ids if i))


def function_ids(cell: Any) -> frozenset[str]:
    """The function ids of a facility frame's ``functions`` cell (labels joined by 、); empty for a blank."""
    if cell is None or (isinstance(cell, float) and cell != cell):
        return frozenset()
    return frozenset(i for i in (function_id(w) for w in str(cell).split("、") if w) if i)


def parse_hours_text(value: Any) -> float | None:
    """Opening hours per day from ``"08:00-17:30"`` (ranges add up) or ``"24小时"``/``"全天"``; None for a blank."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        return None
    if re.search(r"24\s*(小时|h)|全天|24/7", text, re.IGNORECASE):
        return 24.0
    total = 0.0
    for h0, m0, h1, m1 in _TIME.findall(text):
        start, end = int(h0) * 60 + int(m0), int(h1) * 60 + int(m1)
        if not (0 <= start <= 1440 and 0 <= end <= 1440 and int(m0) < 60 and int(m1) < 60) or end <= start:
            raise ValueError(f"{value!r}: {h0}:{m0}-{h1}:{m1} is not a time range within a day; e.g. 08:00-17:30")
        total += (end - start) / 60.0
    if total == 0.0:
        raise ValueError(f"{value!r} gives no opening hours; write them as 08:00-17:30 (several ranges with 、)")
    return round(total, 2)


def parse_days_text(value: Any) -> float | None:
    """Opening days per week: a number 1–7 (``"5"``, ``"5天"``), or 周一至周五 (5), 每天/全年 (7), 工作日 (5)."""
    text = _fold(value)
    if not text:
        return None
    if re.fullmatch(r"[1-7](天|日|d)?(/周|每周)?", text) or re.fullmatch(r"(每周)?[1-7](天|日)", text):
        return float(re.search(r"[1-7]", text).group())
    if any(w in text for w in ("每天", "每日", "全年", "全周", "7×24", "无休")):
        return 7.0
    if "工作日" in text:
        return 5.0
    m = re.search(rf"(?:周|星期)([{_WEEKDAYS}])(?:至|到|-|~)(?:周|星期)?([{_WEEKDAYS}])", text)
    if m:
        order = "一二三四五六日"
        a, b = (order.index("日" if c == "天" else c) for c in m.groups())
        if b >= a:
            return float(b - a + 1)
    raise ValueError(f"{value!r} is not a number of days per week; write 1–7, 周一至周五 or 每天")


def _days_in_hours(value: Any) -> float | None:
    """Days per week stated inside an opening-hours cell (``"周一至周五 8:00-17:00"``), else None."""
    try:
        m = re.search(rf"(?:周|星期)[{_WEEKDAYS}](?:至|到|-|~)(?:周|星期)?[{_WEEKDAYS}]|每天|每日|工作日|全年",
                      unicodedata.normalize("NFKC", str(value or "")))
        return parse_days_text(m.group()) if m else None
    except ValueError:
        return None


def parse_attributes(text: Mapping[str, np.ndarray], rows: np.ndarray, headers: Mapping[str, str],
                     problems: list[Problem]) -> dict[str, np.ndarray]:
    """The attribute columns of the kept rows, each a cell per row; a ``bad_attribute`` problem per bad cell.

    Parameters
    ----------
    text
        Cell texts by canonical column (those of `ATTRIBUTE_COLUMNS` present in the ledger).
    rows
        The spreadsheet rows of the cells, for messages.
    headers
        The ledger's header of each canonical column.
    problems
        Problems are appended here.

    Returns
    -------
    dict
        ``floor`` (float, NaN unknown), ``lift`` (object: True, False or None), ``functions``
        (the functions' Chinese names joined by 、, None when blank), ``opening_hours`` (the text),
        ``hours_per_day`` and ``days_per_week`` (floats, NaN unknown).
    """
    n = len(rows)
    out: dict[str, np.ndarray] = {
        "floor": np.full(n, np.nan), "lift": np.full(n, None, dtype=object),
        "functions": np.full(n, None, dtype=object), "opening_hours": np.full(n, None, dtype=object),
        "hours_per_day": np.full(n, np.nan), "days_per_week": np.full(n, np.nan),
    }

    def each(col: str, parse) -> None:
        if col not in text:
            return
        for i, v in enumerate(text[col]):
            try:
                parse(i, v)
            except ValueError as exc:
                problems.append(make_problem(int(rows[i]), headers.get(col), "bad_attribute",
                                             f"“{v}”无法识别：{exc}", str(exc), value=str(v)))

    def floor(i: int, v: Any) -> None:
        f = parse_floor_text(v)
        out["floor"][i] = np.nan if f is None else f

    def lift(i: int, v: Any) -> None:
        out["lift"][i] = parse_lift_text(v)

    def functions(i: int, v: Any) -> None:
        ids = parse_functions_text(v)
        out["functions"][i] = "、".join(function_label(f, "zh") for f in ids) or None

    def hours(i: int, v: Any) -> None:
        h = parse_hours_text(v)
        out["opening_hours"][i] = str(v).strip() or None
        out["hours_per_day"][i] = np.nan if h is None else h
        stated = _days_in_hours(v)
        if stated is not None and np.isnan(out["days_per_week"][i]):
            out["days_per_week"][i] = stated

    def days(i: int, v: Any) -> None:
        d = parse_days_text(v)
        if d is not None:
            out["days_per_week"][i] = d

    for col, parse in (("floor", floor), ("lift", lift), ("functions", functions), ("days_per_week", days),
                       ("opening_hours", hours)):
        each(col, parse)
    return out


def bad_attributes_message(problems: Sequence[Problem], *, source_name: str) -> str | None:
    """The one line refusing a ledger with unreadable attribute cells (every one named), or None.

    ``"f.csv: 2 bad attribute values: row 4 column '电梯': 'maybe' is not 有 or 无 ...; row 7 ...;
    fix these cells and run again"``
    """
    bad = [p for p in problems if p.kind == "bad_attribute"]
    if not bad:
        return None
    listed = "; ".join(f"row {p.row} column '{p.column}': {p.message_en}" for p in bad[:10])
    more = f"; and {len(bad) - 10} more ({rows_text(sorted({p.row for p in bad[10:] if p.row is not None}))})" \
        if len(bad) > 10 else ""
    return (f"{source_name}: {len(bad)} bad attribute value{'s' if len(bad) > 1 else ''}: {listed}{more}; "
            "fix these cells (the rules cannot be checked on a guessed value) and run again")

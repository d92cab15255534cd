"""Category and tier cells: matched against the profile's vocabulary; unknown words named with the closest known one.

The vocabulary is the profile's (ids, labels, tier labels and ``aliases`` in
``circles/data/profiles/*.toml``), so a word added there is understood by every ledger read
with that profile. A value the profile does not know refuses the ledger: one `LedgerError`
names every unknown value with its rows and the closest known word, so a clerk fixes them all
at once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from circles.facilities.report import Problem, make_problem
from circles.inputs.text import norm_value, rows_text

__all__ = ["allowed_categories", "closest_word", "match_categories", "unknown_values_message"]

CLOSEST_CUTOFF = 0.5  # difflib similarity below which no word is "close"
_UNKNOWN_KINDS = ("unknown_category", "ambiguous_category", "unknown_tier")


def closest_word(value: str, words: Sequence[str], *, cutoff: float = CLOSEST_CUTOFF) -> str | None:
    """The known word most similar to `value` (difflib ratio on folded text), or None below `cutoff`.

    Examples
    --------
    >>> closest_word("社区养老服务驿栈", ["养老驿站", "社区养老服务驿站", "老年助餐点"])
    '社区养老服务驿站'
    >>> closest_word("卫生院", ["老年助餐点"]) is None
    True
    """
    folded: dict[str, str] = {}
    for w in words:
        folded.setdefault(norm_value(w), w)
    hits = difflib.get_close_matches(norm_value(value), list(folded), n=1, cutoff=cutoff)
    return folded[hits[0]] if hits else None


def allowed_categories(profile: Any) -> str:
    """``"elderly (养老服务设施; tiers: centre 街道/乡镇综合养老服务中心, station ...), meal (...)"``."""
    parts = []
    for cat in getattr(profile, "categories", ()):
        label = getattr(cat, "label_zh", "") or ""
        tiers = [f"{t.id} {getattr(t, 'label_zh', '')}".strip() for t in getattr(cat, "tiers", ()) or ()]
        tier_text = f"; tiers: {', '.join(tiers)}" if tiers else ""
        parts.append(f"{cat.id} ({label}{tier_text})" if label or tier_text else str(cat.id))
    return ", ".join(parts)


def match_categories(
    categories: pd.Series,
    tiers: pd.Series | None,
    rows: np.ndarray,
    *,
    profile: Any,
    headers: Mapping[str, str],
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Profile ids of each row's category and tier, and which rows cannot be used.

    Empty categories are ``missing_category`` errors (the row is dropped). Unknown or ambiguous
    category values and tier values that are not tiers of the row's category become
    ``unknown_category``/``ambiguous_category``/``unknown_tier`` problems with the closest known word as suggestion;
    the caller refuses the ledger when there are any (see `unknown_values_message`). A category
    with a single tier gives its facilities that tier; a tier cell overrides the tier a category
    word implies.

    Returns
    -------
    tuple
        ``(category, tier, drop)``: object arrays of ids (None where unknown or empty) and a
        boolean mask of the rows that cannot be used.
    """
    cat_out, tier_out, drop = _match_category_cells(
        categories.to_numpy(dtype=object), rows, profile=profile, column=headers["category"], problems=problems,
    )
    for i in range(len(cat_out)):  # a category with a single tier: its facilities are of that tier
        if cat_out[i] is not None and tier_out[i] is None:
            cat_tiers = getattr(_find_category(profile, cat_out[i]), "tiers", ()) or ()
            if len(cat_tiers) == 1:
                tier_out[i] = cat_tiers[0].id
    if tiers is not None:
        drop |= _match_tier_cells(tiers.to_numpy(dtype=object), cat_out, tier_out, drop, rows,
                                  profile=profile, column=headers["tier"], problems=problems)
    return cat_out, tier_out, drop


def _match_category_cells(
    values: np.ndarray, rows: np.ndarray, *, profile: Any, column: str, problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(values)
    cat_out = np.full(n, None, dtype=object)
    tier_out = np.full(n, None, dtype=object)
    drop = np.zeros(n, dtype=bool)
    cache: dict[str, frozenset[tuple[str, str | None]]] = {}
    words = _known_words(profile)
    pid = getattr(profile, "id", "")
    for i, value in enumerate(values):
        r = int(rows[i])
        if not value:
            drop[i] = True
            problems.append(make_problem(
                r, column, "missing_category", "类型为空，该行未导入；请填写设施类型",
                "the category is empty; row not imported; fill in the facility type",
            ))
            continue
        if value not in cache:
            cache[value] = profile.lookup(value)
        targets = cache[value]
        if len(targets) == 1:
            cat_out[i], tier_out[i] = next(iter(targets))
            continue
        drop[i] = True
        if targets:
            names = ", ".join(sorted(f"{c}.{t}" if t else c for c, t in targets))
            problems.append(make_problem(
                r, column, "ambiguous_category",
                f"类型“{value}”有歧义：可指 {names}；请写其中之一",
                f"category {value!r} is ambiguous in profile '{pid}': it names {names}; write one of these",
                value=value, suggestion=" / ".join(sorted(f"{c}.{t}" if t else c for c, t in targets)),
            ))
            continue
        best = closest_word(value, words)
        near_zh = f"最接近的已知词：“{best}”" if best else "没有相近的已知词"
        near_en = f"closest known word: {best!r}" if best else "no close known word"
        problems.append(make_problem(
            r, column, "unknown_category",
            f"类型“{value}”不在配置“{pid}”中（{near_zh}）；请改为已知的类型，或在配置的 aliases 中加入该词",
            f"category {value!r} is not known to profile '{pid}' ({near_en}); write a known category or add "
            "the word to the profile's aliases",
            value=value, suggestion=best or "",
        ))
    return cat_out, tier_out, drop


def _match_tier_cells(
    values: np.ndarray, cat_out: np.ndarray, tier_out: np.ndarray, drop: np.ndarray, rows: np.ndarray, *,
    profile: Any, column: str, problems: list[Problem],
) -> np.ndarray:
    """Tier cells of rows with a known category (in place into `tier_out`); returns the unknown rows."""
    unknown = np.zeros(len(values), dtype=bool)
    lookups: dict[str, dict[str, str]] = {}
    for i, value in enumerate(values):
        if drop[i] or not value:
            continue
        cat_id = cat_out[i]
        if cat_id not in lookups:
            lookups[cat_id] = _tier_lookup(_find_category(profile, cat_id))
        tier_id = lookups[cat_id].get(norm_value(value))
        if tier_id is None:
            hits = profile.lookup(value)
            if len(hits) == 1:
                other_cat, other_tier = next(iter(hits))
                if other_cat == cat_id and other_tier:
                    tier_id = other_tier
        if tier_id is not None:
            tier_out[i] = tier_id
            continue
        unknown[i] = True
        cat = _find_category(profile, cat_id)
        allowed = ", ".join(
            f"{t.id} {getattr(t, 'label_zh', '')}".strip() for t in getattr(cat, "tiers", ()) or ()
        ) or "none (leave the cell empty)"
        best = closest_word(value, profile.known_words(cat_id))
        near_en = f"; closest known word: {best!r}" if best else ""
        near_zh = f"；最接近的已知词：“{best}”" if best else ""
        problems.append(make_problem(
            int(rows[i]), column, "unknown_tier",
            f"层级“{value}”不是 {cat_id} 的层级（可填：{allowed}{near_zh}）",
            f"tier {value!r} is not a tier of {cat_id} (allowed: {allowed}{near_en})",
            value=value, suggestion=best or "",
        ))
    return unknown


def unknown_values_message(problems: Sequence[Problem], *, source_name: str, profile: Any) -> str | None:
    """One line naming every unknown category/tier value with its rows and closest known word; None if none.

    Examples
    --------
    ``"f.csv: 2 unknown values: rows 5, 7: 类型 '养老院' (closest known word: '养老'); row 6: 类型
    '卫生服务站' (no close known word); allowed categories in profile '15min': elderly (...) ...; fix
    these cells or add the words to `aliases` in a profile TOML"``
    """
    groups: dict[tuple[str, str | None, str | None, str], list[int]] = {}
    texts: dict[tuple[str, str | None, str | None, str], str] = {}
    for p in problems:
        if p.kind not in _UNKNOWN_KINDS or p.row is None:
            continue
        key = (p.kind, p.column, p.value, p.message_en)
        groups.setdefault(key, []).append(p.row)
        texts[key] = _short_reason(p)
    if not groups:
        return None
    listed = "; ".join(f"{rows_text(rows)}: {texts[key]}" for key, rows in groups.items())
    pid = getattr(profile, "id", "")
    n = len({(k[0], k[1], k[2]) for k in groups})
    return (
        f"{source_name}: {n} unknown value{'s' if n > 1 else ''}: {listed}; allowed categories in profile "
        f"{pid!r}: {allowed_categories(profile)}; fix these cells (ids, labels, tier labels and aliases are "
        "accepted) or add the words to `aliases` in a profile TOML; "
        "`circles facilities check --table 问题清单.xlsx` lists every row to fix"
    )


def _short_reason(p: Problem) -> str:
    """``"类型 '养老院' (closest known word: '养老')"`` from an unknown-value problem's fields."""
    if p.kind == "unknown_tier":
        return p.message_en
    if p.kind == "ambiguous_category":
        return f"{p.column} {p.value!r} (ambiguous: it names {p.suggestion.replace(' / ', ', ')})"
    near = f"closest known word: {p.suggestion!r}" if p.suggestion else "no close known word"
    return f"{p.column} {p.value!r} ({near})"


def _known_words(profile: Any) -> tuple[str, ...]:
    words = getattr(profile, "known_words", None)
    return tuple(words()) if callable(words) else ()


def _find_category(profile: Any, category_id: str) -> Any:
    for cat in getattr(profile, "categories", ()):
        if cat.id == category_id:
            return cat
    return None


def _tier_lookup(cat: Any) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for t in getattr(cat, "tiers", ()) or ():
        names = (t.id, getattr(t, "label_zh", None), getattr(t, "label_en", None), *getattr(t, "aliases", ()))
        for label in names:
            if label:
                lookup[norm_value(str(label))] = t.id
                for part in re.split(r"[/、]", str(label)):  # "社区养老服务站/日间照料中心"
                    if part.strip():
                        lookup.setdefault(norm_value(part), t.id)
    return lookup

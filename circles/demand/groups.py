"""Need groups of the demand: 80+, people with disabilities, 特困/低保, 0–3 — given by the population file or estimated.

A profile says which groups each category serves (`circles.profiles.Category.groups`) and gives
each group a census share with its source (`circles.standards.Group`). `complete_groups` makes
sure every group a run counts is a column of the demand units: a column the population file
lacks, and blank cells of one it has, are estimated as the share of the group's base column
(``population`` unless the profile says e.g. ``of = "pop_60plus"``), and each estimated cell is
flagged in ``estimated_<column>`` so that every output can say so (`estimated_share`).

Example
-------
>>> import pandas as pd
>>> from circles.profiles import load_profile
>>> units = pd.DataFrame({"population": [1000, 2000], "pop_60plus": [200, 300], "pop_0_17": [150, 400]})
>>> done, estimated = complete_groups(units, load_profile("15min"), ["pop_80plus"])
>>> done["pop_80plus"].tolist(), done["estimated_pop_80plus"].tolist(), estimated
([25, 51], [True, True], {'pop_80plus': 2})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from circles.errors import CirclesError

__all__ = ["EXTRA_GROUPS", "GROUP_CAPS", "OPTIONAL_GROUPS", "VISIT_GROUPS", "complete_groups", "estimated_column",
           "estimated_share"]

#: Group columns a population file may give besides population, 60+ and 0–17 (never estimated by the readers).
EXTRA_GROUPS: tuple[str, ...] = ("pop_80plus", "pop_disabled", "pop_assistance", "pop_0_3")
#: Counts kept for home visits (`circles.visits`) when a population file gives them, never estimated:
#: dependent older people (失能/半失能老人) and people on a home-visit list (探访对象).
VISIT_GROUPS: tuple[str, ...] = ("pop_dependent", "pop_home_visit")
#: Every optional count column the readers keep (NaN where blank).
OPTIONAL_GROUPS: tuple[str, ...] = (*EXTRA_GROUPS, *VISIT_GROUPS)
#: A group never exceeds the column it is part of (80+ within 60+, 0–3 within 0–17, all within population).
GROUP_CAPS: Mapping[str, str] = {"pop_80plus": "pop_60plus", "pop_0_3": "pop_0_17", "pop_disabled": "population",
                                 "pop_assistance": "population", "pop_60plus": "population",
                                 "pop_0_17": "population", "pop_dependent": "pop_60plus",
                                 "pop_home_visit": "population"}


def estimated_column(column: str) -> str:
    """The flag column saying which units' `column` is estimated: ``estimated_<column>``."""
    return f"estimated_{column}"


def estimated_share(units: pd.DataFrame, column: str, weights: np.ndarray | None = None) -> float:
    """The share (0–1) of `column`'s people that are estimated, weighted by `weights` (default: the column itself).

    0.0 when the column carries no flag (given by the population file for every unit).
    """
    flag = estimated_column(column)
    if flag not in units or column not in units:
        return 0.0
    w = units[column].to_numpy(float) if weights is None else np.asarray(weights, float)
    w = np.where(np.isfinite(w), w, 0.0)
    total = float(w.sum())
    mask = units[flag].to_numpy(bool)
    if total <= 0:
        return 1.0 if mask.any() else 0.0
    return float(w[mask].sum()) / total


def complete_groups(units: pd.DataFrame, profile: Any, columns: Iterable[str]
                    ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The units with every group of `columns` present; missing columns and blank cells estimated and flagged.

    Parameters
    ----------
    units
        Demand units with ``population`` and the age columns (people).
    profile
        The profile: ``profile.group(id)`` gives each group's ``share`` and ``of`` column.
    columns
        The group columns needed (``pop_80plus``, ``pop_disabled`` ...).

    Returns
    -------
    (DataFrame, dict)
        A copy of `units` (or `units` itself when nothing was missing) and, per estimated column,
        the number of units estimated. Estimates are whole people when the population is, and
        never exceed the column the group is part of (`GROUP_CAPS`).

    Raises
    ------
    CirclesError
        A needed group that is missing has no share in the profile.
    """
    out = units
    counts: dict[str, int] = {}
    for col in _in_order(profile, columns):
        given = out[col].to_numpy(float) if col in out else np.full(len(out), np.nan)
        missing = ~np.isfinite(given)
        if not missing.any():
            continue
        group = profile.group(col)
        if group.share is None or group.of not in out:
            raise CirclesError(f"demand has no {col!r} column and profile '{profile.id}' gives no share to estimate "
                               f"it; add the column to the population file or [groups.{col}] share to the profile")
        base = out[group.of].to_numpy(float)
        whole = bool(np.all(np.isfinite(base)) and np.all(base == np.floor(base)))
        est = base * group.share
        est = np.rint(est) if whole else est
        cap = GROUP_CAPS.get(col)
        if cap is not None and cap in out:
            est = np.minimum(est, out[cap].to_numpy(float))
        values = np.where(missing, est, given)
        if out is units:
            out = units.copy()
        out[col] = values.astype(np.int64) if whole and np.all(np.isfinite(values)) else values
        flag = estimated_column(col)
        old = out[flag].to_numpy(bool) if flag in out else np.zeros(len(out), bool)
        out[flag] = old | missing
        counts[col] = int(missing.sum())
    return out, counts


def _in_order(profile: Any, columns: Iterable[str]) -> list[str]:
    """`columns` with the groups they are estimated from first (80+ of 60+ after 60+)."""
    wanted = list(dict.fromkeys(columns))
    ordered: list[str] = []

    def visit(col: str, depth: int = 0) -> None:
        if col in ordered or depth > len(wanted) + 3:
            return
        if col not in ("population", "pop_60plus", "pop_0_17"):
            of = profile.group(col).of
            if of in wanted:
                visit(of, depth + 1)
        ordered.append(col)

    for col in wanted:
        visit(col)
    return [c for c in ordered if c not in ("population",)]

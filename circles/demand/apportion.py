"""Whole people split exactly: largest-remainder apportionment of totals and of age groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from circles.demand.model import AGE_COLUMNS
from circles.errors import InputError

__all__ = ["apportion", "apportion_ages", "zone_age_totals"]


def apportion(total: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Split a whole number into whole parts proportional to weights (largest remainder).

    Each part is the floor of its exact quota; the people left over go one each to the parts
    with the largest fractional remainders (ties: the earlier part). The parts sum to `total`
    exactly and no part differs from its quota by one or more.

    Parameters
    ----------
    total
        Whole number ≥ 0 to split (people).
    weights
        Non-negative weights; at least one positive when `total` > 0.

    Returns
    -------
    numpy.ndarray
        int64 parts, same length as `weights`.

    Examples
    --------
    >>> apportion(40, [100.0, 300.0]).tolist()
    [10, 30]
    >>> apportion(10, [1, 1, 1]).tolist()
    [4, 3, 3]
    """
    w = np.asarray(weights)
    total = int(total)
    positive_w = np.asarray(w, dtype=np.float64) > 0
    if total < 0:
        raise InputError(f"apportion: total {total} is negative; pass a count of people ≥ 0")
    if len(w) == 0 or total == 0:
        if total > 0:
            raise InputError(f"apportion: no weights to split {total} over; pass at least one weight")
        return np.zeros(len(w), dtype=np.int64)
    if np.issubdtype(w.dtype, np.integer):
        w = w.astype(object)  # exact integer arithmetic (Python ints cannot overflow)
        big = int(sum(w))
        if big <= 0 or any(v < 0 for v in w):
            raise InputError(f"apportion: weights must be ≥ 0 with a positive sum to split {total}")
        scaled = [total * int(v) for v in w]
        floors = np.array([s // big for s in scaled], dtype=np.int64)
        rema = np.array([s % big for s in scaled], dtype=np.float64) / big
    else:
        w = w.astype(np.float64)
        big = float(w.sum())
        if not np.isfinite(big) or big <= 0 or (w < 0).any() or np.isnan(w).any():
            raise InputError(f"apportion: weights must be finite, ≥ 0, with a positive sum to split {total}")
        w = w / w.max()  # scale to [0, 1] so that tiny or huge weights cannot overflow the quotas
        quota = w * (total / w.sum())
        floors = np.floor(quota)
        rema = quota - floors
        floors = floors.astype(np.int64)
    left = total - int(floors.sum())
    order = np.argsort(-rema, kind="stable")
    positive = order[positive_w[order]] if left >= 0 else order[::-1][floors[order[::-1]] > 0]
    # float rounding can leave |left| one or two units beyond the ideal [0, n); spread it over the
    # units with positive weight (or, when taking back, positive parts) in remainder order
    if left and len(positive):
        step = 1 if left > 0 else -1
        reps = -(-abs(left) // len(positive))
        picks = np.tile(positive, reps)[: abs(left)]
        np.add.at(floors, picks, step)
    return floors


def zone_age_totals(total: int, given: dict[str, float], shares: dict[str, float]) -> dict[str, int]:
    """Whole 60+ and 0-17 totals of a zone: given (rounded) or total × share; never above the total."""
    out: dict[str, int] = {}
    for age in AGE_COLUMNS:
        v = given.get(age, np.nan)
        out[age] = int(np.rint(v)) if not np.isnan(v) else int(np.rint(total * shares[age]))
    out["pop_60plus"] = min(out["pop_60plus"], total)
    out["pop_0_17"] = min(out["pop_0_17"], total - out["pop_60plus"])
    return out


def apportion_ages(pop: np.ndarray, age_totals: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """60+ by population, then 0-17 by the people left: exact zone totals, never above a unit's population."""
    pop = np.asarray(pop, dtype=np.int64)
    if pop.sum() == 0:
        return np.zeros(len(pop), np.int64), np.zeros(len(pop), np.int64)
    old = apportion(age_totals["pop_60plus"], pop)
    rest = pop - old
    young = apportion(age_totals["pop_0_17"], rest) if rest.sum() > 0 else np.zeros(len(pop), np.int64)
    return old, young

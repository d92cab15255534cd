"""What meal delivery and home visits share: which facilities send or receive, the network each travels on.

`circles.delivery` and `circles.visits` take these; `circles.outreach` puts both results together.

Example
-------
>>> from circles.profiles import load_profile
>>> sorted(outreach_modes(load_profile("rural"), pd.DataFrame({"category": ["kitchen"]})))
['drive', 'ebike']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from circles.errors import CirclesError
from circles.profiles import KITCHEN_CATEGORY

__all__ = ["facilities_of", "facility_names", "network_for", "outreach_modes", "share"]


def facilities_of(facilities: pd.DataFrame, profile: Any, category: str,
                  tiers: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The facilities of `category` (and `tiers`; None = all), an unset tier counting as the last, as in `assess`.

    Parameters
    ----------
    facilities
        Canonical facility frame (``category``, ``tier``, ``lon``, ``lat``).
    profile
        The service profile (for the category's tiers).
    category
        A category id of the profile, or `circles.profiles.KITCHEN_CATEGORY`.
    tiers
        Tier ids to keep; None keeps every tier.

    Returns
    -------
    pandas.DataFrame
        The rows, in their order, with their index.
    """
    if "category" not in facilities or len(facilities) == 0:
        return facilities.iloc[:0]
    rows = facilities[(facilities["category"] == category).to_numpy()]
    if tiers is None or category == KITCHEN_CATEGORY:
        return rows
    last = profile.category(category).tiers[-1].id
    tier = rows["tier"].where(rows["tier"].notna(), last) if "tier" in rows else pd.Series(last, index=rows.index)
    return rows[tier.isin(tiers).to_numpy()]


def outreach_modes(profile: Any, facilities: pd.DataFrame | None = None) -> set[str]:
    """The networks meal delivery and home visits travel on, beyond those of the profile's tiers.

    Delivery needs its mode only when `facilities` include central kitchens (so a walk-only run
    without kitchens builds no road network); home visits need theirs whenever the profile has them.
    """
    modes = set()
    delivery = getattr(profile, "delivery", None)
    if delivery is not None and facilities is not None and "category" in facilities \
            and (facilities["category"] == KITCHEN_CATEGORY).any():
        modes.add(delivery.mode)
    visits = getattr(profile, "home_visits", None)
    if visits is not None:
        modes.add(visits.mode)
    return modes


def network_for(nets: Mapping[str, Any], mode: str, what: str) -> Any:
    """The network of `mode` among `nets` (the pipeline keys its walking network ``"walk"``); one line when missing."""
    if mode in nets:
        return nets[mode]
    raise CirclesError(f"{what} travels by {mode} but no {mode} network was built; build one with "
                       f"network.load_network(source, mode={mode!r}) and pass it in nets[{mode!r}]")


def share(part: float, whole: float) -> float | None:
    """``part / whole`` rounded to 6 decimals, None when `whole` is 0 (nothing to share)."""
    return round(float(part) / float(whole), 6) if whole > 0 else None


def facility_names(frame: pd.DataFrame) -> np.ndarray:
    """Each facility's name, or ``"#<k>"`` (its position from 1) where it has none."""
    raw = frame["name"].to_numpy(dtype=object) if "name" in frame else np.full(len(frame), None, dtype=object)
    return np.array([str(v) if isinstance(v, str) and v.strip() else f"#{i + 1}" for i, v in enumerate(raw)],
                    dtype=object)

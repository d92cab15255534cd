"""Services that travel to people: meals driven from central kitchens, staff visiting homes.

`circles.delivery` times every meal point from its nearest central kitchen, `circles.visits`
every demand unit from its nearest station; this module holds what both need (which facilities
send or receive, which networks they travel on) and turns both results into the figures of
one `Outreach` (`assess_outreach`) that summary.json, the files, the workbook, the report and the
map of an analysis show (`circles.outputs.outreach`).

Example
-------
>>> from circles.profiles import load_profile
>>> sorted(outreach_modes(load_profile("rural"), pd.DataFrame({"category": ["kitchen"]})))
['drive', 'ebike']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from circles.errors import CirclesError
from circles.profiles import KITCHEN_CATEGORY

__all__ = ["facilities_of", "facility_names", "network_for", "Outreach", "assess_outreach", "outreach_modes", "share"]


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


@dataclass(frozen=True)
class Outreach:
    """Meal delivery from central kitchens and home-visit reach of one analysis (either may not apply).

    Attributes
    ----------
    delivery
        `circles.delivery.DeliveryResult`, or None (the profile has no ``[delivery]`` or the ledger
        lists no central kitchen).
    visits
        `circles.visits.HomeVisitResult`, or None (the profile has no ``[home_visits]``).
    """

    delivery: Any = None
    visits: Any = None

    def figures(self) -> dict[str, Any]:
        """summary.json's ``delivery`` and ``home_visits`` (each key only when it applies)."""
        out: dict[str, Any] = {}
        if self.delivery is not None:
            out["delivery"] = self.delivery.figures()
        if self.visits is not None:
            out["home_visits"] = self.visits.figures()
        return out


def assess_outreach(report: Any, nets: Mapping[str, Any], *, area: Any = None) -> Outreach:
    """Meal delivery and home visits for one analysis.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport` (its profile, facilities and demand).
    nets
        The analysis's networks by mode (as `circles.pipeline.analyse` builds them).
    area
        The area analysed (WGS84 polygon, e.g. a batch district) or None: only its meal points are
        listed (home visits count the report's ``inside`` units already).

    Returns
    -------
    Outreach
        Delivery when the profile has ``[delivery]`` and the ledger lists central kitchens; home
        visits when the profile has ``[home_visits]``.
    """
    from circles.delivery import meal_delivery
    from circles.visits import home_visits

    profile = report.profile
    delivery = visits = None
    if profile.delivery is not None and "category" in report.facilities \
            and (report.facilities["category"] == KITCHEN_CATEGORY).any():
        delivery = meal_delivery(nets, report.facilities, profile, area=area)
    if profile.home_visits is not None:
        visits = home_visits(nets, report.facilities, report.demand, profile)
    return Outreach(delivery=delivery, visits=visits)


def share(part: float, whole: float) -> float | None:
    """``part / whole`` rounded to 6 decimals, None when `whole` is 0 (nothing to share)."""
    return round(float(part) / float(whole), 6) if whole > 0 else None


def facility_names(frame: pd.DataFrame) -> np.ndarray:
    """Each facility's name, or ``"#<k>"`` (its position from 1) where it has none."""
    raw = frame["name"].to_numpy(dtype=object) if "name" in frame else np.full(len(frame), None, dtype=object)
    return np.array([str(v) if isinstance(v, str) and v.strip() else f"#{i + 1}" for i, v in enumerate(raw)],
                    dtype=object)

"""Services that travel to people: meals driven from central kitchens, staff visiting homes.

`circles.delivery` times every meal point from its nearest central kitchen, `circles.visits`
every demand unit from its nearest station; this module holds what both need (which facilities
send or receive, which networks they travel on) and turns both results into the figures of
summary.json and the files of an analysis (`outreach_outputs`).

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

__all__ = ["facilities_of", "facility_names", "network_for", "outreach_modes", "outreach_outputs", "share"]


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


def outreach_outputs(report: Any, nets: Mapping[str, Any], *,
                     area: Any = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """summary.json keys and files of meal delivery and home visits for one analysis.

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
    tuple of (dict, dict)
        ``{"delivery": ..., "home_visits": ...}`` (each key only when it applies: delivery when
        the ledger lists central kitchens, home visits when the profile has ``[home_visits]``)
        and the files by name: ``delivery.csv``, ``delivery.geojson`` (links and unreachable meal
        points, WGS84), ``home_visits.csv``.
    """
    from circles.delivery import meal_delivery
    from circles.outputs.geojson import feature_collection, json_ready
    from circles.outputs.safety import csv_bytes
    from circles.visits import home_visits

    summary: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    profile = report.profile
    if profile.delivery is not None and (report.facilities["category"] == KITCHEN_CATEGORY).any():
        result = meal_delivery(nets, report.facilities, profile, area=area)
        summary["delivery"] = json_ready(result.figures())
        files["delivery.csv"] = csv_bytes(result.table.drop(columns="geometry", errors="ignore"))
        layer = result.layer()
        files["delivery.geojson"] = feature_collection(layer.geometry.values,
                                                       layer.drop(columns="geometry")).encode("utf-8")
    if profile.home_visits is not None:
        visits = home_visits(nets, report.facilities, report.demand, profile)
        summary["home_visits"] = json_ready(visits.figures())
        files["home_visits.csv"] = csv_bytes(visits.table)
    return summary, files


def share(part: float, whole: float) -> float | None:
    """``part / whole`` rounded to 6 decimals, None when `whole` is 0 (nothing to share)."""
    return round(float(part) / float(whole), 6) if whole > 0 else None


def facility_names(frame: pd.DataFrame) -> np.ndarray:
    """Each facility's name, or ``"#<k>"`` (its position from 1) where it has none."""
    raw = frame["name"].to_numpy(dtype=object) if "name" in frame else np.full(len(frame), None, dtype=object)
    return np.array([str(v) if isinstance(v, str) and v.strip() else f"#{i + 1}" for i, v in enumerate(raw)],
                    dtype=object)

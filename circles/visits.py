"""Home visits: every demand unit timed by e-bike from its nearest station; the share of home-visit demand in reach.

People who cannot come to a station — the very old (80+), dependent older people (失能/半失能) — are
visited at home by its staff (上门探访; 宁夏 2023: a monthly visit to every older person in special
difficulty). A profile's ``[home_visits]`` table says which facilities send staff (category and
tiers), how they travel (``ebike``: electric bicycle or tricycle at the profile's speed) and the
reach (minutes). The home-visit demand of a unit is the first of the profile's
``demand_columns`` the population gives (``pop_home_visit``, ``pop_dependent``, ``pop_80plus``);
where none is given it is estimated as ``estimate_share`` × ``estimate_from`` (e.g. 18.3 % of
the 60+, the national share of 失能/半失能 older people) and flagged as estimated.

Example
-------
>>> result = home_visits({"ebike": ebike_net}, ledger.facilities, demand.units, load_profile("rural"))  # doctest: +SKIP
>>> result.figures()["share"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.access import nearest_times
from circles.errors import CirclesError
from circles.outreach_base import facilities_of, facility_names, network_for, share

__all__ = ["HOME_VISIT_COLUMNS", "HomeVisitResult", "home_visit_demand", "home_visits"]

#: Columns of the home-visit table (home_visits.csv), one row per demand unit.
HOME_VISIT_COLUMNS = ("demand_id", "name", "lon", "lat", "demand", "estimated", "station", "minutes", "ok", "inside")


@dataclass(frozen=True)
class HomeVisitResult:
    """Demand units timed from their nearest station, with their home-visit demand.

    Attributes
    ----------
    table
        One row per demand unit (`HOME_VISIT_COLUMNS`): ``demand`` (people needing home visits),
        ``estimated`` (that figure estimated from the profile's share), the nearest ``station``
        by travel time, ``minutes`` (NaN when none is reached or the unit is off the network),
        ``ok`` (within the limit) and ``inside`` (counted: inside the study area).
    column
        The demand column used, or None when every unit is estimated.
    estimate
        How estimated units were estimated, e.g. ``"pop_60plus × 0.183 (source)"``.
    stations
        Number of facilities sending staff.
    limit_minutes, mode, speed_kmh
        The reach (minutes) and how staff travel (speed None on drive networks).
    label_zh, label_en, source
        The profile's ``[home_visits]`` labels and citation.
    """

    table: pd.DataFrame
    column: str | None
    estimate: str
    stations: int
    limit_minutes: float
    mode: str
    speed_kmh: float | None
    label_zh: str
    label_en: str
    source: str

    def figures(self) -> dict[str, Any]:
        """summary.json ``home_visits``: people needing visits, how many within reach, the share, how estimated."""
        t = self.table[self.table["inside"].to_numpy(bool)]
        w = t["demand"].to_numpy(float)
        ok = t["ok"].to_numpy(bool)
        est = t["estimated"].to_numpy(bool)
        return {
            "label_zh": self.label_zh, "label_en": self.label_en, "mode": self.mode, "speed_kmh": self.speed_kmh,
            "limit_minutes": self.limit_minutes, "stations": self.stations, "demand_column": self.column,
            "estimated_units": int(est.sum()), "estimated_demand": float(w[est].sum()),
            "estimate": self.estimate if est.any() else None,
            "units": int(len(t)), "units_within": int(ok.sum()),
            "demand_total": float(w.sum()), "demand_within": float(w[ok].sum()), "share": share(w[ok].sum(), w.sum()),
            "source": self.source,
        }

    def gaps(self) -> gpd.GeoDataFrame:
        """Counted units with home-visit demand beyond reach (WGS84 points), most people first."""
        t = self.table
        sel = t["inside"].to_numpy(bool) & ~t["ok"].to_numpy(bool) & (t["demand"].to_numpy(float) > 0)
        g = t[sel].sort_values("demand", ascending=False, kind="stable")
        return gpd.GeoDataFrame(g.assign(kind="home_visit_gap").reset_index(drop=True), crs="EPSG:4326",
                                geometry=gpd.points_from_xy(g["lon"], g["lat"]))


def home_visit_demand(demand: pd.DataFrame, profile: Any) -> tuple[np.ndarray, np.ndarray, str | None, str]:
    """People needing home visits per unit, and which of them are estimated.

    The first of the profile's ``home_visits.demand_columns`` present in `demand` with any value
    is used; its blank cells, or every unit when no such column exists, are estimated as
    ``estimate_share`` × ``estimate_from``.

    Returns
    -------
    tuple
        ``(people, estimated, column, estimate)``: float array, boolean array, the column used
        (None when none) and the estimate's description.
    """
    hv = profile.home_visits
    if hv.estimate_from not in demand.columns:
        raise CirclesError(f"demand has no {hv.estimate_from!r} column to estimate home-visit demand from; give "
                           f"one of {', '.join(hv.demand_columns)} or {hv.estimate_from} in the population file")
    base = demand[hv.estimate_from].to_numpy(float) * hv.estimate_share
    column = next((c for c in hv.demand_columns
                   if c in demand.columns and np.isfinite(demand[c].to_numpy(float)).any()), None)
    given = demand[column].to_numpy(float) if column is not None else np.full(len(demand), np.nan)
    estimated = ~np.isfinite(given)
    people = np.where(estimated, base, given)
    estimate = f"{hv.estimate_from} × {hv.estimate_share:g} ({hv.estimate_source})"
    return people, estimated, column, estimate


def home_visits(nets: Mapping[str, Any], facilities: pd.DataFrame, demand: pd.DataFrame, profile: Any, *,
                horizon_min: float | None = None, snap_max_m: float = 200.0) -> HomeVisitResult:
    """Minutes by the profile's home-visit mode from the nearest station to every demand unit.

    Parameters
    ----------
    nets
        Networks by mode; the profile's ``home_visits.mode`` one is used.
    facilities
        Canonical facility frame (WGS84); the stations are the ``home_visits.category`` (and
        ``tiers``) rows.
    demand
        Demand units (``lon``, ``lat``, the population columns; optional ``inside`` as in
        `circles.coverage.CoverageReport.demand`, default: every unit counts).
    profile
        A profile with a ``[home_visits]`` table.
    horizon_min
        Times are searched up to this many minutes (default twice the limit, at least 60).
    snap_max_m
        Units farther than this from every way are off the network (metres).

    Returns
    -------
    HomeVisitResult

    Raises
    ------
    CirclesError
        When the profile has no ``[home_visits]``, the network of its mode is missing, or the
        demand cannot give home-visit demand.
    """
    hv = getattr(profile, "home_visits", None)
    if hv is None:
        raise CirclesError(f"profile '{profile.id}' has no [home_visits] table; add one (see "
                           "circles/data/profiles/README.md) to time home visits from stations")
    stations = facilities_of(facilities, profile, hv.category, hv.tiers)
    limit = float(hv.minutes)
    horizon = horizon_min if horizon_min is not None else max(60.0, 2.0 * limit)
    speed = hv.speed_kmh if hv.mode != "drive" else None
    demand = demand.reset_index(drop=True)
    people, estimated, column, estimate = home_visit_demand(demand, profile)
    if len(stations) and len(demand):
        net = network_for(nets, hv.mode, "home visits")
        times = nearest_times(net, stations, demand, speed_kmh=speed, horizon_min=horizon, snap_max_m=snap_max_m)
        minutes, src = times["minutes"].to_numpy(float), times["source"].to_numpy(np.int64)
    else:
        minutes, src = np.full(len(demand), np.nan), np.full(len(demand), -1, dtype=np.int64)
    names = facility_names(stations)
    table = pd.DataFrame({
        "demand_id": demand["demand_id"] if "demand_id" in demand else pd.Series(np.arange(len(demand))),
        "name": demand["name"] if "name" in demand else None,
        "lon": demand["lon"].to_numpy(float).round(6), "lat": demand["lat"].to_numpy(float).round(6),
        "demand": np.round(people, 3), "estimated": estimated,
        "station": [names[s] if s >= 0 else None for s in src],
        "minutes": np.round(minutes, 2), "ok": np.isfinite(minutes) & (minutes <= limit),
        "inside": demand["inside"].to_numpy(bool) if "inside" in demand else np.ones(len(demand), bool),
    })
    return HomeVisitResult(table=table[list(HOME_VISIT_COLUMNS)], column=column, estimate=estimate,
                           stations=int(len(stations)), limit_minutes=limit, mode=hv.mode, speed_kmh=speed,
                           label_zh=hv.label_zh, label_en=hv.label_en, source=hv.source)

"""Scenarios: an analysis re-assessed with sites added (suggested or placed by hand), on the same networks.

A scenario is a table of added sites (`SITE_COLUMNS`); `scenario_result` gives the analysis
with them as an `circles.pipeline.AnalysisResult` (same demand, networks, districts and rules),
so its figures and files come from the same code as every other run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.errors import InputError

__all__ = ["SITE_COLUMNS", "SITE_SNAP_MAX_M", "empty_sites", "sites_frame", "sites_key", "check_on_network",
           "scenario_report", "scenario_result", "suggestion_sites", "suggestions_layer"]

#: Columns of a scenario's added sites (one row per site).
SITE_COLUMNS = ("category", "tier", "lon", "lat", "name", "origin")
#: Added sites farther than this (metres) from a walkable way are refused (siting leaves them out too).
SITE_SNAP_MAX_M = 200.0


def empty_sites() -> pd.DataFrame:
    """A scenario without added sites."""
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("lon", "lat") else object) for c in SITE_COLUMNS})


def sites_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Added sites as a frame with `SITE_COLUMNS`, checked (WGS84 lon/lat, a category)."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return empty_sites()
    for c in SITE_COLUMNS:
        if c not in frame:
            frame[c] = None
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    bad = ~(lon.between(-180, 180) & lat.between(-90, 90))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"site {i + 1}: location ({frame['lon'].iloc[i]}, {frame['lat'].iloc[i]}) is not a "
                         "WGS84 lon/lat in degrees; click on the map or type lon 114.30, lat 30.60")
    frame["lon"], frame["lat"] = lon.round(7), lat.round(7)
    return frame[list(SITE_COLUMNS)].reset_index(drop=True)


def sites_key(sites: pd.DataFrame) -> tuple[tuple[Any, ...], ...]:
    """A hashable, order-keeping form of added sites (the cache key of a scenario)."""
    return tuple(tuple(None if (isinstance(v, float) and math.isnan(v)) else v for v in row)
                 for row in sites[list(SITE_COLUMNS)].itertuples(index=False, name=None))


def check_on_network(net: Any, sites: pd.DataFrame, *, max_m: float = SITE_SNAP_MAX_M) -> None:
    """Refuse added sites farther than `max_m` metres from every walkable way (they would serve from afar)."""
    if sites is None or sites.empty:
        return
    x, y = net.to_xy(sites["lon"].to_numpy(float), sites["lat"].to_numpy(float))
    snap = net.snap(x, y, max_distance_m=max_m)
    far = np.flatnonzero(snap.off_network)
    if len(far):
        i = int(far[0])
        raise InputError(f"site {i + 1} ({sites['lon'].iloc[i]:.6f}, {sites['lat'].iloc[i]:.6f}) is "
                         f"{snap.distance_m[i]:,.0f} m from the nearest walkable way; put it on a street "
                         f"(within {max_m:g} m), e.g. click on the map inside the district")


def scenario_report(result: Any, sites: pd.DataFrame | None):
    """The coverage report of `result` with `sites` added to its facilities (same demand, networks, rules).

    Returns the base report unchanged when there are no sites. Each site needs a ``category``
    of the profile; a blank ``tier`` means the category's last tier (stations / points).
    """
    from circles.coverage import assess

    report = result.report
    if sites is None or sites.empty:
        return report
    check_on_network(result.walk, sites)
    profile = report.profile
    rows = []
    for i, s in enumerate(sites.itertuples(index=False)):
        cat = profile.category(str(s.category))
        tier = s.tier if isinstance(s.tier, str) and s.tier else cat.tiers[-1].id
        cat.tier(tier)  # unknown tiers raise with the valid ones
        rows.append({"name": s.name if isinstance(s.name, str) and s.name else f"new site {i + 1}",
                     "category": cat.id, "tier": tier, "lon": float(s.lon), "lat": float(s.lat)})
    keep = [c for c in report.facilities.columns if c not in ("geometry", "off_network", "snap_m")]
    facilities = pd.concat([pd.DataFrame(report.facilities[keep]), pd.DataFrame(rows)], ignore_index=True)
    base_cols = [c for c in report.demand.columns if not c.startswith(("minutes_", "facility_", "covered_"))
                 and c not in ("geometry", "inside", "off_network")]
    demand = pd.DataFrame(report.demand[base_cols])
    return assess(result.networks, facilities, demand, profile=profile, boundary=result.area.geometry,
                  districts=result.districts, district_col=result.district_col, horizon_min=report.horizon_min,
                  plain_speed_kmh=report.plain_speed_kmh)


def scenario_result(result: Any, sites: pd.DataFrame | None) -> Any:
    """`result` with `sites` added: the scenario's report, its sites as the suggestions layer."""
    if sites is None or sites.empty:
        return result
    report = scenario_report(result, sites)
    return replace(result, report=report, suggestions=(), added_sites=suggestions_layer(sites, result.report, report))


def suggestion_sites(siting: Any) -> pd.DataFrame:
    """The sites of a `circles.siting.SitingResult` as scenario rows."""
    rows = [{"category": siting.category, "tier": siting.tier, "lon": r.lon, "lat": r.lat,
             "name": f"{r.name}", "origin": "suggested"} for r in siting.sites.itertuples(index=False)]
    return sites_frame(rows)


def suggestions_layer(sites: pd.DataFrame | None, base: Any, scenario: Any) -> gpd.GeoDataFrame | None:
    """Added sites as a map/GeoJSON layer: rank and people newly covered per category."""
    if sites is None or sites.empty:
        return None
    frame = sites.copy()
    frame["rank"] = frame.groupby("category").cumcount() + 1
    added = {c.category: c.demand_covered for c in scenario.categories}
    before = {c.category: c.demand_covered for c in base.categories}
    n = frame.groupby("category")["lon"].transform("size")
    frame["added_covered"] = [(added[c] - before[c]) / k if k == 1 else np.nan for c, k in zip(frame["category"], n)]
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")

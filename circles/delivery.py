"""Meal delivery: every meal point (助餐点/老饭桌) timed from its nearest central kitchen (中心厨房) on the roads.

Rural meal points are often not kitchens: meals are cooked in a central kitchen (中心厨房/配餐中心)
and driven out (“中央厨房+专业配送”). A profile's ``[delivery]`` table names the kitchens (a ledger
category of its own, `circles.profiles.KITCHEN_CATEGORY`), the receiving category (``meal``), the
mode (``drive``, or ``ebike``) and the limit within which meals arrive warm. `meal_delivery`
gives, for every meal point, the nearest kitchen by travel time, the minutes and whether they are
within the limit; meal points beyond it (or off the roads) are the gaps.

Example
-------
>>> result = meal_delivery({"drive": drive_net}, ledger.facilities, load_profile("rural"))  # doctest: +SKIP
>>> result.figures()["share"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.access import nearest_times
from circles.errors import CirclesError
from circles.outreach_base import facilities_of, facility_names, network_for, share
from circles.profiles import KITCHEN_CATEGORY

__all__ = ["DELIVERY_COLUMNS", "DeliveryResult", "REASONS", "meal_delivery"]

#: Columns of the delivery table (delivery.csv), one row per meal point.
DELIVERY_COLUMNS = ("meal_point", "meal_point_tier", "meal_point_lon", "meal_point_lat", "kitchen", "kitchen_lon",
                    "kitchen_lat", "minutes", "ok", "reason")
#: ``reason`` codes of meal points beyond reach: (中文, English).
REASONS: Mapping[str, tuple[str, str]] = {
    "beyond_limit": ("超出送餐时限", "beyond the delivery limit"),
    "unreachable": ("路网上无法从中心厨房到达", "no road from a central kitchen within the horizon"),
    "off_network": ("离道路超过200米", "more than 200 m from a road"),
    "no_kitchen": ("台账中没有中心厨房", "no central kitchen in the ledger"),
}


def reason_text(code: Any, lang: str) -> str:
    """A `REASONS` code in words (``"zh"`` or ``"en"``); empty for none, an unknown code as it is."""
    if not isinstance(code, str) or not code:
        return ""
    words = REASONS.get(code)
    return code if words is None else words[0 if lang == "zh" else 1]


@dataclass(frozen=True)
class DeliveryResult:
    """Meal points timed from their nearest central kitchen.

    Attributes
    ----------
    table
        One row per meal point (`DELIVERY_COLUMNS`): its name, tier and WGS84 position, the
        nearest kitchen's name and position, ``minutes`` (NaN when none is reached), ``ok``
        (within the limit) and ``reason`` (a `REASONS` code, empty when ok).
    kitchens
        Number of central kitchens in the ledger.
    limit_minutes
        The delivery limit (minutes).
    mode
        The network the meals travel on (``drive`` or ``ebike``).
    speed_kmh
        The riding speed (ebike), None for road speeds by class (drive).
    label_zh, label_en, source
        The profile's ``[delivery]`` labels and citation.
    """

    table: pd.DataFrame
    kitchens: int
    limit_minutes: float
    mode: str
    speed_kmh: float | None
    label_zh: str
    label_en: str
    source: str

    def figures(self) -> dict[str, Any]:
        """summary.json ``delivery``: kitchens, meal points, how many within the limit, the share, the gaps."""
        ok = self.table["ok"].to_numpy(bool)
        beyond = self.table[~ok]
        return {
            "label_zh": self.label_zh, "label_en": self.label_en, "mode": self.mode, "speed_kmh": self.speed_kmh,
            "limit_minutes": self.limit_minutes, "kitchens": self.kitchens, "points": int(len(self.table)),
            "within_limit": int(ok.sum()), "share": share(ok.sum(), len(self.table)),
            "beyond": [{"meal_point": r.meal_point, "minutes": None if pd.isna(r.minutes) else r.minutes,
                        "reason": r.reason} for r in beyond.itertuples(index=False)],
            "source": self.source,
        }

    def links(self) -> gpd.GeoDataFrame:
        """Straight lines kitchen → meal point (WGS84) of every meal point a kitchen reaches, with its figures."""
        t = self.table[self.table["minutes"].notna()]
        lines = shapely.linestrings(np.stack([
            np.column_stack([t["kitchen_lon"].to_numpy(float), t["kitchen_lat"].to_numpy(float)]),
            np.column_stack([t["meal_point_lon"].to_numpy(float), t["meal_point_lat"].to_numpy(float)]),
        ], axis=1)) if len(t) else []
        props = t[["meal_point", "kitchen", "minutes", "ok"]].reset_index(drop=True)
        return gpd.GeoDataFrame(props.assign(kind="delivery_link"), geometry=list(lines), crs="EPSG:4326")

    def gaps(self) -> gpd.GeoDataFrame:
        """Meal points beyond reach (WGS84 points), with minutes and reason: the delivery gaps."""
        t = self.table[~self.table["ok"].to_numpy(bool)]
        props = t[["meal_point", "meal_point_tier", "kitchen", "minutes", "reason"]].reset_index(drop=True)
        return gpd.GeoDataFrame(props.assign(kind="delivery_gap"), crs="EPSG:4326",
                                geometry=gpd.points_from_xy(t["meal_point_lon"], t["meal_point_lat"]))

    def layer(self) -> gpd.GeoDataFrame:
        """The map layer: delivery links and gap points in one WGS84 frame (``kind`` tells them apart)."""
        cols = ["kind", "meal_point", "kitchen", "minutes", "ok", "reason", "geometry"]
        links = self.links().assign(reason="")
        gaps = self.gaps().assign(ok=False)
        frames = [f[cols] for f in (links, gaps) if len(f)]
        if not frames:
            return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs="EPSG:4326")
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326")


def meal_delivery(nets: Mapping[str, Any], facilities: pd.DataFrame, profile: Any, *,
                  area: shapely.Geometry | None = None, horizon_min: float | None = None,
                  snap_max_m: float = 200.0) -> DeliveryResult:
    """Minutes from the nearest central kitchen to every meal point, and whether within the profile's limit.

    Parameters
    ----------
    nets
        Networks by mode; the profile's ``delivery.mode`` one is used (``"drive"``: road speeds
        by class; ``"ebike"``: the delivery's speed preset).
    facilities
        Canonical facility frame (WGS84): kitchens have category
        `circles.profiles.KITCHEN_CATEGORY`, meal points the delivery's category (and tiers).
    profile
        A profile with a ``[delivery]`` table.
    area
        Only the meal points inside this polygon (WGS84) are listed, e.g. one district of a batch
        run; kitchens anywhere in `facilities` supply them. None: every meal point.
    horizon_min
        Times are searched up to this many minutes (default twice the limit, at least 60), so a
        point just beyond the limit still shows its time.
    snap_max_m
        Meal points farther than this from every road are off the network (metres).

    Returns
    -------
    DeliveryResult

    Raises
    ------
    CirclesError
        When the profile has no ``[delivery]`` or the network of its mode is missing.
    """
    d = getattr(profile, "delivery", None)
    if d is None:
        raise CirclesError(f"profile '{profile.id}' has no [delivery] table; add one (see "
                           "circles/data/profiles/README.md) to time meal points from central kitchens")
    kitchens = facilities_of(facilities, profile, KITCHEN_CATEGORY)
    points = facilities_of(facilities, profile, d.category, d.tiers)
    if area is not None and len(points):
        points = points[shapely.contains_xy(area, points["lon"].to_numpy(float), points["lat"].to_numpy(float))]
    limit = float(d.minutes)
    horizon = horizon_min if horizon_min is not None else max(60.0, 2.0 * limit)
    speed = d.speed_kmh if d.mode != "drive" else None
    out = _point_columns(points, profile, d.category)
    if len(kitchens) and len(points):
        net = network_for(nets, d.mode, "meal delivery")
        times = nearest_times(net, kitchens, points, speed_kmh=speed, horizon_min=horizon, snap_max_m=snap_max_m)
        minutes = times["minutes"].to_numpy(float)
        src = times["source"].to_numpy(np.int64)
        off = times["off_network"].to_numpy(bool)
    else:
        minutes = np.full(len(points), np.nan)
        src = np.full(len(points), -1, dtype=np.int64)
        off = np.zeros(len(points), dtype=bool)
    names = facility_names(kitchens)
    has = src >= 0
    out["kitchen"] = np.where(has, names[np.maximum(src, 0)] if len(names) else None, None)
    for c in ("lon", "lat"):
        vals = kitchens[c].to_numpy(float) if len(kitchens) else np.zeros(1)
        out[f"kitchen_{c}"] = np.where(has, np.round(vals[np.maximum(src, 0)], 6), np.nan)
    out["minutes"] = np.round(minutes, 2)
    out["ok"] = np.isfinite(minutes) & (minutes <= limit)
    out["reason"] = np.select(
        [out["ok"].to_numpy(bool), np.full(len(out), len(kitchens) == 0), off, ~np.isfinite(minutes)],
        ["", "no_kitchen", "off_network", "unreachable"], default="beyond_limit")
    return DeliveryResult(table=out[list(DELIVERY_COLUMNS)].reset_index(drop=True), kitchens=int(len(kitchens)),
                          limit_minutes=limit, mode=d.mode, speed_kmh=speed, label_zh=d.label_zh,
                          label_en=d.label_en, source=d.source)


def _point_columns(points: pd.DataFrame, profile: Any, category: str) -> pd.DataFrame:
    """The meal points' name, tier and WGS84 position, as the first columns of the delivery table."""
    last = profile.category(category).tiers[-1].id
    tier = points["tier"].where(points["tier"].notna(), last) if "tier" in points else pd.Series(last, index=points.index)
    return pd.DataFrame({
        "meal_point": facility_names(points),
        "meal_point_tier": tier.to_numpy(dtype=object),
        "meal_point_lon": points["lon"].to_numpy(float).round(6),
        "meal_point_lat": points["lat"].to_numpy(float).round(6),
    }, index=points.index)

"""The OSM fallback: facilities tagged in OpenStreetMap, by each category's ``osm_tags`` rules.

OSM in mainland China has few or none of these facilities; the planner's ledger is the primary
source and this a fallback (`circles analyze` without ``--facilities``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.errors import InputError
from circles.facilities.columns import FACILITY_COLUMNS, OPTIONAL_COLUMNS, facility_frame
from circles.facilities.coordinates import AMOUNT_RE, lonlat_of_geometry

__all__ = ["facilities_from_osm"]


def facilities_from_osm(features: gpd.GeoDataFrame, profile: Any) -> gpd.GeoDataFrame:
    """Facilities from OSM features, by each category's ``osm_tags`` rules.

    A feature matches a category when any of the category's rules holds (every condition of
    it: ``key=value``, or ``key!=value`` for "not"; value ``"*"``: the key is present with any
    value; a ``;``-separated tag value matches each of its parts). Tiers with their own ``osm_tags`` set the tier. A feature matching two
    categories gives one row for each.

    Parameters
    ----------
    features
        OSM features (`network.features.read_osm_features`): tag columns and geometry.
        Reprojected to EPSG:4326 when needed; polygons become their representative point.
    profile
        The service profile; categories without ``osm_tags`` match nothing.

    Returns
    -------
    geopandas.GeoDataFrame
        The canonical facility frame (`FACILITY_COLUMNS`, EPSG:4326, index 0..n-1);
        ``source_row`` is the feature's position in `features`, from 1. The name is
        ``name:zh`` or ``name``, else ``"OSM <osm_id>"``.

    Examples
    --------
    >>> feats = read_osm_features("beijing_haidian_wudaokou.osm")  # doctest: +SKIP
    >>> facilities_from_osm(feats, load_profile("15min")).groupby("category").size()  # doctest: +SKIP
    """
    if not isinstance(features, gpd.GeoDataFrame):
        raise InputError(f"features is a {type(features).__name__}; give the GeoDataFrame of read_osm_features")
    feats = features.reset_index(drop=True)
    if feats.crs is not None and not feats.crs.equals("EPSG:4326"):
        feats = feats.to_crs("EPSG:4326")
    lon, lat = (
        lonlat_of_geometry(feats, source_name="OSM features") if len(feats) else (np.zeros(0), np.zeros(0))
    )
    records: list[dict[str, Any]] = []
    for cat in getattr(profile, "categories", ()):
        mask = _osm_mask(feats, getattr(cat, "osm_tags", ()) or ())
        tier_masks = [
            (t.id, _osm_mask(feats, getattr(t, "osm_tags", ()) or ())) for t in getattr(cat, "tiers", ()) or ()
        ]
        only_tier = cat.tiers[0].id if len(getattr(cat, "tiers", ()) or ()) == 1 else None
        for i in np.flatnonzero(mask & np.isfinite(lon)):
            tier = next((tid for tid, tm in tier_masks if tm[i]), only_tier)
            records.append(_osm_record(feats, i, cat.id, tier, lon[i], lat[i]))
    return facility_frame({c: [r[c] for r in records] for c in FACILITY_COLUMNS if c not in OPTIONAL_COLUMNS})


def _osm_mask(feats: pd.DataFrame, rules: Iterable[Any]) -> np.ndarray:
    """Features matching any rule (`circles.profiles.OsmRule`: all of its conditions)."""
    mask = np.zeros(len(feats), dtype=bool)
    for rule in rules:
        hit = np.ones(len(feats), dtype=bool)
        for key, value, wanted in rule.conditions:
            hit &= _osm_has(feats, key, value) == wanted
        mask |= hit
    return mask


def _osm_has(feats: pd.DataFrame, key: str, value: str) -> np.ndarray:
    """Features whose tag `key` has `value` among its ``;``-separated parts (``*``: any value)."""
    if key not in feats.columns:
        return np.zeros(len(feats), dtype=bool)
    col = feats[key]
    present = col.notna().to_numpy() & (col.astype(object).astype(str).str.strip() != "").to_numpy()
    if value == "*":
        return present
    parts = col.astype(object).where(col.notna(), "").astype(str).str.split(";")
    return present & parts.map(lambda ps, v=value: v in [p.strip() for p in ps]).to_numpy(dtype=bool)


def _osm_tag(feats: pd.DataFrame, i: int, *keys: str) -> str | None:
    for key in keys:
        if key in feats.columns:
            v = feats[key].iat[i]
            if v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip():
                return str(v).strip()
    return None


def _osm_record(feats: pd.DataFrame, i: int, cat_id: str, tier: str | None, lon: float, lat: float) -> dict:
    osm_id = _osm_tag(feats, i, "osm_id", "osmid", "id")
    name = _osm_tag(feats, i, "name:zh", "name") or (f"OSM {osm_id}" if osm_id else f"OSM #{i + 1}")
    capacity = _osm_tag(feats, i, "capacity")
    m = AMOUNT_RE.match(capacity or "")
    address = _osm_tag(feats, i, "addr:full")
    if address is None:
        parts = [_osm_tag(feats, i, k) for k in ("addr:city", "addr:district", "addr:street", "addr:housenumber")]
        address = "".join(p for p in parts if p) or None
    return {
        "name": name, "category": cat_id, "tier": tier, "lon": lon, "lat": lat,
        "capacity": float(m.group(1)) if m else np.nan, "area_m2": np.nan,
        "district": _osm_tag(feats, i, "addr:subdistrict", "addr:suburb", "addr:district"),
        "address": address, "source_row": i + 1,
    }

"""TEMPORARY readers of vector inputs (boundary, districts, zones) until circles.inputs.vectors lands."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.errors import InputError


def read_vector_file(path: str, *, what: str) -> gpd.GeoDataFrame:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: {what} file not found; check the path (GeoJSON/GPKG/SHP)")
    try:
        g = gpd.read_file(p)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{p}: not a readable vector file ({type(exc).__name__}); save it as GeoJSON or GPKG") from None
    if g.crs is None:
        raise InputError(f"{p}: the file has no CRS; save it with EPSG:4326 (WGS84 lon/lat)")
    return g


def read_boundary(path: str):
    g = read_vector_file(path, what="boundary").to_crs("EPSG:4326")
    poly = shapely.union_all(g.geometry.values)
    if poly.is_empty or poly.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(f"{path}: no polygon found; the boundary must be a polygon layer")
    return poly


def read_district_file(path: str) -> gpd.GeoDataFrame:
    return read_vector_file(path, what="districts")


def district_names(frame: gpd.GeoDataFrame, col_text: str | None, *, label: str) -> gpd.GeoDataFrame:
    """Districts as (name, geometry) in WGS84, sorted by name; names must be unique."""
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise InputError(f"{label}: the districts have no CRS; save them with EPSG:4326 (WGS84 lon/lat)")
    cols = [c.strip() for c in str(col_text or "").split(",") if c.strip()]
    valid = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
    missing = [c for c in cols if c not in frame.columns]
    if not cols or missing:
        raise InputError(f"{label}: district column {(missing[0] if missing else col_text)!r} not found; "
                         f"use --district-col with one of: {valid} (or several joined by commas, e.g. county,street)")
    if len(frame) == 0:
        raise InputError(f"{label}: no districts in the file; give a layer with one polygon per district")
    frame = frame.to_crs("EPSG:4326")
    parts = [frame[c].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip())
             for c in cols]
    names = parts[0] if len(parts) == 1 else pd.Series(["/".join(p) for p in zip(*parts)], index=frame.index)
    empty = [k + 1 for k, p in enumerate(zip(*parts)) if not all(p)]
    if empty:
        raise InputError(f"{label} features {', '.join(map(str, empty[:5]))}: the district column {col_text!r} is "
                         "empty; fill in the names")
    dup = names[names.duplicated(keep=False)]
    if len(dup):
        first = sorted(set(dup))[:3]
        raise InputError(f"{label}: district names repeat ({', '.join(first)}{' ...' if len(set(dup)) > 3 else ''}); "
                         f"use --district-col with several columns, e.g. --district-col county,{cols[-1]}")
    geoms = frame.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = np.where(ok, geoms, None)
    if ok.any():
        geoms[ok] = shapely.make_valid(geoms[ok])
    table = gpd.GeoDataFrame({"name": names.to_numpy(dtype=object)}, geometry=list(geoms), crs="EPSG:4326")
    return table.sort_values("name", kind="stable").reset_index(drop=True)

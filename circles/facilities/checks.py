"""Checks of where facilities lie: study area, road network, coordinate system, duplicates.

Each check adds ``"warning"`` problems (the rows are kept) to the list it is given; none drops
a row. Distances are metres.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from circles.coords import COORD_SYSTEMS, to_wgs84
from circles.errors import InputError
from circles.facilities.report import COORDS_LABEL, COORDS_SOURCE, Problem, make_problem
from circles.inputs.text import norm_value

__all__ = [
    "AREA_MARGIN_M", "DEFAULT_MAX_SNAP_M", "DUPLICATE_RADIUS_M", "HINT_MIN_GAIN_M", "HINT_MIN_POINTS",
    "HINT_RATIO", "HINT_SEARCH_M", "SAME_LOCATION_MIN_ROWS", "boundary_geometry", "check_area",
    "check_duplicates", "check_network", "coords_hint", "local_m",
]

DEFAULT_MAX_SNAP_M = 200.0  # farther from every road than this: "off the network"
DUPLICATE_RADIUS_M = 20.0  # same name closer than this: a duplicate entry
AREA_MARGIN_M = 500.0  # margin around the network's bbox for the study-area check
SAME_LOCATION_MIN_ROWS = 3  # this many differently named rows on one spot: a geocoder fallback
# The coordinate-system hint: another reading of the numbers must fit the roads HINT_RATIO times
# better (median distance to the nearest road) and by HINT_MIN_GAIN_M metres, over at least
# HINT_MIN_POINTS facilities. Chosen by simulation on the real extracts (facilities 5–100 m
# from a road): in dense Beijing and Shenzhen a GCJ-02 ledger read as WGS84 has a median snap
# distance of only 15–45 m (against 7–12 m), so a 50 m gain would catch under a quarter of
# them; a 10 m gain catches 75–96 % with 10–30 facilities, and true WGS84 ledgers of 8 or more
# facilities were flagged in none or 1–2 % of trials (3–4 % with only 5 facilities).
HINT_MIN_POINTS = 8
HINT_RATIO = 2.0
HINT_MIN_GAIN_M = 10.0
HINT_SEARCH_M = 5000.0


def boundary_geometry(boundary: Any) -> Any:
    """The study area as one shapely geometry in WGS84 (a GeoDataFrame/GeoSeries is reprojected and merged)."""
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = boundary.geometry if isinstance(boundary, gpd.GeoDataFrame) else boundary
        if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
            geoms = geoms.to_crs("EPSG:4326")
        return shapely.union_all(geoms.to_numpy())
    if isinstance(boundary, shapely.Geometry):
        return boundary
    raise InputError(
        f"boundary is a {type(boundary).__name__}; give a shapely polygon in WGS84 or a GeoDataFrame"
    )


def check_area(
    lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, *, net: Any, boundary: Any,
    problems: list[Problem],
) -> np.ndarray:
    """Facilities outside the study area: the boundary, else the network's bbox plus `AREA_MARGIN_M`.

    Returns the boolean mask of the rows outside (none without a boundary or network).
    """
    if boundary is not None:
        area = boundary_geometry(boundary)
        inside = shapely.covers(area, shapely.points(lon, lat))
        what_zh, what_en = "研究区边界", "the study-area boundary"
    elif net is not None:
        minlon, minlat, maxlon, maxlat = net.bbox_lonlat
        dlat = AREA_MARGIN_M / 111_320.0
        dlon = AREA_MARGIN_M / (111_320.0 * max(np.cos(np.radians((minlat + maxlat) / 2)), 0.01))
        inside = (lon >= minlon - dlon) & (lon <= maxlon + dlon) & (lat >= minlat - dlat) & (lat <= maxlat + dlat)
        what_zh, what_en = "路网范围", f"the road network's extent (+{AREA_MARGIN_M:.0f} m)"
    else:
        return np.zeros(len(lon), dtype=bool)
    outside = ~np.asarray(inside, dtype=bool)
    for i in np.flatnonzero(outside):
        problems.append(make_problem(
            int(rows[i]), None, "outside_area",
            f"位置 ({lon[i]:.6f}, {lat[i]:.6f}) 在{what_zh}之外；坐标或坐标系是否有误？",
            f"location ({lon[i]:.6f}, {lat[i]:.6f}) is outside {what_en}; wrong coordinates or coordinate system?",
        ))
    return outside


def check_network(
    net: Any, lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, outside: np.ndarray, *,
    max_snap_m: float, problems: list[Problem],
) -> None:
    """Facilities inside the area but farther than `max_snap_m` from every walkable road."""
    x, y = net.to_xy(lon, lat)
    snap = net.snap(x, y, max_distance_m=max_snap_m)
    off = np.asarray(snap.off_network, dtype=bool) & ~outside
    dist = np.asarray(snap.distance_m, dtype=float)
    for i in np.flatnonzero(off):
        problems.append(make_problem(
            int(rows[i]), None, "off_network",
            f"距最近的步行道路 {dist[i]:.0f} 米（上限 {max_snap_m:.0f} 米）：步行不可达，请核对坐标",
            f"the nearest walkable road is {dist[i]:.0f} m away (limit {max_snap_m:.0f} m): "
            "not reachable on foot; check the coordinates",
        ))


def coords_hint(
    net: Any, raw_lon: np.ndarray, raw_lat: np.ndarray, coords: str, *, problems: list[Problem],
) -> tuple[dict[str, float], str | None]:
    """Median snap distance with the numbers read as each system; a warning when another fits better."""
    if len(raw_lon) < HINT_MIN_POINTS:
        return {}, None
    medians: dict[str, float] = {}
    for system in COORD_SYSTEMS:
        lon, lat = to_wgs84(raw_lon, raw_lat, system)
        x, y = net.to_xy(np.atleast_1d(lon), np.atleast_1d(lat))
        dist = np.asarray(net.snap(x, y, max_distance_m=HINT_SEARCH_M).distance_m, dtype=float)
        medians[system] = float(np.median(np.where(np.isfinite(dist), dist, HINT_SEARCH_M)))
    best = min(medians, key=medians.get)
    declared = medians[coords]
    if best == coords or not (
        declared > HINT_RATIO * medians[best] and declared - medians[best] > HINT_MIN_GAIN_M
    ):
        return medians, None
    en_src, zh_src = COORDS_SOURCE[best]
    problems.append(make_problem(
        None, None, "coords_hint",
        f"坐标看起来是 {COORDS_LABEL[best]}（{zh_src}）：按 {COORDS_LABEL[coords]} 读取时到路网的距离中位数为 "
        f"{declared:.0f} 米，按 {COORDS_LABEL[best]} 读取为 {medians[best]:.0f} 米；请用 --coords {best} 重新运行",
        f"looks like {COORDS_LABEL[best]} ({en_src}) coordinates: median distance to the road network "
        f"{declared:.0f} m as {COORDS_LABEL[coords]} vs {medians[best]:.0f} m as {COORDS_LABEL[best]}; "
        f"rerun with --coords {best}",
    ))
    return medians, best


def local_m(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular metres around the points' mean latitude (good to 0.1 % over a city)."""
    lat0 = np.radians(np.mean(lat)) if len(lat) else 0.0
    return np.radians(lon) * 6_371_000.0 * np.cos(lat0), np.radians(lat) * 6_371_000.0


def check_duplicates(
    names: np.ndarray, lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, *, problems: list[Problem],
) -> None:
    """Same name within `DUPLICATE_RADIUS_M` (entered twice); `SAME_LOCATION_MIN_ROWS` names on one spot."""
    x, y = local_m(lon, lat)
    keys = np.array([norm_value(str(n)) for n in names], dtype=object)
    order = np.argsort(rows, kind="stable")
    seen: dict[str, list[int]] = {}
    for i in order:
        for j in seen.get(keys[i], ()):
            d = float(np.hypot(x[i] - x[j], y[i] - y[j]))
            if d <= DUPLICATE_RADIUS_M:
                problems.append(make_problem(
                    int(rows[i]), None, "duplicate",
                    f"与第 {rows[j]} 行同名（{names[i]}）且相距 {d:.0f} 米：重复录入？",
                    f"same name as row {rows[j]} ({names[i]}) and {d:.0f} m away: entered twice?",
                    value=str(names[i]),
                ))
                break
        seen.setdefault(keys[i], []).append(i)
    # Many differently named rows on one spot: a geocoder that fell back to a district centre.
    spot = np.round(x).astype(np.int64) * 1_000_003 + np.round(y).astype(np.int64)
    for value in np.unique(spot):
        members = np.flatnonzero(spot == value)
        if len({keys[m] for m in members}) < SAME_LOCATION_MIN_ROWS:
            continue
        member_rows = sorted(int(rows[m]) for m in members)
        for m in members:
            others = ", ".join(str(r) for r in member_rows if r != rows[m])
            problems.append(make_problem(
                int(rows[m]), None, "same_location",
                f"与第 {others} 行坐标完全相同：地理编码可能退回到了街道或区的中心点，请核对地址",
                f"same coordinates as rows {others}: the geocoder may have fallen back to a street or "
                "district centre; check the address",
            ))

"""Candidate sites: points generated along the streets near the gaps, or a premises list made canonical.

Also what both need from a coverage report: the tier new sites belong to (its threshold and
speed), the people a new site could add, and the area candidates must lie in (`within`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from circles.errors import CirclesError, ExtentError, InputError
from network.compact import CompactNetwork

if TYPE_CHECKING:
    from circles.coverage import CoverageReport
    from circles.profiles import Profile, Tier

__all__ = [
    "DEFAULT_SPACING_M", "SitingTier", "candidates_in_gaps", "check_within", "inside", "prepare_candidates",
    "reach_m", "siting_tier", "street_candidates", "uncovered_demand",
]

DEFAULT_SPACING_M = 150.0


# ============================================================================ from the report
@dataclass(frozen=True)
class SitingTier:
    """The tier new sites belong to, with the walking threshold and speed that apply to them.

    Attributes
    ----------
    tier
        The profile's tier (``tier.id``, e.g. ``"station"``).
    minutes
        The threshold (minutes): the tier's minutes, or its distance walked at `speed_kmh`.
    speed_kmh
        The walking speed: the report's plain speed, else the tier's.
    way_factors
        Whether way factors (steps, crossings) apply: only without a plain speed.
    """

    tier: Tier
    minutes: float
    speed_kmh: float
    way_factors: bool

    @property
    def mode(self) -> str:
        """The tier's travel mode (``"walk"``, ``"bike"``, ``"drive"`` ...)."""
        return self.tier.mode

    @property
    def by_road(self) -> bool:
        """Whether times come from road speeds by class (a drive tier) rather than one speed."""
        return self.tier.mode == "drive"

    def edge_cost(self, net: CompactNetwork) -> np.ndarray:
        """Travel time of every edge of `net` for this tier (seconds), as `circles.coverage.assess` times it:
        road speeds by class for a drive tier, else `speed_kmh` (with way factors unless a plain speed)."""
        if self.by_road:
            return net.travel_time_s()
        return net.travel_time_s(self.speed_kmh, way_factors=self.way_factors)


def siting_tier(report: CoverageReport, category_id: str, tier: str | None = None, *,
                roads: bool = False) -> SitingTier:
    """The tier new sites of a category belong to, and its threshold and speed.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport`.
    category_id
        The category, e.g. ``"elderly"``.
    tier
        A tier id of the category; default the category's last tier (stations / points).
    roads
        Accept a tier reached by road (``mode = "drive"``; tiered siting): its times come from
        road speeds by class, ``speed_kmh`` is 0 and ``way_factors`` False.

    Raises
    ------
    InputError
        When the tier is reached by road and `roads` is False (single-tier siting uses walking
        times), or a road tier states a distance instead of minutes.
    """
    cat = report.profile.category(category_id)
    t = cat.tier(tier) if tier is not None else cat.tiers[-1]
    if t.mode == "drive":
        if not roads:
            walk = [x.id for x in cat.tiers if x.mode != "drive"]
            raise InputError(f"tier {t.id!r} of category {category_id!r} is reached by road; siting uses walking "
                             f"times: choose a walking tier ({', '.join(walk) or 'none in this profile'})")
        if t.minutes is None:
            raise InputError(f"tier {t.id!r} of category {category_id!r} is reached by road but states a distance "
                             f"({t.distance_m:g} m), not minutes; give it `minutes` in the profile (e.g. 20)")
        return SitingTier(tier=t, minutes=float(t.minutes), speed_kmh=0.0, way_factors=False)
    speed = report.plain_speed_kmh or t.speed_kmh
    if t.minutes is not None:
        threshold = float(t.minutes)
    else:
        threshold = t.distance_m / (speed / 3.6) / 60.0
    return SitingTier(tier=t, minutes=float(threshold), speed_kmh=float(speed),
                      way_factors=report.plain_speed_kmh is None)


def uncovered_demand(report: CoverageReport, category_id: str) -> np.ndarray:
    """People of each demand unit that a new site could add to the covered.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport`.
    category_id
        The category, e.g. ``"elderly"``.

    Returns
    -------
    numpy.ndarray
        Per row of ``report.demand``: its people of the category's demand group (e.g.
        ``pop_60plus``) when it lies inside the study area, on the network and is not covered
        yet; else 0.
    """
    res = report.category(category_id)
    d = report.demand
    w = np.nan_to_num(d[res.demand_column].to_numpy(float), nan=0.0)
    inside_area = d["inside"].to_numpy(bool) if "inside" in d else np.ones(len(d), bool)
    off = d["off_network"].to_numpy(bool) if "off_network" in d else np.zeros(len(d), bool)
    covered = d[f"covered_{category_id}"].to_numpy(bool)
    counted = np.where(inside_area, w, 0.0)
    return np.where(~covered & ~off, counted, 0.0)


# ============================================================================ the area candidates lie in
def check_within(within: object) -> shapely.Geometry:
    """Check the area candidates must lie in: a non-empty WGS84 lon/lat polygon.

    Parameters
    ----------
    within
        A shapely (Multi)Polygon in WGS84 degrees, e.g. the study area intersected with the
        area the OSM data covers.

    Returns
    -------
    shapely.Geometry
        `within`, unchanged.

    Raises
    ------
    InputError
        Not a polygon, or coordinates outside lon/lat ranges (projected metres?).
    ExtentError
        An empty polygon: the study area and the data do not overlap.
    """
    if not isinstance(within, shapely.Geometry):
        raise InputError(f"within must be a shapely polygon in WGS84 lon/lat, got {type(within).__name__}; "
                         "e.g. shapely.box(116.30, 39.98, 116.36, 40.02)")
    if within.is_empty:
        raise ExtentError("within is empty: the study area and the area the OSM data covers do not overlap; "
                          "check the boundary against the OSM extract")
    if shapely.get_type_id(within) not in (3, 6):  # Polygon, MultiPolygon
        raise InputError(f"within is a {within.geom_type}; give a polygon (the study area) in WGS84 lon/lat")
    x0, y0, x1, y1 = within.bounds
    if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
        raise InputError(f"within has bounds ({x0:.6g}, {y0:.6g}, {x1:.6g}, {y1:.6g}), outside lon/lat ranges; "
                         "give it in WGS84 degrees (EPSG:4326), not projected metres")
    return within


def inside(lon: np.ndarray, lat: np.ndarray, within: shapely.Geometry) -> np.ndarray:
    """Which WGS84 points lie inside the polygon `within` (a point on its edge does not)."""
    return shapely.contains_xy(within, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


# ============================================================================ generated candidates
def candidates_in_gaps(
    net: CompactNetwork,
    report: CoverageReport,
    category_id: str,
    *,
    spacing_m: float = DEFAULT_SPACING_M,
    tier: str | None = None,
    boundary: shapely.Geometry | None = None,
) -> pd.DataFrame:
    """Candidate sites generated on the network where new sites could cover uncovered people.

    Points are laid densely along every street (every ``spacing_m / 2``, at least one per
    edge, never on an intersection), then thinned to at most one per ``spacing_m × spacing_m``
    square of the projected grid: the point nearest the square's centre. A lone rural road thus
    gets a candidate about every `spacing_m` metres, and a dense compound one per square, not
    one per footpath. A point is kept when it lies within the walking reach of some uncovered
    demand unit in straight line: ``threshold minutes × speed`` metres (plus 1 % for
    projection). A site farther than that cannot cover anyone new, since a walk is never
    shorter than the straight line, so the filter drops no useful point.

    Parameters
    ----------
    net
        The walking network the report was computed on.
    report
        The `circles.coverage.CoverageReport`.
    category_id
        The category, e.g. ``"elderly"``.
    spacing_m
        Size of the squares that hold at most one generated point (metres). 150 m puts a
        candidate within about 100 m (under two minutes for older walkers) of every street.
    tier
        The tier new sites would belong to (its threshold and speed apply); default the
        category's last tier (stations / points, where facilities without a tier land).
    boundary
        Keep only points inside this polygon (WGS84), e.g. the district.

    Returns
    -------
    pandas.DataFrame
        ``lon``, ``lat`` (WGS84), ``name`` (``"gap point 12"``), ``edge``, ``offset_m``; one
        row per point, empty when everyone is covered.

    Examples
    --------
    >>> pts = candidates_in_gaps(net, report, "elderly", spacing_m=300.0)  # doctest: +SKIP
    >>> list(pts.columns)  # doctest: +SKIP
    ['lon', 'lat', 'name', 'edge', 'offset_m']
    """
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        raise InputError(f"spacing_m is {spacing_m}; give a spacing > 0 metres (e.g. 150)")
    st = siting_tier(report, category_id, tier)
    new_w = uncovered_demand(report, category_id)
    sel = np.flatnonzero(new_w > 0)
    d = report.demand
    return street_candidates(net, d["lon"].to_numpy(float)[sel], d["lat"].to_numpy(float)[sel],
                             reach_m=reach_m(net, st), spacing_m=spacing_m, boundary=boundary)


def street_candidates(net: CompactNetwork, lon: np.ndarray, lat: np.ndarray, *, reach_m: float, spacing_m: float,
                      boundary: shapely.Geometry | None = None, label: str = "gap point") -> pd.DataFrame:
    """Points along the streets of `net` (at most one per `spacing_m` square) within `reach_m` of given points.

    The mechanism of `candidates_in_gaps`, for any set of people to reach (e.g. those tiered
    siting still has to cover) and any straight-line reach (`reach_m`).

    Parameters
    ----------
    net
        The network the points are laid on.
    lon, lat
        The people to reach (WGS84 degrees); they are snapped onto `net` first.
    reach_m
        Keep a street point when one of them lies within this straight-line distance (metres).
    spacing_m
        Size of the squares that hold at most one point (metres).
    boundary
        Keep only points inside this polygon (WGS84).
    label
        Names are ``f"{label} {k}"``, k = 1, 2, ...

    Returns
    -------
    pandas.DataFrame
        ``lon``, ``lat`` (WGS84), ``name``, ``edge``, ``offset_m``; empty without people.
    """
    cols = ["lon", "lat", "name", "edge", "offset_m"]
    if not len(lon):
        return pd.DataFrame({c: [] for c in cols})
    snap = net.snap(*net.to_xy(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)))
    edge, offset, px, py = _street_points(net, spacing_m)
    tree = cKDTree(np.column_stack([snap.x, snap.y]))
    dist, _ = tree.query(np.column_stack([px, py]), distance_upper_bound=reach_m)
    keep = np.isfinite(dist)
    lon, lat = net.to_lonlat(px[keep], py[keep])
    out = pd.DataFrame({"lon": lon, "lat": lat, "edge": edge[keep], "offset_m": np.round(offset[keep], 1)})
    if boundary is not None:
        out = out[inside(out["lon"].to_numpy(), out["lat"].to_numpy(), boundary)]
    out = out.reset_index(drop=True)
    out.insert(2, "name", [f"{label} {i + 1}" for i in range(len(out))])
    return out[cols]


def reach_m(net: CompactNetwork, st: SitingTier) -> float:
    """Straight-line metres within which a site of tier `st` can reach someone within its threshold.

    Walking tiers: the threshold walked at the tier's speed (divided by the smallest way
    factor); road tiers: the threshold at the fastest edge's speed (its geometry's length over
    its time). Plus 1 % for the projection.
    """
    if st.by_road:
        cost = st.edge_cost(net)
        fastest = float(np.max(net.edge_geom_length_m / cost, initial=0.0))
        return st.minutes * 60.0 * fastest * 1.01
    factor = 1.0  # a way factor below 1 would let a walk outrun the straight line at this speed
    if st.way_factors:
        ok = net.edge_length_m > 0
        if ok.any():
            factor = min(1.0, float(np.min(net.edge_weighted_length_m[ok] / net.edge_length_m[ok])))
    # 1 % slack: projected metres differ from the great-circle lengths the times use by < 0.1 %
    return st.minutes * 60.0 * st.speed_kmh / 3.6 / max(factor, 1e-9) * 1.01


def _street_points(net: CompactNetwork, spacing_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points every spacing/2 along every street (at least one per edge), then at most one per
    spacing × spacing square, the one nearest its centre: (edge, offset along it (m), x, y (projected m))."""
    length = net.edge_geom_length_m
    count = np.maximum(1, np.ceil(length / (spacing_m / 2))).astype(np.int64)
    edge = np.repeat(np.arange(net.n_edges), count)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    k = np.arange(len(edge)) - np.repeat(first, count)
    offset = (k + 0.5) * length[edge] / count[edge]
    pts = shapely.line_interpolate_point(net.edge_lines()[edge], offset)
    px, py = shapely.get_x(pts), shapely.get_y(pts)
    cx, cy = np.floor(px / spacing_m), np.floor(py / spacing_m)
    off_centre = np.hypot(px - (cx + 0.5) * spacing_m, py - (cy + 0.5) * spacing_m)
    order = np.lexsort((np.arange(len(px)), off_centre, cy, cx))
    cell_first = np.concatenate([[True], (cx[order][1:] != cx[order][:-1]) | (cy[order][1:] != cy[order][:-1])])
    pick = np.sort(order[cell_first])
    return edge[pick], offset[pick], px[pick], py[pick]


# ============================================================================ given candidates
def prepare_candidates(candidates: pd.DataFrame, profile: Profile, category_id: str, *, need_cost: bool = False,
                       need_capacity: bool = False) -> pd.DataFrame:
    """The canonical candidate frame: rows for this category, WGS84 ``lon``/``lat``, ``name``,
    ``cost``, ``capacity``, ``area_m2`` (NaN where not given); the input's index is kept.

    Parameters
    ----------
    candidates
        A DataFrame with ``lon``, ``lat`` (WGS84 degrees) and optional ``name``, ``cost``,
        ``capacity``, ``area_m2``, ``category`` (rows of other categories are dropped; blank =
        any); or a GeoDataFrame in any CRS (polygons give a point on their surface).
    profile
        The profile whose category names and aliases ``category`` values are matched against.
    category_id
        The category sites are sought for.
    need_cost, need_capacity
        Require a ``cost`` (for a budget) / ``capacity`` (capacitated) >= 0 on every row.

    Raises
    ------
    InputError
        Naming the row, the bad value and the fix.
    """
    frame = _with_lonlat(candidates)
    if "category" in frame.columns:
        frame = frame[_for_category(frame, profile, category_id)]
    if "name" not in frame.columns:
        frame["name"] = [f"candidate {i}" for i in frame.index]
    frame["area_m2"] = (pd.to_numeric(frame["area_m2"], errors="coerce").to_numpy(float) if "area_m2" in frame.columns
                        else np.nan)
    for col, needed, what in (("cost", need_cost, "a budget"), ("capacity", need_capacity, "capacitated siting")):
        frame[col] = _numbers(frame, col, needed=needed, what=what)
    return frame


def _with_lonlat(candidates: pd.DataFrame) -> pd.DataFrame:
    """A copy of `candidates` with checked float ``lon``/``lat`` (from the geometry of a GeoDataFrame)."""
    import geopandas as gpd

    if not isinstance(candidates, pd.DataFrame):
        raise InputError("candidates must be a DataFrame with lon/lat columns or a GeoDataFrame, "
                         f"got {type(candidates).__name__}")
    frame = candidates.copy()
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        if frame.crs is None:
            raise InputError("candidates: the GeoDataFrame has no CRS; set one first (e.g. .set_crs('EPSG:4326'))")
        geom = frame.geometry.to_crs("EPSG:4326")
        empty = geom.is_empty | geom.isna()
        if empty.any():
            first = frame.index[np.flatnonzero(empty.to_numpy())[0]]
            raise InputError(f"candidates row {first!r}: empty geometry; drop the row or give it a location")
        pts = shapely.point_on_surface(geom.values)
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        frame["lon"], frame["lat"] = shapely.get_x(pts), shapely.get_y(pts)
    for col in ("lon", "lat"):
        if col not in frame.columns:
            raise InputError(f"candidates have no {col!r} column; give WGS84 lon/lat columns "
                             "(read premises lists with circles.facilities)")
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
    bad = np.flatnonzero(~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lat) > 90) | (np.abs(lon) > 180))
    if len(bad):
        i = bad[0]
        raise InputError(f"candidates row {frame.index[i]!r}: location ({frame['lon'].iloc[i]}, "
                         f"{frame['lat'].iloc[i]}) is missing or out of range; give WGS84 lon/lat in degrees "
                         "(swapped columns?)")
    frame["lon"], frame["lat"] = lon, lat
    return frame


def _for_category(frame: pd.DataFrame, profile: Profile, category_id: str) -> np.ndarray:
    """Rows whose ``category`` is blank (any category), the id, or a name the profile matches to it."""
    keep = np.zeros(len(frame), dtype=bool)
    for k, value in enumerate(frame["category"].tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
            keep[k] = True  # blank: premises usable by any category
        elif str(value).strip() == category_id:
            keep[k] = True
        else:
            try:
                keep[k] = profile.match_category(str(value))[0] == category_id
            except CirclesError:
                valid = ", ".join(c.id for c in profile.categories)
                raise InputError(f"candidates row {frame.index[k]!r}: category {value!r} is not known to "
                                 f"profile '{profile.id}'; use one of {valid}, or leave it blank for any "
                                 "category") from None
    return keep


def _numbers(frame: pd.DataFrame, col: str, *, needed: bool, what: str) -> np.ndarray | float:
    """Column `col` as floats (NaN when absent); when `needed`, every row must have a number >= 0."""
    if col not in frame.columns:
        if needed:
            raise InputError(f"candidates have no {col!r} column, needed for {what}; add one {col} per candidate")
        return np.nan
    v = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
    if needed:
        bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
        if len(bad):
            i = bad[0]
            raw = frame[col].iloc[i]
            problem = "is missing" if pd.isna(raw) or not np.isfinite(v[i]) else f"{raw} is negative"
            raise InputError(f"candidates row {frame.index[i]!r}: {col} {problem}; {what} needs a {col} >= 0 "
                             "for every candidate (fill it or drop the row)")
    return v

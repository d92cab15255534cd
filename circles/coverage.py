"""Coverage: who can reach each service category within its threshold, per tier, per district, and the gaps."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.access import coverage_sets, nearest_source
from circles.errors import CirclesError
from network.compact import CompactNetwork, Snap

log = logging.getLogger(__name__)

DEFAULT_HORIZON_MIN = 60.0
GAP_BUFFER_M = 150.0  # uncovered units closer than twice this merge into one gap area
GAP_CELLS_PER_BUFFER = 10  # gap areas are drawn on cells of GAP_BUFFER_M / 10 (15 m)
GAP_MAX_CELLS = 4_000_000  # a wider spread of gaps is drawn with coarser cells


@dataclass(frozen=True)
class TierResult:
    """Coverage of one tier (e.g. 社区养老服务站) of a category."""

    category: str
    tier: str
    label_zh: str
    label_en: str
    facilities: int
    mode: str
    minutes: float
    speed_kmh: float | None
    demand_total: float
    demand_covered: float

    @property
    def coverage(self) -> float:
        return self.demand_covered / self.demand_total if self.demand_total > 0 else 0.0


@dataclass(frozen=True)
class CategoryResult:
    """Coverage of one service category: residents covered by any of its tiers."""

    category: str
    label_zh: str
    label_en: str
    demand_column: str
    facilities: int
    minutes: float
    speed_kmh: float | None
    demand_total: float
    demand_covered: float
    tiers: tuple[TierResult, ...]

    @property
    def coverage(self) -> float:
        return self.demand_covered / self.demand_total if self.demand_total > 0 else 0.0


@dataclass(frozen=True)
class CoverageReport:
    """Everything `assess` found; the writers in `circles.outputs` turn it into files.

    Attributes
    ----------
    categories
        One `CategoryResult` per profile category, in profile order.
    demand
        The demand units (index-aligned with the input) with, per category, ``minutes_<id>``
        (walking minutes to the nearest facility; NaN beyond the horizon), ``facility_<id>``
        (index of that facility, -1 none) and ``covered_<id>``; plus ``inside`` (counted, i.e.
        inside the study boundary) and ``off_network``.
    facilities
        The facilities used, with ``off_network`` and ``snap_m``.
    node_minutes
        Per category: minutes from the nearest facility to every node of the network of the
        category's first tier (for service areas); keyed by category id.
    districts
        Per district × category figures and rule checks, or None.
    warnings
        One line each: categories without facilities, off-network points, ...
    capacity
        Per category with facility capacities (beds, meal seats): ``facilities_with_capacity``,
        ``capacity_total``, ``per_1000_demand``. The two-step floating catchment (2SFCA) gives
        each facility ``capacity_per_1000`` (capacity per 1,000 people of the demand group within
        its threshold) in `facilities`, and each unit ``capacity_per_1000_<id>`` in `demand`.
    """

    profile: Any
    categories: tuple[CategoryResult, ...]
    demand: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    node_minutes: Mapping[str, np.ndarray]
    node_facility: Mapping[str, np.ndarray]
    districts: pd.DataFrame | None
    warnings: tuple[str, ...]
    horizon_min: float
    plain_speed_kmh: float | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    capacity: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # gap areas, drawn once

    def category(self, category_id: str) -> CategoryResult:
        for c in self.categories:
            if c.category == category_id:
                return c
        raise CirclesError(f"category {category_id!r} is not in this report; valid: "
                           + ", ".join(c.category for c in self.categories))


def _facility_index(source: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Positions among the selected facilities → rows of the facility frame (-1 stays -1)."""
    out = np.full(len(source), -1, dtype=np.int64)
    ok = source >= 0
    out[ok] = sel[source[ok]]
    return out


def _snap_frame(net: CompactNetwork, frame: pd.DataFrame, max_m: float) -> Snap:
    x, y = net.to_xy(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    return net.snap(x, y, max_distance_m=max_m)


def assess(
    nets: Mapping[str, CompactNetwork],
    facilities: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    profile,
    boundary: shapely.Geometry | None = None,
    districts: gpd.GeoDataFrame | None = None,
    district_col: str | None = None,
    horizon_min: float = DEFAULT_HORIZON_MIN,
    plain_speed_kmh: float | None = None,
    snap_max_m: float = 200.0,
) -> CoverageReport:
    """Walking access and coverage for every category of a profile.

    Parameters
    ----------
    nets
        Networks by mode (``{"walk": net}``; ``"drive"`` too when a tier is reached by road).
    facilities
        Canonical facility frame (``category``, ``tier``, ``lon``, ``lat``, WGS84; optional
        ``capacity``, ``area_m2``); see `circles.facilities.Ledger.facilities`.
    demand
        Canonical demand units (``lon``, ``lat``, ``population``, ``pop_60plus``, ``pop_0_17``).
    profile
        The service profile: categories, tiers, thresholds, speeds, rules.
    boundary
        Study area (WGS84). Residents are counted only inside it; roads and facilities beyond it
        still serve them.
    districts, district_col
        Optional district polygons (WGS84) and their name column, for per-district figures and
        the profile's rules.
    horizon_min
        Times beyond the thresholds are still reported up to this horizon (minutes).
    plain_speed_kmh
        One plain speed for every walking/cycling tier and every way, without way factors
        (what other tools compute, for comparisons).
    snap_max_m
        Points farther than this from every edge are off the network: reported, and never counted
        as covered.
    """
    for col in ("lon", "lat"):
        for name, frame in (("facilities", facilities), ("demand", demand)):
            if col not in frame.columns:
                raise CirclesError(f"{name} has no {col!r} column; read it with circles.facilities / circles.demand")
    warnings: list[str] = []
    demand = demand.reset_index(drop=True)
    facilities = facilities.reset_index(drop=True)
    out = demand.copy()
    inside = np.ones(len(out), dtype=bool)
    if boundary is not None:
        inside = shapely.contains_xy(boundary, out["lon"].to_numpy(float), out["lat"].to_numpy(float))
        if not inside.any():
            raise CirclesError("no demand unit lies inside the study boundary; check the boundary file and the population coordinates")
    out["inside"] = inside

    dsnaps: dict[str, Snap] = {}
    fsnaps: dict[str, Snap] = {}
    for mode, net in nets.items():
        dsnaps[mode] = _snap_frame(net, out, snap_max_m)
        fsnaps[mode] = _snap_frame(net, facilities, snap_max_m)
    walk_mode = "walk" if "walk" in nets else next(iter(nets))
    out["off_network"] = dsnaps[walk_mode].off_network
    fac = facilities.copy()
    fac["off_network"] = fsnaps[walk_mode].off_network
    fac["snap_m"] = np.round(fsnaps[walk_mode].distance_m, 1)
    n_off = int(out["off_network"].sum())
    if n_off:
        warnings.append(f"{n_off} demand unit(s) lie more than {snap_max_m:.0f} m from any walkable way; "
                        "they are counted as not covered")
    n_fac_off = int(fac["off_network"].sum())
    if n_fac_off:
        names = fac.loc[fac["off_network"], "name"].astype(str).tolist()[:3] if "name" in fac else []
        warnings.append(f"{n_fac_off} facilit{'y lies' if n_fac_off == 1 else 'ies lie'} more than {snap_max_m:.0f} m "
                        f"from any walkable way{' (' + ', '.join(names) + (', ...' if n_fac_off > 3 else '') + ')' if names else ''}; "
                        "they serve from the nearest street point: check their coordinates (or --coords)")

    results: list[CategoryResult] = []
    sfca_ratio = np.full(len(fac), np.nan)
    capacity: dict[str, dict[str, Any]] = {}
    node_minutes: dict[str, np.ndarray] = {}
    node_facility: dict[str, np.ndarray] = {}
    for cat in profile.categories:
        col = cat.demand_column
        if col not in out.columns:
            raise CirclesError(f"demand has no {col!r} column needed by category {cat.id!r}; "
                               "give it in the population file or let age shares estimate it")
        weights = np.where(inside, out[col].to_numpy(float), 0.0)
        in_cat = (fac["category"] == cat.id).to_numpy() if "category" in fac else np.zeros(len(fac), bool)
        tier_of = fac["tier"].where(fac["tier"].notna(), cat.tiers[-1].id).to_numpy() if "tier" in fac else None
        covered_any = np.zeros(len(out), dtype=bool)
        best_min = np.full(len(out), np.inf)
        best_fac = np.full(len(out), -1, dtype=np.int64)
        main_mode = cat.tiers[0].mode
        tiers = []
        sfca_access = np.zeros(len(out))
        capacity_total, n_cap, n_cap_missing = 0.0, 0, 0
        for tier in cat.tiers:
            net = nets.get(tier.mode)
            if net is None:
                raise CirclesError(f"category {cat.id!r} tier {tier.id!r} needs a {tier.mode} network; load one")
            sel = np.flatnonzero(in_cat & (tier_of == tier.id)) if tier_of is not None else np.zeros(0, int)
            speed = None if tier.mode == "drive" else (plain_speed_kmh or tier.speed_kmh)
            cost = net.travel_time_s(speed, way_factors=plain_speed_kmh is None) if speed else net.travel_time_s()
            fs = fsnaps[tier.mode]
            sub = Snap(fs.edge[sel], fs.offset_m[sel], fs.fraction[sel], fs.distance_m[sel], fs.x[sel], fs.y[sel],
                       fs.off_network[sel], fs.max_distance_m)
            acc = nearest_source(net, sub, dsnaps[tier.mode], cost, limit=horizon_min * 60.0)
            minutes = acc.target_cost / 60.0
            minutes[dsnaps[tier.mode].off_network] = np.inf
            if tier.minutes is not None:
                threshold = float(tier.minutes)
            else:  # a distance standard (GB 50180: 300/500/1,000 m) walked at this tier's speed
                threshold = tier.distance_m / (speed / 3.6) / 60.0
            covered = minutes <= threshold
            covered_any |= covered
            cap = fac["capacity"].to_numpy(float)[sel] if "capacity" in fac else np.zeros(0)
            has_cap = np.isfinite(cap) & (cap > 0)
            if has_cap.any():  # capacity-aware access (2SFCA) within this tier's threshold
                with_cap = np.flatnonzero(has_cap)
                reach = coverage_sets(net, sub.take(with_cap), dsnaps[tier.mode], cost,
                                      threshold_s=threshold * 60.0).covers
                ratio, acc_cap = two_step_fca(reach, cap[with_cap], weights)
                sfca_ratio[sel[with_cap]] = ratio * 1000.0
                sfca_access += acc_cap * 1000.0
                capacity_total += float(cap[with_cap].sum())
                n_cap += int(len(with_cap))
                n_cap_missing += int((~has_cap).sum())
            if tier.mode == main_mode:
                better = minutes < best_min
                best_min = np.where(better, minutes, best_min)
                best_fac = np.where(better, _facility_index(acc.target_source, sel), best_fac)
                if tier is cat.tiers[0] or cat.id not in node_minutes:
                    node_minutes[cat.id] = acc.node_cost / 60.0
                    node_facility[cat.id] = _facility_index(acc.node_source, sel)
                else:
                    nm = acc.node_cost / 60.0
                    take = nm < node_minutes[cat.id]
                    node_minutes[cat.id] = np.where(take, nm, node_minutes[cat.id])
                    node_facility[cat.id] = np.where(take, _facility_index(acc.node_source, sel), node_facility[cat.id])
            tiers.append(TierResult(cat.id, tier.id, tier.label_zh, tier.label_en, int(len(sel)), tier.mode,
                                    round(threshold, 3), speed, float(weights.sum()), float(weights[covered].sum())))
        n_fac = int(in_cat.sum())
        if n_fac == 0:
            warnings.append(f"category {cat.id} ({cat.label_en} / {cat.label_zh}) has no facilities: coverage 0")
        minutes_main = max(t.minutes for t in tiers if t.mode == main_mode)
        speeds = {t.speed_kmh for t in tiers if t.mode == main_mode}
        results.append(CategoryResult(
            cat.id, cat.label_zh, cat.label_en, col, n_fac, minutes_main,
            speeds.pop() if len(speeds) == 1 else None,
            float(weights.sum()), float(weights[covered_any].sum()), tuple(tiers)))
        if n_cap:
            out[f"capacity_per_1000_{cat.id}"] = np.round(sfca_access, 4)
            capacity[cat.id] = {"facilities_with_capacity": n_cap, "capacity_total": capacity_total,
                                "per_1000_demand": round(1000.0 * capacity_total / weights.sum(), 3) if weights.sum() else None}
            if n_cap_missing:
                warnings.append(f"category {cat.id}: {n_cap_missing} facilities have no capacity and are left out of "
                                "the capacity-aware access (2SFCA)")
        out[f"minutes_{cat.id}"] = np.where(np.isfinite(best_min), np.round(best_min, 2), np.nan)
        out[f"facility_{cat.id}"] = best_fac
        out[f"covered_{cat.id}"] = covered_any

    fac["capacity_per_1000"] = np.round(sfca_ratio, 4)
    demand_gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")
    fac_gdf = gpd.GeoDataFrame(fac, geometry=gpd.points_from_xy(fac["lon"], fac["lat"]), crs="EPSG:4326")
    district_table = None
    if districts is not None:
        district_table = district_figures(demand_gdf, fac_gdf, districts, district_col, profile, results)
    return CoverageReport(profile=profile, categories=tuple(results), demand=demand_gdf, facilities=fac_gdf,
                          node_minutes=node_minutes, node_facility=node_facility, districts=district_table,
                          warnings=tuple(warnings), horizon_min=horizon_min, plain_speed_kmh=plain_speed_kmh,
                          capacity=capacity)


def district_figures(demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
                     district_col: str | None, profile, results) -> pd.DataFrame:
    """Per district × category: facilities, demand, covered, coverage and the profile's rules."""
    if district_col is None or district_col not in districts.columns:
        raise CirclesError(f"districts: column {district_col!r} not found; valid columns: "
                           + ", ".join(str(c) for c in districts.columns if c != "geometry")
                           + " (pass it with --district-col)")
    d = districts.to_crs("EPSG:4326")[[district_col, "geometry"]].reset_index(drop=True)
    dem_in = gpd.sjoin(demand[["geometry"]], d, how="left", predicate="within")
    dem_in = dem_in[~dem_in.index.duplicated()]
    fac_in = gpd.sjoin(facilities[["geometry"]], d, how="left", predicate="within")
    fac_in = fac_in[~fac_in.index.duplicated()]
    rows = []
    for name in d[district_col]:
        dm = (dem_in[district_col] == name).to_numpy() & demand["inside"].to_numpy()
        fm = (fac_in[district_col] == name).to_numpy()
        for res in results:
            w = demand[res.demand_column].to_numpy(float)
            cov = demand[f"covered_{res.category}"].to_numpy()
            total, covered = float(w[dm].sum()), float(w[dm & cov].sum())
            row = {"district": name, "category": res.category, "label_zh": res.label_zh, "label_en": res.label_en,
                   "facilities": int((fm & (facilities["category"] == res.category).to_numpy()).sum()),
                   "demand_column": res.demand_column, "demand_total": total, "demand_covered": covered,
                   "coverage": round(covered / total, 4) if total > 0 else 0.0}
            rows.append(row)
        for rule in profile.rules:
            fsel = fm & (facilities["category"] == rule.category).to_numpy()
            if rule.tier is not None:
                fsel &= (facilities["tier"] == rule.tier).to_numpy()
            if rule.kind == "min_facilities":
                n = int(fsel.sum())
                ok, value = n >= rule.min_count, n
                need = rule.min_count
            else:
                hh = demand["households"].to_numpy(float)[dm] if "households" in demand else np.zeros(0)
                households = np.nansum(hh) if np.isfinite(hh).any() else np.nan
                areas = facilities["area_m2"].to_numpy(float)[fsel] if "area_m2" in facilities else np.zeros(0)
                area = np.nansum(areas) if np.isfinite(areas).any() else np.nan
                # checkable only where households and floor areas are known
                value = round(100.0 * area / households, 2) if households > 0 and np.isfinite(area) else np.nan
                ok = bool(value >= rule.min_area_m2_per_100_households) if np.isfinite(value) else None
                need = rule.min_area_m2_per_100_households
            rows.append({"district": name, "category": rule.category, "rule": rule.kind, "tier": rule.tier,
                         "label_zh": rule.label_zh, "label_en": rule.label_en, "required": need, "value": value,
                         "rule_ok": ok})
    return pd.DataFrame(rows)


def uncovered_units(report: CoverageReport, category_id: str) -> gpd.GeoDataFrame:
    """Demand units inside the study area that the category does not cover, most people first."""
    res = report.category(category_id)
    d = report.demand
    sel = d["inside"] & ~d[f"covered_{category_id}"] & (d[res.demand_column] > 0)
    return d[sel].sort_values(res.demand_column, ascending=False)


def gap_areas(report: CoverageReport, category_id: str, *, buffer_m: float = GAP_BUFFER_M) -> gpd.GeoDataFrame:
    """Uncovered demand grouped into polygons (units within 2 × `buffer_m` merge), ranked by people.

    Each polygon is the band of `buffer_m` around its uncovered units (drawn on a grid of
    `buffer_m` / 10 cells, see `circles.grid`): an area to look at, not a boundary. Columns:
    ``rank``, ``units``, ``population`` figures of the category's demand group and the total,
    ``max_minutes`` (NaN when some unit is beyond the horizon).
    """
    key = ("gap_areas", category_id, float(buffer_m))
    if key not in report._memo:
        report._memo[key] = _gap_areas(report, category_id, buffer_m)
    return report._memo[key].copy()


def _gap_areas(report: CoverageReport, category_id: str, buffer_m: float) -> gpd.GeoDataFrame:
    from scipy import ndimage

    from circles.grid import Grid, band_radius_cells, disc_min, polygons
    from network.build import utm_crs

    res = report.category(category_id)
    units = uncovered_units(report, category_id)
    cols = ["rank", "category", "units", "demand_column", "demand_uncovered", "population", "max_minutes", "geometry"]
    if units.empty:
        return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs="EPSG:4326")
    metric = utm_crs(float(np.median(units.geometry.x)), float(np.median(units.geometry.y)))
    pts = units.to_crs(metric).geometry.values
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    grid = Grid.around(x, y, buffer_m / GAP_CELLS_PER_BUFFER, buffer_m, max_cells=GAP_MAX_CELLS)
    seeds = grid.paint_min(x, y, np.zeros(len(x), np.uint8), 1)
    labels, _ = ndimage.label(disc_min(seeds, band_radius_cells(buffer_m, grid.cell), 1) == 0)  # 4-connected, as the outlines
    owner = labels.ravel()[grid.flat_index(x, y)]
    vals, geoms = polygons(labels, grid)
    demand = units[res.demand_column].to_numpy(float)
    people = units["population"].to_numpy(float) if "population" in units else None
    mins = units[f"minutes_{category_id}"].to_numpy(float)
    order = np.argsort(owner, kind="stable")
    starts = np.searchsorted(owner[order], vals)
    ends = np.searchsorted(owner[order], vals, side="right")
    rows = []
    for v, g, a, b in zip(vals, geoms, starts, ends):
        m = order[a:b]
        rows.append({"category": category_id, "units": len(m), "demand_column": res.demand_column,
                     "demand_uncovered": float(demand[m].sum()),
                     "population": float(people[m].sum()) if people is not None else np.nan,
                     "max_minutes": float(np.max(mins[m])) if np.isfinite(mins[m]).all() else np.nan,
                     "geometry": g})
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs=metric).to_crs("EPSG:4326")
    g = g.sort_values(["demand_uncovered", "units"], ascending=False, kind="stable").reset_index(drop=True)
    g.insert(0, "rank", np.arange(1, len(g) + 1))
    return g[cols]


def two_step_fca(reach, capacity: np.ndarray, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-step floating catchment (2SFCA): capacity per person within reach, per facility and per unit.

    Step 1: each facility's ratio ``R_j = S_j / Σ_k P_k`` over the demand units ``k`` within its
    threshold. Step 2: each unit's access ``A_i = Σ_j R_j`` over the facilities ``j`` within the
    threshold of it (Luo & Wang 2003).

    Parameters
    ----------
    reach
        Sparse facilities × demand units matrix, nonzero where the unit lies within the threshold.
    capacity
        Capacity of each facility (beds, meal seats).
    demand
        People of the category's demand group in each unit.

    Returns
    -------
    ratio, access
        Per facility (capacity per person reaching it; NaN when nobody does) and per unit
        (capacity per person available to it; 0 when no facility is in reach).
    """
    from scipy import sparse

    r = sparse.csr_matrix(reach, dtype=bool).astype(float)
    people = r @ np.asarray(demand, float)
    cap = np.asarray(capacity, float)
    ratio = np.divide(cap, people, out=np.full(len(cap), np.nan), where=people > 0)
    access = r.T @ np.nan_to_num(ratio)
    return ratio, np.asarray(access).ravel()

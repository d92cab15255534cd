"""Coverage: who can reach each service category within its threshold, per tier, per district, and the gaps."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.access import coverage_sets, nearest_source
from circles.demand.groups import EXTRA_GROUPS, complete_groups, estimated_share
from circles.districts import assign_districts
from circles.errors import CirclesError
from circles.rules import check_rules, step_free_ok
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
class GroupResult:
    """Coverage of one demand group (60+, 80+, people with disabilities ...) by a category.

    A step-free group (80+, disabled) is covered only by facilities that pass the lift rule
    (`circles.rules.step_free_ok`); ``estimated`` is the share (0–1) of the group's people whose
    number was estimated from the profile's census share rather than given.
    """

    group: str
    label_zh: str
    label_en: str
    demand_total: float
    demand_covered: float
    step_free: bool = False
    estimated: float = 0.0

    @property
    def coverage(self) -> float:
        return self.demand_covered / self.demand_total if self.demand_total > 0 else 0.0


@dataclass(frozen=True)
class CategoryResult:
    """Coverage of one service category: residents covered by any of its tiers, and by group."""

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
    groups: tuple[GroupResult, ...] = ()

    @property
    def coverage(self) -> float:
        return self.demand_covered / self.demand_total if self.demand_total > 0 else 0.0

    def group(self, group_id: str) -> GroupResult:
        for g in self.groups:
            if g.group == group_id:
                return g
        raise CirclesError(f"category {self.category!r} does not count group {group_id!r}; its groups: "
                           + ", ".join(g.group for g in self.groups))


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
        Per district × category figures (and, for the app, the street rules' rows in their
        former shape: ``rule``, ``required``, ``value``, ``rule_ok``), or None.
    warnings
        One line each: categories without facilities, off-network points, ...
    capacity
        Per category with facility capacities (beds, meal seats): ``facilities_with_capacity``,
        ``capacity_total``, ``per_1000_demand``. The two-step floating catchment (2SFCA) gives
        each facility ``capacity_per_1000`` (capacity per 1,000 people of the demand group within
        its threshold) in `facilities`, and each unit ``capacity_per_1000_<id>`` in `demand`.
    rules
        The profile's rules checked per facility, community, street, county and city
        (`circles.rules.RuleChecks`: ``table(lang)`` is rules.csv, ``facility_table(lang)``
        facility_rules.csv).
    unit_districts, facility_districts
        The district each demand unit and facility lies in (None outside all), with districts.
    facility_snaps, demand_snaps
        The facilities and units snapped onto each mode's network (by mode): service areas and
        site choice reuse them instead of snapping again.
    timings
        Wall seconds of the assessment's steps (``snap``, ``search``, ``rules``), for benchmarks.
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
    rules: Any = None
    unit_districts: np.ndarray | None = None
    facility_districts: np.ndarray | None = None
    facility_snaps: Mapping[str, Snap] = field(default_factory=dict, repr=False, compare=False)
    demand_snaps: Mapping[str, Snap] = field(default_factory=dict, repr=False, compare=False)
    timings: Mapping[str, float] = field(default_factory=dict, repr=False, compare=False)
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
    area_name: str | None = None,
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
    area_name
        The area's name in the rule checks (the city unit); default `circles.rules.WHOLE_AREA`.

    Need groups: every group a category serves (`circles.profiles.Category.groups`) that the
    demand lacks is estimated from the profile's census share and flagged (`circles.demand.groups`).
    Step-free groups (80+, disabled) are covered only by facilities passing the lift rule; the
    category's own figures (its ``demand_column``) count every facility, as before.
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

    clock = time.perf_counter()
    dsnaps: dict[str, Snap] = {}
    fsnaps: dict[str, Snap] = {}
    for mode, net in nets.items():
        dsnaps[mode] = _snap_frame(net, out, snap_max_m)
        fsnaps[mode] = _snap_frame(net, facilities, snap_max_m)
    timings = {"snap": time.perf_counter() - clock}
    clock = time.perf_counter()
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

    step_ok = step_free_ok(fac, profile)
    needed = {g for cat in profile.categories for g in cat.groups if g in EXTRA_GROUPS}
    out, _ = complete_groups(out, profile, sorted(needed))
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
        work = _assess_category(cat, nets, out, fac, dsnaps, fsnaps, step_ok, inside=inside, horizon_min=horizon_min,
                                plain_speed_kmh=plain_speed_kmh, profile=profile)
        results.append(work.result)
        warnings.extend(work.warnings)
        if work.node_minutes is not None:
            node_minutes[cat.id], node_facility[cat.id] = work.node_minutes, work.node_facility
        if work.capacity is not None:
            capacity[cat.id] = work.capacity
            sfca_ratio = np.where(np.isfinite(work.sfca_ratio), work.sfca_ratio, sfca_ratio)
        for name, values in work.columns.items():
            out[name] = values

    timings["search"] = time.perf_counter() - clock
    clock = time.perf_counter()
    fac["capacity_per_1000"] = np.round(sfca_ratio, 4)
    demand_gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")
    fac_gdf = gpd.GeoDataFrame(fac, geometry=gpd.points_from_xy(fac["lon"], fac["lat"]), crs="EPSG:4326")
    unit_d = fac_d = None
    if districts is not None:
        if district_col is None or district_col not in districts.columns:
            raise CirclesError(f"districts: column {district_col!r} not found; valid columns: "
                               + ", ".join(str(c) for c in districts.columns if c != "geometry")
                               + " (pass it with --district-col)")
        unit_d = assign_districts(out["lon"].to_numpy(float), out["lat"].to_numpy(float), districts, district_col)
        fac_d = assign_districts(fac["lon"].to_numpy(float), fac["lat"].to_numpy(float), districts, district_col)
    checks = check_rules(profile, fac_gdf, demand_gdf, districts=districts, district_col=district_col,
                         boundary=boundary, unit_districts=unit_d, facility_districts=fac_d, area_name=area_name)
    district_table = None
    if districts is not None:
        district_table = district_figures(demand_gdf, fac_gdf, districts, district_col, profile, results,
                                          unit_districts=unit_d, facility_districts=fac_d, rules=checks)
    return CoverageReport(profile=profile, categories=tuple(results), demand=demand_gdf, facilities=fac_gdf,
                          node_minutes=node_minutes, node_facility=node_facility, districts=district_table,
                          warnings=tuple(warnings), horizon_min=horizon_min, plain_speed_kmh=plain_speed_kmh,
                          capacity=capacity, rules=checks, unit_districts=unit_d, facility_districts=fac_d,
                          facility_snaps=fsnaps, demand_snaps=dsnaps,
                          timings={**timings, "rules": time.perf_counter() - clock})


@dataclass
class _CategoryWork:
    """What assessing one category gives: its result, demand columns, node times, capacity and warnings."""

    result: CategoryResult
    columns: dict[str, np.ndarray]
    node_minutes: np.ndarray | None
    node_facility: np.ndarray | None
    capacity: dict[str, Any] | None
    sfca_ratio: np.ndarray
    warnings: list[str]


def _threshold_minutes(tier, speed: float | None) -> float:
    if tier.minutes is not None:
        return float(tier.minutes)
    return tier.distance_m / (speed / 3.6) / 60.0  # a distance standard (GB 50180: 300/500/1,000 m) at this speed


@dataclass
class _TierReach:
    """One tier's search: minutes of every unit, who is covered (and by step-free facilities), node times, 2SFCA."""

    minutes: np.ndarray
    covered: np.ndarray
    covered_step_free: np.ndarray
    target_facility: np.ndarray
    node_minutes: np.ndarray
    node_facility: np.ndarray
    threshold: float
    speed: float | None
    sfca_ratio: np.ndarray  # per facility of the tier with a capacity, NaN otherwise
    sfca_access: np.ndarray
    capacity: tuple[float, int, int]  # total capacity, facilities with one, facilities without


def _tier_reach(tier, sel: np.ndarray, net, fac: pd.DataFrame, dsnap, fsnap, step_ok: np.ndarray, weights: np.ndarray,
                *, check_sf: bool, horizon_min: float, plain_speed_kmh: float | None) -> _TierReach:
    """Search from the tier's facilities `sel`; again from the step-free ones when some are not (lift rule)."""
    speed = None if tier.mode == "drive" else (plain_speed_kmh or tier.speed_kmh)
    cost = net.travel_time_s(speed, way_factors=plain_speed_kmh is None) if speed else net.travel_time_s()
    sub = fsnap.take(sel)
    acc = nearest_source(net, sub, dsnap, cost, limit=horizon_min * 60.0)
    minutes = acc.target_cost / 60.0
    minutes[dsnap.off_network] = np.inf
    threshold = _threshold_minutes(tier, speed)
    covered = minutes <= threshold
    covered_sf = covered
    ok = step_ok[sel]
    if check_sf and not ok.all():  # the step-free groups: only facilities that pass the lift rule serve them
        covered_sf = np.zeros(len(covered), dtype=bool)
        if ok.any():
            sf = nearest_source(net, sub.take(ok), dsnap, cost, limit=horizon_min * 60.0)
            m = sf.target_cost / 60.0
            m[dsnap.off_network] = np.inf
            covered_sf = m <= threshold
    ratio = np.full(len(sel), np.nan)
    access = np.zeros(len(covered))
    cap = fac["capacity"].to_numpy(float)[sel] if "capacity" in fac else np.zeros(0)
    has_cap = np.isfinite(cap) & (cap > 0)
    totals = (0.0, 0, 0)
    if has_cap.any():  # capacity-aware access (2SFCA) within this tier's threshold
        with_cap = np.flatnonzero(has_cap)
        reach = coverage_sets(net, sub.take(with_cap), dsnap, cost, threshold_s=threshold * 60.0).covers
        r, a = two_step_fca(reach, cap[with_cap], weights)
        ratio[with_cap] = r * 1000.0
        access = a * 1000.0
        totals = (float(cap[with_cap].sum()), int(len(with_cap)), int((~has_cap).sum()))
    return _TierReach(minutes, covered, covered_sf, _facility_index(acc.target_source, sel), acc.node_cost / 60.0,
                      _facility_index(acc.node_source, sel), threshold, speed, ratio, access, totals)


def _assess_category(cat, nets, out: pd.DataFrame, fac: pd.DataFrame, dsnaps, fsnaps, step_ok: np.ndarray, *,
                     inside: np.ndarray, horizon_min: float, plain_speed_kmh: float | None, profile) -> _CategoryWork:
    """Minutes, coverage per tier and per group, service-area times and 2SFCA of one category."""
    weights = np.where(inside, out[cat.demand_column].to_numpy(float), 0.0)
    in_cat = (fac["category"] == cat.id).to_numpy() if "category" in fac else np.zeros(len(fac), bool)
    tier_of = fac["tier"].where(fac["tier"].notna(), cat.tiers[-1].id).to_numpy() if "tier" in fac else None
    step_free = [g for g in cat.groups if profile.group(g).step_free]
    check_sf = bool(step_free) and bool((in_cat & ~step_ok).any())
    covered_any = np.zeros(len(out), dtype=bool)
    covered_sf = np.zeros(len(out), dtype=bool)
    best_min = np.full(len(out), np.inf)
    best_fac = np.full(len(out), -1, dtype=np.int64)
    main_mode = cat.tiers[0].mode
    tiers = []
    node_min = node_fac = None
    sfca_ratio = np.full(len(fac), np.nan)
    sfca_access = np.zeros(len(out))
    cap_total, n_cap, n_cap_missing = 0.0, 0, 0
    for tier in cat.tiers:
        net = nets.get(tier.mode)
        if net is None:
            raise CirclesError(f"category {cat.id!r} tier {tier.id!r} needs a {tier.mode} network; load one")
        sel = np.flatnonzero(in_cat & (tier_of == tier.id)) if tier_of is not None else np.zeros(0, int)
        t = _tier_reach(tier, sel, net, fac, dsnaps[tier.mode], fsnaps[tier.mode], step_ok, weights,
                        check_sf=check_sf, horizon_min=horizon_min, plain_speed_kmh=plain_speed_kmh)
        covered_any |= t.covered
        covered_sf |= t.covered_step_free
        sfca_ratio[sel] = np.where(np.isfinite(t.sfca_ratio), t.sfca_ratio, sfca_ratio[sel])
        sfca_access += t.sfca_access
        cap_total += t.capacity[0]
        n_cap += t.capacity[1]
        n_cap_missing += t.capacity[2]
        if tier.mode == main_mode:
            better = t.minutes < best_min
            best_min = np.where(better, t.minutes, best_min)
            best_fac = np.where(better, t.target_facility, best_fac)
            if node_min is None:
                node_min, node_fac = t.node_minutes, t.node_facility
            else:
                take = t.node_minutes < node_min
                node_min, node_fac = np.where(take, t.node_minutes, node_min), np.where(take, t.node_facility, node_fac)
        tiers.append(TierResult(cat.id, tier.id, tier.label_zh, tier.label_en, int(len(sel)), tier.mode,
                                round(t.threshold, 3), t.speed, float(weights.sum()), float(weights[t.covered].sum())))
    result = _category_result(cat, tiers, int(in_cat.sum()), weights, covered_any, covered_sf, out, inside, profile)
    columns = {f"minutes_{cat.id}": np.where(np.isfinite(best_min), np.round(best_min, 2), np.nan),
               f"facility_{cat.id}": best_fac, f"covered_{cat.id}": covered_any}
    if step_free:
        columns[f"covered_step_free_{cat.id}"] = covered_sf
    warnings = _category_warnings(cat, result, int((in_cat & ~step_ok).sum()) if check_sf else 0, step_free, profile,
                                  n_cap_missing)
    cap_record = None
    if n_cap:
        columns = {f"capacity_per_1000_{cat.id}": np.round(sfca_access, 4), **columns}
        cap_record = {"facilities_with_capacity": n_cap, "capacity_total": cap_total,
                      "per_1000_demand": round(1000.0 * cap_total / weights.sum(), 3) if weights.sum() else None}
    return _CategoryWork(result, columns, node_min, node_fac, cap_record, sfca_ratio, warnings)


def _category_result(cat, tiers: list[TierResult], n_fac: int, weights: np.ndarray, covered: np.ndarray,
                     covered_sf: np.ndarray, out: pd.DataFrame, inside: np.ndarray, profile) -> CategoryResult:
    main_mode = cat.tiers[0].mode
    minutes_main = max(t.minutes for t in tiers if t.mode == main_mode)
    speeds = {t.speed_kmh for t in tiers if t.mode == main_mode}
    groups = tuple(_group_result(profile.group(g), out, inside, covered_sf if profile.group(g).step_free else covered)
                   for g in cat.groups)
    return CategoryResult(cat.id, cat.label_zh, cat.label_en, cat.demand_column, n_fac, minutes_main,
                          speeds.pop() if len(speeds) == 1 else None, float(weights.sum()),
                          float(weights[covered].sum()), tuple(tiers), groups)


def _category_warnings(cat, result: CategoryResult, n_no_lift: int, step_free: list[str], profile,
                       n_cap_missing: int) -> list[str]:
    warnings = []
    if result.facilities == 0:
        warnings.append(f"category {cat.id} ({cat.label_en} / {cat.label_zh}) has no facilities: coverage 0")
    if n_no_lift:
        one = n_no_lift == 1
        warnings.append(f"category {cat.id}: {n_no_lift} facilit{'y is' if one else 'ies are'} above the ground floor "
                        f"(or below ground) without a lift and do{'es' if one else ''} not serve "
                        + ", ".join(profile.group(g).label_en for g in step_free) + " (JGJ 450-2018 §5.6.4)")
    if n_cap_missing and result.facilities:
        warnings.append(f"category {cat.id}: {n_cap_missing} facilities have no capacity and are left out of "
                        "the capacity-aware access (2SFCA)")
    return warnings


def _group_result(group, out: pd.DataFrame, inside: np.ndarray, covered: np.ndarray) -> GroupResult:
    w = np.where(inside, out[group.id].to_numpy(float), 0.0)
    return GroupResult(group.id, group.label_zh, group.label_en, float(w.sum()), float(w[covered].sum()),
                       group.step_free, round(estimated_share(out[inside], group.id), 4))


def district_figures(demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
                     district_col: str | None, profile, results, *, unit_districts: np.ndarray | None = None,
                     facility_districts: np.ndarray | None = None, rules: Any = None) -> pd.DataFrame:
    """Per district × category: facilities, demand, covered, coverage; then the street rules' rows.

    The rule rows keep the shape the app reads (``rule``, ``required``, ``value``, ``rule_ok``; see
    `CoverageReport`).

    `unit_districts` and `facility_districts` (the district of each unit and facility) are found
    here when not given; `rules` (`circles.rules.RuleChecks`) gives the rule rows.
    """
    if district_col is None or district_col not in districts.columns:
        raise CirclesError(f"districts: column {district_col!r} not found; valid columns: "
                           + ", ".join(str(c) for c in districts.columns if c != "geometry")
                           + " (pass it with --district-col)")
    if unit_districts is None:
        unit_districts = assign_districts(demand["lon"].to_numpy(float), demand["lat"].to_numpy(float), districts,
                                          district_col)
    if facility_districts is None:
        facility_districts = assign_districts(facilities["lon"].to_numpy(float), facilities["lat"].to_numpy(float),
                                              districts, district_col)
    inside = demand["inside"].to_numpy(bool)
    cats = facilities["category"].to_numpy(dtype=object) if "category" in facilities else np.full(len(facilities), None)
    rows = []
    for name in districts[district_col]:
        dm = (unit_districts == name) & inside
        fm = facility_districts == name
        for res in results:
            w = demand[res.demand_column].to_numpy(float)
            cov = demand[f"covered_{res.category}"].to_numpy()
            total, covered = float(w[dm].sum()), float(w[dm & cov].sum())
            rows.append({"district": name, "category": res.category, "label_zh": res.label_zh,
                         "label_en": res.label_en, "facilities": int((fm & (cats == res.category)).sum()),
                         "demand_column": res.demand_column, "demand_total": total, "demand_covered": covered,
                         "coverage": round(covered / total, 4) if total > 0 else 0.0})
    if rules is not None:
        street = rules.units[(rules.units["scope"] == "street")
                             & rules.units["kind"].isin(["min_facilities", "area_per_households", "coverage_target"])]
        for r in street.to_dict("records"):
            rows.append({"district": r["unit"], "category": r["category"], "rule": r["kind"], "tier": r["tier"],
                         "label_zh": r["rule_zh"], "label_en": r["rule_en"], "required": r["required"],
                         "value": r["value"], "rule_ok": r["ok"]})
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

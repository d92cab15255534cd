"""Tiered siting under a budget: new township centres and village points chosen together.

A county's network is "1 centre + N stations + many points": village points (农村互助幸福院,
老饭桌, 儿童之家) are walked to, township centres reached by road, and a village point works
only when a centre can reach it by road (staff, meals and supplies come from the centre).
`suggest_tiered_sites` chooses new centres and new points in one model (`circles.siting.tiered_model`):

* a person counts as covered within the centre tier's threshold of a centre (e.g. 20 minutes
  by road), or within the point tier's threshold of a point (e.g. a 15-minute walk) **that a
  centre reaches within the link time** — as `circles.coverage.assess` measures each tier, with
  its mode and speed, plus the link;
* existing centres and points are kept; an existing point no centre reaches counts only once a
  new centre links it (the result lists it, at no cost);
* each candidate costs a new building or a renovation (`circles.siting.costs`, Xi'an's 2024
  subsidies by default) plus optional years of operation, and may have a capacity;
* objectives: the most people within a budget, or the least cost reaching a target share.

Example
-------
>>> result = suggest_tiered_sites(report, nets, premises, category="elderly", budget=3_000_000)  # doctest: +SKIP
>>> result.sites[["tier", "name", "build", "cost", "added_covered"]]  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from circles.errors import InputError, SolverError
from circles.siting.candidates import (
    DEFAULT_SPACING_M,
    check_within,
    inside,
    prepare_candidates,
    reach_m,
    street_candidates,
)
from circles.siting.costs import XIAN_2024, SiteCosts, build_kind
from circles.siting.greedy import REL_TOL
from circles.siting.mip import DEFAULT_TIME_LIMIT_S, check_solver
from circles.siting.tiered_model import CENTRE, TieredModel
from circles.siting.tiered_sets import (
    ExistingSites,
    ModelTiers,
    covers_within,
    existing_sites,
    link_sets,
    model_tiers,
    snap_points,
)
from circles.siting.tiered_solve import TieredSelection, solve_tiered
from network.compact import CompactNetwork, Snap

if TYPE_CHECKING:
    import geopandas as gpd

    from circles.coverage import CoverageReport

__all__ = ["DEFAULT_CENTRE_SPACING_M", "TieredSitingResult", "suggest_tiered_sites"]

#: Spacing of generated centre candidates along the roads (metres): township centres are few and
#: far apart, and a drive of 20 minutes reaches tens of kilometres.
DEFAULT_CENTRE_SPACING_M = 1000.0

SITE_COLUMNS = ["rank", "tier", "role", "candidate", "name", "lon", "lat", "build", "cost", "operating_yuan_per_year",
                "capacity", "added_covered", "coverage_after", "centre", "centre_minutes", "load"]


# ============================================================================ the result
@dataclass(frozen=True)
class TieredSitingResult:
    """New centres and points for one category, with the figures a county bureau reports.

    Attributes
    ----------
    category
        The category, e.g. ``"elderly"``.
    model
        ``"tiered_budget"`` (most people within `budget`) or ``"tiered_target"`` (least cost
        reaching `target_coverage`).
    centre_tier, point_tier
        The tier ids of centres (None for a category with one tier: points need no link) and points.
    tiers
        Per role (``centre``, ``point``, ``link``): tier id, mode, minutes, speed (km/h; None by road).
    capacitated
        True when candidates' capacities limit whom a site serves.
    sites
        One row per site in greedy order (`SITE_COLUMNS`): ``rank``, ``tier``, ``role``
        (``centre``/``point``), ``candidate`` (index label in the candidates frame, or in
        ``report.facilities`` for an existing point linked now), ``name``, ``lon``, ``lat``
        (WGS84), ``build`` (``new``, ``renovation`` or ``existing``), ``cost`` (yuan, in the
        budget), ``operating_yuan_per_year``, ``capacity``, ``added_covered`` (people the site
        newly covers given the sites before it), ``coverage_after``, ``centre`` and
        ``centre_minutes`` (points: the nearest centre by the link mode, existing or new, and
        its minutes), ``load`` (capacitated: people it serves).
    demand_column, demand_total
        The demand group and its people in the study area.
    covered_before, covered_after, objective
        People covered under the tiered rule before and after; people newly covered.
    coverage_before, coverage_after
        The shares.
    report_coverage_before
        The assessment's share (any tier, links not required): higher than `coverage_before`
        when existing points lie beyond the link time of every centre.
    budget, target_coverage, target_met
        What was asked, and for a target whether the candidates reach it.
    total_cost, operating_yuan_per_year
        The budget cost of the new sites, and their yearly operating bill.
    optimal, gap, bound, solver, time_limit_s, solve_s
        Whether the solver proved optimality, the relative gap of its objective (people for a
        budget, yuan for a target), the proven bound, the solver, its limit and the wall time.
    greedy_objective, greedy_cost
        What the warm start alone covers and costs.
    costs, centre_costs
        The cost figures used for points and for centres.
    existing
        Existing centres and points, and how many points a centre links before and after.
    candidates_given, candidates_used, dropped_outside
        Candidate rows for the category; candidate sites (a row may stand for a centre and a
        point) on the networks and inside `within`; rows left out for lying outside `within`.
    newly_covered
        Per demand unit (index of ``report.demand``): share of its people newly covered.
    model_size, timings, message, notes
        Sizes, seconds per stage, one line for the planner, further remarks.
    """

    category: str
    model: str
    centre_tier: str | None
    point_tier: str
    tiers: dict[str, dict[str, Any]]
    capacitated: bool
    sites: pd.DataFrame
    demand_column: str
    demand_total: float
    covered_before: float
    covered_after: float
    objective: float
    coverage_before: float
    coverage_after: float
    report_coverage_before: float
    budget: float | None
    target_coverage: float | None
    target_met: bool | None
    total_cost: float
    operating_yuan_per_year: float
    optimal: bool
    gap: float
    bound: float
    solver: str
    time_limit_s: float
    solve_s: float
    greedy_objective: float
    greedy_cost: float
    costs: SiteCosts
    centre_costs: SiteCosts
    existing: dict[str, int]
    candidates_given: int
    candidates_used: int
    dropped_outside: int
    newly_covered: pd.Series = field(repr=False)
    model_size: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""
    notes: tuple[str, ...] = ()

    @property
    def tier(self) -> str:
        """The point tier (the tier most sites belong to), as `SitingResult.tier`."""
        return self.point_tier

    @property
    def n_sites(self) -> int:
        return len(self.sites)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The sites as WGS84 points with ``kind`` = ``"suggested_site"``, ``category`` and ``model``,
        ready to add to ``gaps.geojson`` and the map."""
        import geopandas as gpd

        frame = self.sites.copy()
        frame.insert(0, "kind", "suggested_site")
        frame.insert(1, "category", self.category)
        frame["model"] = self.model
        frame["demand_column"] = self.demand_column
        frame["dropped_outside"] = self.dropped_outside
        return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures for ``summary.json`` (``suggestions`` → category)."""
        sites = [{k: _plain(v) for k, v in row.items()} for row in self.sites.to_dict("records")]
        for s in sites:
            for k in ("lon", "lat"):
                s[k] = round(s[k], 7)
        per_tier = {}
        for tier in filter(None, (self.centre_tier, self.point_tier)):
            mine = self.sites[self.sites["tier"] == tier]
            per_tier[tier] = {"sites": int(len(mine)), "new": int((mine["build"] == "new").sum()),
                              "renovation": int((mine["build"] == "renovation").sum()),
                              "existing_linked": int((mine["build"] == "existing").sum()),
                              "cost": float(mine["cost"].sum())}
        return {
            "category": self.category, "model": self.model, "tier": self.tier, "centre_tier": self.centre_tier,
            "point_tier": self.point_tier, "tiers": self.tiers, "capacitated": self.capacitated,
            "demand_column": self.demand_column, "sites": sites, "n_sites": self.n_sites, "per_tier": per_tier,
            "demand_total": self.demand_total, "covered_before": self.covered_before,
            "covered_after": self.covered_after, "added_covered": self.objective,
            "coverage_before": round(self.coverage_before, 6), "coverage_after": round(self.coverage_after, 6),
            "report_coverage_before": round(self.report_coverage_before, 6),
            "budget": self.budget, "target_coverage": self.target_coverage, "target_met": self.target_met,
            "total_cost": self.total_cost, "operating_yuan_per_year": self.operating_yuan_per_year,
            "costs": self.costs.summary(), "centre_costs": self.centre_costs.summary(),
            "optimal": self.optimal, "gap": _plain(round(self.gap, 6) if np.isfinite(self.gap) else self.gap),
            "bound": _plain(self.bound), "solver": self.solver, "time_limit_s": self.time_limit_s,
            "solve_s": round(self.solve_s, 3), "greedy_added_covered": self.greedy_objective,
            "greedy_cost": self.greedy_cost, "existing": self.existing,
            "candidates_given": self.candidates_given, "candidates_used": self.candidates_used,
            "dropped_outside": self.dropped_outside, "message": self.message, "notes": list(self.notes),
        }


def _plain(v: Any) -> Any:
    """A JSON value: numpy numbers as Python ones, NaN/inf as None."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if np.isfinite(v) else None
    return v if isinstance(v, (int, str, bool)) or v is None else str(v)


# ============================================================================ candidates
_CANDIDATE_COLUMNS = ["label", "name", "lon", "lat", "build", "cost", "capacity"]


def _roles(frame: pd.DataFrame, report: CoverageReport, category: str, t: ModelTiers) -> tuple[np.ndarray, np.ndarray]:
    """Which rows may be centres and which points: the ``tier`` column (an id, label or alias), blank = either."""
    n = len(frame)
    if t.centre is None:
        return np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    if "tier" not in frame.columns:
        return np.ones(n, dtype=bool), np.ones(n, dtype=bool)
    centre, point = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for k, (label, value) in enumerate(zip(frame.index, frame["tier"].tolist())):
        if value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip():
            centre[k] = point[k] = True
            continue
        tiers = {tid for cid, tid in report.profile.lookup(str(value).strip()) if cid == category and tid}
        if str(value).strip() in (t.centre.tier.id, t.point.tier.id):
            tiers = {str(value).strip()}
        if len(tiers) != 1 or not tiers & {t.centre.tier.id, t.point.tier.id}:
            raise InputError(f"candidates row {label!r}: tier {value!r} is neither the centre tier "
                             f"{t.centre.tier.id!r} ({t.centre.tier.label_zh}) nor the point tier {t.point.tier.id!r} "
                             f"({t.point.tier.label_zh}) of {category!r}; write one of them, or leave it blank for either")
        centre[k], point[k] = t.centre.tier.id in tiers, t.point.tier.id in tiers
    return centre, point


def _given(candidates: pd.DataFrame, report: CoverageReport, category: str, t: ModelTiers) -> tuple[pd.DataFrame,
                                                                                                 pd.DataFrame, int]:
    """Centre and point candidates from a premises list: its ``build`` (default renovation: the premises
    exist), ``cost`` (default by build), ``capacity``."""
    frame = prepare_candidates(candidates, report.profile, category)
    if "build" in frame.columns:
        build = [build_kind(v, where=f"candidates row {i!r} build") if pd.notna(v) and str(v).strip() else "renovation"
                 for i, v in zip(frame.index, frame["build"].tolist())]
    else:
        build = ["renovation"] * len(frame)
    out = pd.DataFrame({"label": frame.index.to_numpy(), "name": frame["name"].astype(str).to_numpy(),
                        "lon": frame["lon"].to_numpy(float), "lat": frame["lat"].to_numpy(float), "build": build,
                        "cost": frame["cost"].to_numpy(float), "capacity": frame["capacity"].to_numpy(float)})
    centre, point = _roles(frame, report, category, t)
    return out[centre].reset_index(drop=True), out[point].reset_index(drop=True), len(frame)


def _generated(t: ModelTiers, units: pd.DataFrame, live: np.ndarray, *, spacing_m: float,
               centre_spacing_m: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New-build candidates along the roads within reach of the people still to cover: points every
    `spacing_m` on the point network, centres every `centre_spacing_m` on the centre network (near
    enough to cover them, or to link a point that does)."""
    lon, lat = units["lon"].to_numpy(float)[live], units["lat"].to_numpy(float)[live]

    def frame(pts: pd.DataFrame, word: str) -> pd.DataFrame:
        return pd.DataFrame({"label": [f"{word} {i + 1}" for i in range(len(pts))], "name": pts["name"].to_numpy(),
                             "lon": pts["lon"].to_numpy(float), "lat": pts["lat"].to_numpy(float), "build": "new",
                             "cost": np.nan, "capacity": np.nan}, columns=_CANDIDATE_COLUMNS)

    points = street_candidates(t.point_net, lon, lat, reach_m=reach_m(t.point_net, t.point), spacing_m=spacing_m,
                               label="gap point")
    centres = pd.DataFrame(columns=_CANDIDATE_COLUMNS)
    if t.centre is not None:
        reach = max(reach_m(t.centre_net, t.centre), reach_m(t.link_net, t.link) + reach_m(t.point_net, t.point))
        centres = frame(street_candidates(t.centre_net, lon, lat, reach_m=reach, spacing_m=centre_spacing_m,
                                          label="gap centre"), "gap centre")
    return centres, frame(points, "gap point")


def _priced(frame: pd.DataFrame, costs: SiteCosts, capacitated: bool) -> pd.DataFrame:
    """The budget cost (the one-off cost, given or by build, plus the counted years of operation)."""
    out = frame.copy()
    out["one_off"] = [costs.one_off(b) if not np.isfinite(c) else float(c) for b, c in zip(out["build"], out["cost"])]
    out["cost"] = [costs.cost(b, c) for b, c in zip(out["build"], out["one_off"])]
    out["operating_yuan_per_year"] = np.where(out["build"] == "existing", 0.0, costs.operating_yuan_per_year)
    if not capacitated:
        out["capacity"] = np.nan
    return out


def _usable(frame: pd.DataFrame, net: CompactNetwork, snap_max_m: float, what: str,
            notes: list[str]) -> tuple[pd.DataFrame, Snap]:
    """The candidates near the network of their tier, with their snaps (the others noted)."""
    if not len(frame):
        return frame, snap_points(net, np.zeros(0), np.zeros(0), snap_max_m)
    snap = snap_points(net, frame["lon"], frame["lat"], snap_max_m)
    off = snap.off_network
    if off.any():
        notes.append(f"{int(off.sum())} of {len(frame)} {what} candidates lie more than {snap_max_m:g} m from the "
                     f"{net.mode} network and were left out")
    keep = np.flatnonzero(~off)
    return frame.iloc[keep].reset_index(drop=True), snap.take(keep)


# ============================================================================ the planner's call
def suggest_tiered_sites(
    report: CoverageReport,
    nets: Mapping[str, CompactNetwork],
    candidates: pd.DataFrame | None = None,
    *,
    category: str,
    budget: float | None = None,
    target_coverage: float | None = None,
    centre_tier: str | None = None,
    point_tier: str | None = None,
    link_minutes: float | None = None,
    costs: SiteCosts = XIAN_2024,
    centre_costs: SiteCosts | None = None,
    capacitated: bool = False,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    solver: str = "auto",
    spacing_m: float = DEFAULT_SPACING_M,
    centre_spacing_m: float = DEFAULT_CENTRE_SPACING_M,
    snap_max_m: float = 200.0,
    within: shapely.Geometry | None = None,
) -> TieredSitingResult:
    """New centres and points of a category chosen together, existing sites kept: most people within a
    budget, or least cost reaching a target share.

    Coverage follows the profile's tiers: people within the centre tier's threshold of a centre
    (by its mode: road speeds by class for a drive tier), or within the point tier's threshold
    of a point (e.g. a 15-minute walk at the older pedestrians' speed) that a centre — existing
    or new — reaches within `link_minutes` by the centre tier's mode. Only people of the
    category's demand group inside the study area count.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport` of the existing facilities.
    nets
        The networks by mode, as given to `circles.coverage.assess` (``{"walk": ..., "drive": ...}``).
    candidates
        Premises (a DataFrame with ``lon``, ``lat`` in WGS84 and optional ``name``, ``category``,
        ``tier`` (the centre or the point tier, id or label; blank: either), ``build``
        (``new``/``新建`` or ``renovation``/``改造``; blank: renovation, the premises exist),
        ``cost`` (one-off yuan; blank: by build from `costs`), ``capacity``), or a GeoDataFrame.
        None: new-build points along the streets near the people still to cover every
        `spacing_m`, and centres along the roads every `centre_spacing_m`.
    category
        Category id, e.g. ``"elderly"``.
    budget
        Total cost allowed (yuan): the most people covered within it.
    target_coverage
        Share to reach, in (0, 1]: the least cost reaching it (and at that cost the most people).
    centre_tier, point_tier
        Tier ids; default the category's first tier (centres) and last tier (points). A
        category with one tier has no centres: points need no link.
    link_minutes
        Most minutes from a centre to a point it serves, by the centre tier's mode (from the
        centre to the point); default the centre tier's threshold.
    costs, centre_costs
        `SiteCosts` of points and of centres (default: `costs` for both; the Xi'an 2024 figures,
        `circles.siting.costs`). A candidate's own ``cost`` replaces the one-off figure.
    capacitated
        Use the candidates' ``capacity`` (people of the demand group; blank: no limit) and the
        existing points' capacities.
    time_limit_s
        Time limit of the MIP solver (seconds); the best solution found and its gap are
        reported when it is reached.
    solver
        ``"auto"`` (HiGHS), ``"highs"``, ``"cbc"`` or ``"greedy"``.
    spacing_m, centre_spacing_m
        Spacing of generated point and centre candidates (metres).
    snap_max_m
        Candidates farther than this from their tier's network are left out; demand units
        farther are not reached (metres).
    within
        A polygon in WGS84 (the study area and the data): candidates outside it are left out.

    Returns
    -------
    TieredSitingResult

    Raises
    ------
    InputError
        A bad option or candidate table, a tier whose network is missing.
    SolverError
        No usable candidate, or an unknown solver.
    ExtentError
        An empty `within`.

    Examples
    --------
    >>> out = suggest_tiered_sites(report, {"walk": walk, "drive": drive}, premises,
    ...                            category="elderly", budget=2_400_000)  # doctest: +SKIP
    >>> out.message  # doctest: +SKIP
    '1 centre(s) and 3 point(s) for 1,500,000 cover 2,310 more (optimal); elderly coverage 41.2% → 63.0%'
    """
    t_start = time.perf_counter()
    res = report.category(category)
    _check(budget, target_coverage, costs, centre_costs, solver, time_limit_s, within)
    centre_costs = centre_costs if centre_costs is not None else costs
    t = model_tiers(report, nets, category, centre_tier, point_tier, link_minutes)
    d = report.demand
    w_all = np.nan_to_num(d[res.demand_column].to_numpy(float), nan=0.0)
    if "inside" in d:
        w_all = np.where(d["inside"].to_numpy(bool), w_all, 0.0)
    counted = np.flatnonzero(w_all > 0)
    units = d.iloc[counted]
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ex = existing_sites(report, category, t, units, snap_max_m)
    timings["existing"] = time.perf_counter() - t0
    w = w_all[counted]
    ask = _Ask(category, "tiered_budget" if budget is not None else "tiered_target", t, res.demand_column,
               float(res.demand_total), float(w[ex.before].sum()), float(res.coverage), budget, target_coverage,
               costs, centre_costs, capacitated, float(time_limit_s), t_start, d.index, counted)
    notes = _existing_notes(t, ex)
    if t.centre is None and link_minutes is not None:
        notes.append(f"category {category!r} has one tier ({t.point.tier.id}): no centres, so points need no link "
                     "and link_minutes is not used")
    live = np.flatnonzero(~ex.before)
    need = None if target_coverage is None else target_coverage * ask.total - ask.before
    if not len(live) or (need is not None and need <= ask.total * REL_TOL):
        why = ("everyone counted is covered already" if not len(live)
               else f"coverage {ask.share(ask.before):.1%} already meets the target {target_coverage:.0%}")
        return ask.nothing(ex, why, notes)
    t0 = time.perf_counter()
    cands = _Candidates.gather(candidates, report, category, t, ask, ex, units, live, spacing_m=spacing_m,
                               centre_spacing_m=centre_spacing_m, snap_max_m=snap_max_m, within=within, notes=notes)
    model, links = cands.model(t, ex, units, live, w, snap_max_m)
    timings["coverage_sets"] = time.perf_counter() - t0
    sel = solve_tiered(model, budget=budget, target=need, time_limit_s=time_limit_s, solver=solver)
    timings.update(sel.timings)
    return ask.result(sel, cands, ex, links, live, notes=notes, timings=timings)


def _check(budget, target_coverage, costs, centre_costs, solver, time_limit_s, within) -> None:
    """Refuse unclear or bad options before any work."""
    if (budget is None) == (target_coverage is None):
        raise InputError("tiered siting: give a budget (the most people within it, e.g. 3000000 yuan) or "
                         "target_coverage (the least cost reaching a share, e.g. 0.9), one of the two")
    if budget is not None and not (np.isfinite(budget) and budget >= 0):
        raise InputError(f"budget is {budget}; give a total budget >= 0 yuan, e.g. 3000000")
    if target_coverage is not None and not (0 < target_coverage <= 1):
        raise InputError(f"target_coverage is {target_coverage}; give a share in (0, 1], e.g. 0.9 for 90 %")
    for name, c in (("costs", costs), ("centre_costs", centre_costs)):
        if c is not None and not isinstance(c, SiteCosts):
            raise InputError(f"{name} must be a circles.siting.SiteCosts, got {type(c).__name__}; "
                             "e.g. SiteCosts(new_yuan=500000)")
    check_solver(solver, time_limit_s)
    if within is not None:
        check_within(within)


def _existing_notes(t: ModelTiers, ex: ExistingSites) -> list[str]:
    n = int((~ex.free).sum())
    if not n or t.link is None:
        return []
    return [f"{n} 个现有{t.point.tier.label_zh}距所有{t.centre.tier.label_zh}超过 {t.link.minutes:g} 分钟"
            f"（{t.link.mode}），在有中心连接前不计覆盖 / {n} existing site(s) of tier {t.point.tier.id!r} lie beyond "
            f"{t.link.minutes:g} min by {t.link.mode} of every centre: they count only once a new centre links them"]


@dataclass(frozen=True)
class _Candidates:
    """The usable candidate centres and points (priced, snapped), and the existing points not linked yet."""

    centres: pd.DataFrame
    points: pd.DataFrame
    csnap: Snap | None
    psnap: Snap
    unlinked: pd.DataFrame  # existing points no existing centre links: points of cost 0 in the model
    n_given: int
    n_outside: int

    @classmethod
    def gather(cls, candidates: pd.DataFrame | None, report: CoverageReport, category: str, t: ModelTiers, ask: _Ask,
               ex: ExistingSites, units: pd.DataFrame, live: np.ndarray, *, spacing_m: float, centre_spacing_m: float,
               snap_max_m: float, within: shapely.Geometry | None, notes: list[str]) -> _Candidates:
        if candidates is None:
            centres, points = _generated(t, units, live, spacing_m=spacing_m, centre_spacing_m=centre_spacing_m)
            n_given = len(centres) + len(points)
            notes.append(f"{len(points)} point and {len(centres)} centre candidates generated along the streets "
                         f"(at most one per {spacing_m:g} m / {centre_spacing_m:g} m square) within reach of the "
                         "people still to cover; all new builds")
        else:
            centres, points, n_given = _given(candidates, report, category, t)
        n_outside = 0
        if within is not None:
            labels = set()
            for name in ("centres", "points"):
                frame = centres if name == "centres" else points
                ok = inside(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float), within)
                labels |= set(frame["label"][~ok].tolist())
                if name == "centres":
                    centres = frame[ok].reset_index(drop=True)
                else:
                    points = frame[ok].reset_index(drop=True)
            n_outside = len(labels)
        centres = _priced(centres, ask.centre_costs, ask.capacitated)
        points = _priced(points, ask.costs, ask.capacitated)
        csnap = None
        if t.centre is not None:
            centres, csnap = _usable(centres, t.centre_net, snap_max_m, "centre", notes)
        points, psnap = _usable(points, t.point_net, snap_max_m, "point", notes)
        unlinked = ex.points.iloc[np.flatnonzero(~ex.free)].copy()
        cap = unlinked["capacity"].to_numpy(float) if "capacity" in unlinked and ask.capacitated else np.nan
        unlinked["capacity"] = cap
        if not len(centres) and not len(points):
            raise SolverError(f"no usable candidate sites for {category!r}: {n_given} given or generated, "
                              f"{n_outside} outside the study area or the data, the rest off the networks; give "
                              "premises with lon/lat inside the area and near its roads")
        return cls(centres, points, csnap, psnap, unlinked, n_given, n_outside)

    def model(self, t: ModelTiers, ex: ExistingSites, units: pd.DataFrame, live: np.ndarray, w: np.ndarray,
              snap_max_m: float) -> tuple[TieredModel, Any]:
        """The `TieredModel` on the units still to cover, and the link sets (all centres × all points)."""
        lon, lat = units["lon"].to_numpy(float)[live], units["lat"].to_numpy(float)[live]
        ap = covers_within(t.point_net, t.point, self.psnap, snap_points(t.point_net, lon, lat, snap_max_m))
        ap = sparse.vstack([ap, ex.point_covers[np.flatnonzero(~ex.free)][:, live]], format="csr")
        n_ec, n_jp = len(ex.centres), len(self.points)
        ext = self.unlinked
        links = None
        if t.centre is not None:
            ac = covers_within(t.centre_net, t.centre, self.csnap, snap_points(t.centre_net, lon, lat, snap_max_m))
            lk_c = pd.concat([ex.centres[["lon", "lat"]], self.centres[["lon", "lat"]]], ignore_index=True)
            lk_p = pd.concat([self.points[["lon", "lat"]], ext[["lon", "lat"]]], ignore_index=True)
            links = link_sets(t, lk_c, lk_p, snap_max_m)
            free = np.asarray(links.covers[:n_ec].sum(axis=0)).ravel() > 0
            free[n_jp:] = False  # an existing point linked by an existing centre was counted before
            lk = links.covers[n_ec:]
        else:
            ac = sparse.csr_matrix((0, len(live)), dtype=bool)
            free = np.ones(ap.shape[0], dtype=bool)
            lk = sparse.csr_matrix((0, ap.shape[0]), dtype=bool)
        cap_e = ext["capacity"].to_numpy(float)
        capacitated = bool(self.centres["capacity"].notna().any() or self.points["capacity"].notna().any()
                           or np.isfinite(cap_e).any())
        model = TieredModel.build(
            ac, ap, lk, w[live], centre_costs=self.centres["cost"].to_numpy(float),
            point_costs=np.concatenate([self.points["cost"].to_numpy(float), np.zeros(len(ext))]), point_free=free,
            centre_capacity=self.centres["capacity"].to_numpy(float) if capacitated else None,
            point_capacity=np.concatenate([self.points["capacity"].to_numpy(float), cap_e]) if capacitated else None)
        return model, links


@dataclass(frozen=True)
class _Ask:
    """What `suggest_tiered_sites` was asked, checked, with the figures every answer carries."""

    category: str
    model: str
    tiers: ModelTiers
    demand_column: str
    total: float
    before: float
    report_share: float
    budget: float | None
    target_coverage: float | None
    costs: SiteCosts
    centre_costs: SiteCosts
    capacitated: bool
    time_limit_s: float
    t_start: float
    index: pd.Index  # of report.demand
    counted: np.ndarray  # rows of report.demand with people to count

    def share(self, covered: float) -> float:
        return covered / self.total if self.total > 0 else 0.0

    def _result(self, *, sites: pd.DataFrame, objective: float, cost: float, operating: float, ex: ExistingSites,
                newly: np.ndarray, candidates: tuple[int, int, int], message: str, notes: list[str],
                **solved: Any) -> TieredSitingResult:
        t = self.tiers
        after = self.before + objective
        series = np.zeros(len(self.index))
        series[self.counted] = newly
        given, used, outside = candidates
        if outside:
            message += (f"; 研究区或地图数据范围外的 {outside} 个候选点未采用 / {outside} candidate(s) outside the study "
                        "area or the map data left out")
        existing = {"centres": int(len(ex.centres)), "points": int(len(ex.points)),
                    "points_linked_before": int(ex.free.sum()),
                    "points_linked_now": int(ex.free.sum() + (sites["build"] == "existing").sum())}
        return TieredSitingResult(
            category=self.category, model=self.model, centre_tier=t.centre.tier.id if t.centre else None,
            point_tier=t.point.tier.id, tiers=t.record(), capacitated=self.capacitated, sites=sites,
            demand_column=self.demand_column, demand_total=self.total, covered_before=self.before,
            covered_after=after, objective=objective, coverage_before=self.share(self.before),
            coverage_after=self.share(after), report_coverage_before=self.report_share, budget=self.budget,
            target_coverage=self.target_coverage, total_cost=cost, operating_yuan_per_year=operating,
            time_limit_s=self.time_limit_s, solve_s=time.perf_counter() - self.t_start, costs=self.costs,
            centre_costs=self.centre_costs, existing=existing, candidates_given=given, candidates_used=used,
            dropped_outside=outside,
            newly_covered=pd.Series(series, index=self.index, name=f"newly_covered_{self.category}"),
            message=message, notes=tuple(notes), **solved)

    def nothing(self, ex: ExistingSites, why: str, notes: list[str]) -> TieredSitingResult:
        """The answer when no new site is needed."""
        share = self.share(self.before)
        met = None if self.target_coverage is None else share >= self.target_coverage - REL_TOL
        return self._result(sites=pd.DataFrame({c: [] for c in SITE_COLUMNS}), objective=0.0, cost=0.0,
                            operating=0.0, ex=ex, newly=np.zeros(len(self.counted)), candidates=(0, 0, 0),
                            message=f"no new site needed; {self.category} coverage {share:.1%}",
                            notes=notes + [f"{why}: no new site needed"], target_met=met, optimal=True, gap=0.0,
                            bound=0.0, solver="exact", greedy_objective=0.0, greedy_cost=0.0)

    def result(self, sel: TieredSelection, cands: _Candidates, ex: ExistingSites, links: Any, live: np.ndarray, *,
               notes: list[str], timings: dict[str, float]) -> TieredSitingResult:
        """The answer from the solver's selection."""
        sites = _sites_table(sel, cands, ex, links, self)
        newly = np.zeros(len(self.counted))
        newly[live] = sel.served
        after = self.share(self.before + sel.objective)
        message = sel.message + f"; {self.category} coverage {self.share(self.before):.1%} → {after:.1%}"
        if self.target_coverage is not None:
            message += f" (target {self.target_coverage:.0%}" + (", met)" if sel.target_met else ", not reachable)")
        if self.budget is not None and not len(sites):
            cheapest = min([*cands.centres["cost"], *cands.points["cost"]], default=np.nan)
            notes = notes + [f"no candidate that adds anyone fits the budget {self.budget:,.0f} (the cheapest costs "
                             f"{cheapest:,.0f}); raise the budget or add cheaper premises"]
        used = len(cands.centres) + len(cands.points)
        return self._result(sites=sites, objective=sel.objective, cost=sel.cost,
                            operating=float(sites["operating_yuan_per_year"].sum()), ex=ex, newly=newly,
                            candidates=(cands.n_given, used, cands.n_outside), message=message, notes=notes,
                            target_met=sel.target_met, optimal=sel.optimal, gap=sel.gap, bound=sel.bound,
                            solver=sel.solver, greedy_objective=sel.greedy_objective, greedy_cost=sel.greedy_cost,
                            model_size=dict(sel.model_size), timings=timings)


def _sites_table(sel: TieredSelection, cands: _Candidates, ex: ExistingSites, links: Any, ask: _Ask) -> pd.DataFrame:
    """One row per chosen site in greedy order (`SITE_COLUMNS`)."""
    t = ask.tiers
    n_ec, n_jp = len(ex.centres), len(cands.points)
    names = [str(v) for v in (ex.centres["name"] if "name" in ex.centres else
                              [f"existing centre {k + 1}" for k in range(n_ec)])]
    names += cands.centres["name"].astype(str).tolist()
    open_rows = np.concatenate([np.arange(n_ec), n_ec + sel.centres]).astype(np.int64)
    rows, covered = [], ask.before
    for rank, ((role, i), added) in enumerate(zip(sel.order, sel.added), start=1):
        centre, minutes = None, np.nan
        if role == CENTRE:
            src, tier = cands.centres.iloc[i], t.centre.tier.id
            label, build, cost, op = src["label"], src["build"], src["cost"], src["operating_yuan_per_year"]
        else:
            tier = t.point.tier.id
            if i < n_jp:
                src = cands.points.iloc[i]
                label, build, cost, op = src["label"], src["build"], src["cost"], src["operating_yuan_per_year"]
            else:
                src = cands.unlinked.iloc[i - n_jp]
                label, build, cost, op = cands.unlinked.index[i - n_jp], "existing", 0.0, 0.0
            if links is not None and len(open_rows):
                col = links.time_s[open_rows][:, i].tocoo()
                if col.nnz:
                    k = int(np.argmin(col.data))
                    centre, minutes = names[open_rows[col.row[k]]], round(float(col.data[k]) / 60.0, 2)
        covered += float(added)
        rows.append({"rank": rank, "tier": tier, "role": role, "candidate": label,
                     "name": str(src["name"]) if "name" in src and pd.notna(src["name"]) else f"#{label}",
                     "lon": float(src["lon"]), "lat": float(src["lat"]), "build": build, "cost": float(cost),
                     "operating_yuan_per_year": float(op), "capacity": float(src.get("capacity", np.nan)),
                     "added_covered": float(added), "coverage_after": ask.share(covered), "centre": centre,
                     "centre_minutes": minutes,
                     "load": float(sel.loads[rank - 1]) if sel.loads is not None and pd.notna(src.get("capacity"))
                     else np.nan})
    return pd.DataFrame(rows, columns=SITE_COLUMNS)

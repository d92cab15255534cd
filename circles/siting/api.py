"""The planner's call: `suggest_sites` on a coverage report → `SitingResult`.

`suggest_sites` gathers the candidates (`circles.siting.candidates`), leaves out those outside
``within``, measures which demand units each one reaches on foot (`circles.access.coverage_sets`),
and hands the matrix to `solve_mclp` or `solve_set_cover` (`circles.siting.selection`, re-exported
here with `Selection`), then reports the sites with coverage before and after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from circles.access import CoverageSets, coverage_sets
from circles.errors import InputError, SolverError
from circles.siting.candidates import (
    DEFAULT_SPACING_M,
    SitingTier,
    candidates_in_gaps,
    check_within,
    inside,
    prepare_candidates,
    siting_tier,
    uncovered_demand,
)
from circles.siting.greedy import REL_TOL
from circles.siting.mip import DEFAULT_TIME_LIMIT_S, check_solver
from circles.siting.selection import Selection, check_n_sites, solve_mclp, solve_set_cover
from network.compact import CompactNetwork, Snap

if TYPE_CHECKING:
    import geopandas as gpd

    from circles.coverage import CategoryResult, CoverageReport

__all__ = ["Selection", "SitingResult", "solve_mclp", "solve_set_cover", "suggest_sites"]


@dataclass(frozen=True)
class SitingResult:
    """Suggested new sites for one category, with the figures a planner reports.

    Attributes
    ----------
    category, tier
        The category and the tier the new sites belong to (its threshold and speed apply).
    model
        ``"mclp"`` (n new sites), ``"budget"`` (a total budget) or ``"set_cover"`` (a target share).
    capacitated
        True when each site covers at most its capacity.
    sites
        One row per suggested site in greedy order: ``rank``, ``candidate`` (the index label of
        the candidate in the input frame), ``name``, ``lon``, ``lat`` (WGS84), ``added_covered``
        (people of the demand group the site newly covers given the sites before it),
        ``coverage_after`` (the share once this site and those before it are open),
        ``assigned`` (newly covered people served by this site: each unit's nearest new site, or
        the capacity-respecting assignment when capacitated), ``cost``, ``capacity``.
    demand_column
        The demand group counted (e.g. ``pop_60plus``).
    demand_total, covered_before, covered_after
        People of the demand group inside the study area; covered by existing facilities;
        covered once the new sites are open.
    objective
        People newly covered (``covered_after − covered_before``).
    coverage_before, coverage_after
        The shares.
    target_coverage, target_met
        The target share for set cover, and whether the candidates reach it.
    optimal, gap, bound
        Whether the solver proved optimality; the relative MIP gap of the model's objective
        (people for mclp/budget, number of sites for set_cover); the proven bound.
    solver
        ``"highs"``, ``"cbc"``, ``"greedy"`` or ``"exact"`` (every useful candidate fits).
    time_limit_s, solve_s
        The solver's time limit, and the wall time of the whole call (seconds).
    greedy_objective
        People the lazy greedy alone would newly cover (the warm start), for comparison.
    minutes, speed_kmh
        The threshold and walking speed used.
    candidates_given, candidates_used
        Candidate rows for this category, and those inside `within` and on the network.
    newly_covered
        Per demand unit (index of ``report.demand``): share of its people newly covered (0/1,
        fractional only when capacitated).
    model_size, timings
        Sizes before/after reduction and MIP nonzeros; seconds per stage.
    message
        One line for the planner.
    notes
        Further lines: dropped candidates, capacity or target limits.
    dropped_outside
        Candidates for this category (given or generated) left out because they lie outside
        the `within` polygon of `suggest_sites` (the study area and the data); 0 without one.
    """

    category: str
    tier: str
    model: str
    capacitated: bool
    sites: pd.DataFrame
    demand_column: str
    demand_total: float
    covered_before: float
    covered_after: float
    objective: float
    coverage_before: float
    coverage_after: float
    target_coverage: float | None
    target_met: bool | None
    optimal: bool
    gap: float
    bound: float
    solver: str
    time_limit_s: float
    solve_s: float
    greedy_objective: float
    minutes: float
    speed_kmh: float
    candidates_given: int
    candidates_used: int
    newly_covered: pd.Series = field(repr=False)
    model_size: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""
    notes: tuple[str, ...] = ()
    dropped_outside: int = 0

    @property
    def n_sites(self) -> int:
        return len(self.sites)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The suggested sites as WGS84 points with ``kind`` = ``"suggested_site"``, ``category``,
        ``tier``, ``demand_column`` and ``dropped_outside``, ready for `circles.export` to add to
        ``gaps.geojson``."""
        import geopandas as gpd

        frame = self.sites.copy()
        frame.insert(0, "kind", "suggested_site")
        frame.insert(1, "category", self.category)
        frame.insert(2, "tier", self.tier)
        frame["demand_column"] = self.demand_column
        frame["dropped_outside"] = self.dropped_outside
        return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures for ``summary.json`` (``suggestions`` → category)."""
        def num(v: Any) -> Any:
            return None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v

        sites = []
        for row in self.sites.itertuples(index=False):
            sites.append({"rank": int(row.rank), "candidate": _jsonable(row.candidate), "name": str(row.name),
                          "lon": round(float(row.lon), 7), "lat": round(float(row.lat), 7),
                          "added_covered": round(float(row.added_covered), 3),
                          "coverage_after": round(float(row.coverage_after), 6),
                          "assigned": round(float(row.assigned), 3),
                          "cost": num(float(row.cost)), "capacity": num(float(row.capacity))})
        return {
            "category": self.category, "tier": self.tier, "model": self.model, "capacitated": self.capacitated,
            "demand_column": self.demand_column, "minutes": self.minutes, "speed_kmh": self.speed_kmh,
            "sites": sites, "n_sites": self.n_sites,
            "demand_total": self.demand_total, "covered_before": self.covered_before,
            "covered_after": self.covered_after, "added_covered": self.objective,
            "coverage_before": round(self.coverage_before, 6), "coverage_after": round(self.coverage_after, 6),
            "target_coverage": self.target_coverage, "target_met": self.target_met,
            "optimal": self.optimal, "gap": num(round(self.gap, 6) if np.isfinite(self.gap) else self.gap),
            "solver": self.solver, "time_limit_s": self.time_limit_s, "solve_s": round(self.solve_s, 3),
            "greedy_added_covered": self.greedy_objective,
            "candidates_given": self.candidates_given, "candidates_used": self.candidates_used,
            "dropped_outside": self.dropped_outside,
            "message": self.message, "notes": list(self.notes),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v if isinstance(v, (int, float, str)) or v is None else str(v)


_SITE_COLUMNS = ["rank", "candidate", "name", "lon", "lat", "added_covered", "coverage_after", "assigned", "cost",
                 "capacity", "area_m2"]


@dataclass(frozen=True)
class _Request:
    """What `suggest_sites` was asked, checked, with the figures every answer carries."""

    category: str
    tier: SitingTier
    model: str
    capacitated: bool
    target_coverage: float | None
    time_limit_s: float
    demand_column: str
    total: float
    before: float
    t_start: float

    def share(self, covered: float) -> float:
        return covered / self.total if self.total > 0 else 0.0

    def result(self, report: CoverageReport, *, sites: pd.DataFrame, newly: np.ndarray, objective: float,
               candidates: tuple[int, int, int], message: str, notes: list[str], **solved: Any) -> SitingResult:
        """The `SitingResult`: `candidates` is (given, used, dropped outside `within`); `solved` holds the
        solver's figures (``target_met``, ``optimal``, ``gap``, ``bound``, ``solver``, ``greedy_objective``,
        and optionally ``model_size``, ``timings``)."""
        given, used, outside = candidates
        if outside:
            message += "; " + _outside_note(outside)
        after = self.before + objective
        return SitingResult(
            category=self.category, tier=self.tier.tier.id, model=self.model, capacitated=bool(self.capacitated),
            sites=sites, demand_column=self.demand_column, demand_total=self.total, covered_before=self.before,
            covered_after=after, objective=objective, coverage_before=self.share(self.before),
            coverage_after=self.share(after), target_coverage=self.target_coverage,
            time_limit_s=float(self.time_limit_s), solve_s=time.perf_counter() - self.t_start,
            minutes=self.tier.minutes, speed_kmh=self.tier.speed_kmh, candidates_given=given, candidates_used=used,
            dropped_outside=outside,
            newly_covered=pd.Series(newly, index=report.demand.index, name=f"newly_covered_{self.category}"),
            message=message, notes=tuple(notes), **solved)


def _outside_note(n: int) -> str:
    return (f"研究区或地图数据范围外的 {n} 个候选点未采用 / {n} candidate(s) outside the study area or the map data "
            "left out")


def _model_of(n_sites: int | None, target_coverage: float | None, budget: float | None) -> str:
    """Which model the request asks for (``"mclp"``, ``"budget"``, ``"set_cover"``); InputError when unclear."""
    asked = (("n_sites", n_sites), ("target_coverage", target_coverage), ("budget", budget))
    given = [name for name, v in asked if v is not None]
    if not given:
        raise InputError("give n_sites (e.g. 5 new sites), a budget, or target_coverage (e.g. 0.9)")
    if target_coverage is not None and len(given) > 1:
        raise InputError("target_coverage asks for the fewest sites; give it alone, without n_sites or budget")
    if target_coverage is not None and not (0 < target_coverage <= 1):
        raise InputError(f"target_coverage is {target_coverage}; give a share in (0, 1], e.g. 0.9 for 90 %")
    if n_sites is not None:
        check_n_sites(n_sites)
    return "set_cover" if target_coverage is not None else ("budget" if budget is not None else "mclp")


def suggest_sites(
    report: CoverageReport,
    net: CompactNetwork,
    candidates: pd.DataFrame | None = None,
    *,
    category: str,
    n_sites: int | None = None,
    target_coverage: float | None = None,
    budget: float | None = None,
    capacitated: bool = False,
    tier: str | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    solver: str = "auto",
    spacing_m: float = DEFAULT_SPACING_M,
    snap_max_m: float = 200.0,
    within: shapely.Geometry | None = None,
) -> SitingResult:
    """Where new sites of a category should go, existing facilities kept.

    Give one of: `n_sites` (maximal covering with that many new sites), `budget` (with a
    ``cost`` per candidate; may be combined with `n_sites`), or `target_coverage` (the fewest
    new sites reaching that share). Only people of the category's demand group (e.g. 60+)
    inside the study area count; those already covered by existing facilities count as
    covered before and add nothing when covered again.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport` of the existing facilities.
    net
        The walking network of the report (the network of the tier's mode).
    candidates
        Possible sites: a DataFrame with ``lon``, ``lat`` (WGS84 degrees) and optional ``name``,
        ``cost``, ``capacity`` (people of the demand group), ``area_m2``, ``category`` (rows of
        other categories are ignored; blank = any); or a GeoDataFrame (any CRS; polygons give a
        point on their surface), e.g. OSM buildings. None: points generated along the network
        near the gaps every `spacing_m` metres (`candidates_in_gaps`).
    category
        Category id, e.g. ``"elderly"``.
    n_sites
        Number of new sites (p), ≥ 1 and at most the number of usable candidates.
    target_coverage
        Share of the demand to reach, in (0, 1], e.g. 0.9.
    budget
        Total cost allowed (same currency as the candidates' ``cost``).
    capacitated
        Each site covers at most its ``capacity`` people; the assignment respects it.
    tier
        The tier new sites belong to (its threshold and speed apply); default the category's
        last tier (stations / points). Drive tiers are refused.
    time_limit_s
        Time limit of the MIP solver (seconds); the best solution found and its gap are
        reported when reached.
    solver
        ``"auto"``, ``"highs"``, ``"cbc"`` or ``"greedy"``; see `solve_mclp`.
    spacing_m
        Spacing of generated candidates when `candidates` is None (metres).
    snap_max_m
        Candidates farther than this from every walkable way are left out (metres).
    within
        A polygon in WGS84 lon/lat (e.g. the study area intersected with the area the OSM data
        covers): candidates outside it, given or generated, are left out before the model is
        built, and the result says how many (``dropped_outside``). None: no such limit.

    Returns
    -------
    SitingResult

    Raises
    ------
    InputError
        A bad option or candidate table (the message names the row or option and the fix).
    ExtentError
        An empty `within`.
    SolverError
        No usable candidate, more sites than candidates, a budget below every cost, capacities
        of 0, or an unknown solver.

    Examples
    --------
    >>> from circles.sample import make_sample  # doctest: +SKIP
    >>> result = suggest_sites(report, net, category="elderly", n_sites=5)  # doctest: +SKIP
    >>> print(result.message)  # doctest: +SKIP
    5 new site(s) cover 5,204 more (optimal); elderly coverage 77.6% → 92.2%
    """
    t_start = time.perf_counter()
    res = report.category(category)
    st = siting_tier(report, category, tier)
    model = _model_of(n_sites, target_coverage, budget)
    check_solver(solver, time_limit_s)
    if within is not None:
        check_within(within)
    req = _Request(category=category, tier=st, model=model, capacitated=capacitated, target_coverage=target_coverage,
                   time_limit_s=time_limit_s, demand_column=res.demand_column, total=float(res.demand_total),
                   before=float(res.demand_covered), t_start=t_start)
    notes: list[str] = []
    if candidates is None:
        candidates = _generated(report, net, req, budget=budget, spacing_m=spacing_m, notes=notes)
    frame = prepare_candidates(candidates, report.profile, category, need_cost=budget is not None,
                               need_capacity=capacitated)
    n_given = len(frame)
    if within is not None:
        frame = frame[inside(frame["lon"], frame["lat"], within)]
    n_outside = n_given - len(frame)
    new_w = uncovered_demand(report, category)
    live = np.flatnonzero(new_w > 0)
    nothing = _nothing_needed(req, res, live)
    if nothing is not None:
        share = req.share(req.before)
        return req.result(report, sites=pd.DataFrame({c: [] for c in _SITE_COLUMNS}),
                          newly=np.zeros(len(report.demand)), objective=0.0, candidates=(n_given, 0, n_outside),
                          message=f"no new site needed; {category} coverage {share:.1%}", notes=notes + [nothing],
                          target_met=None if target_coverage is None else share >= target_coverage - REL_TOL,
                          optimal=True, gap=0.0, bound=0.0, solver="exact", greedy_objective=0.0)
    used, csnap = _usable(net, frame, req, candidates=candidates, n_given=n_given, n_outside=n_outside,
                          n_sites=n_sites, snap_max_m=snap_max_m, notes=notes)
    t0 = time.perf_counter()
    sets = _coverage_sets(net, report, req, csnap, live, snap_max_m=snap_max_m)
    t_sets = time.perf_counter() - t0
    w = new_w[live]
    sel = _select(sets.covers, w, used, req, n_sites=n_sites, budget=budget, solver=solver, notes=notes)
    newly = np.zeros(len(report.demand))
    newly[live] = sel.served
    sites = _sites_table(used, sel, _assigned(sel, sets, w), req)
    share_after = req.share(req.before + sel.objective)
    message = sel.message + f"; {category} coverage {req.share(req.before):.1%} → {share_after:.1%}"
    if model == "set_cover":
        message += f" (target {target_coverage:.0%}" + (", met)" if sel.target_met else ", not reachable)")
    return req.result(report, sites=sites, newly=newly, objective=sel.objective,
                      candidates=(n_given, len(used), n_outside), message=message, notes=notes,
                      target_met=sel.target_met, optimal=sel.optimal, gap=sel.gap,
                      bound=sel.bound, solver=sel.solver, greedy_objective=sel.greedy_objective,
                      model_size=dict(sel.model_size), timings={"coverage_sets": t_sets, **dict(sel.timings)})


def _generated(report: CoverageReport, net: CompactNetwork, req: _Request, *, budget: float | None, spacing_m: float,
               notes: list[str]) -> pd.DataFrame:
    """Candidates generated along the streets of the gaps (`candidates_in_gaps`), noted in `notes`."""
    for needed, what in ((budget is not None, "a budget needs a 'cost'"),
                         (req.capacitated, "capacitated siting needs a 'capacity'")):
        if needed:
            raise InputError(f"{what} for every candidate, and generated gap points have none; give a premises "
                             "list with that column")
    generated = candidates_in_gaps(net, report, req.category, spacing_m=spacing_m, tier=req.tier.tier.id)
    notes.append(f"{len(generated)} candidate points generated on the streets (at most one per "
                 f"{spacing_m:g} m square) within walking reach of uncovered people")
    return generated


def _nothing_needed(req: _Request, res: CategoryResult, live: np.ndarray) -> str | None:
    """Why no new site is needed (everyone reachable is covered, or the target is met), or None."""
    if not len(live):
        return (f"everyone of {res.demand_column} inside the study area whom the network reaches is already covered "
                f"for {req.category!r}: no new site needed")
    if req.target_coverage is not None and req.target_coverage * req.total - req.before <= req.total * REL_TOL:
        return (f"coverage {req.before / req.total:.1%} already meets the target {req.target_coverage:.0%}: "
                "no new site needed")
    return None


def _usable(net: CompactNetwork, frame: pd.DataFrame, req: _Request, *, candidates: pd.DataFrame, n_given: int,
            n_outside: int, n_sites: int | None, snap_max_m: float, notes: list[str]) -> tuple[pd.DataFrame, Snap]:
    """The candidates inside `within` and near the network, with their snaps; SolverError when none."""
    if n_given == 0:
        raise SolverError(f"no candidate sites for category {req.category!r}: the candidates list has "
                          f"{len(candidates)} row(s), none for this category; give premises with lon/lat "
                          f"(category blank or {req.category!r})")
    if frame.empty:
        raise SolverError(f"all {n_given} candidates for {req.category!r} lie outside the study area or the area the "
                          "map data covers (`within`); give candidates inside it, or a larger area")
    x, y = net.to_xy(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    csnap = net.snap(x, y, max_distance_m=snap_max_m)
    on = ~csnap.off_network
    n_inside = len(frame)
    if not on.any():
        raise SolverError(f"all {n_inside} candidates lie more than {snap_max_m:g} m from any walkable way "
                          f"(nearest {csnap.distance_m.min():,.0f} m); check their coordinates (GCJ-02/BD-09 not "
                          "converted?) or give premises near the network")
    if (~on).any():
        notes.append(f"{int((~on).sum())} of {n_inside} candidates lie more than {snap_max_m:g} m from any walkable "
                     "way and were left out")
    used = frame[on]
    n_used = len(used)
    if n_sites is not None and n_sites > n_used:
        why = [f"{n_outside} more lie outside the study area"] if n_outside else []
        why += [f"{n_inside - n_used} more are off the network"] if n_used < n_inside else []
        raise SolverError(f"n_sites={n_sites} is more than the {n_used} usable candidate sites"
                          + (f" ({', '.join(why)})" if why else "")
                          + f"; lower n_sites to at most {n_used} or add candidates")
    return used, csnap.take(np.flatnonzero(on))


def _coverage_sets(net: CompactNetwork, report: CoverageReport, req: _Request, csnap: Snap, live: np.ndarray, *,
                   snap_max_m: float) -> CoverageSets:
    """Which of the `live` demand units each candidate reaches within the tier's threshold on foot."""
    d = report.demand
    ux, uy = net.to_xy(d["lon"].to_numpy(float)[live], d["lat"].to_numpy(float)[live])
    usnap = net.snap(ux, uy, max_distance_m=snap_max_m)
    return coverage_sets(net, csnap, usnap, req.tier.edge_cost(net), threshold_s=req.tier.minutes * 60.0)


def _select(covers: sparse.csr_matrix, w: np.ndarray, used: pd.DataFrame, req: _Request, *, n_sites: int | None,
            budget: float | None, solver: str, notes: list[str]) -> Selection:
    """`solve_set_cover` or `solve_mclp` on the coverage matrix, after the checks only the frame allows."""
    costs = used["cost"].to_numpy(float)
    caps = used["capacity"].to_numpy(float) if req.capacitated else None
    if req.model == "set_cover":
        need = req.target_coverage * req.total - req.before
        sel = solve_set_cover(covers, w, need, capacities=caps, time_limit_s=req.time_limit_s, solver=solver)
        if caps is not None and sel.target_met is False and float(np.nansum(caps)) < need:
            notes.append(f"the highest possible capacity of all candidates ({float(np.nansum(caps)):,.0f}) is smaller "
                         f"than the demand to cover for the target ({need:,.0f}); add candidates or capacity")
        return sel
    if budget is not None and costs.min() > budget:
        raise SolverError(f"budget {budget:,.0f} is below the cheapest usable candidate's cost "
                          f"{np.nanmin(costs):,.0f}; raise the budget or add cheaper candidates")
    if caps is not None and not (caps > 0).any():
        raise SolverError(f"every candidate's capacity is 0; the highest possible capacity (0) cannot serve "
                          f"any of the {w.sum():,.0f} uncovered people; give capacities > 0")
    return solve_mclp(covers, w, n_sites, budget=budget, costs=costs if budget is not None else None,
                      capacities=caps, time_limit_s=req.time_limit_s, solver=solver)


def _assigned(sel: Selection, sets: CoverageSets, w: np.ndarray) -> np.ndarray:
    """Newly covered people each site serves: its capacitated load, or the units it is the nearest new site of."""
    rows = sel.sites
    if not len(rows):
        return np.zeros(0)
    if sel.loads is not None:
        return np.asarray(sel.loads, dtype=float)
    coo = sets.time_s[rows].tocoo()
    order = np.lexsort((coo.data, coo.col))
    col, row = coo.col[order], coo.row[order]
    first = np.concatenate([[True], col[1:] != col[:-1]]) if len(col) else np.zeros(0, dtype=bool)
    return np.bincount(row[first], weights=w[col[first]], minlength=len(rows))


def _sites_table(used: pd.DataFrame, sel: Selection, assigned: np.ndarray, req: _Request) -> pd.DataFrame:
    """One row per suggested site, in greedy order (`SitingResult.sites`)."""
    rows = sel.sites
    cum = req.before + np.cumsum(sel.added)
    return pd.DataFrame({
        "rank": np.arange(1, len(rows) + 1),
        "candidate": used.index.to_numpy()[rows] if len(rows) else np.zeros(0, dtype=object),
        "name": used["name"].astype(str).to_numpy()[rows],
        "lon": used["lon"].to_numpy(float)[rows], "lat": used["lat"].to_numpy(float)[rows],
        "added_covered": np.asarray(sel.added, dtype=float),
        "coverage_after": cum / req.total if req.total > 0 else np.zeros(len(rows)),
        "assigned": assigned,
        "cost": used["cost"].to_numpy(float)[rows], "capacity": used["capacity"].to_numpy(float)[rows],
        "area_m2": used["area_m2"].to_numpy(float)[rows],
    })

"""`analyse`: one area measured — its networks, the assessment, service areas and site suggestions."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import shapely

from circles.coverage import CoverageReport, assess
from circles.errors import ExtentError, OutsideDataError
from circles.pipeline.model import (
    AnalysisResult,
    Area,
    Prepared,
    Progress,
    Stopwatch,
    data_extent_of,
    demand_inside,
    facilities_near,
)

log = logging.getLogger("circles.pipeline")

__all__ = ["analyse"]


def analyse(prepared: Prepared, area: Area | None = None, *, progress: Progress | None = None) -> AnalysisResult:
    """Measure access and coverage in one area: networks, assessment, service areas, suggestions.

    Parameters
    ----------
    prepared
        The run's inputs (`prepare`), or one district's cut of them (`Prepared.cut`).
    area
        Where residents are counted (default: the prepared study area, else all the data).
    progress
        Called with one line per step.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    circles.errors.ExtentError
        When the data or the residents do not reach the area.
    """
    say = progress or log.info
    opts = prepared.options
    area = area if area is not None else Area(None, prepared.boundary)
    geom = area.geometry
    watch = Stopwatch()
    with watch("networks"):
        nets = _networks(prepared, geom, say)
    facilities = facilities_near(prepared, geom)
    demand = demand_inside(prepared.demand, geom)
    left_out = len(prepared.demand) - len(demand)
    if len(demand) == 0:
        raise ExtentError(f"no resident (demand unit) inside {_area_name(area)}; check that the population "
                          "file covers it")
    districts, district_col = _area_districts(prepared, area)
    with watch("assess"):
        report = assess(nets, facilities, demand, profile=prepared.profile, boundary=geom, districts=districts,
                        district_col=district_col, horizon_min=opts.horizon_min, plain_speed_kmh=opts.speed_kmh,
                        area_name=area.name)  # the area names the city unit of the rules

    if area.name is None:
        notes = list(prepared.ledger_lines) + list(prepared.notes)
    else:  # a district: its own zone and ledger remarks, not the whole run's
        notes = [n for n in prepared.notes if _concerns(n, area.name)]
        notes.extend(prepared.ledger_notes.get(area.name, ()))
    record = dict(prepared.record)
    if geom is not None and left_out and area.name is None:
        notes.append(f"{left_out:,} demand units outside the study area are not counted 研究范围外的人口单元未统计")
    record["networks"] = {m: {k: n.summary()[k] for k in ("nodes", "edges", "length_km", "crs")}
                          for m, n in nets.items()}
    record["notes"] = notes
    if area.name is not None:
        record["boundary"] = f"{prepared.record.get('districts')}#{area.name}"
        record["district"] = area.name
        if "population_zones" in record:  # the district's own zone(s), not the whole run's
            short = area.name.rsplit("/", 1)[-1]
            record["population_zones"] = [z for z in record["population_zones"]
                                          if z["zone"] in (area.name, short) or z["zone"].rsplit("/", 1)[-1] == short]
    areas = None
    if not opts.figures_only:
        from circles.isochrones import drawing_record, report_service_areas
        from circles.memory import release_memory

        say("service areas ...")
        with watch("areas"):
            areas = report_service_areas(report, nets)
            release_memory()  # the grids are gone: their memory goes back before the map and the files
        record["service_areas"] = drawing_record(areas)
    with watch("suggest"):
        suggestions = _suggest(prepared, report, nets, geom, say)
    if suggestions:
        record.update(suggest=opts.suggest, target_coverage=opts.target_coverage, budget=opts.budget,
                      capacitated=opts.capacitated, candidates=opts.candidates or "generated in gaps",
                      time_limit_s=opts.time_limit_s)
        if opts.tiered:  # tiered siting (issue 18, part 4)
            record.update(tiered=True, link_minutes=opts.link_minutes)
    return AnalysisResult(report=report, networks=nets, service_areas=areas, inputs=record, lang=opts.lang,
                          notes=tuple(notes), area=area, districts=districts, suggestions=tuple(suggestions),
                          extent=prepared.extent,
                          timings={**prepared.timings, **watch.seconds,
                                   **{f"assess.{k}": v for k, v in report.timings.items()}},
                          write_report=not opts.no_report)


def _area_name(area: Area) -> str:
    return f"the district {area.name!r}" if area.name else ("the study area" if area.geometry is not None else "the data")


def _concerns(note: str, name: str) -> bool:
    """Whether a run's remark concerns one district: zone remarks name their zone ("zone '清河街道' ...")."""
    if note.startswith(("zone ", "zones ")):
        short = name.rsplit("/", 1)[-1]
        return f"'{name}'" in note or f"'{short}'" in note
    return "districts lie outside the data" not in note


def _networks(prepared: Prepared, geom, say: Progress) -> dict[str, Any]:
    from network import load_network

    opts = prepared.options
    nets = {}
    for m in prepared.modes():
        key = "walk" if m == opts.mode else m
        if geom is None and key in prepared.networks:
            nets[key] = prepared.networks[key]
            continue
        say(f"network ({m}) from {prepared.source_label} ...")
        try:
            nets[key] = load_network(prepared.source, mode=m, boundary=geom, buffer_m=opts.buffer_m,
                                     **prepared.profile.network_options(m))  # the profile's road speeds
        except OutsideDataError:
            raise ExtentError(f"no {m} ways of {prepared.source_label} within {opts.buffer_m:,.0f} m of the area: "
                              "the network file does not cover it; use an extract that does") from None
    return nets


def _area_districts(prepared: Prepared, area: Area) -> tuple[gpd.GeoDataFrame | None, str | None]:
    """The districts figures are given for: the area itself (a batch district) or the prepared ones."""
    if area.name is not None:
        share = None
        if prepared.districts is not None:
            hit = prepared.districts[prepared.districts["name"] == area.name]
            share = float(hit["inside_share"].iloc[0]) if len(hit) else None
        frame = gpd.GeoDataFrame({"name": [area.name]}, geometry=[area.geometry], crs="EPSG:4326")
        if share is not None:
            frame["inside_share"] = share
        return frame, "name"
    if prepared.districts is None:
        return None, None
    return prepared.districts, "name"


def _suggest(prepared: Prepared, report: CoverageReport, nets, geom, say: Progress) -> list:
    """New sites per category when asked for (`--suggest N`, `--target-coverage`, `--budget`)."""
    opts = prepared.options
    if not opts.wants_sites:
        return []
    from circles.facilities import read_candidates
    from circles.siting import suggest_sites

    profile = prepared.profile
    candidates = read_candidates(opts.candidates, coords=prepared.record.get("coords") or "wgs84", profile=profile) \
        if opts.candidates else None
    wanted = opts.categories or tuple(c.id for c in profile.categories)
    within = _siting_area(prepared, nets, geom)
    results = []
    for cat in wanted:
        if opts.tiered:  # --- tiered siting (issue 18, part 4): centres and points together, under a budget ---
            from circles.siting import XIAN_2024, suggest_tiered_sites

            costs = XIAN_2024.with_overrides(new_yuan=opts.cost_new_yuan, renovation_yuan=opts.cost_renovation_yuan,
                                             operating_yuan_per_year=opts.operating_yuan_per_year,
                                             operating_years=opts.operating_years)
            say(f"suggesting centres and points for {cat} ...")
            results.append(suggest_tiered_sites(report, nets, candidates, category=cat, budget=opts.budget,
                                                target_coverage=opts.target_coverage, link_minutes=opts.link_minutes,
                                                costs=costs, capacitated=opts.capacitated,
                                                time_limit_s=opts.time_limit_s, within=within))
            continue  # --- end of tiered siting ---
        mode = profile.category(cat).tiers[-1].mode
        net = nets["walk"] if mode in ("walk", "bike") else nets[mode]
        say(f"suggesting sites for {cat} ...")
        results.append(suggest_sites(report, net, candidates, category=cat, n_sites=opts.suggest,
                                     target_coverage=opts.target_coverage, budget=opts.budget,
                                     capacitated=opts.capacitated, time_limit_s=opts.time_limit_s, within=within))
    return results


def _siting_area(prepared: Prepared, nets, geom) -> shapely.Geometry:
    """Where new sites may go: inside the data (the streets' extent, cut to the file's bounds) and the study area."""
    extent = prepared.extent
    if extent is None:
        walk = nets["walk"] if "walk" in nets else next(iter(nets.values()))
        extent = data_extent_of(walk, prepared.options.network)
    if geom is not None:
        extent = shapely.intersection(extent, geom)
    elif prepared.districts is not None and len(prepared.districts):
        extent = shapely.intersection(extent, shapely.union_all(prepared.districts.geometry.to_numpy()))
    return extent

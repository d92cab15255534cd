"""One analysis run from inputs to outputs: what `circles analyze`, the app and the batch share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from circles.coverage import CoverageReport, assess
from circles.errors import CirclesError
from circles.outputs.analysis import write_analysis
from circles.isochrones import drawing_record, report_service_areas

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisInputs:
    """Everything `circles analyze` can be given (paths or in-memory objects), validated on use."""

    network: Any = None  # OSM/GraphML path or place name, or a pre-read network.RawWays (batch runs)
    network_label: str | None = None
    sample: bool = False
    mode: str = "walk"
    boundary: shapely.Geometry | None = None
    boundary_path: str | None = None
    buffer_m: float = 1000.0
    facilities_path: str | None = None
    coords: str = "wgs84"
    population_path: str | None = None
    population_zones: str | None = None
    zone_population_col: str | None = None
    districts: Any = None
    districts_path: str | None = None
    district_col: str | None = None
    profile: str = "15min"
    minutes: float | None = None
    speed_kmh: float | None = None
    horizon_min: float = 60.0
    lang: str = "zh"
    suggest: int | None = None  # new sites per category (MCLP), with existing sites kept
    target_coverage: float | None = None  # or: the fewest sites reaching this share
    budget: float | None = None  # or: a total budget over the candidates' cost column
    capacitated: bool = False
    candidates_path: str | None = None  # premises list; default: points along the streets of the gaps
    categories: tuple[str, ...] | None = None  # the categories to site (default: all)
    time_limit_s: float = 60.0


@dataclass(frozen=True)
class AnalysisResult:
    """A finished analysis: the coverage report, its service areas and the record of its inputs."""

    report: CoverageReport
    service_areas: Any  # GeoDataFrame, see circles.isochrones.service_areas
    inputs: dict[str, Any]
    lang: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    districts: Any = None  # GeoDataFrame of district polygons (WGS84), when given
    district_col: str | None = None
    suggestions: tuple = ()  # circles.siting.SitingResult per category, when asked for

    def suggestion_frame(self):
        """All suggested sites as one WGS84 GeoDataFrame (``kind`` = ``suggested_site``), or None."""
        import geopandas as gpd
        import pandas as pd

        if not self.suggestions:
            return None
        return gpd.GeoDataFrame(pd.concat([r.to_geodataframe() for r in self.suggestions], ignore_index=True),
                                geometry="geometry", crs="EPSG:4326")

    def map(self):
        """The folium map of this analysis (offline when written with `circles.maps.map_html`)."""
        from circles.outputs.map import coverage_map

        return coverage_map(self.report, service_areas=self.service_areas, suggestions=self.suggestion_frame(),
                            districts=self.districts, district_col=self.district_col, lang=self.lang,
                            note=self.inputs.get("sample_label"))

    def write(self, out_dir: Path) -> list[Path]:
        """Write every output of `circles analyze` into `out_dir` (atomically), map.html included."""
        from circles.outputs.map import map_html

        html = map_html(self.map())
        return write_analysis(self.report, out_dir, inputs=self.inputs, lang=self.lang,
                              service_areas=self.service_areas, suggestions=self.suggestions,
                              extra={"map.html": lambda p: p.write_text(html, encoding="utf-8")})


def run_analysis(inp: AnalysisInputs, *, progress: Callable[[str], None] | None = None) -> AnalysisResult:
    """Load the network(s), facilities and demand named by `inp`, and assess coverage."""
    from circles.demand import demand_from_frame, read_population
    from circles.facilities import ledger_from_frame, read_ledger
    from circles.profiles import load_profile
    from network import load_network

    say = progress or (lambda msg: log.info(msg))
    profile = load_profile(inp.profile)
    if inp.minutes is not None or inp.speed_kmh is not None:
        profile = profile.with_overrides(minutes=inp.minutes, speed_kmh=inp.speed_kmh)
    if inp.sample == (inp.network is not None):
        raise CirclesError("give exactly one of --network FILE or --sample (e.g. `circles analyze --sample --out out/sample`)")

    boundary, districts, district_col = inp.boundary, inp.districts, inp.district_col
    sample = None
    if inp.sample:
        from circles.sample import SAMPLE_LABEL, make_sample

        say(f"sample district {SAMPLE_LABEL}")
        sample = make_sample()
        source, network_label = sample.ways, "sample"
        boundary = boundary if boundary is not None else sample.boundary
        if districts is None:
            districts, district_col = sample.districts, "street"
    else:
        source = inp.network
        network_label = inp.network_label or (str(inp.network) if isinstance(inp.network, (str, Path)) else "ways")

    modes = {t.mode for c in profile.categories for t in c.tiers}
    modes = {inp.mode if m == "walk" else m for m in modes}
    nets = {}
    for m in sorted(modes):
        say(f"network ({m}) from {network_label} ...")
        nets["walk" if m == inp.mode else m] = load_network(source, mode=m, boundary=boundary, buffer_m=inp.buffer_m)
    walk_net = nets["walk"] if "walk" in nets else next(iter(nets.values()))

    notes: list[str] = []
    if inp.facilities_path:
        ledger = read_ledger(inp.facilities_path, coords=inp.coords, profile=profile, net=walk_net, boundary=boundary)
    elif sample is not None:
        ledger = ledger_from_frame(sample.facilities, source_name="sample facilities (示例数据)", coords="wgs84",
                                   profile=profile, net=walk_net, boundary=boundary)
    elif isinstance(inp.network, (str, Path)) and Path(inp.network).exists():
        ledger = _osm_facilities(Path(inp.network), profile, walk_net, boundary)
    else:
        raise CirclesError("no facilities: give --facilities FILE (a ledger; see circles/data/templates/)")
    facilities = ledger.facilities
    notes.extend(p.describe(ledger.source) for p in ledger.report.warnings)
    say(f"facilities: {len(facilities)} from {ledger.source}")

    shares = dict(profile.age_shares) if profile.age_shares else None
    if inp.population_path:
        demand = read_population(inp.population_path, age_shares=shares)
    elif inp.population_zones:
        demand = _spread_zones(inp, walk_net, boundary, shares)
    elif sample is not None:
        demand = demand_from_frame(sample.population, source_name="sample population (示例数据)", age_shares=shares)
    else:
        raise CirclesError("no population: give --population FILE or --population-zones FILE --zone-population-col COL")
    notes.extend(demand.notes)
    say(f"demand units: {len(demand.units)} from {demand.source}")

    report = assess(nets, facilities, demand.units, profile=profile, boundary=boundary, districts=districts,
                    district_col=district_col, horizon_min=inp.horizon_min, plain_speed_kmh=inp.speed_kmh)
    record = {
        "network": network_label, "mode": inp.mode, "boundary": inp.boundary_path or ("sample" if sample else None),
        "buffer_m": inp.buffer_m, "facilities": inp.facilities_path or ("sample" if sample else None),
        "coords": inp.coords, "population": inp.population_path or inp.population_zones or ("sample" if sample else None),
        "districts": inp.districts_path or ("sample" if sample and inp.districts is None else None),
        "district_col": district_col, "profile": profile.id, "minutes": inp.minutes, "speed_kmh": inp.speed_kmh,
        "horizon_min": inp.horizon_min, "lang": inp.lang,
        "networks": {m: {k: n.summary()[k] for k in ("nodes", "edges", "length_km", "crs")} for m, n in nets.items()},
        "notes": notes,
    }
    if sample is not None:
        record["sample_label"] = sample.label
    say("service areas ...")
    areas = report_service_areas(report, nets)
    record["service_areas"] = drawing_record(areas)
    suggestions = _suggest(inp, report, nets, profile, say)
    if suggestions:
        record.update(suggest=inp.suggest, target_coverage=inp.target_coverage, budget=inp.budget,
                      capacitated=inp.capacitated, candidates=inp.candidates_path or "generated in gaps",
                      time_limit_s=inp.time_limit_s)
    return AnalysisResult(report=report, service_areas=areas, inputs=record, lang=inp.lang, notes=tuple(notes),
                          districts=districts, district_col=district_col, suggestions=tuple(suggestions))


def _suggest(inp: AnalysisInputs, report: CoverageReport, nets, profile, say) -> list:
    """New sites per category when asked for (`--suggest N`, `--target-coverage`, `--budget`)."""
    if inp.suggest is None and inp.target_coverage is None and inp.budget is None:
        if inp.candidates_path or inp.categories:
            raise CirclesError("--candidates/--categories need --suggest N, --target-coverage SHARE or --budget AMOUNT")
        return []
    from circles.facilities import read_candidates
    from circles.siting import suggest_sites

    candidates = read_candidates(inp.candidates_path, coords=inp.coords, profile=profile) if inp.candidates_path else None
    wanted = inp.categories or tuple(c.id for c in profile.categories)
    for c in wanted:
        profile.category(c)  # unknown ids: one clear line listing the valid ones
    results = []
    for cat in wanted:
        mode = profile.category(cat).tiers[-1].mode
        net = nets["walk"] if mode in ("walk", "bike") else nets[mode]
        say(f"suggesting sites for {cat} ...")
        results.append(suggest_sites(report, net, candidates, category=cat, n_sites=inp.suggest,
                                     target_coverage=inp.target_coverage, budget=inp.budget,
                                     capacitated=inp.capacitated, time_limit_s=inp.time_limit_s))
    return results


def _osm_facilities(path: Path, profile, net, boundary):
    """The fallback when no ledger is given: facilities tagged in the same OSM file, by the profile's rules."""
    from circles.facilities import ledger_from_frame, facilities_from_osm
    from network.features import read_osm_features

    keys = sorted({k for c in profile.categories for rule in c.osm_tags for k in rule.keys} | {"name"})
    found = facilities_from_osm(read_osm_features(path, tag_keys=keys), profile)
    if found.empty:
        raise CirclesError(
            f"{path}: no facilities given and none tagged in the OSM file by the profile's rules (OSM in China has "
            "almost none); give the civil-affairs ledger with --facilities FILE (template: circles/data/templates/)")
    return ledger_from_frame(found.drop(columns="geometry", errors="ignore"), source_name=f"{path.name} (OSM tags)",
                             profile=profile, net=net, boundary=boundary)


def _spread_zones(inp: AnalysisInputs, net, boundary, shares):
    import geopandas as gpd

    from circles.demand import spread_zone_totals
    from network.features import read_buildings

    if not inp.zone_population_col:
        raise CirclesError("--population-zones needs --zone-population-col COL (the column with each zone's total)")
    zones = gpd.read_file(inp.population_zones)
    is_file = isinstance(inp.network, (str, Path)) and Path(inp.network).exists()
    buildings = read_buildings(inp.network) if is_file else None
    lines = net.edge_lines()
    roads = gpd.GeoDataFrame(geometry=lines, crs=net.crs)
    study = boundary if boundary is not None else shapely.box(*net.bbox_lonlat)
    # a zone cut by the study area keeps the share of its total that matches the share of its
    # area inside (not its whole total on the few buildings inside)
    return spread_zone_totals(zones, population_col=inp.zone_population_col, buildings=buildings, roads=roads,
                              study_area=study, age_shares=shares, partial_zones="area_share")

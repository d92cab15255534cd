"""The one analysis pipeline: `prepare` reads and checks the inputs once, `analyse` measures one area.

`circles analyze` runs ``analyse(prepare(options), area)``; `circles batch` runs `prepare` once
and, for each district, `analyse` on that district's cut of the prepared inputs (see
`Prepared.cut`), possibly on another machine; the app runs the same two calls. Nothing else
re-implements a step, so a district's figures are the same whichever command produced them.

Example
-------
>>> from circles.options import RunOptions
>>> prepared = prepare(RunOptions(sample=True))          # doctest: +SKIP
>>> result = analyse(prepared)                            # doctest: +SKIP
>>> [round(c.coverage, 3) for c in result.report.categories]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.coverage import CoverageReport, assess
from circles.errors import ExtentError, InputError, OutsideDataError
from circles.options import RunOptions

log = logging.getLogger(__name__)

__all__ = ["Area", "Prepared", "AnalysisResult", "prepare", "analyse", "reach_bbox", "SNAP_MARGIN_M"]

#: Facilities this far beyond an area's network (boundary + buffer, metres) may still snap onto
#: its edges (`circles.coverage.assess` snaps up to 200 m), so they are kept with the area.
SNAP_MARGIN_M = 250.0

Progress = Callable[[str], None]


class Stopwatch:
    """Wall seconds per stage of a run (``with watch("areas"): ...``), for benchmarks and ``-v``; never in outputs."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str):
        import contextlib
        import time

        @contextlib.contextmanager
        def timed():
            t0 = time.perf_counter()
            try:
                yield
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
                log.info("%s: %.2f s", stage, self.seconds[stage])

        return timed()


@dataclass(frozen=True, eq=False)
class Area:
    """The area one analysis counts residents in.

    Attributes
    ----------
    name
        A district's name (batch runs and per-district analyses), or None.
    geometry
        Polygon in WGS84 lon/lat; None: everything the data covers.
    """

    name: str | None = None
    geometry: shapely.Geometry | None = None


@dataclass(frozen=True, eq=False)
class Prepared:
    """The inputs of a run, read and checked once.

    Attributes
    ----------
    options
        The validated `RunOptions`.
    profile
        The service profile, with the run's overrides (minutes, speed) applied.
    source
        What `network.load_network` reads: an OSM/GraphML path, a place name, or a
        `network.RawWays` (the sample, a batch's parsed file or one district's ways).
    source_label
        The network's name in messages and summary.json.
    boundary
        The study area (WGS84) or None.
    extent
        The area the network data covers (WGS84; `network.data_extent`), or None.
    districts
        District polygons met by the data: ``name``, ``geometry`` (WGS84), ``inside_share`` (the
        share of the district's area the data covers) and ``partial`` (< 0.5), or None.
    districts_outside
        Names of the districts the data does not reach (left out, reported).
    facilities
        The checked ledger's facilities (WGS84, canonical columns).
    demand
        Demand units (WGS84 points, canonical population columns).
    notes
        Remarks for the run's outputs: estimated columns, zones placed in part, what was left out.
    record
        The summary.json ``inputs``: sources, options, what was read.
    ledger_lines
        The ledger's problems, one line each (all of them go into an analysis of the whole area).
    ledger_notes, ledger_causes
        Per district: the ledger problems of its rows, and why it cannot run (all its rows unusable).
    networks
        Networks already built for the whole data, by mode (reused by `analyse` for the whole area).
    """

    options: RunOptions
    profile: Any
    source: Any
    source_label: str
    boundary: shapely.Geometry | None
    extent: shapely.Geometry | None
    districts: gpd.GeoDataFrame | None
    districts_outside: tuple[str, ...]
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    notes: tuple[str, ...]
    record: Mapping[str, Any]
    ledger_lines: tuple[str, ...] = ()
    ledger_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ledger_causes: Mapping[str, str] = field(default_factory=dict)
    networks: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)

    def modes(self) -> list[str]:
        """The networks a run needs: the walking mode of the options and the profile's road modes."""
        modes = {t.mode for c in self.profile.categories for t in c.tiers}
        return sorted({self.options.mode if m == "walk" else m for m in modes})

    def cut(self, area: Area, *, way_index: Any = None) -> Prepared:
        """The part of these inputs `analyse` needs for `area`: small, picklable, self-contained.

        Ways within reach of the area plus the buffer (when the source is a `network.RawWays`),
        facilities within that plus `SNAP_MARGIN_M`, demand units inside the area. `analyse` on
        the cut gives exactly what it gives on the whole.
        """
        if area.geometry is None:
            return self
        source = self.source
        from network import RawWays

        if isinstance(source, RawWays):
            from circles.batch.split import extract_ways

            source = extract_ways(source, reach_bbox(area.geometry, self.options.buffer_m), index=way_index)
        mine = {area.name: self.ledger_notes[area.name]} if area.name in self.ledger_notes else {}
        districts = None
        if self.districts is not None and area.name is not None:
            districts = self.districts[self.districts["name"] == area.name].reset_index(drop=True)
        return replace(self, source=source, facilities=_facilities_near(self, area.geometry),
                       demand=_demand_inside(self.demand, area.geometry), networks={}, districts=districts,
                       ledger_lines=(), ledger_notes=mine, ledger_causes={})


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """A finished analysis: the coverage report, the networks it ran on, its drawings and its record.

    Attributes
    ----------
    report
        The `circles.coverage.CoverageReport`.
    networks
        The networks by mode (``"walk"``, ``"drive"``), as built for the area.
    service_areas
        GeoDataFrame of service areas (`circles.isochrones`), or None for a figures-only run.
    inputs
        The summary.json ``inputs`` record.
    lang
        ``"zh"`` or ``"en"``.
    notes
        Remarks (also in ``inputs["notes"]``).
    area
        The area analysed.
    districts
        The district polygons with their figures' names (``name``, ``inside_share``, ``partial``).
    suggestions
        `circles.siting.SitingResult` per category, when asked for.
    extent
        The area the network data covers (WGS84).
    added_sites
        Sites added by a scenario (`circles.scenarios.scenario_result`), as a WGS84 layer.
    write_report
        Whether `files` includes report.docx (``--no-report`` turns it off).
    """

    report: CoverageReport
    networks: Mapping[str, Any]
    service_areas: Any
    inputs: dict[str, Any]
    lang: str
    notes: tuple[str, ...] = ()
    area: Area = field(default_factory=Area)
    districts: gpd.GeoDataFrame | None = None
    suggestions: tuple = ()
    extent: shapely.Geometry | None = None
    added_sites: gpd.GeoDataFrame | None = None
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)
    write_report: bool = True  # issue 15: report.docx among the files (False with --no-report)

    @property
    def district_col(self) -> str | None:
        return "name" if self.districts is not None else None

    @property
    def walk(self):
        """The network of the walking tiers."""
        return self.networks["walk"] if "walk" in self.networks else next(iter(self.networks.values()))

    def suggestion_frame(self) -> gpd.GeoDataFrame | None:
        """All suggested (or scenario-added) sites as one WGS84 GeoDataFrame, or None."""
        if not self.suggestions:
            return self.added_sites
        return gpd.GeoDataFrame(pd.concat([r.to_geodataframe() for r in self.suggestions], ignore_index=True),
                                geometry="geometry", crs="EPSG:4326")

    def map(self):
        """The folium map of this analysis (offline when written with `circles.outputs.map.map_html`)."""
        from circles.outputs.map import analysis_map  # issue 15: streets, sites, sources (circles.outputs)

        return analysis_map(self)

    def tables(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """The districts table and the rule checks (as `circles batch` writes them), or None without districts."""
        if self.districts is None or self.report.districts is None:
            return None, None
        from circles.districts import RULE_COLUMNS, district_rows, district_table, rule_rows

        rows = district_rows(self.report, self.districts, self.lang)
        rules = pd.DataFrame(rule_rows(self.report, self.lang), columns=list(RULE_COLUMNS))
        return district_table(rows, self.report.profile), rules

    def files(self) -> dict[str, bytes]:
        """Every output of `circles analyze` as bytes by file name (map.html unless figures-only, report.docx
        unless ``--no-report``)."""
        from circles.outputs import result_files  # issue 15: map, workbook sheets, report.docx (circles.outputs)

        return result_files(self)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write every output of `circles analyze` into `out_dir`: the folder then holds exactly these files."""
        from circles.outputs import write_run

        return write_run(out_dir, self.files())


# ============================================================================ prepare
def prepare(options: RunOptions, *, boundary: shapely.Geometry | None = None,
            districts: gpd.GeoDataFrame | None = None, progress: Progress | None = None,
            parse_once: bool = False) -> Prepared:
    """Read and check every input of a run once.

    Parameters
    ----------
    options
        The run's options (validated here).
    boundary
        A study-area polygon (WGS84) given in memory; default: read ``options.boundary``.
    districts
        District polygons given in memory (a GeoDataFrame with a CRS and the
        ``options.district_col`` column); default: read ``options.districts``.
    progress
        Called with one line per step (e.g. ``click.echo``); default: the log.
    parse_once
        Parse an OSM file into memory (`network.RawWays`) so that `Prepared.cut` can hand each
        district its own ways (batch runs). Otherwise the path is kept and networks come from
        `network.load_network`'s cache.

    Returns
    -------
    Prepared

    Raises
    ------
    circles.errors.CirclesError, network.errors.NetworkError
        One line naming the input, the bad value and the fix, before any long work.
    """
    from circles.profiles import load_profile

    opts = options.validated(districts_given=districts is not None)
    say = progress or log.info
    watch = Stopwatch()
    profile = load_profile(opts.profile)
    if opts.minutes is not None or opts.speed_kmh is not None:
        profile = profile.with_overrides(minutes=opts.minutes, speed_kmh=opts.speed_kmh)
    if opts.categories:
        for c in opts.categories:
            profile.category(c)  # unknown ids: one line listing the valid ones

    sample = None
    if opts.sample:
        from circles.sample import SAMPLE_LABEL, make_sample

        say(f"sample district {SAMPLE_LABEL}")
        sample = make_sample()
        source, label = sample.ways, "sample"
    else:
        source, label = _network_source(opts.network, parse_once, say)

    if boundary is None and opts.boundary:
        from circles.inputs import read_boundary

        boundary = read_boundary(opts.boundary)
    if boundary is None and sample is not None:
        boundary = sample.boundary

    from network import load_network

    walk_mode = opts.mode
    say(f"network ({walk_mode}) from {label} ...")
    with watch("read"):
        whole = load_network(source, mode=walk_mode)
    networks = {"walk": whole}
    extent_box: list[shapely.Geometry] = []

    def extent() -> shapely.Geometry:
        """The data's extent, drawn once, and only when something needs it (districts, zones, coordinates)."""
        if not extent_box:
            with watch("extent"):
                extent_box.append(_extent(whole))
        return extent_box[0]

    frame = districts if districts is not None else opts.districts
    col = opts.district_col
    if frame is None and sample is not None:
        frame, col = sample.districts, col or "street"
    district_table, outside = (None, ())
    if frame is not None:
        from circles.districts import clip_districts
        from circles.inputs import read_districts

        named = read_districts(frame, col)
        district_table, outside = clip_districts(named, extent())
        say(f"districts: {len(district_table)} reached by the data"
            + (f", {len(outside)} outside it left out" if outside else ""))

    notes: list[str] = []
    with watch("ledger"):
        facilities, ledger_lines, ledger_notes, ledger_causes, coords, evidence = _facilities(
            opts, profile, whole, extent, boundary, sample, district_table, say)
    if evidence is not None:
        notes.append(f"coordinates read as {evidence.decided} (not given; decided from the OSM data: "
                     f"{evidence.describe('en')}) 台账坐标系由数据判断")
    with watch("demand"):
        demand = _demand(opts, profile, whole, extent, boundary, sample, col, notes, say)
    if outside:
        shown = "、".join(outside[:10]) + (" …" if len(outside) > 10 else "")
        notes.append(f"{len(outside)} districts lie outside the data and are left out 数据范围外的分区未统计: {shown}")

    record = {
        "network": label, "mode": opts.mode, "boundary": opts.boundary or ("sample" if sample else None),
        "buffer_m": opts.buffer_m, "facilities": opts.facilities or ("sample" if sample else _osm_label(opts)),
        "coords": coords, "coords_given": opts.coords is not None,
        "coords_evidence": evidence.record() if evidence is not None else None,
        "population": opts.population or opts.population_zones or ("sample" if sample else None),
        "districts": opts.districts or ("sample" if sample and districts is None else None),
        "district_col": col, "districts_outside": list(outside), "profile": profile.id,
        "minutes": opts.minutes, "speed_kmh": opts.speed_kmh, "horizon_min": opts.horizon_min, "lang": opts.lang,
    }
    if sample is not None:
        record["sample_label"] = sample.label
    return Prepared(options=opts, profile=profile, source=source, source_label=label, boundary=boundary,
                    extent=extent_box[0] if extent_box else None, districts=district_table,
                    districts_outside=tuple(outside),
                    facilities=facilities, demand=demand, notes=tuple(notes), record=record,
                    ledger_lines=ledger_lines, ledger_notes=ledger_notes, ledger_causes=ledger_causes,
                    networks=networks, timings=watch.seconds)


def _network_source(network: str | None, parse_once: bool, say: Progress) -> tuple[Any, str]:
    """The network argument: kept as a path (cached loads), or parsed once into memory (batch)."""
    if not parse_once:
        return network, str(network)
    from network import is_osm_path, read_highway_ways

    path = Path(str(network))
    if not is_osm_path(path):
        raise InputError(f"--network {network}: batch runs need an OSM file (.osm, .osm.gz, .osm.bz2, .osm.pbf), "
                         "parsed once for all districts; GraphML files and place names are not supported")
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path of the OSM file")
    import time

    t = time.perf_counter()
    ways = read_highway_ways(path)
    if ways.n_ways == 0:
        raise InputError(f"{path}: the file has no highway ways; use an extract that includes streets")
    say(f"network: {ways.n_ways:,} highway ways, {len(ways.node_id):,} nodes from {path} "
        f"({time.perf_counter() - t:.1f} s, read once)")
    return ways, str(path)


def _extent(net) -> shapely.Geometry | None:
    """The area the network data covers (WGS84): its streets closed up, cut to the file's declared bounds."""
    from network import data_extent

    return data_extent(net)


def _osm_label(opts: RunOptions) -> str | None:
    return f"{Path(opts.network).name} (OSM tags)" if opts.network and Path(opts.network).exists() else None


def _facilities(opts: RunOptions, profile, net, extent, boundary, sample, districts, say: Progress):
    """The checked facilities: the ledger, the sample's, or those tagged in the OSM file."""
    from circles.facilities import ledger_from_frame, read_ledger_table

    coords, evidence = opts.coords or "wgs84", None
    if opts.facilities:
        path = Path(opts.facilities)
        if not path.exists():
            raise InputError(f"{path}: facility ledger not found; check the path (CSV/XLSX/GeoJSON/GPKG/SHP)")
        table, first_row = read_ledger_table(path)
        if opts.coords is None:
            coords, evidence = _decide_coords(opts, table, first_row, path.name, profile, net, extent, say)
        ledger = ledger_from_frame(table, source_name=path.name, coords=coords, profile=profile, net=net,
                                   boundary=boundary, first_row=first_row)
    elif sample is not None:
        table, first_row, coords = sample.facilities, 2, "wgs84"
        ledger = ledger_from_frame(table, source_name="sample facilities (示例数据)", coords="wgs84", profile=profile,
                                   net=net, boundary=boundary)
    elif opts.network and Path(opts.network).exists():
        table, first_row, coords = None, 2, "wgs84"
        ledger = _osm_facilities(Path(opts.network), profile, net, boundary)
    else:
        raise InputError("no facilities: give --facilities FILE (a ledger; see circles/data/templates/)")
    lines = tuple(p.describe(ledger.source) for p in ledger.report.warnings)
    say(f"facilities: {len(ledger.facilities)} from {ledger.source}")
    notes, causes = {}, {}
    if districts is not None and table is not None:
        from circles.districts import ledger_by_district

        notes, causes = ledger_by_district(ledger, table, first_row, districts)
    return ledger.facilities, lines, notes, causes, coords, evidence


def _decide_coords(opts: RunOptions, table, first_row: int, source: str, profile, net, extent, say: Progress):
    """The ledger's coordinate system when ``--coords`` is not given: WGS84 outside China, else from evidence.

    Stops with a one-line error asking for ``--coords`` (and showing the evidence) when the OSM
    data does not tell the systems apart clearly (`circles.coordsys`).
    """
    from circles.coords import in_china
    from circles.coordsys import LABELS, coords_evidence
    from circles.facilities import ledger_from_frame

    raw = ledger_from_frame(table, source_name=source, coords="wgs84", profile=profile, first_row=first_row)
    fac = raw.facilities
    lon, lat = fac["lon"].to_numpy(float), fac["lat"].to_numpy(float)
    if len(fac) == 0 or not np.any(in_china(lon, lat)):
        return "wgs84", None
    places = None
    if opts.network and Path(opts.network).is_file():
        from network.features import read_osm_features

        feats = read_osm_features(opts.network, tag_keys=("name", "building", "amenity", "shop", "office"))
        places = feats[feats["name"].notna()] if "name" in feats else None
    names = fac["name"].tolist() if "name" in fac else None
    evidence = coords_evidence(lon, lat, net=net, extent=extent(), places=places, names=names)
    if evidence.decided is None:
        from circles.errors import CoordsUndecidedError

        raise CoordsUndecidedError(
            f"{source}: the coordinate system of the ledger cannot be told from the data ({evidence.describe('en')}); "
            "give --coords wgs84|gcj02|bd09 (Amap/Tencent 高德/腾讯: gcj02, Baidu 百度: bd09, GPS/OSM/天地图: wgs84)",
            evidence)
    say(f"coordinates 坐标系: {LABELS[evidence.decided]}, decided from the OSM data ({evidence.describe('en')})")
    return evidence.decided, evidence


def _osm_facilities(path: Path, profile, net, boundary):
    """The fallback when no ledger is given: facilities tagged in the same OSM file, by the profile's rules."""
    from circles.facilities import facilities_from_osm, ledger_from_frame
    from network.features import read_osm_features

    keys = sorted({k for c in profile.categories for rule in c.osm_tags for k in rule.keys} | {"name"})
    found = facilities_from_osm(read_osm_features(path, tag_keys=keys), profile)
    if found.empty:
        raise InputError(
            f"{path}: no facilities given and none tagged in the OSM file by the profile's rules (OSM in China has "
            "almost none); give the civil-affairs ledger with --facilities FILE (template: circles/data/templates/)")
    return ledger_from_frame(found.drop(columns="geometry", errors="ignore"), source_name=f"{path.name} (OSM tags)",
                             profile=profile, net=net, boundary=boundary)


def _demand(opts: RunOptions, profile, net, extent, boundary, sample, district_col, notes: list[str],
            say: Progress) -> gpd.GeoDataFrame:
    """Demand units: a population file, zone totals spread onto the data, or the sample's."""
    from circles.demand import demand_from_frame, read_population

    shares = dict(profile.age_shares) if profile.age_shares else None
    if opts.population:
        demand = read_population(opts.population, age_shares=shares)
    elif opts.population_zones:
        demand = _spread_zones(opts, net, extent, boundary, district_col, shares, say)
    elif sample is not None:
        demand = demand_from_frame(sample.population, source_name="sample population (示例数据)", age_shares=shares)
    else:
        raise InputError("no population: give --population FILE or --population-zones FILE --zone-population-col COL")
    notes.extend(demand.notes)
    say(f"demand units: {len(demand.units):,} from {demand.source}")
    return demand.units


def _spread_zones(opts: RunOptions, net, extent, boundary, district_col, shares, say: Progress):
    """Zone totals spread once over the data: each zone's covered share, onto its buildings, else its roads."""
    from circles.inputs import read_vector
    from circles.demand import spread_zone_totals
    from network import RawWays

    zones = read_vector(opts.population_zones, what="population zones")
    extent = extent()
    zones = zones[zones.to_crs("EPSG:4326").intersects(extent)]  # a city's or province's file: the zones with data
    if boundary is not None:
        zones = zones[zones.to_crs("EPSG:4326").intersects(boundary)]
    from circles.districts import zone_name_columns

    id_cols = zone_name_columns(zones, district_col)  # zones are named in notes and access.csv, never numbered
    buildings = None
    if opts.network and not isinstance(opts.network, RawWays) and Path(opts.network).exists():
        from network.features import read_buildings

        buildings = read_buildings(opts.network)
    roads = gpd.GeoDataFrame(geometry=net.edge_lines(), crs=net.crs)
    say(f"population: spreading zone totals of {Path(opts.population_zones).name} onto "
        f"{'buildings and roads' if buildings is not None else 'roads'}")
    return spread_zone_totals(zones, population_col=opts.zone_population_col, buildings=buildings, roads=roads,
                              zone_id_col=id_cols, study_area=extent, age_shares=shares, partial_zones="area_share")


# ============================================================================ analyse
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
    facilities = _facilities_near(prepared, geom)
    demand = _demand_inside(prepared.demand, geom)
    left_out = len(prepared.demand) - len(demand)
    if len(demand) == 0:
        raise ExtentError(f"no resident (demand unit) inside {_area_name(area)}; check that the population "
                          "file covers it")
    districts, district_col = _area_districts(prepared, area)
    with watch("assess"):
        report = assess(nets, facilities, demand, profile=prepared.profile, boundary=geom, districts=districts,
                        district_col=district_col, horizon_min=opts.horizon_min, plain_speed_kmh=opts.speed_kmh)

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
    areas = None
    if not opts.figures_only:
        from circles.isochrones import drawing_record, report_service_areas

        say("service areas ...")
        with watch("areas"):
            areas = report_service_areas(report, nets)
        record["service_areas"] = drawing_record(areas)
    with watch("suggest"):
        suggestions = _suggest(prepared, report, nets, geom, say)
    if suggestions:
        record.update(suggest=opts.suggest, target_coverage=opts.target_coverage, budget=opts.budget,
                      capacitated=opts.capacitated, candidates=opts.candidates or "generated in gaps",
                      time_limit_s=opts.time_limit_s)
    return AnalysisResult(report=report, networks=nets, service_areas=areas, inputs=record, lang=opts.lang,
                          notes=tuple(notes), area=area, districts=districts, suggestions=tuple(suggestions),
                          extent=prepared.extent, timings={**prepared.timings, **watch.seconds},
                          write_report=not opts.no_report)  # issue 15


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
            nets[key] = load_network(prepared.source, mode=m, boundary=geom, buffer_m=opts.buffer_m)
        except OutsideDataError:
            raise ExtentError(f"no {m} ways of {prepared.source_label} within {opts.buffer_m:,.0f} m of the area: "
                              "the network file does not cover it; use an extract that does") from None
    return nets


def reach_bbox(geom: shapely.Geometry, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box that surely contains `geom` buffered by `metres` (with a safety margin)."""
    minx, miny, maxx, maxy = geom.bounds
    pad = metres * 1.05 + 50.0
    dlat = pad / 110_540.0  # the shortest degree of latitude, at the equator
    lat_far = min(max(abs(miny), abs(maxy)) + dlat, 89.0)
    dlon = pad / (111_320.0 * math.cos(math.radians(lat_far)))
    return minx - dlon, miny - dlat, maxx + dlon, maxy + dlat


def _facilities_near(prepared: Prepared, geom) -> gpd.GeoDataFrame:
    """Facilities that can serve the area: within its buffered box plus the snapping margin."""
    fac = prepared.facilities
    if geom is None or len(fac) == 0:
        return fac.reset_index(drop=True)
    b = reach_bbox(geom, prepared.options.buffer_m + SNAP_MARGIN_M)
    lon, lat = fac["lon"].to_numpy(float), fac["lat"].to_numpy(float)
    keep = (lon >= b[0]) & (lon <= b[2]) & (lat >= b[1]) & (lat <= b[3])
    return fac[keep].reset_index(drop=True)


def _demand_inside(demand: gpd.GeoDataFrame, geom) -> gpd.GeoDataFrame:
    """Demand units inside the area (all of them without an area), in their order."""
    if geom is None or len(demand) == 0:
        return demand.reset_index(drop=True)
    inside = shapely.contains_xy(geom, demand["lon"].to_numpy(float), demand["lat"].to_numpy(float))
    return demand[inside].reset_index(drop=True)


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
    results = []
    for cat in wanted:
        mode = profile.category(cat).tiers[-1].mode
        net = nets["walk"] if mode in ("walk", "bike") else nets[mode]
        say(f"suggesting sites for {cat} ...")
        results.append(suggest_sites(report, net, candidates, category=cat, n_sites=opts.suggest,
                                     target_coverage=opts.target_coverage, budget=opts.budget,
                                     capacitated=opts.capacitated, time_limit_s=opts.time_limit_s))
    return results

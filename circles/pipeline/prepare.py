"""`prepare`: every input of a run read and checked once — profile, network, districts, ledger, demand."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from circles.errors import InputError
from circles.options import RunOptions
from circles.pipeline.model import Prepared, Progress, Stopwatch, data_extent_of

log = logging.getLogger("circles.pipeline")

__all__ = ["prepare"]


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
        whole = load_network(source, mode=walk_mode, **profile.network_options(walk_mode))  # profile speeds
    networks = {"walk": whole}
    extent_box: list[shapely.Geometry] = []

    def extent() -> shapely.Geometry:
        """The data's extent, drawn once, and only when something needs it (districts, zones, coordinates)."""
        if not extent_box:
            with watch("extent"):
                extent_box.append(data_extent_of(whole, opts.network))
        return extent_box[0]

    frame = districts if districts is not None else opts.districts
    col = opts.district_col
    if frame is None and sample is not None:
        frame, col = sample.districts, col or "street"
    district_table, outside = (None, ())
    if frame is not None:
        from circles.districts import districts_in_data

        district_table, outside = districts_in_data(frame, col, extent(), label=str(opts.districts or "districts"))
        say(f"districts: {len(district_table)} reached by the data"
            + (f", {len(outside)} outside it left out" if outside else ""))

    notes: list[str] = []
    with watch("ledger"):
        facilities, ledger_lines, ledger_notes, ledger_causes, coords, evidence, ledger_dropped = _facilities(
            opts, profile, whole, extent, boundary, sample, district_table, say)
    if evidence is not None:
        notes.append(f"coordinates read as {evidence.decided} (not given; decided from the OSM data: "
                     f"{evidence.describe('en')}) 台账坐标系由数据判断")
    with watch("demand"):
        demand_read = _demand(opts, profile, whole, extent, boundary, sample, col, notes, say)
    demand = demand_read.units
    zones = demand_read.zones
    dropped = {"facilities": ledger_dropped, "population": tuple(demand_read.dropped)}
    _report_dropped(opts, dropped, outside, say)
    if outside:
        shown = "、".join(outside[:10]) + (" …" if len(outside) > 10 else "")
        notes.append(f"{len(outside)} districts lie outside the data and are left out 数据范围外的分区未统计: {shown}")

    record = {
        "network": label, "mode": opts.mode,
        "population_source": _population_source(opts, sample), "boundary": opts.boundary or ("sample" if sample else None),
        "buffer_m": opts.buffer_m, "facilities": opts.facilities or ("sample" if sample else _osm_label(opts)),
        "coords": coords, "coords_given": opts.coords is not None,
        "coords_evidence": evidence.record() if evidence is not None else None,
        "population": opts.population or opts.population_zones or ("sample" if sample else None),
        "districts": opts.districts or ("sample" if sample and districts is None else None),
        "district_col": col, "districts_outside": list(outside),
        "facilities_dropped": [d.to_dict() for d in dropped["facilities"]],
        "population_dropped": [d.to_dict() for d in dropped["population"]],
        "profile": profile.id,
        "minutes": opts.minutes, "speed_kmh": opts.speed_kmh, "horizon_min": opts.horizon_min, "lang": opts.lang,
    }
    if zones is not None:
        record["population_zones"] = zones.to_dict("records")
        record["population_outside"] = int(zones["outside"].sum())
        record["population_density_cap"] = {"max_people_per_m2_floor": profile.max_people_per_m2_floor,
                                            "source": profile.max_people_per_m2_source,
                                            "moved": int(zones["moved_by_cap"].sum())}
    if sample is not None:
        record["sample_label"] = sample.label
    return Prepared(options=opts, profile=profile, source=source, source_label=label, boundary=boundary,
                    extent=extent_box[0] if extent_box else None, districts=district_table,
                    districts_outside=tuple(outside),
                    facilities=facilities, demand=demand, notes=tuple(notes), record=record,
                    ledger_lines=ledger_lines, ledger_notes=ledger_notes, ledger_causes=ledger_causes,
                    networks=networks, timings=watch.seconds)


def _population_source(opts: RunOptions, sample: Any) -> str | None:
    """Where the population figures come from, for summary.json and the map's attribution."""
    if opts.population_source:
        return opts.population_source
    if sample is not None and not (opts.population or opts.population_zones):
        return "示例数据 synthetic sample"
    path = opts.population or opts.population_zones
    if path is None:
        return None
    name = Path(path).name
    if "worldpop" in name.lower():
        return f"WorldPop-derived population (CC BY 4.0), {name}"
    return name


def _report_dropped(opts: RunOptions, dropped: Mapping[str, tuple], outside: Sequence[str], say: Progress) -> None:
    """Rows not used, said in one line per input; with --strict, an error before any work."""
    from circles.inputs import format_dropped

    lines = []
    for what, rows in dropped.items():
        source = Path(getattr(opts, what) or getattr(opts, "population_zones", None) or what).name
        if rows:
            lines.append(format_dropped(rows, lang=opts.lang, source=source))
    if outside:
        lines.append(f"{len(outside)} 个分区在数据范围外：" + "、".join(outside[:10]) if opts.lang == "zh" else
                     f"{len(outside)} districts outside the data: " + ", ".join(outside[:10]))
    for line in lines:
        say(line)
    if opts.strict and lines:
        raise InputError(f"--strict: {lines[0]}{' (and more)' if len(lines) > 1 else ''}; fix the inputs or run "
                         "without --strict")


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
        ledger = ledger_from_frame(table, source_name=path.name, coords=coords, profile=profile, net=net,
                                   boundary=boundary, first_row=first_row)
        if opts.coords is None:  # read as WGS84 first: outside China that is the answer, with one reading
            coords, evidence = _decide_coords(opts, ledger, path.name, net, extent, say)
            if coords != "wgs84":
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
    return ledger.facilities, lines, notes, causes, coords, evidence, tuple(getattr(ledger, "dropped", ()))


def _decide_coords(opts: RunOptions, raw, source: str, net, extent, say: Progress):
    """The ledger's coordinate system when ``--coords`` is not given: WGS84 outside China, else from evidence.

    Stops with a one-line error asking for ``--coords`` (and showing the evidence) when the OSM
    data does not tell the systems apart clearly (`circles.coordsys`).
    """
    from circles.coords import in_china
    from circles.coordsys import LABELS, coords_evidence

    fac = raw.facilities  # the ledger read as WGS84: its numbers as given
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
        demand = _spread_zones(opts, profile, net, extent, boundary, district_col, shares, say)
    elif sample is not None:
        demand = demand_from_frame(sample.population, source_name="sample population (示例数据)", age_shares=shares)
    else:
        raise InputError("no population: give --population FILE or --population-zones FILE --zone-population-col COL")
    notes.extend(demand.notes)
    say(f"demand units: {len(demand.units):,} from {demand.source}")
    if demand.zones is not None:
        outside = demand.zones[demand.zones["outside"] > 0].sort_values("outside", ascending=False)
        if len(outside):
            shown = "; ".join(f"{r.zone} {r.outside:,} ({r.inside_share:.0%} inside)" for r in outside.head(8).itertuples())
            say(f"population outside the data 数据范围外的人口 (not placed, by zone): {int(outside['outside'].sum()):,} — "
                f"{shown}{' …' if len(outside) > 8 else ''}")
        moved = int(demand.zones["moved_by_cap"].sum())
        if moved:
            say(f"population above the buildings' density cap moved onto streets 超出建筑密度上限、改按道路分配: {moved:,}")
    return demand


def _spread_zones(opts: RunOptions, profile, net, extent, boundary, district_col, shares, say: Progress):
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
                              zone_id_col=id_cols, study_area=extent, age_shares=shares, partial_zones="area_share",
                              max_people_per_m2=profile.max_people_per_m2_floor)



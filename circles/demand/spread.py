"""Zone totals (街道/乡镇 populations) spread onto residential buildings, else road length.

`spread_zone_totals` works zone by zone: the part of the zone inside the study area
(`_covered_parts`), the units of that part (`_zone_units`: buildings, else roads) and the
apportionment of the zone's total and age groups onto them, keeping every total exact.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from circles.demand.apportion import apportion, apportion_ages, zone_age_totals
from circles.demand.buildings import check_levels_table, finish_units, metric_crs, prepare_buildings
from circles.demand.groups import estimated_column
from circles.demand.model import AGE_COLUMNS, ZONE_COLUMNS, Demand
from circles.demand.values import (
    age_note,
    check_age_shares,
    check_gdf,
    clean_text,
    fmt_number,
    list_columns,
    parse_numbers,
    problem_message,
    resolve_columns,
)
from circles.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["capped_shares", "spread_zone_totals"]

_MAX_NAMED = 20  # zones named in one note
PARTIAL_ZONES = ("whole_total", "area_share")


def spread_zone_totals(
    zones: gpd.GeoDataFrame,
    *,
    population_col: str,
    buildings: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | Any = None,
    zone_id_col: str | Sequence[str] | None = None,
    study_area: Any = None,
    partial_zones: str = "whole_total",
    age_shares: Mapping[str, float] | None = None,
    default_levels: Mapping[str, float] | None = None,
    source_name: str | None = None,
    max_people_per_m2: float | None = None,
) -> Demand:
    """Spread each zone's population total onto its residential buildings, else its roads.

    For every zone (a 街道/乡镇 or any polygon with a total) that meets the study area:

    1. The **covered part** is the zone ∩ `study_area` (the whole zone without a study area).
       By default (``partial_zones="whole_total"``) the zone's whole total is assigned to that
       part — an extract that shows a fifth of a street still receives the street's full
       population — and a note says so with the covered share of the zone's area. With
       ``partial_zones="area_share"`` the part gets the total × its share of the zone's area
       instead (people assumed evenly spread over the zone).
    2. **Buildings** whose representative point lies in the covered part, weighted by floor
       area = footprint (m², in a local metric CRS) × storeys. Storeys come from the
       ``levels`` column (as `network.features.read_buildings` returns it), else from
       `DEFAULT_LEVELS` by building type. Only residential types (the keys of
       `DEFAULT_LEVELS` except ``yes``) get residents; ``building=yes`` is used only where
       the zone has no residential-tagged building.
    3. Otherwise **roads**: each road line is clipped to the covered part and each piece
       becomes a unit at its midpoint, weighted by its length (m). Identical lines (the two
       directions of a street) count once. Pass the walking network (a `CompactNetwork`)
       or any GeoDataFrame of its edges.
    4. Otherwise the zone's people cannot be placed: a note names the zone and its total.

    With `max_people_per_m2`, no building receives more than its floor area × that density:
    what would exceed it goes onto the zone's roads in the covered part (else stays unplaced),
    and `Demand.zones` says how many people the cap moved.

    Totals are kept exactly: each zone total is rounded to whole people and apportioned by
    largest remainder, so the units of a zone sum to it; the age groups (from zone columns
    named as in `ALIASES`, else from `age_shares`) are apportioned the same way within each
    zone with no unit getting more 60+ plus 0-17 residents than residents.

    Parameters
    ----------
    zones
        Polygons with a CRS and a population total per zone.
    population_col
        The column of `zones` with the totals (people).
    buildings
        Building footprints with a CRS and a ``building`` column (type); an optional
        ``levels`` column (storeys, NaN when unknown), ``osm_type``/``osm_id`` and ``name``.
    roads
        Road lines (LineString/MultiLineString) with a CRS: where to put the people of zones
        without buildings. A `network.compact.CompactNetwork` is accepted too: its
        ``edge_lines()`` in ``crs`` are used (the walkable network, each street once).
    zone_id_col
        Column(s) that identify a zone, joined with ``/`` (e.g. ``["county", "street"]``:
        street names repeat across Beijing's districts); default the index. The ids must be
        unique; they become the ``district`` column.
    study_area
        The area covered by data: a shapely (Multi)Polygon in WGS84 lon/lat, or a GeoSeries /
        GeoDataFrame with a CRS (its union is used). Zones outside it are skipped (noted).
    partial_zones
        ``"whole_total"`` (the covered part of a zone gets the zone's whole total) or
        ``"area_share"`` (it gets the total × the covered share of the zone's area).
    age_shares
        Shares for age groups the zones do not give; default `CENSUS_2020_AGE_SHARES`.
    default_levels
        Overrides of `DEFAULT_LEVELS` (storeys by building type; a new key adds a residential
        type), e.g. ``{"residential": 3}`` for a county town.
    source_name
        For `Demand.source`; default a description of the spreading.
    max_people_per_m2
        The most residents per m² of floor area one building may receive (e.g. 0.1: 10 m² per
        person); None: no cap.

    Returns
    -------
    Demand
        One unit per populated building or road piece, with ``district`` (the zone id),
        ``basis`` (``"building"`` or ``"road"``), ``floor_area_m2`` and ``road_length_m``
        (NaN where not applicable); ints throughout. ``zones`` has one row per zone met by the
        study area (`circles.demand.model.ZONE_COLUMNS`).

    Raises
    ------
    InputError
        When inputs lack a CRS or a needed column, totals are negative or not numbers, or
        zone ids repeat.

    Examples
    --------
    >>> streets = gpd.read_file("beijing_streets_worldpop.gpkg")  # doctest: +SKIP
    >>> demand = spread_zone_totals(streets, population_col="population",
    ...                             zone_id_col=["county", "street"], buildings=buildings,
    ...                             roads=net, study_area=box)  # doctest: +SKIP
    """
    shares = check_age_shares(age_shares)
    levels_table = check_levels_table(default_levels)
    if partial_zones not in PARTIAL_ZONES:
        raise InputError(f"partial_zones {partial_zones!r} is not valid; use 'whole_total' or 'area_share'")
    check_gdf(zones, "zones")
    if population_col not in zones.columns:
        raise InputError(
            f"zones: no column {population_col!r} among {list_columns(zones)}; choose the column with each zone's "
            "population total (--zone-population-col)"
        )
    zone_ids = _zone_ids(zones, zone_id_col)
    figures = _zone_figures(zones, population_col, zone_ids)
    buildings, roads = _check_sources(buildings, roads)
    area = _study_area(study_area)
    metric = metric_crs([g for g in (zones, buildings, roads) if g is not None], area)
    parts = _covered_parts(zones, area, metric)

    notes: list[str] = []
    n_outside = int((~parts.inside).sum())
    if n_outside:
        notes.append(f"{n_outside} of {len(zones)} zones lie outside the study area and were left out")
    b = prepare_buildings(buildings, metric, levels_table) if buildings is not None else None
    r = _prepare_roads(roads, metric) if roads is not None else None
    b_zone = _assign_points(b["point"], parts.covered, parts.inside) if b is not None else None

    pieces: list[pd.DataFrame] = []
    unplaced: list[str] = []
    rows: list[dict[str, Any]] = []
    for z in np.flatnonzero(parts.inside):
        zid = zone_ids[z]
        total, zone_age_values = _zone_share(z, zid, figures, parts, partial_zones=partial_zones,
                                             partial=area is not None, notes=notes)
        in_zone = None if b_zone is None else np.flatnonzero(b_zone == z)
        units, moved, left = _zone_units(zid, total, parts.covered[z], b, in_zone, r, max_people_per_m2,
                                         notes=notes)
        placed = total - left
        rows.append(_zone_row(zid, figures.totals[z], parts, z, placed, units, moved, left))
        if units is None:
            unplaced.append(f"{zid!r} ({total:,} people)")
            continue
        if left:
            unplaced.append(f"{zid!r} ({left:,} of {total:,} people above the buildings' density cap)")
        units["district"] = zid
        units["population"] = apportion(placed, units["weight"].to_numpy())
        age_totals = zone_age_totals(placed, {a: v * placed / total if total else v
                                              for a, v in zone_age_values.items()}, shares)
        units["pop_60plus"], units["pop_0_17"] = apportion_ages(units["population"].to_numpy(), age_totals)
        for age in AGE_COLUMNS:  # from the profile's shares where the zone does not give the group
            units[estimated_column(age)] = not np.isfinite(zone_age_values.get(age, np.nan))
        pieces.append(units)

    notes = _spread_notes(notes, pieces, unplaced, figures, parts, population_col=population_col, shares=shares,
                          age_shares=age_shares)
    units = finish_units(pieces, metric, with_district=True)
    log.info("spread %d zone totals onto %d units (%d zones unplaced)", int(parts.inside.sum()), len(units),
             len(unplaced))
    zone_table = pd.DataFrame(rows, columns=list(ZONE_COLUMNS))
    return Demand(
        units=units,
        notes=tuple(notes),
        source=source_name or f"zone totals '{population_col}' spread onto buildings and roads",
        zones=zone_table,
    )


def _zone_row(zid: str, given: int, parts: _CoveredParts, z: int, placed: int, units: pd.DataFrame | None,
              moved: int, left: int) -> dict[str, Any]:
    """One row of `Demand.zones`: where a zone's people went."""
    share = min(parts.covered_area[z] / parts.zone_area[z], 1.0) if parts.zone_area[z] > 0 else 1.0
    on_roads = 0
    if units is not None and placed:
        weights = units["weight"].to_numpy(float)
        road = (units["basis"] == "road").to_numpy()
        on_roads = int(round(placed * weights[road].sum() / weights.sum())) if weights.sum() > 0 else 0
    unplaced = placed if units is None else left
    placed = 0 if units is None else placed
    return {"zone": zid, "total": int(given), "inside_share": round(float(share), 4), "placed": int(placed),
            "on_buildings": int(placed - on_roads), "on_roads": int(on_roads),
            "outside": int(given) - int(placed) - int(unplaced), "moved_by_cap": int(moved),
            "unplaced": int(unplaced)}


def capped_shares(weights: np.ndarray, caps: np.ndarray, total: float) -> tuple[np.ndarray, float]:
    """Split `total` in proportion to `weights`, no part above its cap (water-filling).

    Returns the parts (floats) and what could not be placed under the caps (0 when the caps
    hold the total).

    >>> parts, rest = capped_shares(np.array([1.0, 1.0]), np.array([1.0, 10.0]), 6.0)
    >>> parts.tolist(), rest
    ([1.0, 5.0], 0.0)
    """
    weights = np.asarray(weights, dtype=float)
    caps = np.asarray(caps, dtype=float)
    parts = np.zeros(len(weights))
    free = weights > 0
    remaining = float(total)
    while free.any() and remaining > 1e-9:
        share = remaining * weights[free] / weights[free].sum()
        idx = np.flatnonzero(free)
        over = share > caps[idx]
        if not over.any():
            parts[idx] = share
            remaining = 0.0
            break
        parts[idx[over]] = caps[idx[over]]
        remaining -= float(caps[idx[over]].sum())
        free[idx[over]] = False
    return parts, max(remaining, 0.0)


@dataclass(frozen=True)
class _ZoneFigures:
    """Each zone's total as given, rounded to whole people, and its age columns (NaN where blank)."""

    raw_totals: np.ndarray
    totals: np.ndarray
    ages: dict[str, np.ndarray]
    age_cols: dict[str, str]


@dataclass(frozen=True)
class _CoveredParts:
    """Each zone's part inside the study area (metric CRS), its area and the zone's, and which zones meet it."""

    covered: np.ndarray
    covered_area: np.ndarray
    zone_area: np.ndarray
    inside: np.ndarray


def _zone_figures(zones: gpd.GeoDataFrame, population_col: str, zone_ids: np.ndarray) -> _ZoneFigures:
    """The zones' totals and age columns; every bad value gathered into one `InputError`."""
    problems: list[str] = []

    def where(i: int) -> str:
        return f"zone {zone_ids[i]!r}"

    raw_totals = parse_numbers(zones[population_col], population_col, where, problems, blank_ok=False)
    age_cols = resolve_columns(zones, "zones", only=AGE_COLUMNS)
    ages = {age: parse_numbers(zones[col], col, where, problems, blank_ok=True) for age, col in age_cols.items()}
    for age, values in ages.items():
        for i in np.flatnonzero(values > raw_totals):
            problems.append(
                f"{where(i)} column '{age_cols[age]}': {fmt_number(values[i])} is more than the total "
                f"{fmt_number(raw_totals[i])}; check the columns"
            )
    if problems:
        raise InputError(problem_message("zones", problems))
    return _ZoneFigures(raw_totals, np.rint(raw_totals).astype(np.int64), ages, age_cols)


def _check_sources(buildings: Any, roads: Any) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """Buildings (with a CRS and a ``building`` column) and roads as a GeoDataFrame, when given."""
    if buildings is not None:
        check_gdf(buildings, "buildings")
        if "building" not in buildings.columns:
            raise InputError(
                f"buildings: no 'building' column (the building type) among {list_columns(buildings)}; "
                "read them with network.features.read_buildings"
            )
    return buildings, (_roads_frame(roads) if roads is not None else None)


def _covered_parts(zones: gpd.GeoDataFrame, area: shapely.Geometry | None, metric: pyproj.CRS) -> _CoveredParts:
    zones_m = shapely.make_valid(zones.geometry.to_crs(metric).to_numpy())
    if area is not None:
        area_m = shapely.make_valid(gpd.GeoSeries([area], crs="EPSG:4326").to_crs(metric).iloc[0])
        covered = shapely.intersection(zones_m, area_m)
    else:
        covered = zones_m
    covered_area = shapely.area(covered)
    inside = ~shapely.is_empty(covered) & (covered_area > 0)
    return _CoveredParts(covered, covered_area, shapely.area(zones_m), inside)


def _zone_share(
    z: int, zid: str, figures: _ZoneFigures, parts: _CoveredParts, *, partial_zones: str, partial: bool,
    notes: list[str],
) -> tuple[int, dict[str, float]]:
    """The total and age figures a zone's covered part gets (whole total, or its area share), noted."""
    total = int(figures.totals[z])
    zone_area = parts.zone_area[z]
    share_covered = min(parts.covered_area[z] / zone_area, 1.0) if zone_area > 0 else 1.0
    zone_age_values = {a: v[z] for a, v in figures.ages.items()}
    if partial and share_covered < 0.999:
        if partial_zones == "area_share":
            scaled = int(np.rint(figures.raw_totals[z] * share_covered))
            notes.append(
                f"zone {zid!r}: {share_covered:.1%} of its area is inside the study area; it got that share "
                f"of its total: {scaled:,} of {total:,}"
            )
            total = scaled
            zone_age_values = {a: v * share_covered for a, v in zone_age_values.items()}
        else:
            notes.append(
                f"zone {zid!r}: its total {total:,} was assigned to the {share_covered:.1%} of its area "
                "inside the study area"
            )
    return total, zone_age_values


def _zone_units(
    zid: str, total: int, part: shapely.Geometry, b: dict | None, in_zone: np.ndarray | None, r: dict | None,
    max_people_per_m2: float | None, *, notes: list[str],
) -> tuple[pd.DataFrame | None, int, int]:
    """A zone's units with their weights (people each should get), what the density cap moved, what is left.

    Residential buildings (else ``building=yes``) by floor area, each capped at floor area ×
    `max_people_per_m2`; what the caps do not hold goes onto the zone's roads (by length), or is
    left unplaced. Without buildings, the roads take everyone.
    """
    buildings = _building_units(zid, b, in_zone, notes=notes)
    rest = float(total)
    moved = 0
    if buildings is not None:
        caps = buildings["floor_area_m2"].to_numpy(float) * (max_people_per_m2 if max_people_per_m2 else np.inf)
        parts, rest = capped_shares(buildings["weight"].to_numpy(float), caps, float(total))
        buildings["weight"] = parts
        if rest < 0.5:
            return buildings, 0, 0
        moved = int(round(rest))
    roads = _road_units(r, part, zid) if r is not None else None
    if roads is not None:
        length = roads["road_length_m"].to_numpy(float)
        roads["weight"] = rest * length / length.sum()
        if buildings is None:
            notes.append(f"zone {zid!r}: no residential buildings; its people were spread along "
                         f"{length.sum() / 1000:.1f} km of road")
        else:
            notes.append(f"zone {zid!r}: {moved:,} people above the density cap of its buildings "
                         f"({1 / max_people_per_m2:g} m² per person) were spread along {length.sum() / 1000:.1f} km "
                         "of road")
        units = roads if buildings is None else pd.concat([buildings, roads], ignore_index=True)
        return units, moved, 0
    if buildings is None:
        return None, 0, int(total)
    return buildings, 0, int(round(rest))


def _building_units(zid: str, b: dict | None, in_zone: np.ndarray | None, *, notes: list[str]) -> pd.DataFrame | None:
    """A zone's residential buildings (else those tagged ``building=yes``), weighted by floor area."""
    if b is None or in_zone is None:
        return None
    res = in_zone[b["residential"][in_zone]]
    if len(res) == 0:
        res = in_zone[b["unknown"][in_zone]]
        if len(res):
            notes.append(
                f"zone {zid!r}: no residential-tagged buildings; used {len(res)} buildings tagged "
                "building=yes (type unknown)"
            )
    if len(res) == 0:
        return None
    return pd.DataFrame({
        "demand_id": [f"{zid}/{s}" for s in b["key"][res]],
        "name": b["name"][res],
        "x": shapely.get_x(b["point"][res]),
        "y": shapely.get_y(b["point"][res]),
        "weight": b["floor_area_m2"][res],
        "basis": "building",
        "floor_area_m2": b["floor_area_m2"][res],
        "road_length_m": np.nan,
    })


def _spread_notes(
    notes: list[str], pieces: list[pd.DataFrame], unplaced: list[str], figures: _ZoneFigures,
    parts: _CoveredParts, *, population_col: str, shares: Mapping[str, float],
    age_shares: Mapping[str, float] | None,
) -> list[str]:
    """The zone notes led by the summary, then unplaced zones, rounding and the age groups' origin."""
    notes = list(notes)
    if unplaced:
        shown = ", ".join(unplaced[:_MAX_NAMED])
        more = f" and {len(unplaced) - _MAX_NAMED} more" if len(unplaced) > _MAX_NAMED else ""
        notes.append(
            f"{len(unplaced)} zones have no buildings or roads in their covered area; their people could not be "
            f"placed: {shown}{more}"
        )
    n_bld = sum(1 for p in pieces if (p["basis"] == "building").any())
    notes.insert(
        0,
        f"zone totals ({population_col!r}) spread onto residential buildings (footprint m² × storeys) in "
        f"{n_bld} zones and onto road length in {len(pieces) - n_bld} zones; totals kept exactly per zone",
    )
    inside = parts.inside
    rounded = int(np.sum(figures.raw_totals[inside] != figures.totals[inside]))
    if rounded:
        notes.append(f"{rounded} zone totals were not whole numbers and were rounded to whole people")
    for age in AGE_COLUMNS if pieces else ():
        if age in figures.age_cols:
            notes.append(f"{age} taken from the zones' column {figures.age_cols[age]!r} and apportioned per zone")
        else:
            notes.append(age_note(age, len(pieces), len(pieces), shares[age], age_shares, "zones", unit_word="zones"))
    return notes


def _zone_ids(zones: gpd.GeoDataFrame, zone_id_col: str | Sequence[str] | None) -> np.ndarray:
    if zone_id_col is None:
        ids = np.array([str(v) for v in zones.index], dtype=object)
        label = "the index"
    else:
        cols = [zone_id_col] if isinstance(zone_id_col, str) else list(zone_id_col)
        missing = [c for c in cols if c not in zones.columns]
        if missing or not cols:
            raise InputError(
                f"zones: no column {missing[0] if missing else zone_id_col!r} among {list_columns(zones)}; "
                "pass zone_id_col= the zone name column(s)"
            )
        parts = [zones[c].map(lambda v: clean_text(v) or "").to_numpy(dtype=object) for c in cols]
        ids = np.array(["/".join(p) for p in zip(*parts)], dtype=object)
        label = f"column(s) {cols}"
    dup = pd.Series(ids).duplicated(keep=False)
    if dup.any():
        examples = sorted(set(ids[dup.to_numpy()]))[:3]
        raise InputError(
            f"zones: names from {label} repeat ({', '.join(repr(e) for e in examples)}); name the zones by columns "
            "that are unique together, e.g. ['county', 'street']"
        )
    return ids


def _study_area(study_area: Any) -> shapely.Geometry | None:
    if study_area is None:
        return None
    if isinstance(study_area, (gpd.GeoSeries, gpd.GeoDataFrame)):
        if study_area.crs is None:
            raise InputError("study_area: has no CRS; set one first, e.g. study_area.set_crs('EPSG:4326')")
        geom = study_area.to_crs("EPSG:4326").union_all()
    elif isinstance(study_area, shapely.Geometry):
        geom = study_area
    else:
        raise InputError(
            f"study_area: expected a shapely polygon (lon/lat) or a GeoSeries, got {type(study_area).__name__}; "
            "e.g. shapely.box(116.308, 39.991, 116.332, 40.012)"
        )
    if geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7):
        raise InputError(f"study_area: {geom.geom_type} has no area; pass a polygon of the area covered by data")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(
            f"study_area: bounds {geom.bounds} are not lon/lat degrees; pass a GeoSeries with its CRS instead"
        )
    return geom


def _assign_points(points: np.ndarray, covered: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Zone position of each point (the first zone whose covered part holds it), -1 for none."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or not inside.any():
        return out
    zone_pos = np.flatnonzero(inside)
    tree = shapely.STRtree(covered[zone_pos])
    pt_idx, z_idx = tree.query(points, predicate="intersects")
    order = np.lexsort((z_idx, pt_idx))
    pt_idx, z_idx = pt_idx[order], z_idx[order]
    first = np.unique(pt_idx, return_index=True)[1]
    out[pt_idx[first]] = zone_pos[z_idx[first]]
    return out


def _roads_frame(roads: Any) -> gpd.GeoDataFrame:
    """Road lines as a GeoDataFrame: as given, or the edges of a compact network."""
    if not isinstance(roads, gpd.GeoDataFrame) and callable(getattr(roads, "edge_lines", None)):
        if getattr(roads, "crs", None) is None:
            raise InputError("roads: the network has no crs; build it with network.load.load_network")
        return gpd.GeoDataFrame(geometry=np.asarray(roads.edge_lines()), crs=roads.crs)
    check_gdf(roads, "roads")
    return roads


def _prepare_roads(roads: gpd.GeoDataFrame, metric: pyproj.CRS) -> dict:
    lines = roads.geometry.to_crs(metric).to_numpy()
    lines = lines[np.isin(shapely.get_type_id(lines), (1, 5))]
    lines = shapely.get_parts(lines)
    lines = lines[~shapely.is_empty(lines)]
    wkb = shapely.to_wkb(shapely.normalize(lines))
    _, keep = np.unique(wkb, return_index=True)
    lines = lines[np.sort(keep)]
    return {"lines": lines, "tree": shapely.STRtree(lines)}


def _road_units(r: dict, part, zid: str) -> pd.DataFrame | None:
    hits = r["tree"].query(part, predicate="intersects")
    if len(hits) == 0:
        return None
    clipped = shapely.intersection(r["lines"][np.sort(hits)], part)
    pieces = shapely.get_parts(clipped)
    pieces = pieces[np.isin(shapely.get_type_id(pieces), (1,))]
    length = shapely.length(pieces)
    pieces, length = pieces[length > 0], length[length > 0]
    if len(pieces) == 0:
        return None
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    return pd.DataFrame({
        "demand_id": [f"{zid}/r{k + 1}" for k in range(len(pieces))],
        "name": None,
        "x": shapely.get_x(mid),
        "y": shapely.get_y(mid),
        "weight": length,
        "basis": "road",
        "floor_area_m2": np.nan,
        "road_length_m": length,
    })

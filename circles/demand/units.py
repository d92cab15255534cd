"""Population demand: units of residents with age groups, read from tables or spread from zone totals.

Every function returns a `Demand`: one row per demand unit (a 小区, a building, a stretch of
road, a gate) with the canonical columns

``demand_id`` (str, unique), ``name``, ``lon``, ``lat`` (WGS84 degrees), ``population``,
``pop_60plus``, ``pop_0_17`` (people), ``district`` (the street/zone, when known) and a Point
``geometry`` in EPSG:4326,

plus a few columns that say how a unit was made (``basis``, ``floor_area_m2`` ...). Where an
age group is not given it is estimated from shares of the population (`CENSUS_2020_AGE_SHARES`
unless the caller passes its own) and `Demand.notes` says so.

Sources of the defaults
-----------------------
- China 2020 census (第七次全国人口普查公报): people aged 60+ are 18.70 % of the population.
- NBS/UNICEF/UNFPA, 《2020年中国儿童人口状况：事实与数据》 (2023): children aged 0–17 are
  2.98 亿, 21.1 % of the population.
- 《中国人口普查年鉴-2020》: urban households' per-capita housing floor area (住房建筑面积)
  36.52 m² (Beijing 33.41 m²); `M2_PER_PERSON_DEFAULT` = 35 m² lies between the two.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from circles.errors import CirclesError

log = logging.getLogger(__name__)

AGE_COLUMNS: tuple[str, ...] = ("pop_60plus", "pop_0_17")
POPULATION_COLUMNS: tuple[str, ...] = ("population", *AGE_COLUMNS)

#: Shares of the population by age group, China 2020 census (see the module docstring).
CENSUS_2020_AGE_SHARES: Mapping[str, float] = MappingProxyType({"pop_60plus": 0.1870, "pop_0_17": 0.211})

#: Default floor area per resident (m²): 2020 census urban per-capita housing floor area 36.52 m²,
#: Beijing 33.41 m² (see the module docstring).
M2_PER_PERSON_DEFAULT = 35.0

#: Storeys assumed by building type when ``building:levels`` is missing. Every type listed here
#: except ``yes`` is residential; ``yes`` (type unknown) is used only where a zone has no
#: residential-tagged building at all. Other types (school, commercial, ...) never get residents.
DEFAULT_LEVELS: Mapping[str, float] = MappingProxyType({
    "residential": 6.0,         # typical Chinese 多层 walk-up block (6 storeys, no lift)
    "apartments": 6.0,
    "dormitory": 6.0,           # university / factory dormitories (宿舍楼)
    "house": 2.0,
    "detached": 2.0,
    "semidetached_house": 2.0,
    "terrace": 2.0,
    "farm": 2.0,                # rural self-built house (农房)
    "bungalow": 1.0,            # single-storey house (平房)
    "yes": 6.0,                 # unknown type: only relative weights within a zone matter
})

#: Column aliases (compared after `_normalize`): Chinese ledger headers and English names.
ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "demand_id": ("demand_id", "id", "编号", "小区编号", "unit_id"),
    "name": ("name", "名称", "小区名称", "小区"),
    "lon": ("lon", "lng", "x", "经度", "longitude"),
    "lat": ("lat", "y", "纬度", "latitude"),
    "population": ("population", "pop", "常住人口", "总人口", "人口", "人口数", "常住人口数"),
    "pop_60plus": (
        "pop_60plus", "60+", "60岁以上", "60岁及以上", "60岁以上人口", "60岁及以上人口",
        "老年人口", "老年人",
    ),
    "pop_0_17": (
        "pop_0_17", "0-17岁", "0～17岁", "0-17岁人口", "未成年人", "未成年人口", "儿童", "儿童人口",
    ),
    "district": ("district", "所属街道", "街道", "街道乡镇", "乡镇街道", "街乡"),
    "households": ("households", "户数", "总户数", "住户数", "家庭户数"),
})

TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # utf-8-sig also reads plain UTF-8; GB18030 is a superset of GBK
_MAX_LISTED = 5  # bad values quoted in one error message
_MAX_NAMED = 20  # zones named in one note


@dataclass(frozen=True)
class Demand:
    """Demand units and how they were made.

    Attributes
    ----------
    units
        One row per demand unit, EPSG:4326 points, canonical columns (see the module
        docstring). Population columns are int64 (people) unless the source gave fractional
        counts, then float64.
    notes
        Plain-language remarks for the report: which columns were estimated and how, which
        zones could not be placed, what was assumed.
    source
        Where the numbers came from (a file name, or a description of the spreading).
    """

    units: gpd.GeoDataFrame
    notes: tuple[str, ...] = ()
    source: str = ""

    def __len__(self) -> int:
        return len(self.units)

    @property
    def total_population(self) -> float:
        """Sum of ``population`` over all units (people)."""
        return _as_number(self.units["population"].sum())

    def totals(self) -> dict[str, float]:
        """Sum of each population column (people), e.g. ``{"population": 1200, ...}``."""
        return {c: _as_number(self.units[c].sum()) for c in POPULATION_COLUMNS}


# --------------------------------------------------------------------------------------------
# tables and vector files
# --------------------------------------------------------------------------------------------


def read_population(
    path: str | Path,
    *,
    age_shares: Mapping[str, float] | None = None,
    sheet: str | int = 0,
    layer: str | int | None = None,
) -> Demand:
    """Read population units from a CSV, XLSX, GeoJSON, GeoPackage or shapefile.

    CSV files may be UTF-8 (with or without BOM) or GBK/GB18030, as Excel writes them on
    Chinese Windows. Tables need coordinate columns (经度/纬度, lon/lat, lng, x/y) in WGS84;
    vector files may be in any CRS and may hold points or polygons (a 小区 outline becomes its
    representative point, which is always inside it). Column names are matched without
    regard to case, spaces or a trailing unit in brackets (``常住人口（人）``); see `ALIASES`.
    The rules for values are those of `demand_from_frame`. Bad values are reported by
    spreadsheet row (the header is row 1) or by feature number (from 1).

    Parameters
    ----------
    path
        The file.
    age_shares
        Shares used for missing age columns, e.g. ``{"pop_60plus": 0.25, "pop_0_17": 0.15}``;
        default `CENSUS_2020_AGE_SHARES`.
    sheet
        Sheet name or position, for XLSX files.
    layer
        Layer name or position, for GeoPackages with several layers.

    Returns
    -------
    Demand
        The units, with notes; ``source`` is the file name.

    Raises
    ------
    CirclesError
        When the file is missing or unreadable, a required column is missing, or any value is
        bad (every problem is gathered and reported in one message).

    Examples
    --------
    >>> demand = read_population("haidian_xiaoqu.csv")  # doctest: +SKIP
    >>> demand.units[["name", "population", "pop_60plus"]].head()  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise CirclesError(f"{path}: file not found; check the path to the population file")
    if path.is_dir():
        raise CirclesError(f"{path}: is a folder; pass the population file (CSV, XLSX, GeoJSON, GPKG or SHP)")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        frame = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(path, sheet_name=sheet, dtype=object)
        except (ValueError, KeyError, OSError) as exc:
            raise CirclesError(
                f"{path}: cannot read sheet {sheet!r} ({_one_line(exc)}); "
                "check the sheet name and that the file is XLSX"
            ) from None
        except Exception as exc:  # openpyxl: zip/xml errors on a corrupt file
            raise CirclesError(
                f"{path}: not a readable XLSX file ({_one_line(exc)}); save it again from Excel"
            ) from None
        frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    elif suffix == ".xls":
        raise CirclesError(f"{path}: old .xls workbooks are not supported; save it as .xlsx (or CSV) in Excel")
    elif suffix in VECTOR_SUFFIXES:
        try:
            frame = gpd.read_file(path, layer=layer)
        except Exception as exc:  # pyogrio raises its own DataSourceError family
            raise CirclesError(
                f"{path}: not a readable vector file ({_one_line(exc)}); "
                "check the file (and its .shx/.dbf/.prj for a shapefile)"
            ) from None
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="feature")
    else:
        raise CirclesError(
            f"{path}: unknown file type {suffix or '(none)'!r}; "
            f"use one of {', '.join(TABLE_SUFFIXES + VECTOR_SUFFIXES)}"
        )
    return demand_from_frame(frame, source_name=path.name, age_shares=age_shares)


def demand_from_frame(
    frame: pd.DataFrame,
    *,
    source_name: str,
    age_shares: Mapping[str, float] | None = None,
) -> Demand:
    """Turn a table or GeoDataFrame of population units into canonical demand units.

    Rules:

    - **Location**: a GeoDataFrame's geometry when it has any (it must have a CRS; polygons
      become their representative point), else the lon/lat columns (WGS84 degrees).
      Coordinates from Amap/Baidu (GCJ-02/BD-09) must be converted before this call.
    - **Population** is required, numeric and ≥ 0; thousands separators (``1,234``) are
      accepted. The age columns, where given, must be ≥ 0 and ≤ population, and
      ``pop_60plus + pop_0_17`` ≤ population. A blank age cell is estimated like a missing
      column.
    - **Missing age columns** are estimated as population × share (rounded to whole people
      when population is whole) and a note says which columns, for how many units, and with
      which share.
    - **Gates**: when point units share a ``demand_id``, the rows are the gates (出入口) of one
      unit; each row must repeat the unit's figures, which are split evenly across its gates
      (whole people by largest remainder). Each gate row gets ``demand_id`` ``"<id>/<k>"``
      and keeps the shared id in ``unit_id``.
    - **Errors**: every bad value is gathered and one `CirclesError` names the source, the
      rows (by index label: spreadsheet row, feature number, or the frame's own label), the
      columns and the values. Nothing is dropped silently.

    Parameters
    ----------
    frame
        A DataFrame or GeoDataFrame with columns named as in `ALIASES`.
    source_name
        Name of the source for messages and `Demand.source`, e.g. the file name.
    age_shares
        Shares of the population for missing age columns; keys from `AGE_COLUMNS`, values in
        [0, 1]. Missing keys fall back to `CENSUS_2020_AGE_SHARES`.

    Returns
    -------
    Demand
        Units indexed like `frame` (rows keep their labels).

    Examples
    --------
    >>> df = pd.DataFrame({"小区名称": ["A", "B"], "经度": [116.31, 116.32],
    ...                    "纬度": [39.99, 40.0], "常住人口": [1000, 2500]})
    >>> d = demand_from_frame(df, source_name="example")
    >>> d.units["pop_60plus"].tolist()
    [187, 468]
    """
    if not isinstance(frame, pd.DataFrame):
        raise CirclesError(f"{source_name}: expected a table (DataFrame), got {type(frame).__name__}")
    if len(frame) == 0:
        raise CirclesError(f"{source_name}: has no rows; add one row per residential unit with its population")
    shares = _check_age_shares(age_shares)
    cols = _resolve_columns(frame, source_name)
    if "population" not in cols:
        raise CirclesError(
            f"{source_name}: no population column among {_list_cols(frame)}; "
            f"name it one of {', '.join(ALIASES['population'])}"
        )
    problems: list[str] = []
    where = _row_labeller(frame)

    pop = _parse_numbers(frame[cols["population"]], cols["population"], where, problems, blank_ok=False)
    ages: dict[str, np.ndarray] = {}
    for age in AGE_COLUMNS:
        if age in cols:
            ages[age] = _parse_numbers(frame[cols[age]], cols[age], where, problems, blank_ok=True)
            over = np.flatnonzero(ages[age] > pop)
            for i in over:
                problems.append(
                    f"{where(i)} column '{cols[age]}': {_fmt(ages[age][i])} is more than the population "
                    f"{_fmt(pop[i])}; check the columns"
                )
    if len(ages) == 2:
        both = np.flatnonzero(ages["pop_60plus"] + ages["pop_0_17"] > pop)
        for i in both:
            problems.append(
                f"{where(i)}: 60+ ({_fmt(ages['pop_60plus'][i])}) and 0-17 ({_fmt(ages['pop_0_17'][i])}) "
                f"add up to more than the population {_fmt(pop[i])}"
            )

    lon, lat, is_point = _locations(frame, cols, source_name, where, problems)

    ids = _parse_ids(frame, cols, where, problems)
    gate_groups = _gate_groups(ids, is_point, pop, ages, where, problems)
    district = None
    if "district" in cols:
        district = frame[cols["district"]].map(_clean_text).to_numpy(dtype=object)
    names = np.full(len(frame), None, dtype=object)
    if "name" in cols:
        names = frame[cols["name"]].map(_clean_text).to_numpy(dtype=object)

    if problems:
        raise CirclesError(_problem_message(source_name, problems))

    whole = _all_whole(pop) and all(_all_whole(a[~np.isnan(a)]) for a in ages.values())
    notes: list[str] = []
    estimated: dict[str, np.ndarray] = {}
    for age in AGE_COLUMNS:
        given = ages.get(age)
        missing = np.isnan(given) if given is not None else np.ones(len(pop), dtype=bool)
        if not missing.any():
            continue
        est = pop * shares[age]
        values = given.copy() if given is not None else np.full(len(pop), np.nan)
        values[missing] = np.rint(est[missing]) if whole else est[missing]
        ages[age] = values
        estimated[age] = missing
        notes.append(
            _age_note(age, int(missing.sum()), len(pop), shares[age], age_shares, source_name, column=cols.get(age))
        )
    for age, missing in estimated.items():  # an estimate never pushes 60+ plus 0-17 above the population
        other = ages[AGE_COLUMNS[1 - AGE_COLUMNS.index(age)]]
        ages[age][missing] = np.minimum(ages[age][missing], pop[missing] - other[missing])

    data: dict[str, Any] = {
        "demand_id": ids,
        "name": names,
        "lon": lon,
        "lat": lat,
        "population": pop,
        "pop_60plus": ages["pop_60plus"],
        "pop_0_17": ages["pop_0_17"],
    }
    if district is not None:
        data["district"] = district
    if "households" in cols:  # for the floor-area-per-100-households rule; blank or bad cells -> NaN
        data["households"] = pd.to_numeric(frame[cols["households"]], errors="coerce").to_numpy(float)
    table = pd.DataFrame(data, index=frame.index)
    if gate_groups:
        table = _split_gates(table, gate_groups, whole)
        notes.append(
            f"{source_name}: {len(gate_groups)} units are given by their gates (rows sharing an id); "
            "each unit's figures were split evenly across its gates"
        )
    for c in POPULATION_COLUMNS:
        table[c] = table[c].astype(np.int64) if whole else table[c].astype(np.float64)
    units = gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"], crs="EPSG:4326"), crs="EPSG:4326"
    )
    return Demand(units=units, notes=tuple(notes), source=source_name)


# --------------------------------------------------------------------------------------------
# spreading zone totals
# --------------------------------------------------------------------------------------------


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

    Returns
    -------
    Demand
        One unit per populated building or road piece, with ``district`` (the zone id),
        ``basis`` (``"building"`` or ``"road"``), ``floor_area_m2`` and ``road_length_m``
        (NaN where not applicable); ints throughout.

    Raises
    ------
    CirclesError
        When inputs lack a CRS or a needed column, totals are negative or not numbers, or
        zone ids repeat.

    Examples
    --------
    >>> streets = gpd.read_file("beijing_streets_worldpop.gpkg")  # doctest: +SKIP
    >>> demand = spread_zone_totals(streets, population_col="population",
    ...                             zone_id_col=["county", "street"], buildings=buildings,
    ...                             roads=net, study_area=box)  # doctest: +SKIP
    """
    shares = _check_age_shares(age_shares)
    levels_table = _check_levels_table(default_levels)
    if partial_zones not in ("whole_total", "area_share"):
        raise CirclesError(
            f"partial_zones {partial_zones!r} is not valid; use 'whole_total' or 'area_share'"
        )
    _check_gdf(zones, "zones")
    if population_col not in zones.columns:
        raise CirclesError(
            f"zones: no column {population_col!r} among {_list_cols(zones)}; pass population_col= the totals column"
        )
    zone_ids = _zone_ids(zones, zone_id_col)
    problems: list[str] = []

    def where(i: int) -> str:
        return f"zone {zone_ids[i]!r}"

    raw_totals = _parse_numbers(zones[population_col], population_col, where, problems, blank_ok=False)
    zone_age_cols = _resolve_columns(zones, "zones", only=AGE_COLUMNS)
    zone_ages = {
        age: _parse_numbers(zones[col], col, where, problems, blank_ok=True) for age, col in zone_age_cols.items()
    }
    for age, values in zone_ages.items():
        for i in np.flatnonzero(values > raw_totals):
            problems.append(
                f"{where(i)} column '{zone_age_cols[age]}': {_fmt(values[i])} is more than the total "
                f"{_fmt(raw_totals[i])}; check the columns"
            )
    if problems:
        raise CirclesError(_problem_message("zones", problems))
    totals = np.rint(raw_totals).astype(np.int64)
    if buildings is not None:
        _check_gdf(buildings, "buildings")
        if "building" not in buildings.columns:
            raise CirclesError(
                f"buildings: no 'building' column (the building type) among {_list_cols(buildings)}; "
                "read them with network.features.read_buildings"
            )
    if roads is not None:
        roads = _roads_frame(roads)
    area = _study_area(study_area)

    metric = _metric_crs([g for g in (zones, buildings, roads) if g is not None], area)
    zones_m = zones.geometry.to_crs(metric).to_numpy()
    zones_m = shapely.make_valid(zones_m)
    if area is not None:
        area_m = shapely.make_valid(gpd.GeoSeries([area], crs="EPSG:4326").to_crs(metric).iloc[0])
        covered = shapely.intersection(zones_m, area_m)
    else:
        covered = zones_m
    covered_area = shapely.area(covered)
    zone_area = shapely.area(zones_m)
    inside = ~shapely.is_empty(covered) & (covered_area > 0)

    notes: list[str] = []
    n_outside = int((~inside).sum())
    if n_outside:
        notes.append(f"{n_outside} of {len(zones)} zones lie outside the study area and were left out")

    b = _prepare_buildings(buildings, metric, levels_table) if buildings is not None else None
    r = _prepare_roads(roads, metric) if roads is not None else None
    b_zone = _assign_points(b["point"], covered, inside) if b is not None else None

    pieces: list[pd.DataFrame] = []
    n_bld_zones = n_road_zones = 0
    unplaced: list[str] = []
    for z in np.flatnonzero(inside):
        zid = zone_ids[z]
        total = int(totals[z])
        share_covered = min(covered_area[z] / zone_area[z], 1.0) if zone_area[z] > 0 else 1.0
        zone_age_values = {a: v[z] for a, v in zone_ages.items()}
        if area is not None and share_covered < 0.999:
            if partial_zones == "area_share":
                scaled = int(np.rint(raw_totals[z] * share_covered))
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
        units = None
        if b is not None:
            in_zone = np.flatnonzero(b_zone == z)
            res = in_zone[b["residential"][in_zone]]
            if len(res) == 0:
                res = in_zone[b["unknown"][in_zone]]
                if len(res):
                    notes.append(
                        f"zone {zid!r}: no residential-tagged buildings; used {len(res)} buildings tagged "
                        "building=yes (type unknown)"
                    )
            if len(res):
                units = pd.DataFrame({
                    "demand_id": [f"{zid}/{s}" for s in b["key"][res]],
                    "name": b["name"][res],
                    "x": shapely.get_x(b["point"][res]),
                    "y": shapely.get_y(b["point"][res]),
                    "weight": b["floor_area_m2"][res],
                    "basis": "building",
                    "floor_area_m2": b["floor_area_m2"][res],
                    "road_length_m": np.nan,
                })
                n_bld_zones += 1
        if units is None and r is not None:
            units = _road_units(r, covered[z], zid)
            if units is not None:
                n_road_zones += 1
                notes.append(
                    f"zone {zid!r}: no residential buildings; its people were spread along "
                    f"{units['road_length_m'].sum() / 1000:.1f} km of road"
                )
        if units is None:
            unplaced.append(f"{zid!r} ({total:,} people)")
            continue
        units["district"] = zid
        units["population"] = apportion(total, units["weight"].to_numpy())
        age_totals = _zone_age_totals(total, zone_age_values, shares)
        units["pop_60plus"], units["pop_0_17"] = _apportion_ages(units["population"].to_numpy(), age_totals)
        pieces.append(units)

    if unplaced:
        shown = ", ".join(unplaced[:_MAX_NAMED])
        more = f" and {len(unplaced) - _MAX_NAMED} more" if len(unplaced) > _MAX_NAMED else ""
        notes.append(
            f"{len(unplaced)} zones have no buildings or roads in their covered area; their people could not be "
            f"placed: {shown}{more}"
        )
    notes.insert(
        0,
        f"zone totals ({population_col!r}) spread onto residential buildings (footprint m² × storeys) in "
        f"{n_bld_zones} zones and onto road length in {n_road_zones} zones; totals kept exactly per zone",
    )
    rounded = int(np.sum(raw_totals[inside] != totals[inside]))
    if rounded:
        notes.append(f"{rounded} zone totals were not whole numbers and were rounded to whole people")
    for age in AGE_COLUMNS:
        if not pieces:
            break
        if age in zone_age_cols:
            notes.append(f"{age} taken from the zones' column {zone_age_cols[age]!r} and apportioned per zone")
        else:
            n = len(pieces)
            notes.append(_age_note(age, n, n, shares[age], age_shares, "zones", unit_word="zones"))
    units = _finish_units(pieces, metric, with_district=True)
    log.info("spread %d zone totals onto %d units (%d zones unplaced)", int(inside.sum()), len(units), len(unplaced))
    return Demand(
        units=units,
        notes=tuple(notes),
        source=source_name or f"zone totals '{population_col}' spread onto buildings and roads",
    )


def estimate_from_buildings(
    buildings: gpd.GeoDataFrame,
    *,
    m2_per_person: float = M2_PER_PERSON_DEFAULT,
    age_shares: Mapping[str, float] | None = None,
    default_levels: Mapping[str, float] | None = None,
) -> Demand:
    """Estimate residents from residential floor area where no population figures exist.

    Floor area = footprint (m², local metric CRS) × storeys (``levels`` column, else
    `DEFAULT_LEVELS` by type); residents = floor area ÷ `m2_per_person`. The total is rounded
    to whole people and apportioned to buildings by largest remainder. Only residential types
    count; ``building=yes`` is used only when there is no residential-tagged building at all.

    The default 35 m² per person follows the 2020 census: urban households' per-capita
    housing floor area 36.52 m² nationally, 33.41 m² in Beijing (《中国人口普查年鉴-2020》).
    Census floor area is 建筑面积 (gross), like footprint × storeys. Pass a local figure when
    you have one (county towns and villages: 40–47 m²).

    Parameters
    ----------
    buildings
        Building footprints with a CRS and a ``building`` column (type); optional ``levels``,
        ``osm_type``/``osm_id`` and ``name``.
    m2_per_person
        Floor area per resident (m²), > 0.
    age_shares
        Shares for the age groups; default `CENSUS_2020_AGE_SHARES`.
    default_levels
        Overrides of `DEFAULT_LEVELS`.

    Returns
    -------
    Demand
        One unit per residential building, ``basis`` ``"building"``, with ``floor_area_m2``.

    Examples
    --------
    >>> demand = estimate_from_buildings(read_buildings("wudaokou.osm"))  # doctest: +SKIP
    """
    if not (_is_real(m2_per_person) and math.isfinite(m2_per_person) and m2_per_person > 0):
        raise CirclesError(
            f"m2_per_person {m2_per_person!r} is not a positive number; use e.g. 35 (m² of floor area per resident)"
        )
    shares = _check_age_shares(age_shares)
    levels_table = _check_levels_table(default_levels)
    _check_gdf(buildings, "buildings")
    if "building" not in buildings.columns:
        raise CirclesError(
            f"buildings: no 'building' column (the building type) among {_list_cols(buildings)}; "
            "read them with network.features.read_buildings"
        )
    metric = _metric_crs([buildings], None)
    b = _prepare_buildings(buildings, metric, levels_table)
    notes: list[str] = []
    use = b["residential"]
    if not use.any():
        use = b["unknown"]
        if use.any():
            notes.append(f"no residential-tagged buildings; used {int(use.sum())} buildings tagged building=yes")
        else:
            notes.append("no residential or building=yes footprints: nobody could be placed")
    idx = np.flatnonzero(use)
    floor = b["floor_area_m2"][idx]
    total = int(np.rint(floor.sum() / m2_per_person)) if len(idx) else 0
    units = pd.DataFrame({
        "demand_id": [str(s) for s in b["key"][idx]],
        "name": b["name"][idx],
        "x": shapely.get_x(b["point"][idx]),
        "y": shapely.get_y(b["point"][idx]),
        "basis": "building",
        "floor_area_m2": floor,
        "road_length_m": np.nan,
    })
    units["population"] = apportion(total, floor)
    age_totals = _zone_age_totals(total, {}, shares)
    units["pop_60plus"], units["pop_0_17"] = _apportion_ages(units["population"].to_numpy(), age_totals)
    n_default = int(np.isnan(b["levels_given"][idx]).sum())
    notes.insert(
        0,
        f"population estimated from residential floor area: {floor.sum():,.0f} m² ÷ {m2_per_person:g} m² per person "
        f"= {total:,} people in {len(idx)} buildings ({n_default} without building:levels got the default storeys "
        "for their type)",
    )
    for age in AGE_COLUMNS if len(idx) else ():
        notes.append(_age_note(age, len(idx), len(idx), shares[age], age_shares, "buildings"))
    return Demand(
        units=_finish_units([units], metric, with_district=False),
        notes=tuple(notes),
        source=f"building floor area ÷ {m2_per_person:g} m² per person",
    )


def apportion(total: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Split a whole number into whole parts proportional to weights (largest remainder).

    Each part is the floor of its exact quota; the people left over go one each to the parts
    with the largest fractional remainders (ties: the earlier part). The parts sum to `total`
    exactly and no part differs from its quota by one or more.

    Parameters
    ----------
    total
        Whole number ≥ 0 to split (people).
    weights
        Non-negative weights; at least one positive when `total` > 0.

    Returns
    -------
    numpy.ndarray
        int64 parts, same length as `weights`.

    Examples
    --------
    >>> apportion(40, [100.0, 300.0]).tolist()
    [10, 30]
    >>> apportion(10, [1, 1, 1]).tolist()
    [4, 3, 3]
    """
    w = np.asarray(weights)
    total = int(total)
    positive_w = np.asarray(w, dtype=np.float64) > 0
    if total < 0:
        raise CirclesError(f"apportion: total {total} is negative; pass a count of people ≥ 0")
    if len(w) == 0 or total == 0:
        if total > 0:
            raise CirclesError(f"apportion: no weights to split {total} over; pass at least one weight")
        return np.zeros(len(w), dtype=np.int64)
    if np.issubdtype(w.dtype, np.integer):
        w = w.astype(object)  # exact integer arithmetic (Python ints cannot overflow)
        big = int(sum(w))
        if big <= 0 or any(v < 0 for v in w):
            raise CirclesError(f"apportion: weights must be ≥ 0 with a positive sum to split {total}")
        scaled = [total * int(v) for v in w]
        floors = np.array([s // big for s in scaled], dtype=np.int64)
        rema = np.array([s % big for s in scaled], dtype=np.float64) / big
    else:
        w = w.astype(np.float64)
        big = float(w.sum())
        if not np.isfinite(big) or big <= 0 or (w < 0).any() or np.isnan(w).any():
            raise CirclesError(f"apportion: weights must be finite, ≥ 0, with a positive sum to split {total}")
        w = w / w.max()  # scale to [0, 1] so that tiny or huge weights cannot overflow the quotas
        quota = w * (total / w.sum())
        floors = np.floor(quota)
        rema = quota - floors
        floors = floors.astype(np.int64)
    left = total - int(floors.sum())
    order = np.argsort(-rema, kind="stable")
    positive = order[positive_w[order]] if left >= 0 else order[::-1][floors[order[::-1]] > 0]
    # float rounding can leave |left| one or two units beyond the ideal [0, n); spread it over the
    # units with positive weight (or, when taking back, positive parts) in remainder order
    if left and len(positive):
        step = 1 if left > 0 else -1
        reps = -(-abs(left) // len(positive))
        picks = np.tile(positive, reps)[: abs(left)]
        np.add.at(floors, picks, step)
    return floors


# --------------------------------------------------------------------------------------------
# helpers: columns and values
# --------------------------------------------------------------------------------------------


def _normalize(name: object) -> str:
    s = str(name).strip().lower()
    s = re.sub(r"[（(][^）)]*[）)]\s*$", "", s)  # a trailing unit: 常住人口（人）, population (persons)
    s = re.sub(r"[\s_/、]+", "", s)
    return s.replace("~", "～").replace("—", "-").replace("–", "-")


_ALIAS_INDEX = {_normalize(a): canon for canon, names in ALIASES.items() for a in names}


def _resolve_columns(frame: pd.DataFrame, source_name: str, only: Sequence[str] | None = None) -> dict[str, str]:
    found: dict[str, str] = {}
    geom_name = frame.geometry.name if _has_geometry(frame) else None
    for col in frame.columns:
        if col == geom_name:
            continue
        canon = _ALIAS_INDEX.get(_normalize(col))
        if canon is None or (only is not None and canon not in only):
            continue
        if canon in found:
            raise CirclesError(
                f"{source_name}: columns '{found[canon]}' and '{col}' both look like the {canon} column; "
                "rename or drop one"
            )
        found[canon] = col
    return found


def _has_geometry(frame: pd.DataFrame) -> bool:
    if not isinstance(frame, gpd.GeoDataFrame):
        return False
    try:
        frame.geometry
    except AttributeError:  # a GeoDataFrame without an active geometry column
        return False
    return True


def _row_labeller(frame: pd.DataFrame):
    index = frame.index
    label = index.name or "index"

    def where(i: int) -> str:
        return f"{label} {index[i]}"

    return where


def _parse_numbers(series: pd.Series, col: str, where, problems: list[str], *, blank_ok: bool) -> np.ndarray:
    out = np.full(len(series), np.nan)
    for i, v in enumerate(series.to_numpy(dtype=object)):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            if not blank_ok:
                problems.append(f"{where(i)} column '{col}': value is blank; fill in the number of people")
            continue
        if isinstance(v, (bool, np.bool_)):
            f = math.nan
        elif isinstance(v, (int, float, np.integer, np.floating)):
            f = float(v)
        else:
            text = str(v).strip().replace(",", "").replace("，", "")
            if not text:
                if not blank_ok:
                    problems.append(f"{where(i)} column '{col}': value is blank; fill in the number of people")
                continue
            try:
                f = float(text)
            except ValueError:
                f = math.nan
        if not math.isfinite(f):
            problems.append(f"{where(i)} column '{col}': {v!r} is not a number; write the count of people as digits")
        elif f < 0:
            problems.append(f"{where(i)} column '{col}': {v!r} is negative; counts of people must be ≥ 0")
        else:
            out[i] = f
    return out


def _locations(frame, cols, source_name, where, problems) -> tuple[np.ndarray, np.ndarray, bool]:
    """lon, lat (WGS84 degrees) per row, and whether all rows are points (vs polygons)."""
    n = len(frame)
    if _has_geometry(frame) and frame.geometry.notna().any():
        geoms = frame.geometry
        if geoms.crs is None:
            raise CirclesError(
                f"{source_name}: the geometry has no CRS; set one first, e.g. frame.set_crs('EPSG:4326')"
            )
        geoms = geoms.to_crs("EPSG:4326").to_numpy()
        types = shapely.get_type_id(geoms)  # 0 point, 3 polygon, 4 multipoint, 6 multipolygon, -1 None
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        for i in range(n):
            g = geoms[i]
            if g is None or g.is_empty:
                problems.append(f"{where(i)}: has no geometry; add its location or drop the row")
                continue
            if types[i] == 0:
                p = g
            elif types[i] in (3, 4, 6):
                p = g.representative_point() if types[i] != 4 else g.centroid
            else:
                problems.append(
                    f"{where(i)}: geometry {g.geom_type} is not a point or polygon; give points or outlines"
                )
                continue
            lon[i], lat[i] = p.x, p.y
        is_point = bool(np.isin(types, (0,)).all())
        return lon, lat, is_point
    if "lon" not in cols or "lat" not in cols:
        raise CirclesError(
            f"{source_name}: no coordinates: need longitude and latitude columns (e.g. 经度/纬度 or lon/lat) "
            f"among {_list_cols(frame)}, or a geometry"
        )
    lon = _parse_coord(frame[cols["lon"]], cols["lon"], where, problems)
    lat = _parse_coord(frame[cols["lat"]], cols["lat"], where, problems)
    for i in range(n):
        x, y = lon[i], lat[i]
        if np.isnan(x) or np.isnan(y):
            continue
        if not -90 <= y <= 90 or not -180 <= x <= 180:
            hint = (
                "are the lon/lat columns swapped?" if -90 <= x <= 90 and -180 <= y <= 180
                else "coordinates must be WGS84 degrees; convert projected x/y first"
            )
            problems.append(f"{where(i)}: lon {x:g}, lat {y:g} are out of range; {hint}")
            lon[i] = lat[i] = np.nan
    return lon, lat, True


def _parse_coord(series, col, where, problems) -> np.ndarray:
    out = np.full(len(series), np.nan)
    for i, v in enumerate(series.to_numpy(dtype=object)):
        try:
            f = float(str(v).strip()) if not isinstance(v, (int, float, np.integer, np.floating)) else float(v)
        except ValueError:
            f = math.nan
        if not math.isfinite(f):
            problems.append(f"{where(i)} column '{col}': {v!r} is not a coordinate; write decimal degrees")
        else:
            out[i] = f
    return out


def _parse_ids(frame, cols, where, problems) -> np.ndarray:
    if "demand_id" not in cols:
        return np.array([str(k + 1) for k in range(len(frame))], dtype=object)
    ids = np.empty(len(frame), dtype=object)
    for i, v in enumerate(frame[cols["demand_id"]].to_numpy(dtype=object)):
        text = _clean_text(v)
        if text is None:
            problems.append(f"{where(i)} column '{cols['demand_id']}': id is blank; give every unit an id")
        ids[i] = text
    return ids


def _gate_groups(ids, is_point, pop, ages, where, problems) -> dict[str, list[int]]:
    """Rows sharing an id: the gates of one unit (points only)."""
    dup = pd.Series(ids).duplicated(keep=False).to_numpy() & (ids != None)  # noqa: E711
    if not dup.any():
        return {}
    groups: dict[str, list[int]] = {}
    for pos in np.flatnonzero(dup):
        groups.setdefault(ids[pos], []).append(int(pos))
    if not is_point:
        first = next(iter(groups))
        problems.append(
            f"{where(groups[first][1])}: id {first!r} is used by more than one row; "
            "outlines (polygons) need unique ids"
        )
        return {}
    for key, rows in groups.items():
        for name, values in (("population", pop), *ages.items()):
            v = values[rows]
            known = v[~np.isnan(v)]
            if len(known) and (len(known) < len(v) or not np.all(known == known[0])):
                problems.append(
                    f"{where(rows[0])}: the gates of unit {key!r} disagree on {name} "
                    f"({', '.join('blank' if np.isnan(x) else _fmt(x) for x in v)}); "
                    "repeat the unit's figure on every gate row"
                )
    return groups


def _split_gates(table: pd.DataFrame, groups: dict[str, list[int]], whole: bool) -> pd.DataFrame:
    table = table.copy()
    table["unit_id"] = None
    uid = table.columns.get_loc("unit_id")
    did = table.columns.get_loc("demand_id")
    for key, rows in groups.items():
        k = len(rows)
        for c in POPULATION_COLUMNS:
            pos = table.columns.get_loc(c)
            value = table.iloc[rows[0], pos]
            table.iloc[rows, pos] = apportion(int(value), np.ones(k, dtype=np.int64)) if whole else value / k
        if "households" in table:
            pos = table.columns.get_loc("households")
            table.iloc[rows, pos] = table.iloc[rows[0], pos] / k
        table.iloc[rows, uid] = key
        for j, r in enumerate(rows, start=1):
            table.iloc[r, did] = f"{key}/{j}"
    return table


def _check_age_shares(age_shares: Mapping[str, float] | None) -> dict[str, float]:
    shares = dict(CENSUS_2020_AGE_SHARES)
    if age_shares is None:
        return shares
    if not isinstance(age_shares, Mapping):
        raise CirclesError(
            f"age_shares {age_shares!r} is not a mapping; pass e.g. {{'pop_60plus': 0.187, 'pop_0_17': 0.211}}"
        )
    for key, value in age_shares.items():
        if key not in AGE_COLUMNS:
            raise CirclesError(f"age_shares: unknown key {key!r}; use {' or '.join(AGE_COLUMNS)}")
        if not _is_real(value) or not 0 <= value <= 1:
            raise CirclesError(
                f"age_shares[{key!r}] = {value!r} is not a share in [0, 1]; give a fraction, e.g. 0.187 for 18.7 %"
            )
        shares[key] = float(value)
    if sum(shares.values()) > 1:
        raise CirclesError(
            f"age_shares {shares} add up to more than 1; 60+ and 0-17 are disjoint shares of one population"
        )
    return shares


def _age_note(age, n_missing, n_total, share, age_shares, source_name, *, column=None, unit_word="units") -> str:
    label = {"pop_60plus": "60+", "pop_0_17": "0-17"}[age]
    origin = (
        "share given by the caller"
        if age_shares is not None and age in age_shares
        else "China 2020 census share"
    )
    scope = (
        f"all {n_total} {unit_word}" if n_missing == n_total
        else f"{n_missing} of {n_total} {unit_word} (blank cells)"
    )
    what = f"no {label} column" if column is None else f"column '{column}' is blank in places"
    return f"{source_name}: {what}; {age} estimated for {scope} as {share:.2%} of the population ({origin})"


def _is_real(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _clean_text(v: object) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))  # ids read from Excel as 12.0
    text = str(v).strip()
    return text or None


def _all_whole(a: np.ndarray) -> bool:
    a = np.asarray(a, dtype=np.float64)
    return bool(np.all(np.isfinite(a)) and np.all(a == np.floor(a)) and np.all(np.abs(a) < 2**53))


def _fmt(x: float) -> str:
    return f"{x:g}" if not float(x).is_integer() else f"{int(x)}"


def _as_number(x: Any) -> float:
    x = x.item() if hasattr(x, "item") else x
    return x


def _list_cols(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    shown = ", ".join(repr(c) for c in cols[:12])
    return f"[{shown}{', ...' if len(cols) > 12 else ''}]"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _problem_message(source_name: str, problems: list[str]) -> str:
    shown = "; ".join(problems[:_MAX_LISTED])
    more = f"; and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
    plural = "s" if len(problems) > 1 else ""
    return f"{source_name}: {len(problems)} bad value{plural}: {shown}{more}"


def _read_csv(path: Path) -> pd.DataFrame:
    last: Exception | None = None
    for enc in CSV_ENCODINGS:
        try:
            frame = pd.read_csv(
                path, encoding=enc, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True
            )
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except pd.errors.EmptyDataError:
            raise CirclesError(f"{path}: the file is empty; add a header row and one row per unit") from None
        except (pd.errors.ParserError, OSError) as exc:
            raise CirclesError(
                f"{path}: not a readable CSV ({_one_line(exc)}); save it again as CSV from Excel"
            ) from None
        frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
        return frame
    raise CirclesError(
        f"{path}: text encoding is neither UTF-8 nor GBK ({_one_line(last)}); save it as 'CSV UTF-8' in Excel"
    )


# --------------------------------------------------------------------------------------------
# helpers: geometry
# --------------------------------------------------------------------------------------------


def _check_gdf(gdf: Any, what: str) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise CirclesError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}; read it with geopandas")
    if gdf.crs is None:
        raise CirclesError(f"{what}: has no CRS; set one first, e.g. {what}.set_crs('EPSG:4326')")


def _zone_ids(zones: gpd.GeoDataFrame, zone_id_col: str | Sequence[str] | None) -> np.ndarray:
    if zone_id_col is None:
        ids = np.array([str(v) for v in zones.index], dtype=object)
        label = "the index"
    else:
        cols = [zone_id_col] if isinstance(zone_id_col, str) else list(zone_id_col)
        missing = [c for c in cols if c not in zones.columns]
        if missing or not cols:
            raise CirclesError(
                f"zones: no column {missing[0] if missing else zone_id_col!r} among {_list_cols(zones)}; "
                "pass zone_id_col= the zone name column(s)"
            )
        parts = [zones[c].map(lambda v: _clean_text(v) or "").to_numpy(dtype=object) for c in cols]
        ids = np.array(["/".join(p) for p in zip(*parts)], dtype=object)
        label = f"column(s) {cols}"
    dup = pd.Series(ids).duplicated(keep=False)
    if dup.any():
        examples = sorted(set(ids[dup.to_numpy()]))[:3]
        raise CirclesError(
            f"zones: ids from {label} repeat ({', '.join(repr(e) for e in examples)}); pass zone_id_col= columns "
            "that are unique together, e.g. ['county', 'street']"
        )
    return ids


def _study_area(study_area: Any):
    if study_area is None:
        return None
    if isinstance(study_area, (gpd.GeoSeries, gpd.GeoDataFrame)):
        if study_area.crs is None:
            raise CirclesError("study_area: has no CRS; set one first, e.g. study_area.set_crs('EPSG:4326')")
        geom = study_area.to_crs("EPSG:4326").union_all()
    elif isinstance(study_area, shapely.Geometry):
        geom = study_area
    else:
        raise CirclesError(
            f"study_area: expected a shapely polygon (lon/lat) or a GeoSeries, got {type(study_area).__name__}; "
            "e.g. shapely.box(116.308, 39.991, 116.332, 40.012)"
        )
    if geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7):
        raise CirclesError(f"study_area: {geom.geom_type} has no area; pass a polygon of the area covered by data")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise CirclesError(
            f"study_area: bounds {geom.bounds} are not lon/lat degrees; pass a GeoSeries with its CRS instead"
        )
    return geom


def _metric_crs(frames: list[gpd.GeoDataFrame], area) -> pyproj.CRS:
    """A CRS in metres for areas and lengths: the inputs' own when they share a projected one, else UTM."""
    crss = {f.crs for f in frames}
    if len(crss) == 1:
        crs = next(iter(crss))
        if crs.is_projected and crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
            return crs
    if area is not None:
        return gpd.GeoSeries([area], crs="EPSG:4326").estimate_utm_crs()
    for frame in reversed(frames):  # the most local data first: roads, buildings, then zones
        if len(frame) and not frame.geometry.is_empty.all():
            return frame.geometry.estimate_utm_crs()
    return pyproj.CRS("EPSG:3857")


def _check_levels_table(default_levels: Mapping[str, float] | None) -> dict[str, float]:
    table = dict(DEFAULT_LEVELS)
    if default_levels is None:
        return table
    if not isinstance(default_levels, Mapping):
        raise CirclesError(f"default_levels {default_levels!r} is not a mapping; pass e.g. {{'residential': 3}}")
    for k, v in default_levels.items():
        if not _is_real(v) or not math.isfinite(v) or v <= 0:
            raise CirclesError(f"default_levels[{k!r}] = {v!r} is not a positive number of storeys; use e.g. 6")
        table[str(k).strip().lower()] = float(v)
    return table


def _prepare_buildings(buildings: gpd.GeoDataFrame, metric: pyproj.CRS, levels_table: dict[str, float]) -> dict:
    polys = buildings[np.isin(shapely.get_type_id(buildings.geometry.to_numpy()), (3, 6))]
    geoms = shapely.make_valid(polys.geometry.to_crs(metric).to_numpy())
    types = np.array([(_clean_text(t) or "yes").lower() for t in polys["building"]], dtype=object)
    if "levels" in polys.columns:
        given = np.array(pd.to_numeric(polys["levels"], errors="coerce"), dtype=np.float64)
        given[~(given > 0)] = np.nan
    else:
        given = np.full(len(polys), np.nan)
    default = np.array([levels_table.get(t, np.nan) for t in types], dtype=np.float64)
    levels = np.where(np.isnan(given), default, given)
    footprint = shapely.area(geoms)
    floor = footprint * np.nan_to_num(levels)
    residential = np.array([t in levels_table and t != "yes" for t in types]) & (floor > 0)
    unknown = (types == "yes") & (floor > 0)
    if "osm_id" in polys.columns:
        otype = (
            polys["osm_type"].astype(str).str[0].to_numpy() if "osm_type" in polys.columns
            else np.full(len(polys), "w")
        )
        key = np.array([f"{t}{i}" for t, i in zip(otype, polys["osm_id"])], dtype=object)
    else:
        key = np.array([f"b{i}" for i in polys.index], dtype=object)
    names = (
        polys["name"].map(_clean_text).to_numpy(dtype=object) if "name" in polys.columns
        else np.full(len(polys), None, dtype=object)
    )
    return {
        "point": shapely.point_on_surface(geoms),
        "floor_area_m2": floor,
        "levels_given": given,
        "residential": residential,
        "unknown": unknown,
        "key": key,
        "name": names,
    }


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
            raise CirclesError("roads: the network has no crs; build it with network.load.load_network")
        return gpd.GeoDataFrame(geometry=np.asarray(roads.edge_lines()), crs=roads.crs)
    _check_gdf(roads, "roads")
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


def _zone_age_totals(total: int, given: dict[str, float], shares: dict[str, float]) -> dict[str, int]:
    out: dict[str, int] = {}
    for age in AGE_COLUMNS:
        v = given.get(age, np.nan)
        out[age] = int(np.rint(v)) if not np.isnan(v) else int(np.rint(total * shares[age]))
    out["pop_60plus"] = min(out["pop_60plus"], total)
    out["pop_0_17"] = min(out["pop_0_17"], total - out["pop_60plus"])
    return out


def _apportion_ages(pop: np.ndarray, age_totals: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """60+ by population, then 0-17 by the people left: exact zone totals, never above a unit's population."""
    pop = np.asarray(pop, dtype=np.int64)
    if pop.sum() == 0:
        return np.zeros(len(pop), np.int64), np.zeros(len(pop), np.int64)
    old = apportion(age_totals["pop_60plus"], pop)
    rest = pop - old
    young = apportion(age_totals["pop_0_17"], rest) if rest.sum() > 0 else np.zeros(len(pop), np.int64)
    return old, young


def _finish_units(pieces: list[pd.DataFrame], metric: pyproj.CRS, *, with_district: bool) -> gpd.GeoDataFrame:
    columns = ["demand_id", "name", "lon", "lat", *POPULATION_COLUMNS]
    if with_district:
        columns.append("district")
    columns += ["basis", "floor_area_m2", "road_length_m"]
    if not any(len(p) for p in pieces):
        floats = ("lon", "lat", "floor_area_m2", "road_length_m")
        empty = pd.DataFrame({
            c: pd.Series(dtype=np.int64 if c in POPULATION_COLUMNS else np.float64 if c in floats else object)
            for c in columns
        })
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    table = pd.concat(pieces, ignore_index=True)
    to_ll = pyproj.Transformer.from_crs(metric, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(table["x"].to_numpy(), table["y"].to_numpy())
    table["lon"], table["lat"] = lon, lat
    for c in POPULATION_COLUMNS:
        table[c] = table[c].astype(np.int64)
    table["name"] = table["name"].astype(object)
    return gpd.GeoDataFrame(
        table[columns], geometry=gpd.points_from_xy(lon, lat, crs="EPSG:4326"), crs="EPSG:4326"
    )


__all__ = [
    "AGE_COLUMNS", "ALIASES", "CENSUS_2020_AGE_SHARES", "DEFAULT_LEVELS", "Demand", "M2_PER_PERSON_DEFAULT",
    "POPULATION_COLUMNS", "apportion", "demand_from_frame", "estimate_from_buildings", "read_population",
    "spread_zone_totals",
]

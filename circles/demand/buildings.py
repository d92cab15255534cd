"""Residents placed on buildings: floor area (footprint × storeys) as weight, or as the estimate itself."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from circles.demand.apportion import apportion, apportion_ages, zone_age_totals
from circles.demand.groups import estimated_column
from circles.demand.model import AGE_COLUMNS, POPULATION_COLUMNS, Demand
from circles.demand.values import age_note, check_age_shares, check_gdf, clean_text, is_real, list_columns
from circles.errors import InputError

__all__ = [
    "DEFAULT_LEVELS", "M2_PER_PERSON_DEFAULT", "check_levels_table", "estimate_from_buildings", "finish_units",
    "metric_crs", "prepare_buildings",
]

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
    if not (is_real(m2_per_person) and math.isfinite(m2_per_person) and m2_per_person > 0):
        raise InputError(
            f"m2_per_person {m2_per_person!r} is not a positive number; use e.g. 35 (m² of floor area per resident)"
        )
    shares = check_age_shares(age_shares)
    levels_table = check_levels_table(default_levels)
    check_gdf(buildings, "buildings")
    if "building" not in buildings.columns:
        raise InputError(
            f"buildings: no 'building' column (the building type) among {list_columns(buildings)}; "
            "read them with network.features.read_buildings"
        )
    metric = metric_crs([buildings], None)
    b = prepare_buildings(buildings, metric, levels_table)
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
    age_totals = zone_age_totals(total, {}, shares)
    units["pop_60plus"], units["pop_0_17"] = apportion_ages(units["population"].to_numpy(), age_totals)
    for age in AGE_COLUMNS:  # always from shares: buildings carry no age groups
        units[estimated_column(age)] = True
    n_default = int(np.isnan(b["levels_given"][idx]).sum())
    notes.insert(
        0,
        f"population estimated from residential floor area: {floor.sum():,.0f} m² ÷ {m2_per_person:g} m² per person "
        f"= {total:,} people in {len(idx)} buildings ({n_default} without building:levels got the default storeys "
        "for their type)",
    )
    for age in AGE_COLUMNS if len(idx) else ():
        notes.append(age_note(age, len(idx), len(idx), shares[age], age_shares, "buildings"))
    return Demand(
        units=finish_units([units], metric, with_district=False),
        notes=tuple(notes),
        source=f"building floor area ÷ {m2_per_person:g} m² per person",
    )


def check_levels_table(default_levels: Mapping[str, float] | None) -> dict[str, float]:
    """`DEFAULT_LEVELS` updated with the caller's storeys by building type (validated)."""
    table = dict(DEFAULT_LEVELS)
    if default_levels is None:
        return table
    if not isinstance(default_levels, Mapping):
        raise InputError(f"default_levels {default_levels!r} is not a mapping; pass e.g. {{'residential': 3}}")
    for k, v in default_levels.items():
        if not is_real(v) or not math.isfinite(v) or v <= 0:
            raise InputError(f"default_levels[{k!r}] = {v!r} is not a positive number of storeys; use e.g. 6")
        table[str(k).strip().lower()] = float(v)
    return table


def metric_crs(frames: list[gpd.GeoDataFrame], area: shapely.Geometry | None) -> pyproj.CRS:
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


def prepare_buildings(buildings: gpd.GeoDataFrame, metric: pyproj.CRS, levels_table: dict[str, float]) -> dict:
    """Residential weights of buildings: a point on each, floor area (m²), residential/unknown masks, keys."""
    polys = buildings[np.isin(shapely.get_type_id(buildings.geometry.to_numpy()), (3, 6))]
    geoms = shapely.make_valid(polys.geometry.to_crs(metric).to_numpy())
    types = np.array([(clean_text(t) or "yes").lower() for t in polys["building"]], dtype=object)
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
        polys["name"].map(clean_text).to_numpy(dtype=object) if "name" in polys.columns
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


def finish_units(pieces: list[pd.DataFrame], metric: pyproj.CRS, *, with_district: bool) -> gpd.GeoDataFrame:
    """The units of all zones as one WGS84 GeoDataFrame with int64 population columns."""
    columns = ["demand_id", "name", "lon", "lat", *POPULATION_COLUMNS]
    if with_district:
        columns.append("district")
    columns += ["basis", "floor_area_m2", "road_length_m"]
    columns += [c for c in dict.fromkeys(c for p in pieces for c in p.columns) if c.startswith("estimated_")]
    if not any(len(p) for p in pieces):
        floats = ("lon", "lat", "floor_area_m2", "road_length_m")
        empty = pd.DataFrame({
            c: pd.Series(dtype=np.int64 if c in POPULATION_COLUMNS else np.float64 if c in floats
                         else bool if c.startswith("estimated_") else object)
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

"""Population units read from tables and GIS files: one row per 小区, building or gate, with age groups."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.demand.apportion import apportion
from circles.demand.groups import GROUP_CAPS, OPTIONAL_GROUPS, estimated_column
from circles.demand.model import AGE_COLUMNS, POPULATION_COLUMNS, Demand
from circles.demand.values import (
    ALIASES,
    age_note,
    all_whole,
    check_age_shares,
    clean_text,
    fmt_number,
    has_geometry,
    list_columns,
    parse_numbers,
    problem_message,
    resolve_columns,
)
from circles.errors import InputError
from circles.inputs.dropped import DroppedRow
from circles.standards import AREA_TYPES, area_type
from circles.inputs.tables import TABLE_SUFFIXES, read_table, row_skip_reasons
from circles.inputs.text import norm_header
from circles.inputs.vectors import VECTOR_SUFFIXES, read_vector

__all__ = ["DROP_REASONS", "demand_from_frame", "read_population"]

#: Why a row of a population table was not used: (code, 中文, English) by `row_skip_reasons`.
DROP_REASONS: Mapping[str, tuple[str, str, str]] = {
    "total": ("total_row", "合计行", "total row"),
    "example": ("example_row", "模板示例行", "template example row"),
}
_HEADER_KEYS = {norm_header(a): canon for canon, names in ALIASES.items() for a in names}


def read_population(
    path: str | Path,
    *,
    age_shares: Mapping[str, float] | None = None,
    sheet: str | int = 0,
    layer: str | int | None = None,
) -> Demand:
    """Read population units from a CSV, XLSX, GeoJSON, GeoPackage or shapefile.

    Tables are read by `circles.inputs.read_table`: CSV/TXT/TSV in UTF-8 (with or without BOM),
    GBK/GB18030 or UTF-16, with any of comma, tab, semicolon or ``|`` between cells, and XLSX;
    a title row above the header is skipped. Total rows (合计) and template example rows are left
    out and listed in `Demand.dropped`. Tables need coordinate columns (经度/纬度, lon/lat, lng, x/y) in WGS84;
    vector files (GeoJSON, GPKG, SHP or zipped SHP, read by `circles.inputs.read_vector`) must
    have a CRS and may hold points or polygons (a 小区 outline becomes its
    representative point, which is always inside it). Column names are matched without
    regard to case, spaces or a trailing unit in brackets (``常住人口（人）``); see `ALIASES`.
    Optional columns: 所属街道, 社区 (community), 户数 (households), 新建/既有 (area type) and the need
    groups 80岁及以上, 残疾人, 特困/低保, 0-3岁 (see `ALIASES`). The rules for values are those of
    `demand_from_frame`. Bad values are reported by spreadsheet row (the header is row 1) or by
    feature number (from 1).

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
    InputError
        When the file is missing or unreadable, a required column is missing, or any value is
        bad (every problem is gathered and reported in one message).

    Examples
    --------
    >>> demand = read_population("haidian_xiaoqu.csv")  # doctest: +SKIP
    >>> demand.units[["name", "population", "pop_60plus"]].head()  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path to the population file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; pass the population file (CSV, XLSX, GeoJSON, GPKG or SHP)")
    suffix = path.suffix.lower()
    if suffix in (*TABLE_SUFFIXES, ".xls"):
        frame, first_row = read_table(path, source_name=path.name, sheet=sheet, is_header=_is_population_header)
        frame.index = pd.RangeIndex(first_row, first_row + len(frame), name="row")
    elif suffix in VECTOR_SUFFIXES:
        frame = read_vector(path, what="population", layer=layer, source_name=path.name)
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="feature")
    else:
        raise InputError(
            f"{path}: unknown file type {suffix or '(none)'!r}; "
            f"use one of {', '.join(TABLE_SUFFIXES + VECTOR_SUFFIXES)}"
        )
    return demand_from_frame(frame, source_name=path.name, age_shares=age_shares)


def _is_population_header(texts: list[str]) -> bool:
    """A header row names at least two population columns (a title row above it does not)."""
    return len({_HEADER_KEYS.get(norm_header(t)) for t in texts} - {None}) >= 2


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
      column; the estimated cells are flagged in ``estimated_pop_60plus``/``estimated_pop_0_17``.
    - **Need groups, households** (80+, disabled, 特困/低保, 0–3, 户数) are optional, ≥ 0, never
      above the column they are part of (80+ ≤ 60+, 0–3 ≤ 0–17, all ≤ population); a blank group
      cell is estimated later from the profile's census share (`circles.demand.groups`).
      ``area_type`` is ``"new"`` (新建) or ``"existing"`` (既有/老旧), for the floor-area rule.
    - **Missing age columns** are estimated as population × share (rounded to whole people
      when population is whole) and a note says which columns, for how many units, and with
      which share.
    - **Gates**: when point units share a ``demand_id``, the rows are the gates (出入口) of one
      unit; each row must repeat the unit's figures, which are split evenly across its gates
      (whole people by largest remainder). Each gate row gets ``demand_id`` ``"<id>/<k>"``
      and keeps the shared id in ``unit_id``.
    - **Errors**: every bad value is gathered and one `InputError` names the source, the
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
        Units indexed like `frame` (rows keep their labels), with the rows not used in
        ``dropped``.

    Examples
    --------
    >>> df = pd.DataFrame({"小区名称": ["A", "B"], "经度": [116.31, 116.32],
    ...                    "纬度": [39.99, 40.0], "常住人口": [1000, 2500]})
    >>> d = demand_from_frame(df, source_name="example")
    >>> d.units["pop_60plus"].tolist()
    [187, 468]
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{source_name}: expected a table (DataFrame), got {type(frame).__name__}")
    if len(frame) == 0:
        raise InputError(f"{source_name}: has no rows; add one row per residential unit with its population")
    shares = check_age_shares(age_shares)
    cols = resolve_columns(frame, source_name)
    if "population" not in cols:
        raise InputError(
            f"{source_name}: no population column among {list_columns(frame)}; "
            f"name it one of {', '.join(ALIASES['population'])}"
        )
    frame, dropped = _data_rows(frame, cols, source_name=source_name)
    problems: list[str] = []
    where = _row_labeller(frame)
    pop, ages = _population_values(frame, cols, where, problems)
    extra = _extra_values(frame, cols, pop, ages, where, problems)
    lon, lat, is_point = _locations(frame, cols, source_name, where, problems)
    ids = _parse_ids(frame, cols, where, problems)
    gate_groups = _gate_groups(ids, is_point, pop, ages, where, problems)
    if problems:
        raise InputError(problem_message(source_name, problems))

    whole = all_whole(pop) and all(all_whole(a[~np.isnan(a)]) for a in ages.values())
    ages, notes, estimated = _estimate_ages(pop, ages, shares, whole=whole, age_shares=age_shares,
                                            source_name=source_name, cols=cols)
    data: dict[str, Any] = {
        "demand_id": ids,
        "name": _text_column(frame, cols, "name"),
        "lon": lon,
        "lat": lat,
        "population": pop,
        "pop_60plus": ages["pop_60plus"],
        "pop_0_17": ages["pop_0_17"],
    }
    data.update(extra)
    for age, missing in estimated.items():
        data[estimated_column(age)] = missing
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
    return Demand(units=units, notes=tuple(notes), source=source_name, dropped=dropped)


def _data_rows(
    frame: pd.DataFrame, cols: Mapping[str, str], *, source_name: str,
) -> tuple[pd.DataFrame, tuple[DroppedRow, ...]]:
    """The rows holding units: blank rows skipped, total and example rows left out and recorded.

    A feature of a GIS file with a geometry is never blank (its figures may be missing: an error).
    """
    reasons = row_skip_reasons(frame)
    if has_geometry(frame):
        present = ~(shapely.is_missing(frame.geometry.to_numpy()) | shapely.is_empty(frame.geometry.to_numpy()))
        reasons = [None if (r == "blank" and p) else r for r, p in zip(reasons, present)]
    names = _text_column(frame, cols, "name")
    dropped = []
    for label, name, reason in zip(frame.index, names, reasons):
        if reason in DROP_REASONS:
            code, zh, en = DROP_REASONS[reason]
            dropped.append(DroppedRow(row=_row_number(label), name=name or "", reason=code, reason_zh=zh,
                                      reason_en=en))
    used = frame[[r is None for r in reasons]]
    if len(used) == 0:
        raise InputError(f"{source_name}: no data rows (only blank, total or example rows); add one row per "
                         "residential unit with its population")
    return used, tuple(dropped)


def _row_number(label: Any) -> Any:
    return int(label) if isinstance(label, (int, np.integer)) else label


def _text_column(frame: pd.DataFrame, cols: Mapping[str, str], key: str) -> np.ndarray:
    if key not in cols:
        return np.full(len(frame), None, dtype=object)
    return frame[cols[key]].map(clean_text).to_numpy(dtype=object)


def _population_values(
    frame: pd.DataFrame, cols: Mapping[str, str], where: Callable[[int], str], problems: list[str],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Population and the given age columns (NaN where blank); ages above the population are problems."""
    pop = parse_numbers(frame[cols["population"]], cols["population"], where, problems, blank_ok=False)
    ages: dict[str, np.ndarray] = {}
    for age in AGE_COLUMNS:
        if age in cols:
            ages[age] = parse_numbers(frame[cols[age]], cols[age], where, problems, blank_ok=True)
            for i in np.flatnonzero(ages[age] > pop):
                problems.append(
                    f"{where(i)} column '{cols[age]}': {fmt_number(ages[age][i])} is more than the population "
                    f"{fmt_number(pop[i])}; check the columns"
                )
    if len(ages) == 2:
        for i in np.flatnonzero(ages["pop_60plus"] + ages["pop_0_17"] > pop):
            problems.append(
                f"{where(i)}: 60+ ({fmt_number(ages['pop_60plus'][i])}) and 0-17 ({fmt_number(ages['pop_0_17'][i])}) "
                f"add up to more than the population {fmt_number(pop[i])}"
            )
    return pop, ages


def _extra_values(
    frame: pd.DataFrame, cols: Mapping[str, str], pop: np.ndarray, ages: Mapping[str, np.ndarray],
    where: Callable[[int], str], problems: list[str],
) -> dict[str, np.ndarray]:
    """Optional columns: district, community, area type (新建/既有), households and the need groups (80+ ...).

    Group cells may be blank (estimated later from the profile's census shares, see
    `circles.demand.groups`); a group above the column it is part of (80+ above 60+) is a problem.
    """
    out: dict[str, np.ndarray] = {}
    for key in ("district", "community"):
        if key in cols:
            out[key] = _text_column(frame, cols, key)
    if "area_type" in cols:
        kinds = np.full(len(frame), None, dtype=object)
        for i, v in enumerate(_text_column(frame, cols, "area_type")):
            kinds[i] = area_type(v) if isinstance(v, str) else None
            if isinstance(v, str) and kinds[i] is None:
                problems.append(f"{where(i)} column '{cols['area_type']}': {v!r} is neither a new nor an existing "
                                f"area; write {AREA_TYPES['new'][1]} (new) or {AREA_TYPES['existing'][2]} (existing)")
        out["area_type"] = kinds
    if "households" in cols:  # for the floor-area-per-100-households rule
        out["households"] = parse_numbers(frame[cols["households"]], cols["households"], where, problems,
                                          blank_ok=True)
    known = {"population": pop, **ages}
    for group in OPTIONAL_GROUPS:
        if group not in cols:
            continue
        values = parse_numbers(frame[cols[group]], cols[group], where, problems, blank_ok=True)
        cap = GROUP_CAPS[group] if GROUP_CAPS[group] in known else "population"  # 80+ within 60+, else population
        for i in np.flatnonzero(values > known[cap]):
            problems.append(f"{where(i)} column '{cols[group]}': {fmt_number(values[i])} is more than the "
                            f"{'population' if cap == 'population' else cols.get(cap, cap)} "
                            f"{fmt_number(known[cap][i])}; check the columns")
        out[group] = values
    return out


def _estimate_ages(
    pop: np.ndarray, ages: dict[str, np.ndarray], shares: Mapping[str, float], *, whole: bool,
    age_shares: Mapping[str, float] | None, source_name: str, cols: Mapping[str, str],
) -> tuple[dict[str, np.ndarray], list[str], dict[str, np.ndarray]]:
    """Missing age columns and blank age cells as population × share, with a note each, and which cells were."""
    ages = dict(ages)
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
            age_note(age, int(missing.sum()), len(pop), shares[age], age_shares, source_name, column=cols.get(age))
        )
    for age, missing in estimated.items():  # an estimate never pushes 60+ plus 0-17 above the population
        other = ages[AGE_COLUMNS[1 - AGE_COLUMNS.index(age)]]
        ages[age][missing] = np.minimum(ages[age][missing], pop[missing] - other[missing])
    return ages, notes, estimated


def _row_labeller(frame: pd.DataFrame):
    index = frame.index
    label = index.name or "index"

    def where(i: int) -> str:
        return f"{label} {index[i]}"

    return where


def _locations(frame, cols, source_name, where, problems) -> tuple[np.ndarray, np.ndarray, bool]:
    """lon, lat (WGS84 degrees) per row, and whether all rows are points (vs polygons)."""
    n = len(frame)
    if has_geometry(frame) and frame.geometry.notna().any():
        geoms = frame.geometry
        if geoms.crs is None:
            raise InputError(
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
        raise InputError(
            f"{source_name}: no coordinates: need longitude and latitude columns (e.g. 经度/纬度 or lon/lat) "
            f"among {list_columns(frame)}, or a geometry"
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
            f = (float(unicodedata.normalize("NFKC", str(v)).strip())
                 if not isinstance(v, (int, float, np.integer, np.floating)) else float(v))
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
        text = clean_text(v)
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
                    f"({', '.join('blank' if np.isnan(x) else fmt_number(x) for x in v)}); "
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
        for c in ("households", *OPTIONAL_GROUPS):
            if c in table:
                pos = table.columns.get_loc(c)
                table.iloc[rows, pos] = table.iloc[rows[0], pos] / k
        table.iloc[rows, uid] = key
        for j, r in enumerate(rows, start=1):
            table.iloc[r, did] = f"{key}/{j}"
    return table

"""Reading a ledger file and turning its table into checked facilities in WGS84.

Two layers: reading (the I/O edge: `read_ledger`, `read_ledger_table`,
`ledger_table_from_bytes`, through `circles.inputs.read_table`/`read_vector`) and checking
(`ledger_from_frame`, a pure function of a DataFrame: the app passes an uploaded table to it).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.coords import check_coords, to_wgs84
from circles.facilities.attributes import ATTRIBUTE_COLUMNS, bad_attributes_message, parse_attributes
from circles.errors import InputError
from circles.facilities.categories import match_categories, unknown_values_message
from circles.facilities.checks import DEFAULT_MAX_SNAP_M, HINT_MIN_POINTS, check_area, check_duplicates, \
    check_network, coords_hint
from circles.facilities.columns import canonical_table, facility_frame, is_ledger_header
from circles.facilities.coordinates import parse_amount, parse_coordinates
from circles.facilities.report import DROP_REASONS, LedgerError, LedgerReport, Problem, make_problem
from circles.inputs.dropped import DroppedRow
from circles.inputs.tables import TABLE_SUFFIXES, read_table, row_skip_reasons
from circles.inputs.text import text_series
from circles.inputs.vectors import VECTOR_SUFFIXES, read_vector

log = logging.getLogger(__name__)

__all__ = ["Ledger", "ledger_from_frame", "ledger_table_from_bytes", "read_ledger", "read_ledger_table"]

_TEMPLATE = "circles/data/templates/facilities_template.csv"


@dataclass(frozen=True, eq=False)
class Ledger:
    """Facilities read from a ledger, in WGS84, with the report of what was found.

    Attributes
    ----------
    facilities
        GeoDataFrame in EPSG:4326 with the columns of `FACILITY_COLUMNS` and point geometry;
        index 0..n-1. ``category``/``tier`` are profile ids; ``lon``/``lat`` are WGS84 degrees
        (converted from `coords`); ``capacity`` (beds or seats) and ``area_m2`` (floor area,
        square metres) are floats (NaN when absent); ``source_row`` is the row in the ledger.
    report
        The `LedgerReport`.
    source
        The ledger's name (file name).
    coords
        The coordinate system the ledger was declared in, before conversion.
    """

    facilities: gpd.GeoDataFrame
    report: LedgerReport
    source: str
    coords: str

    @property
    def dropped(self) -> tuple[DroppedRow, ...]:
        """One record per data row not used (row, name, reason): see `circles.inputs.format_dropped`."""
        return self.report.dropped


# ======================================================================== reading (I/O edge)
def read_ledger(
    path: str | Path,
    *,
    coords: str = "wgs84",
    profile: Any,
    net: Any = None,
    boundary: Any = None,
    sheet: str | int | None = None,
    layer: str | int | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> Ledger:
    """Read a facility ledger file and check it (see `ledger_from_frame` for the checks).

    Parameters
    ----------
    path
        CSV/TXT/TSV (UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16 with BOM; comma, tab,
        semicolon or ``|`` separated), XLSX, GeoJSON, GeoPackage or Shapefile (``.shp`` or
        ``.zip``). GIS files give their geometry as lon/lat (a point, or the representative
        point of a polygon), reprojected to WGS84; a GIS file without a CRS is refused.
    coords
        Coordinate system of the ledger's numbers: ``"wgs84"``, ``"gcj02"`` (Amap, Tencent) or
        ``"bd09"`` (Baidu). They are converted to WGS84.
    profile
        The service profile (`circles.profiles.load_profile`): its categories, tiers and words.
    net
        Optional `network.CompactNetwork` of the study area: enables the off-network check, the
        study-area check (without `boundary`) and the coordinate-system hint.
    boundary
        Optional study area (shapely geometry in WGS84, or a GeoDataFrame/GeoSeries).
    sheet
        XLSX: the sheet name or 0-based number (default: the first sheet).
    layer
        GeoPackage: the layer name or number (default: the first layer).
    max_snap_m
        Facilities farther than this from every road (metres) are reported off the network.

    Returns
    -------
    Ledger

    Raises
    ------
    InputError
        With a one-line message naming the file (and rows) when the file cannot be read;
        `LedgerError` (an `InputError` carrying every problem) when the ledger cannot be used.

    Examples
    --------
    >>> from circles.profiles import load_profile
    >>> ledger = read_ledger("养老设施.xlsx", coords="gcj02", profile=load_profile("15min"))  # doctest: +SKIP
    >>> print(format_report(ledger))  # doctest: +SKIP
    """
    path = Path(path)
    table, first_row = read_ledger_table(path, sheet=sheet, layer=layer)
    return ledger_from_frame(
        table, source_name=path.name, coords=coords, profile=profile, net=net, boundary=boundary,
        first_row=first_row, max_snap_m=max_snap_m,
    )


def read_ledger_table(
    path: str | Path, *, sheet: str | int | None = None, layer: str | int | None = None,
) -> tuple[pd.DataFrame, int]:
    """Read a ledger file into a table, without checking it.

    Tabular files are read as text (`circles.inputs.read_table`: nothing is parsed, so nothing
    is lost). When the header is not on the first line (a title row above it, common in Excel
    ledgers), the first of the top ten rows that names at least two required columns is the
    header. GIS files give a GeoDataFrame (`circles.inputs.read_vector`).

    Parameters
    ----------
    path
        The ledger file (see `read_ledger`).
    sheet, layer
        XLSX sheet and GeoPackage layer (name or 0-based number).

    Returns
    -------
    tuple
        ``(table, first_row)``: the table and the row number (as the planner sees it) of its
        first data row (1 for GIS files: feature numbers).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path of the facility ledger")
    if _check_suffix(path.name) in TABLE_SUFFIXES:
        return read_table(path, source_name=path.name, sheet=sheet, is_header=is_ledger_header)
    return read_vector(path, what="facility ledger", layer=layer, source_name=path.name), 1


def ledger_table_from_bytes(
    data: bytes, *, file_name: str, sheet: str | int | None = None, layer: str | int | None = None,
) -> tuple[pd.DataFrame, int]:
    """Read an uploaded ledger (its bytes and file name) into a table, without checking it.

    The same as `read_ledger_table` for content held in memory, e.g. a Streamlit upload:
    ``ledger_table_from_bytes(upload.getvalue(), file_name=upload.name)``. The suffix of
    `file_name` gives the format. A Shapefile must come zipped (``.zip``) with its
    ``.dbf``/``.shx``/``.prj``.

    Parameters
    ----------
    data
        The file's bytes.
    file_name
        Its name: the format comes from the suffix, and messages name it.
    sheet, layer
        XLSX sheet and GeoPackage layer (name or 0-based number).

    Returns
    -------
    tuple
        ``(table, first_row)`` as `read_ledger_table`; pass both on to `ledger_from_frame`.
    """
    if _check_suffix(file_name) in TABLE_SUFFIXES:
        return read_table(bytes(data), source_name=file_name, sheet=sheet, is_header=is_ledger_header)
    return read_vector(bytes(data), what="facility ledger", layer=layer, source_name=file_name), 1


def _check_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        raise InputError(
            f"{name}: the old Excel .xls format is not supported; open it in Excel or WPS and "
            "save it as .xlsx (or as CSV UTF-8)"
        )
    if suffix not in (*TABLE_SUFFIXES, *VECTOR_SUFFIXES):
        raise InputError(
            f"{name}: unknown ledger format {suffix or '(no suffix)'!r}; use .csv, .xlsx, .geojson, "
            f".gpkg or .shp (see {_TEMPLATE})"
        )
    return suffix


# ======================================================================== checking (pure)
def ledger_from_frame(
    df: pd.DataFrame,
    *,
    source_name: str,
    coords: str = "wgs84",
    profile: Any,
    net: Any = None,
    boundary: Any = None,
    first_row: int = 2,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> Ledger:
    """Check a ledger table and turn it into facilities in WGS84.

    Steps: map the headers to the canonical columns (`COLUMN_ALIASES`); skip blank rows, total
    rows (合计/总计) and template example rows (a cell starting with 示例：); match each category
    (and tier) value with the profile's words; parse the coordinates, swap back rows with
    lon/lat swapped, drop rows with missing or impossible coordinates; convert to WGS84 from
    `coords`; warn about points outside the study area, off the network and duplicated; with a
    network, hint when the numbers fit the roads markedly better read as another coordinate
    system. Every data row not used is recorded in ``report.dropped``.

    Parameters
    ----------
    df
        The ledger: one facility per row, any of the accepted headers. Cells may be strings or
        numbers. A GeoDataFrame's geometry gives lon/lat (reprojected to WGS84 when it has a
        CRS) and replaces any lon/lat columns.
    source_name
        The ledger's name in messages (e.g. the uploaded file's name).
    coords
        Coordinate system of the numbers: ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.
    profile
        The service profile: ``profile.lookup``, ``profile.known_words`` and ``profile.categories``.
    net
        Optional `network.CompactNetwork` (``to_xy``, ``snap``, ``bbox_lonlat``).
    boundary
        Optional study area (shapely geometry in WGS84, or a GeoDataFrame/GeoSeries).
    first_row
        The row number the planner sees for the first row of `df`: 2 for spreadsheets (the
        header is row 1), 1 for GIS files (feature numbers).
    max_snap_m
        Off-network threshold (metres).

    Returns
    -------
    Ledger

    Raises
    ------
    LedgerError
        (an `InputError`) When a category or tier value is not in the profile (one message
        naming every unknown value, its rows and the closest known word), every row has lon/lat
        swapped, or no row is usable; ``.problems`` holds every problem found.
    InputError
        When a required column is missing or an argument is invalid.

    Examples
    --------
    >>> from circles.profiles import load_profile
    >>> table = pd.DataFrame({"名称": ["学院路街道养老服务中心"], "类型": ["养老服务中心"],
    ...                       "经度": ["116.3443"], "纬度": ["39.9982"]})
    >>> ledger = ledger_from_frame(table, source_name="upload.csv", coords="gcj02",
    ...                            profile=load_profile("15min"))
    >>> ledger.facilities[["name", "category", "tier", "source_row"]].values.tolist()
    [['学院路街道养老服务中心', 'elderly', 'centre', 2]]
    >>> ledger.facilities[["lon", "lat"]].round(4).values.tolist()
    [[116.3381, 39.9969]]
    """
    coords = check_coords(coords)
    if not max_snap_m > 0:
        raise InputError(f"max_snap_m is {max_snap_m}; give a distance > 0 metres, e.g. 200")
    problems: list[Problem] = []
    table, headers = canonical_table(df, source_name=source_name, problems=problems)
    table = table.assign(source_row=first_row + np.arange(len(table)))
    table, text, n_rows, skipped, names = _data_rows(df, table, headers, source_name=source_name, problems=problems)
    src = table["source_row"].to_numpy()

    category, tier, drop = match_categories(
        text["category"], text.get("tier"), src, profile=profile, headers=headers, problems=problems,
    )
    try:
        lon, lat, bad = parse_coordinates(table, headers, src, source_name=source_name, problems=problems)
    except LedgerError as exc:  # every row swapped: name the rows' facilities in the problems too
        raise LedgerError(str(exc), _with_names(list(exc.problems), names)) from None
    drop |= bad
    _refuse_unusable(problems, drop, names, source_name=source_name, profile=profile)

    keep = ~drop
    wlon, wlat = (np.atleast_1d(v) for v in to_wgs84(lon[keep], lat[keep], coords))
    kept_rows = src[keep]
    name_values = _names_of_kept(text["name"].to_numpy(dtype=object)[keep], kept_rows, headers, problems)
    capacity = parse_amount(text.get("capacity"), src, headers.get("capacity"), problems)[keep]
    area_m2 = parse_amount(text.get("area_m2"), src, headers.get("area_m2"), problems)[keep]
    attributes = _attributes(text, keep, kept_rows, headers, capacity, area_m2, problems)
    message = bad_attributes_message(problems, source_name=source_name)
    if message is not None:
        raise LedgerError(message, _with_names(problems, names))
    outside = check_area(wlon, wlat, kept_rows, net=net, boundary=boundary, problems=problems)
    median_snap: dict[str, float] = {}
    suggested = None
    if net is not None:
        check_network(net, wlon, wlat, kept_rows, outside, max_snap_m=max_snap_m, problems=problems)
        # Judge the coordinate system on the facilities inside the study area when there are
        # enough: a city-wide ledger against one district's network would drown the signal.
        inside = ~outside if (~outside).sum() >= HINT_MIN_POINTS else np.ones(len(outside), dtype=bool)
        median_snap, suggested = coords_hint(net, lon[keep][inside], lat[keep][inside], coords, problems=problems)
    check_duplicates(name_values, wlon, wlat, kept_rows, problems=problems)

    def optional(col: str) -> list[Any]:
        return [v or None for v in text[col].to_numpy(dtype=object)[keep]] if col in text else [None] * len(kept_rows)

    facilities = facility_frame({
        "name": name_values, "category": category[keep], "tier": tier[keep], "lon": wlon, "lat": wlat,
        "capacity": capacity, "area_m2": area_m2,
        "district": optional("district"), "address": optional("address"), "source_row": kept_rows,
        "community": optional("community"), **attributes,
    })
    problems = _with_names(problems, names)
    report = LedgerReport(
        source=source_name, coords=coords, n_rows=n_rows, n_facilities=len(facilities),
        problems=tuple(problems), median_snap_m=median_snap, suggested_coords=suggested,
        dropped=_dropped(skipped, problems, src[drop], names),
    )
    log.info("%s: %d facilities from %d rows, %d errors, %d warnings, %d rows not used", source_name,
             len(facilities), n_rows, len(report.errors), len(report.warnings), len(report.dropped))
    return Ledger(facilities=facilities, report=report, source=source_name, coords=coords)


def _attributes(
    text: Mapping[str, pd.Series], keep: np.ndarray, rows: np.ndarray, headers: Mapping[str, str],
    capacity: np.ndarray, area_m2: np.ndarray, problems: list[Problem],
) -> dict[str, np.ndarray]:
    """Floor, lift, functions and opening times of the kept rows; a negative capacity or area is a bad value too."""
    for values, col in ((capacity, "capacity"), (area_m2, "area_m2")):
        for i in np.flatnonzero(values < 0):
            problems.append(make_problem(
                int(rows[i]), headers.get(col), "bad_attribute", f"“{values[i]:g}”为负数，应为 ≥ 0 的数",
                f"{values[i]:g} is negative; {'capacity (beds, seats)' if col == 'capacity' else 'floor area (m²)'} "
                "must be ≥ 0", value=f"{values[i]:g}"))
    cells = {c: text[c].to_numpy(dtype=object)[keep] for c in ATTRIBUTE_COLUMNS if c in text}
    return parse_attributes(cells, rows, headers, problems)


def _data_rows(
    df: pd.DataFrame, table: pd.DataFrame, headers: Mapping[str, str], *, source_name: str,
    problems: list[Problem],
) -> tuple[pd.DataFrame, dict[str, pd.Series], int, list[tuple[int, str]], dict[int, str]]:
    """The rows holding facilities: blank rows removed, example and total rows skipped with a warning.

    Returns the table, its text columns, the number of non-blank rows, the skipped
    ``(row, reason)`` pairs and the name cell of every non-blank row. A blank row has every canonical cell empty; an example or total row
    is recognised on all of the ledger's cells (`circles.inputs.row_skip_reasons`).
    """
    blank = np.array(row_skip_reasons(table.drop(columns="source_row")), dtype=object) == "blank"
    reasons = np.array(row_skip_reasons(df.reset_index(drop=True)), dtype=object)
    table, reasons = table[~blank], reasons[~blank]
    n_rows = len(table)
    names = dict(zip(table["source_row"].tolist(), text_series(table["name"]).tolist()))
    if n_rows == 0:
        raise InputError(f"{source_name}: no data rows below the header; fill in one facility per row (see {_TEMPLATE})")
    skipped: list[tuple[int, str]] = []
    for r, reason in zip(table["source_row"], reasons):
        if reason == "example":
            skipped.append((int(r), "example_row"))
            problems.append(make_problem(
                int(r), headers["name"], "example_row",
                "模板示例行（名称以“示例：”开头），已跳过；请删除该行",
                "template example row (name starts with 示例：), skipped; delete it",
            ))
        elif reason == "total":
            skipped.append((int(r), "total_row"))
            problems.append(make_problem(
                int(r), None, "total_row", "合计行（不是设施），已跳过", "total row (合计), not a facility; skipped",
            ))
    table = table[~np.isin(reasons, ("example", "total"))]
    if len(table) == 0:
        if all(kind == "example_row" for _, kind in skipped):
            raise InputError(
                f"{source_name}: only template example rows (names starting with 示例：); add your "
                "facilities below the header and delete the example rows"
            )
        raise InputError(f"{source_name}: only example and total rows below the header; add one facility per row")
    text = {c: text_series(table[c]) for c in headers if c not in ("lon", "lat")}
    return table, text, n_rows, skipped, names


def _refuse_unusable(
    problems: list[Problem], drop: np.ndarray, names: Mapping[int, str], *, source_name: str, profile: Any,
) -> None:
    """Raise `LedgerError` for unknown category/tier values, or when no row is usable."""
    message = unknown_values_message(problems, source_name=source_name, profile=profile)
    if message is not None:
        raise LedgerError(message, _with_names(problems, names))
    if not (~drop).any():
        errors = sorted((p for p in problems if p.severity == "error"), key=lambda p: p.row or 0)
        more = f"; {len(errors)} errors in all" if len(errors) > 1 else ""
        raise LedgerError(f"{errors[0].describe(source_name)} (no usable row in the ledger{more})",
                          _with_names(problems, names))


def _names_of_kept(names: np.ndarray, rows: np.ndarray, headers: Mapping[str, str], problems: list[Problem]) -> np.ndarray:
    """The names of the kept rows; an empty one becomes ``"#<row>"`` with a warning."""
    names = names.copy()
    for i, r in enumerate(rows):
        if not names[i]:
            names[i] = f"#{r}"
            problems.append(make_problem(
                int(r), headers["name"], "missing_name", f"名称为空，暂记为 “#{r}”",
                f"the name is empty; named '#{r}' for now",
            ))
    return names


def _with_names(problems: list[Problem], names: Mapping[int, str]) -> list[Problem]:
    """Problems in row order (file-level first), each with its row's facility name."""
    out = [dataclasses.replace(p, name=names.get(p.row) or None) if p.row is not None and p.name is None else p
           for p in problems]
    out.sort(key=lambda p: (p.row is not None, p.row or 0))
    return out


def _dropped(
    skipped: list[tuple[int, str]], problems: list[Problem], dropped_rows: np.ndarray, names: Mapping[int, str],
) -> tuple[DroppedRow, ...]:
    """One record per row not used: skipped example/total rows and rows with an error (its first)."""
    reason = dict(skipped)
    dropped = set(dropped_rows.tolist())
    for p in problems:
        if p.severity == "error" and p.row in dropped:
            reason.setdefault(p.row, p.kind)
    return tuple(
        DroppedRow(row=r, name=names.get(r, "") or "", reason=k, reason_zh=DROP_REASONS[k][0],
                   reason_en=DROP_REASONS[k][1])
        for r, k in sorted(reason.items())
    )

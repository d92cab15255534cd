"""Facility ledgers: read the planner's CSV/XLSX/GIS table, check it, convert it to WGS84.

A ledger (台账) lists one facility per row: name, category, longitude and latitude, and
optionally tier, capacity (beds / meal seats), floor area, street (街道) and address. Planners
keep them in Excel with Chinese headers, geocoded with Amap/Tencent (GCJ-02) or Baidu (BD-09).

The module has two layers:

- reading (the I/O edge): `read_ledger`, `read_ledger_table` and `ledger_table_from_bytes`
  (uploads) open CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16 with BOM), XLSX, GeoJSON,
  GeoPackage and Shapefile and return a plain table of strings (GIS files: a GeoDataFrame);
- checking (pure functions on DataFrames): `ledger_from_frame` maps the headers, matches the
  categories against the profile, converts the coordinates to WGS84 and gathers every problem
  into a `LedgerReport`. The app passes an uploaded DataFrame straight to it.

Row numbers in messages are the rows the planner sees in Excel: the header is row 1, the first
data row is row 2 (for GIS files: the feature number, from 1, as in the QGIS attribute table).

Severity policy:

- fatal (`CirclesError`, one line): unreadable file, missing name/category/coordinate columns,
  a category or tier value the profile does not know, every row with swapped lon/lat, no
  usable row at all;
- ``"error"`` problems: the row is dropped and reported (missing or unparseable coordinates,
  coordinates out of range, missing category);
- ``"warning"`` problems: the row is kept (rows with swapped lon/lat, which are swapped back;
  outside the study area; off the road network; duplicates; unparseable capacity or area) and
  the file-level hint that the coordinates look like GCJ-02/BD-09 rather than the declared system.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.coords import CHINA_BBOX, COORD_SYSTEMS, check_coords, to_wgs84
from circles.errors import CirclesError

log = logging.getLogger(__name__)

__all__ = [
    "COLUMN_ALIASES",
    "FACILITY_COLUMNS",
    "Ledger",
    "LedgerReport",
    "Problem",
    "facilities_from_osm",
    "format_report",
    "ledger_from_frame",
    "ledger_table_from_bytes",
    "read_ledger",
    "read_ledger_table",
    "report_counts",
]

#: Columns of every facility frame, in order (plus ``geometry``).
FACILITY_COLUMNS: tuple[str, ...] = (
    "name", "category", "tier", "lon", "lat", "capacity", "area_m2", "district", "address",
    "source_row",
)

#: Accepted headers per canonical column, in order of preference. Matching ignores case,
#: spaces, full-/half-width differences, a trailing ``*`` and a bracketed unit, so
#: ``"经度（GCJ-02）"``, ``"建筑面积(㎡)"`` and ``"名称*"`` match.
COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "name": ("名称", "机构名称", "设施名称", "站点名称", "name"),
    "category": ("类型", "类别", "设施类型", "category"),
    "lon": ("经度", "lon", "lng", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "tier": ("层级", "级别", "tier"),
    "capacity": ("容量", "床位", "床位数", "餐位", "餐位数", "capacity"),
    "area_m2": ("建筑面积", "面积", "area_m2", "area"),
    "district": ("所属街道", "街道", "district"),
    "address": ("地址", "address"),
}
#: One column holding ``"lon,lat"`` (Amap's ``location``), used when there is no lon/lat pair.
LONLAT_ALIASES: tuple[str, ...] = ("经纬度", "坐标", "location", "lnglat", "lonlat")

REQUIRED_COLUMNS: tuple[str, ...] = ("name", "category", "lon", "lat")
SEVERITIES: tuple[str, ...] = ("error", "warning")

#: Problem kinds, with their severity.
PROBLEM_KINDS: Mapping[str, str] = {
    "missing_category": "error",
    "missing_coordinates": "error",
    "bad_coordinates": "error",
    "out_of_range": "error",
    "swapped": "warning",
    "example_row": "warning",
    "missing_name": "warning",
    "bad_number": "warning",
    "outside_area": "warning",
    "off_network": "warning",
    "duplicate": "warning",
    "same_location": "warning",
    "duplicate_column": "warning",
    "coords_hint": "warning",
}

DEFAULT_MAX_SNAP_M = 200.0  # farther from every road than this: "off the network"
DUPLICATE_RADIUS_M = 20.0  # same name closer than this: a duplicate entry
AREA_MARGIN_M = 500.0  # margin around the network's bbox for the study-area check
SAME_LOCATION_MIN_ROWS = 3  # this many differently named rows on one spot: a geocoder fallback
# The coordinate-system hint: another reading of the numbers must fit the roads HINT_RATIO times
# better (median distance to the nearest road) and by HINT_MIN_GAIN_M metres, over at least
# HINT_MIN_POINTS facilities. Chosen by simulation on the real extracts (facilities 5–100 m
# from a road): in dense Beijing and Shenzhen a GCJ-02 ledger read as WGS84 has a median snap
# distance of only 15–45 m (against 7–12 m), so a 50 m gain would catch under a quarter of
# them; a 10 m gain catches 75–96 % with 10–30 facilities, and true WGS84 ledgers of 8 or more
# facilities were flagged in none or 1–2 % of trials (3–4 % with only 5 facilities).
HINT_MIN_POINTS = 8
HINT_RATIO = 2.0
HINT_MIN_GAIN_M = 10.0
HINT_SEARCH_M = 5000.0

_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
# Template example rows: the name starts with "示例：" (or "example:"). Only with the colon, so
# that real names such as 示例一街道 (the sample district) are kept.
_EXAMPLE_RE = re.compile(r"^\s*(示例|example)\s*[:：]", re.IGNORECASE)
_COORDS_LABEL = {"wgs84": "WGS84", "gcj02": "GCJ-02", "bd09": "BD-09"}
_COORDS_SOURCE = {
    "wgs84": ("GPS/OpenStreetMap", "GPS/OpenStreetMap"),
    "gcj02": ("Amap/Tencent", "高德/腾讯"),
    "bd09": ("Baidu", "百度"),
}


# ======================================================================== data classes
@dataclass(frozen=True)
class Problem:
    """One problem found in a ledger.

    Attributes
    ----------
    row
        Spreadsheet row as the planner sees it (header = row 1, first data row = row 2; for
        GIS files the feature number from 1), or None for a problem of the whole file.
    column
        The ledger's header of the offending column (e.g. ``"纬度"``), or None.
    kind
        One of `PROBLEM_KINDS` (``"out_of_range"``, ``"duplicate"``, ...).
    message_zh, message_en
        The problem and its fix, without the file name and row (see `Problem.describe`).
    severity
        ``"error"`` (the row was dropped) or ``"warning"`` (the row was kept).
    """

    row: int | None
    column: str | None
    kind: str
    message_zh: str
    message_en: str
    severity: str

    def describe(self, source: str = "", *, lang: str = "en") -> str:
        """One line naming the file and row: ``"facilities.csv row 17: latitude ..."``."""
        lang = _check_lang(lang)
        if lang == "zh":
            where = f"{source} 第 {self.row} 行" if self.row is not None else source
            return f"{where}：{self.message_zh}" if where else self.message_zh
        where = f"{source} row {self.row}" if self.row is not None else source
        return f"{where}: {self.message_en}" if where else self.message_en


@dataclass(frozen=True)
class LedgerReport:
    """What reading a ledger found.

    Attributes
    ----------
    source
        The ledger's name in messages (its file name).
    coords
        The declared coordinate system of the ledger (``"wgs84"``, ``"gcj02"``, ``"bd09"``).
    n_rows
        Data rows read (blank rows not counted).
    n_facilities
        Rows kept as facilities.
    problems
        Every problem, in row order; file-level problems (row None) first.
    median_snap_m
        With a network: the median distance (metres) from the facilities to the nearest road
        when the ledger's numbers are read as each coordinate system; empty without a network.
    suggested_coords
        The coordinate system the ledger more likely uses, when it fits the network markedly
        better than the declared one; None otherwise.
    """

    source: str
    coords: str
    n_rows: int
    n_facilities: int
    problems: tuple[Problem, ...] = ()
    median_snap_m: Mapping[str, float] = field(default_factory=dict, compare=False)
    suggested_coords: str | None = None

    @property
    def errors(self) -> tuple[Problem, ...]:
        """Problems whose rows were dropped."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems whose rows were kept (and file-level hints)."""
        return tuple(p for p in self.problems if p.severity == "warning")

    def of_kind(self, kind: str) -> tuple[Problem, ...]:
        """Problems of one kind, e.g. ``report.of_kind("duplicate")``."""
        if kind not in PROBLEM_KINDS:
            raise CirclesError(f"problem kind {kind!r} is unknown; use one of {', '.join(PROBLEM_KINDS)}")
        return tuple(p for p in self.problems if p.kind == kind)

    def to_frame(self) -> pd.DataFrame:
        """The problems as a table (row, column, kind, severity, message_zh, message_en)."""
        cols = ["row", "column", "kind", "severity", "message_zh", "message_en"]
        return pd.DataFrame([{c: getattr(p, c) for c in cols} for p in self.problems], columns=cols)


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
        CSV/TXT/TSV (UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16 with BOM; comma, tab or
        semicolon separated), XLSX, GeoJSON, GeoPackage or Shapefile (``.shp`` or ``.zip``).
        GIS files give their geometry as lon/lat (a point, or the representative point of a
        polygon), reprojected to WGS84 when the file has a CRS.
    coords
        Coordinate system of the ledger's numbers: ``"wgs84"``, ``"gcj02"`` (Amap, Tencent) or
        ``"bd09"`` (Baidu). They are converted to WGS84.
    profile
        The service profile (`circles.profiles.load_profile`): its categories and tiers.
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
    CirclesError
        With a one-line message naming the file (and row) when the file cannot be read or the
        ledger cannot be used; see `ledger_from_frame`.

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

    Tabular files are read as strings (no number parsing, so nothing is lost). When the header
    is not on the first line (a title row above it, common in Excel ledgers), the first of the
    top ten rows that names at least two required columns is taken as the header. GIS files
    give a GeoDataFrame in EPSG:4326.

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
        first data row.
    """
    path = Path(path)
    if not path.exists():
        raise CirclesError(f"{path}: no such file; check the path of the facility ledger")
    suffix = _check_suffix(path.name)
    if suffix in _CSV_SUFFIXES:
        return _csv_table(path.read_bytes(), source_name=path.name)
    if suffix in _EXCEL_SUFFIXES:
        return _read_excel(path, name=path.name, sheet=sheet)
    return _read_vector(path, name=path.name, layer=layer), 1


def ledger_table_from_bytes(
    data: bytes, *, file_name: str, sheet: str | int | None = None, layer: str | int | None = None,
) -> tuple[pd.DataFrame, int]:
    """Read an uploaded ledger (its bytes and file name) into a table, without checking it.

    The same as `read_ledger_table` for content held in memory, e.g. a Streamlit upload:
    ``ledger_table_from_bytes(upload.getvalue(), file_name=upload.name)``. The suffix of
    `file_name` gives the format. CSV text encodings are detected by trying, in order: a UTF-16
    or UTF-8 byte-order mark, UTF-8, then GB18030 (a superset of GBK and GB2312, what Excel in
    China saves as "CSV"); the delimiter is the most frequent of comma, tab, semicolon and
    ``|`` on the first line. A Shapefile must come zipped (``.zip``) with its ``.dbf``/``.shx``.

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

    Raises
    ------
    CirclesError
        When the format is unknown, the text is neither UTF-8 nor GBK/GB18030, or the file
        cannot be parsed.
    """
    suffix = _check_suffix(file_name)
    if suffix in _CSV_SUFFIXES:
        return _csv_table(bytes(data), source_name=file_name)
    if suffix in _EXCEL_SUFFIXES:
        return _read_excel(io.BytesIO(data), name=file_name, sheet=sheet)
    if suffix == ".shp":
        raise CirclesError(
            f"{file_name}: a Shapefile upload needs its .dbf and .shx; zip them together and upload the .zip"
        )
    return _read_vector(io.BytesIO(data), name=file_name, layer=layer), 1


def _check_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix == ".xls":
        raise CirclesError(
            f"{name}: the old Excel .xls format is not supported; open it in Excel or WPS and "
            "save it as .xlsx (or as CSV UTF-8)"
        )
    if suffix not in (*_CSV_SUFFIXES, *_EXCEL_SUFFIXES, *_VECTOR_SUFFIXES):
        raise CirclesError(
            f"{name}: unknown ledger format {suffix or '(no suffix)'!r}; use .csv, .xlsx, .geojson, "
            ".gpkg or .shp (see circles/data/templates/facilities_template.csv)"
        )
    return suffix


def _csv_table(data: bytes, *, source_name: str) -> tuple[pd.DataFrame, int]:
    text = _decode(data, source_name=source_name)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    delimiter = max([",", "\t", ";", "|"], key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return _table_from_rows(rows, source_name=source_name)


def _decode(data: bytes, *, source_name: str) -> str:
    if data[:4] == b"PK\x03\x04":
        raise CirclesError(
            f"{source_name}: this is an Excel workbook (.xlsx) saved under a CSV name; rename it "
            "to .xlsx or save it from Excel as CSV UTF-8"
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        candidates: Sequence[str] = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # NULs: UTF-16 without a BOM, or a binary file
            log.debug("%s: decoded as %s", source_name, encoding)
            return text
    raise CirclesError(
        f"{source_name}: cannot read the text: it is neither UTF-8 nor GBK/GB18030; open it in "
        "Excel or WPS and save it as CSV UTF-8 (逗号分隔), or save it as .xlsx"
    )


def _table_from_rows(rows: list[list[Any]], *, source_name: str) -> tuple[pd.DataFrame, int]:
    """Header detection and padding for rows of cells (CSV lines or Excel rows)."""
    rows = [["" if c is None else c for c in r] for r in rows]
    while rows and not any(_cell_text(c) for c in rows[-1]):  # Excel's formatted empty rows
        rows.pop()
    if not any(any(_cell_text(c) for c in r) for r in rows):
        raise CirclesError(
            f"{source_name}: the ledger is empty; put the column names in row 1 and one facility per "
            "row below (see circles/data/templates/facilities_template.csv)"
        )
    header_idx = 0
    for i, r in enumerate(rows[:10]):
        found = {_canonical_of(_cell_text(c)) for c in r} & set(REQUIRED_COLUMNS)
        lonlat = any(_norm_header(_cell_text(c)) in _LONLAT_KEYS for c in r)
        if len(found) + lonlat >= 2:
            header_idx = i
            break
    width = max(len(r) for r in rows)
    header = [_cell_text(c) for c in rows[header_idx]] + [""] * (width - len(rows[header_idx]))
    columns: list[str] = []
    for i, h in enumerate(header):
        h = h or f"column{i + 1}"
        base, k = h, 1
        while h in columns:
            h = f"{base}.{k}"
            k += 1
        columns.append(h)
    body = [list(r) + [""] * (width - len(r)) for r in rows[header_idx + 1:]]
    table = pd.DataFrame(body, columns=columns, dtype=object)
    return table, header_idx + 2


def _read_excel(source: Path | io.BytesIO, *, name: str, sheet: str | int | None) -> tuple[pd.DataFrame, int]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException
        raise CirclesError(
            f"{name}: cannot open the workbook ({type(exc).__name__}: {exc}); save it again from "
            "Excel or WPS as .xlsx"
        ) from exc
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise CirclesError(
                    f"{name}: sheet number {sheet} does not exist; the workbook has {len(names)} "
                    f"sheet(s): {', '.join(names)} (numbers start at 0)"
                )
            ws = wb[names[sheet]]
        else:
            if sheet not in names:
                raise CirclesError(f"{name}: no sheet named {sheet!r}; the sheets are {', '.join(names)}")
            ws = wb[sheet]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    return _table_from_rows(rows, source_name=name)


def _read_vector(source: Path | io.BytesIO, *, name: str, layer: str | int | None) -> gpd.GeoDataFrame:
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    if isinstance(source, Path) and source.suffix.lower() == ".shp" and not source.with_suffix(".cpg").exists():
        # No code page file: Chinese shapefiles without one are nearly always GBK.
        kwargs["encoding"] = _shapefile_encoding(source)
    try:
        frame = gpd.read_file(source, engine="pyogrio", **kwargs)
    except Exception as exc:  # pyogrio's DataSourceError/DataLayerError, fiona-free
        raise CirclesError(
            f"{name}: cannot read it as a GIS file ({type(exc).__name__}: {exc}); check that the "
            "file is complete (a .shp needs its .shx and .dbf) or export the ledger as CSV"
        ) from exc
    return frame


def _shapefile_encoding(path: Path) -> str:
    """UTF-8 when the .dbf's field names and records decode as UTF-8, else GB18030 (GBK)."""
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        return "utf-8"
    data = dbf.read_bytes()
    header_len = int.from_bytes(data[8:10], "little")
    n_fields = max((header_len - 33) // 32, 0)
    names = b"".join(data[32 + 32 * i: 43 + 32 * i] for i in range(n_fields))
    body = data[header_len:].rstrip(b"\x1a")  # records are text, numbers included
    try:
        (names + body).decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


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

    Steps: map the headers to the canonical columns (`COLUMN_ALIASES`); skip blank rows and
    template example rows (name starting with 示例：); match each category (and tier) value with
    ``profile.match_category``; parse the coordinates, swap back rows with lon/lat swapped,
    drop rows with missing or impossible coordinates; convert to WGS84 from `coords`; warn
    about points outside the study area, off the network and duplicated; with a network, hint
    when the numbers fit the roads markedly better read as another coordinate system.

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
        The service profile: ``profile.match_category`` and ``profile.categories``.
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
    CirclesError
        When a required column is missing, a category or tier is not in the profile, every row
        has lon/lat swapped, or no row is usable; the message names the file, the rows, the
        values and the fix.

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
        raise CirclesError(f"max_snap_m is {max_snap_m}; give a distance > 0 metres, e.g. 200")
    problems: list[Problem] = []
    table, headers = _canonical_table(df, source_name=source_name, problems=problems)
    rows = first_row + np.arange(len(table))
    table = table.assign(source_row=rows)

    # Blank rows and template example rows.
    text = {c: _text_series(table[c]) for c in headers if c not in ("lon", "lat")}
    blank = np.ones(len(table), dtype=bool)
    for c in headers:
        col = text[c] if c in text else _text_series(table[c])
        blank &= (col == "").to_numpy()
    table = table[~blank]
    text = {c: s[~blank] for c, s in text.items()}
    n_rows = len(table)
    if n_rows == 0:
        raise CirclesError(
            f"{source_name}: no data rows below the header; fill in one facility per row "
            "(see circles/data/templates/facilities_template.csv)"
        )
    names = text["name"]
    example = names.map(lambda v: bool(_EXAMPLE_RE.match(v))).to_numpy(dtype=bool)
    for r in table["source_row"][example]:
        problems.append(_problem(
            int(r), headers["name"], "example_row",
            "模板示例行（名称以“示例：”开头），已跳过；请删除该行",
            "template example row (name starts with 示例：), skipped; delete it",
        ))
    table = table[~example]
    text = {c: s[~example] for c, s in text.items()}
    if len(table) == 0:
        raise CirclesError(
            f"{source_name}: only template example rows (names starting with 示例：); add your "
            "facilities below the header and delete the example rows"
        )
    src = table["source_row"].to_numpy()

    category, tier, drop = _match_categories(
        text["category"], text.get("tier"), src, profile=profile, headers=headers,
        source_name=source_name, problems=problems,
    )
    lon, lat, bad = _parse_coordinates(table, headers, src, source_name=source_name, problems=problems)
    drop |= bad

    keep = ~drop
    if not keep.any():
        errors = sorted((p for p in problems if p.severity == "error"), key=lambda p: p.row or 0)
        more = f"; {len(errors)} errors in all" if len(errors) > 1 else ""
        raise CirclesError(f"{errors[0].describe(source_name)} (no usable row in the ledger{more})")

    raw_lon, raw_lat = lon[keep], lat[keep]
    wlon, wlat = to_wgs84(raw_lon, raw_lat, coords)
    wlon, wlat = np.atleast_1d(wlon), np.atleast_1d(wlat)
    kept_rows = src[keep]

    name_values = names[~example].to_numpy(dtype=object)[keep]
    for i, r in enumerate(kept_rows):
        if not name_values[i]:
            name_values[i] = f"#{r}"
            problems.append(_problem(
                int(r), headers["name"], "missing_name", f"名称为空，暂记为 “#{r}”",
                f"the name is empty; named '#{r}' for now",
            ))

    capacity = _parse_amount(text.get("capacity"), src, headers.get("capacity"), problems)
    area = _parse_amount(text.get("area_m2"), src, headers.get("area_m2"), problems)

    outside = _check_area(wlon, wlat, kept_rows, net=net, boundary=boundary, problems=problems)
    median_snap: dict[str, float] = {}
    suggested = None
    if net is not None:
        _check_network(net, wlon, wlat, kept_rows, outside, max_snap_m=max_snap_m, problems=problems)
        # Judge the coordinate system on the facilities inside the study area when there are
        # enough: a city-wide ledger against one district's network would drown the signal.
        inside = ~outside if (~outside).sum() >= HINT_MIN_POINTS else np.ones(len(outside), dtype=bool)
        median_snap, suggested = _coords_hint(
            net, raw_lon[inside], raw_lat[inside], coords, problems=problems,
        )
    _check_duplicates(name_values, wlon, wlat, kept_rows, problems=problems)

    def optional_text(col: str) -> pd.Series:
        if col not in text:
            return pd.Series([np.nan] * len(kept_rows), dtype="str")
        values = text[col].to_numpy(dtype=object)[keep]
        return pd.Series([v if v else np.nan for v in values], dtype="str")

    facilities = gpd.GeoDataFrame(
        {
            "name": pd.Series(list(name_values), dtype="str"),
            "category": pd.Series(list(category[keep]), dtype="str"),
            "tier": pd.Series([t if t else np.nan for t in tier[keep]], dtype="str"),
            "lon": wlon.astype(float),
            "lat": wlat.astype(float),
            "capacity": capacity[keep],
            "area_m2": area[keep],
            "district": optional_text("district"),
            "address": optional_text("address"),
            "source_row": kept_rows.astype(np.int64),
        },
        geometry=gpd.points_from_xy(wlon, wlat),
        crs="EPSG:4326",
    )
    problems.sort(key=lambda p: (p.row is not None, p.row or 0))
    report = LedgerReport(
        source=source_name, coords=coords, n_rows=n_rows, n_facilities=len(facilities),
        problems=tuple(problems), median_snap_m=median_snap, suggested_coords=suggested,
    )
    log.info("%s: %d facilities from %d rows, %d errors, %d warnings", source_name,
             len(facilities), n_rows, len(report.errors), len(report.warnings))
    return Ledger(facilities=facilities, report=report, source=source_name, coords=coords)


# ------------------------------------------------------------------------ headers
def _norm_header(value: str) -> str:
    s = unicodedata.normalize("NFKC", str(value)).replace("\ufeff", "").strip().lower()
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"\*+$", "", s)
    s = re.sub(r"^\*+", "", s)
    s = re.sub(r"\([^()]*\)$", "", s)  # trailing unit or note: 经度(GCJ-02), 建筑面积(m2)
    s = re.sub(r"\[[^\[\]]*\]$", "", s)
    return s


_ALIAS_INDEX: dict[str, tuple[str, int]] = {}
for _canon, _aliases in COLUMN_ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        _ALIAS_INDEX.setdefault(_norm_header(_alias), (_canon, _rank))
_LONLAT_KEYS = {_norm_header(a) for a in LONLAT_ALIASES}


def _canonical_of(header: str) -> str | None:
    hit = _ALIAS_INDEX.get(_norm_header(header))
    return hit[0] if hit else None


def _canonical_table(
    df: pd.DataFrame, *, source_name: str, problems: list[Problem],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the columns to canonical names; returns the table and {canonical: original header}."""
    if not isinstance(df, pd.DataFrame):
        raise CirclesError(f"{source_name}: expected a table (pandas DataFrame), got {type(df).__name__}")
    df = df.reset_index(drop=True)
    geometry = None
    geometry_name = getattr(df, "active_geometry_name", None) if isinstance(df, gpd.GeoDataFrame) else None
    if geometry_name is not None and geometry_name in df.columns:
        geometry = _lonlat_of_geometry(df, source_name=source_name)
        df = pd.DataFrame(df.drop(columns=geometry_name))
    chosen: dict[str, tuple[int, str]] = {}
    lonlat_col = None
    for col in df.columns:
        key = _norm_header(col)
        hit = _ALIAS_INDEX.get(key)
        if hit is None:
            if key in _LONLAT_KEYS and lonlat_col is None:
                lonlat_col = col
            continue
        canon, rank = hit
        if canon in chosen:
            prev_rank, prev_col = chosen[canon]
            use, other = (col, prev_col) if rank < prev_rank else (prev_col, col)
            if rank < prev_rank:
                chosen[canon] = (rank, col)
            if geometry is None or canon not in ("lon", "lat"):
                problems.append(_problem(
                    None, str(other), "duplicate_column",
                    f"“{use}”与“{other}”都像是 {canon} 列；使用“{use}”",
                    f"columns '{use}' and '{other}' both look like the {canon} column; using '{use}'",
                ))
        else:
            chosen[canon] = (rank, col)
    headers = {canon: str(col) for canon, (_, col) in chosen.items()}
    out = pd.DataFrame({canon: df[col].to_numpy() for canon, (_, col) in chosen.items()}, index=df.index)
    if geometry is not None:
        out["lon"], out["lat"] = geometry
        headers["lon"] = headers["lat"] = "geometry"
    elif ("lon" not in out or "lat" not in out) and lonlat_col is not None:
        pair = _text_series(df[lonlat_col]).str.split(r"[,，;\s]+", n=1, expand=True, regex=True)
        pair = pair.reindex(columns=[0, 1])
        out["lon"] = pair[0].fillna("").to_numpy()
        out["lat"] = pair[1].fillna("").to_numpy()
        headers["lon"] = headers["lat"] = str(lonlat_col)
    missing = [c for c in REQUIRED_COLUMNS if c not in out.columns]
    if missing:
        found = ", ".join(str(c) for c in df.columns) or "(none)"
        accepted = "; ".join(f"{c}: {'/'.join(COLUMN_ALIASES[c])}" for c in missing)
        if "lon" in missing or "lat" in missing:
            accepted += " (or one 经纬度/location column with 'lon,lat')"
        raise CirclesError(
            f"{source_name}: no {'/'.join(missing)} column (found columns: {found}); accepted headers "
            f"are {accepted}; rename the headers, see circles/data/templates/facilities_template.csv"
        )
    return out, headers


def _lonlat_of_geometry(frame: gpd.GeoDataFrame, *, source_name: str) -> tuple[np.ndarray, np.ndarray]:
    geoms = frame.geometry
    if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
        try:
            geoms = geoms.to_crs("EPSG:4326")
        except Exception as exc:  # pyproj errors
            raise CirclesError(
                f"{source_name}: cannot reproject from {geoms.crs} to WGS84 ({exc}); export the "
                "ledger in EPSG:4326"
            ) from exc
    values = geoms.to_numpy()
    empty = shapely.is_missing(values) | shapely.is_empty(values)
    points = values.copy()
    not_point = ~empty & (shapely.get_type_id(np.where(empty, None, values)) != 0)
    if not_point.any():
        points[not_point] = shapely.point_on_surface(values[not_point])
    lon = np.full(len(values), np.nan)
    lat = np.full(len(values), np.nan)
    ok = ~empty
    lon[ok] = shapely.get_x(points[ok])
    lat[ok] = shapely.get_y(points[ok])
    return lon, lat


def _cell_text(value: Any) -> str:
    """A cell as stripped text ("" when empty); whole floats lose their ".0" (Excel numbers)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text_series(values: pd.Series) -> pd.Series:
    """Cells as stripped strings, "" for empty cells; keeps the index."""
    return pd.Series([_cell_text(v) for v in values], index=values.index, dtype=object)


# ------------------------------------------------------------------------ categories
def _norm_value(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).lower()


def _allowed_categories(profile: Any) -> str:
    parts = []
    for cat in getattr(profile, "categories", ()):
        label = getattr(cat, "label_zh", "") or ""
        tiers = [
            f"{t.id} {getattr(t, 'label_zh', '')}".strip() for t in getattr(cat, "tiers", ()) or ()
        ]
        tier_text = f"; tiers: {', '.join(tiers)}" if tiers else ""
        parts.append(f"{cat.id} ({label}{tier_text})" if label or tier_text else str(cat.id))
    return ", ".join(parts)


def _find_category(profile: Any, category_id: str) -> Any:
    for cat in getattr(profile, "categories", ()):
        if cat.id == category_id:
            return cat
    return None


def _tier_lookup(cat: Any) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for t in getattr(cat, "tiers", ()) or ():
        names = (t.id, getattr(t, "label_zh", None), getattr(t, "label_en", None), *getattr(t, "aliases", ()))
        for label in names:
            if label:
                lookup[_norm_value(str(label))] = t.id
                for part in re.split(r"[/、]", str(label)):  # "社区养老服务站/日间照料中心"
                    if part.strip():
                        lookup.setdefault(_norm_value(part), t.id)
    return lookup


def _rows_text(rows: Iterable[int]) -> str:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:8])
    more = f" and {len(rows) - 8} more" if len(rows) > 8 else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _match_categories(
    categories: pd.Series,
    tiers: pd.Series | None,
    rows: np.ndarray,
    *,
    profile: Any,
    headers: Mapping[str, str],
    source_name: str,
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(categories)
    cat_out = np.empty(n, dtype=object)
    tier_out = np.empty(n, dtype=object)
    drop = np.zeros(n, dtype=bool)
    cache: dict[str, tuple[str, str | None] | None] = {}
    unknown: dict[str, list[int]] = {}
    ambiguous: dict[str, bool] = {}
    values = categories.to_numpy(dtype=object)
    for i, value in enumerate(values):
        if not value:
            drop[i] = True
            problems.append(_problem(
                int(rows[i]), headers["category"], "missing_category",
                "类型为空，该行未导入；请填写设施类型",
                "the category is empty; row not imported; fill in the facility type",
            ))
            continue
        if value not in cache:
            try:
                cat_id, tier_id = profile.match_category(value)
                cache[value] = (cat_id, tier_id)
            except CirclesError as exc:
                cache[value] = None
                ambiguous[value] = "ambiguous" in str(exc)
        hit = cache[value]
        if hit is None:
            unknown.setdefault(value, []).append(int(rows[i]))
            continue
        cat_out[i], tier_out[i] = hit
    if unknown:
        listed = "; ".join(
            f"{_rows_text(r)}: {v!r}{' (ambiguous)' if ambiguous.get(v) else ''}" for v, r in unknown.items()
        )
        pid = getattr(profile, "id", "")
        raise CirclesError(
            f"{source_name} {listed}: category not in profile {pid!r}; allowed: "
            f"{_allowed_categories(profile)}; fix the {headers['category']} column (ids, labels, tier "
            "labels and aliases are accepted) or add the value to the profile's aliases"
        )
    # A category with a single tier: its facilities are of that tier.
    for i in range(n):
        if cat_out[i] is not None and tier_out[i] is None:
            cat_tiers = getattr(_find_category(profile, cat_out[i]), "tiers", ()) or ()
            if len(cat_tiers) == 1:
                tier_out[i] = cat_tiers[0].id
    if tiers is None:
        return cat_out, tier_out, drop
    unknown_tier: dict[tuple[str, str], list[int]] = {}
    lookups: dict[str, dict[str, str]] = {}
    tier_values = tiers.to_numpy(dtype=object)
    for i, value in enumerate(tier_values):
        if drop[i] or not value:
            continue
        cat_id = cat_out[i]
        if cat_id not in lookups:
            lookups[cat_id] = _tier_lookup(_find_category(profile, cat_id))
        tier_id = lookups[cat_id].get(_norm_value(value))
        if tier_id is None:
            try:
                other_cat, other_tier = profile.match_category(value)
            except CirclesError:
                other_cat, other_tier = None, None
            if other_cat == cat_id and other_tier:
                tier_id = other_tier
        if tier_id is None:
            unknown_tier.setdefault((cat_id, value), []).append(int(rows[i]))
            continue
        tier_out[i] = tier_id
    if unknown_tier:
        parts = []
        for (cat_id, value), r in unknown_tier.items():
            cat = _find_category(profile, cat_id)
            allowed = ", ".join(
                f"{t.id} {getattr(t, 'label_zh', '')}".strip() for t in getattr(cat, "tiers", ()) or ()
            ) or "none (leave the cell empty)"
            parts.append(f"{_rows_text(r)}: tier {value!r} is not a tier of {cat_id} (allowed: {allowed})")
        raise CirclesError(f"{source_name} {'; '.join(parts)}; fix the {headers['tier']} column")
    return cat_out, tier_out, drop


# ------------------------------------------------------------------------ coordinates
_NUMBER_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:°|度)?([EWNS东西南北])?$", re.IGNORECASE)


def _parse_degrees(values: pd.Series) -> np.ndarray:
    """Numbers (degrees) from cells; NaN where empty or unparseable. Accepts 116.3°, 116.3E, 39.9°N."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values.to_numpy(dtype=object)):
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[i] = float(v)
            continue
        s = unicodedata.normalize("NFKC", _cell_text(v)).replace(" ", "")
        m = _NUMBER_RE.match(s)
        if m:
            x = float(m.group(1))
            if m.group(2) and m.group(2).upper() in ("W", "S", "西", "南"):
                x = -abs(x)
            out[i] = x
    return out


def _parse_coordinates(
    table: pd.DataFrame,
    headers: Mapping[str, str],
    rows: np.ndarray,
    *,
    source_name: str,
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lon = _parse_degrees(table["lon"])
    lat = _parse_degrees(table["lat"])
    lon_text = _text_series(table["lon"]).to_numpy(dtype=object)
    lat_text = _text_series(table["lat"]).to_numpy(dtype=object)
    lon_col, lat_col = headers["lon"], headers["lat"]
    bad = np.zeros(len(lon), dtype=bool)
    for i in range(len(lon)):
        r = int(rows[i])
        if not lon_text[i] or not lat_text[i]:
            which_zh = "经度" if not lon_text[i] else "纬度"
            which_en = "longitude" if not lon_text[i] else "latitude"
            col = lon_col if not lon_text[i] else lat_col
            if not lon_text[i] and not lat_text[i]:
                which_zh, which_en, col = "经纬度", "coordinates", None
            problems.append(_problem(
                r, col, "missing_coordinates", f"{which_zh}为空，该行未导入；请补充坐标",
                f"the {which_en} {'are' if col is None else 'is'} missing; row not imported; add them",
            ))
            bad[i] = True
        elif np.isnan(lon[i]) or np.isnan(lat[i]):
            col, value = (lon_col, lon_text[i]) if np.isnan(lon[i]) else (lat_col, lat_text[i])
            which_zh, which_en = ("经度", "longitude") if np.isnan(lon[i]) else ("纬度", "latitude")
            problems.append(_problem(
                r, col, "bad_coordinates", f"{which_zh} “{value}” 不是数字（十进制度），该行未导入",
                f"{which_en} {value!r} is not a number in decimal degrees; row not imported",
            ))
            bad[i] = True
        elif lon[i] == 0 and lat[i] == 0:
            problems.append(_problem(
                r, None, "missing_coordinates", "坐标为 (0, 0)，是地理编码失败的占位值，该行未导入",
                "coordinates are (0, 0), a geocoding placeholder; row not imported; geocode the address again",
            ))
            bad[i] = True

    ok = ~bad
    swapped = ok & (lon >= CHINA_BBOX[1]) & (lon <= CHINA_BBOX[3]) & (lat >= CHINA_BBOX[0]) & (lat <= CHINA_BBOX[2])
    if ok.any() and swapped[ok].all():
        i = int(np.flatnonzero(swapped)[0])
        raise CirclesError(
            f"{source_name} {_rows_text(rows[swapped])}: longitude and latitude look swapped in every "
            f"row (row {rows[i]}: {lon_col} {lon_text[i]}, {lat_col} {lat_text[i]}); exchange the "
            f"{lon_col} and {lat_col} headers and read the ledger again"
        )
    for i in np.flatnonzero(swapped):
        problems.append(_problem(
            int(rows[i]), None, "swapped",
            f"经度 {lon_text[i]} 与纬度 {lat_text[i]} 似乎填反了，已对调；请在台账中改正",
            f"longitude {lon_text[i]} and latitude {lat_text[i]} look swapped; swapped back; fix the ledger",
        ))
    lon[swapped], lat[swapped] = lat[swapped], lon[swapped].copy()

    for i in np.flatnonzero(ok & ~swapped):
        r = int(rows[i])
        if not -90.0 <= lat[i] <= 90.0:
            hint_en = (
                "are the lon/lat columns swapped?" if abs(lat[i]) <= 180
                else "projected coordinates? give WGS84/GCJ-02/BD-09 degrees"
            )
            hint_zh = "经纬度列是否填反？" if abs(lat[i]) <= 180 else "是否为投影坐标？请填经纬度（度）"
            problems.append(_problem(
                r, lat_col, "out_of_range", f"纬度 {lat_text[i]} 超出范围 [-90, 90]；{hint_zh}",
                f"latitude {lat_text[i]} is out of range [-90, 90]; {hint_en}",
            ))
            bad[i] = True
        elif not -180.0 <= lon[i] <= 180.0:
            problems.append(_problem(
                r, lon_col, "out_of_range",
                f"经度 {lon_text[i]} 超出范围 [-180, 180]；是否为投影坐标？请填经纬度（度）",
                f"longitude {lon_text[i]} is out of range [-180, 180]; projected coordinates? give degrees",
            ))
            bad[i] = True
    return lon, lat, bad


_AMOUNT_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))")


def _parse_amount(
    values: pd.Series | None, rows: np.ndarray, column: str | None, problems: list[Problem],
) -> np.ndarray:
    """Numbers from capacity/area cells: "30", "30张", "1,200 ㎡"; NaN and a warning otherwise."""
    if values is None:
        return np.full(len(rows), np.nan)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values.to_numpy(dtype=object)):
        if not v:
            continue
        m = _AMOUNT_RE.match(unicodedata.normalize("NFKC", v).replace(",", "").replace(" ", ""))
        if m:
            out[i] = float(m.group(1))
        else:
            problems.append(_problem(
                int(rows[i]), column, "bad_number", f"“{v}” 不是数字，按空值处理",
                f"{v!r} is not a number; left empty",
            ))
    return out


# ------------------------------------------------------------------------ spatial checks
def _boundary_geometry(boundary: Any) -> Any:
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = boundary.geometry if isinstance(boundary, gpd.GeoDataFrame) else boundary
        if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
            geoms = geoms.to_crs("EPSG:4326")
        return shapely.union_all(geoms.to_numpy())
    if isinstance(boundary, shapely.Geometry):
        return boundary
    raise CirclesError(
        f"boundary is a {type(boundary).__name__}; give a shapely polygon in WGS84 or a GeoDataFrame"
    )


def _check_area(
    lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, *, net: Any, boundary: Any,
    problems: list[Problem],
) -> np.ndarray:
    if boundary is not None:
        area = _boundary_geometry(boundary)
        inside = shapely.covers(area, shapely.points(lon, lat))
        what_zh, what_en = "研究区边界", "the study-area boundary"
    elif net is not None:
        minlon, minlat, maxlon, maxlat = net.bbox_lonlat
        dlat = AREA_MARGIN_M / 111_320.0
        dlon = AREA_MARGIN_M / (111_320.0 * max(np.cos(np.radians((minlat + maxlat) / 2)), 0.01))
        inside = (lon >= minlon - dlon) & (lon <= maxlon + dlon) & (lat >= minlat - dlat) & (lat <= maxlat + dlat)
        what_zh, what_en = "路网范围", f"the road network's extent (+{AREA_MARGIN_M:.0f} m)"
    else:
        return np.zeros(len(lon), dtype=bool)
    outside = ~np.asarray(inside, dtype=bool)
    for i in np.flatnonzero(outside):
        problems.append(_problem(
            int(rows[i]), None, "outside_area",
            f"位置 ({lon[i]:.6f}, {lat[i]:.6f}) 在{what_zh}之外；坐标或坐标系是否有误？",
            f"location ({lon[i]:.6f}, {lat[i]:.6f}) is outside {what_en}; wrong coordinates or coordinate system?",
        ))
    return outside


def _check_network(
    net: Any, lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, outside: np.ndarray, *,
    max_snap_m: float, problems: list[Problem],
) -> None:
    x, y = net.to_xy(lon, lat)
    snap = net.snap(x, y, max_distance_m=max_snap_m)
    off = np.asarray(snap.off_network, dtype=bool) & ~outside
    dist = np.asarray(snap.distance_m, dtype=float)
    for i in np.flatnonzero(off):
        problems.append(_problem(
            int(rows[i]), None, "off_network",
            f"距最近的步行道路 {dist[i]:.0f} 米（上限 {max_snap_m:.0f} 米）：步行不可达，请核对坐标",
            f"the nearest walkable road is {dist[i]:.0f} m away (limit {max_snap_m:.0f} m): "
            "not reachable on foot; check the coordinates",
        ))


def _coords_hint(
    net: Any, raw_lon: np.ndarray, raw_lat: np.ndarray, coords: str, *, problems: list[Problem],
) -> tuple[dict[str, float], str | None]:
    """Median snap distance with the numbers read as each system; a warning when another fits better."""
    if len(raw_lon) < HINT_MIN_POINTS:
        return {}, None
    medians: dict[str, float] = {}
    for system in COORD_SYSTEMS:
        lon, lat = to_wgs84(raw_lon, raw_lat, system)
        x, y = net.to_xy(np.atleast_1d(lon), np.atleast_1d(lat))
        dist = np.asarray(net.snap(x, y, max_distance_m=HINT_SEARCH_M).distance_m, dtype=float)
        medians[system] = float(np.median(np.where(np.isfinite(dist), dist, HINT_SEARCH_M)))
    best = min(medians, key=medians.get)
    declared = medians[coords]
    if best == coords or not (
        declared > HINT_RATIO * medians[best] and declared - medians[best] > HINT_MIN_GAIN_M
    ):
        return medians, None
    en_src, zh_src = _COORDS_SOURCE[best]
    problems.append(_problem(
        None, None, "coords_hint",
        f"坐标看起来是 {_COORDS_LABEL[best]}（{zh_src}）：按 {_COORDS_LABEL[coords]} 读取时到路网的距离中位数为 "
        f"{declared:.0f} 米，按 {_COORDS_LABEL[best]} 读取为 {medians[best]:.0f} 米；请用 --coords {best} 重新运行",
        f"looks like {_COORDS_LABEL[best]} ({en_src}) coordinates: median distance to the road network "
        f"{declared:.0f} m as {_COORDS_LABEL[coords]} vs {medians[best]:.0f} m as {_COORDS_LABEL[best]}; "
        f"rerun with --coords {best}",
    ))
    return medians, best


def _local_m(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equirectangular metres around the points' mean latitude (good to 0.1 % over a city)."""
    lat0 = np.radians(np.mean(lat)) if len(lat) else 0.0
    return np.radians(lon) * 6_371_000.0 * np.cos(lat0), np.radians(lat) * 6_371_000.0


def _check_duplicates(
    names: np.ndarray, lon: np.ndarray, lat: np.ndarray, rows: np.ndarray, *, problems: list[Problem],
) -> None:
    x, y = _local_m(lon, lat)
    keys = np.array([_norm_value(str(n)) for n in names], dtype=object)
    order = np.argsort(rows, kind="stable")
    seen: dict[str, list[int]] = {}
    for i in order:
        for j in seen.get(keys[i], ()):
            d = float(np.hypot(x[i] - x[j], y[i] - y[j]))
            if d <= DUPLICATE_RADIUS_M:
                problems.append(_problem(
                    int(rows[i]), None, "duplicate",
                    f"与第 {rows[j]} 行同名（{names[i]}）且相距 {d:.0f} 米：重复录入？",
                    f"same name as row {rows[j]} ({names[i]}) and {d:.0f} m away: entered twice?",
                ))
                break
        seen.setdefault(keys[i], []).append(i)
    # Many differently named rows on one spot: a geocoder that fell back to a district centre.
    spot = np.round(x).astype(np.int64) * 1_000_003 + np.round(y).astype(np.int64)
    for value in np.unique(spot):
        members = np.flatnonzero(spot == value)
        if len({keys[m] for m in members}) < SAME_LOCATION_MIN_ROWS:
            continue
        member_rows = sorted(int(rows[m]) for m in members)
        for m in members:
            others = ", ".join(str(r) for r in member_rows if r != rows[m])
            problems.append(_problem(
                int(rows[m]), None, "same_location",
                f"与第 {others} 行坐标完全相同：地理编码可能退回到了街道或区的中心点，请核对地址",
                f"same coordinates as rows {others}: the geocoder may have fallen back to a street or "
                "district centre; check the address",
            ))


def _problem(row: int | None, column: str | None, kind: str, zh: str, en: str) -> Problem:
    return Problem(row=row, column=column, kind=kind, message_zh=zh, message_en=en,
                   severity=PROBLEM_KINDS[kind])


# ======================================================================== OSM fallback
def facilities_from_osm(features: gpd.GeoDataFrame, profile: Any) -> gpd.GeoDataFrame:
    """Facilities from OSM features, by each category's ``osm_tags`` rules.

    A feature matches a category when any of the category's rules holds (every condition of
    it: ``key=value``, or ``key!=value`` for "not"; value ``"*"``: the key is present with any
    value; a ``;``-separated tag value matches each of its parts). Tiers with their own ``osm_tags`` set the tier. A feature matching two
    categories gives one row for each.

    Parameters
    ----------
    features
        OSM features (`network.features.read_osm_features`): tag columns and geometry.
        Reprojected to EPSG:4326 when needed; polygons become their representative point.
    profile
        The service profile; categories without ``osm_tags`` match nothing.

    Returns
    -------
    geopandas.GeoDataFrame
        The canonical facility frame (`FACILITY_COLUMNS`, EPSG:4326, index 0..n-1);
        ``source_row`` is the feature's position in `features`, from 1. The name is
        ``name:zh`` or ``name``, else ``"OSM <osm_id>"``.

    Examples
    --------
    >>> feats = read_osm_features("beijing_haidian_wudaokou.osm")  # doctest: +SKIP
    >>> facilities_from_osm(feats, load_profile("15min")).groupby("category").size()  # doctest: +SKIP
    """
    if not isinstance(features, gpd.GeoDataFrame):
        raise CirclesError(f"features is a {type(features).__name__}; give the GeoDataFrame of read_osm_features")
    feats = features.reset_index(drop=True)
    if feats.crs is not None and not feats.crs.equals("EPSG:4326"):
        feats = feats.to_crs("EPSG:4326")
    lon, lat = (
        _lonlat_of_geometry(feats, source_name="OSM features") if len(feats) else (np.zeros(0), np.zeros(0))
    )
    records: list[dict[str, Any]] = []
    for cat in getattr(profile, "categories", ()):
        mask = _osm_mask(feats, getattr(cat, "osm_tags", ()) or ())
        tier_masks = [
            (t.id, _osm_mask(feats, getattr(t, "osm_tags", ()) or ())) for t in getattr(cat, "tiers", ()) or ()
        ]
        only_tier = cat.tiers[0].id if len(getattr(cat, "tiers", ()) or ()) == 1 else None
        for i in np.flatnonzero(mask & np.isfinite(lon)):
            tier = next((tid for tid, tm in tier_masks if tm[i]), only_tier)
            records.append(_osm_record(feats, i, cat.id, tier, lon[i], lat[i]))
    frame = pd.DataFrame.from_records(records, columns=list(FACILITY_COLUMNS))
    return gpd.GeoDataFrame(
        {
            "name": frame["name"].astype("str"),
            "category": frame["category"].astype("str"),
            "tier": pd.Series(frame["tier"].to_numpy(dtype=object), dtype="str"),
            "lon": frame["lon"].astype(float),
            "lat": frame["lat"].astype(float),
            "capacity": frame["capacity"].astype(float),
            "area_m2": frame["area_m2"].astype(float),
            "district": pd.Series(frame["district"].to_numpy(dtype=object), dtype="str"),
            "address": pd.Series(frame["address"].to_numpy(dtype=object), dtype="str"),
            "source_row": frame["source_row"].astype(np.int64),
        },
        geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)),
        crs="EPSG:4326",
    )


def _osm_mask(feats: pd.DataFrame, rules: Iterable[Any]) -> np.ndarray:
    """Features matching any rule (`circles.profiles.OsmRule`: all of its conditions)."""
    mask = np.zeros(len(feats), dtype=bool)
    for rule in rules:
        hit = np.ones(len(feats), dtype=bool)
        for key, value, wanted in rule.conditions:
            hit &= _osm_has(feats, key, value) == wanted
        mask |= hit
    return mask


def _osm_has(feats: pd.DataFrame, key: str, value: str) -> np.ndarray:
    """Features whose tag `key` has `value` among its ``;``-separated parts (``*``: any value)."""
    if key not in feats.columns:
        return np.zeros(len(feats), dtype=bool)
    col = feats[key]
    present = col.notna().to_numpy() & (col.astype(object).astype(str).str.strip() != "").to_numpy()
    if value == "*":
        return present
    parts = col.astype(object).where(col.notna(), "").astype(str).str.split(";")
    return present & parts.map(lambda ps, v=value: v in [p.strip() for p in ps]).to_numpy(dtype=bool)


def _osm_tag(feats: pd.DataFrame, i: int, *keys: str) -> str | None:
    for key in keys:
        if key in feats.columns:
            v = feats[key].iat[i]
            if v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip():
                return str(v).strip()
    return None


def _osm_record(feats: pd.DataFrame, i: int, cat_id: str, tier: str | None, lon: float, lat: float) -> dict:
    osm_id = _osm_tag(feats, i, "osm_id", "osmid", "id")
    name = _osm_tag(feats, i, "name:zh", "name") or (f"OSM {osm_id}" if osm_id else f"OSM #{i + 1}")
    capacity = _osm_tag(feats, i, "capacity")
    m = _AMOUNT_RE.match(capacity or "")
    address = _osm_tag(feats, i, "addr:full")
    if address is None:
        parts = [_osm_tag(feats, i, k) for k in ("addr:city", "addr:district", "addr:street", "addr:housenumber")]
        address = "".join(p for p in parts if p) or None
    return {
        "name": name, "category": cat_id, "tier": tier, "lon": lon, "lat": lat,
        "capacity": float(m.group(1)) if m else np.nan, "area_m2": np.nan,
        "district": _osm_tag(feats, i, "addr:subdistrict", "addr:suburb", "addr:district"),
        "address": address, "source_row": i + 1,
    }


# ======================================================================== summaries
def _check_lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise CirclesError(f"lang {lang!r} is not supported; use 'zh' or 'en'")
    return lang


def report_counts(ledger: Ledger, *, profile: Any = None) -> pd.DataFrame:
    """Facilities per category and tier, with their total capacity.

    Parameters
    ----------
    ledger
        A read ledger.
    profile
        Optional: adds ``label_zh``/``label_en`` and lists every category and tier of the
        profile, with count 0 where the ledger has none (a gap worth seeing).

    Returns
    -------
    pandas.DataFrame
        Columns ``category``, ``tier`` (NaN for facilities without a tier), ``count``,
        ``capacity`` (sum, NaN when no row gives one) and, with a profile, ``label_zh`` and
        ``label_en``; profile order, else sorted.
    """
    fac = ledger.facilities
    grouped = (
        fac.assign(tier=fac["tier"].astype(object).where(fac["tier"].notna(), ""))
        .groupby(["category", "tier"], sort=True, dropna=False)
        .agg(count=("name", "size"), capacity=("capacity", lambda s: s.sum(min_count=1)))
        .reset_index()
    )
    if profile is not None:
        rows = []
        for cat in getattr(profile, "categories", ()):
            tiers = [t for t in getattr(cat, "tiers", ()) or ()]
            keys = [(t.id, getattr(t, "label_zh", t.id), getattr(t, "label_en", t.id)) for t in tiers]
            present = set(grouped.loc[grouped["category"] == cat.id, "tier"])
            if "" in present or not keys:
                keys = keys + [("", "", "")]
            for tid, tzh, ten in keys:
                rows.append({
                    "category": cat.id, "tier": tid,
                    "label_zh": " / ".join(x for x in (getattr(cat, "label_zh", cat.id), tzh) if x),
                    "label_en": " / ".join(x for x in (getattr(cat, "label_en", cat.id), ten) if x),
                })
        frame = pd.DataFrame(rows, columns=["category", "tier", "label_zh", "label_en"])
        extra = grouped.merge(frame[["category", "tier"]], how="left", indicator=True)
        extra = extra[extra["_merge"] == "left_only"].drop(columns="_merge")
        out = frame.merge(grouped, on=["category", "tier"], how="left")
        out = pd.concat([out, extra], ignore_index=True)
        out["count"] = out["count"].fillna(0).astype(np.int64)
    else:
        out = grouped
    out["tier"] = out["tier"].astype(object).where(out["tier"] != "", np.nan)
    cols = ["category", "tier", "count", "capacity"] + (["label_zh", "label_en"] if profile is not None else [])
    return out[cols].reset_index(drop=True)


def format_report(ledger: Ledger, *, lang: str = "zh", profile: Any = None) -> str:
    """The text `circles facilities check` prints: counts, problems by row, the coordinate hint.

    Parameters
    ----------
    ledger
        A read ledger.
    lang
        ``"zh"`` or ``"en"``.
    profile
        Optional: category labels and zero counts (see `report_counts`).

    Returns
    -------
    str
        Several lines, no trailing newline.
    """
    lang = _check_lang(lang)
    zh = lang == "zh"
    rep = ledger.report
    label = _COORDS_LABEL[ledger.coords]
    lines = []
    converted = "" if ledger.coords == "wgs84" else ("，已转换为 WGS84" if zh else ", converted to WGS84")
    if zh:
        lines.append(f"设施台账 {ledger.source}（坐标系 {label}{converted}）")
        lines.append(
            f"读取 {rep.n_rows} 行，导入 {rep.n_facilities} 个设施；{len(rep.errors)} 个错误（该行未导入），"
            f"{len(rep.warnings)} 个警告"
        )
        lines.append("按类型统计：")
    else:
        lines.append(f"Facility ledger {ledger.source} (coordinates {label}{converted})")
        lines.append(
            f"{rep.n_rows} rows read, {rep.n_facilities} facilities imported; {len(rep.errors)} error(s) "
            f"(rows not imported), {len(rep.warnings)} warning(s)"
        )
        lines.append("Facilities per category and tier:")
    counts = report_counts(ledger, profile=profile)
    for rec in counts.itertuples(index=False):
        if profile is not None:
            what = rec.label_zh if zh else rec.label_en
            what = f"{what} [{rec.category}{'/' + rec.tier if isinstance(rec.tier, str) else ''}]"
        else:
            what = rec.category + (f" / {rec.tier}" if isinstance(rec.tier, str) else "")
        cap = ""
        if not pd.isna(rec.capacity):
            cap = f"（容量 {rec.capacity:g}）" if zh else f" (capacity {rec.capacity:g})"
        lines.append(f"  {what}: {rec.count}{cap}")
    listed = [p for p in rep.problems if p.kind != "coords_hint"]
    if listed:
        lines.append("问题：" if zh else "Problems:")
        for p in listed:
            sev = {"error": "错误", "warning": "警告"}[p.severity] if zh else p.severity
            where = (f"第 {p.row} 行" if zh else f"row {p.row}") if p.row is not None else ("全表" if zh else "file")
            lines.append(f"  {where} [{sev}] {p.message_zh if zh else p.message_en}")
    else:
        lines.append("未发现问题。" if zh else "No problems found.")
    hint = rep.of_kind("coords_hint")
    if hint:
        lines.append(("提示：" if zh else "Hint: ") + (hint[0].message_zh if zh else hint[0].message_en))
    return "\n".join(lines)


# ===================================================================== candidate premises
#: Headers of a candidate-premises list (社区用房/闲置用房) beyond the ledger's own.
CANDIDATE_COST_ALIASES: tuple[str, ...] = ("成本", "费用", "造价", "改造费用", "租金", "cost")


def read_candidates(path: str | Path, *, coords: str = "wgs84", profile: Any = None) -> pd.DataFrame:
    """Read a list of candidate premises for new sites (available community rooms, 闲置用房).

    Same files, headers and coordinate systems as a ledger (`read_ledger`): ``名称``, ``经度``,
    ``纬度`` and optionally ``类型`` (a category; blank or absent serves every category), ``容量``,
    ``建筑面积`` and a cost column (成本/费用/造价/租金/cost).

    Returns
    -------
    DataFrame
        ``name``, ``lon``, ``lat`` (WGS84), ``category`` (profile id or None), ``capacity``,
        ``area_m2``, ``cost``, ``source_row``; rows without usable coordinates are dropped.
    """
    path = Path(path)
    table, first_row = read_ledger_table(path)
    cols: dict[str, Any] = {}
    for col in table.columns:
        key = _norm_header(col)
        hit = _ALIAS_INDEX.get(key)
        if hit is not None and hit[0] not in cols:
            cols[hit[0]] = table[col]
        elif key in {_norm_header(a) for a in CANDIDATE_COST_ALIASES} and "cost" not in cols:
            cols["cost"] = table[col]
    if "lon" not in cols or "lat" not in cols:
        raise CirclesError(f"{path.name}: no 经度/纬度 (lon/lat) columns in the candidate list (found: "
                           f"{', '.join(map(str, table.columns))}); rename the headers as in circles/data/templates/")
    lon, lat = _parse_degrees(cols["lon"]), _parse_degrees(cols["lat"])
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if not ok.any():
        raise CirclesError(f"{path.name}: no candidate row has usable coordinates; check the 经度/纬度 columns")
    wlon, wlat = to_wgs84(lon[ok], lat[ok], coords)
    rows = np.arange(len(table))[ok] + first_row
    out = pd.DataFrame({
        "name": [(_cell_text(v) or f"#{r}") for v, r in zip(cols["name"][ok], rows)] if "name" in cols
        else [f"#{r}" for r in rows],
        "lon": wlon, "lat": wlat, "category": None,
        "capacity": _numbers(cols.get("capacity"), ok), "area_m2": _numbers(cols.get("area_m2"), ok),
        "cost": _numbers(cols.get("cost"), ok), "source_row": rows,
    })
    if "category" in cols and profile is not None:
        values = [_cell_text(v) for v in cols["category"][ok]]
        out["category"] = [profile.match_category(v)[0] if v else None for v in values]
    return out


def _numbers(values: pd.Series | None, ok: np.ndarray) -> np.ndarray:
    if values is None:
        return np.full(int(ok.sum()), np.nan)
    text = values[ok].map(lambda v: unicodedata.normalize("NFKC", _cell_text(v)).replace(",", ""))
    return pd.to_numeric(text.str.extract(r"^(-?\d+(?:\.\d+)?)")[0], errors="coerce").to_numpy(float)

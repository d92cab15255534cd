"""Facility ledgers: read the planner's CSV/XLSX/GIS table, check it, convert it to WGS84.

A ledger (台账) lists one facility per row: name, category, longitude and latitude, and
optionally tier, capacity (床位/座位/容量), floor area (建筑面积, m²), street (街道), community
(所属社区), address, and what the standards check (`attributes`): floor (楼层), lift (电梯 有/无),
service functions (服务功能: 助餐、日间照料、助浴、康复、托育、儿童托管 …) and opening times
(开放时间, 每周开放天数). Planners keep them in Excel with Chinese headers, geocoded with
Amap/Tencent (GCJ-02) or Baidu (BD-09).

The package has one module per stage:

- `ledger`: reading (`read_ledger`, `read_ledger_table`, `ledger_table_from_bytes`, through
  `circles.inputs`) and checking (`ledger_from_frame`, pure, on a DataFrame);
- `columns`: accepted headers (`COLUMN_ALIASES`) and the canonical facility frame;
- `attributes`: floor, lift, service functions and opening times, read cell by cell;
- `coordinates`: degrees as typed, swapped pairs, GIS geometry, amounts;
- `categories`: category/tier cells against the profile's words (unknown words named at once);
- `checks`: study area, road network, coordinate-system hint, duplicates;
- `report`: `Problem`, `LedgerReport`, `LedgerError`, `format_report` and the clerk's problems table;
- `osm`: `facilities_from_osm`, the OSM fallback; `candidates`: `read_candidates`.

Row numbers in messages are the rows the planner sees in Excel: the header is row 1, the first
data row is row 2 (for GIS files: the feature number, from 1, as in the QGIS attribute table).

Severity policy:

- fatal (`InputError`, one line; `LedgerError` carries the problems found): unreadable file,
  missing name/category/coordinate columns, category or tier values the profile does not know
  (every one named with its rows and the closest known word), unreadable or negative attribute
  values (楼层, 电梯, 服务功能, 开放时间, a negative 容量/建筑面积: one message naming every cell,
  since a rule cannot be checked on a guessed value), every row with swapped lon/lat, no usable
  row at all;
- ``"error"`` problems: the row is dropped and reported (missing or unparseable coordinates,
  coordinates out of range, missing category) and recorded in ``ledger.dropped``;
- ``"warning"`` problems: the row is kept (rows with swapped lon/lat, which are swapped back;
  outside the study area; off the road network; duplicates; unparseable capacity or area) and
  the file-level hint that the coordinates look like GCJ-02/BD-09 rather than the declared
  system. Template example rows and total rows (合计) are skipped with a warning and recorded
  in ``ledger.dropped``.
"""

from circles.facilities.candidates import CANDIDATE_COST_ALIASES, read_candidates
from circles.facilities.checks import (
    AREA_MARGIN_M,
    DEFAULT_MAX_SNAP_M,
    DUPLICATE_RADIUS_M,
    HINT_MIN_GAIN_M,
    HINT_MIN_POINTS,
    HINT_RATIO,
    HINT_SEARCH_M,
    SAME_LOCATION_MIN_ROWS,
)
from circles.facilities.columns import COLUMN_ALIASES, FACILITY_COLUMNS, LONLAT_ALIASES, REQUIRED_COLUMNS
from circles.facilities.ledger import (
    Ledger,
    ledger_from_frame,
    ledger_table_from_bytes,
    read_ledger,
    read_ledger_table,
)
from circles.facilities.osm import facilities_from_osm
from circles.facilities.report import (
    DROP_REASONS,
    PROBLEM_KINDS,
    PROBLEM_TABLE_COLUMNS,
    SEVERITIES,
    LedgerError,
    LedgerReport,
    Problem,
    problems_frame,
)
from circles.facilities.summary import format_report, report_counts

__all__ = [
    "AREA_MARGIN_M", "CANDIDATE_COST_ALIASES", "COLUMN_ALIASES", "DEFAULT_MAX_SNAP_M", "DROP_REASONS",
    "DUPLICATE_RADIUS_M", "FACILITY_COLUMNS", "HINT_MIN_GAIN_M", "HINT_MIN_POINTS", "HINT_RATIO", "HINT_SEARCH_M",
    "LONLAT_ALIASES", "PROBLEM_KINDS", "PROBLEM_TABLE_COLUMNS", "REQUIRED_COLUMNS", "SAME_LOCATION_MIN_ROWS",
    "SEVERITIES", "Ledger", "LedgerError", "LedgerReport", "Problem", "facilities_from_osm", "format_report",
    "ledger_from_frame", "ledger_table_from_bytes", "problems_frame", "read_candidates", "read_ledger",
    "read_ledger_table", "report_counts",
]

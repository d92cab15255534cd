"""Reading the planner's files: one reader per kind of file, shared by every input.

- `read_table`: CSV/TXT/TSV (any Chinese encoding, sniffed delimiter) and XLSX into text cells,
  with the spreadsheet row of the first data row for messages;
- `read_vector`, `read_boundary`, `read_districts`: GIS files, the study area and districts;
- `DroppedRow`, `format_dropped`: rows an input leaves unused, as data;
- `cell_text`, `norm_header`, `number_text`: the cell rules every reader applies.
"""

from circles.inputs.dropped import DROPPED_COLUMNS, DroppedRow, dropped_frame, format_dropped
from circles.inputs.tables import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    TABLE_SUFFIXES,
    read_table,
    row_skip_reasons,
    table_suffix,
)
from circles.inputs.text import cell_text, norm_header, norm_value, number_text, one_line, rows_text, text_series
from circles.inputs.vectors import VECTOR_SUFFIXES, read_boundary, read_districts, read_vector

__all__ = [
    "CSV_SUFFIXES", "DROPPED_COLUMNS", "DroppedRow", "EXCEL_SUFFIXES", "TABLE_SUFFIXES", "VECTOR_SUFFIXES",
    "cell_text", "dropped_frame", "format_dropped", "norm_header", "norm_value", "number_text", "one_line",
    "read_boundary", "read_districts", "read_table", "read_vector", "row_skip_reasons", "rows_text",
    "table_suffix", "text_series",
]

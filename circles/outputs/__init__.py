"""Everything circles writes: tables, GeoJSON, workbooks, the offline map, and the one writer of output folders.

Writers return bytes (or text); `write_run` puts a run's files into a folder as a whole. Modules:

- `labels`: every user-facing word in Chinese and English (headers, demand groups, status, map text);
- `safety`: text made safe for HTML (`html_text`) and for CSV/XLSX cells (`safe_frame`, `csv_bytes`);
- `files`: `check_output_dir`, `write_run`, `write_files`, `atomic_write_bytes` (the one atomic writer);
- `geojson`, `tables`, `workbook`: FeatureCollections, summary tables, XLSX workbooks;
- `analysis`: `analysis_files` (every file of one analysis as bytes), `result_files` (the same for a
  pipeline result, with its map and report) and `write_analysis`;
- `map`: the coverage map, the batch choropleth and offline pages (imported on first use: folium);
- `report`: the Word reports, `analysis_report` (report.docx) and `city_report` (a batch's).

Example
-------
>>> from circles.options import RunOptions
>>> from circles.pipeline import analyse, prepare
>>> result = analyse(prepare(RunOptions(sample=True)))                         # doctest: +SKIP
>>> files = analysis_files(result.report, inputs=result.inputs, lang="zh")   # doctest: +SKIP
>>> write_run("out/sample", files)                                           # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from circles.outputs.analysis import analysis_files, result_files, summary_workbook, write_analysis
from circles.outputs.files import (RUN_MARKER, OutputFiles, OutputFolder, atomic_write_bytes, check_output_dir,
                                   write_files, write_run)
from circles.outputs.geojson import areas_geojson, districts_geojson, feature_collection, gaps_geojson
from circles.outputs.labels import check_lang, group_label, header, label, sheet_name, status_label, yes_no
from circles.outputs.safety import cell_text, csv_bytes, html_text, safe_frame
from circles.outputs.tables import access_table, summary_dict, summary_table
from circles.outputs.workbook import districts_workbook, workbook_bytes

__all__ = [
    "RUN_MARKER", "OutputFiles", "OutputFolder", "access_table", "analysis_files", "areas_geojson",
    "atomic_write_bytes", "cell_text", "check_lang", "check_output_dir", "csv_bytes", "districts_geojson",
    "districts_map_page", "districts_workbook", "feature_collection", "gaps_geojson", "group_label", "header",
    "html_text", "label", "leaflet_assets", "map", "result_files", "safe_frame", "sheet_name", "status_label",
    "summary_dict",
    "summary_table", "summary_workbook", "workbook_bytes", "write_analysis", "write_files", "write_run", "yes_no",
]

_FROM_MAP = ("districts_map_page", "leaflet_assets")


def __getattr__(name: str) -> Any:
    """`map` and its page functions load folium on first use only."""
    if name == "map":
        return importlib.import_module("circles.outputs.map")
    if name in _FROM_MAP:
        return getattr(importlib.import_module("circles.outputs.map"), name)
    raise AttributeError(f"module 'circles.outputs' has no attribute {name!r}")

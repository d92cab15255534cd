"""The files of one analysis (`circles analyze`, each batch district, the app's downloads) as bytes by name."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from circles.coverage import CoverageReport
from circles.outputs.files import FileData, write_run
from circles.outputs.geojson import areas_geojson, gaps_geojson, json_bytes
from circles.outputs.labels import check_lang, sheet_name
from circles.outputs.safety import csv_bytes
from circles.outputs.tables import access_table, suggestions_dict, summary_dict, summary_table
from circles.outputs.workbook import workbook_bytes

__all__ = ["analysis_files", "summary_workbook", "write_analysis"]


def summary_workbook(report: CoverageReport, lang: str, district_table: pd.DataFrame | None = None) -> bytes:
    """summary.xlsx: the summary table (汇总 / summary) and, with districts, the per-district figures."""
    sheets = [(sheet_name("summary", lang), summary_table(report, lang))]
    if district_table is not None:
        from circles.outputs.labels import header

        sheets.append((sheet_name("districts", lang), district_table.rename(columns=lambda c: header(c, lang))))
    elif report.districts is not None:
        sheets.append((sheet_name("districts", lang), report.districts))
    return workbook_bytes(sheets)


def analysis_files(report: CoverageReport, *, inputs: Mapping[str, Any], lang: str,
                   service_areas: gpd.GeoDataFrame | None = None,
                   suggestions: Sequence[Any] | gpd.GeoDataFrame = (),
                   map_page: str | None = None, district_table: pd.DataFrame | None = None,
                   rule_table: pd.DataFrame | None = None,
                   facility_rule_table: pd.DataFrame | None = None,
                   extra_summary: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """Every output file of an analysis, as bytes by file name, in the order they are listed.

    Parameters
    ----------
    report
        The coverage report.
    inputs
        The record of the run's inputs (summary.json ``inputs``).
    lang
        ``"zh"`` or ``"en"``: headers of summary.csv/xlsx.
    service_areas
        Walking service areas for isochrones.geojson (`circles.isochrones.service_areas`).
    suggestions
        `circles.siting.SitingResult` objects (their sites go into gaps.geojson and their figures
        into summary.json ``suggestions``), or a GeoDataFrame of added sites (WGS84; its columns
        become the properties of ``suggested_site`` features in gaps.geojson).
    map_page
        The offline map page (`circles.outputs.map.map_html`), written as map.html.
    extra_summary
        More sections of summary.json (e.g. ``delivery``, ``home_visits`` of `circles.outreach`).
    district_table, rule_table
        The districts table (`circles.districts.DISTRICT_COLUMNS`, one row per district ×
        category) and the rule checks (`circles.districts.RULE_COLUMNS`): districts.csv and
        rules.csv, in the format `circles batch` writes.
    facility_rule_table
        The facility rules (`circles.districts.FACILITY_RULE_COLUMNS`): facility_rules.csv.

    Returns
    -------
    dict of str to bytes
        summary.json, access.csv, gaps.geojson, isochrones.geojson, summary.csv, summary.xlsx,
        districts.csv (when the report has districts) and map.html (when given). CSV files are
        UTF-8 with BOM for Excel; text cells starting with ``=``, ``+``, ``-``, ``@`` get a ``'``.
    """
    check_lang(lang)
    summary = summary_dict(report, inputs)
    summary.update(extra_summary or {})
    if isinstance(suggestions, pd.DataFrame):
        sites = suggestions if len(suggestions) else None
    else:
        results = tuple(suggestions)
        if results:
            summary["suggestions"] = suggestions_dict(results)
        sites = pd.concat([r.to_geodataframe() for r in results], ignore_index=True) if results else None
    table = summary_table(report, lang)
    files = {
        "summary.json": json_bytes(summary),
        "access.csv": csv_bytes(access_table(report)),
        "gaps.geojson": gaps_geojson(report, suggestions=sites).encode("utf-8"),
        "isochrones.geojson": areas_geojson(service_areas).encode("utf-8"),
        "summary.csv": csv_bytes(table),
        "summary.xlsx": summary_workbook(report, lang, district_table),
    }
    if district_table is not None:
        files["districts.csv"] = csv_bytes(district_table)
    elif report.districts is not None:
        files["districts.csv"] = csv_bytes(report.districts)
    if rule_table is not None and len(rule_table):  # issue 16: rules.csv also without districts
        files["rules.csv"] = csv_bytes(rule_table)
    if facility_rule_table is not None and len(facility_rule_table):  # issue 16: one row per rule × facility
        files["facility_rules.csv"] = csv_bytes(facility_rule_table)
    if map_page is not None:
        files["map.html"] = map_page.encode("utf-8")
    return files


def write_analysis(report: CoverageReport, out_dir: str | os.PathLike, *, inputs: Mapping[str, Any],
                   lang: str = "zh", service_areas: gpd.GeoDataFrame | None = None,
                   suggestions: Sequence[Any] | gpd.GeoDataFrame = (), map_page: str | None = None,
                   extra: Mapping[str, FileData] | None = None) -> list[Path]:
    """Write `analysis_files` (and `extra` files) into folder `out_dir` as one run (`write_run`).

    The folder then holds exactly these files; a failure leaves it as it was.

    Raises
    ------
    OutputError
        The folder cannot be written.
    """
    files: dict[str, FileData] = dict(analysis_files(report, inputs=inputs, lang=lang, service_areas=service_areas,
                                                     suggestions=suggestions, map_page=map_page))
    files.update(extra or {})
    return write_run(out_dir, files)

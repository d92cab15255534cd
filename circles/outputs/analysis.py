"""The files of one analysis (`circles analyze`, each batch district, the app's downloads) as bytes by name."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from circles.coverage import CoverageReport
from circles.outputs.files import FileData, write_run
from circles.outputs.geojson import areas_geojson, gaps_geojson, json_bytes
from circles.outputs.labels import check_lang, group_label, yes_no
from circles.outputs.safety import csv_bytes
from circles.outputs.tables import (access_table, added_site_table, dropped_table, equity_table, facility_table,
                                    gap_table, group_table, overview_table, suggestion_table, suggestions_dict, summary_dict,
                                    summary_table, zone_table)
from circles.outputs.workbook import district_sheet_table, rule_sheet_table, sheet, workbook_bytes

__all__ = ["analysis_files", "result_files", "summary_workbook", "write_analysis"]


def summary_workbook(report: CoverageReport, lang: str, district_table: pd.DataFrame | None = None, *,
                     rule_table: pd.DataFrame | None = None, suggestions: pd.DataFrame | None = None,
                     districts: gpd.GeoDataFrame | None = None, district_col: str = "name",
                     extra_sheets: Sequence[Any] = (), inputs: Mapping[str, Any] | None = None) -> bytes:
    """summary.xlsx: 总览, 分街道, 缺口, 建议选址, 设施, 规则检查 and 一站式与公平 (overview, districts, gaps, sites,
    facilities, rules, one-stop and equity), then `extra_sheets` (送餐配送, 上门探访: `circles.outputs.outreach.outreach_sheets`).

    Parameters
    ----------
    report
        The coverage report.
    lang
        ``"zh"`` or ``"en"``: sheet names, headers and words in cells.
    district_table, rule_table
        The districts table (`circles.districts.DISTRICT_COLUMNS`) and the rule checks
        (`circles.districts.RULE_COLUMNS`, and ``citation`` where given); their sheets are left
        out without them.
    inputs
        summary.json's ``inputs``: zones spread onto buildings give the 人口分配 sheet (what each
        zone placed inside the data and what lies outside it); rows not used give 未使用的行.
    suggestions
        The suggested sites (`circles.outputs.tables.suggestion_table`); no sheet when empty.
    districts, district_col
        District polygons and their name column: the gaps sheet names the districts of each gap.

    Returns
    -------
    bytes
        The workbook (`circles.outputs.workbook.workbook_bytes`: frozen, filtered headers,
        fitted widths, percentages and whole numbers).
    """
    check_lang(lang)
    overview = overview_table(report, lang)
    overview["demand_column"] = [group_label(g, lang) for g in overview["demand_column"]]
    sheets = [sheet("summary", overview, lang)]
    if district_table is not None:
        sheets.append(sheet("districts", _readable(district_sheet_table(district_table, lang)), lang))
    elif report.districts is not None:
        sheets.append(sheet("districts", report.districts, lang))
    gaps = gap_table(report, lang=lang, districts=districts, district_col=district_col)
    gaps["demand_column"] = [group_label(g, lang) for g in gaps["demand_column"]]
    sheets.append(sheet("gaps", _readable(gaps), lang))
    if suggestions is not None and len(suggestions):
        shown = suggestions if suggestions["name"].notna().any() else suggestions.drop(columns="name")
        sheets.append(sheet("suggestions", _readable(shown), lang))
    facilities = facility_table(report, lang=lang, dropped=(inputs or {}).get("facilities_dropped", ()))
    facilities["off_network"] = [yes_no(v, lang) for v in facilities["off_network"]]
    sheets.append(sheet("facilities", _readable(facilities), lang))
    if rule_table is not None and len(rule_table):
        sheets.append(sheet("rules", rule_sheet_table(rule_table, lang, report.profile), lang))
    groups = group_table(report, lang)
    if len(groups):
        sheets.append(sheet("groups", groups, lang))
    if len(report.categories) > 1:
        sheets.append(sheet("equity", equity_table(report, lang), lang))
    zones = zone_table(inputs or {})
    if zones is not None:
        sheets.append(sheet("zones", zones, lang))
    dropped = dropped_table(inputs or {}, lang)
    if dropped is not None:
        sheets.append(sheet("dropped", dropped, lang))
    sheets.extend(extra_sheets)
    return workbook_bytes(sheets)


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    """A table for reading: the category in words (its ``label``) in place of its id."""
    if "label" in table and "category" in table:
        return table.assign(category=table["label"]).drop(columns="label")
    return table


def analysis_files(report: CoverageReport, *, inputs: Mapping[str, Any], lang: str,
                   service_areas: gpd.GeoDataFrame | None = None,
                   suggestions: Sequence[Any] | gpd.GeoDataFrame = (),
                   map_page: str | Callable[[], str] | None = None, district_table: pd.DataFrame | None = None,
                   rule_table: pd.DataFrame | None = None,
                   facility_rule_table: pd.DataFrame | None = None,
                   extra_summary: Mapping[str, Any] | None = None,
                   districts: gpd.GeoDataFrame | None = None,
                   district_col: str = "name", named_sites: bool = True,
                   report_docx: bytes | Callable[[], bytes] | None = None, extra_sheets: Sequence[Any] = (),
                   lazy: bool = False) -> dict[str, FileData]:
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
    districts, district_col
        District polygons and their name column (the workbook names the districts of each gap).
    named_sites
        False when the suggested sites are points generated along the streets: the workbook
        then knows them by rank, not by their generated names.
    report_docx
        The Word report (`circles.outputs.report.analysis_report`), written as report.docx (or a
        function making it, called when the folder is written).
    extra_sheets
        Further sheets of summary.xlsx (`circles.outputs.workbook.Sheet`: meal delivery, home visits).
    lazy
        The big files (map.html, gaps.geojson, isochrones.geojson) as functions that make and write
        them when `circles.outputs.files.write_run` writes the folder, one at a time: the same
        bytes, a smaller peak of memory. `map_page` may then be a function returning the page.

    Returns
    -------
    dict of str to bytes
        summary.json, access.csv, gaps.geojson, isochrones.geojson, summary.csv, summary.xlsx,
        districts.csv (when the report has districts), map.html and report.docx (when given).
        CSV files are UTF-8 with BOM for Excel; text cells starting with ``=``, ``+``, ``-``,
        ``@`` get a ``'``.
    """
    check_lang(lang)
    summary = summary_dict(report, inputs)
    summary.update(extra_summary or {})
    if isinstance(suggestions, pd.DataFrame):
        sites = suggestions if len(suggestions) else None
        site_table = added_site_table(suggestions, profile=report.profile, lang=lang)
    else:
        results = tuple(suggestions)
        if results:
            summary["suggestions"] = suggestions_dict(results)
        sites = pd.concat([r.to_geodataframe() for r in results], ignore_index=True) if results else None
        site_table = suggestion_table(results, profile=report.profile, lang=lang, named=named_sites)
    table = summary_table(report, lang)

    def later(make: Callable[[], str]) -> FileData:  # made now, or when the folder is written
        if not lazy:
            return make().encode("utf-8")
        return lambda path: Path(path).write_bytes(make().encode("utf-8"))

    files: dict[str, FileData] = {
        "summary.json": json_bytes(summary),
        "access.csv": csv_bytes(access_table(report)),
        "gaps.geojson": later(lambda: gaps_geojson(report, suggestions=sites)),
        "isochrones.geojson": later(lambda: areas_geojson(service_areas)),
        "summary.csv": csv_bytes(table),
        "summary.xlsx": summary_workbook(report, lang, district_table, rule_table=rule_table, suggestions=site_table,
                                         districts=districts, district_col=district_col,
                                         extra_sheets=extra_sheets, inputs=inputs),
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
        files["map.html"] = later(map_page if callable(map_page) else (lambda: map_page))
    if report_docx is not None:
        files["report.docx"] = ((lambda path: Path(path).write_bytes(report_docx())) if callable(report_docx)
                                else report_docx)
    return files


def result_files(result: Any, *, report: bool | None = None, timings: dict[str, float] | None = None,
                 lazy: bool = False) -> dict[str, FileData]:
    """Every output of `circles analyze` for a `circles.pipeline.AnalysisResult`, as bytes by file name.

    The map (`circles.outputs.map.analysis_map`) unless the run is figures-only, the workbook with
    its districts, gaps, sites, facilities and rule sheets, rules.csv and facility_rules.csv, and
    report.docx (`circles.outputs.report.analysis_report`) unless `report` is False (default: the
    result's ``write_report``, i.e. not ``--no-report``). Meal delivery and home visits
    (``result.outreach()``) join summary.json, their files, the workbook, the report and the map.
    `timings`, when given, receives the seconds spent on the map, the report and the other files.
    `lazy`: the map and the GeoJSON files are made when the folder is written (`analysis_files`).
    """
    import time

    from circles.memory import release_memory
    from circles.outputs.outreach import outreach_files, outreach_sheets

    outreach = result.outreach()
    extra_summary, extra_files = outreach_files(outreach)

    seconds: dict[str, float] = {}

    def make_page() -> str:
        from circles.outputs.map import analysis_map, map_html

        clock = time.perf_counter()
        page = map_html(analysis_map(result))
        release_memory()  # the map's layers are text now
        if timings is not None:
            timings["map"] = time.perf_counter() - clock
        return page

    page: Any = None
    if result.service_areas is not None:
        page = make_page if lazy else make_page()
    suggestions: Any = result.suggestions
    if not suggestions and result.added_sites is not None:
        sites = result.added_sites
        suggestions = sites[[c for c in ("category", "tier", "rank", "name", "added_covered", "origin", "geometry")
                             if c in sites]]
    district_table, rules = result.tables()
    rule_checks = result.report.rules
    facility_rules = rule_checks.facility_table(result.lang) if rule_checks is not None else None
    def make_report() -> bytes:
        from circles.outputs.report import analysis_report

        clock = time.perf_counter()
        docx = analysis_report(result, extra=extra_summary)
        release_memory()  # the pictures are PNG bytes now
        if timings is not None:
            timings["report"] = time.perf_counter() - clock
        return docx

    docx: Any = None
    if report if report is not None else getattr(result, "write_report", True):
        docx = make_report if lazy else make_report()
    clock = time.perf_counter()
    files = analysis_files(result.report, inputs=result.inputs, lang=result.lang,
                           service_areas=result.service_areas, suggestions=suggestions, map_page=page,
                           district_table=district_table, rule_table=rules, facility_rule_table=facility_rules,
                           extra_summary=extra_summary, districts=result.districts,
                           district_col=result.district_col or "name",
                           named_sites=(result.inputs or {}).get("candidates") not in (None, "generated in gaps"),
                           report_docx=docx, extra_sheets=outreach_sheets(outreach, result.lang), lazy=lazy)
    files.update(extra_files)
    seconds["outputs"] = time.perf_counter() - clock
    if timings is not None:
        timings.update(seconds)
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

"""The Word reports a bureau hands in: report.docx of an analysis (each batch district too) and a batch's city report.

`analysis_report` writes, in Chinese or English: a title with the area and the date; the summary
per category; a map picture per category drawn offline from the same layers as map.html, streets
included (`circles.outputs.pictures`); coverage per category and tier; per district; the rule
checks with the standard and clause each cites (GB 50180-2018, 民发〔2023〕58号 …); the worst gaps
with their streets (街道) and people; the suggested sites with their coordinates in WGS84, GCJ-02
and BD-09; the data sources and the method with the sources of every threshold and speed.

`city_report` writes a batch's report: the per-district table, a choropleth picture per category,
the failed districts and the rule checks.

The documents are built with python-docx; their times and zip entries carry the report's date, so
the same inputs on the same day give the same bytes.

Example
-------
>>> from circles.options import RunOptions
>>> from circles.pipeline import analyse, prepare
>>> result = analyse(prepare(RunOptions(sample=True, suggest=2)))   # doctest: +SKIP
>>> open("report.docx", "wb").write(analysis_report(result))          # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from circles.outputs.labels import check_lang, group_label, header, label, status_label, yes_no
from circles.outputs.safety import xml_text
from circles.outputs.tables import equity_table, gap_table, group_table, overview_table, rule_citation, suggestion_table
from circles.outputs.workbook import COLUMN_FORMATS

__all__ = ["GAPS_PER_CATEGORY", "analysis_report", "city_report", "report_area"]

#: The worst gaps listed per category.
GAPS_PER_CATEGORY = 5
_COORD_SYSTEMS = {"wgs84": "WGS84", "gcj02": "GCJ-02", "bd09": "BD-09"}


# ============================================================================ the document
_ZH_NUMERALS = ("〇", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五")


class _Doc:
    """A python-docx document with the report's page, fonts and the few blocks reports are made of."""

    def __init__(self, lang: str):
        from docx import Document
        from docx.oxml.ns import qn
        from docx.shared import Cm, Pt

        self.lang = lang
        self.doc = Document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.left_margin = section.right_margin = Cm(2.5)
        section.top_margin = section.bottom_margin = Cm(2.2)
        for name, east_asia, size in (("Normal", "宋体", 10.5), ("Title", "黑体", 20), ("Heading 1", "黑体", 14),
                                      ("Heading 2", "黑体", 12), ("Caption", "宋体", 9)):
            style = self.doc.styles[name]
            style.font.size = Pt(size)
            fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
            fonts.set(qn("w:eastAsia"), east_asia)
        self.figures = 0
        self.sections = 0

    def title(self, text: str, subtitle: str) -> None:
        self.doc.add_heading(xml_text(text), level=0)
        self.doc.add_paragraph(xml_text(subtitle))

    def heading(self, text: str, level: int = 1) -> None:
        """A heading; a section's (level 1) is numbered in order (一、二、… / 1. 2. …), whatever the label says."""
        if level == 1:
            self.sections += 1
            bare = re.sub(r"^\s*(?:[一二三四五六七八九十]+、|\d+\.\s*)", "", text)
            n = self.sections
            text = f"{_ZH_NUMERALS[n] if n < len(_ZH_NUMERALS) else n}、{bare}" if self.lang == "zh" else f"{n}. {bare}"
        self.doc.add_heading(xml_text(text), level=level)

    def para(self, text: str, *, style: str | None = None, bold: bool = False) -> None:
        p = self.doc.add_paragraph(style=style)
        run = p.add_run(xml_text(text))
        run.bold = bold

    def bullets(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.doc.add_paragraph(xml_text(line), style="List Bullet")

    def picture(self, png: bytes, caption: str) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm

        self.doc.add_picture(io.BytesIO(png), width=Cm(16))
        self.doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.figures += 1
        cap = self.doc.add_paragraph(xml_text(caption.replace("{n}", str(self.figures))), style="Caption")
        cap.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def table(self, frame: pd.DataFrame, *, kinds: Mapping[str, str] | None = None) -> None:
        """`frame` (canonical column names) as a Word table: headers in the report's language, values formatted."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Pt

        columns = list(frame.columns)
        kinds = {**{c: COLUMN_FORMATS.get(c) for c in columns}, **(kinds or {})}
        rows = [[_shown(v, kinds.get(c)) for c, v in zip(columns, r)] for r in frame.itertuples(index=False)]
        table = self.doc.add_table(rows=1 + len(rows), cols=len(columns))
        table.style = "Table Grid"
        for k, c in enumerate(columns):
            cell = table.rows[0].cells[k]
            cell.text = xml_text(header(c, self.lang))
            shade = OxmlElement("w:shd")
            shade.set(qn("w:val"), "clear")
            shade.set(qn("w:fill"), "E7E6E6")
            cell._tc.get_or_add_tcPr().append(shade)
        for i, values in enumerate(rows, start=1):
            cells = table.rows[i].cells
            for k, v in enumerate(values):
                cells[k].text = xml_text(v)
        for row in table.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    for run in p.runs:
                        run.font.size = Pt(8.5)
        for cell in table.rows[0].cells:
            for run in cell.paragraphs[0].runs:
                run.bold = True
        self.doc.add_paragraph()

    def bytes(self, title: str, date: dt.date) -> bytes:
        """The document as bytes: its properties and every zip entry dated `date` (the same day, the same bytes)."""
        when = dt.datetime(date.year, date.month, date.day)
        props = self.doc.core_properties
        props.title, props.author, props.last_modified_by = xml_text(title), "circles", "circles"
        props.created = props.modified = props.last_printed = when
        props.revision = 1
        buf = io.BytesIO()
        self.doc.save(buf)
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for info in src.infolist():
                entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
                entry.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(entry, src.read(info.filename))
        return out.getvalue()


def _shown(value: Any, kind: str | None) -> str:
    """A value as the report prints it: counts 1,234; shares 84.3%; coordinates 6 decimals; missing –."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        if kind == "0.0%":
            return f"{100 * value:.1f}%"
        if kind == "#,##0":
            return f"{value:,.0f}"
        if kind == "0.000000":
            return f"{value:.6f}"
        if kind == "0.0":
            return f"{value:.1f}"
        if kind == "0.000":
            return f"{value:.3f}"
        return f"{value:g}" if isinstance(value, float) else str(value)
    return str(value)


# ============================================================================ an analysis
def analysis_report(result: Any, *, lang: str | None = None, date: dt.date | None = None,
                    extra: Mapping[str, Any] | None = None) -> bytes:
    """report.docx of an analysis (`circles.pipeline.AnalysisResult`): figures, maps, rules, gaps, sites, sources.

    Parameters
    ----------
    result
        The analysis (a batch district's too: its area names the report).
    lang
        ``"zh"`` or ``"en"``; default the result's language.
    date
        The report's date (default today).
    extra
        summary.json's ``delivery`` and ``home_visits`` (`circles.outreach.outreach_outputs`):
        their section is written when either is given.

    Returns
    -------
    bytes
        The Word document.
    """
    from circles.outputs.pictures import coverage_pictures

    lang = check_lang(lang or result.lang)
    date = date or dt.date.today()
    report = result.report
    inputs = result.inputs or {}
    doc = _Doc(lang)
    profile_name = _name(report.profile, lang) if report.profile is not None else inputs.get("profile", "")
    title = label("report.title", lang, area=report_area(result, lang))
    doc.title(title, label("report.subtitle", lang, date=date.isoformat(), profile=profile_name))
    if inputs.get("sample_label"):
        doc.para(label("report.sample", lang), bold=True)
    _summary(doc, result)
    named = inputs.get("candidates") not in (None, "generated in gaps")
    sites = suggestion_table(result.suggestions, profile=report.profile, lang=lang, named=named) \
        if result.suggestions else None
    if result.service_areas is not None:  # --figures-only draws nothing: no map pictures either
        doc.heading(label("report.h_maps", lang))
        for cat, png in coverage_pictures(result, lang=lang, sites=sites).items():
            res = report.category(cat)
            doc.picture(png, label("report.map_caption", lang, n="{n}", cat=_name(res, lang),
                                   minutes=f"{res.minutes:g}"))
    doc.heading(label("report.h_coverage", lang))
    overview = overview_table(report, lang)
    overview["demand_column"] = [group_label(g, lang) for g in overview["demand_column"]]
    doc.table(overview.drop(columns=["category", "tier", "speed_kmh"]), kinds={"minutes": None})
    groups = group_table(report, lang)
    if len(groups):  # need groups: 80+ and 失能 count only step-free facilities
        doc.table(groups)
    districts, rules = result.tables()
    _districts_section(doc, districts)
    _rules_section(doc, rules, report.profile, "report.h_rules")
    _equity_section(doc, report)
    _gaps_section(doc, result)
    _sites_section(doc, sites, named)
    _outreach_section(doc, extra or {})
    _sources_section(doc, result)
    return doc.bytes(title, date)


def report_area(result: Any, lang: str) -> str:
    """The name of the area a report is about: the district, the boundary or network file, or the sample."""
    if getattr(result.area, "name", None):
        return str(result.area.name)
    inputs = result.inputs or {}
    if inputs.get("network") == "sample" or inputs.get("sample_label"):
        return label("report.sample_area", lang)
    for key in ("boundary", "network"):
        value = inputs.get(key)
        if value:
            return Path(str(value)).name.split(".")[0]
    return ""


def _summary(doc: _Doc, result: Any) -> None:
    lang = doc.lang
    doc.heading(label("report.h_summary", lang))
    for c in result.report.categories:
        doc.para(label("report.summary_line", lang, cat=_name(c, lang), share=f"{100 * c.coverage:.1f}%",
                       covered=f"{c.demand_covered:,.0f}", total=f"{c.demand_total:,.0f}",
                       group=group_label(c.demand_column, lang), minutes=f"{c.minutes:g}", n=c.facilities))
    districts = result.districts
    if districts is not None and "partial" in districts and bool(districts["partial"].any()):
        doc.para(label("report.summary_partial", lang, n=int(districts["partial"].sum())))


def _districts_section(doc: _Doc, table: pd.DataFrame | None) -> None:
    lang = doc.lang
    doc.heading(label("report.h_districts", lang))
    if table is None or not len(table):
        doc.para(label("report.no_districts", lang))
        return
    shown = table.assign(category=table["label"], partial=[yes_no(v, lang) for v in table["partial"]])
    doc.table(shown[["district", "category", "facilities", "demand_total", "demand_covered", "uncovered", "coverage",
                     "partial"]])


def _rules_section(doc: _Doc, rules: pd.DataFrame | None, profile: Any, heading: str) -> None:
    lang = doc.lang
    doc.heading(label(heading, lang))
    if rules is None or not len(rules):
        doc.para(label("report.no_rules", lang))
        return
    doc.para(label("report.rules_intro", lang))
    records = rules.to_dict("records")
    ok = "ok" if "ok" in rules else "rule_ok"
    shown = pd.DataFrame({"district": rules["district"], "rule": rules["label"] if "label" in rules else rules["rule"],
                          "required": rules["required"], "value": rules["value"],
                          "ok": [yes_no(v, lang) for v in rules[ok]],
                          "citation": [rule_citation(profile, r) for r in records]})
    doc.table(shown)


def _gaps_section(doc: _Doc, result: Any) -> None:
    lang = doc.lang
    doc.heading(label("report.h_gaps", lang))
    doc.para(label("report.gaps_intro", lang, n=GAPS_PER_CATEGORY))
    gaps = gap_table(result.report, lang=lang, districts=result.districts, district_col=result.district_col or "name",
                     top=GAPS_PER_CATEGORY)
    for c in result.report.categories:
        mine = gaps[gaps["category"] == c.category]
        if not len(mine):
            doc.para(label("report.no_gaps", lang, cat=_name(c, lang)))
            continue
        doc.heading(f"{_name(c, lang)}（{group_label(c.demand_column, lang)}）" if lang == "zh"
                    else f"{_name(c, lang)} ({group_label(c.demand_column, lang)})", level=2)
        doc.table(pd.DataFrame({
            "rank": mine["rank"], "district": mine["district"], "demand_uncovered": mine["demand_uncovered"],
            "units": mine["units"], "max_minutes": mine["max_minutes"],
            "location_wgs84": _pairs(mine["lon"], mine["lat"]),
            "location_gcj02": _pairs(mine["lon_gcj02"], mine["lat_gcj02"])}))


def _sites_section(doc: _Doc, sites: pd.DataFrame | None, named: bool) -> None:
    lang = doc.lang
    doc.heading(label("report.h_sites", lang))
    if sites is None or not len(sites):
        doc.para(label("report.no_sites", lang))
        return
    doc.para(label("report.sites_intro", lang))
    frame = pd.DataFrame({"rank": sites["rank"], "category": sites["label"], "added_covered": sites["added_covered"],
                          "coverage_before": sites["coverage_before"], "coverage_after": sites["coverage_after"],
                          "location_wgs84": _pairs(sites["lon"], sites["lat"]),
                          "location_gcj02": _pairs(sites["lon_gcj02"], sites["lat_gcj02"]),
                          "location_bd09": _pairs(sites["lon_bd09"], sites["lat_bd09"])})
    if named:
        frame.insert(2, "name", sites["name"])
    doc.table(frame)


def _equity_section(doc: _Doc, report: Any) -> None:
    """The one-stop share, each category's Gini and zero-access share, and the Lorenz curves (two categories or more)."""
    if len(report.categories) < 2:
        return
    from circles.equity import one_stop
    from circles.outputs.pictures import lorenz_png

    lang = doc.lang
    stop = one_stop(report)
    doc.heading(label("report.h_equity", lang))
    doc.para(label("report.equity_intro", lang, share=f"{100 * stop.coverage:.1f}%", covered=f"{stop.demand_covered:,.0f}",
                   total=f"{stop.demand_total:,.0f}"))
    doc.table(equity_table(report, lang))
    doc.picture(lorenz_png(report, lang=lang), label("report.lorenz_caption", lang, n="{n}"))


def _outreach_section(doc: _Doc, extra: Mapping[str, Any]) -> None:
    """Meal delivery from central kitchens and home-visit reach, as summary.json states them."""
    lang = doc.lang
    delivery, visits = extra.get("delivery"), extra.get("home_visits")
    if not delivery and not visits:
        return
    doc.heading(label("report.h_outreach", lang))
    pct = (lambda v: "–" if v is None else f"{100 * float(v):.1f}%")
    if delivery:
        doc.para(label("report.delivery_line", lang, label=delivery.get(f"label_{lang}") or "",
                       points=delivery["points"], within=delivery["within_limit"],
                       limit=f"{delivery['limit_minutes']:g}", share=pct(delivery.get("share"))))
        beyond = [str(b["meal_point"]) for b in delivery.get("beyond", [])]
        if beyond:
            doc.para(label("report.delivery_beyond", lang, names=("、" if lang == "zh" else ", ").join(beyond[:30])))
    if visits:
        doc.para(label("report.visits_line", lang, label=visits.get(f"label_{lang}") or "",
                       total=f"{visits['demand_total']:,.0f}", within=f"{visits['demand_within']:,.0f}",
                       limit=f"{visits['limit_minutes']:g}", share=pct(visits.get("share"))))
        if visits.get("estimated_units"):
            doc.para(label("report.visits_estimated", lang, demand=f"{visits['estimated_demand']:,.0f}",
                           estimate=visits.get("estimate") or ""))


def _sources_section(doc: _Doc, result: Any) -> None:
    lang = doc.lang
    inputs = result.inputs or {}
    report = result.report
    doc.heading(label("report.h_sources", lang))
    lines = [label("report.src_network", lang, name=_file(inputs.get("network")))]
    if inputs.get("facilities"):
        lines.append(label("report.src_facilities", lang, name=_file(inputs["facilities"]),
                           coords=_COORD_SYSTEMS.get(str(inputs.get("coords")), inputs.get("coords") or "WGS84")))
    if inputs.get("population"):
        lines.append(label("report.src_population", lang, name=_file(inputs["population"])))
    source = _source_text(inputs.get("population_source"))
    if source:
        lines.append(label("report.src_population_source", lang, source=source))
    if inputs.get("districts"):
        lines.append(label("report.src_districts", lang, name=_file(inputs["districts"])))
    if report.profile is not None:
        lines.append(label("report.src_profile", lang, name=f"{report.profile.id}: {_name(report.profile, lang)}"))
    doc.bullets(lines)
    doc.para(label("report.method", lang, horizon=f"{report.horizon_min:g}"))
    if report.profile is not None:
        doc.bullets(_tier_lines(report.profile, report.categories, lang))
        cited = list(getattr(report.profile, "sources", ()) or ())
        if cited:
            doc.para(label("report.profile_sources", lang), bold=True)
            doc.bullets([str(s) for s in cited])
    notes = [*result.notes, *report.warnings]
    if notes:
        doc.para(label("report.notes", lang), bold=True)
        doc.bullets([str(n) for n in notes[:50]])


def _tier_lines(profile: Any, categories: Sequence[Any], lang: str) -> list[str]:
    """Each tier's threshold and speed with its source (the standards the figures rest on)."""
    lines = []
    assessed = {c.category for c in categories}
    for cat in profile.categories:
        if cat.id not in assessed:
            continue
        for t in cat.tiers:
            threshold = (label("report.method_minutes", lang, minutes=f"{t.minutes:g}") if t.minutes is not None
                         else label("report.method_distance", lang, distance=f"{t.distance_m:g}"))
            speed = label("report.method_drive", lang) if t.mode == "drive" else \
                label("report.method_speed", lang, speed=f"{t.speed_kmh:g}")
            lines.append(label("report.method_tier", lang, cat=_name(cat, lang), tier=_name(t, lang),
                               threshold=threshold, speed=speed, source=t.source or "–"))
    return lines


# ============================================================================ a batch
def city_report(table: pd.DataFrame, districts: Any, profile: Any, *, lang: str = "zh",
                rules: pd.DataFrame | None = None, area: str | None = None, date: dt.date | None = None,
                name_col: str = "name") -> bytes:
    """The city-level report.docx of a batch: the per-district table, a choropleth per category, the rule checks.

    Parameters
    ----------
    table
        The combined districts table (`circles.districts.DISTRICT_COLUMNS`).
    districts
        The districts' polygons (any CRS) with `name_col`.
    profile
        The run's profile (category labels, the rules' citations, the documents it cites).
    lang
        ``"zh"`` or ``"en"``.
    rules
        The combined rule checks (`circles.districts.RULE_COLUMNS`, and ``citation`` where given).
    area
        The city or county named in the title (default: none).
    date
        The report's date (default today).

    Returns
    -------
    bytes
        The Word document.
    """
    from circles.outputs.pictures import choropleth_picture

    check_lang(lang)
    date = date or dt.date.today()
    doc = _Doc(lang)
    title = label("report.city_title", lang, area=area or "")
    doc.title(title, label("report.subtitle", lang, date=date.isoformat(), profile=_name(profile, lang)))
    doc.heading(label("report.city_h_table", lang))
    ok = table[table["status"] != "failed"]
    for cat in profile.categories:
        mine = ok[ok["category"] == cat.id]
        total = float(pd.to_numeric(mine["demand_total"], errors="coerce").sum())
        covered = float(pd.to_numeric(mine["demand_covered"], errors="coerce").sum())
        doc.para(label("report.city_totals", lang, cat=_name(cat, lang),
                       share=f"{100 * covered / total:.1f}%" if total > 0 else "–", covered=f"{covered:,.0f}",
                       total=f"{total:,.0f}", group=group_label(cat.demand_column, lang)))
    failed = sorted(set(table.loc[table["status"] == "failed", "district"].astype(str)))
    if failed:
        doc.para(label("report.city_failed", lang, names="、".join(failed) if lang == "zh" else ", ".join(failed)))
    shown = table.assign(category=table["label"], status=[status_label(s, lang) if isinstance(s, str) else s
                                                          for s in table["status"]],
                         partial=[yes_no(v, lang) for v in table["partial"]])
    doc.table(shown[["district", "category", "status", "facilities", "demand_total", "demand_covered", "coverage",
                     "partial"]])
    doc.heading(label("report.city_h_maps", lang))
    for cat in profile.categories:
        png = choropleth_picture(districts, table, cat.id, lang=lang, name_col=name_col,
                                 title=label("map.choropleth_layer", lang, cat=_name(cat, lang)))
        doc.picture(png, label("report.city_map_caption", lang, n="{n}", cat=_name(cat, lang)))
    _rules_section(doc, rules, profile, "report.city_h_rules")
    cited = list(getattr(profile, "sources", ()) or ())
    if cited:
        doc.para(label("report.profile_sources", lang), bold=True)
        doc.bullets([str(s) for s in cited])
    return doc.bytes(title, date)


# ============================================================================ small helpers
def _name(obj: Any, lang: str) -> str:
    return str(getattr(obj, "label_zh" if lang == "zh" else "label_en", "") or getattr(obj, "id", ""))


def _file(value: Any) -> str:
    """An input as a reader knows it: a file's name, or the value itself (``sample``, a place name)."""
    if value is None:
        return "–"
    text = str(value)
    return Path(text).name if ("/" in text or "\\" in text) else text


def _pairs(lon: Any, lat: Any) -> list[str]:
    return [f"{x:.6f}, {y:.6f}" if math.isfinite(x) and math.isfinite(y) else "–"
            for x, y in zip(pd.to_numeric(lon).tolist(), pd.to_numeric(lat).tolist())]


def _source_text(source: Any) -> str | None:
    from circles.outputs.map.coverage import population_source_text

    return population_source_text(source)

"""The tables of an analysis: summary.json content, access.csv, summary.csv/xlsx (headers in zh or en)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from circles.coverage import CoverageReport
from circles.outputs.geojson import POP_COLUMNS, json_ready
from circles.outputs.labels import check_lang, header

__all__ = ["SUMMARY_COLUMNS", "access_table", "suggestions_dict", "summary_dict", "summary_table"]

#: Columns of summary.csv/xlsx (headers by `circles.outputs.labels.header`).
SUMMARY_COLUMNS = ("category", "tier", "label", "facilities", "demand_column", "demand_total", "demand_covered",
                   "uncovered", "coverage", "minutes", "speed_kmh")


def summary_dict(report: CoverageReport, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The content of summary.json: the run's inputs and, per category id, the coverage figures.

    Parameters
    ----------
    report
        The coverage report.
    inputs
        The record of the run's inputs (sources, profile, options).

    Returns
    -------
    dict
        JSON-ready (NaN as None, floats rounded to 6 decimals): ``inputs``, ``horizon_min``,
        ``categories`` (with ``tiers``, ``capacity`` and ``districts`` where present),
        ``warnings`` and, with districts, ``rules``.
    """
    cats = {}
    for c in report.categories:
        cats[c.category] = {
            "label_zh": c.label_zh, "label_en": c.label_en, "facilities": c.facilities,
            "demand_column": c.demand_column, "demand_total": c.demand_total, "demand_covered": c.demand_covered,
            "coverage": round(c.coverage, 6), "minutes": c.minutes, "speed_kmh": c.speed_kmh,
            "tiers": {t.tier: {"label_zh": t.label_zh, "label_en": t.label_en, "facilities": t.facilities,
                               "mode": t.mode, "minutes": t.minutes, "speed_kmh": t.speed_kmh,
                               "demand_total": t.demand_total, "demand_covered": t.demand_covered,
                               "coverage": round(t.coverage, 6)} for t in c.tiers},
        }
        if c.category in report.capacity:
            cats[c.category]["capacity"] = dict(report.capacity[c.category])
        if report.districts is not None:
            dt = report.districts
            rows = dt[(dt["category"] == c.category) & dt.get("rule", pd.Series(index=dt.index)).isna()]
            cats[c.category]["districts"] = {
                str(r["district"]): {"facilities": r["facilities"], "demand_total": r["demand_total"],
                                     "demand_covered": r["demand_covered"], "coverage": r["coverage"]}
                for r in rows.to_dict("records")}
    out = {"inputs": dict(inputs), "horizon_min": report.horizon_min, "categories": cats,
           "warnings": list(report.warnings)}
    if getattr(report, "rules", None) is not None:  # issue 16: the rules' verdicts (circles.rules)
        out["rules"] = report.rules.summary()  # issue 16
    from circles.equity import summary_sections  # issue 16: one_stop, equity.<category>, groups.<category>

    out.update(summary_sections(report))  # issue 16
    return json_ready(out)


def suggestions_dict(suggestions: Iterable[Any]) -> dict[str, Any]:
    """summary.json ``suggestions``: per category, the sites and coverage before/after.

    `suggestions` are `circles.siting.SitingResult` objects; their timings are left out, so
    identical runs give identical files.
    """
    out = {}
    for r in suggestions:
        d = r.summary()
        for k in ("solve_s", "timings"):
            d.pop(k, None)
        out[r.category] = d
    return json_ready(out)


def access_table(report: CoverageReport) -> pd.DataFrame:
    """access.csv: one row per demand unit: id, lon, lat, population columns, minutes per category.

    Minutes are rounded to 0.01 and empty (NaN) where no facility is reached within the
    horizon; coordinates to 6 decimals (about 0.1 m).
    """
    d = report.demand
    cols = {"demand_id": d["demand_id"] if "demand_id" in d else pd.Series(np.arange(len(d)), index=d.index)}
    for c in ("name", "district"):
        if c in d:
            cols[c] = d[c]
    cols["lon"] = d["lon"].round(6)
    cols["lat"] = d["lat"].round(6)
    for c in (*POP_COLUMNS, "households"):
        if c in d:
            cols[c] = d[c]
    for c in report.categories:
        cols[f"minutes_{c.category}"] = d[f"minutes_{c.category}"].round(2)
    for c in report.categories:
        if f"capacity_per_1000_{c.category}" in d:
            cols[f"capacity_per_1000_{c.category}"] = d[f"capacity_per_1000_{c.category}"]
    cols["inside"] = d["inside"]
    cols["off_network"] = d["off_network"]
    return pd.DataFrame(cols)


def summary_table(report: CoverageReport, lang: str = "zh") -> pd.DataFrame:
    """summary.csv/xlsx: one row per category and per tier, headers in `lang` (``"zh"`` or ``"en"``).

    Columns are `SUMMARY_COLUMNS`; a category's own row has an empty tier; coverage is a share
    (0–1) rounded to 4 decimals.
    """
    zh = check_lang(lang) == "zh"
    rows = []
    for c in report.categories:
        rows.append((c.category, "", c.label_zh if zh else c.label_en, c.facilities, c.demand_column,
                     c.demand_total, c.demand_covered, c.demand_total - c.demand_covered, round(c.coverage, 4),
                     c.minutes, c.speed_kmh))
        for t in c.tiers:
            rows.append((c.category, t.tier, t.label_zh if zh else t.label_en, t.facilities, c.demand_column,
                         t.demand_total, t.demand_covered, t.demand_total - t.demand_covered,
                         round(t.coverage, 4), t.minutes, t.speed_kmh))
    frame = pd.DataFrame.from_records(rows, columns=list(SUMMARY_COLUMNS)) if rows else pd.DataFrame()
    return frame.rename(columns={c: header(c, lang) for c in SUMMARY_COLUMNS})

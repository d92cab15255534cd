"""Meal delivery and home visits in the outputs: summary.json keys, files, workbook sheets (`circles.outreach`).

One `circles.outreach.Outreach` per analysis feeds every output that shows it: `outreach_files`
(summary.json's ``delivery`` and ``home_visits``; ``delivery.csv``, ``delivery.geojson``,
``home_visits.csv``), `outreach_sheets` (the workbook's 送餐配送 and 上门探访 sheets); the map draws
its layers (`circles.outputs.map.layers.add_outreach_layers`) and report.docx its figures.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from circles.delivery import reason_text
from circles.outputs.geojson import feature_collection, json_ready
from circles.outputs.labels import check_lang, yes_no
from circles.outputs.safety import csv_bytes
from circles.outputs.workbook import Sheet, sheet

__all__ = ["outreach_files", "outreach_sheets"]


def outreach_files(outreach: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    """summary.json's ``delivery``/``home_visits`` and the files of `outreach` (a `circles.outreach.Outreach`).

    Returns
    -------
    tuple of (dict, dict)
        The summary keys (JSON-ready) and the files by name: ``delivery.csv``,
        ``delivery.geojson`` (links and unreachable meal points, WGS84), ``home_visits.csv``;
        each only when it applies.
    """
    summary = {k: json_ready(v) for k, v in outreach.figures().items()}
    files: dict[str, bytes] = {}
    if outreach.delivery is not None:
        files["delivery.csv"] = csv_bytes(outreach.delivery.table.drop(columns="geometry", errors="ignore"))
        layer = outreach.delivery.layer()
        files["delivery.geojson"] = feature_collection(layer.geometry.values,
                                                       layer.drop(columns="geometry")).encode("utf-8")
    if outreach.visits is not None:
        files["home_visits.csv"] = csv_bytes(outreach.visits.table)
    return summary, files


def outreach_sheets(outreach: Any, lang: str) -> list[Sheet]:
    """The workbook's sheets of `outreach`: every meal point with its kitchen and minutes (送餐配送), and the
    units with home-visit demand beyond reach, most people first (上门探访); headers and yes/no in `lang`."""
    check_lang(lang)
    sheets = []
    if outreach.delivery is not None:
        t = outreach.delivery.table
        shown = pd.DataFrame({"meal_point": t["meal_point"], "kitchen": t["kitchen"], "travel_minutes": t["minutes"],
                              "ok": [yes_no(v, lang) for v in t["ok"]], "reason": [reason_text(r, lang) for r in t["reason"]],
                              "lon": t["meal_point_lon"], "lat": t["meal_point_lat"]})
        sheets.append(sheet("delivery", shown, lang))  # ok: within the delivery limit
    if outreach.visits is not None:
        t = outreach.visits.table
        t = t[t["inside"].to_numpy(bool)].sort_values(["ok", "demand"], ascending=[True, False], kind="stable")
        shown = pd.DataFrame({"name": t["name"], "visit_demand": t["demand"],
                              "estimated": [yes_no(v, lang) for v in t["estimated"]], "station": t["station"],
                              "travel_minutes": t["minutes"], "ok": [yes_no(v, lang) for v in t["ok"]],
                              "lon": t["lon"], "lat": t["lat"]})
        sheets.append(sheet("home_visits", shown, lang))
    return sheets

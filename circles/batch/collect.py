"""Collecting a batch: each district's files committed into its folder, then the combined tables.

The calling process is the only writer. A district's files are staged and moved into place,
then its ``_done.json`` marker (its rows and the fingerprint of its inputs) is written last:
``--resume`` trusts only a marker over complete files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from circles.batch.execute import DistrictOutcome
from circles.districts import RULE_COLUMNS
from circles.outputs.geojson import json_ready

__all__ = ["DONE_MARKER", "MARKER_VERSION", "commit_district", "forget_district", "read_marker", "write_combined"]

#: Written last into a district's folder, after its outputs are in place: what ``resume`` trusts.
DONE_MARKER = "_done.json"
MARKER_VERSION = 2


def commit_district(out: Path, outcome: DistrictOutcome, fingerprint: str) -> None:
    """The district's folder replaced as a whole by its files and, inside the same swap, its marker."""
    from circles.outputs import write_run

    marker = {"version": MARKER_VERSION, "district": outcome.name, "folder": outcome.folder,
              "fingerprint": fingerprint, "files": sorted(outcome.files), "seconds": outcome.seconds,
              "cpu_seconds": outcome.cpu_seconds, "rows": list(outcome.rows), "rules": list(outcome.rules)}
    files = {**dict(sorted(outcome.files.items())),
             DONE_MARKER: (json.dumps(marker, ensure_ascii=False, indent=1) + "\n").encode()}
    write_run(out / outcome.folder, files)


def forget_district(out: Path, folder: str) -> None:
    """A failed district keeps no marker, so that the next --resume runs it again."""
    (out / folder / DONE_MARKER).unlink(missing_ok=True)


def read_marker(folder: Path, fingerprint: str) -> DistrictOutcome | None:
    """The district's outcome from its ``_done.json`` when complete for these inputs, else None."""
    try:
        m = json.loads((folder / DONE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or m.get("version") != MARKER_VERSION or m.get("fingerprint") != fingerprint:
        return None
    if not all((folder / f).is_file() for f in m.get("files", [])) or not m.get("rows"):
        return None
    return DistrictOutcome(m["district"], m["folder"], "skipped", "", tuple(m["rows"]), tuple(m.get("rules", ())),
                           {}, m.get("seconds", 0.0), m.get("cpu_seconds", 0.0))


def write_combined(out: Path, table: pd.DataFrame, outcomes: Sequence[DistrictOutcome], districts: gpd.GeoDataFrame,
                   profile: Any, lang: str, run: dict[str, Any], rule_checks: Any = None, *,
                   report: bool = True, area: str | None = None) -> list[Path]:
    """districts.csv/.xlsx/.geojson, rules.csv, facility_rules.csv, summary_map.html, report.docx, errors.log
    and batch.json.

    `rule_checks` (`circles.rules.RuleChecks` over the whole run: county and city rules need every
    district at once) gives rules.csv and facility_rules.csv; without it, the districts' own rows.
    `report` False (``--no-report``) leaves out the city report (report.docx, titled with `area`).
    """
    from circles.outputs import csv_bytes, districts_geojson, districts_map_page, districts_workbook, write_files
    from circles.outputs.geojson import json_bytes

    if rule_checks is not None:
        rules = rule_checks.table(lang)
    else:
        rules = pd.DataFrame([r for o in outcomes for r in o.rules], columns=list(RULE_COLUMNS))
    collection = districts_geojson(districts, table, profile)
    for f, row in zip(collection["features"], districts.itertuples()):
        f["properties"]["inside_share"] = float(row.inside_share)
        f["properties"]["partial"] = bool(row.partial)
    has_geometry = any(f.get("geometry") for f in collection["features"])
    failed = [o for o in outcomes if o.status == "failed"]
    files = {
        "districts.csv": csv_bytes(table),
        "rules.csv": csv_bytes(rules),
        **({"facility_rules.csv": csv_bytes(rule_checks.facility_table(lang))} if rule_checks is not None else {}),
        "districts.xlsx": districts_workbook(table, lang, rules, profile),
        "districts.geojson": json_bytes(collection),
        "summary_map.html": (districts_map_page(collection, profile, lang) if has_geometry
                             else "<!doctype html><p>no district geometry</p>").encode("utf-8"),
        "errors.log": "".join(f"{_log_field(o.name)}\t{_log_field(o.cause)}\n" for o in failed).encode("utf-8"),
        "batch.json": json_bytes(json_ready(run, decimals=None)),
    }
    if report:
        from circles.outputs.report import city_report

        files["report.docx"] = city_report(table, districts, profile, lang=lang, rules=rules, area=area)
    return write_files(out, files)


#: Tabs and every line break `str.splitlines` knows: they would split an errors.log line.
_LOG_BREAKS = re.compile(r"[\t\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _log_field(text: Any) -> str:
    r"""`text` as one field of errors.log (``name<TAB>cause`` per line): tabs and line breaks become a space.

    A district name typed with Alt+Enter in an Excel cell holds a line break.

    >>> _log_field("空地\n（新区）\t甲")
    '空地 （新区） 甲'
    """
    return _LOG_BREAKS.sub(" ", str(text))

"""Collecting a batch: each district's files committed into its folder, then the combined tables.

The calling process is the only writer. A district's files are staged and moved into place,
then its ``_done.json`` marker (its rows and the fingerprint of its inputs) is written last:
``--resume`` trusts only a marker over complete files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.batch.execute import DistrictOutcome
from circles.districts import RULE_COLUMNS
from circles.text import jsonable

__all__ = ["DONE_MARKER", "MARKER_VERSION", "commit_district", "forget_district", "read_marker", "write_combined"]

#: Written last into a district's folder, after its outputs are in place: what ``resume`` trusts.
DONE_MARKER = "_done.json"
MARKER_VERSION = 2


def commit_district(out: Path, outcome: DistrictOutcome, fingerprint: str) -> None:
    """Outputs staged and moved into place, then the marker: never a marker over partial files."""
    from circles.export import OutputDir

    target = out / outcome.folder
    (target / DONE_MARKER).unlink(missing_ok=True)
    for p in out.glob(f".{outcome.folder}.*"):  # staging folders left by a killed run
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
    staged = OutputDir(target)
    try:
        for name, data in sorted(outcome.files.items()):
            staged.write(name, lambda p, d=data: p.write_bytes(d))
    except BaseException:
        staged.abort()
        raise
    staged.commit()
    marker = {"version": MARKER_VERSION, "district": outcome.name, "folder": outcome.folder,
              "fingerprint": fingerprint, "files": sorted(outcome.files), "seconds": outcome.seconds,
              "cpu_seconds": outcome.cpu_seconds, "rows": list(outcome.rows), "rules": list(outcome.rules)}
    _atomic_write(target / DONE_MARKER, (json.dumps(marker, ensure_ascii=False, indent=1) + "\n").encode())


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
                   profile: Any, lang: str, run: dict[str, Any]) -> list[Path]:
    """districts.csv/.xlsx/.geojson, rules.csv, summary_map.html, errors.log and batch.json, staged together."""
    from circles.export import OutputDir

    rules = pd.DataFrame([r for o in outcomes for r in o.rules], columns=list(RULE_COLUMNS))
    staged = OutputDir(out)
    try:
        staged.write("districts.csv", lambda p: table.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n"))
        staged.write("rules.csv", lambda p: rules.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n"))
        staged.write("districts.xlsx", lambda p: _write_xlsx(p, table, lang))
        collection = districts_geojson(districts, table)
        staged.write_json("districts.geojson", collection)
        staged.write("summary_map.html", lambda p: _summary_map(p, collection, profile, lang))
        failed = [o for o in outcomes if o.status == "failed"]
        staged.write("errors.log", lambda p: p.write_text("".join(f"{o.name}\t{o.cause}\n" for o in failed),
                                                          encoding="utf-8"))
        staged.write_json("batch.json", jsonable(run))
    except BaseException:
        staged.abort()
        raise
    return staged.commit()


def _summary_map(path: Path, collection: dict[str, Any], profile: Any, lang: str) -> None:
    """summary_map.html: the districts coloured by coverage, offline (Leaflet inlined)."""
    from circles.maps import districts_map, map_html

    if any(f.get("geometry") for f in collection["features"]):
        path.write_text(map_html(districts_map(collection, profile, lang=lang)), encoding="utf-8")
    else:
        path.write_text("<!doctype html><p>no district geometry</p>", encoding="utf-8")


_XLSX_HEADERS = {
    "zh": {"district": "区划", "category": "类别", "label": "名称", "status": "状态", "facilities": "设施数",
           "demand_column": "服务人群", "demand_total": "服务人口", "demand_covered": "覆盖人口",
           "uncovered": "未覆盖人口", "coverage": "覆盖率", "minutes": "时间阈值(分钟)", "inside_share": "数据覆盖比例",
           "partial": "部分在数据内", "rules_ok": "规则达标", "cause": "失败原因"},
    "en": {},
}
_STATUS_ZH = {"ok": "完成", "failed": "失败"}


def _write_xlsx(path: Path, table: pd.DataFrame, lang: str) -> None:
    from circles.export import _zero_xlsx_timestamps  # replaced by the outputs package's one XLSX writer

    shown = table.copy()
    if lang == "zh":
        shown["status"] = shown["status"].map(lambda s: _STATUS_ZH.get(s, s))
        for c in ("rules_ok", "partial"):
            shown[c] = shown[c].map(lambda v: "" if v is None or v is pd.NA else ("是" if v else "否"))
        shown = shown.rename(columns=_XLSX_HEADERS["zh"])
    else:
        shown = shown.rename(columns={c: c.replace("_", " ") for c in shown.columns})
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        shown.to_excel(xw, sheet_name="分区汇总" if lang == "zh" else "districts", index=False)
    _zero_xlsx_timestamps(path)


def districts_geojson(districts: gpd.GeoDataFrame, table: pd.DataFrame) -> dict[str, Any]:
    """RFC 7946 FeatureCollection: each district polygon with its figures per category (wide)."""
    feats = []
    by_district = {name: grp for name, grp in table.groupby("district", sort=False)}
    for row in districts.itertuples():
        grp = by_district.get(row.name)
        props: dict[str, Any] = {"district": row.name, "folder": row.folder,
                                 "inside_share": getattr(row, "inside_share", None),
                                 "partial": bool(getattr(row, "partial", False))}
        if grp is not None:
            props["status"] = grp["status"].iloc[0]
            props["cause"] = grp["cause"].iloc[0]
            for _, r in grp.iterrows():
                c = r["category"]
                for key in ("facilities", "demand_total", "demand_covered", "coverage", "rules_ok"):
                    v = r[key]
                    props[f"{c}_{key}"] = None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) \
                        else (int(v) if key in ("facilities", "demand_total", "demand_covered") else v)
        geom = None
        if row.geometry is not None:
            g = shapely.transform(row.geometry, lambda c: np.round(c, 7))  # about 1 cm, as circles.export
            g = shapely.orient_polygons(g, exterior_cw=False)  # RFC 7946 §3.1.6
            geom = json.loads(shapely.to_geojson(g))
        feats.append({"type": "Feature", "geometry": geom, "properties": props})
    return jsonable({"type": "FeatureCollection", "features": feats})


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Writers of `circles analyze` outputs (summary.json, access.csv, gaps.geojson, tables); atomic, deterministic."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.coverage import CoverageReport, gap_areas, uncovered_units
from circles.errors import CirclesError

POP_COLUMNS = ("population", "pop_60plus", "pop_0_17")

HEADERS = {
    "zh": {"category": "类别", "label": "名称", "facilities": "设施数", "demand_column": "服务人群",
           "demand_total": "服务人口", "demand_covered": "覆盖人口", "coverage": "覆盖率", "uncovered": "未覆盖人口",
           "minutes": "时间阈值(分钟)", "speed_kmh": "步速(km/h)", "tier": "层级", "district": "街道/乡镇",
           "rule": "规则", "required": "要求", "value": "实际", "rule_ok": "是否达标"},
    "en": {"category": "category", "label": "label", "facilities": "facilities", "demand_column": "demand group",
           "demand_total": "demand total", "demand_covered": "demand covered", "coverage": "coverage",
           "uncovered": "uncovered", "minutes": "minutes", "speed_kmh": "speed (km/h)", "tier": "tier",
           "district": "district", "rule": "rule", "required": "required", "value": "value", "rule_ok": "met"},
}


def _clean(v: Any) -> Any:
    """JSON-safe scalars: numpy to Python, NaN/inf to None, floats rounded for stable files."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, Mapping):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def _clean_props(p: Mapping[str, Any]) -> dict[str, Any]:
    """`_clean` of a flat properties dict, with the common scalar types handled inline (it runs per feature)."""
    out = {}
    for k, v in p.items():
        t = type(v)
        if t is str or t is int or t is bool or v is None:
            out[str(k)] = v
        elif t is float:
            out[str(k)] = round(v, 6) if math.isfinite(v) else None
        else:
            out[str(k)] = _clean(v)
    return out


def summary_dict(report: CoverageReport, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The content of summary.json: the run's inputs and, per category id, the coverage figures."""
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
                for _, r in rows.iterrows()}
    out = {"inputs": dict(inputs), "horizon_min": report.horizon_min, "categories": cats,
           "warnings": list(report.warnings)}
    if report.districts is not None and "rule" in report.districts:
        rr = report.districts[report.districts["rule"].notna()]
        out["rules"] = [{k: r[k] for k in ("district", "category", "rule", "tier", "required", "value", "rule_ok")}
                        for _, r in rr.iterrows()]
    return _clean(out)


def access_table(report: CoverageReport) -> pd.DataFrame:
    """access.csv: one row per demand unit: id, lon, lat, population columns, minutes per category."""
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


def feature_collection(geoms: Any, props: Sequence[Mapping[str, Any]], *, decimals: int = 7,
                       drop_empty: bool = False) -> str:
    """An RFC 7946 FeatureCollection (WGS84 lon/lat) as text, one feature per line.

    Coordinates are rounded to `decimals` (7 decimals of a degree is about 1 cm: enough, and stable
    between identical runs); exterior rings counterclockwise, holes clockwise (RFC 7946 §3.1.6).
    Properties go through `_clean` (NaN to null, floats rounded).
    """
    import shapely

    geoms = np.asarray(geoms, dtype=object)
    texts: Any = []
    if len(geoms):
        geoms = shapely.orient_polygons(shapely.transform(geoms, lambda c: np.round(c, decimals)), exterior_cw=False)
        texts = shapely.to_geojson(geoms)
        if drop_empty:
            keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
            texts, props = texts[keep], [p for p, k in zip(props, keep) if k]
    lines = ['{"type": "Feature", "geometry": ' + (t if t is not None else "null") + ', "properties": '
             + json.dumps(_clean_props(p), ensure_ascii=False) + "}" for t, p in zip(texts, props)]
    return '{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + ("\n" if lines else "") + "]}\n"


def gaps_geojson(report: CoverageReport, *, suggestions: gpd.GeoDataFrame | None = None) -> str:
    """gaps.geojson: gap areas, uncovered units (and suggested sites) of every category, as text."""
    geoms: list[Any] = []
    props: list[dict[str, Any]] = []
    for c in report.categories:
        gaps = gap_areas(report, c.category)
        geoms.extend(gaps.geometry.values)
        for g in gaps.drop(columns="geometry").to_dict("records"):
            props.append({"kind": "gap_area", "category": c.category, "rank": g["rank"], "units": g["units"],
                          "demand_column": c.demand_column, "demand_uncovered": g["demand_uncovered"],
                          "population": g["population"], "max_minutes": g["max_minutes"]})
        units = uncovered_units(report, c.category)
        geoms.extend(units.geometry.values)
        pops = [p for p in POP_COLUMNS if p in units]
        for u in units.drop(columns="geometry").to_dict("records"):
            row = {"kind": "uncovered_unit", "category": c.category, "demand_column": c.demand_column,
                   "demand_id": u.get("demand_id"), "name": u.get("name"), "minutes": u[f"minutes_{c.category}"]}
            row.update({p: u[p] for p in pops})
            props.append(row)
    if suggestions is not None:
        geoms.extend(suggestions.geometry.values)
        props.extend({"kind": "suggested_site", **s} for s in suggestions.drop(columns="geometry").to_dict("records"))
    return feature_collection(geoms, props)


def areas_geojson(service_areas: gpd.GeoDataFrame | None) -> str:
    """isochrones.geojson: service areas as text (see `circles.isochrones.service_areas` for the columns)."""
    if service_areas is None or not len(service_areas):
        return feature_collection([], [])
    return feature_collection(service_areas.geometry.values,
                              service_areas.drop(columns="geometry").to_dict("records"))


def summary_table(report: CoverageReport, lang: str = "zh") -> pd.DataFrame:
    """summary.csv/xlsx: one row per category and tier, headers in Chinese or English."""
    h = HEADERS[_lang(lang)]
    rows = []
    for c in report.categories:
        label = c.label_zh if lang == "zh" else c.label_en
        rows.append({h["category"]: c.category, h["tier"]: "", h["label"]: label, h["facilities"]: c.facilities,
                     h["demand_column"]: c.demand_column, h["demand_total"]: c.demand_total,
                     h["demand_covered"]: c.demand_covered, h["uncovered"]: c.demand_total - c.demand_covered,
                     h["coverage"]: round(c.coverage, 4), h["minutes"]: c.minutes, h["speed_kmh"]: c.speed_kmh})
        for t in c.tiers:
            rows.append({h["category"]: c.category, h["tier"]: t.tier,
                         h["label"]: t.label_zh if lang == "zh" else t.label_en, h["facilities"]: t.facilities,
                         h["demand_column"]: c.demand_column, h["demand_total"]: t.demand_total,
                         h["demand_covered"]: t.demand_covered, h["uncovered"]: t.demand_total - t.demand_covered,
                         h["coverage"]: round(t.coverage, 4), h["minutes"]: t.minutes, h["speed_kmh"]: t.speed_kmh})
    return pd.DataFrame(rows)


def _lang(lang: str) -> str:
    if lang not in HEADERS:
        raise CirclesError(f"--lang {lang!r} is not supported; use zh or en")
    return lang


class OutputDir:
    """Write files into a staging folder and move them into place only when every file is written.

    A run that fails leaves the target folder as it was: no partial files.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.stage = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.", dir=self.out_dir.parent))
        self.names: list[str] = []

    def write(self, name: str, writer: Callable[[Path], None]) -> None:
        writer(self.stage / name)
        if name not in self.names:  # a later writer of the same name replaces the earlier file
            self.names.append(name)

    def write_text(self, name: str, text: str) -> None:
        self.write(name, lambda p: p.write_text(text, encoding="utf-8"))

    def write_json(self, name: str, obj: Any) -> None:
        self.write(name, lambda p: p.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n",
                                                encoding="utf-8"))

    def commit(self) -> list[Path]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for n in self.names:
            os.replace(self.stage / n, self.out_dir / n)
        shutil.rmtree(self.stage, ignore_errors=True)
        return [self.out_dir / n for n in self.names]

    def abort(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)


def suggestions_dict(suggestions) -> dict[str, Any]:
    """summary.json `suggestions`: per category, the sites and coverage before/after (no timings, so
    identical runs give identical files)."""
    out = {}
    for r in suggestions:
        d = r.summary()
        for k in ("solve_s", "timings"):
            d.pop(k, None)
        out[r.category] = d
    return _clean(out)


def write_analysis(report: CoverageReport, out_dir: Path, *, inputs: Mapping[str, Any], lang: str = "zh",
                   service_areas: gpd.GeoDataFrame | None = None, suggestions: tuple = (),
                   extra: Mapping[str, Callable[[Path], None]] | None = None) -> list[Path]:
    """Write summary.json, access.csv, gaps.geojson, isochrones.geojson, summary.csv/xlsx into `out_dir`, atomically."""
    _lang(lang)
    out = OutputDir(out_dir)
    try:
        summary = summary_dict(report, inputs)
        if suggestions:
            summary["suggestions"] = suggestions_dict(suggestions)
        out.write_json("summary.json", summary)
        out.write("access.csv", lambda p: access_table(report).to_csv(p, index=False, encoding="utf-8-sig",
                                                                      lineterminator="\n"))
        sites = None
        if suggestions:
            sites = pd.concat([r.to_geodataframe() for r in suggestions], ignore_index=True)
        out.write_text("gaps.geojson", gaps_geojson(report, suggestions=sites))
        out.write_text("isochrones.geojson", areas_geojson(service_areas))
        table = summary_table(report, lang)
        out.write("summary.csv", lambda p: table.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n"))
        out.write("summary.xlsx", lambda p: _write_xlsx(p, table, report, lang))
        if report.districts is not None:
            out.write("districts.csv", lambda p: report.districts.to_csv(p, index=False, encoding="utf-8-sig",
                                                                         lineterminator="\n"))
        for name, writer in (extra or {}).items():
            out.write(name, writer)
    except BaseException:
        out.abort()
        raise
    return out.commit()


def _write_xlsx(path: Path, table: pd.DataFrame, report: CoverageReport, lang: str) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        table.to_excel(xw, sheet_name="summary" if lang == "en" else "汇总", index=False)
        if report.districts is not None:
            report.districts.to_excel(xw, sheet_name="districts" if lang == "en" else "分街道", index=False)
    _zero_xlsx_timestamps(path)


def _zero_xlsx_timestamps(path: Path) -> None:
    """openpyxl stamps creation/modification times; fix them so identical runs give identical files."""
    import zipfile

    tmp = path.with_suffix(".tmpzip")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in sorted(zin.infolist(), key=lambda i: i.filename):
            data = zin.read(item.filename)
            if item.filename == "docProps/core.xml":
                import re

                data = re.sub(rb"<dcterms:(created|modified)([^>]*)>[^<]*<", rb"<dcterms:\1\2>2000-01-01T00:00:00Z<", data)
            info = zipfile.ZipInfo(item.filename, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)
    os.replace(tmp, path)

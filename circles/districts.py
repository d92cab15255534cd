"""Districts (区县/街道): which the data reaches and how much of each, their ledger rows, and their table.

One table format serves `circles analyze --districts` and `circles batch`: one row per district ×
category (`DISTRICT_COLUMNS`), counts as integers, names never row numbers; the rule checks go
in their own table (`RULE_COLUMNS`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["DISTRICT_COLUMNS", "RULE_COLUMNS", "FACILITY_RULE_COLUMNS", "PARTIAL_BELOW", "assign_districts",
           "clip_districts", "county_of", "district_level", "ledger_by_district", "district_rows", "rule_rows",
           "facility_rule_rows", "failed_rows", "district_table"]

#: A district with less than this share of its area covered by the data is marked partial.
PARTIAL_BELOW = 0.5
#: Districts covered less than this (share of their area) are treated as outside the data.
MIN_INSIDE_SHARE = 0.005

DISTRICT_COLUMNS: tuple[str, ...] = (
    "district", "category", "label", "status", "facilities", "demand_column", "demand_total", "demand_covered",
    "uncovered", "coverage", "minutes", "inside_share", "partial", "rules_ok", "cause",
)
#: rules.csv: one row per rule × unit (facility rules go to facility_rules.csv), see `circles.rules`.
RULE_COLUMNS: tuple[str, ...] = ("rule_id", "rule", "unit", "scope", "value", "required", "ok", "citation",
                                 "category", "kind", "district")
#: facility_rules.csv: one row per rule × facility.
FACILITY_RULE_COLUMNS: tuple[str, ...] = ("name", "rule_id", "rule", "value", "required", "ok", "citation",
                                          "category", "tier", "district", "source_row")
#: Endings of Chinese county-level names (区/县/旗 ...) and of street/township names (街道/镇/乡 ...).
COUNTY_ENDINGS: tuple[str, ...] = ("区", "县", "市", "旗", "林区", "特区")
STREET_ENDINGS: tuple[str, ...] = ("街道", "镇", "乡", "苏木", "地区", "办事处", "农场", "街")


def clip_districts(districts: gpd.GeoDataFrame, extent: shapely.Geometry | None
                   ) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """The districts the data reaches, with the share of each one's area inside the data.

    Parameters
    ----------
    districts
        ``name`` and ``geometry`` (WGS84), one row per district.
    extent
        The area the network data covers (WGS84), see `network.data_extent`; None: all inside.

    Returns
    -------
    (GeoDataFrame, tuple of str)
        The districts reached (``name``, ``geometry``, ``inside_share`` 0–1 rounded to 4
        places, ``partial`` when under `PARTIAL_BELOW`), sorted by name; and the names of the
        districts outside the data (no polygon, or less than `MIN_INSIDE_SHARE` inside).
    """
    frame = districts[["name", "geometry"]].copy()
    geoms = frame.geometry.to_numpy()
    has = np.array([g is not None and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms])
    share = np.zeros(len(frame))
    if extent is None:
        share[has] = 1.0
    elif has.any():
        from network.build import utm_crs

        c = shapely.centroid(extent)
        metric = utm_crs(c.x, c.y)
        polys = gpd.GeoSeries(geoms[has], crs="EPSG:4326").to_crs(metric)
        ext = gpd.GeoSeries([extent], crs="EPSG:4326").to_crs(metric).iloc[0]
        shapely.prepare(ext)
        inter = shapely.intersection(polys.to_numpy(), ext)
        area = shapely.area(polys.to_numpy())
        share[has] = np.where(area > 0, shapely.area(inter) / np.where(area > 0, area, 1.0), 0.0)
    reached = share >= MIN_INSIDE_SHARE
    out = frame[reached].copy()
    out["inside_share"] = np.round(share[reached], 4)
    out["partial"] = out["inside_share"] < PARTIAL_BELOW
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326").sort_values("name", kind="stable")
    return out.reset_index(drop=True), tuple(sorted(frame.loc[~reached, "name"].astype(str)))


def districts_in_data(source: Any, name_cols: str | None, extent: shapely.Geometry, *, label: str
                      ) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """The districts of a file (or frame) that the data reaches, named and clipped; the others by name.

    A city's or province's file on a small extract: only the districts meeting the data are read
    as districts (so their names need to be unique only among themselves), each with the share of
    its area inside the data (`clip_districts`); the rest are returned by name, to be reported.

    Raises
    ------
    circles.errors.ExtentError
        When no district meets the data.
    """
    from circles.errors import ExtentError
    from circles.inputs import read_districts, read_vector

    frame = source if isinstance(source, gpd.GeoDataFrame) else read_vector(source, what="districts")
    if frame.crs is None:
        read_districts(frame, name_cols or "")  # the one message for a missing CRS
    frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    meets = np.zeros(len(frame), dtype=bool)
    if ok.any():
        shapely.prepare(extent)
        meets[ok] = shapely.intersects(extent, shapely.make_valid(geoms[ok]))
    cols = [c.strip() for c in str(name_cols or "").split(",") if c.strip()]
    far = frame[~meets]
    far_names = tuple(sorted("/".join(str(r[c]) for c in cols) for _, r in far.iterrows())) \
        if cols and all(c in frame.columns for c in cols) else ()
    if not meets.any():
        read_districts(frame, name_cols or "")  # bad columns are named first
        raise ExtentError(f"{label}: none of its {len(frame)} districts meets the network data; check that the "
                          "OSM file covers them (and the districts' CRS)")
    named = read_districts(frame[meets], name_cols or "")
    reached, slivers = clip_districts(named, extent)
    return reached, tuple(sorted((*far_names, *slivers)))


def assign_districts(lon: np.ndarray, lat: np.ndarray, districts: gpd.GeoDataFrame, district_col: str
                     ) -> np.ndarray:
    """The name of the district each point (WGS84 lon/lat) lies within, None outside all; the first when several.

    Examples
    --------
    >>> d = gpd.GeoDataFrame({"name": ["一街道"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    >>> assign_districts(np.array([0.5, 2.0]), np.array([0.5, 2.0]), d, "name").tolist()
    ['一街道', None]
    """
    out = np.full(len(lon), None, dtype=object)
    if len(lon) == 0 or len(districts) == 0:
        return out
    d = districts.to_crs("EPSG:4326")[[district_col, "geometry"]].reset_index(drop=True)
    d = d[d.geometry.notna()]
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    hit = gpd.sjoin(points, d, how="inner", predicate="within")
    hit = hit[~hit.index.duplicated()]
    out[hit.index.to_numpy()] = hit[district_col].to_numpy(dtype=object)
    return out


def district_level(names: Iterable[str]) -> str:
    """``"county"`` when every district is named like a county (…区/…县/…旗), else ``"street"`` (街道/乡镇).

    A name ``"海淀区/燕园街道"`` (``--district-col county,street``) is judged by its last part.

    Examples
    --------
    >>> district_level(["海淀区", "朝阳区"]), district_level(["海淀区/燕园街道", "东升地区"])
    ('county', 'street')
    """
    last = [str(n).rsplit("/", 1)[-1].strip() for n in names]
    if last and all(n.endswith(COUNTY_ENDINGS) and not n.endswith(STREET_ENDINGS) for n in last):
        return "county"
    return "street"


def county_of(name: str) -> str | None:
    """The county part of a district named ``"county/street"`` (``"海淀区/燕园街道"`` → ``"海淀区"``), else None."""
    text = str(name)
    return text.rsplit("/", 1)[0] if "/" in text else None


def ledger_by_district(ledger: Any, table: pd.DataFrame, first_row: int, districts: gpd.GeoDataFrame
                       ) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Each district's ledger problems, and why a district cannot run when all its ledger rows are unusable.

    A row belongs to a district when its 所属街道 column names it (``"燕园街道"`` also names
    ``"海淀区/燕园街道"``) or when its facility lies inside the district's polygon.

    Returns
    -------
    (dict, dict)
        ``{district: (problem lines ...)}`` and ``{district: cause}``.
    """
    from circles.facilities import COLUMN_ALIASES
    from circles.inputs import norm_header, rows_text

    source = ledger.source
    facilities = ledger.facilities
    aliases = {norm_header(a) for a in COLUMN_ALIASES["district"]}
    dcol = next((c for c in table.columns if norm_header(c) in aliases), None)
    by_name = {n: n for n in districts["name"]}
    for n in districts["name"]:
        by_name.setdefault(n.rsplit("/", 1)[-1], n)
    named: dict[int, str] = {}
    if dcol is not None:
        for k, v in enumerate(table[dcol].tolist()):
            text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
            if text in by_name:
                named[first_row + k] = by_name[text]
    located: dict[int, str] = {}
    if len(facilities):
        polys = districts[districts.geometry.notna()]
        hit = gpd.sjoin(facilities[["source_row", "geometry"]], polys[["name", "geometry"]], how="inner",
                        predicate="within")
        located = {int(r): n for r, n in zip(hit["source_row"], hit["name"])}
    notes: dict[str, list[str]] = {}
    for p in ledger.report.problems:
        where = {named.get(p.row), located.get(p.row)} - {None} if p.row is not None else set()
        for n in where:
            notes.setdefault(n, []).append(p.describe(source))
    kept_rows = set(facilities["source_row"].tolist())
    errors = {p.row: p for p in ledger.report.errors if p.row is not None}
    causes: dict[str, str] = {}
    for n in districts["name"]:
        rows = sorted(r for r, d in named.items() if d == n)
        if rows and not any(r in kept_rows for r in rows) and n not in located.values():
            bad = [r for r in rows if r in errors]
            first = errors[bad[0]].describe(source) if bad else f"{source} row {rows[0]}: row not imported"
            causes[n] = (f"every ledger row of this district is unusable ({source} {rows_text(rows)}); "
                         f"first: {first}; fix these rows and run again with --resume")
    return {k: tuple(v) for k, v in notes.items()}, causes


def _count(v: float) -> int:
    return int(round(float(v)))


def district_rows(report: Any, districts: gpd.GeoDataFrame, lang: str) -> list[dict[str, Any]]:
    """Rows of the districts table (`DISTRICT_COLUMNS`) from a report's per-district figures.

    ``rules_ok`` is True when every rule judged in the district for the category is met (its own
    street rules and those of its facilities and communities), False when one is not, None when
    none could be judged (`circles.rules.RuleChecks.verdicts`).
    """
    dt = report.districts
    if dt is None or not len(dt):
        return []
    figures = dt[dt["rule"].isna()] if "rule" in dt else dt
    verdicts = report.rules.verdicts() if getattr(report, "rules", None) is not None else {}
    meta = districts.set_index("name")
    rows = []
    for _, f in figures.iterrows():
        name, cat = f["district"], f["category"]
        res = report.category(cat)
        total, covered = float(f["demand_total"]), float(f["demand_covered"])
        share = float(meta.loc[name, "inside_share"]) if "inside_share" in meta and name in meta.index else 1.0
        rows.append({
            "district": name, "category": cat, "label": res.label_zh if lang == "zh" else res.label_en,
            "status": "ok", "facilities": int(f["facilities"]), "demand_column": res.demand_column,
            "demand_total": _count(total), "demand_covered": _count(covered), "uncovered": _count(total) - _count(covered),
            "coverage": round(covered / total, 4) if total > 0 else 0.0, "minutes": _num(res.minutes),
            "inside_share": round(share, 4), "partial": bool(share < PARTIAL_BELOW),
            "rules_ok": verdicts.get((str(name), str(cat))), "cause": "",
        })
    return rows


def rule_rows(report: Any, lang: str) -> list[dict[str, Any]]:
    """Rows of rules.csv (`RULE_COLUMNS`): every rule of the profile checked on every unit (see `circles.rules`)."""
    checks = getattr(report, "rules", None)
    if checks is None:
        return []
    return [{k: _plain(v) for k, v in r.items()} for r in checks.table(lang).to_dict("records")]


def facility_rule_rows(report: Any, lang: str) -> list[dict[str, Any]]:
    """Rows of facility_rules.csv (`FACILITY_RULE_COLUMNS`): the facility rules (lift, integrated facility)."""
    checks = getattr(report, "rules", None)
    if checks is None:
        return []
    return [{k: _plain(v) for k, v in r.items()} for r in checks.facility_table(lang).to_dict("records")]


def _plain(v: Any) -> Any:
    """A cell as a plain JSON-able value: numpy numbers as Python ones, NaN as None."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if math.isnan(float(v)) else _num(v)
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


def failed_rows(name: str, cause: str, profile: Any, lang: str, *, inside_share: float | None = None
                ) -> list[dict[str, Any]]:
    """A failed district's rows: one per profile category, with the cause."""
    share = 1.0 if inside_share is None else inside_share
    return [{"district": name, "category": c.id, "label": c.label_zh if lang == "zh" else c.label_en,
             "status": "failed", "facilities": None, "demand_column": c.demand_column, "demand_total": None,
             "demand_covered": None, "uncovered": None, "coverage": None, "minutes": None,
             "inside_share": round(share, 4), "partial": bool(share < PARTIAL_BELOW), "rules_ok": None,
             "cause": cause} for c in profile.categories]


def district_table(rows: Iterable[Mapping[str, Any]], profile: Any) -> pd.DataFrame:
    """The districts table: rows sorted by district, then profile category; integer counts."""
    order = {c.id: k for k, c in enumerate(profile.categories)}
    rows = sorted(rows, key=lambda r: (r["district"], order.get(r["category"], len(order)), r["category"]))
    table = pd.DataFrame(list(rows), columns=list(DISTRICT_COLUMNS))
    return table.astype({c: "Int64" for c in ("facilities", "demand_total", "demand_covered", "uncovered")})


def _num(v: Any) -> float | int:
    v = float(v)
    return int(v) if v.is_integer() else round(v, 4)


#: Column names that name a zone (街道/乡镇/社区/村), tried in this order; then pairs with a county column.
ZONE_NAME_COLUMNS = ("street", "街道", "乡镇", "街道名称", "乡镇街道", "街乡", "township", "town", "name", "名称",
                     "zone", "社区", "community", "village", "行政村", "村", "district", "区县", "county", "区")
COUNTY_COLUMNS = ("county", "区县", "区", "district", "city", "市")


def zone_name_columns(zones: pd.DataFrame, prefer: str | None = None) -> list[str] | None:
    """The column(s) that name each zone uniquely: `prefer` (``"county,street"``), else a name-like column.

    Returns None when no column names the zones uniquely (they are then named by their row).
    """
    def unique(cols: list[str]) -> bool:
        if not cols or not all(c in zones.columns for c in cols):
            return False
        values = zones[cols].astype(str).apply(lambda r: "/".join(v.strip() for v in r), axis=1)
        return bool((values.str.len() > 0).all() and not values.duplicated().any()
                    and not zones[cols].isna().any().any())

    if prefer:
        cols = [c.strip() for c in prefer.split(",") if c.strip()]
        if unique(cols):
            return cols
    lower = {str(c).strip().lower(): c for c in zones.columns if c != "geometry"}
    named = [lower[n] for n in ZONE_NAME_COLUMNS if n in lower]
    for c in named:
        if zones[c].dtype == object and unique([c]):
            return [c]
    counties = [lower[n] for n in COUNTY_COLUMNS if n in lower]
    for county in counties:
        for c in named:
            if c != county and unique([county, c]):
                return [county, c]
    return None

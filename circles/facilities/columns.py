"""The ledger's columns: accepted headers, the canonical table, and the facility frame every source gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.facilities.coordinates import lonlat_of_geometry
from circles.facilities.report import Problem, make_problem
from circles.inputs.text import norm_header, text_series
from circles.errors import InputError

__all__ = [
    "ALIAS_INDEX", "COLUMN_ALIASES", "FACILITY_COLUMNS", "LONLAT_ALIASES", "LONLAT_KEYS", "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "canonical_of", "canonical_table", "facility_frame", "is_ledger_header",
]

#: Columns of every facility frame, in order (plus ``geometry``).
FACILITY_COLUMNS: tuple[str, ...] = (
    "name", "category", "tier", "lon", "lat", "capacity", "area_m2", "district", "address",
    "source_row", "floor", "lift", "functions", "opening_hours", "hours_per_day", "days_per_week", "community",
)
#: Columns a source may leave out of `facility_frame` (the attributes the standards need): None/NaN then.
OPTIONAL_COLUMNS: tuple[str, ...] = ("floor", "lift", "functions", "opening_hours", "hours_per_day",
                                     "days_per_week", "community")

#: Accepted headers per canonical column, in order of preference. Matching ignores case,
#: spaces, full-/half-width differences, a trailing ``*`` and a bracketed unit, so
#: ``"经度（GCJ-02）"``, ``"建筑面积(㎡)"`` and ``"名称*"`` match (`circles.inputs.norm_header`).
COLUMN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "name": ("名称", "机构名称", "设施名称", "站点名称", "name"),
    "category": ("类型", "类别", "设施类型", "category"),
    "lon": ("经度", "lon", "lng", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "tier": ("层级", "级别", "tier"),
    "capacity": ("容量", "床位", "床位数", "餐位", "餐位数", "座位", "座位数", "托位", "托位数", "capacity"),
    "area_m2": ("建筑面积", "面积", "area_m2", "area"),
    "district": ("所属街道", "街道", "district"),
    "address": ("地址", "address"),
    "floor": ("楼层", "所在楼层", "所在层", "floor", "storey"),
    "lift": ("电梯", "有无电梯", "是否有电梯", "lift", "elevator"),
    "functions": ("服务功能", "功能", "服务内容", "服务项目", "functions", "services"),
    "opening_hours": ("开放时间", "服务时间", "营业时间", "opening_hours", "hours"),
    "days_per_week": ("每周开放天数", "开放天数", "开放日", "days_per_week", "opening_days"),
    "community": ("所属社区", "社区", "community"),
}
#: One column holding ``"lon,lat"`` (Amap's ``location``), used when there is no lon/lat pair.
LONLAT_ALIASES: tuple[str, ...] = ("经纬度", "坐标", "location", "lnglat", "lonlat")
REQUIRED_COLUMNS: tuple[str, ...] = ("name", "category", "lon", "lat")

#: {normalised header: (canonical column, rank among its aliases)}
ALIAS_INDEX: Mapping[str, tuple[str, int]] = {}
for _canon, _aliases in COLUMN_ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        ALIAS_INDEX.setdefault(norm_header(_alias), (_canon, _rank))  # type: ignore[attr-defined]
LONLAT_KEYS: frozenset[str] = frozenset(norm_header(a) for a in LONLAT_ALIASES)


def canonical_of(header: Any) -> str | None:
    """The canonical column a header names (``"经度（GCJ-02）"`` -> ``"lon"``), or None."""
    hit = ALIAS_INDEX.get(norm_header(header))
    return hit[0] if hit else None


def is_ledger_header(texts: Sequence[str]) -> bool:
    """True for a row naming at least two required columns (the header under a title row)."""
    found = {canonical_of(t) for t in texts} & set(REQUIRED_COLUMNS)
    lonlat = any(norm_header(t) in LONLAT_KEYS for t in texts)
    return len(found) + lonlat >= 2


def canonical_table(
    df: pd.DataFrame, *, source_name: str, problems: list[Problem],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename the columns to canonical names; returns the table and {canonical: original header}.

    A GeoDataFrame's geometry gives ``lon``/``lat`` (reprojected to WGS84); without a lon/lat
    pair, one ``经纬度``/``location`` column holding ``"lon,lat"`` is split. Two headers naming
    one column: the preferred alias is used and a ``duplicate_column`` warning added.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{source_name}: expected a table (pandas DataFrame), got {type(df).__name__}")
    df = df.reset_index(drop=True)
    geometry = None
    geometry_name = getattr(df, "active_geometry_name", None) if isinstance(df, gpd.GeoDataFrame) else None
    if geometry_name is not None and geometry_name in df.columns:
        geometry = lonlat_of_geometry(df, source_name=source_name)
        df = pd.DataFrame(df.drop(columns=geometry_name))
    chosen, lonlat_col = _choose_columns(df, problems=problems, from_geometry=geometry is not None)
    headers = {canon: str(col) for canon, (_, col) in chosen.items()}
    out = pd.DataFrame({canon: df[col].to_numpy() for canon, (_, col) in chosen.items()}, index=df.index)
    if geometry is not None:
        out["lon"], out["lat"] = geometry
        headers["lon"] = headers["lat"] = "geometry"
    elif ("lon" not in out or "lat" not in out) and lonlat_col is not None:
        pair = text_series(df[lonlat_col]).str.split(r"[,，;\s]+", n=1, expand=True, regex=True)
        pair = pair.reindex(columns=[0, 1])
        out["lon"] = pair[0].fillna("").to_numpy()
        out["lat"] = pair[1].fillna("").to_numpy()
        headers["lon"] = headers["lat"] = str(lonlat_col)
    missing = [c for c in REQUIRED_COLUMNS if c not in out.columns]
    if missing:
        found = ", ".join(str(c) for c in df.columns) or "(none)"
        accepted = "; ".join(f"{c}: {'/'.join(COLUMN_ALIASES[c])}" for c in missing)
        if "lon" in missing or "lat" in missing:
            accepted += " (or one 经纬度/location column with 'lon,lat')"
        raise InputError(
            f"{source_name}: no {'/'.join(missing)} column (found columns: {found}); accepted headers "
            f"are {accepted}; rename the headers, see circles/data/templates/facilities_template.csv"
        )
    return out, headers


def _choose_columns(
    df: pd.DataFrame, *, problems: list[Problem], from_geometry: bool,
) -> tuple[dict[str, tuple[int, Any]], Any]:
    """{canonical: (alias rank, column)} by the preferred alias, and the lon/lat pair column if any."""
    chosen: dict[str, tuple[int, Any]] = {}
    lonlat_col = None
    for col in df.columns:
        key = norm_header(col)
        hit = ALIAS_INDEX.get(key)
        if hit is None:
            if key in LONLAT_KEYS and lonlat_col is None:
                lonlat_col = col
            continue
        canon, rank = hit
        if canon not in chosen:
            chosen[canon] = (rank, col)
            continue
        prev_rank, prev_col = chosen[canon]
        use, other = (col, prev_col) if rank < prev_rank else (prev_col, col)
        if rank < prev_rank:
            chosen[canon] = (rank, col)
        if not from_geometry or canon not in ("lon", "lat"):
            problems.append(make_problem(
                None, str(other), "duplicate_column",
                f"“{use}”与“{other}”都像是 {canon} 列；使用“{use}”",
                f"columns '{use}' and '{other}' both look like the {canon} column; using '{use}'",
            ))
    return chosen, lonlat_col


def facility_frame(columns: Mapping[str, Sequence[Any] | np.ndarray]) -> gpd.GeoDataFrame:
    """The canonical facility frame (`FACILITY_COLUMNS`, EPSG:4326 points, index 0..n-1) from columns.

    Text columns (``name``, ``category``, ``tier``, ``district``, ``address``, ``functions``,
    ``opening_hours``, ``community``) become pandas ``str`` columns with NaN for None;
    ``capacity``/``area_m2``/``lon``/``lat``/``floor``/``hours_per_day``/``days_per_week`` floats;
    ``lift`` pandas ``boolean`` (NA unknown); ``source_row`` int64. `OPTIONAL_COLUMNS` may be left out.
    """
    lon = np.asarray(columns["lon"], dtype=float)
    lat = np.asarray(columns["lat"], dtype=float)
    n = len(lon)

    def text(col: str) -> pd.Series:
        values = np.asarray(columns[col] if col in columns else [None] * n, dtype=object)
        return pd.Series([np.nan if v is None else v for v in values], dtype="str")

    def number(col: str) -> np.ndarray:
        return np.asarray(columns[col], dtype=float) if col in columns else np.full(n, np.nan)

    return gpd.GeoDataFrame(
        {
            "name": text("name"),
            "category": text("category"),
            "tier": text("tier"),
            "lon": lon,
            "lat": lat,
            "capacity": np.asarray(columns["capacity"], dtype=float),
            "area_m2": np.asarray(columns["area_m2"], dtype=float),
            "district": text("district"),
            "address": text("address"),
            "source_row": np.asarray(columns["source_row"], dtype=np.int64),
            "floor": number("floor"),
            "lift": pd.array(list(columns["lift"]) if "lift" in columns else [None] * n, dtype="boolean"),
            "functions": text("functions"),
            "opening_hours": text("opening_hours"),
            "hours_per_day": number("hours_per_day"),
            "days_per_week": number("days_per_week"),
            "community": text("community"),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )

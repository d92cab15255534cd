"""Numbers in ledgers: coordinates as typed (116.3°E, full-width digits), swapped pairs, GIS geometry, amounts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.coords import CHINA_BBOX
from circles.facilities.report import LedgerError, Problem, make_problem
from circles.inputs.text import cell_text, number_text, rows_text, text_series
from circles.errors import InputError

__all__ = ["AMOUNT_RE", "lonlat_of_geometry", "parse_amount", "parse_coordinates", "parse_degrees"]

#: A leading number: "30" of "30张", "1200" of "1,200 ㎡" (after `circles.inputs.number_text`).
AMOUNT_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))")
_NUMBER_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:°|度)?([EWNS东西南北])?$", re.IGNORECASE)


def parse_degrees(values: pd.Series) -> np.ndarray:
    """Numbers (degrees) from cells; NaN where empty or unparseable.

    Accepts numbers, ``"116.3"``, ``"116.3°"``, ``"116.3E"``, ``"39.9°N"``, ``"116.3度"`` and
    full-width digits; W/S (西/南) make the value negative.

    Examples
    --------
    >>> parse_degrees(pd.Series(["116.32°E", "３９.９", "x", 40])).tolist()
    [116.32, 39.9, nan, 40.0]
    """
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values.to_numpy(dtype=object)):
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[i] = float(v)
            continue
        m = _NUMBER_RE.match(unicodedata.normalize("NFKC", cell_text(v)).replace(" ", ""))
        if m:
            x = float(m.group(1))
            if m.group(2) and m.group(2).upper() in ("W", "S", "西", "南"):
                x = -abs(x)
            out[i] = x
    return out


def parse_coordinates(
    table: pd.DataFrame,
    headers: Mapping[str, str],
    rows: np.ndarray,
    *,
    source_name: str,
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitudes and latitudes of the ``lon``/``lat`` columns, and which rows are unusable.

    Empty, unparseable, (0, 0) and out-of-range coordinates are ``"error"`` problems (the row is
    dropped); rows with lon/lat swapped are swapped back with a warning. Every row swapped is
    fatal: the headers are exchanged.

    Returns
    -------
    tuple
        ``(lon, lat, bad)``: degrees (swapped rows corrected) and a boolean mask of unusable rows.
    """
    lon = parse_degrees(table["lon"])
    lat = parse_degrees(table["lat"])
    lon_text = text_series(table["lon"]).to_numpy(dtype=object)
    lat_text = text_series(table["lat"]).to_numpy(dtype=object)
    lon_col, lat_col = headers["lon"], headers["lat"]
    bad = _missing_or_unparseable(lon, lat, lon_text, lat_text, rows, lon_col, lat_col, problems)
    swapped = _swap_back(lon, lat, lon_text, lat_text, rows, ~bad, lon_col, lat_col,
                         source_name=source_name, problems=problems)
    for i in np.flatnonzero(~bad & ~swapped):
        r = int(rows[i])
        if not -90.0 <= lat[i] <= 90.0:
            hint_en = (
                "are the lon/lat columns swapped?" if abs(lat[i]) <= 180
                else "projected coordinates? give WGS84/GCJ-02/BD-09 degrees"
            )
            hint_zh = "经纬度列是否填反？" if abs(lat[i]) <= 180 else "是否为投影坐标？请填经纬度（度）"
            problems.append(make_problem(
                r, lat_col, "out_of_range", f"纬度 {lat_text[i]} 超出范围 [-90, 90]；{hint_zh}",
                f"latitude {lat_text[i]} is out of range [-90, 90]; {hint_en}", value=lat_text[i],
            ))
            bad[i] = True
        elif not -180.0 <= lon[i] <= 180.0:
            problems.append(make_problem(
                r, lon_col, "out_of_range",
                f"经度 {lon_text[i]} 超出范围 [-180, 180]；是否为投影坐标？请填经纬度（度）",
                f"longitude {lon_text[i]} is out of range [-180, 180]; projected coordinates? give degrees",
                value=lon_text[i],
            ))
            bad[i] = True
    return lon, lat, bad


def _missing_or_unparseable(
    lon: np.ndarray, lat: np.ndarray, lon_text: np.ndarray, lat_text: np.ndarray, rows: np.ndarray,
    lon_col: str, lat_col: str, problems: list[Problem],
) -> np.ndarray:
    """Rows with an empty or non-numeric coordinate, or the (0, 0) geocoding placeholder."""
    bad = np.zeros(len(lon), dtype=bool)
    for i in range(len(lon)):
        r = int(rows[i])
        if not lon_text[i] or not lat_text[i]:
            which_zh = "经度" if not lon_text[i] else "纬度"
            which_en = "longitude" if not lon_text[i] else "latitude"
            col = lon_col if not lon_text[i] else lat_col
            if not lon_text[i] and not lat_text[i]:
                which_zh, which_en, col = "经纬度", "coordinates", None
            problems.append(make_problem(
                r, col, "missing_coordinates", f"{which_zh}为空，该行未导入；请补充坐标",
                f"the {which_en} {'are' if col is None else 'is'} missing; row not imported; add them",
            ))
            bad[i] = True
        elif np.isnan(lon[i]) or np.isnan(lat[i]):
            col, value = (lon_col, lon_text[i]) if np.isnan(lon[i]) else (lat_col, lat_text[i])
            which_zh, which_en = ("经度", "longitude") if np.isnan(lon[i]) else ("纬度", "latitude")
            problems.append(make_problem(
                r, col, "bad_coordinates", f"{which_zh} “{value}” 不是数字（十进制度），该行未导入",
                f"{which_en} {value!r} is not a number in decimal degrees; row not imported", value=value,
            ))
            bad[i] = True
        elif lon[i] == 0 and lat[i] == 0:
            problems.append(make_problem(
                r, None, "missing_coordinates", "坐标为 (0, 0)，是地理编码失败的占位值，该行未导入",
                "coordinates are (0, 0), a geocoding placeholder; row not imported; geocode the address again",
                value="0, 0",
            ))
            bad[i] = True
    return bad


def _swap_back(
    lon: np.ndarray, lat: np.ndarray, lon_text: np.ndarray, lat_text: np.ndarray, rows: np.ndarray,
    ok: np.ndarray, lon_col: str, lat_col: str, *, source_name: str, problems: list[Problem],
) -> np.ndarray:
    """Swap back (in place) rows whose lon/lat are exchanged; all of them: a `LedgerError`."""
    swapped = ok & (lon >= CHINA_BBOX[1]) & (lon <= CHINA_BBOX[3]) & (lat >= CHINA_BBOX[0]) & (lat <= CHINA_BBOX[2])
    if ok.any() and swapped[ok].all():
        i = int(np.flatnonzero(swapped)[0])
        raise LedgerError(
            f"{source_name} {rows_text(rows[swapped])}: longitude and latitude look swapped in every "
            f"row (row {rows[i]}: {lon_col} {lon_text[i]}, {lat_col} {lat_text[i]}); exchange the "
            f"{lon_col} and {lat_col} headers and read the ledger again",
            problems,
        )
    for i in np.flatnonzero(swapped):
        problems.append(make_problem(
            int(rows[i]), None, "swapped",
            f"经度 {lon_text[i]} 与纬度 {lat_text[i]} 似乎填反了，已对调；请在台账中改正",
            f"longitude {lon_text[i]} and latitude {lat_text[i]} look swapped; swapped back; fix the ledger",
            value=f"{lon_text[i]}, {lat_text[i]}", suggestion=f"{lat_text[i]}, {lon_text[i]}",
        ))
    lon[swapped], lat[swapped] = lat[swapped], lon[swapped].copy()
    return swapped


def lonlat_of_geometry(frame: gpd.GeoDataFrame, *, source_name: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat of each feature: a point, or the point on the surface of a polygon; NaN when empty."""
    geoms = frame.geometry
    if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
        try:
            geoms = geoms.to_crs("EPSG:4326")
        except Exception as exc:  # pyproj errors
            raise InputError(
                f"{source_name}: cannot reproject from {geoms.crs} to WGS84 ({exc}); export the "
                "ledger in EPSG:4326"
            ) from None
    values = geoms.to_numpy()
    empty = shapely.is_missing(values) | shapely.is_empty(values)
    points = values.copy()
    not_point = ~empty & (shapely.get_type_id(np.where(empty, None, values)) != 0)
    if not_point.any():
        points[not_point] = shapely.point_on_surface(values[not_point])
    lon = np.full(len(values), np.nan)
    lat = np.full(len(values), np.nan)
    ok = ~empty
    lon[ok] = shapely.get_x(points[ok])
    lat[ok] = shapely.get_y(points[ok])
    return lon, lat



def parse_amount(
    values: pd.Series | None, rows: np.ndarray, column: str | None, problems: list[Problem],
) -> np.ndarray:
    """Numbers from capacity/area cells: ``"30"``, ``"30张"``, ``"1,200 ㎡"``; NaN and a warning otherwise."""
    if values is None:
        return np.full(len(rows), np.nan)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values.to_numpy(dtype=object)):
        if not v:
            continue
        m = AMOUNT_RE.match(number_text(v))
        if m:
            out[i] = float(m.group(1))
        else:
            problems.append(make_problem(
                int(rows[i]), column, "bad_number", f"“{v}” 不是数字，按空值处理",
                f"{v!r} is not a number; left empty", value=str(v),
            ))
    return out

"""GeoJSON outputs: RFC 7946 FeatureCollections written column by column (gaps, service areas, batch districts).

Geometries are rounded and encoded by shapely over whole arrays; properties are encoded one
column at a time (numbers by dtype, text by the JSON encoder) and joined per feature with numpy
string arrays, so no Python loop builds a dict per feature. The text is the same as
``json.dumps`` of each feature would give: ``{"type": "Feature", "geometry": …, "properties":
{…}}``, one feature per line, floats of properties rounded to 6 decimals, NaN/inf as ``null``.

Example
-------
>>> import shapely
>>> print(feature_collection([shapely.Point(114.3, 30.6)], {"kind": "site", "n": [12.5]}), end="")
{"type": "FeatureCollection", "features": [
{"type": "Feature", "geometry": {"type":"Point","coordinates":[114.3,30.6]}, "properties": {"kind": "site", "n": 12.5}}
]}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.coverage import CoverageReport, gap_areas, uncovered_units

__all__ = ["POP_COLUMNS", "areas_geojson", "districts_geojson", "feature_collection", "gaps_geojson", "json_bytes",
           "json_ready", "properties_texts"]

POP_COLUMNS = ("population", "pop_60plus", "pop_0_17")
PROPERTY_DECIMALS = 6  # floats of properties (and summary.json): stable between identical runs


# ============================================================================ JSON values
def json_ready(value: Any, *, decimals: int | None = PROPERTY_DECIMALS) -> Any:
    """`value` with numpy scalars as Python ones, NaN/inf/NA as None, floats rounded to `decimals`.

    Mappings and sequences are converted recursively (keys become strings); None `decimals`
    keeps floats as they are.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # the common cases first: called per value
        return value
    if kind is float:
        return (round(value, decimals) if decimals is not None else value) if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return None
        return round(value, decimals) if decimals is not None else value
    if isinstance(value, Mapping):
        return {str(k): json_ready(v, decimals=decimals) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v, decimals=decimals) for v in value]
    return value


def json_bytes(obj: Any) -> bytes:
    """`obj` as indented UTF-8 JSON (non-ASCII kept, key order kept) ending in a newline."""
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


#: ``json.dumps(..., ensure_ascii=False)`` without building an encoder per call (json.dumps does, for non-defaults).
_encode = json.JSONEncoder(ensure_ascii=False).encode


def _json_value(value: Any) -> str:
    """One property value as JSON text (what ``json.dumps(json_ready(value), ensure_ascii=False)`` gives)."""
    if isinstance(value, str):
        return _encode(value)
    return _encode(json_ready(value))


def _float_texts(values: np.ndarray) -> list[str]:
    # Python's round, not numpy's: the same digits as json.dumps(round(v, 6)) for every value
    return [repr(round(v, PROPERTY_DECIMALS)) if math.isfinite(v) else "null" for v in values.tolist()]


def _column_texts(values: Any, n: int) -> np.ndarray:
    """JSON texts of one property column (an array-like of length `n`, or one value for all)."""
    if isinstance(values, (str, bytes, Mapping)) or np.ndim(values) == 0:
        return np.full(n, _json_value(values), dtype=object)
    if isinstance(values, (pd.Series, pd.Index)):  # nullable dtypes (Int64, string) as objects: NA stays NA
        extension = isinstance(values.dtype, pd.api.extensions.ExtensionDtype)
        arr = values.to_numpy(dtype=object) if extension else values.to_numpy()
    elif isinstance(values, (list, tuple)):  # items may be dicts or lists (e.g. per-feature styles)
        if len(values) != n:
            raise ValueError(f"a property column has {len(values)} values for {n} features")
        return _object_texts(values)
    else:
        arr = np.asarray(values)
    if len(arr) != n:
        raise ValueError(f"a property column has {len(arr)} values for {n} features")
    kind = arr.dtype.kind
    if kind == "b":
        return np.where(arr, "true", "false").astype(object)
    if kind in "iu":
        return arr.astype(str).astype(object)
    if kind == "f":
        return np.array(_float_texts(arr), dtype=object)
    return _object_texts(arr.astype(object).tolist())


def _object_texts(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [_encode(v) if isinstance(v, str) else _encode(json_ready(v)) for v in values]
    return out


def properties_texts(properties: Mapping[str, Any] | pd.DataFrame | None, n: int) -> np.ndarray:
    """``{"key": value, ...}`` per feature as JSON text, assembled column by column (`n` features).

    `properties` is a DataFrame, or a mapping of name → values (one per feature) or → one value.
    """
    if properties is None:
        return np.full(n, "{}", dtype=object)
    items = ((c, properties[c]) for c in properties.columns) if isinstance(properties, pd.DataFrame) \
        else properties.items()
    texts = None
    for key, values in items:
        prefix = ("{" if texts is None else ", ") + _encode(str(key)) + ": "
        column = prefix + _column_texts(values, n)
        texts = column if texts is None else texts + column
    return np.full(n, "{}", dtype=object) if texts is None else texts + "}"


# ============================================================================ collections
def feature_lines(geometries: Any, properties: Mapping[str, Any] | pd.DataFrame | None = None, *,
                  decimals: int = 7, drop_empty: bool = False) -> list[str]:
    """The features of `feature_collection` as JSON text, one per item (see there)."""
    geoms = np.asarray(geometries, dtype=object)
    n = len(geoms)
    if n == 0:
        return []
    geoms = shapely.transform(geoms, lambda c: np.round(c, decimals))
    if not (shapely.get_type_id(geoms) <= 0).all():  # points (and missing) need no orientation
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    geo_texts = shapely.to_geojson(geoms)
    props = properties_texts(properties, n)
    if drop_empty:
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        geo_texts, props = geo_texts[keep], props[keep]
    geo_texts = np.where(pd.isna(geo_texts), "null", geo_texts).astype(object)
    return ('{"type": "Feature", "geometry": ' + geo_texts + ', "properties": ' + props + "}").tolist()


def feature_collection(geometries: Any, properties: Mapping[str, Any] | pd.DataFrame | None = None, *,
                       decimals: int = 7, drop_empty: bool = False) -> str:
    """An RFC 7946 FeatureCollection (WGS84 lon/lat) as text, one feature per line.

    Parameters
    ----------
    geometries
        Shapely geometries in WGS84 degrees (None for a feature without geometry).
    properties
        Property columns in order: a DataFrame, or a mapping of name → values (one per
        geometry) or → one value for every feature.
    decimals
        Coordinates are rounded to this many decimals (7: about 1 cm, stable between runs).
        Exterior rings are counterclockwise and holes clockwise (RFC 7946 §3.1.6).
    drop_empty
        Leave out features whose geometry is missing or empty.

    Returns
    -------
    str
        The FeatureCollection, ending in a newline.
    """
    return _collection(feature_lines(geometries, properties, decimals=decimals, drop_empty=drop_empty))


def _collection(lines: Sequence[str]) -> str:
    return '{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + ("\n" if lines else "") + "]}\n"


def gaps_geojson(report: CoverageReport, *, suggestions: gpd.GeoDataFrame | None = None) -> str:
    """gaps.geojson: gap areas and uncovered units of every category (and suggested sites), as text.

    Parameters
    ----------
    report
        The coverage report.
    suggestions
        Suggested sites (WGS84), their columns as properties; a ``kind`` column is
        ``"suggested_site"``.
    """
    lines: list[str] = []
    for c in report.categories:
        gaps = gap_areas(report, c.category)
        lines += feature_lines(gaps.geometry.values, {
            "kind": "gap_area", "category": c.category, "rank": gaps["rank"], "units": gaps["units"],
            "demand_column": c.demand_column, "demand_uncovered": gaps["demand_uncovered"],
            "population": gaps["population"], "max_minutes": gaps["max_minutes"]})
        units = uncovered_units(report, c.category)
        props = {"kind": "uncovered_unit", "category": c.category, "demand_column": c.demand_column,
                 "demand_id": units["demand_id"] if "demand_id" in units else None,
                 "name": units["name"] if "name" in units else None, "minutes": units[f"minutes_{c.category}"]}
        props.update({p: units[p] for p in POP_COLUMNS if p in units})
        lines += feature_lines(units.geometry.values, props)
    if suggestions is not None and len(suggestions):
        props = {"kind": "suggested_site"}
        props.update({col: suggestions[col] for col in suggestions.columns if col != "geometry"})
        lines += feature_lines(suggestions.geometry.values, props)
    return _collection(lines)


def areas_geojson(service_areas: gpd.GeoDataFrame | None) -> str:
    """isochrones.geojson: service areas as text (columns as in `circles.isochrones.service_areas`)."""
    if service_areas is None or not len(service_areas):
        return _collection([])
    return feature_collection(service_areas.geometry.values, service_areas.drop(columns="geometry"))


def districts_geojson(districts: gpd.GeoDataFrame, table: pd.DataFrame, profile: Any) -> dict[str, Any]:
    """districts.geojson of a batch run: each district polygon with its figures per category (wide).

    Parameters
    ----------
    districts
        One row per district (WGS84) with ``name`` and ``folder`` columns.
    table
        The combined table of the run (`circles.districts.DISTRICT_COLUMNS`: one row per district
        × category with ``status``, ``cause``, ``facilities``, ``demand_total``,
        ``demand_covered``, ``coverage``, ``rules_ok``).
    profile
        The run's profile (not needed for the figures; kept for the batch call).

    Returns
    -------
    dict
        An RFC 7946 FeatureCollection with properties ``district``, ``folder``, ``status``,
        ``cause`` and ``<category>_<figure>``; coordinates rounded to 7 decimals.
    """
    by_district = {name: grp for name, grp in table.groupby("district", sort=False)}
    geoms = np.asarray(districts.geometry.values, dtype=object)
    geoms = shapely.orient_polygons(shapely.transform(geoms, lambda c: np.round(c, 7)), exterior_cw=False)
    texts = shapely.to_geojson(geoms)
    feats = []
    for name, folder, text in zip(districts["name"].tolist(), districts["folder"].tolist(), texts.tolist()):
        props: dict[str, Any] = {"district": name, "folder": folder}
        grp = by_district.get(name)
        if grp is not None:
            props["status"] = grp["status"].iloc[0]
            props["cause"] = grp["cause"].iloc[0]
            for r in grp.to_dict("records"):
                for key in ("facilities", "demand_total", "demand_covered", "coverage", "rules_ok"):
                    v = json_ready(r[key], decimals=None)
                    props[f"{r['category']}_{key}"] = int(v) if key == "facilities" and v is not None else v
        feats.append({"type": "Feature", "geometry": json.loads(text) if text is not None else None,
                      "properties": props})
    return json_ready({"type": "FeatureCollection", "features": feats}, decimals=None)

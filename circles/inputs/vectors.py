"""GIS files: GeoJSON, GeoPackage, Shapefile (plain or zipped); study-area boundaries and districts.

`read_vector` is the one reader of vector files. It refuses a layer without a CRS (a planning
tool must not guess where the data lies) with the fix, and turns every reading failure into one
line naming the file. `read_boundary` and `read_districts` apply the rules of the study area and
of the districts of a batch run, the same for `circles analyze`, `circles batch` and the app.
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.errors import InputError
from circles.inputs.text import one_line, rows_text

__all__ = ["VECTOR_SUFFIXES", "read_boundary", "read_districts", "read_vector"]

VECTOR_SUFFIXES: tuple[str, ...] = (".geojson", ".json", ".gpkg", ".shp", ".zip")
_POLYGON_TYPES = (3, 6)  # shapely type ids: Polygon, MultiPolygon
_NO_CRS_FIX = "save it with EPSG:4326 (WGS84 lon/lat), e.g. in QGIS: Export > Save Features As, CRS EPSG:4326"


def read_vector(
    path: str | Path | bytes,
    *,
    what: str,
    layer: str | int | None = None,
    source_name: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GeoPackage, Shapefile or zipped Shapefile, refusing a layer without a CRS.

    A ``.shp`` without a ``.cpg`` code-page file is read as UTF-8 when its attribute table
    decodes as UTF-8, else as GB18030 (old Chinese shapefiles are GBK). A GeoJSON without a
    ``crs`` member is WGS84 (RFC 7946).

    Parameters
    ----------
    path
        The file, or its bytes (an upload; then `source_name` gives the format). A Shapefile
        upload must be zipped with its ``.dbf``/``.shx``/``.prj``.
    what
        What the file is, for messages: ``"boundary"``, ``"districts"``, ``"facility ledger"`` ...
    layer
        GeoPackage: the layer name or number (default: the first layer).
    source_name
        The file's name in messages; default the path.

    Returns
    -------
    geopandas.GeoDataFrame
        The features in the file's own CRS (never None), index 0..n-1.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown format, or no CRS; one line naming the file and the fix.

    Examples
    --------
    >>> streets = read_vector("haidian_streets.gpkg", what="districts")  # doctest: +SKIP
    """
    name = source_name or str(path if not isinstance(path, (bytes, bytearray)) else "upload")
    suffix = Path(name).suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        raise InputError(
            f"{name}: the {what} must be a GIS file ({', '.join(VECTOR_SUFFIXES)}); got {suffix or '(no suffix)'!r}"
        )
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    if isinstance(path, (bytes, bytearray)):
        if suffix == ".shp":
            raise InputError(f"{name}: a Shapefile upload needs its .dbf and .shx; zip them together and upload the .zip")
        source: Any = io.BytesIO(bytes(path))
    else:
        source = Path(path)
        if not source.exists():
            raise InputError(f"{source}: no such file; check the path of the {what} file")
        if source.is_dir():
            raise InputError(f"{source}: is a folder; give the {what} file (GeoJSON, GPKG, SHP or zipped SHP)")
        if suffix == ".shp" and not source.with_suffix(".cpg").exists():
            kwargs["encoding"] = shapefile_encoding(source)
    if suffix == ".zip":
        encoding = _zipped_shapefile_encoding(source)
        if encoding is not None:
            kwargs["encoding"] = encoding
    try:
        frame = gpd.read_file(source, engine="pyogrio", **kwargs)
    except Exception as exc:  # pyogrio's DataSourceError/DataLayerError and friends
        raise InputError(
            f"{name}: not a readable vector file for the {what} ({type(exc).__name__}: {one_line(exc)}); check "
            "that the file is complete (a .shp needs its .shx and .dbf) or save it again as GeoJSON or GPKG"
        ) from None
    if frame.crs is None:
        raise InputError(f"{name}: the {what} file has no CRS (coordinate system); {_NO_CRS_FIX}")
    return frame.reset_index(drop=True)


def shapefile_encoding(path: Path) -> str:
    """UTF-8 when the ``.dbf``'s field names and records decode as UTF-8, else GB18030 (GBK)."""
    dbf = path.with_suffix(".dbf")
    return dbf_encoding(dbf.read_bytes()) if dbf.exists() else "utf-8"


def dbf_encoding(data: bytes) -> str:
    """UTF-8 when a ``.dbf`` file's field names and records decode as UTF-8, else GB18030 (GBK)."""
    header_len = int.from_bytes(data[8:10], "little")
    n_fields = max((header_len - 33) // 32, 0)
    names = b"".join(data[32 + 32 * i: 43 + 32 * i] for i in range(n_fields))
    body = data[header_len:].rstrip(b"\x1a")  # records are text, numbers included
    try:
        (names + body).decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _zipped_shapefile_encoding(source: Path | io.BytesIO) -> str | None:
    """The encoding of a zipped Shapefile without a ``.cpg`` (see `dbf_encoding`); None when not needed."""
    try:
        with zipfile.ZipFile(source) as z:
            names = z.namelist()
            dbf = [n for n in names if n.lower().endswith(".dbf")]
            if len(dbf) != 1 or any(n.lower().endswith(".cpg") for n in names):
                return None
            return dbf_encoding(z.read(dbf[0]))
    except (zipfile.BadZipFile, OSError):
        return None  # not a zip after all: the reader says so
    finally:
        if isinstance(source, io.BytesIO):
            source.seek(0)


def read_boundary(path: str | Path) -> shapely.Polygon | shapely.MultiPolygon:
    """The study area from a polygon file: the union of its polygons, in WGS84 lon/lat.

    Parameters
    ----------
    path
        GeoJSON/GPKG/SHP/zipped SHP of one or more polygons, in any CRS.

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
        Valid (``make_valid``) geometry in EPSG:4326.

    Raises
    ------
    InputError
        Unreadable file or no CRS (see `read_vector`), features that are not polygons (named by
        feature number, from 1), or no polygon at all.

    Examples
    --------
    >>> area = read_boundary("haidian.geojson")  # doctest: +SKIP
    """
    frame = read_vector(path, what="boundary").to_crs("EPSG:4326")
    geoms = frame.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(np.where(present, geoms, None))
    wrong = np.flatnonzero(present & ~np.isin(types, _POLYGON_TYPES))
    if len(wrong):
        kinds = sorted({geoms[i].geom_type for i in wrong})
        raise InputError(
            f"{path}: {rows_text(wrong + 1, word='feature')} {'is' if len(wrong) == 1 else 'are'} "
            f"{'/'.join(kinds)}, not polygons; the boundary must be a polygon layer (the study area's outline)"
        )
    polygons = geoms[present]
    if len(polygons) == 0:
        raise InputError(f"{path}: no polygon found; the boundary must be a polygon layer (the study area's outline)")
    area = shapely.union_all(shapely.make_valid(polygons))
    area = shapely.union_all([p for p in shapely.get_parts(area) if shapely.get_type_id(p) in _POLYGON_TYPES])
    if area.is_empty:
        raise InputError(f"{path}: the polygons have no area; draw the study area's outline as a polygon")
    return area


def read_districts(source: str | Path | gpd.GeoDataFrame, name_cols: str) -> gpd.GeoDataFrame:
    """Districts (区/县 or 街道/乡镇) with unique names, in WGS84, sorted by name.

    Parameters
    ----------
    source
        A GIS file of district polygons, or a GeoDataFrame with a CRS.
    name_cols
        The name column, or several joined by commas: ``"county,street"`` names a district
        ``"海淀区/燕园街道"`` (street names repeat across a city's districts).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name`` and ``geometry`` (EPSG:4326, ``make_valid``; None where a feature has
        no geometry), sorted by name, index 0..n-1.

    Raises
    ------
    InputError
        No CRS, a name column missing (listing the valid ones), no features, empty names (named
        by feature number, from 1) or repeated names (naming them).

    Examples
    --------
    >>> streets = read_districts("beijing_streets.gpkg", "county,street")  # doctest: +SKIP
    >>> streets["name"].head(2).tolist()  # doctest: +SKIP
    ['东城区/东华门街道', '东城区/东四街道']
    """
    if isinstance(source, gpd.GeoDataFrame):
        frame, label = source.reset_index(drop=True), "districts"
        if frame.crs is None:
            raise InputError(f"{label}: the districts have no CRS; {_NO_CRS_FIX}")
    elif isinstance(source, (str, Path)):
        frame, label = read_vector(source, what="districts"), str(source)
    else:
        raise InputError(f"districts: expected a GIS file path or a GeoDataFrame, got {type(source).__name__}")
    cols = [c.strip() for c in str(name_cols or "").split(",") if c.strip()]
    geometry_name = frame.geometry.name
    missing = [c for c in cols if c not in frame.columns or c == geometry_name]
    if not cols or missing:
        valid = ", ".join(str(c) for c in frame.columns if c != geometry_name)
        raise InputError(f"{label}: district column {(missing[0] if missing else name_cols)!r} not found; "
                         f"use --district-col with one of: {valid} (or several joined by commas, e.g. county,street)")
    if len(frame) == 0:
        raise InputError(f"{label}: no districts in the file; give a layer with one polygon per district")
    frame = frame.to_crs("EPSG:4326")
    parts = [frame[c].map(_name_text).to_numpy(dtype=object) for c in cols]
    names = np.array(["/".join(p) for p in zip(*parts)], dtype=object)
    empty = [k + 1 for k, p in enumerate(zip(*parts)) if not all(p)]
    if empty:
        raise InputError(f"{label} {rows_text(empty, word='feature')}: the district column {name_cols!r} is empty; "
                         "fill in the names (they name the output folders)")
    dup = pd.Series(names)[pd.Series(names).duplicated(keep=False)]
    if len(dup):
        first = sorted(set(dup))[:3]
        raise InputError(f"{label}: district names repeat ({', '.join(first)}{' ...' if len(set(dup)) > 3 else ''}); "
                         f"use --district-col with several columns, e.g. --district-col county,{cols[-1]}")
    geoms = frame.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = np.where(ok, geoms, None)
    if ok.any():
        geoms[ok] = shapely.make_valid(geoms[ok])
    table = gpd.GeoDataFrame({"name": names}, geometry=list(geoms), crs="EPSG:4326")
    return table.sort_values("name", kind="stable").reset_index(drop=True)


def _name_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()

"""OSM buildings and tagged features (amenities, shops, social facilities) read offline with pyosmium."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely

from network.errors import NetworkError
from network.osm_file import OSM_SUFFIXES, is_osm_path, refuse_osm_xml_entities

log = logging.getLogger(__name__)

DEFAULT_TAG_KEYS: tuple[str, ...] = (
    "building", "amenity", "social_facility", "social_facility:for", "building:levels", "name",
    "healthcare", "leisure", "shop",
)
KINDS: tuple[str, ...] = ("building", "poi")

_OSM_TYPES = {"n": "node", "w": "way", "r": "relation"}
_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*$")


def read_osm_features(
    path: str | Path,
    *,
    tag_keys: Sequence[str] = DEFAULT_TAG_KEYS,
    kinds: Sequence[str] = KINDS,
) -> gpd.GeoDataFrame:
    """Read tagged nodes and areas (buildings, amenities, shops, ...) from an OSM file.

    One row per OSM node, closed way or multipolygon relation that carries at least one of
    `tag_keys`. Areas are assembled by libosmium (two passes over the file): closed ways and
    ``type=multipolygon``/``type=boundary`` relations whose members are all in the file. Open
    ways and incomplete relations (openstreetmap.org exports cut relations at the box) are left
    out. A row's ``kind`` is ``"building"`` when it carries a ``building`` tag other than
    ``no``, otherwise ``"poi"``; a building that also has an ``amenity`` tag is a building row
    with its ``amenity`` column set. Because ``name`` is among the default keys, any named
    node or area (bus stops, named closed ways) is returned as a ``"poi"``; filter on the tag
    columns for a narrower set.

    Parameters
    ----------
    path
        An OSM file: ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf``.
    tag_keys
        OSM keys to select on and to return as columns (missing tag → ``None``).
    kinds
        Which rows to keep: any of ``"building"`` and ``"poi"``.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``osm_type`` (``"node"``, ``"way"``, ``"relation"``), ``osm_id``
        (int64), ``kind``, one column per key of `tag_keys` (object dtype, ``None`` when
        absent) and ``geometry``: a Point for nodes, a Polygon or MultiPolygon for areas.
        The index is a fresh 0..n-1 range.

    Raises
    ------
    NetworkError
        When the file is missing, has an unknown suffix, is XML that declares entities (refused
        before parsing) or cannot be parsed, or when `tag_keys` or `kinds` are invalid.

    Examples
    --------
    >>> feats = read_osm_features("beijing_haidian_wudaokou.osm")  # doctest: +SKIP
    >>> feats[feats["amenity"] == "restaurant"].head()  # doctest: +SKIP
    """
    path = _check_path(path)
    keys = _check_tag_keys(tag_keys)
    wanted = _check_kinds(kinds)
    filter_keys = set(keys) if "poi" in wanted else set()
    if "building" in wanted:
        filter_keys.add("building")
    if not filter_keys:
        raise NetworkError(
            f"tag_keys {list(keys)!r} select no POIs; add a key such as 'amenity' or pass kinds=('building',)"
        )

    records: dict[str, list] = {k: [] for k in keys}
    osm_types: list[str] = []
    osm_ids: list[int] = []
    row_kinds: list[str] = []
    geoms: list = []
    wkb = osmium.geom.WKBFactory()
    n_bad = 0
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_areas()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.AREA))
            .with_filter(osmium.filter.KeyFilter(*sorted(filter_keys)))
        )
        for obj in processor:
            tags = obj.tags
            building = tags.get("building")
            kind = "building" if building is not None and building != "no" else "poi"
            if kind not in wanted:
                continue
            if not any(k in tags for k in keys) and kind != "building":
                continue
            if obj.is_node():
                loc = obj.location
                if not loc.valid():
                    n_bad += 1
                    continue
                geom = shapely.Point(loc.lon, loc.lat)
                osm_types.append("node")
                osm_ids.append(obj.id)
            else:  # an area
                try:
                    geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                except RuntimeError:  # libosmium could not build a valid ring
                    n_bad += 1
                    continue
                if len(geom.geoms) == 1:
                    geom = geom.geoms[0]
                osm_types.append("way" if obj.from_way() else "relation")
                osm_ids.append(obj.orig_id())
            row_kinds.append(kind)
            geoms.append(geom)
            for k in keys:
                records[k].append(tags.get(k))
    except NetworkError:
        raise
    except RuntimeError as exc:  # libosmium: truncated or corrupt file, unknown format
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise NetworkError(
            f"{path}: not a readable OSM file ({detail}); export it again as .osm or .osm.pbf "
            "(the file may be truncated)"
        ) from None
    if n_bad:
        log.info("%s: skipped %d features without a valid location or ring", path, n_bad)

    data = {
        "osm_type": pd.Series(osm_types, dtype=object),
        "osm_id": pd.Series(osm_ids, dtype=np.int64),
        "kind": pd.Series(row_kinds, dtype=object),
    }
    for k in keys:
        data[k] = pd.Series(records[k], dtype=object)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def read_buildings(path: str | Path) -> gpd.GeoDataFrame:
    """Read the building footprints of an OSM file.

    Only areas (closed ways, complete multipolygon relations) are returned; building nodes
    (a point with ``building=*``) have no footprint and are left out.

    Parameters
    ----------
    path
        An OSM file: ``.osm``, ``.osm.gz``, ``.osm.bz2`` or ``.osm.pbf``.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``osm_type`` (``"way"`` or ``"relation"``), ``osm_id``, ``building``
        (the tag value: ``residential``, ``apartments``, ``yes`` ...), ``levels`` (float64
        number of storeys from ``building:levels``; NaN when absent or unparseable, see
        `parse_levels`), ``name`` (``None`` when absent) and Polygon/MultiPolygon ``geometry``.

    Examples
    --------
    >>> buildings = read_buildings("beijing_haidian_wudaokou.osm")  # doctest: +SKIP
    >>> (buildings["building"] == "residential").sum()  # doctest: +SKIP
    117
    """
    feats = read_osm_features(path, tag_keys=("building", "building:levels", "name"), kinds=("building",))
    feats = feats[feats["osm_type"] != "node"]
    return gpd.GeoDataFrame(
        {
            "osm_type": pd.Series(feats["osm_type"].to_numpy(), dtype=object),
            "osm_id": pd.Series(feats["osm_id"].to_numpy(), dtype=np.int64),
            "building": pd.Series(feats["building"].to_numpy(), dtype=object),
            "levels": parse_levels(feats["building:levels"].to_numpy()),
            "name": pd.Series(feats["name"].to_numpy(), dtype=object),
        },
        geometry=gpd.GeoSeries(feats.geometry.to_numpy(), crs="EPSG:4326"),
        crs="EPSG:4326",
    )


def parse_levels(values: Sequence[object] | pd.Series) -> np.ndarray:
    """Storey counts from ``building:levels`` values.

    A plain positive number (``"6"``, ``"2.5"``) is taken as is; ``"3;5"`` (several values)
    gives the largest. Anything else (``None``, ``"0"``, ``"高层"``, ``"5-6"``) gives NaN, for
    the caller to fill with a default by building type.

    Parameters
    ----------
    values
        Tag values (strings, numbers or ``None``).

    Returns
    -------
    numpy.ndarray
        float64 storey counts, NaN where unknown.

    Examples
    --------
    >>> parse_levels(["6", "3;5", None, "abc", "0"])
    array([ 6.,  5., nan, nan, nan])
    """
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, (int, float, np.integer, np.floating)):
            f = float(v)
        else:
            parts = [_NUMBER.match(p) for p in str(v).split(";")]
            if not parts or not all(parts):
                continue
            f = max(float(m.group(1)) for m in parts)
        if math.isfinite(f) and f > 0:
            out[i] = f
    return out


def _check_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise NetworkError(f"{path}: file not found; check the path (an OSM .osm/.osm.pbf file is expected)")
    if path.is_dir():
        raise NetworkError(f"{path}: is a folder, not an OSM file; pass the .osm or .osm.pbf file inside it")
    if not is_osm_path(path):
        raise NetworkError(
            f"{path}: unknown OSM file type; rename or convert it to one of {', '.join(OSM_SUFFIXES)}"
        )
    refuse_osm_xml_entities(path)
    return path


def _check_tag_keys(tag_keys: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tag_keys, str):
        raise NetworkError(f"tag_keys {tag_keys!r} is one string; pass a list of keys, e.g. ['amenity', 'name']")
    keys = tuple(dict.fromkeys(tag_keys))
    bad = [k for k in keys if not isinstance(k, str) or not k or k in ("osm_type", "osm_id", "kind", "geometry")]
    if bad or not keys:
        raise NetworkError(
            f"tag_keys {list(tag_keys)!r}: {bad[0]!r} is not a usable OSM key; pass non-empty keys such as 'amenity'"
            if bad
            else "tag_keys is empty; pass at least one OSM key, e.g. ['building', 'amenity']"
        )
    return keys


def _check_kinds(kinds: Sequence[str]) -> frozenset[str]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    wanted = frozenset(kinds)
    unknown = sorted(str(k) for k in wanted - set(KINDS))
    if unknown or not wanted:
        raise NetworkError(
            f"kinds {list(kinds)!r} is not valid; use one or both of {list(KINDS)!r}"
        )
    return wanted

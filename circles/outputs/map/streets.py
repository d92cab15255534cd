"""The street network as the maps' light base layer: simplified at display scale, packed into two line streams.

The map reads without any basemap tile: the ways of the analysis's walking network are drawn
thin and grey (main roads a little wider), under everything else. Each way is simplified by a
tolerance in metres, and all the ways of a class travel as one encoded stream
(`circles.outputs.map.packing.encode_lines`; the network's order keeps neighbours together, so
each line starts near the previous one), decoded by the page's ``circles.streets``.

Example
-------
>>> import geopandas as gpd, shapely
>>> ways = gpd.GeoDataFrame({"highway": ["primary", "footway"]},
...                         geometry=[shapely.LineString([(114.30, 30.60), (114.31, 30.60)]),
...                                   shapely.LineString([(114.30, 30.61), (114.30, 30.62)])], crs="EPSG:4326")
>>> [s["style"]["weight"] for s in street_streams(ways)]
[2.2, 1.0]
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from circles.errors import InputError
from circles.outputs.map.packing import DEFAULT_PRECISION, encode_lines
from circles.outputs.map.style import METRES_PER_DEGREE

__all__ = ["MAJOR_HIGHWAYS", "STREET_STYLES", "street_lines", "street_streams"]

#: ``highway`` values drawn as main roads (wider); every other way of the network is a minor street.
MAJOR_HIGHWAYS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
                            "secondary", "secondary_link", "tertiary", "tertiary_link"})
#: Leaflet path options of the two classes: light enough to stay under the data.
STREET_STYLES = {"major": {"color": "#a8a398", "weight": 2.2, "opacity": 0.9},
                 "minor": {"color": "#c4bfb4", "weight": 1.0, "opacity": 0.9}}


def street_streams(streets: Any, *, simplify_m: float = 5.0,
                   precision: int = DEFAULT_PRECISION) -> list[dict[str, Any]]:
    """The streets as packed streams, main roads then minor streets: ``[{"enc": str, "style": dict}, ...]``.

    Parameters
    ----------
    streets
        A `network.CompactNetwork` (its edges, metres in its CRS, classes from ``edge_highway``),
        or a GeoDataFrame/GeoSeries of lines (any CRS; an optional ``highway`` column).
    simplify_m
        Tolerance of the simplification (metres); 0 keeps every vertex.
    precision
        Decimals of the packed lon/lat.

    Returns
    -------
    list of dict
        One entry per class that has ways (``style``: Leaflet path options).
    """
    lines, major = street_lines(streets, simplify_m=simplify_m)
    out = []
    for key, mask in (("major", major), ("minor", ~major)):
        chosen = [lines[i] for i in np.flatnonzero(mask)]
        if chosen:
            out.append({"enc": encode_lines(chosen, precision), "style": dict(STREET_STYLES[key])})
    return out


def street_lines(streets: Any, *, simplify_m: float = 5.0) -> tuple[list[np.ndarray], np.ndarray]:
    """Lon/lat vertex arrays of every way (simplified by `simplify_m` metres) and whether each is a main road.

    `streets` as in `street_streams`; the maps and the report's pictures draw the same lines.
    """
    if hasattr(streets, "geom_offsets") and hasattr(streets, "to_lonlat"):  # a network.CompactNetwork
        geoms = streets.edge_lines()
        if simplify_m > 0:
            geoms = shapely.simplify(geoms, simplify_m)
        coords, which = shapely.get_coordinates(geoms, return_index=True)
        lon, lat = streets.to_lonlat(coords[:, 0], coords[:, 1])
        classes = np.asarray(streets.highway_values, dtype=object)[np.asarray(streets.edge_highway)] \
            if len(streets.highway_values) else np.array([None] * len(geoms), dtype=object)
        major = np.isin(classes.astype(str), list(MAJOR_HIGHWAYS))
        return _split(np.column_stack([lon, lat]), which, len(geoms)), major
    if isinstance(streets, gpd.GeoSeries):
        streets = gpd.GeoDataFrame(geometry=streets)
    if not isinstance(streets, gpd.GeoDataFrame):
        raise InputError(f"streets must be a network (circles' CompactNetwork) or a GeoDataFrame of lines "
                         f"(got {type(streets).__name__})")
    if streets.crs is None:
        raise InputError("streets has no CRS; set it first, e.g. streets.set_crs('EPSG:4326') for lon/lat")
    ways = streets.to_crs("EPSG:4326") if not streets.crs.equals("EPSG:4326") else streets
    geoms = shapely.line_merge(np.asarray(ways.geometry.values, dtype=object))
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = np.isin(shapely.get_type_id(parts), (1, 2))  # lines (and rings), not points
    parts, owner = parts[keep], owner[keep]
    if simplify_m > 0 and len(parts):
        parts = shapely.simplify(parts, simplify_m / METRES_PER_DEGREE)
    coords, which = shapely.get_coordinates(parts, return_index=True)
    highway = ways["highway"].astype(str).to_numpy() if "highway" in ways else np.full(len(ways), "")
    major = np.isin(highway[owner], list(MAJOR_HIGHWAYS)) if len(owner) else np.zeros(0, bool)
    return _split(coords, which, len(parts)), major


def _split(coords: np.ndarray, which: np.ndarray, n: int) -> list[np.ndarray]:
    starts = np.searchsorted(which, np.arange(n + 1))
    return [coords[a:b] for a, b in zip(starts[:-1].tolist(), starts[1:].tolist())]

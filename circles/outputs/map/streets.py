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
from network.arrays import ranges
from circles.outputs.map.packing import DEFAULT_PRECISION, encode_stream
from circles.outputs.map.style import METRES_PER_DEGREE

__all__ = ["MAJOR_HIGHWAYS", "STREET_STYLES", "street_lines", "street_streams", "street_vertices"]

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
    coords, counts, major = street_vertices(streets, simplify_m=simplify_m)
    starts = np.concatenate([[0], np.cumsum(counts)])
    out = []
    for key, mask in (("major", major), ("minor", ~major)):
        chosen = np.flatnonzero(mask & (counts >= 2))  # as encode_lines: a line needs two vertices
        if len(chosen):
            pts = coords[ranges(starts[chosen], counts[chosen])]
            out.append({"enc": encode_stream(pts, counts[chosen], precision), "style": dict(STREET_STYLES[key])})
    return out


def street_lines(streets: Any, *, simplify_m: float = 5.0) -> tuple[list[np.ndarray], np.ndarray]:
    """Lon/lat vertex arrays of every way (simplified by `simplify_m` metres) and whether each is a main road.

    `streets` as in `street_streams`; the maps and the report's pictures draw the same lines. One
    array per way: `street_vertices` gives the same as three arrays, lighter for a city.
    """
    coords, counts, major = street_vertices(streets, simplify_m=simplify_m)
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return [coords[a:b] for a, b in zip(bounds[:-1], bounds[1:])], major


def street_vertices(streets: Any, *, simplify_m: float = 5.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every way's lon/lat vertices (simplified by `simplify_m` metres) as ``(coords, counts, major)``.

    ``coords`` (n, 2) holds the ways one after another, ``counts`` each way's number of vertices,
    ``major`` whether it is a main road (`MAJOR_HIGHWAYS`). `streets` as in `street_streams`; a
    network's edges are simplified `STREET_CHUNK` at a time, so a city's shapely lines never all
    exist at once.
    """
    if hasattr(streets, "geom_offsets") and hasattr(streets, "to_lonlat"):  # a network.CompactNetwork
        return _network_vertices(streets, simplify_m)
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
    return coords, np.bincount(which, minlength=len(parts)), major


STREET_CHUNK = 16_384  # network edges simplified at a time


def _network_vertices(net: Any, simplify_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    off = np.asarray(net.geom_offsets)
    coords, counts = [], []
    for a in range(0, net.n_edges, STREET_CHUNK):
        b = min(net.n_edges, a + STREET_CHUNK)
        lo, hi = int(off[a]), int(off[b])
        lines = shapely.linestrings(np.column_stack([net.geom_x[lo:hi], net.geom_y[lo:hi]]),
                                    indices=np.repeat(np.arange(b - a), np.diff(off[a:b + 1])))
        if simplify_m > 0:
            lines = shapely.simplify(lines, simplify_m)
        xy, which = shapely.get_coordinates(lines, return_index=True)
        del lines
        lon, lat = net.to_lonlat(xy[:, 0], xy[:, 1])
        coords.append(np.column_stack([lon, lat]))
        counts.append(np.bincount(which, minlength=b - a))
    classes = np.asarray(net.highway_values, dtype=object)[np.asarray(net.edge_highway)] \
        if len(net.highway_values) else np.array([None] * net.n_edges, dtype=object)
    major = np.isin(classes.astype(str), list(MAJOR_HIGHWAYS))
    if not coords:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64), major
    return np.concatenate(coords), np.concatenate(counts), major

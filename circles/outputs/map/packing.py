"""Lines and polygons packed for the page: coordinates as encoded polylines, unpacked by the page's runtime.

A coordinate array written as JSON costs about 22 bytes a vertex (``[114.312345,30.612345],``);
encoded as a polyline string (Google's algorithm: each delta from the previous vertex, zig-zag,
in 5-bit groups, printable ASCII) it costs 2–5. The map's geometries are packed here and turned
back into GeoJSON in the browser by ``circles.unpack`` (`circles.outputs.map.runtime`), before
Leaflet sees them; points stay plain GeoJSON. Encoding is vectorised over every vertex.

A packed geometry keeps its ``type`` and replaces ``coordinates`` with ``enc``: a string per
ring or line, nested like the coordinates (the closing vertex of a ring is left out). Streets
travel as one string for all lines (`encode_lines`): per line its vertex count, then its
vertices, each from the previous one, so nearby lines cost little.

Example
-------
>>> import shapely
>>> encode_values(np.array([3850000, -12020000]))
'_p~iF~ps|U'
>>> unpack_geometry(packed_geometries([shapely.LineString([(1, 2), (1.5, 2.5)])], 5)[0])
{'type': 'LineString', 'coordinates': [[1.0, 2.0], [1.5, 2.5]]}
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely

__all__ = ["DEFAULT_PRECISION", "decode_values", "encode_lines", "encode_stream", "encode_values",
           "packed_geometries", "unpack_geometry"]

#: Decimals of packed coordinates: 5 is about 1 m, finer than the maps' simplification (5 m and more).
DEFAULT_PRECISION = 5
_MAX_CHUNKS = 7  # 35 bits: any zig-zagged delta of degrees × 10^6 fits
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


_BLOCK = 65_536  # values encoded at a time: the (values × 7) temporaries stay a few MB


def _chunks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The encoded characters of integer `values` (one bytes array) and each value's character count."""
    v = np.asarray(values, dtype=np.int64)
    if len(v) > _BLOCK:
        blocks = [_block_chunks(v[a:a + _BLOCK]) for a in range(0, len(v), _BLOCK)]
        return np.concatenate([c for c, _ in blocks]), np.concatenate([n for _, n in blocks])
    return _block_chunks(v)


def _block_chunks(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = (v << 1) ^ (v >> 63)  # zig-zag: small magnitudes of either sign become small numbers
    count = np.ones(len(z), dtype=np.int64)
    rest = z >> 5
    while np.any(rest):
        count += rest > 0
        rest >>= 5
    shifts = 5 * np.arange(_MAX_CHUNKS, dtype=np.int64)
    parts = (z[:, None] >> shifts[None, :]) & 31
    more = np.arange(_MAX_CHUNKS)[None, :] < (count[:, None] - 1)
    chars = (parts | (more * 32)) + 63
    used = np.arange(_MAX_CHUNKS)[None, :] < count[:, None]
    return chars[used].astype(np.uint8), count


def encode_values(values: np.ndarray) -> str:
    """Integers as one encoded polyline string (zig-zag, 5-bit groups, characters ``?``–``~``)."""
    chars, _ = _chunks(values)
    return chars.tobytes().decode("ascii")


def decode_values(text: str) -> list[int]:
    """The integers of an encoded string (the inverse of `encode_values`)."""
    out, value, shift = [], 0, 0
    for ch in text.encode("ascii"):
        b = ch - 63
        value |= (b & 31) << shift
        shift += 5
        if b < 32:
            out.append(~(value >> 1) if value & 1 else value >> 1)
            value, shift = 0, 0
    return out


def _ring_strings(coords: np.ndarray, starts: np.ndarray, precision: int) -> list[str]:
    """One encoded string per ring/line: its first vertex absolute, then deltas (x, y interleaved)."""
    if not len(coords):
        return [""] * (len(starts) - 1)
    q = np.round(coords * 10.0 ** precision).astype(np.int64)
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    firsts = starts[:-1][starts[:-1] < len(q)]
    d[firsts] = q[firsts]
    chars, count = _chunks(d.ravel())
    text = chars.tobytes().decode("ascii")
    bounds = np.concatenate([[0], np.cumsum(count)])[2 * starts]
    return [text[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


def packed_geometries(geoms: Any, precision: int = DEFAULT_PRECISION) -> list[str | None]:
    """Each geometry as packed GeoJSON text (see the module); points as plain GeoJSON; None stays None.

    Parameters
    ----------
    geoms
        Shapely geometries in WGS84 degrees.
    precision
        Decimals kept (5: about 1 m).
    """
    geoms = np.asarray(geoms, dtype=object)
    out: list[str | None] = [None] * len(geoms)
    if not len(geoms):
        return out
    missing = shapely.is_missing(geoms)
    kinds = np.where(missing, -1, shapely.get_type_id(np.where(missing, None, geoms)))
    plain = np.flatnonzero(~missing & ~np.isin(kinds, (1, 3, 5, 6)))
    if len(plain):
        rounded = shapely.transform(geoms[plain], lambda c: np.round(c, precision + 1))
        for i, text in zip(plain.tolist(), shapely.to_geojson(rounded).tolist()):
            out[i] = text
    for kind, name in ((1, "LineString"), (5, "MultiLineString")):
        idx = np.flatnonzero(kinds == kind)
        if len(idx):
            _pack_lines(geoms[idx], idx, name, precision, out)
    idx = np.flatnonzero(np.isin(kinds, (3, 6)))
    if len(idx):
        _pack_polygons(geoms[idx], idx, precision, out)
    return out


def _pack_lines(geoms: np.ndarray, idx: np.ndarray, name: str, precision: int, out: list) -> None:
    parts, owner = shapely.get_parts(geoms, return_index=True)
    coords, which = shapely.get_coordinates(parts, return_index=True)
    starts = np.searchsorted(which, np.arange(len(parts) + 1))
    strings = _ring_strings(coords, starts, precision)
    by_geom: dict[int, list[str]] = {}
    for k, s in zip(owner.tolist(), strings):
        by_geom.setdefault(k, []).append(s)
    for k, i in enumerate(idx.tolist()):
        lines = by_geom.get(k, [])
        enc = lines[0] if name == "LineString" and lines else lines
        out[i] = '{"type":"%s","enc":%s}' % (name, _encode(enc))


def _pack_polygons(geoms: np.ndarray, idx: np.ndarray, precision: int, out: list) -> None:
    multi = shapely.get_type_id(geoms) == 6
    polys, owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_owner = shapely.get_rings(polys, return_index=True)
    coords, which = shapely.get_coordinates(rings, return_index=True)
    starts = np.searchsorted(which, np.arange(len(rings) + 1))
    # leave out each ring's closing vertex (Leaflet closes rings itself)
    keep = np.ones(len(coords), dtype=bool)
    ends = starts[1:] - 1
    keep[ends[(starts[1:] - starts[:-1]) > 1]] = False
    new_starts = np.concatenate([[0], np.cumsum(np.add.reduceat(keep, starts[:-1]) if len(coords) else [])])
    strings = _ring_strings(coords[keep], new_starts.astype(np.int64), precision) if len(coords) else []
    per_poly: dict[int, list[str]] = {}
    for k, s in zip(ring_owner.tolist(), strings):
        per_poly.setdefault(k, []).append(s)
    per_geom: dict[int, list[list[str]]] = {}
    for p, k in enumerate(owner.tolist()):
        per_geom.setdefault(k, []).append(per_poly.get(p, []))
    for k, i in enumerate(idx.tolist()):
        polys_k = per_geom.get(k, [])
        if multi[k]:
            out[i] = '{"type":"MultiPolygon","enc":%s}' % _encode(polys_k)
        else:
            out[i] = '{"type":"Polygon","enc":%s}' % _encode(polys_k[0] if polys_k else [])


def encode_lines(lines: list[np.ndarray], precision: int = DEFAULT_PRECISION) -> str:
    """Many lines as one string: per line its vertex count, then its vertices, each from the previous vertex.

    Parameters
    ----------
    lines
        Arrays of shape (n, 2), lon/lat degrees; lines of fewer than two vertices are left out.
    precision
        Decimals kept.
    """
    lines = [np.asarray(a, dtype=float) for a in lines if len(a) >= 2]
    if not lines:
        return ""
    return encode_stream(np.concatenate(lines), np.array([len(a) for a in lines], dtype=np.int64), precision)


def encode_stream(coords: np.ndarray, counts: np.ndarray, precision: int = DEFAULT_PRECISION) -> str:
    """`encode_lines` of lines given as one (n, 2) array and each line's vertex count (every count ≥ 2)."""
    if not len(counts):
        return ""
    counts = np.asarray(counts, dtype=np.int64)
    q = np.round(np.asarray(coords, dtype=float) * 10.0 ** precision).astype(np.int64)
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64)).ravel()
    del q
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # the stream: count, x0, y0, x1, y1 ... per line; the count goes before each line's first vertex
    values = np.insert(d, 2 * starts, counts)
    return encode_values(values)


def unpack_geometry(geometry: Any, precision: int = DEFAULT_PRECISION) -> dict[str, Any] | None:
    """A packed geometry (text or dict) back as GeoJSON with ``coordinates`` (rings closed again).

    The Python twin of the page's ``circles.unpack``: for tests and for reading a page's data.
    """
    if geometry is None:
        return None
    g = json.loads(geometry) if isinstance(geometry, str) else dict(geometry)
    if "enc" not in g:
        return g
    scale = 10.0 ** precision

    def line(text: str, ring: bool = False) -> list[list[float]]:
        v = decode_values(text)
        xs, ys = np.cumsum(v[0::2]) / scale, np.cumsum(v[1::2]) / scale
        pts = [[round(float(x), precision), round(float(y), precision)] for x, y in zip(xs, ys)]
        return pts + [pts[0]] if ring and pts else pts

    enc, kind = g.pop("enc"), g["type"]
    if kind == "LineString":
        g["coordinates"] = line(enc)
    elif kind == "MultiLineString":
        g["coordinates"] = [line(s) for s in enc]
    elif kind == "Polygon":
        g["coordinates"] = [line(s, ring=True) for s in enc]
    else:
        g["coordinates"] = [[line(s, ring=True) for s in poly] for poly in enc]
    return g

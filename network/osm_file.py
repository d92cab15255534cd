"""Read highway ways with their node locations from OSM files (.osm, .osm.gz, .osm.bz2, .osm.pbf) via pyosmium."""

from __future__ import annotations

import logging
import math
import os
import re
from pathlib import Path

import numpy as np
import osmium

from network.errors import NetworkError
from network.raw import WAY_TAGS, RawWays
from network.xmlsafe import read_xml_head, refuse_xml_entities

log = logging.getLogger(__name__)

OSM_SUFFIXES: tuple[str, ...] = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf", ".xml")

# libosmium's fixed-point coordinates: degrees * 1e7; this value marks an undefined location
_UNDEFINED = 2147483647
_RARE_TAGS = tuple(k for k in WAY_TAGS if k not in ("highway", "name"))  # name is not needed for routing
_XML_FIX = ("remove the <!DOCTYPE ...> block, or export the area again from openstreetmap.org "
            "(or as a Geofabrik .osm.pbf extract)")
_BOUNDS_HEAD_BYTES = 1 << 16  # <bounds> comes right after <osm> (after <note>/<meta> from Overpass)
_BOUNDS = re.compile(r"<(bounds|bound)\b([^>]*)>")
_FIRST_ENTITY = re.compile(r"<(node|way|relation)\b")
_ATTR = re.compile(r"([\w:]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def is_osm_path(path: Path) -> bool:
    """True when the file name ends like an OSM file this module reads."""
    name = path.name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


def is_pbf_path(path: Path) -> bool:
    """True when the file name ends in ``.pbf`` (binary OSM); every other OSM file is XML."""
    return path.name.lower().endswith(".pbf")


def refuse_osm_xml_entities(path: Path) -> None:
    """Refuse an OSM XML file (plain, .gz or .bz2) whose prolog declares entities; PBF passes.

    Runs before libosmium parses anything; see `network.xmlsafe.refuse_xml_entities`.
    """
    if not is_pbf_path(Path(path)):
        refuse_xml_entities(Path(path), fix=_XML_FIX)


def file_bounds(path: str | os.PathLike) -> tuple[float, float, float, float] | None:
    """The box an OSM file declares it covers.

    openstreetmap.org exports keep every way that touches the export box whole, so their
    streets run past it; the declared box says where the data is complete.

    Parameters
    ----------
    path
        An OSM file: the ``<bounds>`` element (or Osmosis's ``<bound box=...>``) of
        ``.osm``/``.osm.gz``/``.osm.bz2`` XML, the header bbox of ``.osm.pbf``.

    Returns
    -------
    tuple of float or None
        ``(min lon, min lat, max lon, max lat)`` in WGS84 degrees; None when the file declares
        no box, or one that is not a valid lon/lat box (min >= max, out of range, unparseable).

    Raises
    ------
    NetworkError
        The file is missing, unreadable, or XML that declares entities.

    Examples
    --------
    >>> file_bounds("beijing_haidian_wudaokou.osm")  # doctest: +SKIP
    (116.3084, 39.9905, 116.332, 40.0123)
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: file not found; check the path (an OSM .osm/.osm.pbf file is expected)")
    if is_pbf_path(path):
        return _pbf_bounds(path)
    refuse_osm_xml_entities(path)
    text, _ = read_xml_head(path, max_bytes=_BOUNDS_HEAD_BYTES)
    first = _FIRST_ENTITY.search(text)
    boxes = []
    for m in _BOUNDS.finditer(text, 0, first.start() if first else len(text)):
        attrs = {k: dq or sq for k, dq, sq in _ATTR.findall(m.group(2))}
        if m.group(1) == "bound":
            parts = attrs.get("box", "").split(",")
            keys = dict(zip(("minlat", "minlon", "maxlat", "maxlon"), parts)) if len(parts) == 4 else {}
        else:
            keys = attrs
        try:
            box = _valid_box(*(float(keys[k]) for k in ("minlon", "minlat", "maxlon", "maxlat")))
        except (KeyError, ValueError):
            box = None
        if box is None:
            log.info("%s: ignoring the declared bounds %r (not a valid lon/lat box)", path, m.group(0))
            return None
        boxes.append(box)
    if not boxes:
        return None
    w, s, e, n = zip(*boxes)
    return min(w), min(s), max(e), max(n)


def _pbf_bounds(path: Path) -> tuple[float, float, float, float] | None:
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.NOTHING)
        try:
            box = reader.header().box()
        finally:
            reader.close()
    except RuntimeError as exc:  # libosmium: not PBF, truncated header
        raise NetworkError(
            f"{path}: not a readable OSM file ({str(exc).strip() or type(exc).__name__}); "
            "export it again as .osm or .osm.pbf (the file may be truncated)"
        ) from None
    if not box.valid():
        return None
    return _valid_box(box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def _valid_box(w: float, s: float, e: float, n: float) -> tuple[float, float, float, float] | None:
    ok = all(math.isfinite(v) for v in (w, s, e, n)) and -180.0 <= w < e <= 180.0 and -90.0 <= s < n <= 90.0
    return (float(w), float(s), float(e), float(n)) if ok else None


def read_highway_ways(path: Path) -> RawWays:
    """Read every way with a ``highway`` tag and the locations of its nodes.

    Two passes keep the per-way Python work small: the first collects the few filter-relevant
    tags (``access``, ``foot``, ``oneway`` ...) of the ways that carry any of them; the second
    reads all highway ways with node locations resolved inside libosmium.

    Parameters
    ----------
    path
        An OSM XML (optionally gzip/bzip2-compressed) or PBF file.

    Returns
    -------
    RawWays
        Node ids with WGS84 lon/lat (degrees) and the ways' node references and tags.
    """
    path = Path(path)
    if not path.exists():
        raise NetworkError(f"{path}: file not found; check the path (an OSM .osm/.osm.pbf file is expected)")
    refuse_osm_xml_entities(path)
    try:
        extra: dict[int, dict[str, str]] = {}
        rare_pass = (
            osmium.FileProcessor(str(path), osmium.osm.WAY)
            .with_filter(osmium.filter.KeyFilter("highway"))
            .with_filter(osmium.filter.KeyFilter(*_RARE_TAGS))
        )
        for w in rare_pass:
            extra[w.id] = {t.k: t.v for t in w.tags if t.k in WAY_TAGS}

        way_ids: list[int] = []
        tags: list[dict[str, str]] = []
        refs: list[tuple[int, int, int]] = []
        offsets = [0]
        main_pass = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations("flex_mem")
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for w in main_pass:
            wid = w.id
            t = extra.get(wid)
            if t is None:
                t = {"highway": w.tags.get("highway")}
            way_ids.append(wid)
            tags.append(t)
            refs.extend([(n.ref, n.x, n.y) for n in w.nodes])
            offsets.append(len(refs))
    except NetworkError:
        raise
    except RuntimeError as exc:  # libosmium: truncated or corrupt file, unknown format
        raise NetworkError(
            f"{path}: not a readable OSM file ({str(exc).strip() or type(exc).__name__}); "
            "export it again as .osm or .osm.pbf (the file may be truncated)"
        ) from None

    arr = np.array(refs, dtype=np.int64).reshape(-1, 3)
    ref_ids = arr[:, 0]
    valid = (arr[:, 1] != _UNDEFINED) & (arr[:, 2] != _UNDEFINED)
    node_id, first = np.unique(ref_ids[valid], return_index=True)
    xy = arr[valid][first]
    missing = int((~valid).sum())
    if missing:
        log.info("%s: %d way node references have no location in the file; ways are split there", path, missing)
    return RawWays(
        node_id=node_id,
        node_lon=xy[:, 1] * 1e-7,
        node_lat=xy[:, 2] * 1e-7,
        way_id=np.array(way_ids, dtype=np.int64),
        way_offsets=np.array(offsets, dtype=np.int64),
        refs=ref_ids,
        way_tags=tags,
    )

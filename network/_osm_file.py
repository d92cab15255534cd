"""Read highway ways with their node locations from OSM files (.osm, .osm.gz, .osm.bz2, .osm.pbf) via pyosmium."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import osmium

from network.errors import NetworkError
from network.raw import WAY_TAGS, RawWays

log = logging.getLogger(__name__)

OSM_SUFFIXES: tuple[str, ...] = (".osm", ".osm.gz", ".osm.bz2", ".osm.pbf", ".pbf", ".xml")

# libosmium's fixed-point coordinates: degrees * 1e7; this value marks an undefined location
_UNDEFINED = 2147483647
_RARE_TAGS = tuple(k for k in WAY_TAGS if k not in ("highway", "name"))  # name is not needed for routing


def is_osm_path(path: Path) -> bool:
    """True when the file name ends like an OSM file this module reads."""
    name = path.name.lower()
    return any(name.endswith(s) for s in OSM_SUFFIXES)


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

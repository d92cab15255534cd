"""Cutting parsed OSM ways to an area: what a batch hands each district (the ways within its reach)."""

from __future__ import annotations

import numpy as np
import shapely

from network.arrays import ranges
from network.raw import RawWays

__all__ = ["WayIndex", "extract_ways"]


class WayIndex:
    """Per-way extents of a `network.RawWays` in an STR-tree, and each reference's node position."""

    def __init__(self, raw: RawWays):
        self.ref_node = np.full(len(raw.refs), -1, dtype=np.int64)  # position of each reference's node, -1: none
        if len(raw.node_id):
            order = np.argsort(raw.node_id, kind="stable")
            sorted_ids = raw.node_id[order]
            found = np.minimum(np.searchsorted(sorted_ids, raw.refs), len(sorted_ids) - 1)
            hit = sorted_ids[found] == raw.refs
            self.ref_node[hit] = order[found[hit]]
        ok = self.ref_node >= 0
        lon = np.full(len(raw.refs), np.nan)
        lat = np.full(len(raw.refs), np.nan)
        lon[ok], lat[ok] = raw.node_lon[self.ref_node[ok]], raw.node_lat[self.ref_node[ok]]
        nonempty = np.flatnonzero(np.diff(raw.way_offsets) > 0)
        starts = raw.way_offsets[:-1][nonempty]
        if len(starts):  # extent of each way over its located nodes (fmin/fmax skip the NaNs)
            bounds = [np.fmin.reduceat(lon, starts), np.fmin.reduceat(lat, starts),
                      np.fmax.reduceat(lon, starts), np.fmax.reduceat(lat, starts)]
        else:
            bounds = [np.zeros(0)] * 4
        located = np.isfinite(bounds[0])
        self.raw = raw
        self.ways = nonempty[located]
        self.tree = shapely.STRtree(shapely.box(*(b[located] for b in bounds)))

    def query(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Positions of the ways whose extent meets `bbox` (lon/lat), sorted."""
        hit = self.tree.query(shapely.box(*bbox))
        return np.sort(self.ways[hit])


def extract_ways(raw: RawWays, bbox: tuple[float, float, float, float], *, index: WayIndex | None = None) -> RawWays:
    """The ways of `raw` whose extent meets `bbox`, with the nodes they use.

    `network.build.build_network` keeps only nodes inside the buffered boundary, so building
    from this extract (with a `bbox` that contains the buffered boundary) gives the same
    network as building from all of `raw`. Order of ways and nodes is kept.

    Parameters
    ----------
    raw
        All ways.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees.
    index
        The `WayIndex` of `raw`, to reuse across calls (built when None).

    Returns
    -------
    RawWays
        Possibly without ways (``n_ways == 0``) when nothing is near.
    """
    index = index if index is not None and index.raw is raw else WayIndex(raw)
    ways = index.query(bbox)
    if len(ways) == 0:
        return RawWays(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64),
                       np.zeros(1, np.int64), np.zeros(0, np.int64), [])
    starts = raw.way_offsets[ways]
    lengths = raw.way_offsets[ways + 1] - starts
    pos = ranges(starts, lengths)
    refs = raw.refs[pos]
    node_pos = index.ref_node[pos]
    nodes = np.unique(node_pos[node_pos >= 0])
    offsets = np.zeros(len(ways) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return RawWays(
        node_id=raw.node_id[nodes], node_lon=raw.node_lon[nodes], node_lat=raw.node_lat[nodes],
        way_id=raw.way_id[ways], way_offsets=offsets, refs=refs,
        way_tags=[raw.way_tags[i] for i in ways.tolist()],
    )

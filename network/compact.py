"""The compact network: flat arrays of nodes and edges in metres, CSR travel times, a KD-tree and edge snapping."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from scipy import sparse

from network.errors import NetworkError
from network.modes import MODES

if TYPE_CHECKING:  # both take ~0.1 s to import: loaded when first used, so `import network` stays light
    import pyproj
    from scipy.spatial import cKDTree

# A node at an edge's end is reached at this time (s) at least: scipy's shortest-path routines
# ignore explicit zeros in sparse matrices, so zero-length edges get this instead.
MIN_EDGE_TIME_S = 1e-6
DEFAULT_SNAP_MAX_M = 200.0
# Snapping: points along every straight piece at most this far apart in a KD-tree (`_snap_index`),
# points snapped this many at a time (the candidate lists stay small)
SNAP_POINT_STEP_M = 25.0
SNAP_CHUNK = 100_000
SNAP_NEIGHBOURS = 16  # tree points asked for per point; a ball holding more is asked for again


@dataclass(frozen=True)
class EdgeSamples:
    """Points along the edges (`CompactNetwork.edge_samples`): edge, fraction of its geometry from
    its `u` end, x/y in metres; ``ptr[e]:ptr[e+1]`` are edge ``e``'s samples."""

    edge: np.ndarray
    fraction: np.ndarray
    x: np.ndarray
    y: np.ndarray
    ptr: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)


@dataclass(frozen=True)
class Snap:
    """Points snapped to the nearest point of the nearest edge.

    Attributes
    ----------
    edge
        Index of the nearest edge (int64).
    offset_m
        Distance along the edge's geometry from its `u` end to the snapped point (metres).
    fraction
        ``offset_m`` as a share of the edge's geometric length, in [0, 1].
    distance_m
        Straight-line distance from the point to the snapped point (metres).
    x, y
        The snapped point, in the network's CRS (metres).
    off_network
        True where ``distance_m`` exceeds the threshold: the point is too far from any edge of
        this mode to be reached on foot (across a river, in a field); callers report these.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    x: np.ndarray
    y: np.ndarray
    off_network: np.ndarray
    max_distance_m: float

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, idx: np.ndarray) -> Snap:
        """The points `idx` (positions or a boolean mask) of this snap, as a new `Snap`."""
        return Snap(self.edge[idx], self.offset_m[idx], self.fraction[idx], self.distance_m[idx],
                    self.x[idx], self.y[idx], self.off_network[idx], self.max_distance_m)


@dataclass(frozen=True, eq=False)
class CompactNetwork:
    """A travel network as flat arrays: the form all shortest-path work runs on.

    Nodes are intersections and dead ends (osmnx's simplification); each edge is one
    simplified street segment with its geometry. Two-way edges are stored once and expanded in
    both directions by `csr`. Coordinates are metres in `crs` (a local UTM zone).

    Attributes
    ----------
    crs
        The projected CRS of every ``x``/``y`` array, as an EPSG string such as ``"EPSG:32650"``.
    mode
        ``"walk"``, ``"bike"``, ``"ebike"`` or ``"drive"`` (`network.modes.MODES`).
    node_osmid, node_x, node_y, node_lon, node_lat
        Per node: OSM id, projected metres, WGS84 degrees.
    edge_u, edge_v
        Node indices at the start and end of each edge.
    edge_oneway
        True when the edge may only be travelled from `u` to `v`.
    edge_length_m
        Great-circle length along the geometry (metres), as osmnx computes it.
    edge_weighted_length_m
        Length with the way-type factors applied (e.g. steps count double for elderly walkers).
    edge_drive_time_s
        Driving time at the class/maxspeed speeds (seconds); NaN for walk/bike networks.
    edge_highway
        Index into `highway_values` of each edge's ``highway`` tag.
    edge_osmid
        OSM way id of each edge (the first way of a merged chain).
    geom_offsets, geom_x, geom_y
        Edge ``i``'s geometry is ``geom_x/geom_y[geom_offsets[i]:geom_offsets[i + 1]]`` (metres).
    report
        What the build did: source, counts, what was dropped.
    """

    crs: str
    mode: str
    node_osmid: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_oneway: np.ndarray
    edge_length_m: np.ndarray
    edge_weighted_length_m: np.ndarray
    edge_drive_time_s: np.ndarray
    edge_highway: np.ndarray
    edge_osmid: np.ndarray
    highway_values: tuple[str, ...]
    geom_offsets: np.ndarray
    geom_x: np.ndarray
    geom_y: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ basics
    @property
    def n_nodes(self) -> int:
        return len(self.node_x)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    @property
    def n_directed_edges(self) -> int:
        """Edges counted as osmnx counts them: two-way edges twice."""
        return int(2 * self.n_edges - self.edge_oneway.sum())

    @cached_property
    def _to_proj(self) -> pyproj.Transformer:
        import pyproj

        return pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @cached_property
    def _to_lonlat(self) -> pyproj.Transformer:
        import pyproj

        return pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def to_xy(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 lon/lat (degrees) to this network's projected x/y (metres)."""
        x, y = self._to_proj.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(x), np.asarray(y)

    def to_lonlat(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Projected x/y (metres) to WGS84 lon/lat (degrees)."""
        lon, lat = self._to_lonlat.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.asarray(lon), np.asarray(lat)

    @property
    def bbox_lonlat(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the nodes, degrees."""
        return (float(self.node_lon.min()), float(self.node_lat.min()),
                float(self.node_lon.max()), float(self.node_lat.max()))

    @property
    def total_length_km(self) -> float:
        return float(self.edge_length_m.sum() / 1000.0)

    # ------------------------------------------------------------ travel time
    def travel_time_s(self, speed_kmh: float | None = None, *, way_factors: bool = True) -> np.ndarray:
        """Per-edge travel time (seconds).

        Parameters
        ----------
        speed_kmh
            Walking or cycling speed (km/h). For drive networks leave it None: road speeds come
            from the highway class table / ``maxspeed``.
        way_factors
            Apply the way-type factors of the build (e.g. steps slower); False gives one plain
            speed on every way, what other tools compute.
        """
        if speed_kmh is None:
            if self.mode != "drive":
                raise NetworkError(f"speed_kmh is needed for a {self.mode} network, e.g. speed_kmh=3.6 for older "
                                   "walkers or 15 for e-bikes")
            t = self.edge_drive_time_s
        else:
            if not speed_kmh > 0:
                raise NetworkError(f"speed_kmh is {speed_kmh}; a speed must be > 0 km/h (e.g. 3.6 for elderly walkers)")
            length = self.edge_weighted_length_m if way_factors else self.edge_length_m
            t = length / (speed_kmh / 3.6)
        return np.maximum(t, MIN_EDGE_TIME_S)

    def csr(self, edge_weight: np.ndarray) -> sparse.csr_matrix:
        """Directed adjacency matrix with one weight per edge, two-way edges in both directions.

        Parallel edges keep their smallest weight and self-loops are dropped, so scipy's
        shortest-path routines give the same times as networkx on the multigraph. The last few
        matrices are kept (by a hash of the weights): one analysis asks for the same one several
        times. Do not modify the matrix returned.
        """
        w = np.maximum(np.asarray(edge_weight, dtype=float), MIN_EDGE_TIME_S)
        digest = hashlib.blake2b(w.tobytes(), digest_size=16).digest()
        memo = self._csr_memo
        if digest in memo:
            return memo[digest]
        m = self._build_csr(w)
        memo[digest] = m
        while len(memo) > 4:
            memo.pop(next(iter(memo)))
        return m

    @cached_property
    def _csr_memo(self) -> dict[bytes, sparse.csr_matrix]:
        return {}

    def _build_csr(self, w: np.ndarray) -> sparse.csr_matrix:
        two = ~self.edge_oneway
        rows = np.concatenate([self.edge_u, self.edge_v[two]])
        cols = np.concatenate([self.edge_v, self.edge_u[two]])
        vals = np.concatenate([w, w[two]])
        keep = rows != cols
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        key = rows.astype(np.int64) * self.n_nodes + cols
        order = np.lexsort((vals, key))
        key, vals = key[order], vals[order]
        first = np.concatenate([[True], key[1:] != key[:-1]])
        key, vals = key[first], vals[first]
        return sparse.csr_matrix(
            (vals, (key // self.n_nodes, key % self.n_nodes)), shape=(self.n_nodes, self.n_nodes)
        )

    # -------------------------------------------------------------- geometry
    @cached_property
    def kdtree(self) -> cKDTree:
        """KD-tree of the node coordinates (metres)."""
        from scipy.spatial import cKDTree

        return cKDTree(np.column_stack([self.node_x, self.node_y]))

    def edge_lines(self) -> np.ndarray:
        """Shapely LineStrings of every edge, metres in `crs`."""
        coords = np.column_stack([self.geom_x, self.geom_y])
        idx = np.repeat(np.arange(self.n_edges), np.diff(self.geom_offsets))
        return shapely.linestrings(coords, indices=idx)

    @cached_property
    def _snap_index(self) -> tuple[cKDTree, np.ndarray, float]:
        """A KD-tree of points along every straight piece of every edge, each point's piece, and the reach.

        Each piece gets its two ends and evenly spaced points at most `SNAP_POINT_STEP_M` apart, so
        every point of a piece lies within the returned half-spacing (metres) of one of that piece's
        points. Plain arrays: a fraction of the memory of a tree of shapely segments.
        """
        from scipy.spatial import cKDTree

        seg_start, _, _ = self._seg_arrays
        x0, y0 = self.geom_x[seg_start], self.geom_y[seg_start]
        dx, dy = self.geom_x[seg_start + 1] - x0, self.geom_y[seg_start + 1] - y0
        seg_len = np.hypot(dx, dy)
        gaps = np.maximum(1, np.ceil(seg_len / SNAP_POINT_STEP_M)).astype(np.int64)
        count = gaps + 1  # both ends of the piece
        seg = np.repeat(np.arange(len(seg_start), dtype=np.int32), count)
        t = (np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)) / gaps[seg]
        pts = np.column_stack([x0[seg] + t * dx[seg], y0[seg] + t * dy[seg]])
        del t
        half = float(np.max(seg_len / gaps, initial=0.0)) / 2.0
        return cKDTree(pts, copy_data=False, balanced_tree=False), seg, half

    @cached_property
    def node_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Edges ending at each node, CSR-style: ``edges[ptr[v]:ptr[v+1]]`` touch node ``v``."""
        ends = np.concatenate([self.edge_u, self.edge_v])
        order = np.argsort(ends, kind="stable")
        ptr = np.searchsorted(ends[order], np.arange(self.n_nodes + 1))
        return ptr, np.concatenate([np.arange(self.n_edges), np.arange(self.n_edges)])[order]

    @cached_property
    def _sample_cache(self) -> dict[float, EdgeSamples]:
        return {}

    def edge_samples(self, step_m: float, *, edges: np.ndarray | None = None, cache: bool = True) -> EdgeSamples:
        """Points along every edge's geometry at most `step_m` metres apart, both ends included.

        Each straight piece of an edge gets ``ceil(length / step_m)`` evenly spaced points from
        its start; the edge's last point closes it. Samples are ordered by edge, then along it
        (``ptr[i]:ptr[i+1]`` are the samples of the i-th edge sampled).

        Parameters
        ----------
        step_m
            Largest spacing (metres).
        edges
            Sample only these edges (ascending indices; ``ptr`` then counts within them); their
            samples are those of the whole network's sampling, bit for bit.
        cache
            Keep the whole network's samples for the next call with this step (never for `edges`).
        """
        if edges is None and step_m in self._sample_cache:
            return self._sample_cache[step_m]
        if not (np.isfinite(step_m) and step_m > 0):
            raise NetworkError(f"step_m is {step_m!r}; give a sample spacing > 0 metres, e.g. 5")
        out = self._sample_edges(float(step_m), edges)
        if edges is None and cache:
            self._sample_cache[step_m] = out
        return out

    def _sample_edges(self, step_m: float, edges: np.ndarray | None) -> EdgeSamples:
        seg_start, seg_edge, seg_offset = self._seg_arrays
        if edges is None:
            edges = np.arange(self.n_edges)
            local = seg_edge  # each piece's edge, numbered among the edges sampled
        else:
            from network.arrays import ranges

            edges = np.asarray(edges, dtype=np.int64)
            n_pieces = np.diff(self.geom_offsets)[edges] - 1
            pieces = ranges(self.geom_offsets[edges] - edges, n_pieces)  # an edge's first piece: offset − edge
            seg_start, seg_edge, seg_offset = seg_start[pieces], seg_edge[pieces], seg_offset[pieces]
            local = np.repeat(np.arange(len(edges)), n_pieces)
        x0, y0 = self.geom_x[seg_start], self.geom_y[seg_start]
        dx, dy = self.geom_x[seg_start + 1] - x0, self.geom_y[seg_start + 1] - y0
        seg_len = np.hypot(dx, dy)
        per_seg = np.maximum(1, np.ceil(seg_len / step_m)).astype(np.int64)
        first = np.cumsum(per_seg) - per_seg  # each piece's first sample among the pieces' samples
        glen = self.edge_geom_length_m
        safe = np.where(glen > 0, glen, 1.0)
        # each edge's pieces' samples, then its end point: a piece sample's place is its index among
        # the pieces' samples plus its edge's number (one end point per edge before it)
        per_edge = np.bincount(local, weights=per_seg, minlength=len(edges)).astype(np.int64) + 1
        ptr = np.concatenate([[0], np.cumsum(per_edge)])
        n = int(ptr[-1])
        # int32 edges and float32 fractions (7 significant digits: 0.1 mm on a 1 km edge) keep a
        # million-node network's 18 M samples at 440 MB
        edge = np.empty(n, dtype=np.int32)
        x, y, frac = np.empty(n), np.empty(n), np.empty(n, dtype=np.float32)
        chunk = 131_072  # pieces at a time: the temporaries stay small (a few MB)
        for a in range(0, len(seg_start), chunk):
            b = min(len(seg_start), a + chunk)
            seg = np.repeat(np.arange(a, b), per_seg[a:b])
            k = np.arange(len(seg)) + first[a]
            t = (k - first[seg]) / per_seg[seg]
            s_edge = seg_edge[seg]
            pos = k + local[seg]
            edge[pos] = s_edge
            x[pos] = x0[seg] + t * dx[seg]
            y[pos] = y0[seg] + t * dy[seg]
            frac[pos] = np.clip((seg_offset[seg] + t * seg_len[seg]) / safe[s_edge], 0.0, 1.0)
        ends = ptr[1:] - 1
        last = self.geom_offsets[edges + 1] - 1
        edge[ends] = edges
        x[ends], y[ends] = self.geom_x[last], self.geom_y[last]
        frac[ends] = np.where(glen[edges] > 0, 1.0, 0.0)
        return EdgeSamples(edge=edge, fraction=frac, x=x, y=y, ptr=ptr)

    @cached_property
    def _seg_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every straight piece of every edge: its first point, its edge, its start offset along the edge."""
        n_pts = len(self.geom_x)
        starts = np.arange(n_pts - 1)
        is_last = np.zeros(n_pts, dtype=bool)
        is_last[self.geom_offsets[1:] - 1] = True
        seg_start = starts[~is_last[:-1]]
        seg_edge = np.repeat(np.arange(self.n_edges), np.diff(self.geom_offsets) - 1)
        seg_len = np.hypot(self.geom_x[seg_start + 1] - self.geom_x[seg_start],
                           self.geom_y[seg_start + 1] - self.geom_y[seg_start])
        cum = np.cumsum(seg_len)
        edge_first_seg = self.geom_offsets[:-1] - np.arange(self.n_edges)
        before = np.concatenate([[0.0], cum])[edge_first_seg]
        seg_offset = np.concatenate([[0.0], cum[:-1]]) - before[seg_edge]
        return seg_start, seg_edge, seg_offset

    @cached_property
    def edge_geom_length_m(self) -> np.ndarray:
        """Length of each edge's geometry in the projected CRS (metres)."""
        d = np.hypot(np.diff(self.geom_x), np.diff(self.geom_y))
        cum = np.concatenate([[0.0], np.cumsum(d)])
        return cum[self.geom_offsets[1:] - 1] - cum[self.geom_offsets[:-1]]

    def snap(self, x: Any, y: Any, *, max_distance_m: float = DEFAULT_SNAP_MAX_M) -> Snap:
        """Snap points to the nearest point on the nearest edge (not merely the nearest node).

        Parameters
        ----------
        x, y
            Point coordinates in this network's CRS (metres); see `to_xy`.
        max_distance_m
            Points farther than this from every edge are flagged ``off_network`` (they are
            still snapped, so callers can report how far off they are).
        """
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        if x.shape != y.shape:
            raise NetworkError(f"snap: x has {len(x)} values but y has {len(y)}; give one x and one y per point")
        # one run snaps the same points several times (ledger check, assessment, drawing): keep the last few
        h = hashlib.blake2b(digest_size=16)
        for a in (x, y, np.float64(max_distance_m)):
            h.update(np.ascontiguousarray(a).tobytes())
        key = h.digest()
        memo = self._snap_memo
        if key in memo:
            return memo[key]
        snapped = self._snap(x, y, max_distance_m)
        for a in (snapped.edge, snapped.offset_m, snapped.fraction, snapped.distance_m, snapped.x, snapped.y,
                  snapped.off_network):
            a.setflags(write=False)  # shared between callers: read-only
        memo[key] = snapped
        while len(memo) > 8:
            memo.pop(next(iter(memo)))
        return snapped

    @cached_property
    def _snap_memo(self) -> dict[bytes, Snap]:
        return {}

    def _snap(self, x: np.ndarray, y: np.ndarray, max_distance_m: float) -> Snap:
        n = len(x)
        if n == 0:
            e = np.zeros(0)
            return Snap(e.astype(np.int64), e, e, e, e, e, e.astype(bool), max_distance_m)
        if not np.all(np.isfinite(x) & np.isfinite(y)):
            raise NetworkError("snap: some points have missing or infinite coordinates; drop or fix them first")
        seg_start, seg_edge, seg_offset = self._seg_arrays
        # nearby points one after another (the tree's nodes stay in cache), in chunks (the candidates stay few)
        order = np.lexsort((np.floor(x / 500.0), np.floor(y / 500.0)))
        si = np.empty(n, dtype=np.int64)
        for a in range(0, n, SNAP_CHUNK):
            part = order[a:a + SNAP_CHUNK]
            si[part] = self._nearest_pieces(x[part], y[part])
        s = seg_start[si]
        ax, ay = self.geom_x[s], self.geom_y[s]
        bx, by = self.geom_x[s + 1], self.geom_y[s + 1]
        dx, dy = bx - ax, by - ay
        seg_len2 = dx * dx + dy * dy
        t = np.where(seg_len2 > 0, ((x - ax) * dx + (y - ay) * dy) / np.where(seg_len2 > 0, seg_len2, 1.0), 0.0)
        t = np.clip(t, 0.0, 1.0)
        px, py = ax + t * dx, ay + t * dy
        edge = seg_edge[si]
        offset = seg_offset[si] + t * np.sqrt(seg_len2)
        glen = self.edge_geom_length_m[edge]
        fraction = np.where(glen > 0, np.clip(offset / np.where(glen > 0, glen, 1.0), 0.0, 1.0), 0.0)
        distance = np.hypot(x - px, y - py)
        return Snap(edge=edge.astype(np.int64), offset_m=offset, fraction=fraction, distance_m=distance,
                    x=px, y=py, off_network=distance > max_distance_m, max_distance_m=float(max_distance_m))

    def _nearest_pieces(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The straight piece nearest to each point (ties to the lowest piece), exactly.

        The true nearest piece has a tree point within ``d + half`` of the query (``d`` the
        distance to the nearest tree point, ``half`` the largest half-spacing of `_snap_index`),
        so the pieces of the tree points in that ball hold it; their exact distances decide.
        """
        import itertools

        tree, piece_of, half = self._snap_index
        q = np.column_stack([x, y])
        dist, idx = tree.query(q, k=SNAP_NEIGHBOURS)
        dist, idx = dist.reshape(len(q), -1), idx.reshape(len(q), -1)
        reach = dist[:, 0] + half * (1 + 1e-9) + 1e-9
        inside = dist <= reach[:, None]
        best = np.empty(len(q), dtype=np.int64)
        few = np.flatnonzero(~inside[:, -1])
        which, col = np.nonzero(inside[few])
        best[few] = self._closest_piece(x[few], y[few], which, piece_of[idx[few][which, col]])
        more = np.flatnonzero(inside[:, -1])  # the ball may hold more tree points than were asked for
        if len(more):
            near = tree.query_ball_point(q[more], reach[more], return_sorted=False)
            lens = np.fromiter(map(len, near), np.int64, len(near))
            point = np.fromiter(itertools.chain.from_iterable(near), np.int64, int(lens.sum()))
            best[more] = self._closest_piece(x[more], y[more], np.repeat(np.arange(len(more)), lens),
                                             piece_of[point])
        return best

    def _closest_piece(self, x: np.ndarray, y: np.ndarray, which: np.ndarray, piece: np.ndarray) -> np.ndarray:
        """Per point, the nearest of its candidate pieces (``which`` ascending, every point has one)."""
        if len(x) == 0:
            return np.zeros(0, dtype=np.int64)
        seg_start = self._seg_arrays[0][piece]
        ax, ay = self.geom_x[seg_start], self.geom_y[seg_start]
        dx, dy = self.geom_x[seg_start + 1] - ax, self.geom_y[seg_start + 1] - ay
        qx, qy = x[which] - ax, y[which] - ay
        len2 = dx * dx + dy * dy
        t = np.clip(np.where(len2 > 0, (qx * dx + qy * dy) / np.where(len2 > 0, len2, 1.0), 0.0), 0.0, 1.0)
        dist2 = (qx - t * dx) ** 2 + (qy - t * dy) ** 2
        start = np.flatnonzero(np.concatenate([[True], which[1:] != which[:-1]]))
        nearest = np.minimum.reduceat(dist2, start)
        tied = np.where(dist2 == nearest[which], piece.astype(np.int64), np.iinfo(np.int64).max)
        return np.minimum.reduceat(tied, start)

    # ------------------------------------------------------------- summaries
    def summary(self) -> dict[str, Any]:
        """What a planner checks data with: sizes, length, components, what was dropped, bbox, CRS."""
        r = dict(self.report)
        r.update({
            "mode": self.mode,
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "directed_edges": self.n_directed_edges,
            "length_km": round(self.total_length_km, 3),
            "bbox_lonlat": [round(v, 6) for v in self.bbox_lonlat],
            "crs": self.crs,
        })
        return r

    # ------------------------------------------------------------ conversion
    def to_networkx(self, speed_kmh: float | None = None):
        """An osmnx-style MultiDiGraph (projected): node x/y/lon/lat, edge length, travel_time, geometry."""
        import networkx as nx

        G = nx.MultiDiGraph(crs=self.crs, mode=self.mode, simplified=True)
        for i in range(self.n_nodes):
            G.add_node(int(self.node_osmid[i]), x=float(self.node_x[i]), y=float(self.node_y[i]),
                       lon=float(self.node_lon[i]), lat=float(self.node_lat[i]))
        tt = self.travel_time_s(speed_kmh) if (speed_kmh or self.mode == "drive") else None
        lines = self.edge_lines()
        ids = self.node_osmid
        for i in range(self.n_edges):
            u, v = int(ids[self.edge_u[i]]), int(ids[self.edge_v[i]])
            attrs = {"osmid": int(self.edge_osmid[i]), "length": float(self.edge_length_m[i]),
                     "highway": self.highway_values[self.edge_highway[i]],
                     "oneway": bool(self.edge_oneway[i]), "geometry": lines[i]}
            if tt is not None:
                attrs["travel_time"] = float(tt[i])
            G.add_edge(u, v, **attrs, reversed=False)
            if not self.edge_oneway[i]:
                G.add_edge(v, u, **{**attrs, "geometry": lines[i].reverse()}, reversed=True)
        return G

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the network, for the cache (no pickles)."""
        out = {k: getattr(self, k) for k in _ARRAY_FIELDS}
        out["highway_values"] = np.array(self.highway_values, dtype=str)
        out["crs"] = np.array(self.crs)
        out["mode"] = np.array(self.mode)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], report: dict[str, Any]) -> CompactNetwork:
        """The network `arrays` wrote, after checking that the arrays fit together.

        Raises
        ------
        NetworkError
            An array is missing or has the wrong kind, length or range (a damaged cache entry).
        """
        problem = _arrays_problem(arrays)
        if problem is not None:
            raise NetworkError(f"network arrays: {problem}; rebuild the network from its OSM file")
        return cls(crs=str(arrays["crs"]), mode=str(arrays["mode"]),
                   highway_values=tuple(str(v) for v in arrays["highway_values"]),
                   report=dict(report), **{k: arrays[k] for k in _ARRAY_FIELDS})


_ARRAY_FIELDS = (
    "node_osmid", "node_x", "node_y", "node_lon", "node_lat", "edge_u", "edge_v", "edge_oneway",
    "edge_length_m", "edge_weighted_length_m", "edge_drive_time_s", "edge_highway", "edge_osmid",
    "geom_offsets", "geom_x", "geom_y",
)
# numpy dtype kind of each array: i integer, f float, b bool
_ARRAY_KINDS = {k: "f" for k in _ARRAY_FIELDS} | {
    "node_osmid": "i", "edge_u": "i", "edge_v": "i", "edge_oneway": "b", "edge_highway": "i",
    "edge_osmid": "i", "geom_offsets": "i",
}


def _arrays_problem(arrays: dict[str, np.ndarray]) -> str | None:
    """What is wrong with a set of network arrays (missing, kind, length, index range), or None."""
    missing = [k for k in (*_ARRAY_FIELDS, "highway_values", "crs", "mode") if k not in arrays]
    if missing:
        return f"missing {', '.join(missing)}"
    for k in _ARRAY_FIELDS:
        a = arrays[k]
        if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind != _ARRAY_KINDS[k]:
            return f"{k} is not a 1-D {dict(i='integer', f='float', b='bool')[_ARRAY_KINDS[k]]} array"
    if arrays["highway_values"].ndim != 1 or arrays["highway_values"].dtype.kind != "U":
        return "highway_values is not a 1-D array of strings"
    if arrays["crs"].shape != () or arrays["mode"].shape != () or str(arrays["mode"]) not in MODES:
        return "crs or mode is not a single known value"
    lengths = {
        "node": {k: len(arrays[k]) for k in _ARRAY_FIELDS if k.startswith("node_")},
        "edge": {k: len(arrays[k]) for k in _ARRAY_FIELDS if k.startswith("edge_")},
        "geometry point": {k: len(arrays[k]) for k in ("geom_x", "geom_y")},
    }
    for what, by_name in lengths.items():
        if len(set(by_name.values())) > 1:
            return f"the {what} arrays have different lengths ({by_name})"
    n_nodes, n_edges = len(arrays["node_x"]), len(arrays["edge_u"])
    off = arrays["geom_offsets"]
    if len(off) != n_edges + 1 or (n_edges and (off[0] != 0 or off[-1] != len(arrays["geom_x"])
                                                or np.any(np.diff(off) < 2))):
        return "geom_offsets do not split the geometry points into edges of 2 or more points"
    for k, n in (("edge_u", n_nodes), ("edge_v", n_nodes), ("edge_highway", len(arrays["highway_values"]))):
        a = arrays[k]
        if len(a) and (a.min() < 0 or a.max() >= n):
            return f"{k} refers to index {int(a.max() if a.max() >= n else a.min())} outside 0..{n - 1}"
    return None

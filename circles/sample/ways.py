"""The way store of the sample district: major lines (roads that collect junctions) and free ways.

Everything is drawn in the local metric frame (integer metres); `Ways.assemble` turns the
store into point lists and tags, `circles.sample.make_sample` into OSM-like ways.
"""

from __future__ import annotations

import numpy as np

from network.arrays import ranges

__all__ = ["T_FOOTWAY", "T_PATH", "T_SERVICE", "T_STEPS", "T_TRACK", "T_VILLAGE_ROAD", "Ways"]

# Shared tag dicts for the many unnamed ways (see `SampleDistrict.ways`).
T_SERVICE = {"highway": "service", "service": "driveway"}
T_FOOTWAY = {"highway": "footway"}
T_PATH = {"highway": "path"}
T_STEPS = {"highway": "steps"}
T_TRACK = {"highway": "track"}
T_VILLAGE_ROAD = {"highway": "residential"}


class Ways:
    """Collects the ways of the district in the metric frame (integer metres)."""

    def __init__(self) -> None:
        # major lines: axis-parallel roads; their nodes are their ends plus every junction on them
        self.orient: list[int] = []     # 0 horizontal (y = c), 1 vertical (x = c)
        self.c: list[int] = []
        self.lo: list[int] = []
        self.hi: list[int] = []
        self.reverse: list[bool] = []
        self.tags: list[dict[str, str]] = []
        self.attach_line: list[np.ndarray] = []
        self.attach_x: list[np.ndarray] = []
        self.attach_y: list[np.ndarray] = []
        # free ways: chunks of (x, y, points per way, tags per way)
        self.free: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, str]]]] = []

    def line(self, orient: int, c: int, lo: int, hi: int, tags: dict[str, str], *, reverse: bool = False) -> int:
        self.orient.append(orient)
        self.c.append(int(c))
        self.lo.append(int(lo))
        self.hi.append(int(hi))
        self.reverse.append(reverse)
        self.tags.append(tags)
        return len(self.c) - 1

    def attach(self, lines: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Put junction points (x, y) on major lines (they must lie on them)."""
        self.attach_line.append(np.asarray(lines, dtype=np.int64))
        self.attach_x.append(np.asarray(x, dtype=np.int64))
        self.attach_y.append(np.asarray(y, dtype=np.int64))

    def add_free(self, x: np.ndarray, y: np.ndarray, counts: np.ndarray, tags: list[dict[str, str]]) -> None:
        # int32 metres: ±2,147 km is plenty, and it halves the memory of the largest arrays
        self.free.append((np.asarray(x, np.int32), np.asarray(y, np.int32), np.asarray(counts, np.int64), tags))

    def _crossings(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (horizontal, vertical) pair of major lines that meet, including T-junctions."""
        orient = np.array(self.orient)
        c, lo, hi = np.array(self.c), np.array(self.lo), np.array(self.hi)
        h = np.flatnonzero(orient == 0)
        v = np.flatnonzero(orient == 1)
        order = h[np.argsort(c[h], kind="stable")]
        hc = c[order]
        first = np.searchsorted(hc, lo[v], "left")
        last = np.searchsorted(hc, hi[v], "right")
        n = last - first
        vi = np.repeat(v, n)
        hi_ = order[ranges(first, n)]
        keep = (lo[hi_] <= c[vi]) & (c[vi] <= hi[hi_])
        return hi_[keep], vi[keep]

    def assemble(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, str]]]:
        """All ways as (x, y, points per way, tags), major lines first; empties the store."""
        orient = np.array(self.orient)
        c, lo, hi = np.array(self.c), np.array(self.lo), np.array(self.hi)
        n_lines = len(c)
        ids = np.arange(n_lines)
        # ends of every line
        end_x = np.where(orient == 0, lo, c)
        end_y = np.where(orient == 0, c, lo)
        end2_x = np.where(orient == 0, hi, c)
        end2_y = np.where(orient == 0, c, hi)
        hh, vv = self._crossings()
        lines = np.concatenate([ids, ids, hh, vv, *self.attach_line])
        x = np.concatenate([end_x, end2_x, c[vv], c[vv], *self.attach_x])
        y = np.concatenate([end_y, end2_y, c[hh], c[hh], *self.attach_y])
        pos = np.where(orient[lines] == 0, x, y)
        on_line = np.where(orient[lines] == 0, y == c[lines], x == c[lines]) & (lo[lines] <= pos) & (pos <= hi[lines])
        if not on_line.all():  # a bug in the generator, not a user error
            raise RuntimeError("sample generator: a junction does not lie on its road")
        signed = np.where(np.array(self.reverse)[lines], -pos, pos)
        order = np.lexsort((signed, lines))
        lines, x, y, signed = lines[order], x[order], y[order], signed[order]
        dup = np.zeros(len(lines), dtype=bool)
        dup[1:] = (lines[1:] == lines[:-1]) & (signed[1:] == signed[:-1])
        lines, x, y = lines[~dup], x[~dup], y[~dup]
        counts = np.bincount(lines, minlength=n_lines)
        tags = list(self.tags)
        for f in self.free:
            tags.extend(f[3])
        cs = np.concatenate([counts, *(f[2] for f in self.free)])
        xs = np.concatenate([x.astype(np.int32), *(f[0] for f in self.free)])
        ys = np.concatenate([y.astype(np.int32), *(f[1] for f in self.free)])
        self.free.clear()
        return xs, ys, cs, tags

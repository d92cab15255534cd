"""Cell grids for drawing areas: points painted into cells, grown by a disc, traced into polygons.

Service areas (`circles.isochrones`) and gap areas (`circles.coverage.gap_areas`) are bands of a
fixed width around points (street samples, uncovered homes). Buffering every point and merging the
discs costs time in proportion to how much they overlap — minutes on a city. On a grid of
``cell`` metres the same band is a minimum filter with a disc-shaped window, and the outlines come
from GDAL's polygonizer: the cost is proportional to the area drawn, and the outline lies within
about one cell of the exact buffer (`band_radius_cells`). Display geometry only; nothing is
counted from it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import shapely

SIMPLIFY_CELLS = 0.75  # outlines follow cell edges, then are simplified by this many cells
STRIP_ROWS = 128  # rows filtered at a time: strips stay in the CPU cache and empty columns are skipped


@dataclass(frozen=True)
class Grid:
    """A north-up grid: cell ``(row, col)`` spans ``x0 + col·cell … x0 + (col+1)·cell`` and
    ``y1 − (row+1)·cell … y1 − row·cell`` (metres, the network's CRS)."""

    x0: float
    y1: float
    cell: float
    n_rows: int
    n_cols: int

    @classmethod
    def around(cls, x: np.ndarray, y: np.ndarray, cell: float, margin: float, *, max_cells: int) -> Grid:
        """The grid covering the points plus `margin` (see `Grid.covering`)."""
        return cls.covering(float(x.min()), float(y.min()), float(x.max()), float(y.max()), cell, margin,
                            max_cells=max_cells)

    @classmethod
    def covering(cls, xmin: float, ymin: float, xmax: float, ymax: float, cell: float, margin: float, *,
                 max_cells: int) -> Grid:
        """The grid covering a box plus `margin`, aligned to multiples of `cell`.

        When that would exceed `max_cells` cells, the cell grows (to a whole number of metres) until
        it fits: large windows are drawn more coarsely rather than slowly.
        """
        w = xmax - xmin + 2 * margin
        h = ymax - ymin + 2 * margin
        if (w / cell + 2) * (h / cell + 2) > max_cells:
            cell = float(math.ceil(cell * math.sqrt((w / cell + 2) * (h / cell + 2) / max_cells)))
        margin = max(margin, cell)
        x0 = math.floor((xmin - margin) / cell) * cell
        y1 = math.ceil((ymax + margin) / cell) * cell
        n_cols = int(math.ceil((xmax + margin - x0) / cell))
        n_rows = int(math.ceil((y1 - ymin + margin) / cell))
        return cls(x0, y1, cell, n_rows, n_cols)

    def flat_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the cell of each point in a raveled (row-major) grid."""
        inv = 1.0 / self.cell  # the points lie inside the grid, so truncation is the floor
        col = np.clip(((x - self.x0) * inv).astype(np.int64), 0, self.n_cols - 1)
        row = np.clip(((self.y1 - y) * inv).astype(np.int64), 0, self.n_rows - 1)
        return row * self.n_cols + col

    def paint_min(self, x: np.ndarray, y: np.ndarray, value: np.ndarray, empty: int) -> np.ndarray:
        """The grid with each cell holding the smallest `value` of the points in it (`empty` elsewhere)."""
        g = np.full(self.n_rows * self.n_cols, empty, dtype=value.dtype)
        np.minimum.at(g, self.flat_index(x, y), value)
        return g.reshape(self.n_rows, self.n_cols)

    @property
    def transform(self):
        from affine import Affine

        return Affine(self.cell, 0.0, self.x0, 0.0, -self.cell, self.y1)


def band_radius_cells(width_m: float, cell: float) -> float:
    """The disc radius (in cells) that draws a band of `width_m` around points painted into cells.

    Cells whose centre lies exactly `width_m` from a painted cell's centre stay out: a point sits
    anywhere in its cell but counts from the centre, and a drawn cell reaches half a cell beyond
    its own centre, so including them overshoots. On the Haidian extract (10 m cells, 50 m band)
    a disc of radius 5 drew the union 6.2 % too large (outline up to 24 m off the exact buffer);
    leaving out the cells at exactly 5 draws it 4.5 % too small, the outline within 12 m
    (tests/test_grid.py measures it).
    """
    return max(width_m / cell - 0.05, 0.5)


def disc_rectangles(radius_cells: float) -> list[tuple[int, int]]:
    """The digital disc of cell offsets within `radius_cells` as a union of centred rectangles.

    Returns ``(half_height, half_width)`` pairs: offset ``(dy, dx)`` is in the disc when
    ``dy² + dx² ≤ r²``, and the disc is the union of ``|dy| ≤ h, |dx| ≤ w`` over the pairs.
    """
    r2 = radius_cells * radius_cells
    rects: dict[int, int] = {}
    for dy in range(int(math.floor(radius_cells)) + 1):
        rects[math.isqrt(int(math.floor(r2 - dy * dy + 1e-9)))] = dy
    return [(h, w) for w, h in rects.items()]


def _sliding_min(a: np.ndarray, k: int, axis: int, empty: int) -> np.ndarray:
    """``out[i] = min(a[i − k//2 … i + k//2])`` along `axis` (k odd), `empty` beyond the edges."""
    if k == 1:
        return a
    r, n = k // 2, a.shape[axis]

    def sl(lo: int, hi: int) -> tuple[slice, slice]:
        return (slice(lo, hi), slice(None)) if axis == 0 else (slice(None), slice(lo, hi))

    shape = list(a.shape)
    shape[axis] = n + 2 * r
    m = np.full(shape, empty, a.dtype)
    m[sl(r, r + n)] = a
    w = 1
    while 2 * w <= k:  # m[i] = min over a window of w, doubling
        end = m.shape[axis]
        np.minimum(m[sl(0, end - w)], m[sl(w, end)], out=m[sl(0, end - w)])
        m = m[sl(0, end - w)]
        w *= 2
    return np.minimum(m[sl(0, n)], m[sl(k - w, k - w + n)])


def _disc_min_block(a: np.ndarray, rects: list[tuple[int, int]], empty: int) -> np.ndarray:
    out = None
    for h, w in rects:
        m = _sliding_min(_sliding_min(a, 2 * w + 1, 1, empty), 2 * h + 1, 0, empty)
        if out is None:
            out = m.copy() if m is a else m
        else:
            np.minimum(out, m, out=out)
    return out


def disc_min(g: np.ndarray, radius_cells: float, empty: int) -> np.ndarray:
    """Each cell's smallest value within `radius_cells` (a grey-scale erosion with a disc).

    Worked in strips of `STRIP_ROWS` rows, each cut to the columns that hold values: the strips
    stay in cache and the empty parts of the window cost nothing.
    """
    rects = disc_rectangles(radius_cells)
    r = max(max(h, w) for h, w in rects)
    out = np.full_like(g, empty)
    n = g.shape[0]
    filled_cols = g != empty
    for lo in range(0, n, STRIP_ROWS):
        a, b = max(0, lo - r), min(n, lo + STRIP_ROWS + r)
        cols = np.flatnonzero(filled_cols[a:b].any(axis=0))
        if len(cols) == 0:
            continue
        c0, c1 = max(0, cols[0] - r), min(g.shape[1], cols[-1] + r + 1)
        m = _disc_min_block(np.ascontiguousarray(g[a:b, c0:c1]), rects, empty)
        hi = min(lo + STRIP_ROWS, n)
        out[lo:hi, c0:c1] = m[lo - a:hi - a]
    return out


def polygons(labels: np.ndarray, grid: Grid, *, simplify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Outlines of the labelled cells (labels > 0), one (Multi)Polygon per label value.

    Returns ``(values, geometries)`` sorted by value. Outlines follow cell edges (4-connected
    regions; cells touching only at a corner stay separate polygons of one MultiPolygon) and are
    then simplified by `SIMPLIFY_CELLS` cells, which takes the stairs out of slanted edges (each
    outline on its own: neighbours may part or overlap by up to that much). GDAL's outlines are
    taken over in batches of about `TRACE_BATCH_POINTS` corners: its GeoJSON-like records (a
    Python tuple per corner) never pile up for a whole city.
    """
    from rasterio import features
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    # GDAL's in-memory mask dataset has no geotransform of its own; ours is passed explicitly
    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)

    if labels.dtype == np.int64:
        labels = labels.astype(np.int32)
    shapes = features.shapes(labels, mask=labels > 0, connectivity=4, transform=grid.transform)
    vals_parts: list[np.ndarray] = []
    geom_parts: list[np.ndarray] = []
    batch: list = []
    n_points = 0
    for shape in itertools.chain(shapes, [None]):
        if shape is not None:
            batch.append(shape)
            n_points += sum(len(r) for r in shape[0]["coordinates"])
            if n_points < TRACE_BATCH_POINTS:
                continue
        if batch:
            vals, parts = _traced_parts(batch, grid.cell if simplify else None)
            vals_parts.append(vals)
            geom_parts.append(parts)
        batch, n_points = [], 0
    if not vals_parts:
        return np.array([], dtype=np.int64), np.array([], dtype=object)
    vals, parts = np.concatenate(vals_parts), np.concatenate(geom_parts)
    order = np.argsort(vals, kind="stable")
    vals, parts = vals[order], parts[order]
    uniq, first = np.unique(vals, return_index=True)
    counts = np.diff(np.append(first, len(vals)))
    geoms = shapely.multipolygons(parts, indices=np.repeat(np.arange(len(uniq)), counts))
    single = counts == 1
    geoms[single] = parts[first[single]]
    return uniq, geoms


TRACE_BATCH_POINTS = 200_000


def _traced_parts(shapes: list, simplify_cell: float | None) -> tuple[np.ndarray, np.ndarray]:
    """GDAL's ``(geometry record, value)`` pairs as polygons, simplified by `SIMPLIFY_CELLS` cells
    when `simplify_cell` is given (the slivers that leaves dropped): ``(values, polygons)``."""
    rings = [r for g, _ in shapes for r in g["coordinates"]]
    ring_len = np.fromiter((len(r) for r in rings), np.int64, len(rings))
    ring_count = np.fromiter((len(g["coordinates"]) for g, _ in shapes), np.int64, len(shapes))
    coords = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(rings)), float,
                         2 * int(ring_len.sum())).reshape(-1, 2)
    del rings
    lr = shapely.linearrings(coords, indices=np.repeat(np.arange(len(ring_len)), ring_len))
    parts = shapely.polygons(lr, indices=np.repeat(np.arange(len(shapes)), ring_count))
    vals = np.fromiter((v for _, v in shapes), np.int64, len(shapes))
    if simplify_cell is None:
        return vals, parts
    parts = shapely.simplify(parts, SIMPLIFY_CELLS * simplify_cell, preserve_topology=False)
    bad = ~shapely.is_valid(parts)
    if bad.any():
        parts[bad] = shapely.make_valid(parts[bad])
    parts, which = shapely.get_parts(parts, return_index=True)
    vals = vals[which]
    poly = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)  # slivers simplified away go
    return vals[poly], parts[poly]


MOSAIC_COLS = 4096  # width of the sheet small windows are laid out on


def window_polygons(windows: list[tuple[np.ndarray, Grid]]) -> list[shapely.Geometry | None]:
    """The outline of each window's True cells (as `polygons` draws one label), in one GDAL call.

    Small windows cost GDAL more to set up than to trace: they are laid side by side on one sheet
    (rows of windows, one empty cell between them), traced together, and each outline is moved
    back to its own grid. Windows of different cell sizes go on separate sheets. None for a window
    with no cell set.
    """
    out: list[shapely.Geometry | None] = [None] * len(windows)
    by_cell: dict[float, list[int]] = {}
    for i, (_, grid) in enumerate(windows):
        by_cell.setdefault(grid.cell, []).append(i)
    for cell, idx in by_cell.items():
        # shelf packing: tallest first, left to right, a new shelf when the row is full
        idx = sorted(idx, key=lambda i: -windows[i][0].shape[0])
        place, row, col, shelf = {}, 0, 0, 0
        for i in idx:
            h, w = windows[i][0].shape
            if col and col + w > MOSAIC_COLS:
                row, col, shelf = row + shelf + 1, 0, 0
            place[i] = (row, col)
            col, shelf = col + w + 1, max(shelf, h)
        n_rows = row + shelf
        n_cols = max(place[i][1] + windows[i][0].shape[1] for i in idx)
        sheet = np.zeros((n_rows, n_cols), np.int32)
        for i in idx:
            r, c = place[i]
            mask = windows[i][0]
            sheet[r:r + mask.shape[0], c:c + mask.shape[1]][mask] = i + 1
        vals, geoms = polygons(sheet, Grid(0.0, 0.0, cell, n_rows, n_cols))
        for v, g in zip(vals.tolist(), geoms):
            i = v - 1
            r, c = place[i]
            grid = windows[i][1]
            shift = np.array([grid.x0 - c * cell, grid.y1 + r * cell])
            out[i] = shapely.transform(g, lambda xy, s=shift: xy + s)
    return out

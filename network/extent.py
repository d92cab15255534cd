"""The area a network's data covers: the morphological closing of its streets, on a raster."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import shapely

from network.compact import CompactNetwork
from network.errors import NetworkError, OutsideDataError

log = logging.getLogger(__name__)

MIN_CELL_M = 25.0
MAX_CELL_M = 50.0
MAX_CELLS = 4_000_000  # raster size cap: cells grow beyond MAX_CELL_M on very large areas


def data_extent(
    net: CompactNetwork,
    *,
    fill_m: float = 500.0,
    margin_m: float = 100.0,
    bounds: Sequence[float] | None = None,
) -> shapely.Polygon | shapely.MultiPolygon:
    """The area the network's data covers, in WGS84 lon/lat.

    Defined as the morphological closing of the network's edges: the streets grown by a disc
    of radius ``fill_m + margin_m``, then shrunk by a disc of radius `fill_m`. Gaps between
    streets narrower than about ``2 * fill_m`` (blocks, parks, small fields) are filled; the
    area reaches `margin_m` beyond the outermost streets; a lone road leaving the area adds
    only a corridor about ``2 * margin_m`` wide. It is not a bounding box nor a convex hull:
    an empty corner of the extract stays outside. The result is intersected with `bounds`,
    the box the OSM file declares, so road stubs that an openstreetmap.org export keeps past
    its box add nothing.

    Computed on a raster of square cells of 25-50 m (a third of `margin_m` within that
    range; coarser when the area needs more than `MAX_CELLS` cells) with Euclidean distance
    transforms, traced to polygons and simplified by one cell: edges are exact to about one
    cell.

    Parameters
    ----------
    net
        The network (any mode).
    fill_m
        Gaps up to about twice this wide (metres) are filled.
    margin_m
        How far the area reaches beyond the outermost streets (metres), > 0.
    bounds
        ``(min lon, min lat, max lon, max lat)`` in WGS84 degrees to clip the area to.
        Default: ``net.report["file_bounds"]`` (the box the OSM file declares, recorded by
        `load_network`); no clipping when that is absent or None.

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
        WGS84 lon/lat; a MultiPolygon when the data falls apart in pieces farther apart than
        about ``2 * (fill_m + margin_m)``.

    Raises
    ------
    NetworkError
        `fill_m`, `margin_m` or `bounds` are invalid.
    OutsideDataError
        The network lies entirely outside `bounds`.

    Examples
    --------
    >>> net = load_network("beijing_haidian_wudaokou.osm")  # doctest: +SKIP
    >>> area = data_extent(net)  # doctest: +SKIP
    >>> districts.clip(area)  # doctest: +SKIP
    """
    if not (math.isfinite(fill_m) and fill_m >= 0):
        raise NetworkError(f"fill_m is {fill_m!r}; give the gap-filling radius in metres, >= 0 (e.g. 500)")
    if not (math.isfinite(margin_m) and margin_m > 0):
        raise NetworkError(f"margin_m is {margin_m!r}; give the margin beyond the outermost streets in metres, > 0 (e.g. 100)")
    box = _check_bounds(net.report.get("file_bounds") if bounds is None else bounds)
    if net.n_edges == 0:
        raise OutsideDataError("the network has no edges, so its data covers no area; load a file with streets")

    streets, x0, y1, cell_m = _street_raster(net, pad_m=fill_m + margin_m, margin_m=margin_m)
    closed = _closing(streets, grow_cells=(fill_m + margin_m) / cell_m, shrink_cells=fill_m / cell_m)
    area = _trace(closed, x0, y1, cell_m).simplify(cell_m, preserve_topology=True)
    area = shapely.transform(area, lambda c: np.column_stack(net.to_lonlat(c[:, 0], c[:, 1])))
    if box is not None:
        area = shapely.intersection(area, shapely.box(*box))
    area = _polygonal(area)
    if area.is_empty:
        raise OutsideDataError(
            f"the network lies outside the bounds {list(box)}; check the bounds (min lon, min lat, max lon, max lat)"
        )
    return area


def _check_bounds(bounds: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if bounds is None:
        return None
    try:
        w, s, e, n = (float(v) for v in bounds)
    except (TypeError, ValueError):
        raise NetworkError(
            f"bounds {bounds!r} is not 4 numbers; give (min lon, min lat, max lon, max lat) in WGS84 degrees"
        ) from None
    if not (all(math.isfinite(v) for v in (w, s, e, n)) and -180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise NetworkError(
            f"bounds {bounds!r} is not a lon/lat box; give (min lon, min lat, max lon, max lat) with min < max"
        )
    return w, s, e, n


def _street_raster(net: CompactNetwork, *, pad_m: float, margin_m: float) -> tuple[np.ndarray, float, float, float]:
    """Cells that streets pass through, on a grid padded by `pad_m` plus two cells; cells of
    about a third of `margin_m` within 25-50 m, coarser when the grid would exceed `MAX_CELLS`.

    Returns the boolean grid (row 0 at the top), its top-left corner x0, y1 (metres) and the
    cell size (metres).
    """
    gx, gy = net.geom_x, net.geom_y
    width, height = float(gx.max() - gx.min()), float(gy.max() - gy.min())
    cell_m = min(max(margin_m / 3.0, MIN_CELL_M), MAX_CELL_M)  # the margin is 3 cells or more where it can be
    while True:  # at most a few rounds: the cell grows with the square root of the excess
        pad = pad_m + 2 * cell_m
        n_cells = ((width + 2 * pad) / cell_m + 1) * ((height + 2 * pad) / cell_m + 1)
        if n_cells <= MAX_CELLS:
            break
        cell_m = max(cell_m * 1.01, cell_m * math.sqrt(n_cells / MAX_CELLS))
    if cell_m > MAX_CELL_M:
        log.info("data extent: %.0f m cells to stay within %d cells", cell_m, MAX_CELLS)
    x0, y1 = float(gx.min()) - pad, float(gy.max()) + pad
    n_cols = int(math.ceil((width + 2 * pad) / cell_m)) + 1
    n_rows = int(math.ceil((height + 2 * pad) / cell_m)) + 1
    grid = np.zeros((n_rows, n_cols), dtype=bool)

    # every geometry point, plus points along each straight piece at most half a cell apart
    grid[((y1 - gy) // cell_m).astype(np.int64), ((gx - x0) // cell_m).astype(np.int64)] = True
    last = np.zeros(len(gx), dtype=bool)
    last[net.geom_offsets[1:] - 1] = True
    starts = np.flatnonzero(~last[:-1])
    dx, dy = gx[starts + 1] - gx[starts], gy[starts + 1] - gy[starts]
    steps = np.ceil(np.hypot(dx, dy) / (cell_m / 2)).astype(np.int64)
    long_pieces = np.flatnonzero(steps > 1)
    chunk = 200_000  # pieces at a time: the temporaries stay small on big networks
    for a in range(0, len(long_pieces), chunk):
        p = long_pieces[a:a + chunk]
        k = steps[p] - 1  # interior points of each piece
        piece = np.repeat(p, k)
        j = np.arange(len(piece)) - np.repeat(np.cumsum(k) - k, k) + 1
        t = j / steps[piece]
        px = gx[starts[piece]] + t * dx[piece]
        py = gy[starts[piece]] + t * dy[piece]
        grid[((y1 - py) // cell_m).astype(np.int64), ((px - x0) // cell_m).astype(np.int64)] = True
    return grid, x0, y1, cell_m


def _closing(streets: np.ndarray, *, grow_cells: float, shrink_cells: float) -> np.ndarray:
    """Grow `streets` by a disc of radius `grow_cells`, then shrink the result by `shrink_cells`."""
    from scipy import ndimage

    grown = ndimage.distance_transform_edt(~streets) <= grow_cells
    if shrink_cells <= 0:
        return grown
    # a cell's distance to the nearest cell outside `grown` is measured centre to centre; the
    # outline of `grown` lies half a cell before that centre
    return ndimage.distance_transform_edt(grown) > shrink_cells + 0.5


def _trace(cells: np.ndarray, x0: float, y1: float, cell_m: float) -> shapely.Geometry:
    """The True cells as polygons (metres): GDAL's polygonizer through rasterio."""
    from affine import Affine
    from rasterio import features
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    # GDAL's in-memory mask dataset has no geotransform of its own; ours is passed explicitly
    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)

    transform = Affine(cell_m, 0.0, x0, 0.0, -cell_m, y1)
    polys = [shapely.geometry.shape(g) for g, _ in
             features.shapes(cells.view(np.uint8), mask=cells, transform=transform, connectivity=4)]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def _polygonal(geom: shapely.Geometry) -> shapely.Polygon | shapely.MultiPolygon:
    """The polygons of `geom`, valid; lines or points left by an intersection are dropped."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (shapely.Polygon, shapely.MultiPolygon))]
    return shapely.union_all(parts) if parts else shapely.Polygon()

"""Service areas for display: the band of a fixed width around the street points reached in time.

Every edge is sampled every `SAMPLE_STEP_M` metres; a sample's time comes from the search's node
times (or directly from a facility on its edge), so partial edges end where the time runs out.
The band around the samples reached within T minutes is drawn on a grid of `AREA_CELL_M` cells
(`circles.grid`): rings, union and nearest-facility catchments of a category come from one grid.
Never used to count people (coverage counts demand units by their own network time); never a
convex hull (hulls overstate the reachable area by 37–79 % against buffered network edges).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.access import LocalSearches
from network.arrays import csr_gather, ranges
from circles.grid import Grid, band_radius_cells, disc_min, polygons, window_polygons
from network.compact import CompactNetwork, EdgeSamples, Snap

# Half-width (metres) of the band drawn around each reached street: the depth of the buildings and
# compound gates that front it (a GB 50180 residential block, 居住街坊, is 150–250 m across, so
# every point of it lies within about 50–100 m of a street). Display only.
AREA_WIDTH_M = 50.0
RING_MINUTES = (5.0, 10.0, 15.0)
MAX_FACILITY_AREAS = 100  # per category; beyond it only unions, rings and catchments are drawn (catchments
# already give each facility its share; a per-facility area costs ~6 ms)
# Grid cell of the drawing (metres): outlines lie within a cell of the exact band. A window larger
# than MAX_AREA_CELLS cells (20 × 20 km at 10 m) is drawn with coarser cells; each area records its
# cell in `cell_m`.
AREA_CELL_M = 10.0
MAX_AREA_CELLS = 4_000_000
SAMPLE_STEP_M = AREA_CELL_M / 2  # street sample spacing: every cell a street crosses gets a sample
# Two categories are drawn at once (two threads) only while their drawings together need less
# memory than this (MB, `_drawing_mb`); Porto's (63k nodes, 3.8M cells) are drawn one after the other.
PARALLEL_AREAS_MB = 100.0
SAMPLE_CHUNK = 262_144  # samples timed and painted at a time: the temporaries stay a few MB


def sample_minutes(net: CompactNetwork, samples: EdgeSamples, node_minutes: np.ndarray, node_owner: np.ndarray,
                   edge_min: np.ndarray, sources: Snap | None = None,
                   source_owner: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to each street sample and who reaches it first, from the node times of a search.

    A sample at fraction ``f`` of edge ``u–v`` is reached through ``u`` at ``t(u) + f·c`` or, on
    two-way edges, through ``v`` at ``t(v) + (1 − f)·c`` (``c`` the edge's minutes); a source
    point on the edge reaches it directly along the edge (forwards only on one-way edges).
    """
    n = len(samples)
    t = np.empty(n)
    owner = np.empty(n, dtype=np.int32)
    for lo in range(0, n, SAMPLE_CHUNK):  # in chunks: the temporaries stay small on big networks
        sl = slice(lo, lo + SAMPLE_CHUNK)
        e, f = samples.edge[sl], samples.fraction[sl].astype(float)
        c = edge_min[e]
        u, v = net.edge_u[e], net.edge_v[e]
        tu = node_minutes[u] + f * c
        tv = np.where(~net.edge_oneway[e], node_minutes[v] + (1.0 - f) * c, np.inf)
        np.minimum(tu, tv, out=t[sl])
        owner[sl] = np.where(tu <= tv, node_owner[u], node_owner[v])
    if sources is not None and len(sources):
        lo = np.searchsorted(samples.edge, sources.edge, side="left")
        hi = np.searchsorted(samples.edge, sources.edge, side="right")
        which = np.repeat(np.arange(len(sources)), hi - lo)
        idx = ranges(lo, hi - lo)
        d = samples.fraction[idx].astype(float) - sources.fraction[which]
        one = net.edge_oneway[sources.edge[which]]
        ts = np.where(one & (d < 0), np.inf, np.abs(d) * edge_min[sources.edge[which]])
        better = ts < t[idx]
        # several sources on one edge: the nearest wins (ties to the first)
        idx_b, ts_b, who = idx[better], ts[better], which[better]
        order = np.lexsort((who, ts_b, idx_b))
        first = np.unique(idx_b[order], return_index=True)[1]
        idx_b, ts_b, who = idx_b[order][first], ts_b[order][first], who[order][first]
        t[idx_b] = ts_b
        owner[idx_b] = source_owner[who] if source_owner is not None else who
    return t, owner


def _key_format(t_max: float, n_owners: int) -> tuple[int, type, int]:
    """Bits of the owner, integer type and empty value of the keys ``(time in 0.1 s) << bits | owner``."""
    bits = max(1, int(n_owners).bit_length())
    top = int(np.ceil(t_max * 600.0)) + 1
    dtype = np.int32 if (top << bits) < np.iinfo(np.int32).max else np.int64
    return bits, dtype, int(np.iinfo(dtype).max)


def _time_keys(t: np.ndarray, owner: np.ndarray, bits: int, dtype: type) -> np.ndarray:
    """One sortable integer per sample: the smallest is the earliest time, ties to the lowest owner."""
    tq = np.ceil(t * 600.0 - 1e-6).astype(np.int64)  # a sample at exactly T minutes stays inside
    return ((tq << bits) | owner).astype(dtype)


def _paint_band(samples: EdgeSamples, t: np.ndarray, owner: np.ndarray, n_owners: int, limit: float,
                width_m: float, cell_m: float) -> tuple[np.ndarray, Grid, int, int] | None:
    """The band of `width_m` around the samples reached within `limit` minutes, on a grid.

    Returns ``(keys, grid, bits, empty)``: each cell's smallest key ``(time in 0.1 s) << bits |
    owner`` within the band (`empty` outside), or None when no sample is reached. The samples are
    painted in chunks (a million-node network has 18 M of them).
    """
    keep = t <= limit
    if not keep.any():
        return None
    chunks = [slice(lo, lo + SAMPLE_CHUNK) for lo in range(0, len(t), SAMPLE_CHUNK)]
    box = np.array([np.inf, np.inf, -np.inf, -np.inf])
    for sl in chunks:
        k = keep[sl]
        if k.any():
            x, y = samples.x[sl][k], samples.y[sl][k]
            box = np.minimum(box, [x.min(), y.min(), np.inf, np.inf])
            box = np.maximum(box, [-np.inf, -np.inf, x.max(), y.max()])
    bits, dtype, empty = _key_format(float(np.max(t, where=keep, initial=0.0)), n_owners)
    grid = Grid.covering(*box.tolist(), cell_m, width_m, max_cells=MAX_AREA_CELLS)
    painted = np.full(grid.n_rows * grid.n_cols, empty, dtype=dtype)
    for sl in chunks:
        k = keep[sl]
        if k.any():
            np.minimum.at(painted, grid.flat_index(samples.x[sl][k], samples.y[sl][k]),
                          _time_keys(t[sl][k], owner[sl][k], bits, dtype))
    painted = painted.reshape(grid.n_rows, grid.n_cols)
    return disc_min(painted, band_radius_cells(width_m, grid.cell), empty), grid, bits, empty


def _draw(samples: EdgeSamples, t: np.ndarray, owner: np.ndarray, n_owners: int, steps: list[float], width_m: float,
          cell_m: float, *, catchments: bool) -> tuple[list[dict], float]:
    """Rings, union and (optionally) catchments of the samples reached within ``steps[-1]`` minutes."""
    painted = _paint_band(samples, t, owner, n_owners, steps[-1], width_m, cell_m)
    if painted is None:
        return [], cell_m
    band_key, grid, bits, empty = painted
    # ring i: the cells first reached within steps[i] minutes, i.e. keys below (steps[i] in 0.1 s + 1) << bits
    band = np.zeros(band_key.shape, np.uint8)
    for i in range(len(steps) - 1, -1, -1):
        band[band_key < min((int(round(steps[i] * 600)) + 1) << bits, empty)] = i + 1
    filled = (band_key != empty).view(np.uint8)
    who = None
    if catchments:
        who = np.where(filled, (band_key & ((1 << bits) - 1)) + 1, 0).astype(np.int32)
        who[who > n_owners] = 0  # reached from a facility that is not drawn
    del band_key  # the small grids below are all the tracing needs
    rows = []
    vals, geoms = polygons(band, grid)
    del band
    for v, g in zip(vals, geoms):
        i = int(v) - 1
        rows.append({"kind": "ring", "minutes": steps[i], "minutes_from": steps[i - 1] if i else 0.0,
                     "facility": -1, "geometry": g})
    _, union = polygons(filled, grid)
    del filled
    rows.insert(0, {"kind": "union", "minutes": steps[-1], "minutes_from": 0.0, "facility": -1,
                    "geometry": union[0] if len(union) else shapely.Polygon()})
    if who is not None:
        vals, geoms = polygons(who, grid)
        rows.extend({"kind": "catchment", "minutes": steps[-1], "minutes_from": 0.0, "facility": int(v) - 1,
                     "geometry": g} for v, g in zip(vals, geoms))
    return rows, grid.cell


def service_areas(
    net: CompactNetwork,
    facility_snaps: Snap,
    edge_cost_s: np.ndarray,
    *,
    minutes: float,
    node_minutes: np.ndarray,
    node_facility: np.ndarray,
    category: str,
    tier: str | None = None,
    rings: Sequence[float] = RING_MINUTES,
    width_m: float = AREA_WIDTH_M,
    per_facility: bool = True,
    facility_index: np.ndarray | None = None,
    cell_m: float = AREA_CELL_M,
    samples: EdgeSamples | None = None,
) -> gpd.GeoDataFrame:
    """Service areas of one category: union, rings, nearest-facility catchments, per-facility areas.

    Every area is the band of `width_m` around the street points reached in time (partial edges
    included), drawn on a grid of `cell_m` (see `circles.grid`): never a hull.

    Parameters
    ----------
    net
        The network the category's facilities are reached on.
    facility_snaps
        The category's facilities snapped onto `net`.
    edge_cost_s
        Travel time of each edge (seconds) at the category's speed.
    minutes
        The category's threshold (minutes).
    node_minutes, node_facility
        Result of the multi-source search from all the category's facilities (minutes to the
        nearest facility, and which one, per node): the union, rings and catchments need no other
        search.
    rings
        Ring thresholds (minutes); those above `minutes` are dropped and `minutes` is added.
    width_m
        Half-width of the band drawn around each reached street (metres), see `AREA_WIDTH_M`.
    per_facility
        Also draw each facility's own (overlapping) area, up to `MAX_FACILITY_AREAS` facilities:
        one truncated search per facility.
    facility_index
        Row of each snapped facility in the report's facility table (default 0..n-1); the
        ``facility`` column and `node_facility` use these rows.
    cell_m
        Grid cell (metres); windows above `MAX_AREA_CELLS` cells use coarser cells.
    samples
        The network's street samples at `sample_step_m` (default: ``net.edge_samples``, kept by
        the network); `report_service_areas` makes them once for all categories and lets them go.

    Returns
    -------
    GeoDataFrame
        WGS84, columns ``kind`` (``union``, ``ring``, ``catchment``, ``facility_area``),
        ``category``, ``tier``, ``minutes``, ``minutes_from`` (rings), ``facility``, ``area_km2``,
        ``cell_m`` (the grid cell the area was drawn on).
    """
    fidx = np.arange(len(facility_snaps)) if facility_index is None else np.asarray(facility_index)
    edge_min = np.asarray(edge_cost_s, float) / 60.0
    if len(facility_snaps) == 0:
        return _frame([], net)
    steps = sorted({float(r) for r in rings if r < minutes} | {float(minutes)})
    # owners as positions 0..n-1 in fidx; nodes reached from facilities not drawn get n
    local = np.full(max(int(fidx.max()), int(np.max(node_facility, initial=-1))) + 2, len(fidx), dtype=np.int64)
    local[fidx] = np.arange(len(fidx))
    node_owner = local[np.where(node_facility >= 0, node_facility, len(local) - 1)]
    if samples is None:
        samples = net.edge_samples(sample_step_m(net, width_m, cell_m))
    t, owner = sample_minutes(net, samples, node_minutes, node_owner, edge_min, facility_snaps)
    rows, cell = _draw(samples, t, owner, len(fidx), steps, width_m, cell_m, catchments=True)
    del t, owner
    for r in rows:
        r["cell_m"] = cell
        if r["kind"] == "catchment":
            r["facility"] = int(fidx[r["facility"]])
    if per_facility and len(facility_snaps) <= MAX_FACILITY_AREAS:
        rows.extend(_facility_areas(net, facility_snaps, np.asarray(edge_cost_s, float), float(minutes), fidx, width_m,
                                    cell_m))
    for r in rows:
        r["category"], r["tier"] = category, tier
    return _frame(rows, net)


def sample_step_m(net: CompactNetwork, width_m: float = AREA_WIDTH_M, cell_m: float = AREA_CELL_M) -> float:
    """Street sample spacing: half the grid cell the whole network would be drawn on (at least `SAMPLE_STEP_M`).

    Every cell a street crosses gets a sample; on a metro-sized network drawn with coarser cells
    (Porto: 21 m) sampling every 5 m would only paint the same cells several times.
    """
    if net.n_nodes == 0:
        return SAMPLE_STEP_M
    return max(SAMPLE_STEP_M, _network_grid(net, width_m, cell_m).cell / 2.0)


def _network_grid(net: CompactNetwork, width_m: float, cell_m: float = AREA_CELL_M) -> Grid:
    """The grid the whole network would be drawn on: a category's drawing never needs a larger one."""
    x, y = net.geom_x, net.geom_y
    return Grid.covering(float(x.min()), float(y.min()), float(x.max()), float(y.max()), cell_m, width_m,
                         max_cells=MAX_AREA_CELLS)


def _drawing_mb(net: CompactNetwork, samples: EdgeSamples, width_m: float) -> float:
    """About the most memory one category's drawing holds at once (MB): per sample its time and owner,
    per cell the painted keys, the filtered keys and the traced labels (12 bytes each)."""
    grid = _network_grid(net, width_m)
    return 12.0 * (len(samples) + grid.n_rows * grid.n_cols) / 1e6


def _facility_areas(net, snaps: Snap, edge_cost_s, limit_min, fidx, width_m, cell_m) -> list[dict]:
    """Each facility's own area: one truncated search per facility, on the streets it can reach."""
    local = LocalSearches(net, edge_cost_s, limit_min * 60.0)
    edge_min = edge_cost_s / 60.0
    inc_ptr, inc_edge = net.node_edges
    node_min = np.full(net.n_nodes, np.inf)  # filled and cleared per facility
    no_owner = np.zeros(net.n_nodes, dtype=np.int64)
    windows: list[tuple[int, np.ndarray, Grid]] = []
    for part, nodes, dist in local.chunks(snaps):
        for k, i in enumerate(part.tolist()):
            one = snaps.take(np.array([i]))
            finite = np.isfinite(dist[k])
            reached = nodes[finite]
            node_min[reached] = dist[k][finite] / 60.0
            edges = np.unique(np.concatenate([csr_gather(inc_ptr, inc_edge, reached), one.edge]))
            sub = net.edge_samples(SAMPLE_STEP_M, edges=edges)  # the reached streets only
            t, _ = sample_minutes(net, sub, node_min, no_owner, edge_min, one)
            node_min[reached] = np.inf
            painted = _paint_band(sub, t, np.zeros(len(t), np.int64), 1, limit_min, width_m, cell_m)
            if painted is not None:
                band_key, grid, _, empty = painted
                windows.append((int(fidx[i]), band_key != empty, grid))
    # every window traced in one polygonizer call (GDAL's per-call cost dominated small windows)
    outlines = window_polygons([(mask, grid) for _, mask, grid in windows])
    rows = [{"kind": "facility_area", "minutes": limit_min, "minutes_from": 0.0, "facility": f, "cell_m": grid.cell,
             "geometry": g} for (f, _, grid), g in zip(windows, outlines) if g is not None]
    rows.sort(key=lambda r: r["facility"])
    return rows


def _frame(rows: list[dict], net: CompactNetwork) -> gpd.GeoDataFrame:
    cols = ["kind", "category", "tier", "minutes", "minutes_from", "facility", "area_km2", "cell_m", "geometry"]
    if not rows:
        return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs="EPSG:4326")
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs=net.crs)
    g["area_km2"] = (g.geometry.area / 1e6).round(4)
    return g.to_crs("EPSG:4326")[cols]


def drawing_record(areas: gpd.GeoDataFrame | None) -> dict:
    """How the service areas were drawn, for summary.json: band half-width, grid cells, sample step."""
    cells = sorted({float(c) for c in areas["cell_m"].dropna()}) if areas is not None and len(areas) else []
    return {"band_m": AREA_WIDTH_M, "cell_m": cells,
            "sample_step_m": max(SAMPLE_STEP_M, max(cells) / 2.0) if cells else SAMPLE_STEP_M,
            "facility_areas_up_to": MAX_FACILITY_AREAS}


def report_service_areas(report, nets, *, per_facility: bool = True, width_m: float = AREA_WIDTH_M,
                         workers: int | None = None) -> gpd.GeoDataFrame:
    """Service areas of every category of a `CoverageReport` (on each category's first-tier network).

    Categories are drawn in `workers` threads (default: 2 while two drawings together need less than
    `PARALLEL_AREAS_MB`, else 1): the grid filters and GDAL's polygonizer release the GIL, so on two
    cores three categories take about two categories' time; a city's grids are large, and drawn one
    after the other its peak memory stays well lower.
    """
    fac = report.facilities
    jobs = []
    for res in report.categories:
        cat = report.profile.category(res.category)
        main = cat.tiers[0]
        net = nets["walk"] if main.mode in ("walk", "bike") and "walk" in nets else nets[main.mode]
        tiers = [t.id for t in cat.tiers if t.mode == main.mode]
        tier_col = fac["tier"].where(fac["tier"].notna(), cat.tiers[-1].id) if "tier" in fac else None
        sel = np.flatnonzero((fac["category"] == res.category).to_numpy() & tier_col.isin(tiers).to_numpy())
        if len(sel) == 0 or res.category not in report.node_minutes:
            continue
        jobs.append((res, main, net, sel))
    samples: dict[int, EdgeSamples] = {}
    for _, _, net, _ in jobs:  # shared per network: made once, before the threads, let go after the drawing
        if id(net) not in samples:
            samples[id(net)] = net.edge_samples(sample_step_m(net, width_m), cache=False)
        net.node_edges

    def draw(job) -> gpd.GeoDataFrame:
        res, main, net, sel = job
        mode = "walk" if main.mode in ("walk", "bike") and "walk" in nets else main.mode
        kept = report.facility_snaps.get(mode)
        if kept is not None and len(kept) == len(fac):
            snaps = kept.take(sel)  # snapped once, by the assessment
        else:
            x, y = net.to_xy(fac["lon"].to_numpy(float)[sel], fac["lat"].to_numpy(float)[sel])
            snaps = net.snap(x, y)
        speed = None if main.mode == "drive" else (report.plain_speed_kmh or main.speed_kmh)
        cost = net.travel_time_s(speed, way_factors=report.plain_speed_kmh is None) if speed else net.travel_time_s()
        return service_areas(net, snaps, cost, minutes=res.minutes, node_minutes=report.node_minutes[res.category],
                             node_facility=report.node_facility[res.category], category=res.category,
                             per_facility=per_facility, facility_index=sel, width_m=width_m,
                             samples=samples[id(net)])

    n = min(len(jobs), workers or 2)
    if workers is None and n > 1 and n * max(_drawing_mb(j[2], samples[id(j[2])], width_m) for j in jobs) \
            > PARALLEL_AREAS_MB:
        n = 1  # a city: one category after the other, so the grids of two never sit in memory together
    if n > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="circles-areas") as pool:
            frames = list(pool.map(draw, jobs))
    else:
        frames = [draw(j) for j in jobs]
    del samples
    if not frames:
        return _frame([], None)
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326")
    # the facility's name next to its row number, for whoever opens isochrones.geojson in QGIS
    names = fac["name"].astype(object).where(fac["name"].notna(), None).to_numpy() if "name" in fac else None
    k = out["facility"].to_numpy(int)
    named = (k >= 0) & (names is not None)
    out.insert(out.columns.get_loc("facility") + 1, "facility_name",
               [names[i] if ok else None for i, ok in zip(k, named)] if names is not None else None)
    return out

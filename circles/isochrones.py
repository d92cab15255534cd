"""Service areas for display: reached street pieces (partial edges included) buffered by a fixed width.

Never used to count people (coverage counts demand units by their own network time); never a
convex hull (hulls overstate the reachable area by 37–79 % against buffered network edges).
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.sparse import csgraph

from circles.access import _source_graph
from network.compact import MIN_EDGE_TIME_S, CompactNetwork, Snap

# Half-width (metres) of the band drawn around each reached street: the depth of the buildings and
# compound gates that front it (a GB 50180 residential block, 居住街坊, is 150–250 m across, so
# every point of it lies within about 50–100 m of a street). Display only.
AREA_WIDTH_M = 50.0
RING_MINUTES = (5.0, 10.0, 15.0)
MAX_FACILITY_AREAS = 400  # per category; beyond it only unions, rings and catchments are drawn


FROM_U, FROM_V, WHOLE = -1, -2, -3


def reached_pieces(net: CompactNetwork, node_cost: np.ndarray, edge_cost: np.ndarray, limit: float,
                   sources: Snap | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fractions of edges reachable within `limit` (same unit as the costs).

    Returns ``(edge, start, end, origin)`` arrays: edge ``edge[i]`` is reached from fraction
    ``start[i]`` to ``end[i]`` of its geometry (0 = its `u` end); ``origin`` says from where:
    `FROM_U`, `FROM_V`, `WHOLE` (reached from both ends so that the parts meet), or the index of
    the source point on that edge (reached from the source in both directions; one on one-way
    edges).
    """
    c = np.maximum(edge_cost, MIN_EDGE_TIME_S)
    tu, tv = node_cost[net.edge_u], node_cost[net.edge_v]
    two = ~net.edge_oneway
    ru = np.where(tu <= limit, np.clip((limit - tu) / c, 0, 1), 0.0)
    rv = np.where((tv <= limit) & two, np.clip((limit - tv) / c, 0, 1), 0.0)
    full = ru + rv >= 1
    e_all = np.arange(net.n_edges)
    pu = ~full & (ru > 0)
    pv = ~full & (rv > 0)
    parts = [(e_all[full], np.zeros(full.sum()), np.ones(full.sum()), np.full(full.sum(), WHOLE)),
             (e_all[pu], np.zeros(pu.sum()), ru[pu], np.full(pu.sum(), FROM_U)),
             (e_all[pv], 1 - rv[pv], np.ones(pv.sum()), np.full(pv.sum(), FROM_V))]
    if sources is not None and len(sources):
        e = sources.edge
        reach = limit / c[e]
        lo = np.where(two[e], np.clip(sources.fraction - reach, 0, 1), sources.fraction)
        hi = np.clip(sources.fraction + reach, 0, 1)
        parts.append((e, lo, hi, np.arange(len(e))))
    edge, start, end, origin = (np.concatenate([p[k] for p in parts]) for k in range(4))
    keep = end > start
    return edge[keep], start[keep], end[keep], origin[keep]


def piece_lines(net: CompactNetwork, edge: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """LineStrings (metres) of edge pieces given as fractions of each edge's geometry."""
    lines = net.edge_lines()[edge]
    whole = (start <= 0) & (end >= 1)
    out = lines.copy()
    part = np.flatnonzero(~whole)
    if len(part):
        glen = net.edge_geom_length_m[edge[part]]
        out[part] = [shapely.ops.substring(lines[i], s * g, e * g)
                     for i, s, e, g in zip(part, start[part], end[part], glen)]
    return out


def _area(lines: np.ndarray, width_m: float) -> shapely.Geometry:
    if len(lines) == 0:
        return shapely.Polygon()
    # buffering each piece and a cascaded union is ~70x faster in GEOS than buffering one
    # MultiLineString (measured on the sample: 0.24 s against 18 s for the whole network)
    return shapely.union_all(shapely.buffer(lines, width_m, quad_segs=1))


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
) -> gpd.GeoDataFrame:
    """Service areas of one category: union, rings, nearest-facility catchments, per-facility areas.

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
        nearest facility, and which one, per node): the union and rings need no other search.
    rings
        Ring thresholds (minutes); those above `minutes` are dropped and `minutes` is added.
    width_m
        Half-width of the band drawn around each reached street (metres), see `AREA_WIDTH_M`.
    per_facility
        Also draw each facility's own (overlapping) area: one truncated search per facility.
    facility_index
        Row of each snapped facility in the report's facility table (default 0..n-1).

    Returns
    -------
    GeoDataFrame
        WGS84, columns ``kind`` (``union``, ``ring``, ``catchment``, ``facility_area``),
        ``category``, ``tier``, ``minutes``, ``minutes_from`` (rings), ``facility``, ``area_km2``.
    """
    fidx = np.arange(len(facility_snaps)) if facility_index is None else np.asarray(facility_index)
    edge_min = np.asarray(edge_cost_s, float) / 60.0
    rows: list[dict] = []
    if len(facility_snaps) == 0:
        return _frame(rows, net)
    steps = sorted({float(r) for r in rings if r < minutes} | {float(minutes)})
    prev = shapely.Polygon()
    for t in steps:
        e, s, f, _ = reached_pieces(net, node_minutes, edge_min, t, facility_snaps)
        area = _area(piece_lines(net, e, s, f), width_m)
        if t == float(minutes):
            rows.append({"kind": "union", "minutes": t, "minutes_from": 0.0, "facility": -1, "geometry": area})
        rows.append({"kind": "ring", "minutes": t, "minutes_from": steps[steps.index(t) - 1] if t != steps[0] else 0.0,
                     "facility": -1, "geometry": area.difference(prev) if not prev.is_empty else area})
        prev = area
    rows.extend(_catchments(net, node_minutes, node_facility, edge_min, float(minutes), facility_snaps, fidx, width_m))
    if per_facility and len(facility_snaps) <= MAX_FACILITY_AREAS:
        rows.extend(_facility_areas(net, facility_snaps, np.asarray(edge_cost_s, float), float(minutes), fidx, width_m))
    for r in rows:
        r["category"], r["tier"] = category, tier
    return _frame(rows, net)


def _catchments(net, node_minutes, node_facility, edge_min, limit, snaps, fidx, width_m) -> list[dict]:
    """Each facility's share of the union: the streets it is the nearest facility for."""
    e, s, f, origin = reached_pieces(net, node_minutes, edge_min, limit, snaps)
    fu, fv = node_facility[net.edge_u[e]], node_facility[net.edge_v[e]]
    owner = np.where(origin == FROM_V, fv, fu)
    owner = np.where((origin == WHOLE) & (fu < 0), fv, owner)
    owner = np.where(origin >= 0, fidx[np.maximum(origin, 0)], owner)
    # whole edges reached from two different facilities split where the two searches meet
    tu, tv = node_minutes[net.edge_u[e]], node_minutes[net.edge_v[e]]
    c = np.maximum(edge_min[e], MIN_EDGE_TIME_S)
    meet = np.clip((tv - tu + c) / (2 * c), 0, 1)
    split = (origin == WHOLE) & (fu != fv) & (fu >= 0) & (fv >= 0)
    edge = np.concatenate([e[~split], e[split], e[split]])
    start = np.concatenate([s[~split], s[split], meet[split]])
    end = np.concatenate([f[~split], meet[split], f[split]])
    owner = np.concatenate([owner[~split], fu[split], fv[split]])
    lines = piece_lines(net, edge, start, end)
    rows = []
    for k in np.unique(owner[owner >= 0]):
        rows.append({"kind": "catchment", "minutes": limit, "minutes_from": 0.0, "facility": int(k),
                     "geometry": _area(lines[owner == k], width_m)})
    return rows


def _facility_areas(net, snaps: Snap, edge_cost_s, limit_min, fidx, width_m, chunk: int = 64) -> list[dict]:
    """Each facility's own area: one truncated search per facility, in chunks."""
    graph = _source_graph(net, snaps, edge_cost_s)
    n = net.n_nodes
    edge_min = edge_cost_s / 60.0
    rows = []
    for lo in range(0, len(snaps), chunk):
        idx = np.arange(lo, min(lo + chunk, len(snaps)))
        dist = csgraph.dijkstra(graph, directed=True, indices=n + idx, limit=limit_min * 60.0)[:, :n] / 60.0
        for k, i in enumerate(idx):
            one = Snap(snaps.edge[i:i + 1], snaps.offset_m[i:i + 1], snaps.fraction[i:i + 1], snaps.distance_m[i:i + 1],
                       snaps.x[i:i + 1], snaps.y[i:i + 1], snaps.off_network[i:i + 1], snaps.max_distance_m)
            e, s, f, _ = reached_pieces(net, dist[k], edge_min, limit_min, one)
            rows.append({"kind": "facility_area", "minutes": limit_min, "minutes_from": 0.0, "facility": int(fidx[i]),
                         "geometry": _area(piece_lines(net, e, s, f), width_m)})
    return rows


def _frame(rows: list[dict], net: CompactNetwork) -> gpd.GeoDataFrame:
    cols = ["kind", "category", "tier", "minutes", "minutes_from", "facility", "area_km2", "geometry"]
    if not rows:
        return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs="EPSG:4326")
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs=net.crs)
    g["area_km2"] = (g.geometry.area / 1e6).round(4)
    return g.to_crs("EPSG:4326")[cols]


def report_service_areas(report, nets, *, per_facility: bool = True, width_m: float = AREA_WIDTH_M) -> gpd.GeoDataFrame:
    """Service areas of every category of a `CoverageReport` (on each category's first-tier network)."""
    frames = []
    fac = report.facilities
    for res in report.categories:
        cat = report.profile.category(res.category)
        main = cat.tiers[0]
        net = nets["walk"] if main.mode in ("walk", "bike") and "walk" in nets else nets[main.mode]
        tiers = [t.id for t in cat.tiers if t.mode == main.mode]
        tier_col = fac["tier"].where(fac["tier"].notna(), cat.tiers[-1].id) if "tier" in fac else None
        sel = np.flatnonzero((fac["category"] == res.category).to_numpy() & tier_col.isin(tiers).to_numpy())
        if len(sel) == 0 or res.category not in report.node_minutes:
            continue
        x, y = net.to_xy(fac["lon"].to_numpy(float)[sel], fac["lat"].to_numpy(float)[sel])
        snaps = net.snap(x, y)
        speed = None if main.mode == "drive" else (report.plain_speed_kmh or main.speed_kmh)
        cost = net.travel_time_s(speed, way_factors=report.plain_speed_kmh is None) if speed else net.travel_time_s()
        frames.append(service_areas(net, snaps, cost, minutes=res.minutes, node_minutes=report.node_minutes[res.category],
                                    node_facility=report.node_facility[res.category], category=res.category,
                                    per_facility=per_facility, facility_index=sel, width_m=width_m))
    if not frames:
        return _frame([], None)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326")

"""Build a compact, simplified, projected network from raw OSM ways, in numpy (no per-node Python objects)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from network.arrays import ranges
from network.errors import NetworkError, OutsideDataError
from network.compact import CompactNetwork
from network.modes import CLASS_SPEED_MODES, ModeRules
from network.raw import RawWays

log = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_009.0  # as osmnx.distance


def utm_crs(lon: float, lat: float) -> str:
    """EPSG code of the WGS84 UTM zone containing (lon, lat)."""
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(a) for a in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _present(idx: np.ndarray, n: int) -> np.ndarray:
    """Sorted distinct values of `idx` (all in ``range(n)``), faster than np.unique for dense ids."""
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    return np.flatnonzero(mask)


def build_network(
    raw: RawWays,
    *,
    rules: ModeRules,
    boundary: shapely.Geometry | None = None,
    buffer_m: float = 0.0,
    largest_component: bool = True,
    source: str = "",
) -> CompactNetwork:
    """Filter ways for a travel mode, clip, keep the largest component, simplify and project.

    Follows osmnx step for step where it defines the result (way filter, one-way handling,
    great-circle edge lengths, largest weakly connected component, simplification to nodes that
    are not interior points of a street), but works on flat arrays.

    Parameters
    ----------
    raw
        Ways and node locations (from an OSM file or the sample generator).
    rules
        Travel mode, way factors and road speeds by class (`network.modes.ModeRules`).
    boundary
        Optional study-area polygon in WGS84 lon/lat; ways are cut to it plus `buffer_m`.
    buffer_m
        Buffer around `boundary` (metres) so roads just beyond a district border still carry
        residents to facilities on the other side.
    largest_component
        Keep only the largest weakly connected component (osmnx's default); what is dropped is
        reported in ``report``.
    source
        Label of the data source, for messages and the report.
    """
    import pyproj  # here, not at the top: `import network` stays light

    label = source or "the OSM data"
    n_raw_ways = raw.n_ways

    # --- 1. ways of this mode ------------------------------------------------------------
    keep = np.fromiter((rules.keeps(t) for t in raw.way_tags), dtype=bool, count=n_raw_ways)
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        raise OutsideDataError(
            f"{label}: no ways usable for mode {rules.mode!r} ({n_raw_ways} highway ways read); "
            "check that the file covers streets, or try another --mode"
        )
    tags = [raw.way_tags[i] for i in kept]
    direction = np.fromiter((rules.direction(t) for t in tags), dtype=np.int8, count=len(kept))
    highway_values: dict[str, int] = {}
    way_hw = np.fromiter((highway_values.setdefault(t["highway"], len(highway_values)) for t in tags),
                         dtype=np.int16, count=len(kept))
    hw_names = tuple(highway_values)
    way_factor = np.array([rules.factor(h) for h in hw_names])[way_hw]
    timed_by_class = rules.mode in CLASS_SPEED_MODES  # drive: road speeds by class (or maxspeed), per way
    if timed_by_class:
        way_speed_ms = np.fromiter((rules.road_speed_kmh(t) for t in tags), dtype=float, count=len(kept)) / 3.6
    else:
        way_speed_ms = np.full(len(kept), np.nan)

    # --- 2. flat node sequence of the kept ways (one-way-against ways reversed) ----------
    starts = raw.way_offsets[kept]
    lengths = raw.way_offsets[kept + 1] - starts
    way_of = np.repeat(np.arange(len(kept)), lengths)
    pos = ranges(starts, lengths)
    rev = direction[way_of] < 0
    if rev.any():
        first = np.repeat(starts, lengths)
        last = first + np.repeat(lengths, lengths) - 1
        pos = np.where(rev, first + last - pos, pos)
    direction = np.abs(direction)
    refs = raw.refs[pos]
    order = np.argsort(raw.node_id, kind="stable")
    sorted_ids = raw.node_id[order]
    found = np.searchsorted(sorted_ids, refs)
    found = np.minimum(found, len(sorted_ids) - 1)
    nidx = np.where(sorted_ids[found] == refs, order[found], -1)

    # --- 3. clip to the buffered boundary --------------------------------------------------
    if boundary is not None:
        lon0, lat0 = shapely.centroid(boundary).x, shapely.centroid(boundary).y
        crs = utm_crs(lon0, lat0)
        tf = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        area = shapely.transform(boundary, lambda c: np.column_stack(tf.transform(c[:, 0], c[:, 1])))
        area = area.buffer(buffer_m) if buffer_m > 0 else area
        used = np.unique(nidx[nidx >= 0])
        ux, uy = tf.transform(raw.node_lon[used], raw.node_lat[used])
        shapely.prepare(area)
        inside = np.zeros(len(raw.node_id), dtype=bool)
        inside[used] = shapely.contains_xy(area, ux, uy)
        nidx = np.where((nidx >= 0) & inside[np.maximum(nidx, 0)], nidx, -1)
        if not (nidx >= 0).any():
            b = boundary.bounds
            raise OutsideDataError(
                f"{label}: the boundary (lon {b[0]:.4f}–{b[2]:.4f}, lat {b[1]:.4f}–{b[3]:.4f}) does not "
                "intersect the ways of the data; check the boundary file and its CRS, or use a larger extract"
            )

    # --- 4. runs: maximal stretches of located nodes within one way, without repeats ------
    valid = nidx >= 0
    same_way = np.concatenate([[False], way_of[1:] == way_of[:-1]])
    prev = np.concatenate([[-2], nidx[:-1]])
    dup = valid & same_way & (nidx == prev)
    sel = ~dup
    nidx, way_of, valid, same_way = nidx[sel], way_of[sel], valid[sel], None
    same_way = np.concatenate([[False], way_of[1:] == way_of[:-1]])
    prev_valid = np.concatenate([[False], valid[:-1]])
    run_start = valid & ~(same_way & prev_valid)
    run_id = np.cumsum(run_start) - 1
    run_len = np.bincount(run_id[valid], minlength=int(run_start.sum()))
    good_run = run_len >= 2
    keep_pos = valid & good_run[np.maximum(run_id, 0)]
    seq = nidx[keep_pos]
    seq_way = way_of[keep_pos]
    run_len = run_len[good_run]
    if len(run_len) == 0:
        raise OutsideDataError(f"{label}: no ways usable for mode {rules.mode!r} remain after clipping; use a larger extract")
    run_off = np.concatenate([[0], np.cumsum(run_len)])
    run_way = seq_way[run_off[:-1]]

    # --- 5. segments and the largest weakly connected component ---------------------------
    is_run_last = np.zeros(len(seq), dtype=bool)
    is_run_last[run_off[1:] - 1] = True
    seg_pos = np.flatnonzero(~is_run_last)
    a, b = seq[seg_pos], seq[seg_pos + 1]
    n_all = len(raw.node_id)
    report: dict[str, Any] = {"source": source, "highway_ways_read": n_raw_ways, "ways_kept": int(len(kept))}
    g = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n_all, n_all)).tocsr()
    n_comp, labels = csgraph.connected_components(g, directed=True, connection="weak")
    used_nodes = _present(seq, n_all)
    comp_size = np.bincount(labels[used_nodes], minlength=n_comp)
    report["components"] = int((comp_size > 0).sum())
    if largest_component and report["components"] > 1:
        big = int(np.argmax(comp_size))
        run_ok = labels[seq[run_off[:-1]]] == big
        seg_len_all = _haversine_m(raw.node_lon[a], raw.node_lat[a], raw.node_lon[b], raw.node_lat[b])
        seg_ok = labels[a] == big
        report["dropped_components"] = report["components"] - 1
        report["dropped_nodes"] = int(comp_size.sum() - comp_size[big])
        report["dropped_length_km"] = round(float(seg_len_all[~seg_ok].sum()) / 1000.0, 3)
        keep_seq = np.repeat(run_ok, run_len)
        seq, seq_way = seq[keep_seq], seq_way[keep_seq]
        run_len, run_way = run_len[run_ok], run_way[run_ok]
        run_off = np.concatenate([[0], np.cumsum(run_len)])
        is_run_last = np.zeros(len(seq), dtype=bool)
        is_run_last[run_off[1:] - 1] = True
        seg_pos = np.flatnonzero(~is_run_last)
        a, b = seq[seg_pos], seq[seg_pos + 1]
    else:
        report.update(dropped_components=0, dropped_nodes=0, dropped_length_km=0.0)

    # --- 6. endpoints, exactly osmnx's rules on the directed multigraph --------------------
    seg_two = direction[seq_way[seg_pos]] == 0
    out_deg = np.bincount(a, minlength=n_all) + np.bincount(b[seg_two], minlength=n_all)
    in_deg = np.bincount(b, minlength=n_all) + np.bincount(a[seg_two], minlength=n_all)
    pair = np.sort(np.concatenate([a * n_all + b, b * n_all + a]))
    pair = pair[np.concatenate([[True], pair[1:] != pair[:-1]])]
    n_nb = np.bincount(pair // n_all, minlength=n_all)
    self_loop = np.zeros(n_all, dtype=bool)
    self_loop[a[a == b]] = True
    deg = in_deg + out_deg
    endpoint = self_loop | (out_deg == 0) | (in_deg == 0) | ~((n_nb == 2) & ((deg == 2) | (deg == 4)))

    # --- 7. pieces: runs cut at endpoints --------------------------------------------------
    interior = np.ones(len(seq), dtype=bool)
    interior[run_off[:-1]] = False
    interior[run_off[1:] - 1] = False
    cuts = np.flatnonzero(interior & endpoint[seq])
    p_start = np.sort(np.concatenate([run_off[:-1], cuts]))
    p_end = np.sort(np.concatenate([cuts, run_off[1:] - 1]))
    p_way = seq_way[p_start]

    lon, lat = raw.node_lon, raw.node_lat
    seg_len = np.zeros(len(seq))
    seg_len[seg_pos] = _haversine_m(lon[a], lat[a], lon[b], lat[b])
    cum_len = np.concatenate([[0.0], np.cumsum(seg_len)])
    cum_w = np.concatenate([[0.0], np.cumsum(seg_len * way_factor[seq_way])])
    cum_t = np.concatenate([[0.0], np.cumsum(seg_len / way_speed_ms[seq_way])]) if timed_by_class else None
    p_len = cum_len[p_end] - cum_len[p_start]
    p_w = cum_w[p_end] - cum_w[p_start]
    p_t = (cum_t[p_end] - cum_t[p_start]) if cum_t is not None else np.full(len(p_start), np.nan)
    p_u, p_v = seq[p_start], seq[p_end]

    # --- 8. chains: pieces joined at way ends that are not endpoints -----------------------
    simple = endpoint[p_u] & endpoint[p_v]
    chains = _join_pieces(np.flatnonzero(~simple), p_u, p_v, endpoint, direction[p_way])

    # edges: simple pieces first, then chains
    simple_idx = np.flatnonzero(simple)
    e_u = [p_u[simple_idx]]
    e_v = [p_v[simple_idx]]
    e_len, e_w, e_t = [p_len[simple_idx]], [p_w[simple_idx]], [p_t[simple_idx]]
    e_first = [simple_idx]
    g_counts = [p_end[simple_idx] - p_start[simple_idx] + 1]
    g_nodes = [seq[ranges(p_start[simple_idx], g_counts[0])]]
    if chains:
        cu, cv, cl, cw, ct, cf, cn, cg = [], [], [], [], [], [], [], []
        for chain in chains:
            nodes = []
            for k, (p, reverse) in enumerate(chain):
                piece = seq[p_start[p]:p_end[p] + 1]
                if reverse:
                    piece = piece[::-1]
                nodes.append(piece if k == 0 else piece[1:])
            nodes = np.concatenate(nodes)
            ps = [p for p, _ in chain]
            cu.append(nodes[0]); cv.append(nodes[-1])
            cl.append(p_len[ps].sum()); cw.append(p_w[ps].sum()); ct.append(p_t[ps].sum())
            cf.append(ps[0]); cn.append(len(nodes)); cg.append(nodes)
        e_u.append(np.array(cu)); e_v.append(np.array(cv))
        e_len.append(np.array(cl)); e_w.append(np.array(cw)); e_t.append(np.array(ct))
        e_first.append(np.array(cf)); g_counts.append(np.array(cn)); g_nodes.append(np.concatenate(cg))
    eu, ev = np.concatenate(e_u), np.concatenate(e_v)
    first_piece = np.concatenate(e_first).astype(np.int64)
    edge_way = p_way[first_piece]
    geom_nodes = np.concatenate(g_nodes)
    geom_offsets = np.concatenate([[0], np.cumsum(np.concatenate(g_counts))]).astype(np.int64)

    # --- 9. compact node numbering and projection -----------------------------------------
    node_raw = _present(np.concatenate([eu, ev]), n_all)
    renumber = np.full(n_all, -1, dtype=np.int64)
    renumber[node_raw] = np.arange(len(node_raw))
    edge_u = renumber[eu].astype(np.int32)
    edge_v = renumber[ev].astype(np.int32)
    lon_c, lat_c = float(np.median(lon[node_raw])), float(np.median(lat[node_raw]))
    crs = utm_crs(lon_c, lat_c)
    tf = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    gx, gy = tf.transform(lon[geom_nodes], lat[geom_nodes])
    nx_, ny_ = tf.transform(lon[node_raw], lat[node_raw])
    report.update(raw_nodes=int(len(_present(seq, n_all))), edges_from_chains=len(chains))
    way_osmid = raw.way_id[kept]
    return CompactNetwork(
        crs=crs,
        mode=rules.mode,
        node_osmid=raw.node_id[node_raw].astype(np.int64),
        node_x=np.asarray(nx_, dtype=float),
        node_y=np.asarray(ny_, dtype=float),
        node_lon=lon[node_raw].astype(float),
        node_lat=lat[node_raw].astype(float),
        edge_u=edge_u,
        edge_v=edge_v,
        edge_oneway=direction[edge_way] != 0,
        edge_length_m=np.concatenate(e_len),
        edge_weighted_length_m=np.concatenate(e_w),
        edge_drive_time_s=np.concatenate(e_t),
        edge_highway=way_hw[edge_way],
        edge_osmid=way_osmid[edge_way],
        highway_values=hw_names,
        geom_offsets=geom_offsets,
        geom_x=np.asarray(gx, dtype=float),
        geom_y=np.asarray(gy, dtype=float),
        report=report,
    )


def _join_pieces(
    idx: np.ndarray, p_u: np.ndarray, p_v: np.ndarray, endpoint: np.ndarray, p_dir: np.ndarray
) -> list[list[tuple[int, bool]]]:
    """Chain pieces that meet at a non-endpoint node (two ways joined end to end).

    Each non-endpoint node has exactly two incident segments, so exactly two piece ends meet
    there. Returns a list of chains, each a list of (piece, reversed) from endpoint to endpoint.
    Rings without any endpoint become one edge per piece (their join node acts as an endpoint).
    """
    if len(idx) == 0:
        return []
    at: dict[int, list[tuple[int, int]]] = {}
    for p in idx.tolist():
        u, v = int(p_u[p]), int(p_v[p])
        if not endpoint[u]:
            at.setdefault(u, []).append((p, 0))
        if not endpoint[v]:
            at.setdefault(v, []).append((p, 1))
    visited: set[int] = set()
    chains: list[list[tuple[int, bool]]] = []

    def walk(p: int, reverse: bool) -> list[tuple[int, bool]]:
        chain = [(p, reverse)]
        visited.add(p)
        node = int(p_u[p] if reverse else p_v[p])
        while not endpoint[node]:
            nxt = [(q, end) for q, end in at.get(node, ()) if q not in visited]
            if not nxt:
                break
            q, end = nxt[0]
            visited.add(q)
            rev_q = end == 1  # entering q at its end: traverse it backwards
            chain.append((q, rev_q))
            node = int(p_u[q] if rev_q else p_v[q])
        return chain

    for p in idx.tolist():
        if p not in visited and endpoint[p_u[p]]:
            chains.append(walk(p, False))
    for p in idx.tolist():
        if p not in visited and endpoint[p_v[p]] and p_dir[p] == 0:
            chains.append(walk(p, True))
    for p in idx.tolist():  # rings with no endpoint at all
        if p not in visited:
            visited.add(p)
            chains.append([(p, False)])
    return chains

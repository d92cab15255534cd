"""Benchmark: `circles analyze` on Porto against the bare reference, by stage, at two sizes, and the peers.

The issue's benchmark: Porto (``porto.osm.pbf``, 63k walking nodes), 500 facilities in each of 3
categories and 20,000 demand units (seeded, generated once, not timed), every run a whole process:

(a) ``circles analyze`` with every default output (map.html included): cold cache (the .pbf
    parsed) and warm; (a-fig) ``--figures-only`` (no service areas, no map), warm;
(b) the bare reference: one pyosmium pass over the highway ways (osmnx's walk filter) → every node
    pair an edge → one scipy CSR matrix → ``dijkstra(min_only=True)`` per category → nearest nodes
    by cKDTree (a lower bound: no simplification, no snapping onto edges, no checks, no outputs);
(a-80k) the same ``circles analyze`` with 80,000 demand units (500 facilities per category) and
(a-2000) with 2,000 facilities per category (20,000 units), warm;
(c) optional (``--osmnx``): the osmnx-examples approach (graph_from_xml, one ego graph and
    buffered-edge polygon per facility), extrapolated from a time budget.

Each process runs under GNU ``time -v`` (wall, CPU, peak RSS); round-robin over the variants so a
burst of outside load hits them alike; medians of ``--runs``. One more in-process run of (a)
reports the stage breakdown from the pipeline's own stopwatch (`circles.pipeline`: read, snap,
search, areas, map, outputs) and the import time.

Usage::

    python bench/bench_analyze.py [--runs 3] [--osmnx] [--osmnx-budget-s 300] [--wait-load 1.0]

Writes ``bench/results/analyze_porto.json`` and ``bench/results/analyze_porto.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._common import atomic_write  # noqa: E402

RESULTS = REPO / "bench" / "results"
DEFAULT_PBF = REPO.parent / "shared" / "data" / "osm" / "porto.osm.pbf"

SEED = 20240612
PER_CATEGORY = 500
N_DEMAND = 20_000
BIG_DEMAND = 80_000
BIG_PER_CATEGORY = 2_000
JITTER_M = 15.0
# (category, tier, walking speed km/h of the 15min profile); checked against the profile at run time
CATEGORIES = (("elderly", "station", 3.6), ("meal", "point", 3.6), ("child", "home", 4.5))
DEMAND_COLUMN = {"elderly": "pop_60plus", "meal": "pop_60plus", "child": "pop_0_17"}
MINUTES = 15.0
HORIZON_MIN = 60.0
TARGETS = {"cold": 6.0, "warm": 5.0, "figures_only": 2.5, "growth": 1.5, "peak_rss_mb": 500.0}
EDGE_BUFF, NODE_BUFF = 25.0, 50.0  # make_iso_polys defaults of the osmnx-examples notebook
TIME_BIN = "/usr/bin/time"
STAGES = ("imports", "read", "inputs (ledger, demand)", "snap", "search", "areas", "map", "report", "outputs")


# =========================================================================== child side
def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _cpu_s() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _walk_predicate(filter_str: str):
    """osmnx's walk filter (the string taken from osmnx in the parent) as a predicate on way tags."""
    from bench.osmnx_reference import tags_predicate

    return tags_predicate(filter_str)


def _bare_coverage(dist_fn, fac_nodes: dict, dem_nodes, weights: dict, timers: dict) -> dict[str, float]:
    """Dijkstra per category from its facility nodes, demand read at its nearest node."""
    import numpy as np

    cov = {}
    for cat, _tier, kmh in CATEGORIES:
        t = time.perf_counter()
        dist = dist_fn(kmh, np.unique(fac_nodes[cat]))
        timers["dijkstra_s"] = timers.get("dijkstra_s", 0.0) + time.perf_counter() - t
        t = time.perf_counter()
        w = weights[DEMAND_COLUMN[cat]]
        covered = dist[dem_nodes] / 60.0 <= MINUTES
        cov[cat] = float(w[covered].sum() / w.sum())
        timers["coverage_s"] = timers.get("coverage_s", 0.0) + time.perf_counter() - t
    return cov


def _read_inputs_bare(a: dict[str, Any]):
    import pandas as pd

    led = pd.read_csv(a["ledger"])
    pop = pd.read_csv(a["pop"])
    return led, pop


def _work_bare(a: dict[str, Any]) -> dict[str, Any]:
    """(b) pyosmium → CSR (every way segment an edge) → scipy multi-source Dijkstra → cKDTree lookups."""
    t0 = time.perf_counter()
    import numpy as np
    import osmium
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    keep = _walk_predicate(a["filter"])
    import_s = time.perf_counter() - t0
    base = _rss_mb()
    tm: dict[str, float] = {}
    c0, t0 = _cpu_s(), time.perf_counter()
    led, pop = _read_inputs_bare(a)
    tm["csv_read_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    refs: list[tuple[int, int, int]] = []
    lens: list[int] = []
    fp = (osmium.FileProcessor(a["pbf"], osmium.osm.NODE | osmium.osm.WAY).with_locations("flex_mem")
          .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
          .with_filter(osmium.filter.KeyFilter("highway")))
    for w in fp:
        if keep({tg.k: tg.v for tg in w.tags}):
            nodes = w.nodes
            refs.extend([(n.ref, n.x, n.y) for n in nodes])
            lens.append(len(nodes))
    tm["osm_read_s"] = time.perf_counter() - t

    t = time.perf_counter()
    arr = np.array(refs, dtype=np.int64).reshape(-1, 3)
    undefined = 2147483647
    valid = (arr[:, 1] != undefined) & (arr[:, 2] != undefined)
    way_of = np.repeat(np.arange(len(lens)), lens)
    ids, inv = np.unique(arr[:, 0], return_inverse=True)
    n = len(ids)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    lon[inv[valid]] = arr[valid, 1] * 1e-7
    lat[inv[valid]] = arr[valid, 2] * 1e-7
    ok = (way_of[1:] == way_of[:-1]) & valid[1:] & valid[:-1]
    u, v = inv[:-1][ok], inv[1:][ok]
    keep_e = u != v
    u, v = u[keep_e], v[keep_e]
    r = 6_371_009.0
    p1, p2, l1, l2 = (np.radians(x) for x in (lat[u], lat[v], lon[u], lon[v]))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    length = 2 * r * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = lo * n + hi
    order = np.lexsort((length, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    sel = order[first]
    rows = np.concatenate([lo[sel], hi[sel]])
    cols = np.concatenate([hi[sel], lo[sel]])
    vals = np.maximum(np.concatenate([length[sel], length[sel]]), 1e-3)
    graph = sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    tm["csr_build_s"] = time.perf_counter() - t

    t = time.perf_counter()
    used = np.flatnonzero(np.bincount(rows, minlength=n) > 0)
    lat0 = np.radians(np.nanmean(lat[used]))

    def xy(lo_, la_):
        return np.column_stack([np.radians(lo_) * r * np.cos(lat0), np.radians(la_) * r])

    tree = cKDTree(xy(lon[used], lat[used]))
    fac_nodes = {}
    for cat, _tier, _kmh in CATEGORIES:
        f = led[led["category"] == cat]
        fac_nodes[cat] = used[tree.query(xy(f["lon"].to_numpy(float), f["lat"].to_numpy(float)))[1]]
    dem_nodes = used[tree.query(xy(pop["lon"].to_numpy(float), pop["lat"].to_numpy(float)))[1]]
    tm["snap_s"] = time.perf_counter() - t

    def dist_fn(kmh, sources):
        return dijkstra(graph * (3.6 / kmh), directed=True, indices=sources, min_only=True,
                        limit=HORIZON_MIN * 60.0)

    weights = {c: pop[c].to_numpy(float) for c in ("pop_60plus", "pop_0_17")}
    cov = _bare_coverage(dist_fn, fac_nodes, dem_nodes, weights, tm)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    return {"wall_s": wall, "cpu_s": cpu, "import_s": import_s, "rss_after_imports_mb": base,
            "peak_rss_mb": _rss_mb(), "stages_s": tm, "nodes": int(len(used)), "directed_edges": int(len(rows)),
            "km": float(length[sel].sum() / 1000.0), "coverage": cov}


def _work_convert(a: dict[str, Any]) -> dict[str, Any]:
    from bench.osmnx_reference import write_filtered_xml

    t0 = time.perf_counter()
    n_ways = write_filtered_xml(Path(a["pbf"]), Path(a["xml"]), "walk")
    return {"wall_s": time.perf_counter() - t0, "ways": n_ways, "xml_mb": Path(a["xml"]).stat().st_size / 1e6}


def _make_iso_poly(G, subgraph, edge_buff: float = EDGE_BUFF, node_buff: float = NODE_BUFF):
    """One trip time of the osmnx-examples notebook's ``make_iso_polys`` (infill=False), as written there."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    node_points = [Point((data["x"], data["y"])) for node, data in subgraph.nodes(data=True)]
    nodes_gdf = gpd.GeoDataFrame({"id": list(subgraph.nodes)}, geometry=node_points)
    nodes_gdf = nodes_gdf.set_index("id")

    edge_lines = []
    for n_fr, n_to in subgraph.edges():
        f = nodes_gdf.loc[n_fr].geometry
        t = nodes_gdf.loc[n_to].geometry
        edge_lookup = G.get_edge_data(n_fr, n_to)[0].get("geometry", LineString([f, t]))
        edge_lines.append(edge_lookup)

    n = nodes_gdf.buffer(node_buff).geometry
    e = gpd.GeoSeries(edge_lines).buffer(edge_buff).geometry
    all_gs = list(n) + list(e)
    return gpd.GeoSeries(all_gs).union_all()


def _work_osmnx(a: dict[str, Any]) -> dict[str, Any]:
    """(c) graph_from_xml → project → per facility ego_graph + buffered-edge polygon → unions → point in polygon."""
    t0 = time.perf_counter()
    import geopandas as gpd
    import networkx as nx
    import numpy as np
    import osmnx as ox
    import pandas as pd
    import shapely

    import_s = time.perf_counter() - t0
    base = _rss_mb()
    tm: dict[str, float] = {}
    c0, t0 = _cpu_s(), time.perf_counter()
    G = ox.graph_from_xml(a["xml"], bidirectional=True)
    tm["graph_from_xml_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    G = ox.project_graph(G)
    tm["project_graph_s"] = time.perf_counter() - t
    t = time.perf_counter()
    speeds = sorted({kmh for _, _, kmh in CATEGORIES})
    for _, _, _, data in G.edges(data=True, keys=True):
        for kmh in speeds:
            data[f"time_{kmh:g}"] = data["length"] / (kmh * 1000 / 60)  # minutes
    tm["time_attribute_s"] = time.perf_counter() - t
    t = time.perf_counter()
    led = pd.read_csv(a["ledger"])
    pop = pd.read_csv(a["pop"])
    crs = G.graph["crs"]
    fpts = gpd.GeoSeries(gpd.points_from_xy(led["lon"], led["lat"]), crs="EPSG:4326").to_crs(crs)
    dpts = gpd.GeoSeries(gpd.points_from_xy(pop["lon"], pop["lat"]), crs="EPSG:4326").to_crs(crs)
    fnode = np.asarray(ox.nearest_nodes(G, fpts.x.to_numpy(), fpts.y.to_numpy()))
    tm["read_snap_s"] = time.perf_counter() - t

    cat_of = led["category"].to_numpy()
    by_cat = {cat: np.flatnonzero(cat_of == cat) for cat, _, _ in CATEGORIES}
    order = [(cat, int(i)) for k in range(max(len(v) for v in by_cat.values()))
             for cat, _, _ in CATEGORIES if k < len(by_cat[cat]) for i in [by_cat[cat][k]]]
    kmh_of = {cat: kmh for cat, _, kmh in CATEGORIES}
    polys: dict[str, list] = {cat: [] for cat, _, _ in CATEGORIES}
    ego_s = poly_s = 0.0
    sizes = []
    budget = float(a.get("budget_s") or 0.0)
    t_loop, c_loop = time.perf_counter(), time.process_time()
    done = 0
    for cat, i in order:
        if budget and time.perf_counter() - t_loop > budget:
            break
        t = time.perf_counter()
        sub = nx.ego_graph(G, int(fnode[i]), radius=MINUTES, distance=f"time_{kmh_of[cat]:g}")
        t1 = time.perf_counter()
        polys[cat].append(_make_iso_poly(G, sub))
        t2 = time.perf_counter()
        ego_s += t1 - t
        poly_s += t2 - t1
        sizes.append(sub.number_of_nodes())
        done += 1
    loop_s, loop_cpu = time.perf_counter() - t_loop, time.process_time() - c_loop
    t, c_union = time.perf_counter(), time.process_time()
    unions = {cat: shapely.union_all(p) if p else shapely.Polygon() for cat, p in polys.items()}
    tm["union_s"] = time.perf_counter() - t
    union_cpu = time.process_time() - c_union
    t = time.perf_counter()
    cov = {}
    dx, dy = dpts.x.to_numpy(), dpts.y.to_numpy()
    for cat, u in unions.items():
        w = pop[DEMAND_COLUMN[cat]].to_numpy(float)
        inside = shapely.contains_xy(u, dx, dy)
        cov[cat] = float(w[inside].sum() / w.sum())
    tm["point_in_polygon_s"] = time.perf_counter() - t
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    total = len(order)
    scale = total / done if done else float("nan")
    tm["ego_graph_s"], tm["iso_polygon_s"], tm["facility_loop_s"] = ego_s, poly_s, loop_s
    fixed = wall - loop_s - tm["union_s"]
    est = fixed + (loop_s + tm["union_s"]) * scale
    est_cpu = cpu - loop_cpu - union_cpu + (loop_cpu + union_cpu) * scale
    return {"wall_s": wall, "cpu_s": cpu, "import_s": import_s, "rss_after_imports_mb": base,
            "peak_rss_mb": _rss_mb(), "stages_s": tm, "facilities_total": total, "facilities_done": done,
            "facilities_done_per_category": {c: len(p) for c, p in polys.items()},
            "extrapolated": done < total, "scale": scale, "estimated_full_s": est, "estimated_full_cpu_s": est_cpu,
            "per_facility_s": loop_s / done if done else None,
            "ego_nodes_median": float(np.median(sizes)) if sizes else None,
            "nodes": G.number_of_nodes(), "directed_edges": G.number_of_edges(),
            "coverage": cov, "coverage_is_partial": done < total}


def _work_stages(a: dict[str, Any]) -> dict[str, Any]:
    """(a) in process, warm cache: the pipeline's own stage times, the outputs built and written."""
    t0 = time.perf_counter()
    from circles.options import RunOptions
    from circles.outputs import write_run
    from circles.pipeline import analyse, prepare

    import_s = time.perf_counter() - t0
    c0, t0 = _cpu_s(), time.perf_counter()
    opts = RunOptions(network=a["pbf"], facilities=a["ledger"], population=a["pop"], coords="wgs84")
    result = analyse(prepare(opts))
    files = result.files()
    t_write = time.perf_counter()
    write_run(a["out"], files)
    write_s = time.perf_counter() - t_write
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    t = result.timings
    stages = {"imports": import_s, "read": t.get("read", 0.0) + t.get("networks", 0.0),
              "inputs (ledger, demand)": t.get("ledger", 0.0) + t.get("demand", 0.0) + t.get("extent", 0.0),
              "snap": t.get("assess.snap", 0.0), "search": t.get("assess.search", 0.0) + t.get("assess.rules", 0.0),
              "areas": t.get("areas", 0.0) + t.get("outreach", 0.0), "map": t.get("map", 0.0),
              "report": t.get("report", 0.0), "outputs": t.get("outputs", 0.0) + write_s}
    return {"wall_s": wall, "cpu_s": cpu, "import_s": import_s, "peak_rss_mb": _rss_mb(), "stages_s": stages,
            "timings": dict(t), "outputs_mb": {k: round(len(v) / 1e6, 2) for k, v in files.items()},
            "coverage": {c.category: c.coverage for c in result.report.categories}}


def _work_inputs(a: dict[str, Any]) -> dict[str, Any]:
    """Generate the Porto inputs (in a child, so the parent stays small: a child's ru_maxrss starts at its parent's)."""
    from osmnx import _overpass

    _check_profile()
    pbf, tmp = Path(a["pbf"]), Path(a["tmp"])
    out = {"base": _generate_inputs(pbf, tmp),
           "demand80k": _generate_inputs(pbf, tmp, PER_CATEGORY, BIG_DEMAND, "_80k"),
           "facilities2000": _generate_inputs(pbf, tmp, BIG_PER_CATEGORY, N_DEMAND, "_2000")}
    out["filter"] = _overpass._get_network_filter("walk")
    return out


_WORKERS = {"inputs": _work_inputs, "stages": _work_stages, "bare": _work_bare, "convert": _work_convert,
            "osmnx": _work_osmnx}


def _child_main(kind: str, args_json: str, out_path: str) -> None:
    sys.path.insert(0, str(REPO))
    result = _WORKERS[kind](json.loads(args_json))
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


# ========================================================================== parent side
def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _wait_for_load(threshold: float, max_s: float = 120.0) -> None:
    end = time.monotonic() + max_s
    while threshold > 0 and os.getloadavg()[0] >= threshold and time.monotonic() < end:
        time.sleep(5)


class WorkerTimeout(RuntimeError):
    pass


def _limit_memory(gb: float):
    def apply() -> None:  # in the child, before exec: a MemoryError there, not the OOM killer on a shared machine
        import resource

        lim = int(gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    return apply


def _spawn(kind: str, args: dict[str, Any], tmp: Path, env: dict[str, str] | None = None,
           wait_load: float = 0.0, timeout: float | None = None, mem_gb: float | None = None) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; its figures plus the process wall time and the load."""
    _wait_for_load(wait_load)
    fd, out = tempfile.mkstemp(dir=tmp, suffix=".json")
    os.close(fd)
    load_before = os.getloadavg()[0]
    cpu0 = _children_cpu_s()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--_worker", kind, json.dumps(args), out],
                              cwd=str(REPO), env={**os.environ, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=_limit_memory(mem_gb) if mem_gb else None)
    except subprocess.TimeoutExpired:
        raise WorkerTimeout(f"{kind} worker stopped after the {timeout:.0f} s limit") from None
    process_s = time.perf_counter() - t0
    process_cpu = _children_cpu_s() - cpu0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:] or ["(no output)"]
        raise RuntimeError(f"{kind} worker failed (exit {proc.returncode}): {' | '.join(tail)}")
    result = json.loads(Path(out).read_text(encoding="utf-8"))
    Path(out).unlink()
    result["process_s"] = process_s
    result["process_cpu_s"] = process_cpu
    result["load1_before"] = load_before
    result["load1_after"] = os.getloadavg()[0]
    return result


def _children_cpu_s() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _circles_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "circles"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "circles.cli"]


def _parse_time_v(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        k, _, v = line.strip().rpartition(": ")
        if k == "User time (seconds)":
            out["user_s"] = float(v)
        elif k == "System time (seconds)":
            out["sys_s"] = float(v)
        elif k == "Maximum resident set size (kbytes)":
            out["peak_rss_mb"] = float(v) / 1024.0
        elif k.startswith("Elapsed (wall clock) time"):
            parts = [float(p) for p in v.split(":")]
            sec = 0.0
            for p in parts:
                sec = sec * 60 + p
            out["time_wall_s"] = sec
    return out


def _rusage_main(out: str, cmd: list[str]) -> int:
    import resource

    t0 = time.perf_counter()
    rc = subprocess.run(cmd).returncode
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    Path(out).write_text(json.dumps({"time_wall_s": time.perf_counter() - t0, "user_s": ru.ru_utime,
                                     "sys_s": ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024.0}))
    return rc


def _generate_inputs(pbf: Path, tmp: Path, per_category: int = PER_CATEGORY, n_demand: int = N_DEMAND,
                     tag: str = "") -> dict[str, Any]:
    """Ledger and population CSVs at random points of random network edges (+ jitter); seeded."""
    import numpy as np
    import pandas as pd
    import shapely

    from network import load_network

    net = load_network(pbf, mode="walk", cache=False)
    rng = np.random.default_rng(SEED)
    lines = net.edge_lines()

    def points(n: int):
        e = rng.integers(0, net.n_edges, n)
        p = shapely.line_interpolate_point(lines[e], rng.random(n), normalized=True)
        x = shapely.get_x(p) + rng.uniform(-JITTER_M, JITTER_M, n)
        y = shapely.get_y(p) + rng.uniform(-JITTER_M, JITTER_M, n)
        lon, lat = net.to_lonlat(x, y)
        return np.round(lon, 7), np.round(lat, 7)

    frames = []
    for cat, tier, _ in CATEGORIES:
        lon, lat = points(per_category)
        frames.append(pd.DataFrame({"name": [f"{cat} {tier} {i + 1}" for i in range(per_category)],
                                    "category": cat, "tier": tier, "lon": lon, "lat": lat}))
    ledger = tmp / f"ledger{tag}.csv"
    pd.concat(frames, ignore_index=True).to_csv(ledger, index=False)
    lon, lat = points(n_demand)
    population = rng.integers(50, 501, n_demand)
    p60 = np.minimum(np.round(population * rng.normal(0.20, 0.03, n_demand)).astype(int), population)
    p17 = np.minimum(np.round(population * rng.normal(0.18, 0.03, n_demand)).astype(int), population - p60)
    pop = tmp / f"population{tag}.csv"
    pd.DataFrame({"demand_id": [f"D{i + 1:05d}" for i in range(n_demand)],
                  "name": [f"unit {i + 1}" for i in range(n_demand)], "lon": lon, "lat": lat,
                  "population": population, "pop_60plus": np.maximum(p60, 0), "pop_0_17": np.maximum(p17, 0)}
                 ).to_csv(pop, index=False)
    # the same ledger with a capacity column (beds/seats): `assess` then also computes 2SFCA access
    led = pd.read_csv(ledger)
    led["capacity"] = np.random.default_rng(SEED + 1).integers(10, 81, len(led))
    ledger_cap = tmp / f"ledger_capacity{tag}.csv"
    led.to_csv(ledger_cap, index=False)
    return {"ledger": str(ledger), "ledger_capacity": str(ledger_cap), "pop": str(pop), "nodes": net.n_nodes,
            "edges": net.n_edges, "population_total": int(population.sum())}


def _check_profile() -> None:
    """The bare reference and osmnx use the profile's speeds and thresholds: fail loudly if they moved."""
    from circles.profiles import load_profile

    prof = load_profile("15min")
    for cat, tier, kmh in CATEGORIES:
        c = prof.category(cat)
        t = next(t for t in c.tiers if t.id == tier)
        if abs(t.speed_kmh - kmh) > 1e-9 or float(t.minutes) != MINUTES or c.demand_column != DEMAND_COLUMN[cat]:
            raise SystemExit(f"profile 15min changed for {cat}/{tier}: update CATEGORIES in {__file__}")


def _git_state() -> str:
    """The commit measured, and whether the project code differed from it (others work in this checkout)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "circles", "network"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return head + (" with uncommitted changes in circles/ or network/" if dirty else "")


def _machine() -> dict[str, Any]:
    from importlib import metadata

    def ver(p: str) -> str | None:
        try:
            return metadata.version(p)
        except metadata.PackageNotFoundError:
            return None

    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(), "platform": platform.platform(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        # a child's ru_maxrss starts at its parent's peak (Linux keeps it across exec): the floor of the RSS figures
        "parent_peak_rss_mb": round(_rss_mb(), 1),
        "git": _git_state(),
        "versions": {p: ver(p) for p in ("osmium", "osmnx", "networkx", "numpy", "scipy", "shapely", "geopandas",
                                         "pandas")},
    }


def _med(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _fmt_load(loads: list[float]) -> str:
    return f"{min(loads):.2f}–{max(loads):.2f}" if loads else "n/a"


def _run_cli(a: dict[str, Any], out_dir: Path, cache_dir: Path, tmp: Path, wait_load: float,
             extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """`circles analyze` as a subprocess: wall, CPU and peak RSS (GNU time, else getrusage of a wrapper)."""
    _wait_for_load(wait_load)
    cmd = _circles_cmd() + ["analyze", "--network", a["pbf"], "--facilities", a["ledger"], "--coords", "wgs84",
                            "--population", a["pop"], "--out", str(out_dir), *extra]
    tfile = tmp / "time_v.txt"
    gnu = Path(TIME_BIN).exists()
    cmd = ([TIME_BIN, "-v", "-o", str(tfile)] if gnu else
           [sys.executable, str(Path(__file__).resolve()), "--_rusage", str(tfile)]) + cmd
    env = {**os.environ, "CIRCLES_CACHE_DIR": str(cache_dir)}
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"circles analyze failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    figures = _parse_time_v(tfile.read_text()) if gnu else json.loads(tfile.read_text())
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    sizes = {p.name: round(p.stat().st_size / 1e6, 2) for p in sorted(out_dir.iterdir()) if p.is_file()}
    return {"wall_s": wall, **figures, "cpu_s": figures.get("user_s", 0.0) + figures.get("sys_s", 0.0),
            "load1_before": load_before, "coverage": {k: v["coverage"] for k, v in summary["categories"].items()},
            "outputs_mb": sizes}


def _summ(runs: list[dict[str, Any]], key: str = "wall_s") -> dict[str, Any]:
    w = [r[key] for r in runs]
    return {"median_s": statistics.median(w), "min_s": min(w), "max_s": max(w),
            "median_cpu_s": statistics.median(r.get("process_cpu_s", r.get("cpu_s", 0.0)) for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "runs": len(runs),
            "loads": [round(r["load1_before"], 2) for r in runs]}


def _run_porto(a, tmp: Path, say) -> dict[str, Any]:
    pbf = str(a.pbf.resolve())
    inp = _spawn("inputs", {"pbf": pbf, "tmp": str(tmp)}, tmp)
    say(f"inputs generated in {inp['process_s']:.1f} s")
    base = {"pbf": pbf, "ledger": inp["base"]["ledger"], "pop": inp["base"]["pop"]}
    big_demand = {"pbf": pbf, "ledger": inp["demand80k"]["ledger"], "pop": inp["demand80k"]["pop"]}
    big_fac = {"pbf": pbf, "ledger": inp["facilities2000"]["ledger"], "pop": inp["facilities2000"]["pop"]}
    p: dict[str, Any] = {"pbf": pbf, "runs": a.runs, "inputs": inp["base"]}
    keys = ("cold", "warm", "figures_only", "bare", "demand80k", "facilities2000")
    for k in keys:
        p[k] = []
    warm_cache = tmp / "cache_warm"
    _run_cli(base, tmp / "out_prime", warm_cache, tmp, 0.0)  # fill the warm cache once
    for i in range(a.runs):  # round-robin so a burst of outside load hits every variant alike
        steps = (("cold", lambda: _run_cli(base, tmp / "out", tmp / f"cache_cold_{i}", tmp, a.wait_load)),
                 ("warm", lambda: _run_cli(base, tmp / "out", warm_cache, tmp, a.wait_load)),
                 ("figures_only", lambda: _run_cli(base, tmp / "out", warm_cache, tmp, a.wait_load,
                                                   ("--figures-only",))),
                 ("bare", lambda: _spawn("bare", {**base, "filter": inp["filter"]}, tmp, wait_load=a.wait_load)),
                 ("demand80k", lambda: _run_cli(big_demand, tmp / "out", warm_cache, tmp, a.wait_load)),
                 ("facilities2000", lambda: _run_cli(big_fac, tmp / "out", warm_cache, tmp, a.wait_load)))
        for k, run in steps:
            r = run()
            if k == "bare":
                r = {**r, "wall_s": r["process_s"], "work_s": r["wall_s"]}
            p[k].append(r)
            say(f"run {i + 1}: {k} {r['wall_s']:.2f} s, {r['peak_rss_mb']:.0f} MB (load {r['load1_before']:.2f})")
            shutil.rmtree(tmp / "out", ignore_errors=True)
    p["stages"] = _spawn("stages", {**base, "out": str(tmp / "out_stages")}, tmp,
                         {"CIRCLES_CACHE_DIR": str(warm_cache)}, a.wait_load)
    say(f"in-process stages: {p['stages']['wall_s']:.2f} s")
    if a.osmnx:
        xml = tmp / "porto.walk.osm"
        p["osmnx_conversion"] = _spawn("convert", {"pbf": pbf, "xml": str(xml)}, tmp)
        p["osmnx"] = _spawn("osmnx", {"xml": str(xml), "ledger": base["ledger"], "pop": base["pop"],
                                      "budget_s": a.osmnx_budget_s}, tmp)
        say(f"(c) osmnx: estimated {p['osmnx']['estimated_full_s']:.0f} s")
    s = {k: _summ(p[k]) for k in keys}
    s["bare_work"] = _summ(p["bare"], "work_s")
    p["summary"] = s
    b = s["bare"]["median_s"]
    p["ratios"] = {"cold": s["cold"]["median_s"] / b, "warm": s["warm"]["median_s"] / b,
                   "figures_only": s["figures_only"]["median_s"] / b,
                   "demand80k": s["demand80k"]["median_s"] / s["warm"]["median_s"],
                   "facilities2000": s["facilities2000"]["median_s"] / s["warm"]["median_s"],
                   "warm_over_bare_work": s["warm"]["median_s"] / s["bare_work"]["median_s"]}
    return p


# --------------------------------------------------------------------------- markdown
def _porto_md(res: dict[str, Any]) -> str:
    m, p = res["machine"], res["porto"]
    s, r = p["summary"], p["ratios"]
    inp = p["inputs"]
    L = [f"# `circles analyze` on {Path(p['pbf']).name}: whole processes against the bare reference", "",
         f"Inputs (seeded {SEED}, not timed): {PER_CATEGORY} facilities in each of {len(CATEGORIES)} categories and "
         f"{N_DEMAND:,} demand units at random points of random edges of the Porto walking network "
         f"({inp['nodes']:,} nodes) ±{JITTER_M:g} m; larger variants: {BIG_DEMAND:,} units, or {BIG_PER_CATEGORY:,} "
         "facilities per category. Profile `15min`.", "",
         "| run | what | median wall s | min–max s | median CPU s | peak RSS MB | × bare | target |",
         "|---|---|---:|---:|---:|---:|---:|---|"]
    rows = (("cold", "`circles analyze`, every default output, cold cache", r["cold"], f"≤ {TARGETS['cold']:g}×"),
            ("warm", "`circles analyze`, every default output, warm cache", r["warm"], f"≤ {TARGETS['warm']:g}×"),
            ("figures_only", "`circles analyze --figures-only`, warm", r["figures_only"],
             f"≤ {TARGETS['figures_only']:g}×"),
            ("demand80k", f"warm, {BIG_DEMAND:,} units", s["demand80k"]["median_s"] / s["bare"]["median_s"],
             f"≤ {TARGETS['growth']:g}× warm"),
            ("facilities2000", f"warm, {BIG_PER_CATEGORY:,} facilities per category",
             s["facilities2000"]["median_s"] / s["bare"]["median_s"], f"≤ {TARGETS['growth']:g}× warm"),
            ("bare", "bare reference (pyosmium → CSR → 3 Dijkstra), whole process", 1.0, ""))
    for k, what, ratio, target in rows:
        x = s[k]
        L.append(f"| {k} | {what} | {x['median_s']:.2f} | {x['min_s']:.2f}–{x['max_s']:.2f} | {x['median_cpu_s']:.2f} | "
                 f"{x['peak_rss_mb']:.0f} | {ratio:.2f} | {target} |")
    L += ["", "## Targets", ""]

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**NOT met**"

    L.append(f"- every default output, warm: {r['warm']:.2f}× the bare reference (target ≤ {TARGETS['warm']:g}×) — "
             f"{verdict(r['warm'] <= TARGETS['warm'])}; cold cache {r['cold']:.2f}× (≤ {TARGETS['cold']:g}×) — "
             f"{verdict(r['cold'] <= TARGETS['cold'])}.")
    L.append(f"- figures only: {r['figures_only']:.2f}× (≤ {TARGETS['figures_only']:g}×) — "
             f"{verdict(r['figures_only'] <= TARGETS['figures_only'])}.")
    L.append(f"- growth: {BIG_DEMAND:,} units {r['demand80k']:.2f}× and {BIG_PER_CATEGORY:,} facilities per category "
             f"{r['facilities2000']:.2f}× the 20k/500 warm run (each ≤ {TARGETS['growth']:g}×) — "
             f"{verdict(max(r['demand80k'], r['facilities2000']) <= TARGETS['growth'])}.")
    peak = s["warm"]["peak_rss_mb"]
    L.append(f"- peak memory of the warm run: {peak:.0f} MB (≤ {TARGETS['peak_rss_mb']:g} MB) — "
             f"{verdict(peak <= TARGETS['peak_rss_mb'])}; cold {s['cold']['peak_rss_mb']:.0f} MB.")
    L.append(f"- the bare reference's work alone (no interpreter start, no imports): {s['bare_work']['median_s']:.2f} s; "
             f"the warm run is {r['warm_over_bare_work']:.1f}× that.")
    st = p["stages"]["stages_s"]
    total = sum(st.values())
    L += ["", "## Where (a)'s time goes (in process, warm cache, one run; the pipeline's own stopwatch)", "",
          "| stage | wall s | share |", "|---|---:|---:|"]
    for k in STAGES:
        L.append(f"| {k} | {st.get(k, 0.0):.2f} | {100 * st.get(k, 0.0) / total:.0f} % |")
    L.append(f"| **total** | **{total:.2f}** | 100 % |")
    L += ["", "Bare reference stages (median, work only): "
          + ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in p["bare"][0]["stages_s"].items()) + ".",
          "Output sizes (MB): " + ", ".join(f"{k} {v:g}" for k, v in p["warm"][0]["outputs_mb"].items()) + ".", ""]
    if "osmnx" in p:
        o = p["osmnx"]
        L += [f"(c) osmnx-examples approach: {o['estimated_full_s'] + o['import_s']:.0f} s "
              f"({'extrapolated from ' + str(o['facilities_done']) + ' facilities' if o['extrapolated'] else 'measured'}),"
              f" {o['peak_rss_mb']:.0f} MB peak: {(o['estimated_full_s'] + o['import_s']) / s['warm']['median_s']:.0f}× "
              "the warm run.", ""]
    L += ["## Coverage (share of the demand column within 15 min)", "", "| category | (a) | (b) bare |", "|---|---:|---:|"]
    for cat, _, _ in CATEGORIES:
        L.append(f"| {cat} | {100 * p['warm'][0]['coverage'][cat]:.1f} % | {100 * p['bare'][0]['coverage'][cat]:.1f} % |")
    loads = [x["load1_before"] for k in ("cold", "warm", "figures_only", "bare") for x in p[k]]
    L += ["", "(b) snaps to the nearest node and ignores way factors, so its shares differ slightly.", "",
          f"Machine: nproc {m['nproc']}, Python {m['python']}, {m['platform']}, {m['date']}; 1-min load before the runs "
          f"{_fmt_load(loads)}. Code: commit {m.get('git', '?')}.", ""]
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="measured runs of every variant (default 3)")
    ap.add_argument("--pbf", type=Path, default=DEFAULT_PBF, help=f"input .osm.pbf (default {DEFAULT_PBF})")
    ap.add_argument("--osmnx", action="store_true", help="also run (c), the osmnx-examples approach (slow)")
    ap.add_argument("--osmnx-budget-s", type=float, default=300.0,
                    help="stop (c)'s facility loop after this many seconds and extrapolate (0 = no limit)")
    ap.add_argument("--wait-load", type=float, default=0.0, metavar="LOAD",
                    help="before each measured run wait (up to 120 s) for the 1-min load average to fall below LOAD")
    ap.add_argument("--out-dir", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    ap.add_argument("--_worker", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_rusage", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._worker:
        _child_main(*a._worker)
        return 0
    if a._rusage:
        return _rusage_main(a._rusage[0], a._rusage[1:])
    if not a.pbf.is_file():
        print(f"error: {a.pbf}: no such .osm.pbf file; pass the Porto extract with --pbf PATH", file=sys.stderr)
        return 2
    if a.runs < 1:
        print(f"error: --runs is {a.runs}; it must be at least 1", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench_analyze_") as td:
        res = {"porto": _run_porto(a, Path(td), _say), "machine": _machine()}
    a.out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(a.out_dir / "analyze_porto.json", json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    md = _porto_md(res)
    atomic_write(a.out_dir / "analyze_porto.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

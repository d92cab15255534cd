"""Benchmark: `circles analyze` on Porto, against a bare scipy lower bound and the osmnx-examples approach.

The issue's benchmark: Porto (``porto.osm.pbf``), 500 facilities in each of 3 categories and
~20,000 demand units, measured side by side:

(a) project
    ``circles analyze --network porto.osm.pbf --facilities ledger.csv --population pop.csv --out DIR``
    as a subprocess under ``/usr/bin/time -v`` (wall time, user+sys CPU, peak RSS), with a fresh
    ``CIRCLES_CACHE_DIR`` (cold: the .pbf is parsed) and again with the same cache (warm).
    Also an in-process breakdown: the real `circles.analysis.run_analysis` and
    `AnalysisResult.write`, with ``time.perf_counter`` wrappers put around the functions they call
    (module attributes replaced for the run; the project code is unchanged), and one cProfile run.
(b) bare reference (a lower bound), written here: one pyosmium pass over the highway ways (osmnx's
    walk filter string, node locations resolved by libosmium) → every consecutive node pair an
    edge (no simplification, no component filter) → one scipy CSR matrix →
    ``scipy.sparse.csgraph.dijkstra(min_only=True, indices=facility nodes, limit=60 min)`` per
    category → demand and facilities snapped to their nearest node with ``cKDTree``. Also the
    variant (b') that takes the project's own network instead (``network.load_network(pbf,
    cache=False)``, then ``net.csr``): the lower bound given the project's network build.
(c) the osmnx-examples approach (notebook 13, isolines/isochrones): the .pbf filtered with osmnx's
    own walk filter to OSM XML (`bench.osmnx_reference.write_filtered_xml`, not timed) →
    ``ox.graph_from_xml(bidirectional=True)`` → ``ox.project_graph`` → ``time`` edge attribute per
    speed → per facility ``ox.nearest_nodes`` + ``nx.ego_graph(radius=15, distance="time")`` +
    the notebook's ``make_iso_polys`` (edge_buff=25, node_buff=50, no infill) → union per category
    → demand counted by point in polygon. Facilities are processed round-robin over the
    categories; when the loop exceeds ``--osmnx-budget-s`` it stops and the loop (and the
    unions) are extrapolated linearly to all facilities (said so in the results).

Inputs are generated once (seeded, not timed) in a temporary folder: a ledger CSV (name,
category, tier, lon, lat) with 500 facilities per category (elderly/station, meal/point,
child/home) and a population CSV (demand_id, name, lon, lat, population, pop_60plus, pop_0_17)
of 20,000 units, all at random points of random edges of the Porto walking network plus up to
±15 m of jitter in x and y, WGS84.

Growth: the synthetic sample (`circles.sample.make_sample(size=s)`, default sizes 2, 20, 200 ≈
10k, 100k, 1M nodes). Each size is generated in one subprocess and pickled (not timed); a fresh
subprocess then runs `run_analysis` on it (its ``--sample`` path with `make_sample` replaced by
the unpickled district) and writes the outputs, timing each stage and reading the peak RSS.

Usage::

    python bench/bench_analyze.py [--runs 3] [--skip-osmnx] [--skip-growth] [--skip-porto]
                                  [--osmnx-budget-s 900] [--growth-sizes 2,20,200]

Writes ``bench/results/analyze_porto.json`` (raw figures, Porto and growth),
``bench/results/analyze_porto.md`` and ``bench/results/analyze_growth.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
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
JITTER_M = 15.0
# (category, tier, walking speed km/h of the 15min profile); checked against the profile at run time
CATEGORIES = (("elderly", "station", 3.6), ("meal", "point", 3.6), ("child", "home", 4.5))
DEMAND_COLUMN = {"elderly": "pop_60plus", "meal": "pop_60plus", "child": "pop_0_17"}
MINUTES = 15.0
HORIZON_MIN = 60.0
TARGET_VS_BARE = 8.0  # (a) at most 8x (b)
TARGET_VS_OSMNX = 20.0  # (a) at least 20x faster than (c)
EDGE_BUFF, NODE_BUFF = 25.0, 50.0  # make_iso_polys defaults of the osmnx-examples notebook
TIME_BIN = "/usr/bin/time"


# =========================================================================== child side
def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _cpu_s() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class _Timers:
    """Inclusive wall and CPU time and call count per name; functions wrapped in place for one run.

    A wrapper made with ``ctx=`` names the context of the calls made while it runs, and one made
    with ``by_ctx=True`` files its time under its name plus that context (e.g. `_draw` called for
    the per-facility areas, or directly for a category's union, rings and catchments). Top-level stages (no dot in their number)
    are written to `progress` as they finish, so a run stopped by a time limit still tells where it was.
    """

    def __init__(self, progress: str | None = None) -> None:
        self.s: dict[str, float] = {}
        self.c: dict[str, float] = {}
        self.n: dict[str, int] = {}
        self.rss: dict[str, float] = {}
        self.ctx: list[str] = []
        self.info: dict[str, Any] = {}
        self.progress = progress
        self.t0 = time.perf_counter()
        self._undo: list[tuple[Any, str, Any]] = []

    def add(self, name: str, dt: float, dc: float) -> None:
        self.s[name] = self.s.get(name, 0.0) + dt
        self.c[name] = self.c.get(name, 0.0) + dc
        self.n[name] = self.n.get(name, 0) + 1

    def _top(self, label: str) -> bool:
        return "." not in label.split(" ", 1)[0]

    def _dump(self, running: str | None) -> None:
        if self.progress:
            Path(self.progress).write_text(json.dumps({
                "stages_s": self.s, "stages_cpu_s": self.c, "calls": self.n, "rss_after_mb": self.rss, **self.info,
                "running": running, "elapsed_s": time.perf_counter() - self.t0, "rss_now_mb": _rss_mb()}))

    def wrap(self, obj: Any, attr: str, name: str | None = None, *, key_arg: int | None = None,
             ctx: str | None = None, by_ctx: bool = False, on_result=None) -> None:
        fn = getattr(obj, attr, None)
        if fn is None:  # the project moved on: time what exists
            return
        label = name or attr

        def wrapper(*args, **kw):
            full = label if key_arg is None else f"{label}[{args[key_arg]}]"
            if by_ctx:
                full = f"{full} [{self.ctx[-1] if self.ctx else 'union, rings, catchments'}]"
            if self._top(full):
                self._dump(full)
            if ctx:
                self.ctx.append(ctx)
            t, c = time.perf_counter(), time.process_time()
            try:
                out = fn(*args, **kw)
                if on_result is not None:
                    on_result(self, out)
                return out
            finally:
                self.add(full, time.perf_counter() - t, time.process_time() - c)
                self.rss[full] = _rss_mb()
                if ctx:
                    self.ctx.pop()
                if self._top(full):
                    self._dump(None)

        self._undo.append((obj, attr, fn))
        setattr(obj, attr, wrapper)

    def restore(self) -> None:
        for obj, attr, fn in reversed(self._undo):
            setattr(obj, attr, fn)
        self._undo.clear()


def _instrument(t: _Timers) -> None:
    """Wrap the functions `run_analysis` and `AnalysisResult.write` call (names looked up at call time)."""
    import circles.analysis as ca
    import circles.coverage as cc
    import circles.demand as cd
    import circles.outputs.analysis as ce
    import circles.facilities as cf
    import circles.isochrones as ci
    import circles.outputs.map as cm
    import network
    import network.load as nl

    # stages of run_analysis (it imports these inside its body, or at module level in circles.analysis)
    t.wrap(network, "load_network", "1 network load",
           on_result=lambda tm, net: tm.info.update(nodes=net.n_nodes, edges=net.n_edges))
    t.wrap(cf, "read_ledger", "2 ledger read + checks")
    t.wrap(cf, "ledger_from_frame", "2.0 ledger_from_frame (checks)")  # called by read_ledger; the --sample path
    t.wrap(cd, "read_population", "3 demand read")
    t.wrap(cd, "demand_from_frame", "3.1 demand_from_frame (checks)")  # called by read_population; --sample
    t.wrap(ca, "assess", "4 assess")
    t.wrap(ca, "report_service_areas", "5 service areas")
    t.wrap(ca.AnalysisResult, "write", "6 AnalysisResult.write (map + files)")
    t.wrap(cm, "coverage_map", "6.1 map: coverage_map (folium)")
    t.wrap(cm, "map_html", "6.2 map: map_html (render page)")
    t.wrap(ca, "write_analysis", "6.3 write_analysis (all files)")
    # inside the network load
    t.wrap(nl, "read_highway_ways", "1.1 pyosmium read (read_highway_ways)")
    t.wrap(nl, "build_network", "1.2 build_network")
    t.wrap(nl, "_cache_read", "1.3 cache read")
    t.wrap(nl, "_cache_write", "1.4 cache write")
    t.wrap(nl, "_cache_key", "1.5 cache key (sha256 of the file)")
    # inside the ledger checks
    t.wrap(cf, "_coords_hint", "2.1 coordinate-system hint (3 snaps)")
    t.wrap(cf, "_check_network", "2.2 off-network check (snap)")
    # inside assess
    t.wrap(cc, "_snap_frame", "4.1 snap points to edges")
    t.wrap(cc, "nearest_source", "4.2 nearest_source (multi-source Dijkstra)")
    t.wrap(cc, "district_figures", "4.3 district figures")
    t.wrap(cc, "coverage_sets", "4.4 coverage_sets (2SFCA)")
    # inside the service areas
    t.wrap(ci, "service_areas", "5.1 service_areas (per category)")
    t.wrap(ci, "sample_minutes", "5.2 sample_minutes (times at street samples)", by_ctx=True)
    t.wrap(ci, "_facility_areas", "5.3 per-facility areas (capped)", ctx="per-facility areas")
    t.wrap(ci, "_draw", "5.4 _draw: grid, disc filter, outlines", by_ctx=True)
    t.wrap(ci, "disc_min", "5.5 disc_min (band filter)", by_ctx=True)
    t.wrap(ci, "polygons", "5.6 polygons (GDAL polygonize + simplify)", by_ctx=True)
    # inside the writers: building the objects, then serialising + writing each file
    t.wrap(ce, "summary_dict", "6.4 build summary.json")
    t.wrap(ce, "access_table", "6.5 build access.csv")
    t.wrap(ce, "gaps_geojson", "6.6 build gaps.geojson (gap areas + features)")
    t.wrap(ce, "areas_geojson", "6.7 build isochrones.geojson (features)")
    t.wrap(cc, "_gap_areas", "6.6.1 gap areas (grid; once per category, reused by the map)")
    t.wrap(ce, "summary_table", "6.8 build summary table")
    t.wrap(ce, "csv_bytes", "6.9 serialise the CSV tables")
    t.wrap(ce, "summary_workbook", "6.10 serialise summary.xlsx")
    t.wrap(ce, "write_run", "6.11 stage the files + swap the folder (write_run)")


def _outputs(out: Path) -> dict[str, float]:
    return {p.name: round(p.stat().st_size / 1e6, 3) for p in sorted(Path(out).iterdir()) if p.is_file()}


def _coverage_of(report) -> dict[str, float]:
    return {c.category: c.coverage for c in report.categories}


def _work_stages(a: dict[str, Any]) -> dict[str, Any]:
    """(a) in process: run_analysis + write with every stage timed; a cold cache unless told."""
    t0 = time.perf_counter()
    from circles.analysis import AnalysisInputs, run_analysis

    import network

    import_s = time.perf_counter() - t0
    base = _rss_mb()
    t = _Timers()
    _instrument(t)
    inp = AnalysisInputs(network=a["pbf"], facilities_path=a["ledger"], population_path=a["pop"])
    c0, t0 = _cpu_s(), time.perf_counter()
    res = run_analysis(inp)
    t_run = time.perf_counter() - t0
    res.write(Path(a["out"]))
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    peak = _rss_mb()
    t.restore()
    # the warm network load (cache filled by the run above): what a second run pays
    t1 = time.perf_counter()
    net2 = network.load_network(a["pbf"])
    warm_load = time.perf_counter() - t1
    areas = res.service_areas
    report = res.report
    from circles.facilities import read_ledger
    from circles.profiles import load_profile

    led = read_ledger(a["ledger"], profile=load_profile("15min"), net=net2)
    kinds: dict[str, int] = {}
    for p in led.report.problems:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    return {
        "wall_s": wall, "cpu_s": cpu, "run_analysis_s": t_run, "import_s": import_s, "rss_after_imports_mb": base,
        "peak_rss_mb": peak, "stages_s": t.s, "stages_cpu_s": t.c, "calls": t.n, "rss_after_mb": t.rss,
        "warm_network_load_s": warm_load, "cache": net2.report.get("cache"),
        "nodes": net2.n_nodes, "edges": net2.n_edges, "facilities": int(len(report.facilities)),
        "demand_units": int(len(report.demand)), "coverage": _coverage_of(report),
        "service_area_rows": {str(k): int(v) for k, v in areas["kind"].value_counts().items()},
        "outputs_mb": _outputs(Path(a["out"])), "warnings": list(report.warnings),
        "ledger_problem_kinds": kinds, "ledger_median_snap_m": led.report.median_snap_m,
        "ledger_suggested_coords": led.report.suggested_coords,
        "off_network_demand": int(report.demand["off_network"].sum()),
        "off_network_facilities": int(report.facilities["off_network"].sum()),
    }


def _work_profile(a: dict[str, Any]) -> dict[str, Any]:
    """(a) under cProfile: run_analysis + write; the top functions by own and by cumulative time."""
    import cProfile
    import io
    import pstats

    from circles.analysis import AnalysisInputs, run_analysis

    inp = AnalysisInputs(network=a["pbf"], facilities_path=a["ledger"], population_path=a["pop"])
    pr = cProfile.Profile()
    t0 = time.perf_counter()
    pr.enable()
    res = run_analysis(inp)
    res.write(Path(a["out"]))
    pr.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(pr, stream=io.StringIO())

    def top(key: str, n: int) -> list[dict[str, Any]]:
        rows = []
        for (file, line, fn), (cc, nc, tt, ct, _) in st.stats.items():
            rows.append({"function": fn, "file": _short(file), "line": line, "calls": nc,
                         "tottime_s": tt, "cumtime_s": ct})
        rows.sort(key=lambda r: r[key], reverse=True)
        return rows[:n]

    return {"wall_s": wall, "top_tottime": top("tottime_s", 25), "top_cumtime": top("cumtime_s", 40)}


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


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


def _work_bare_net(a: dict[str, Any]) -> dict[str, Any]:
    """(b') the project's network (`load_network(cache=False)`) → net.csr → the same Dijkstra and lookups."""
    t0 = time.perf_counter()
    import numpy as np
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    from network import load_network

    import_s = time.perf_counter() - t0
    base = _rss_mb()
    tm: dict[str, float] = {}
    c0, t0 = _cpu_s(), time.perf_counter()
    led, pop = _read_inputs_bare(a)
    tm["csv_read_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    net = load_network(a["pbf"], mode="walk", cache=False)
    tm["load_network_s"] = time.perf_counter() - t
    t = time.perf_counter()
    tree = cKDTree(np.column_stack([net.node_x, net.node_y]))
    fac_nodes = {}
    for cat, _tier, _kmh in CATEGORIES:
        f = led[led["category"] == cat]
        fx, fy = net.to_xy(f["lon"].to_numpy(float), f["lat"].to_numpy(float))
        fac_nodes[cat] = tree.query(np.column_stack([fx, fy]))[1]
    dx, dy = net.to_xy(pop["lon"].to_numpy(float), pop["lat"].to_numpy(float))
    dem_nodes = tree.query(np.column_stack([dx, dy]))[1]
    tm["snap_s"] = time.perf_counter() - t

    def dist_fn(kmh, sources):
        t1 = time.perf_counter()
        g = net.csr(net.travel_time_s(kmh, way_factors=False))
        tm["csr_build_s"] = tm.get("csr_build_s", 0.0) + time.perf_counter() - t1
        return dijkstra(g, directed=True, indices=sources, min_only=True, limit=HORIZON_MIN * 60.0)

    weights = {c: pop[c].to_numpy(float) for c in ("pop_60plus", "pop_0_17")}
    cov = _bare_coverage(dist_fn, fac_nodes, dem_nodes, weights, tm)
    tm["dijkstra_s"] -= tm.get("csr_build_s", 0.0)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    return {"wall_s": wall, "cpu_s": cpu, "import_s": import_s, "rss_after_imports_mb": base,
            "peak_rss_mb": _rss_mb(), "stages_s": tm, "nodes": net.n_nodes,
            "directed_edges": net.n_directed_edges, "km": net.total_length_km, "coverage": cov}


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


def _work_growth_gen(a: dict[str, Any]) -> dict[str, Any]:
    import pickle

    from circles.sample import make_sample

    t0 = time.perf_counter()
    s = make_sample(size=a["size"])
    gen_s = time.perf_counter() - t0
    with open(a["pickle"], "wb") as f:
        pickle.dump(s, f, protocol=pickle.HIGHEST_PROTOCOL)
    fac = s.facilities.groupby("category").size().to_dict()
    return {"generate_s": gen_s, "peak_rss_mb": _rss_mb(), "raw_nodes": int(len(s.ways.node_id)),
            "ways": int(s.ways.n_ways), "facilities": {k: int(v) for k, v in fac.items()},
            "demand_units": int(len(s.population))}


def _work_growth(a: dict[str, Any]) -> dict[str, Any]:
    """One sample size: run_analysis(sample=True) on the unpickled district + write; stages and RSS."""
    import pickle

    t0 = time.perf_counter()
    import circles.sample as cs
    from circles.analysis import AnalysisInputs, run_analysis

    import_s = time.perf_counter() - t0
    rss_imports = _rss_mb()
    t0 = time.perf_counter()
    with open(a["pickle"], "rb") as f:
        sample = pickle.load(f)
    unpickle_s = time.perf_counter() - t0
    base = _rss_mb()
    cs.make_sample = lambda *args, **kw: sample  # run_analysis imports it at call time
    t = _Timers(progress=a.get("progress"))
    _instrument(t)
    c0, t0 = _cpu_s(), time.perf_counter()
    res = run_analysis(AnalysisInputs(sample=True))
    t_run = time.perf_counter() - t0
    res.write(Path(a["out"]))
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    peak = _rss_mb()
    t.restore()
    net = res.inputs["networks"]["walk"]
    return {"wall_s": wall, "cpu_s": cpu, "run_analysis_s": t_run, "import_s": import_s,
            "rss_after_imports_mb": rss_imports, "unpickle_s": unpickle_s, "rss_after_inputs_mb": base,
            "peak_rss_mb": peak, "stages_s": t.s, "stages_cpu_s": t.c, "calls": t.n, "rss_after_mb": t.rss,
            "nodes": net["nodes"], "edges": net["edges"], "length_km": net["length_km"],
            "facilities": int(len(res.report.facilities)), "demand_units": int(len(res.report.demand)),
            "service_area_rows": {str(k): int(v) for k, v in res.service_areas["kind"].value_counts().items()},
            "outputs_mb": _outputs(Path(a["out"])), "coverage": _coverage_of(res.report)}


def _work_inputs(a: dict[str, Any]) -> dict[str, Any]:
    """Generate the Porto inputs (in a child, so the parent stays small: a child's ru_maxrss starts at its parent's)."""
    from osmnx import _overpass

    _check_profile()
    out = _generate_inputs(Path(a["pbf"]), Path(a["tmp"]))
    out["filter"] = _overpass._get_network_filter("walk")
    return out


_WORKERS = {"inputs": _work_inputs, "stages": _work_stages, "profile": _work_profile, "bare": _work_bare, "bare_net": _work_bare_net,
            "convert": _work_convert, "osmnx": _work_osmnx, "growth_gen": _work_growth_gen,
            "growth": _work_growth}


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


def _run_cli(a: dict[str, Any], out_dir: Path, cache_dir: Path, tmp: Path, wait_load: float) -> dict[str, Any]:
    """(a) `circles analyze` as a subprocess: wall, CPU and peak RSS (GNU time, else getrusage of a wrapper)."""
    _wait_for_load(wait_load)
    cmd = _circles_cmd() + ["analyze", "--network", a["pbf"], "--facilities", a["ledger"],
                            "--population", a["pop"], "--out", str(out_dir)]
    tfile = tmp / "time_v.txt"
    gnu = Path(TIME_BIN).exists()
    if gnu:
        cmd = [TIME_BIN, "-v", "-o", str(tfile)] + cmd
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_rusage", str(tfile)] + cmd
    env = {**os.environ, "CIRCLES_CACHE_DIR": str(cache_dir)}
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"circles analyze failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    figures = _parse_time_v(tfile.read_text()) if gnu else json.loads(tfile.read_text())
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    return {"wall_s": wall, **figures, "cpu_s": figures.get("user_s", 0.0) + figures.get("sys_s", 0.0),
            "load1_before": load_before, "load1_after": os.getloadavg()[0], "measured_by": "GNU time -v" if gnu else "getrusage",
            "coverage": {k: v["coverage"] for k, v in summary["categories"].items()},
            "outputs_mb": _outputs(out_dir), "stdout": proc.stdout.strip().splitlines()}


def _rusage_main(out: str, cmd: list[str]) -> int:
    import resource

    t0 = time.perf_counter()
    rc = subprocess.run(cmd).returncode
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    Path(out).write_text(json.dumps({"time_wall_s": time.perf_counter() - t0, "user_s": ru.ru_utime,
                                     "sys_s": ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024.0}))
    return rc


def _generate_inputs(pbf: Path, tmp: Path) -> dict[str, Any]:
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
        lon, lat = points(PER_CATEGORY)
        frames.append(pd.DataFrame({"name": [f"{cat} {tier} {i + 1}" for i in range(PER_CATEGORY)],
                                    "category": cat, "tier": tier, "lon": lon, "lat": lat}))
    ledger = tmp / "ledger.csv"
    pd.concat(frames, ignore_index=True).to_csv(ledger, index=False)
    lon, lat = points(N_DEMAND)
    population = rng.integers(50, 501, N_DEMAND)
    p60 = np.minimum(np.round(population * rng.normal(0.20, 0.03, N_DEMAND)).astype(int), population)
    p17 = np.minimum(np.round(population * rng.normal(0.18, 0.03, N_DEMAND)).astype(int), population - p60)
    pop = tmp / "population.csv"
    pd.DataFrame({"demand_id": [f"D{i + 1:05d}" for i in range(N_DEMAND)],
                  "name": [f"unit {i + 1}" for i in range(N_DEMAND)], "lon": lon, "lat": lat,
                  "population": population, "pop_60plus": np.maximum(p60, 0), "pop_0_17": np.maximum(p17, 0)}
                 ).to_csv(pop, index=False)
    # the same ledger with a capacity column (beds/seats): `assess` then also computes 2SFCA access
    led = pd.read_csv(ledger)
    led["capacity"] = np.random.default_rng(SEED + 1).integers(10, 81, len(led))
    ledger_cap = tmp / "ledger_capacity.csv"
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


def _summ(runs: list[dict[str, Any]], key: str = "wall_s", cpu: str = "cpu_s") -> dict[str, Any]:
    w = [r[key] for r in runs]
    return {"median_s": statistics.median(w), "min_s": min(w), "max_s": max(w),
            "median_cpu_s": _med(runs, cpu), "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "runs": len(runs), "loads": [round(r["load1_before"], 2) for r in runs]}


REST = "5.7 rest of service_areas (node owners, frames, to_crs)"


def _with_rest(st: dict[str, float]) -> dict[str, float]:
    """Add what service_areas does besides its timed parts (node owners, frames, reprojection)."""
    sa = st.get("5.1 service_areas (per category)")
    if sa is None:
        return st
    parts = sum(v for k, v in st.items()
                if (k.startswith(("5.2 ", "5.4 ")) and k.endswith("[union, rings, catchments]"))
                or k.startswith("5.3 "))
    return {**st, REST: sa - parts}


def _stage_medians(runs: list[dict[str, Any]], key: str = "stages_s") -> dict[str, float]:
    per_run = [_with_rest({k: v for k, v in r[key].items() if k != REST}) for r in runs]
    names = sorted({k for r in per_run for k in r}, key=_stage_key)
    return {k: statistics.median(r.get(k, 0.0) for r in per_run) for k in names}


def _stage_key(name: str):
    m = re.match(r"(\d+)(?:\.(\d+))?", name)
    return (int(m.group(1)), int(m.group(2) or 0), name) if m else (99, 0, name)


# --------------------------------------------------------------------------- markdown
def _fmt_load(loads: list[float]) -> str:
    return f"{min(loads):.2f}–{max(loads):.2f}" if loads else "n/a"


def _porto_md(res: dict[str, Any]) -> str:
    m, p = res["machine"], res["porto"]
    s = p["summary"]
    L = [f"# `circles analyze` on {Path(p['pbf']).name}: end to end, bare lower bound, osmnx-examples approach", ""]
    inp = p["inputs"]
    L += [f"Inputs (seeded {SEED}, generated once, not timed): {PER_CATEGORY} facilities in each of "
          f"{len(CATEGORIES)} categories ({', '.join(f'{c}/{t}' for c, t, _ in CATEGORIES)}) and "
          f"{N_DEMAND:,} demand units ({inp['population_total']:,} people), at random points of random edges of the "
          f"Porto walking network ({inp['nodes']:,} nodes, {inp['edges']:,} edges) plus ±{JITTER_M:g} m jitter; "
          "WGS84 CSV files. Profile `15min` (15 min at 3.6 km/h elderly/meal, 4.5 km/h child; 60 min horizon).", ""]
    L += ["## Side by side", "",
          "| | what | median wall s | min–max s | median CPU s | peak RSS MB | runs | 1-min load before |",
          "|---|---|---:|---:|---:|---:|---:|---|"]

    def row(tag: str, what: str, k: str) -> None:
        if k in s:
            x = s[k]
            L.append(f"| {tag} | {what} | {x['median_s']:.2f} | {x['min_s']:.2f}–{x['max_s']:.2f} | "
                     f"{x['median_cpu_s']:.2f} | {x['peak_rss_mb']:.0f} | {x['runs']} | {_fmt_load(x['loads'])} |")

    row("(a)", "`circles analyze`, cold cache (process, GNU time)", "cli_cold")
    row("(a)", "`circles analyze`, warm cache (process, GNU time)", "cli_warm")
    row("(a)", "in process: `run_analysis` + `write`, cold cache (no imports)", "stages")
    row("(b)", "bare: pyosmium → CSR → scipy Dijkstra (process)", "bare_process")
    row("(b)", "bare, work only (no interpreter start/imports)", "bare")
    row("(b')", "`load_network(cache=False)` → `net.csr` → scipy Dijkstra (process)", "bare_net_process")
    row("(b')", "same, work only", "bare_net")
    if "osmnx" in p:
        o = p["osmnx"]
        tag = " (extrapolated)" if o["extrapolated"] else ""
        L.append(f"| (c) | osmnx-examples: graph_from_xml → ego_graph + buffered edges per facility{tag} | "
                 f"{o['estimated_full_s'] + o['import_s']:.0f} | single run | "
                 f"{o['estimated_full_cpu_s'] + o['process_cpu_s'] - o['cpu_s']:.0f} | "
                 f"{o['peak_rss_mb']:.0f} | 1 | {o['load1_before']:.2f} |")
    L += ["", "Process rows: wall time of the whole subprocess (interpreter start, imports, work, exit); "
          "“work only” rows: the clock inside the process around the work. Peak RSS: `ru_maxrss` "
          "(GNU `time -v` for the CLI) of the process, nothing subtracted. Timings are medians of the runs; "
          "the machine has 2 cores shared with other engineers, so wall times carry their load "
          "(CPU time is less sensitive).", ""]

    r = p["ratios"]
    L += ["## Targets", ""]
    L.append(f"- (a)/(b) = {r['a_over_b']:.1f}× (cold CLI process {s['cli_cold']['median_s']:.2f} s / bare process "
             f"{s['bare_process']['median_s']:.2f} s); target ≤ {TARGET_VS_BARE:g}× — "
             f"**{'met' if r['a_over_b'] <= TARGET_VS_BARE else 'NOT met'}**. Warm cache: {r['a_warm_over_b']:.1f}×. "
             f"Work only (in-process `run_analysis`+`write` vs bare work): {r['a_work_over_b_work']:.1f}×. "
             f"CPU time of the processes: {r['a_cpu_over_b_cpu']:.1f}×.")
    L.append(f"- Against (b') (the project's own network build as the read step): (a)/(b') = {r['a_over_bnet']:.1f}×.")
    st_w, st_c = p["stages_median"], p["stages_cpu_median"]
    core = ("1 network load", "2 ledger read + checks", "3 demand read", "4 assess", "6.5 build access.csv",
            "6.4 build summary.json", "6.8 build summary table", "6.9 serialise + write[access.csv]",
            "6.9 serialise + write[summary.json]", "6.9 serialise + write[summary.csv]",
            "6.9 serialise + write[summary.xlsx]")
    core_w = sum(st_w.get(k, 0.0) for k in core)
    core_c = sum(st_c.get(k, 0.0) for k in core)
    display = ("5 service areas", "6.1 map: coverage_map (folium)", "6.2 map: map_html (render page)",
               "6.6 build gaps.geojson (gap areas + features)", "6.7 build isochrones.geojson (features + _clean)",
               "6.9 serialise + write[gaps.geojson]", "6.9 serialise + write[isochrones.geojson]",
               "6.9 serialise + write[map.html]")
    disp_c = sum(st_c.get(k, 0.0) for k in display)
    L.append(f"- Split of (a)'s in-process CPU time ({p['summary']['stages']['median_cpu_s']:.1f} s): the computation "
             f"(network, ledger, demand, assess, access.csv and the summary tables) {core_c:.1f} s CPU / {core_w:.1f} s "
             f"wall = {core_c / _med(p['bare_runs'], 'cpu_s'):.1f}× (b)'s work CPU; the display outputs (service areas, "
             f"map.html, gaps.geojson, isochrones.geojson) {disp_c:.1f} s CPU.")
    if "c_over_a" in r:
        L.append(f"- (c)/(a) = {r['c_over_a']:.1f}× ((c) {r['c_total_s']:.0f} s{' extrapolated' if p['osmnx']['extrapolated'] else ''}"
                 f" incl. {p['osmnx']['import_s']:.1f} s imports / cold CLI {s['cli_cold']['median_s']:.2f} s); target "
                 f"≥ {TARGET_VS_OSMNX:g}× — **{'met' if r['c_over_a'] >= TARGET_VS_OSMNX else 'NOT met'}**. "
                 f"Warm: {r['c_over_a_warm']:.1f}×. CPU time of the processes: {r['c_cpu_over_a_cpu']:.1f}×.")
    L.append("")

    st = p["stages_median"]
    L += ["## Where (a)'s time goes (in process, cold cache, median of the runs)", "",
          "Stage wall times from `time.perf_counter` wrappers put around the functions `run_analysis` and "
          "`AnalysisResult.write` call (inclusive: indented rows are parts of the row above them; "
          "`sample_minutes`, `_draw`, `disc_min` and `polygons` are split by caller: one grid per category for "
          "the union, rings and catchments, or the per-facility areas).", "",
          "| stage | median wall s | median CPU s | share of the wall total | calls |", "|---|---:|---:|---:|---:|"]
    total = p["summary"]["stages"]["median_s"]
    calls = p["stage_runs"][0]["calls"]
    for k, v in sorted(st.items(), key=lambda kv: _stage_key(kv[0])):
        indent = "&nbsp;&nbsp;&nbsp;" if "." in k.split(" ")[0] else ""
        L.append(f"| {indent}{k} | {v:.2f} | {p['stages_cpu_median'].get(k, float('nan')):.2f} | "
                 f"{100 * v / total:.0f} % | {calls.get(k, '')} |")
    L.append(f"| **run_analysis + write** | **{total:.2f}** | **{p['summary']['stages']['median_cpu_s']:.2f}** | 100 % | |")
    sr = p["stage_runs"][0]
    L += ["", f"Imports before the work: {statistics.median(x['import_s'] for x in p['stage_runs']):.2f} s "
          f"(RSS after imports {sr['rss_after_imports_mb']:.0f} MB). Warm network load (cache hit): "
          f"{statistics.median(x['warm_network_load_s'] for x in p['stage_runs']):.2f} s.",
          f"Service-area rows drawn: {sr['service_area_rows']} (500 facilities per category exceed "
          "`MAX_FACILITY_AREAS` = 100, so no per-facility areas; one catchment per facility).",
          "Output sizes (MB): " + ", ".join(f"{k} {v:g}" for k, v in sr["outputs_mb"].items()) + ".",
          f"Ledger check on Porto: problems {sr['ledger_problem_kinds'] or 'none'}; coordinate-system hint: "
          f"{sr['ledger_suggested_coords'] or 'none'} (median snap m by system: "
          + ", ".join(f"{k} {v:.1f}" for k, v in sr["ledger_median_snap_m"].items()) + "); off-network demand units "
          f"{sr['off_network_demand']}, facilities {sr['off_network_facilities']}.", ""]
    capr = p.get("stages_capacity")
    if capr:
        def sc(k):
            return f"{capr['stages_s'].get(k, 0.0):.2f} s wall / {capr['stages_cpu_s'].get(k, 0.0):.2f} s CPU"
        L += ["### The same ledger with a capacity column (one run)", "",
              "With a `capacity` column `assess` also computes capacity-aware access (2SFCA): one truncated search "
              "per facility (`circles.access.coverage_sets`). The Porto ledger above has no capacities; a real ledger "
              "(the template has 容量) has.", "",
              f"- run_analysis + write: {capr['wall_s']:.2f} s wall / {capr['cpu_s']:.2f} s CPU (load "
              f"{capr['load1_before']:.2f}); without capacities (median above) {total:.2f} s / "
              f"{p['summary']['stages']['median_cpu_s']:.2f} s.",
              f"- 4 assess: {sc('4 assess')} (without capacities: {st.get('4 assess', 0.0):.2f} s wall / "
              f"{p['stages_cpu_median'].get('4 assess', 0.0):.2f} s CPU); `coverage_sets`: {sc('4.4 coverage_sets (2SFCA)')}.",
              ""]

    prof = p.get("profile")
    if prof:
        L += [f"### cProfile of `run_analysis` + `write` (one cold run, {prof['wall_s']:.1f} s under the profiler; "
              "the profiler inflates pure-Python code such as the JSON encoder more than C code)", "",
              "Top by own time:", "", "| function | file:line | calls | own s | cumulative s |", "|---|---|---:|---:|---:|"]
        for x in prof["top_tottime"][:15]:
            L.append(f"| `{x['function']}` | {x['file']}:{x['line']} | {x['calls']:,} | {x['tottime_s']:.2f} | "
                     f"{x['cumtime_s']:.2f} |")
        L += ["", "Top project functions by cumulative time:", "", "| function | file:line | calls | cumulative s |",
              "|---|---|---:|---:|"]
        for x in [x for x in prof["top_cumtime"] if x["file"].startswith(("circles/", "network/"))][:15]:
            L.append(f"| `{x['function']}` | {x['file']}:{x['line']} | {x['calls']:,} | {x['cumtime_s']:.2f} |")
        L.append("")

    L += ["## (b) bare reference: stages (median s)", ""]
    for key, title in (("bare", "(b) own pyosmium → CSR"), ("bare_net", "(b') project network")):
        runs = p.get(f"{key}_runs")
        if runs:
            sm = _stage_medians(runs)
            L.append(f"- {title}: " + ", ".join(f"{k.removesuffix('_s')} {v:.3f}" for k, v in sm.items())
                     + f"; imports {_med(runs, 'import_s'):.2f} s; graph {runs[0]['nodes']:,} nodes, "
                     f"{runs[0]['directed_edges']:,} directed edges, {runs[0]['km']:,.1f} km.")
    L += ["", "(b) is a lower bound, not an equivalent: nearest node instead of the nearest point on an edge, "
          "no largest-component filter, no way factors (steps), no ledger/population validation, no outputs, "
          "no service areas.", ""]

    if "osmnx" in p:
        o = p["osmnx"]
        conv = p.get("osmnx_conversion", {})
        L += ["## (c) osmnx-examples approach", ""]
        L.append(f"- Input: `write_filtered_xml(pbf, xml, \"walk\")` (osmnx's walk filter, not timed): "
                 f"{conv.get('ways', 0):,} ways, {conv.get('xml_mb', 0):.0f} MB XML, {conv.get('wall_s', 0):.1f} s.")
        L.append(f"- Graph: {o['nodes']:,} nodes, {o['directed_edges']:,} directed edges. Stages (s): "
                 + ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in o["stages_s"].items()) + ".")
        L.append(f"- Facilities processed: {o['facilities_done']} of {o['facilities_total']} "
                 f"({o['facilities_done_per_category']}); {o['per_facility_s']:.3f} s per facility "
                 f"(median ego graph {o['ego_nodes_median']:.0f} nodes).")
        if o["extrapolated"]:
            L.append(f"- **Extrapolated**: the loop stopped at the {p['osmnx_budget_s']:.0f} s budget; loop and unions "
                     f"scaled linearly by {o['scale']:.2f} to all {o['facilities_total']} facilities: "
                     f"estimated {o['estimated_full_s']:.0f} s of work (+ {o['import_s']:.1f} s imports). "
                     "Its coverage figures below cover only the processed facilities.")
        else:
            L.append(f"- All facilities processed: {o['wall_s']:.0f} s of work (+ {o['import_s']:.1f} s imports).")
        L.append("")

    L += ["## Coverage (share of the demand column within 15 min)", "",
          "| category | (a) project | (b) bare | (b') project network, nearest node | (c) osmnx polygons |",
          "|---|---:|---:|---:|---:|"]
    cov_a = p["cli_cold"][0]["coverage"]
    cov_b = p["bare_runs"][0]["coverage"] if p.get("bare_runs") else {}
    cov_bn = p["bare_net_runs"][0]["coverage"] if p.get("bare_net_runs") else {}
    cov_c = p["osmnx"]["coverage"] if "osmnx" in p else {}
    for cat, _, _ in CATEGORIES:
        def f(d):
            return f"{100 * d[cat]:.1f} %" if cat in d else "–"
        L.append(f"| {cat} | {f(cov_a)} | {f(cov_b)} | {f(cov_bn)} | {f(cov_c)}"
                 f"{' (partial)' if cov_c and p['osmnx']['coverage_is_partial'] else ''} |")
    L += ["", "(c) counts a unit covered when it lies inside the buffered-edge polygon (25 m around edges, 50 m "
          "around nodes), so it over-counts against a network time to the unit itself.", ""]

    loads = [x for k in ("cli_cold", "cli_warm", "stage_runs", "bare_runs", "bare_net_runs") for x in
             (r["load1_before"] for r in p.get(k, []))]
    L += [f"Machine: nproc {m['nproc']}, Python {m['python']}, {m['platform']}, {m['date']}; 1-min load average "
          f"before the runs {_fmt_load(loads)}, at the end {m['loadavg_at_end']} (other engineers share the machine). "
          f"Benchmark parent process peak RSS {m.get('parent_peak_rss_mb', 0):.0f} MB (the floor of every child's "
          "`ru_maxrss`). "
          f"Code: commit {m.get('git', '?')} at the end of the run. "
          "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".", ""]
    return "\n".join(L)


def _growth_md(res: dict[str, Any]) -> str:
    import math

    g, m = res["growth"], res["machine"]
    sizes = g["sizes"]
    done = [x for x in sizes if not x.get("incomplete")]
    L = ["# Growth: `run_analysis` + write on the synthetic sample at ~10k / 100k / 1M nodes", "",
         "Each size: `make_sample(size=s)` in one subprocess, pickled (not timed); a fresh subprocess unpickles it and "
         "runs `run_analysis(AnalysisInputs(sample=True))` (the `--sample` path: network built from `RawWays`, ledger "
         "and demand from frames, `assess` with the sample's boundary and streets, service areas) and "
         "`AnalysisResult.write` (map.html and the files). Stage times from `time.perf_counter` / `time.process_time` "
         "wrappers (inclusive; indented rows are parts of the row above them). Cells are “wall / CPU” seconds, medians of "
         "the runs; CPU time is the steadier figure on this shared machine. Peak RSS = the process's `ru_maxrss` "
         "(it includes the unpickled sample: see “RSS after inputs”).", ""]
    L += ["| | " + " | ".join(f"size {x['size']:g}" for x in sizes) + " |", "|---|" + "---:|" * len(sizes)]

    def line(label: str, fn) -> None:
        L.append(f"| {label} | " + " | ".join(fn(x) for x in sizes) + " |")

    def num(v, fmt="{:,}"):
        return fmt.format(v) if v is not None else "?"

    line("network nodes", lambda x: num(x.get("nodes")))
    line("network edges", lambda x: num(x.get("edges")))
    line("facilities (elderly / meal / child)", lambda x: " / ".join(str(x["gen"]["facilities"].get(c, 0))
                                                                      for c, _, _ in CATEGORIES))
    line("demand units", lambda x: f"{x['gen']['demand_units']:,}")
    line("runs (median of)", lambda x: str(x["runs"]) if x["runs"] else "0 (stopped, partial)")
    line("1-min load before", lambda x: _fmt_load(x["loads"]))
    names = sorted({k for x in sizes for k in x["stages_median"]}, key=_stage_key)

    def cell(x, k):
        if k not in x["stages_median"]:
            return "–" if not x.get("incomplete") else "not reached"
        return f"{x['stages_median'][k]:.2f} / {x['stages_cpu_median'].get(k, float('nan')):.2f}"

    for k in names:
        indent = "&nbsp;&nbsp;&nbsp;" if "." in k.split(" ")[0] else ""
        line(f"{indent}{k}", lambda x, k=k: cell(x, k))

    def total(x):
        if x.get("incomplete"):
            f = x["failed"]
            return (f"{f['error']}; the last stage started was “{f.get('running')}”, "
                    f"{f.get('elapsed_s', 0):.0f} s into the run")
        return f"**{x['wall_median_s']:.2f} / {x['cpu_median_s']:.2f}**"

    line("**run_analysis + write**", total)
    line("µs per node (wall / CPU)", lambda x: "–" if x.get("incomplete") else
         f"{1e6 * x['wall_median_s'] / x['nodes']:.0f} / {1e6 * x['cpu_median_s'] / x['nodes']:.0f}")
    line("peak RSS MB", lambda x: f"{x['peak_rss_mb']:.0f}" if not x.get("incomplete") else
         f"≥ {x['failed'].get('rss_now_mb', 0):.0f} when stopped")
    line("RSS after imports / after inputs MB", lambda x: "–" if x.get("incomplete") else
         f"{x['rss_after_imports_mb']:.0f} / {x['rss_after_inputs_mb']:.0f}")
    line("peak RSS − RSS after inputs MB", lambda x: "–" if x.get("incomplete") else
         f"{x['peak_rss_mb'] - x['rss_after_inputs_mb']:.0f}")
    line("service-area rows", lambda x: ", ".join(f"{k} {v}" for k, v in sorted(x.get("service_area_rows", {}).items()))
         or "–")
    for f in ("isochrones.geojson", "gaps.geojson", "map.html"):
        line(f"{f} MB", lambda x, f=f: f"{x.get('outputs_mb', {}).get(f, 0):.1f}" if "outputs_mb" in x else "–")
    line("generate (not in the total) s", lambda x: f"{x['gen']['generate_s']:.2f}")
    L.append("")

    if len(done) >= 2:
        L += ["## Linearity", "", "Growth exponent k in CPU time ∝ nodesᵏ between consecutive completed sizes "
              "(1 = linear; CPU time, so the other engineers' load does not bend it).", "",
              "| stage | " + " | ".join(f"{x['size']:g}→{y['size']:g}" for x, y in zip(done, done[1:])) + " |",
              "|---|" + "---:|" * (len(done) - 1)]

        def expo(fa, fb, na, nb):
            return "–" if fa <= 0.005 or fb <= 0.005 else f"{math.log(fb / fa) / math.log(nb / na):.2f}"

        for k in ["total"] + names + ["peak RSS − inputs"]:
            cells = []
            for x, y in zip(done, done[1:]):
                if k == "total":
                    fa, fb = x["cpu_median_s"], y["cpu_median_s"]
                elif k == "peak RSS − inputs":
                    fa, fb = x["peak_rss_mb"] - x["rss_after_inputs_mb"], y["peak_rss_mb"] - y["rss_after_inputs_mb"]
                else:
                    fa, fb = x["stages_cpu_median"].get(k, 0.0), y["stages_cpu_median"].get(k, 0.0)
                cells.append(expo(fa, fb, x["nodes"], y["nodes"]))
            L.append(f"| {k} | " + " | ".join(cells) + " |")
        L += ["", "“–”: the stage is absent or under 5 ms at one of the two sizes. Per-facility areas are drawn only "
              "where a category has ≤ `MAX_FACILITY_AREAS` (100) facilities: at the sizes where a category exceeds it "
              "that stage drops out, so compare the totals with it in mind.", ""]
    loads = [v for x in sizes for v in x["loads"]]
    L += [f"Machine: nproc {m['nproc']}, Python {m['python']}, {m['platform']}, {g.get('date', m['date'])}; "
          f"1-min load average before the runs {_fmt_load(loads)} (other engineers share the 2 cores). Benchmark "
          f"parent peak RSS {m.get('parent_peak_rss_mb', 0):.0f} MB (the floor of every child's `ru_maxrss`). "
          f"Code: commit {m.get('git', '?')}.", ""]
    return "\n".join(L)


# ------------------------------------------------------------------------------- main
def _run_porto(a, tmp: Path, say) -> dict[str, Any]:
    pbf = a.pbf.resolve()
    p: dict[str, Any] = {"pbf": str(pbf), "runs": a.runs}
    inp = _spawn("inputs", {"pbf": str(pbf), "tmp": str(tmp)}, tmp)
    say(f"inputs generated in {inp['process_s']:.1f} s")
    p["inputs"] = {k: inp[k] for k in ("nodes", "edges", "population_total")}
    args = {"pbf": str(pbf), "ledger": inp["ledger"], "pop": inp["pop"]}
    walk_filter = inp["filter"]
    p.update(cli_cold=[], cli_warm=[], stage_runs=[], bare_runs=[], bare_net_runs=[])
    for i in range(a.runs):  # round-robin so a burst of outside load hits every variant alike
        cache = tmp / f"cache_{i}"
        r = _run_cli(args, tmp / f"out_cold_{i}", cache, tmp, a.wait_load)
        p["cli_cold"].append(r)
        say(f"run {i + 1}: (a) cold CLI {r['wall_s']:.2f} s, {r['peak_rss_mb']:.0f} MB (load {r['load1_before']:.2f})")
        r = _run_cli(args, tmp / f"out_warm_{i}", cache, tmp, a.wait_load)
        p["cli_warm"].append(r)
        say(f"run {i + 1}: (a) warm CLI {r['wall_s']:.2f} s, {r['peak_rss_mb']:.0f} MB (load {r['load1_before']:.2f})")
        r = _spawn("bare", {**args, "filter": walk_filter}, tmp, wait_load=a.wait_load)
        p["bare_runs"].append(r)
        say(f"run {i + 1}: (b) bare {r['wall_s']:.2f} s work, {r['process_s']:.2f} s process")
        r = _spawn("bare_net", args, tmp, wait_load=a.wait_load)
        p["bare_net_runs"].append(r)
        say(f"run {i + 1}: (b') bare on project network {r['wall_s']:.2f} s work, {r['process_s']:.2f} s process")
        r = _spawn("stages", {**args, "out": str(tmp / f"out_stages_{i}")}, tmp,
                   {"CIRCLES_CACHE_DIR": str(tmp / f"cache_stages_{i}")}, a.wait_load)
        p["stage_runs"].append(r)
        say(f"run {i + 1}: (a) in process {r['wall_s']:.2f} s")
        for d in (tmp / f"out_cold_{i}", tmp / f"out_warm_{i}", tmp / f"out_stages_{i}"):
            shutil.rmtree(d, ignore_errors=True)
    if not a.skip_capacity:
        r = _spawn("stages", {**args, "ledger": inp["ledger_capacity"], "out": str(tmp / "out_capacity")}, tmp,
                   {"CIRCLES_CACHE_DIR": str(tmp / "cache_capacity")}, a.wait_load)
        p["stages_capacity"] = r
        say(f"(a) in process with a capacity column: {r['wall_s']:.2f} s")
        shutil.rmtree(tmp / "out_capacity", ignore_errors=True)
    if not a.skip_profile:
        p["profile"] = _spawn("profile", {**args, "out": str(tmp / "out_profile")}, tmp,
                              {"CIRCLES_CACHE_DIR": str(tmp / "cache_profile")})
        say(f"profile: {p['profile']['wall_s']:.1f} s under cProfile")
    if not a.skip_osmnx:
        xml = tmp / "porto.walk.osm"
        p["osmnx_conversion"] = _spawn("convert", {"pbf": str(pbf), "xml": str(xml)}, tmp)
        say(f"walk-filtered XML written: {p['osmnx_conversion']['wall_s']:.1f} s")
        p["osmnx_budget_s"] = a.osmnx_budget_s
        p["osmnx"] = _spawn("osmnx", {"xml": str(xml), "ledger": inp["ledger"], "pop": inp["pop"],
                                      "budget_s": a.osmnx_budget_s}, tmp)
        o = p["osmnx"]
        say(f"(c) osmnx: {o['facilities_done']}/{o['facilities_total']} facilities in {o['wall_s']:.0f} s, "
            f"estimated full {o['estimated_full_s']:.0f} s")

    s = {"cli_cold": _summ(p["cli_cold"]), "cli_warm": _summ(p["cli_warm"]), "stages": _summ(p["stage_runs"]),
         "bare": _summ(p["bare_runs"]), "bare_net": _summ(p["bare_net_runs"]),
         "bare_process": _summ(p["bare_runs"], "process_s", "process_cpu_s"),
         "bare_net_process": _summ(p["bare_net_runs"], "process_s", "process_cpu_s")}
    p["summary"] = s
    p["stages_median"] = _stage_medians(p["stage_runs"])
    p["stages_cpu_median"] = _stage_medians(p["stage_runs"], "stages_cpu_s")
    ratios = {"a_over_b": s["cli_cold"]["median_s"] / s["bare_process"]["median_s"],
              "a_warm_over_b": s["cli_warm"]["median_s"] / s["bare_process"]["median_s"],
              "a_work_over_b_work": s["stages"]["median_s"] / s["bare"]["median_s"],
              "a_cpu_over_b_cpu": s["cli_cold"]["median_cpu_s"] / _med(p["bare_runs"], "process_cpu_s"),
              "a_over_bnet": s["cli_cold"]["median_s"] / s["bare_net_process"]["median_s"]}
    if "osmnx" in p:
        c_total = p["osmnx"]["estimated_full_s"] + p["osmnx"]["import_s"]
        ratios.update(c_total_s=c_total, c_over_a=c_total / s["cli_cold"]["median_s"],
                      c_over_a_warm=c_total / s["cli_warm"]["median_s"],
                      c_cpu_over_a_cpu=(p["osmnx"]["estimated_full_cpu_s"] + p["osmnx"]["process_cpu_s"]
                                        - p["osmnx"]["cpu_s"]) / s["cli_cold"]["median_cpu_s"])
    p["ratios"] = ratios
    return p


def _run_growth(a, tmp: Path, say) -> dict[str, Any]:
    out = []
    for size in a.growth_sizes:
        pk = tmp / f"sample_{size:g}.pkl"
        gen = _spawn("growth_gen", {"size": size, "pickle": str(pk)}, tmp)
        say(f"growth size {size:g}: generated in {gen['generate_s']:.1f} s ({gen['raw_nodes']:,} raw nodes)")
        n_runs = a.growth_runs if size <= a.growth_large else a.growth_large_runs
        runs = []
        failed = None
        for i in range(n_runs):
            od = tmp / f"growth_out_{size:g}_{i}"
            prog = tmp / f"growth_progress_{size:g}_{i}.json"
            load = os.getloadavg()[0]
            try:
                r = _spawn("growth", {"pickle": str(pk), "out": str(od), "progress": str(prog)}, tmp,
                           wait_load=a.wait_load, timeout=a.growth_timeout_s or None, mem_gb=a.mem_limit_gb or None)
            except RuntimeError as exc:  # time limit, MemoryError under the memory limit, or a failure
                part = json.loads(prog.read_text()) if prog.exists() else {}
                failed = {"error": str(exc), "load1_before": load, **part}
                say(f"growth size {size:g} run {i + 1}/{n_runs}: STOPPED: {exc} (in {part.get('running')})")
                shutil.rmtree(od, ignore_errors=True)
                break
            runs.append(r)
            say(f"growth size {size:g} run {i + 1}/{n_runs}: {r['wall_s']:.1f} s, peak {r['peak_rss_mb']:.0f} MB, "
                f"{r['nodes']:,} nodes (load {r['load1_before']:.2f})")
            shutil.rmtree(od, ignore_errors=True)
        pk.unlink(missing_ok=True)
        if not runs:
            out.append({"size": size, "gen": gen, "incomplete": True, "failed": failed, "runs": 0,
                        "loads": [round(failed["load1_before"], 2)], "nodes": failed.get("nodes"),
                        "edges": failed.get("edges"), "stages_median": failed.get("stages_s", {}),
                        "stages_cpu_median": failed.get("stages_cpu_s", {})})
            continue
        first = runs[0]
        out.append({"size": size, "gen": gen, "runs": len(runs), "loads": [round(r["load1_before"], 2) for r in runs],
                    "nodes": first["nodes"], "edges": first["edges"], "demand_units": first["demand_units"],
                    "facilities": first["facilities"], "service_area_rows": first["service_area_rows"],
                    "outputs_mb": first["outputs_mb"], "stages_median": _stage_medians(runs),
                    "stages_cpu_median": _stage_medians(runs, "stages_cpu_s"),
                    "wall_median_s": _med(runs, "wall_s"), "cpu_median_s": _med(runs, "cpu_s"),
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                    "rss_after_imports_mb": _med(runs, "rss_after_imports_mb"),
                    "rss_after_inputs_mb": _med(runs, "rss_after_inputs_mb"), "failed_run": failed, "raw_runs": runs})
    return {"sizes": out, "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="measured runs of (a) and (b) (default 3)")
    ap.add_argument("--pbf", type=Path, default=DEFAULT_PBF, help=f"input .osm.pbf (default {DEFAULT_PBF})")
    ap.add_argument("--skip-porto", action="store_true", help="only the growth table")
    ap.add_argument("--skip-osmnx", action="store_true", help="leave out (c)")
    ap.add_argument("--skip-profile", action="store_true", help="leave out the cProfile run")
    ap.add_argument("--skip-capacity", action="store_true",
                    help="leave out the in-process run with a capacity column in the ledger (2SFCA)")
    ap.add_argument("--skip-growth", action="store_true", help="leave out the growth table")
    ap.add_argument("--osmnx-budget-s", type=float, default=900.0,
                    help="stop (c)'s facility loop after this many seconds and extrapolate (0 = no limit)")
    ap.add_argument("--growth-sizes", type=lambda s: [float(x) for x in s.split(",")], default=[2.0, 20.0, 200.0])
    ap.add_argument("--growth-runs", type=int, default=3, help="runs per growth size up to --growth-large")
    ap.add_argument("--growth-large", type=float, default=50.0, help="sizes above this get --growth-large-runs")
    ap.add_argument("--growth-large-runs", type=int, default=1)
    ap.add_argument("--growth-timeout-s", type=float, default=5400.0,
                    help="stop a growth run after this many seconds and report where it was (0 = no limit)")
    ap.add_argument("--mem-limit-gb", type=float, default=10.0,
                    help="address-space limit of each growth run (a MemoryError instead of the OOM killer; 0 = none)")
    ap.add_argument("--wait-load", type=float, default=0.0, metavar="LOAD",
                    help="before each measured run wait (up to 120 s) for the 1-min load average to fall below LOAD")
    ap.add_argument("--out-dir", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    ap.add_argument("--md-only", action="store_true", help="only rewrite the .md files from the .json")
    ap.add_argument("--_worker", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_rusage", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._worker:
        _child_main(*a._worker)
        return 0
    if a._rusage:
        return _rusage_main(a._rusage[0], a._rusage[1:])
    if a.md_only:  # rewrite the tables from the JSON (after changing the layout)
        res = json.loads((a.out_dir / "analyze_porto.json").read_text(encoding="utf-8"))
        if "porto" in res:
            atomic_write(a.out_dir / "analyze_porto.md", _porto_md(res))
        if "growth" in res:
            atomic_write(a.out_dir / "analyze_growth.md", _growth_md({**res, "machine": res["growth"]["machine"]}))
        return 0
    if not a.skip_porto and not a.pbf.is_file():
        print(f"error: {a.pbf}: no such .osm.pbf file; pass the Porto extract with --pbf PATH", file=sys.stderr)
        return 2
    if a.runs < 1:
        print(f"error: --runs is {a.runs}; it must be at least 1", file=sys.stderr)
        return 2
    json_path = a.out_dir / "analyze_porto.json"
    res: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8")) if json_path.exists() else {}
    with tempfile.TemporaryDirectory(prefix="bench_analyze_") as td:
        tmp = Path(td)
        if not a.skip_porto:
            res["porto"] = _run_porto(a, tmp, _say)
            res["machine"] = _machine()
            atomic_write(json_path, json.dumps(res, indent=2, ensure_ascii=False) + "\n")
            atomic_write(a.out_dir / "analyze_porto.md", _porto_md(res))
        if not a.skip_growth:
            res["growth"] = _run_growth(a, tmp, _say)
            res.setdefault("machine", _machine())
            res["growth"]["machine"] = _machine()
            atomic_write(json_path, json.dumps(res, indent=2, ensure_ascii=False) + "\n")
            atomic_write(a.out_dir / "analyze_growth.md", _growth_md({**res, "machine": res["growth"]["machine"]}))
    if "porto" in res and not a.skip_porto:
        print(_porto_md(res))
    if "growth" in res and not a.skip_growth:
        print(_growth_md({**res, "machine": res["growth"]["machine"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

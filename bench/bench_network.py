"""Benchmark: Porto .osm.pbf → analysis-ready walking network, against osmnx and pyrosm.

The issue's budget: ≤ 2 s and ≤ 600 MB peak RSS on the benchmark machine, describing the same
walkable ways as osmnx builds from the same data (total length within 0.5 %).

Every measured run happens in a fresh Python subprocess, so the peak RSS (``ru_maxrss`` of that
process, nothing subtracted) and the wall time are clean. The clock covers only the work
(file → network); the imports are timed separately, and the RSS right after the imports is
reported so readers see what the libraries cost before any data is read.

Peers
-----
project
    ``load_network(pbf, mode="walk", cache=False)``.
project, cached
    ``load_network(pbf, mode="walk", cache=True)`` with a temporary ``CIRCLES_CACHE_DIR``
    that one unmeasured call has filled: the second run of a session on the same file.
osmnx
    osmnx cannot read .pbf, so the file is converted once (not timed) with
    `bench.osmnx_reference.write_filtered_xml` to OSM XML holding the ways osmnx's own walk
    filter keeps; then ``ox.graph_from_xml(xml, bidirectional=True)`` is timed (simplified,
    largest component: osmnx's own defaults).
pyrosm
    ``OSM(pbf).get_network(network_type="walking", nodes=True)`` (way segments, every
    component), then ``OSM.to_graph(nodes, edges, graph_type="networkx")`` (pyrosm 0.25
    simplifies and keeps the largest component by default).

Agreement (project vs osmnx, not timed): total length, node counts and node-id sets, and
shortest-path walking times at 4.8 km/h without way factors for 200 seeded random node pairs.

Usage::

    python bench/bench_network.py [--runs 3] [--pbf PATH] [--skip-osmnx] [--skip-pyrosm] [--wait-load LOAD]

Writes ``bench/results/network_porto.json`` (raw figures) and ``bench/results/network_porto.md``
(the table).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
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

BUDGET_S = 2.0
BUDGET_RSS_MB = 600.0
LENGTH_TOL_PCT = 0.5
WALK_KMH = 4.8
N_PAIRS = 200
SEED = 20240611


# --------------------------------------------------------------------------- child side
def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _cpu_s() -> float:
    """User + system CPU time of this process so far: less sensitive than wall time to a busy machine."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _work_project(a: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    import network.load as nl

    import_s = time.perf_counter() - t0
    base = _rss_mb()
    # time the two stages inside load_network without changing it (two extra calls, ~µs)
    stage: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*args, **kw):
            t = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                stage[name] = stage.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    nl.read_highway_ways = timed("read_highway_ways_s", nl.read_highway_ways)
    nl.build_network = timed("build_network_s", nl.build_network)
    c0, t0 = _cpu_s(), time.perf_counter()
    net = nl.load_network(a["pbf"], mode="walk", cache=a["cache"])
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    peak = _rss_mb()
    return {
        "wall_s": wall, "cpu_s": cpu, "import_s": import_s, "rss_after_imports_mb": base, "peak_rss_mb": peak,
        "nodes": net.n_nodes, "edges": net.n_edges, "directed_edges": net.n_directed_edges,
        "km": net.total_length_km, "cache": net.report.get("cache"), **stage,
    }


def _work_osmnx(a: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    import osmnx as ox

    import_s = time.perf_counter() - t0
    base = _rss_mb()
    c0, t0 = _cpu_s(), time.perf_counter()
    G = ox.graph_from_xml(a["xml"], bidirectional=True)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    peak = _rss_mb()
    lengths = [d["length"] for _, _, d in G.edges(data=True)]
    out = {
        "wall_s": wall, "cpu_s": cpu, "import_s": import_s, "rss_after_imports_mb": base, "peak_rss_mb": peak,
        "nodes": G.number_of_nodes(), "directed_edges": G.number_of_edges(),
        # bidirectional: every street is stored in both directions; count it once
        "km": sum(lengths) / 2000.0,
    }
    if a.get("agree"):  # after the measurement: it cannot change the figures above
        out["agreement"] = _agreement(G, a["pbf"])
    return out


def _agreement(G, pbf: str) -> dict[str, Any]:
    import networkx as nx
    import numpy as np
    from scipy.sparse.csgraph import dijkstra

    from network.load import load_network

    net = load_network(pbf, mode="walk", cache=False)
    ours = {int(i) for i in net.node_osmid}
    theirs = {int(n) for n in G.nodes}
    both = np.array(sorted(ours & theirs), dtype=np.int64)
    rng = np.random.default_rng(SEED)
    pairs = rng.choice(both, size=(N_PAIRS, 2), replace=True)
    index = {int(o): i for i, o in enumerate(net.node_osmid)}
    src = np.array([index[int(s)] for s in pairs[:, 0]])
    dst = np.array([index[int(t)] for t in pairs[:, 1]])
    csr = net.csr(net.travel_time_s(WALK_KMH, way_factors=False))
    t_ours = dijkstra(csr, directed=True, indices=src)[np.arange(N_PAIRS), dst]
    speed = WALK_KMH / 3.6
    t_theirs = np.array([nx.shortest_path_length(G, int(s), int(t), weight="length") / speed
                         for s, t in pairs])
    absdiff = np.abs(t_ours - t_theirs)
    rel = np.where(t_theirs > 0, absdiff / np.where(t_theirs > 0, t_theirs, 1.0), absdiff > 1e-6)
    km_osmnx = sum(d["length"] for _, _, d in G.edges(data=True)) / 2000.0
    return {
        "project_km": net.total_length_km, "osmnx_km": km_osmnx,
        "length_diff_pct": 100.0 * (net.total_length_km - km_osmnx) / km_osmnx,
        "project_nodes": net.n_nodes, "osmnx_nodes": G.number_of_nodes(),
        "project_directed_edges": net.n_directed_edges, "osmnx_directed_edges": G.number_of_edges(),
        "nodes_only_project": len(ours - theirs), "nodes_only_osmnx": len(theirs - ours),
        "pairs": N_PAIRS, "seed": SEED, "speed_kmh": WALK_KMH,
        "pairs_unreachable_project": int(np.isinf(t_ours).sum()),
        "path_max_rel_diff": float(np.nanmax(np.where(np.isinf(t_ours), np.nan, rel))),
        "path_max_abs_diff_s": float(np.nanmax(np.where(np.isinf(t_ours), np.nan, absdiff))),
        "path_median_time_s": float(np.median(t_theirs)),
    }


def _work_pyrosm(a: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    import pyrosm

    import_s = time.perf_counter() - t0
    base = _rss_mb()
    c0, t0 = _cpu_s(), time.perf_counter()
    osm = pyrosm.OSM(a["pbf"])
    nodes, edges = osm.get_network(network_type="walking", nodes=True)
    t_net, cpu_net = time.perf_counter() - t0, _cpu_s() - c0
    peak_net = _rss_mb()
    G = osm.to_graph(nodes, edges, graph_type="networkx", progress=False)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    peak = _rss_mb()
    return {
        "get_network_s": t_net, "get_network_cpu_s": cpu_net, "get_network_peak_rss_mb": peak_net,
        "wall_s": wall, "cpu_s": cpu, "import_s": import_s, "rss_after_imports_mb": base, "peak_rss_mb": peak,
        "segment_nodes": len(nodes), "segment_edges": len(edges),
        "segment_km": float(edges["length"].sum()) / 1000.0,
        "nodes": G.number_of_nodes(), "directed_edges": G.number_of_edges(),
        # a walking graph holds every edge in both directions: count each street once
        "km": sum(d["length"] for _, _, d in G.edges(data=True)) / 2000.0,
    }


def _work_convert(a: dict[str, Any]) -> dict[str, Any]:
    from bench.osmnx_reference import write_filtered_xml

    t0 = time.perf_counter()
    n_ways = write_filtered_xml(Path(a["pbf"]), Path(a["xml"]), "walk")
    return {"wall_s": time.perf_counter() - t0, "peak_rss_mb": _rss_mb(), "ways": n_ways,
            "xml_mb": Path(a["xml"]).stat().st_size / 1e6}


_WORKERS = {"project": _work_project, "osmnx": _work_osmnx, "pyrosm": _work_pyrosm,
            "convert": _work_convert}


def _child_main(kind: str, args_json: str, out_path: str) -> None:
    sys.path.insert(0, str(REPO))
    result = _WORKERS[kind](json.loads(args_json))
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


# -------------------------------------------------------------------------- parent side
WAIT_LOAD_MAX_S = 120.0


def _wait_for_load(threshold: float) -> None:
    """Wait (at most WAIT_LOAD_MAX_S) until the 1-min load average is below `threshold`."""
    end = time.monotonic() + WAIT_LOAD_MAX_S
    while threshold > 0 and os.getloadavg()[0] >= threshold and time.monotonic() < end:
        time.sleep(5)


def _spawn(kind: str, args: dict[str, Any], tmp: Path, env: dict[str, str] | None = None,
           wait_load: float = 0.0) -> dict[str, Any]:
    """Run one worker in a fresh interpreter and return its figures."""
    _wait_for_load(wait_load)
    fd, out = tempfile.mkstemp(dir=tmp, suffix=".json")
    os.close(fd)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--_worker", kind, json.dumps(args), out],
        cwd=str(REPO), env={**os.environ, **(env or {})}, capture_output=True, text=True,
    )
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"{kind} worker failed (exit {proc.returncode}): {tail[0]}")
    result = json.loads(Path(out).read_text(encoding="utf-8"))
    Path(out).unlink()
    result["process_s"] = process_s
    result["load1_before"] = load_before
    return result


def _summary(runs: list[dict[str, Any]], key: str = "wall_s", rss: str = "peak_rss_mb",
             cpu: str = "cpu_s") -> dict[str, Any]:
    w = [r[key] for r in runs]
    return {"median_s": statistics.median(w), "min_s": min(w), "max_s": max(w),
            "median_cpu_s": statistics.median(r[cpu] for r in runs),
            "peak_rss_mb": max(r[rss] for r in runs),
            "rss_after_imports_mb": statistics.median(r["rss_after_imports_mb"] for r in runs),
            "import_s": statistics.median(r["import_s"] for r in runs), "runs": len(runs)}


def _machine() -> dict[str, Any]:
    from importlib import metadata

    def ver(p: str) -> str | None:
        try:
            return metadata.version(p)
        except metadata.PackageNotFoundError:
            return None

    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": {p: ver(p) for p in ("osmium", "osmnx", "pyrosm", "networkx", "numpy", "scipy")},
    }


def _fmt_row(tool: str, s: dict[str, Any], nodes: Any, km: Any) -> str:
    km_s = f"{km:,.1f}" if isinstance(km, (int, float)) else str(km)
    nodes_s = f"{nodes:,}" if isinstance(nodes, int) else str(nodes)
    return (f"| {tool} | {s['median_s']:.2f} | {s['min_s']:.2f} | {s['max_s']:.2f} | "
            f"{s['median_cpu_s']:.2f} | {s['peak_rss_mb']:.0f} | {nodes_s} | {km_s} | {s['import_s']:.2f} | "
            f"{s['rss_after_imports_mb']:.0f} |")


def _markdown(res: dict[str, Any]) -> str:
    m, rows, runs = res["machine"], res["summary"], res["runs"]
    lines = [
        f"# {Path(res['pbf']).name} → walking network",
        "",
        f"Input: `{Path(res['pbf']).name}` ({res['pbf_mb']:.1f} MB). Each run in a fresh subprocess; "
        "time = the work only (file → network), imports timed separately; peak RSS = the process's "
        "`ru_maxrss` (highest of the runs), nothing subtracted; CPU s = user + system time of the same "
        "work (wall time suffers first when other jobs share the 2 cores; CPU time exceeds wall time where "
        "a library decodes on several threads).",
        "",
        "| tool | median s | min s | max s | median CPU s | peak RSS MB | nodes | km | imports s | RSS after imports MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    p = runs["project"][0]
    lines.append(_fmt_row("project `load_network(cache=False)`", rows["project"], p["nodes"], p["km"]))
    if "project_cached" in rows:
        c = runs["project_cached"][0]
        lines.append(_fmt_row("project, cached second run", rows["project_cached"], c["nodes"], c["km"]))
    if "osmnx" in rows:
        o = runs["osmnx"][0]
        lines.append(_fmt_row("osmnx `graph_from_xml` (walk-filtered XML)", rows["osmnx"], o["nodes"], o["km"]))
    if "pyrosm" in rows:
        y = runs["pyrosm"][0]
        lines.append(_fmt_row("pyrosm `get_network(walking, nodes=True)`", rows["pyrosm_get_network"],
                              y["segment_nodes"], y["segment_km"]))
        lines.append(_fmt_row("pyrosm get_network + `to_graph(networkx)`", rows["pyrosm"], y["nodes"], y["km"]))
    lines += ["", f"Runs per tool: {res['n_runs']} (median of them; min/max shown)."]

    pr = rows["project"]
    ok_t, ok_m = pr["median_s"] <= BUDGET_S, pr["peak_rss_mb"] <= BUDGET_RSS_MB
    lines += [
        "",
        "## Budget and agreement",
        "",
        f"- Project time: median {pr['median_s']:.2f} s wall (CPU {pr['median_cpu_s']:.2f} s) against "
        f"≤ {BUDGET_S:g} s — {'within' if ok_t else 'OVER'} budget; peak RSS {pr['peak_rss_mb']:.0f} MB "
        f"against ≤ {BUDGET_RSS_MB:g} MB — {'within' if ok_m else 'OVER'} budget.",
        f"- Project time by stage (median): `read_highway_ways` "
        f"{statistics.median(r['read_highway_ways_s'] for r in runs['project']):.2f} s, `build_network` "
        f"{statistics.median(r['build_network_s'] for r in runs['project']):.2f} s.",
    ]
    ag = res.get("agreement")
    if ag:
        ok_l = abs(ag["length_diff_pct"]) <= LENGTH_TOL_PCT
        lines += [
            f"- Total length: project {ag['project_km']:,.3f} km, osmnx {ag['osmnx_km']:,.3f} km "
            f"(sum over directed edges / 2): difference {ag['length_diff_pct']:+.2g} % "
            f"({'within' if ok_l else 'OUTSIDE'} ±{LENGTH_TOL_PCT:g} %).",
            f"- Nodes: project {ag['project_nodes']:,}, osmnx {ag['osmnx_nodes']:,} "
            f"({ag['nodes_only_project']:,} OSM node ids only in the project's, "
            f"{ag['nodes_only_osmnx']:,} only in osmnx's); directed edges: project "
            f"{ag['project_directed_edges']:,}, osmnx {ag['osmnx_directed_edges']:,}.",
            f"- Shortest paths: {ag['pairs']} random node pairs (seed {ag['seed']}), walking time at "
            f"{ag['speed_kmh']:g} km/h without way factors (scipy Dijkstra on `net.csr` vs networkx on "
            f"osmnx's graph, weight `length`): max relative difference {ag['path_max_rel_diff']:.2e} "
            f"(max absolute {ag['path_max_abs_diff_s']:.2e} s; median trip {ag['path_median_time_s'] / 60:.1f} min).",
        ]
    elif "osmnx" in res["errors"]:
        lines.append(f"- osmnx failed on this file, so no agreement was measured: {res['errors']['osmnx']}")
    elif "osmnx" not in rows:
        lines.append("- osmnx skipped (--skip-osmnx): no length/node/path agreement measured.")
    if "pyrosm" in res["errors"]:
        lines.append(f"- pyrosm failed on this file: {res['errors']['pyrosm']}")
    conv = res.get("osmnx_conversion")
    if conv:
        lines.append(
            f"- osmnx input: pbf → walk-filtered OSM XML with `write_filtered_xml` (once, not in the "
            f"table): {conv['wall_s']:.1f} s, {conv['ways']:,} ways, {conv['xml_mb']:.0f} MB of XML.")
    if "pyrosm" in rows:
        y = runs["pyrosm"][0]
        lines.append(
            f"- pyrosm: `get_network` gives unsimplified way segments of every component "
            f"({y['segment_edges']:,} edges, {y['segment_km']:,.1f} km summed over their `length`); "
            f"`to_graph` simplifies (not across a change of `highway`/`maxspeed`) and keeps the largest "
            f"component: {y['nodes']:,} nodes, {y['km']:,.1f} km (directed edges / 2). Its walking "
            "filter is not osmnx's: it reads `access=no` as closed unless `foot` allows "
            "(osmnx drops only `access~private`), lets `foot=yes` reopen `access=private`, and matches "
            "exact tag values rather than osmnx's unanchored regular expressions.")
    loads = [r["load1_before"] for rs in runs.values() for r in rs]
    busy = [r["load1_before"] for r in runs["project"] if r["load1_before"] >= 1.0]
    if busy:
        lines.append(
            f"- {len(busy)} of {len(runs['project'])} project runs started with a 1-min load average ≥ 1 on "
            f"{m['nproc']} cores (up to {max(busy):.2f}): other jobs took CPU, so the wall times above are "
            "inflated; the CPU column is the better guide to the time on an idle machine.")
    lines += [
        "",
        f"Machine: nproc {m['nproc']}, Python {m['python']}, {m['platform']}, {m['date']}; "
        f"1-min load average before the runs {min(loads):.2f}–{max(loads):.2f} "
        f"(other engineers share the machine). Versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="measured runs per tool (default 3)")
    ap.add_argument("--pbf", type=Path, default=DEFAULT_PBF, help=f"input .osm.pbf (default {DEFAULT_PBF})")
    ap.add_argument("--skip-osmnx", action="store_true", help="leave out osmnx (and the agreement checks)")
    ap.add_argument("--skip-pyrosm", action="store_true", help="leave out pyrosm")
    ap.add_argument("--wait-load", type=float, default=0.0, metavar="LOAD",
                    help=f"before each measured run wait (up to {WAIT_LOAD_MAX_S:.0f} s) for the 1-min load "
                         "average to fall below LOAD (default: do not wait)")
    ap.add_argument("--out-dir", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    ap.add_argument("--_worker", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._worker:
        _child_main(*a._worker)
        return 0
    pbf = a.pbf.resolve()
    if not pbf.is_file():
        print(f"error: {a.pbf}: no such .osm.pbf file; pass the Porto extract with --pbf PATH", file=sys.stderr)
        return 2
    if a.runs < 1:
        print(f"error: --runs is {a.runs}; it must be at least 1", file=sys.stderr)
        return 2

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    runs: dict[str, list[dict[str, Any]]] = {"project": [], "project_cached": []}
    res: dict[str, Any] = {"pbf": str(pbf), "pbf_mb": pbf.stat().st_size / 1e6, "n_runs": a.runs,
                           "budget": {"s": BUDGET_S, "rss_mb": BUDGET_RSS_MB, "length_pct": LENGTH_TOL_PCT}}
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench_network_") as td:
        tmp = Path(td)
        cache_env = {"CIRCLES_CACHE_DIR": str(tmp / "cache")}
        xml = tmp / (pbf.name.split(".")[0] + ".walk.osm")
        try:
            warm = _spawn("project", {"pbf": str(pbf), "cache": True}, tmp, cache_env)  # fills the cache
        except RuntimeError as exc:
            print(f"error: the project's load_network failed on {pbf}: {exc}", file=sys.stderr)
            return 1
        say(f"cache warm-up: {warm['wall_s']:.2f} s ({warm['cache']})")
        if not a.skip_osmnx:
            try:
                res["osmnx_conversion"] = _spawn("convert", {"pbf": str(pbf), "xml": str(xml)}, tmp)
                say(f"walk-filtered XML written: {res['osmnx_conversion']['wall_s']:.1f} s")
                runs["osmnx"] = []
            except RuntimeError as exc:
                errors["osmnx"] = str(exc)
        if not a.skip_pyrosm:
            runs["pyrosm"] = []
        for i in range(a.runs):  # round-robin, so a burst of outside load hits every tool alike
            for kind in [k for k in runs if k not in errors]:
                try:
                    if kind == "project":
                        r = _spawn("project", {"pbf": str(pbf), "cache": False}, tmp, wait_load=a.wait_load)
                    elif kind == "project_cached":
                        r = _spawn("project", {"pbf": str(pbf), "cache": True}, tmp, cache_env, a.wait_load)
                        if r["cache"] != "hit":
                            raise RuntimeError(f"cached run {i + 1} missed the cache ({r['cache']})")
                    elif kind == "osmnx":
                        r = _spawn("osmnx", {"xml": str(xml), "pbf": str(pbf), "agree": i == 0}, tmp,
                                   wait_load=a.wait_load)
                        if "agreement" in r:
                            res["agreement"] = r.pop("agreement")
                    else:
                        r = _spawn("pyrosm", {"pbf": str(pbf)}, tmp, wait_load=a.wait_load)
                except RuntimeError as exc:
                    if kind.startswith("project"):
                        print(f"error: {exc}", file=sys.stderr)
                        return 1
                    errors[kind] = str(exc)  # a peer that cannot read the file is reported, not fatal
                    say(f"run {i + 1}/{a.runs} {kind}: FAILED: {exc}")
                    continue
                runs[kind].append(r)
                say(f"run {i + 1}/{a.runs} {kind}: {r['wall_s']:.2f} s, peak RSS {r['peak_rss_mb']:.0f} MB "
                    f"(load {r['load1_before']:.2f})")
    runs = {k: v for k, v in runs.items() if k not in errors}
    res["errors"] = errors
    summary = {k: _summary(v) for k, v in runs.items()}
    if "pyrosm" in runs:
        summary["pyrosm_get_network"] = _summary(runs["pyrosm"], "get_network_s", "get_network_peak_rss_mb",
                                                 "get_network_cpu_s")
    res.update(machine=_machine(), summary=summary, runs=runs)
    md = _markdown(res)
    out_dir = a.out_dir
    atomic_write(out_dir / "network_porto.json", json.dumps(res, indent=2) + "\n")
    atomic_write(out_dir / "network_porto.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

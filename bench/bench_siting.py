"""Benchmark: exact maximal covering (p = 10) on real walking networks, against spopt + CBC and the greedy.

The issue's budget: about 20,000 demand units × 2,000 candidates, p = 10, a 15-minute walk at
3.6 km/h (900 s), solved exactly in ≤ 30 s on this machine.

Instances (every draw seeded)
-----------------------------
porto_core
    Porto's walking network (``../shared/data/osm/porto.osm.pbf``); demand = the 20,000 nodes
    nearest the median node (the dense core, nodes as demand), each with a random population
    of 1–59; candidates = 2,000 random points on distinct edges inside the same disc. The
    acceptance instance: every candidate reaches hundreds of units and the sets overlap.
porto_spread
    The same network; 20,000 nodes and 2,000 edge points drawn over the whole 35 × 46 km
    metro area: sparse, little overlap.
porto_all_nodes
    Every node of Porto (about 63,000) as demand × 1,000 core candidates: the issue's "68k nodes".
shenzhen_nodes
    Shenzhen Nanshan: every node as demand × 1,000 candidates anywhere on the network.
porto_core_capacitated
    porto_core with 300 candidates and capacities of 200–1,500 people: the capacitated model.
porto_tiered
    Tiered siting (`circles.siting.suggest_tiered_sites`) end to end on Porto's walking and
    driving networks: the same 20,000 core nodes as demand (60+ people 1–59 each); existing
    sites: 3 centres (by road) and 30 points (on foot); candidates: 200 centres on road edges and
    1,800 points on footway edges in the disc, half new builds, half renovations. Points cover
    a 15-minute walk at 3.6 km/h (no way factors), centres a 3-minute drive, and a point counts
    only within 10 minutes' drive of a centre. Points cost the Xi'an defaults (600,000 new,
    300,000 renovated); centres 1,800,000 / 900,000 (an assumption, so that both tiers are
    chosen: at point prices a centre's drive area beats any walk). Objectives: the most people
    within 6 M and 12 M yuan, and the least cost reaching 80 % coverage. Written to
    ``siting_tiered.json`` / ``siting_tiered.md``.

Measured per instance
---------------------
coverage sets
    `circles.siting.coverage_sets`: one truncated Dijkstra per candidate (900 s), points on edges.
reduce
    `reduce_model`: merged units, dominated candidates dropped.
HiGHS, PuLP+CBC
    `solve_mclp(..., solver=...)` end to end on the coverage matrix: reduction, lazy greedy
    (warm start), model building and the MIP; median of ``--repeats`` runs; the MIP part alone.
greedy
    `solve_mclp(..., solver="greedy")`: its objective as a share of the optimum.
spopt + CBC
    ``MCLP.from_cost_matrix(cost, weights, service_radius=900, p_facilities=10)`` solved with
    ``pulp.PULP_CBC_CMD(msg=False)``, on the dense units × candidates matrix of the same walking
    times (entries beyond 900 s set to 10 × 900), in a fresh subprocess: wall time of building
    and of solving, and its peak RSS. Skipped when the dense matrix would exceed
    ``--spopt-max-cells`` or after ``--spopt-timeout`` seconds.

All objectives are compared: HiGHS, CBC and spopt must agree exactly.

Usage::

    python bench/bench_siting.py [--instances porto_core,shenzhen_nodes] [--repeats 3]
                                 [--skip-spopt] [--spopt-timeout 1200]
    python bench/bench_siting.py --instances porto_tiered

Writes ``bench/results/siting.json`` (raw figures) and ``bench/results/siting.md`` (the table).
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._common import atomic_write  # noqa: E402
RESULTS = REPO / "bench" / "results"
DATA = REPO.parent / "shared" / "data" / "osm"

SPEED_KMH = 3.6
THRESHOLD_S = 15 * 60.0
P = 10
SEED = 20240611
BUDGET_S = 30.0
INSTANCES = ("porto_core", "porto_spread", "porto_all_nodes", "shenzhen_nodes", "porto_core_capacitated",
             "porto_tiered")
TIERED = "porto_tiered"


# --------------------------------------------------------------------------- instances
def _edge_points(net, edges: np.ndarray, rng: np.random.Generator):
    import shapely

    pts = shapely.line_interpolate_point(net.edge_lines()[edges], rng.uniform(0.05, 0.95, len(edges)), normalized=True)
    return net.snap(shapely.get_x(pts), shapely.get_y(pts))


def _core_disc(net, n_units: int):
    cx, cy = np.median(net.node_x), np.median(net.node_y)
    d = np.hypot(net.node_x - cx, net.node_y - cy)
    units = np.argsort(d, kind="stable")[:n_units]
    radius = float(d[units].max())
    mx = (net.node_x[net.edge_u] + net.node_x[net.edge_v]) / 2
    my = (net.node_y[net.edge_u] + net.node_y[net.edge_v]) / 2
    inside = np.flatnonzero(np.hypot(mx - cx, my - cy) < radius)
    return units, inside, radius


def build_instance(name: str, nets: dict[str, Any]) -> dict[str, Any]:
    """Demand snap, weights, candidate snap (and capacities) of one instance."""
    rng = np.random.default_rng(SEED)
    caps = None
    if name.startswith("porto"):
        net = nets["porto"]
        if name in ("porto_core", "porto_core_capacitated"):
            units, inside, radius = _core_disc(net, 20_000)
            n_cand = 2_000 if name == "porto_core" else 300
            edges = rng.choice(inside, n_cand, replace=False)
            what = f"20,000 nodes within {radius / 1000:.1f} km of the median node; {n_cand:,} edge points in that disc"
            if name == "porto_core_capacitated":
                caps = rng.integers(200, 1_500, n_cand).astype(float)
                what += "; capacities 200–1,499"
        elif name == "porto_spread":
            units = np.sort(rng.choice(net.n_nodes, 20_000, replace=False))
            edges = rng.choice(net.n_edges, 2_000, replace=False)
            what = "20,000 random nodes over the metro area; 2,000 random edge points"
        else:  # porto_all_nodes
            units = np.arange(net.n_nodes)
            _, inside, radius = _core_disc(net, 20_000)
            edges = rng.choice(inside, 1_000, replace=False)
            what = f"all {net.n_nodes:,} nodes; 1,000 edge points within {radius / 1000:.1f} km of the median node"
    else:
        net = nets["shenzhen"]
        units = np.arange(net.n_nodes)
        edges = rng.choice(net.n_edges, 1_000, replace=False)
        what = f"all {net.n_nodes:,} nodes; 1,000 random edge points"
    weights = rng.integers(1, 60, len(units)).astype(float)
    demand = net.snap(net.node_x[units], net.node_y[units])
    cands = _edge_points(net, np.sort(edges), rng)
    return {"name": name, "net": net, "demand": demand, "weights": weights, "candidates": cands, "capacities": caps,
            "what": what}


# --------------------------------------------------------------------------- measurements
def _timed(fn, repeats: int):
    """(every output, median wall time, every wall time)."""
    times, outs = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        outs.append(fn())
        times.append(time.perf_counter() - t0)
    return outs, statistics.median(times), times


def run_instance(inst: dict[str, Any], *, repeats: int, spopt: bool, spopt_timeout: float,
                 spopt_max_cells: float, time_limit_s: float, reuse: dict[str, Any] | None = None) -> dict[str, Any]:
    from circles.siting import coverage_sets, reduce_model, solve_mclp

    net = inst["net"]
    cost = net.travel_time_s(SPEED_KMH, way_factors=False)
    (sets,), t_sets, _ = _timed(lambda: coverage_sets(net, inst["candidates"], inst["demand"], cost,
                                                      threshold_s=THRESHOLD_S), 1)
    w, caps = inst["weights"], inst["capacities"]
    reds, t_red, _ = _timed(lambda: reduce_model(sets.covers, w, drop_dominated=caps is None), repeats)
    red = reds[-1]
    row: dict[str, Any] = {
        "instance": inst["name"], "what": inst["what"], "network_nodes": net.n_nodes,
        "units": int(sets.covers.shape[1]), "candidates": int(sets.covers.shape[0]), "p": P,
        "capacitated": caps is not None,
        "cover_nonzeros": int(sets.covers.nnz), "coverage_sets_s": t_sets, "reduce_s": t_red,
        "units_reduced": int(red.covers.shape[1]), "candidates_reduced": int(red.covers.shape[0]),
        "dominated_dropped": int(red.dropped_dominated),
    }
    print(f"[{inst['name']}] sets {t_sets:.2f} s, {sets.covers.nnz:,} pairs; reduced to "
          f"{red.covers.shape[0]:,} × {red.covers.shape[1]:,}", flush=True)
    for solver in ("highs", "cbc", "greedy", "auto"):
        sels, t, all_t = _timed(lambda: solve_mclp(sets.covers, w, P, capacities=caps, solver=solver,
                                                   time_limit_s=time_limit_s), repeats)
        sel = sels[-1]
        if len({round(x.objective, 6) for x in sels}) > 1:
            raise RuntimeError(f"{inst['name']} {solver}: objectives differ between runs")
        row[solver] = {"wall_s": t, "runs_s": all_t, "objective": sel.objective, "optimal": sel.optimal,
                       "gap": sel.gap, "solver": sel.solver, "greedy_objective": sel.greedy_objective,
                       "mip_s": statistics.median(x.timings.get("mip", 0.0) for x in sels),
                       "mip_build_s": statistics.median(x.timings.get("mip_build", 0.0) for x in sels),
                       "mip_nonzeros": sel.model_size.get("mip_nonzeros"), "status": sel.status,
                       "sites": sel.sites.tolist()}
        print(f"[{inst['name']}] {solver}: {t:.2f} s, objective {sel.objective:,.0f}, optimal {sel.optimal}, "
              f"gap {sel.gap:.2e} ({sel.solver}, {sel.status})", flush=True)
    best = max(row[s]["objective"] for s in ("highs", "cbc"))
    row["optimum"] = best
    row["greedy_pct_of_optimum"] = 100.0 * row["greedy"]["objective"] / best if best else 100.0
    row["spopt"] = None
    same = (reuse is not None and reuse.get("spopt") and "objective" in reuse["spopt"]
            and all(reuse.get(k) == row[k] for k in ("units", "candidates", "cover_nonzeros", "optimum")))
    if same:
        row["spopt"] = {**reuse["spopt"], "reused_from": reuse.get("run_date")}
        print(f"[{inst['name']}] spopt: reused from the run of {reuse.get('run_date')}", flush=True)
    elif spopt and caps is None:
        cells = float(sets.covers.shape[0]) * sets.covers.shape[1]
        if cells > spopt_max_cells:
            row["spopt"] = {"skipped": f"dense matrix of {cells:,.0f} cells > {spopt_max_cells:,.0f}"}
        else:
            row["spopt"] = _run_spopt(sets, w, timeout=spopt_timeout)
        print(f"[{inst['name']}] spopt: {row['spopt']}", flush=True)
    objs = [row["highs"]["objective"], row["cbc"]["objective"]]
    if row["spopt"] and "objective" in row["spopt"]:
        objs.append(row["spopt"]["objective"])
    row["all_agree"] = bool(max(objs) - min(objs) <= 1e-6)
    return row


_SPOPT_CHILD = r"""
import json, resource, sys, time
import numpy as np
t0 = time.perf_counter()
import pulp
from spopt.locate import MCLP
import_s = time.perf_counter() - t0
cost = np.load(sys.argv[1], mmap_mode="r")
w = np.load(sys.argv[2])
t0 = time.perf_counter()
m = MCLP.from_cost_matrix(np.asarray(cost), w, service_radius=float(sys.argv[3]), p_facilities=int(sys.argv[4]))
build_s = time.perf_counter() - t0
t0 = time.perf_counter()
m = m.solve(pulp.PULP_CBC_CMD(msg=False))
solve_s = time.perf_counter() - t0
obj = float(pulp.value(m.problem.objective))
print(json.dumps({"build_s": build_s, "solve_s": solve_s, "wall_s": build_s + solve_s, "import_s": import_s,
                  "objective": obj, "status": pulp.LpStatus[m.problem.status],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""


def _run_spopt(sets, w: np.ndarray, *, timeout: float) -> dict[str, Any]:
    """spopt + CBC on the dense units × candidates matrix, in a fresh process (clean RSS, hard timeout)."""
    with tempfile.TemporaryDirectory(prefix="bench_siting_") as tmp:
        n_c, n_u = sets.covers.shape
        dense = np.full((n_u, n_c), THRESHOLD_S * 10.0)
        t = sets.time_s.tocoo()
        dense[t.col, t.row] = t.data
        np.save(f"{tmp}/cost.npy", dense)
        del dense
        np.save(f"{tmp}/w.npy", w)
        script = Path(tmp) / "child.py"
        script.write_text(_SPOPT_CHILD)
        try:
            out = subprocess.run([sys.executable, str(script), f"{tmp}/cost.npy", f"{tmp}/w.npy", str(THRESHOLD_S), str(P)],
                                 capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"skipped": f"no answer within {timeout:.0f} s"}
        if out.returncode != 0:
            return {"skipped": f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"}
        return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- tiered siting
TIERED_CENTRE_MIN, TIERED_LINK_MIN = 3.0, 10.0
TIERED_CENTRE_COSTS = (1_800_000.0, 900_000.0)  # new, renovation (an assumption: see the docstring)
TIERED_OBJECTIVES = ({"budget": 6_000_000.0}, {"budget": 12_000_000.0}, {"target_coverage": 0.8})


def build_tiered(nets: dict[str, Any]) -> dict[str, Any]:
    """The report of the existing sites, the candidates and the settings of the tiered instance."""
    import pandas as pd
    import shapely

    from circles.coverage import assess
    from circles.profiles import load_profile

    walk, drive = nets["porto"], nets["porto_drive"]
    rng = np.random.default_rng(SEED)
    units, _, radius = _core_disc(walk, 20_000)
    cx, cy = np.median(walk.node_x), np.median(walk.node_y)

    def points(net, n):
        mx = (net.node_x[net.edge_u] + net.node_x[net.edge_v]) / 2
        my = (net.node_y[net.edge_u] + net.node_y[net.edge_v]) / 2
        edges = np.sort(rng.choice(np.flatnonzero(np.hypot(mx - cx, my - cy) < radius), n, replace=False))
        pts = shapely.line_interpolate_point(net.edge_lines()[edges], rng.uniform(0.05, 0.95, n), normalized=True)
        return net.to_lonlat(shapely.get_x(pts), shapely.get_y(pts))

    w = rng.integers(1, 60, len(units)).astype(float)
    demand = pd.DataFrame({"lon": walk.node_lon[units], "lat": walk.node_lat[units], "population": 5 * w,
                           "pop_60plus": w, "pop_0_17": w})
    (eclon, eclat), (eplon, eplat) = points(drive, 3), points(walk, 30)
    facilities = pd.DataFrame({"name": [f"centre {i}" for i in range(3)] + [f"point {i}" for i in range(30)],
                               "category": "elderly", "tier": ["centre"] * 3 + ["station"] * 30,
                               "lon": np.r_[eclon, eplon], "lat": np.r_[eclat, eplat]})
    (clon, clat), (plon, plat) = points(drive, 200), points(walk, 1_800)
    candidates = pd.DataFrame({"name": [f"C{i}" for i in range(200)] + [f"P{i}" for i in range(1_800)],
                               "tier": ["centre"] * 200 + ["station"] * 1_800,
                               "lon": np.r_[clon, plon], "lat": np.r_[clat, plat],
                               "build": np.where(rng.random(2_000) < 0.5, "new", "renovation")})
    with tempfile.TemporaryDirectory(prefix="bench_tiered_") as tmp:
        path = Path(tmp) / "profile.toml"
        path.write_text(f'base = "rural"\nid = "rural_porto_bench"\n[categories.elderly.tiers.centre]\nmode = "drive"\n'
                        f'minutes = {TIERED_CENTRE_MIN}\n[categories.elderly.tiers.station]\nminutes = 15\n',
                        encoding="utf-8")
        profile = load_profile(path)
    t0 = time.perf_counter()
    report = assess({"walk": walk, "drive": drive}, facilities, demand, profile=profile, plain_speed_kmh=SPEED_KMH)
    what = (f"20,000 walk nodes within {radius / 1000:.1f} km of the median node; existing 3 centres + 30 points; "
            f"candidates 200 centres (road edges) + 1,800 points (footway edges); centres {TIERED_CENTRE_MIN:g} min "
            f"by road, points 15 min on foot, link {TIERED_LINK_MIN:g} min by road")
    return {"name": TIERED, "report": report, "nets": {"walk": walk, "drive": drive}, "candidates": candidates,
            "assess_s": time.perf_counter() - t0, "what": what}


def run_tiered(inst: dict[str, Any], *, repeats: int, time_limit_s: float) -> dict[str, Any]:
    """`suggest_tiered_sites` end to end per objective and back end: wall time, stages, objective, optimality."""
    from circles.siting import SiteCosts, suggest_tiered_sites

    centre_costs = SiteCosts(new_yuan=TIERED_CENTRE_COSTS[0], renovation_yuan=TIERED_CENTRE_COSTS[1])
    rows = []
    for objective in TIERED_OBJECTIVES:
        row: dict[str, Any] = {"objective": objective}
        for solver in ("highs", "cbc", "greedy"):
            outs, t, all_t = _timed(lambda: suggest_tiered_sites(
                inst["report"], inst["nets"], inst["candidates"], category="elderly", link_minutes=TIERED_LINK_MIN,
                centre_costs=centre_costs, time_limit_s=time_limit_s, solver=solver, **objective),
                repeats if solver != "cbc" else 1)
            out = outs[-1]
            if len({(round(o.objective, 6), round(o.total_cost, 2)) for o in outs}) > 1:
                raise RuntimeError(f"{TIERED} {objective} {solver}: answers differ between runs")
            row[solver] = {"wall_s": t, "runs_s": all_t, "added": out.objective, "cost": out.total_cost,
                           "coverage_after": out.coverage_after, "optimal": out.optimal, "gap": out.gap,
                           "centres": int((out.sites["role"] == "centre").sum()),
                           "points": int((out.sites["role"] == "point").sum()),
                           "timings": {k: statistics.median(o.timings.get(k, 0.0) for o in outs)
                                       for k in out.timings},
                           "model_size": out.model_size, "message": out.message}
            print(f"[{TIERED}] {objective} {solver}: {t:.2f} s, {out.message}", flush=True)
        exact = [row[s] for s in ("highs", "cbc")]
        row["agree"] = bool(abs(exact[0]["added"] - exact[1]["added"]) <= 1e-6
                            and abs(exact[0]["cost"] - exact[1]["cost"]) <= 0.01)
        rows.append(row)
    return {"instance": TIERED, "what": inst["what"], "assess_s": inst["assess_s"], "rows": rows,
            "coverage_before": float(inst["report"].category("elderly").coverage)}


def _tiered_markdown(res: dict[str, Any]) -> str:
    m, t = res["machine"], res["tiered"]
    lines = [
        "# Tiered siting benchmark (centres by road + points on foot, Porto)",
        "",
        f"`python bench/bench_siting.py --instances {TIERED}` — {m['date']}; {m['nproc']} cores (shared; load "
        f"average at start {', '.join(f'{x:.1f}' for x in m['loadavg_at_start']) if m['loadavg_at_start'] else 'n/a'}"
        + (f", at end {', '.join(f'{x:.1f}' for x in m['loadavg_at_end'])}" if m.get("loadavg_at_end") else "")
        + "), " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".",
        "",
        f"Instance: {t['what']}. `assess` of the existing sites (not timed below): {t['assess_s']:.1f} s.",
        "",
        f"`suggest_tiered_sites` end to end, median of {res['repeats']} runs (CBC: one run); seconds. Stages of the "
        "HiGHS run: existing sites' coverage and links, candidates' coverage sets and links, reduction, greedy, MIP.",
        "",
        "| objective | HiGHS s | (existing + sets, reduce, MIP) | CBC s | new centres + points | cost (yuan) | "
        "people added | optimal, gap | greedy: people / cost | HiGHS = CBC |",
        "|---|---:|---|---:|---|---:|---:|---|---|---|",
    ]
    for r in t["rows"]:
        h, c, g = r["highs"], r["cbc"], r["greedy"]
        st = h["timings"]
        stages = (f"{st.get('existing', 0) + st.get('coverage_sets', 0):.1f}, {st.get('reduce', 0):.1f}, "
                  f"{st.get('mip', 0):.1f}")
        obj = ", ".join(f"{k} {v:,.0f}" if k == "budget" else f"{k} {v:.0%}" for k, v in r["objective"].items())
        lines.append(f"| {obj} | {h['wall_s']:.1f} | {stages} | {c['wall_s']:.1f} | {h['centres']} + {h['points']} | "
                     f"{h['cost']:,.0f} | {h['added']:,.0f} | {h['optimal']}, {h['gap']:.2%} | "
                     f"{g['added']:,.0f} / {g['cost']:,.0f} | {'yes' if r['agree'] else 'NO'} |")
    size = t["rows"][0]["highs"]["model_size"]
    lines += ["", f"Model: {size.get('centres', 0):,} candidate centres, {size.get('points', 0):,} points (with "
              f"existing points no centre links), {size.get('units', 0):,} demand units still to cover → reduced to "
              f"{size.get('centres_reduced', 0):,} × {size.get('points_reduced', 0):,} × "
              f"{size.get('units_reduced', 0):,} ({size.get('dominated_dropped', 0):,} dominated candidates "
              f"dropped), {size.get('mip_nonzeros', 0):,} MIP nonzeros. Coverage before (tiered rule): see "
              f"siting_tiered.json; the assessment's: {t['coverage_before']:.1%}.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- report
def _machine() -> dict[str, Any]:
    from importlib import metadata

    def ver(p: str) -> str | None:
        try:
            return metadata.version(p)
        except metadata.PackageNotFoundError:
            return None

    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(), "platform": platform.platform(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"), "loadavg_at_start": load,
        "versions": {p: ver(p) for p in ("highspy", "pulp", "spopt", "scipy", "numpy")},
    }


def _s(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, (int, float)) and v is not None else "–"


def _markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Site selection benchmark (maximal covering, p = 10)",
        "",
        f"`python bench/bench_siting.py` — {m['date']}; {m['nproc']} cores (shared with other work; load average "
        f"at start {', '.join(f'{x:.1f}' for x in m['loadavg_at_start']) if m['loadavg_at_start'] else 'n/a'}"
        + (f", at end {', '.join(f'{x:.1f}' for x in m['loadavg_at_end'])}" if m.get("loadavg_at_end") else "") + "), "
        f"Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".",
        "",
        f"Walking times at {SPEED_KMH} km/h without way factors, threshold {THRESHOLD_S / 60:.0f} min; times in "
        f"seconds (median of {res['repeats']} runs for HiGHS, CBC, greedy, auto; one run for spopt); budget: exact "
        f"in ≤ {BUDGET_S:.0f} s for ~20k units × 2k candidates.",
        "",
        "| instance | units × candidates | reduced to | coverage sets | HiGHS (MIP) | PuLP+CBC (MIP) | auto | "
        "spopt+CBC (build + solve, peak RSS) | greedy % of optimum | optimum | all agree |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["rows"]:
        sp = r.get("spopt")
        if sp is None:
            sp_s = "n/a (capacitated: spopt has no capacitated MCLP)" if r["capacitated"] else "not run"
        elif "skipped" in sp:
            sp_s = sp["skipped"]
        else:
            sp_s = f"{sp['wall_s']:.1f} ({sp['build_s']:.1f} + {sp['solve_s']:.1f}), {sp['peak_rss_mb']:,.0f} MB"
            if sp.get("reused_from"):
                sp_s += f" (run of {sp['reused_from'][:16]})"
        opt = "" if r["highs"]["optimal"] and r["cbc"]["optimal"] else " (not all proven)"
        if sp and "wall_s" in sp:
            sp_s += f"; {sp['wall_s'] / min(r['highs']['wall_s'], r['cbc']['wall_s']):,.0f}× the faster back end"
        lines.append(
            f"| {r['instance']}{' (capacitated)' if r['capacitated'] else ''} | {r['units']:,} × {r['candidates']:,} | "
            f"{r['units_reduced']:,} × {r['candidates_reduced']:,} | {_s(r['coverage_sets_s'])} | "
            f"{_s(r['highs']['wall_s'])} ({_s(r['highs']['mip_s'])}) | {_s(r['cbc']['wall_s'])} ({_s(r['cbc']['mip_s'])}) | "
            f"{_s(r['auto']['wall_s'])} → {r['auto']['solver']} | {sp_s} | {r['greedy_pct_of_optimum']:.2f} % | "
            f"{r['optimum']:,.0f}{opt} | {'yes' if r['all_agree'] else 'NO'} |")
    lines += ["", "Instances:", ""]
    lines += [f"- **{r['instance']}**: {r['what']} (network of {r['network_nodes']:,} nodes)." for r in res["rows"]]
    core = next((r for r in res["rows"] if r["instance"] == "porto_core"), None)
    if core:
        fastest = min(core["highs"]["wall_s"], core["cbc"]["wall_s"])
        total = core["coverage_sets_s"] + core["auto"]["wall_s"]
        lines += ["", f"Acceptance (porto_core, {core['units']:,} × {core['candidates']:,}, p = {P}): coverage sets "
                  f"{core['coverage_sets_s']:.1f} s + exact solve {core['auto']['wall_s']:.1f} s with `auto` "
                  f"(fastest back end {fastest:.1f} s) = {total:.1f} s "
                  f"{'≤' if total <= BUDGET_S else '>'} {BUDGET_S:.0f} s."]
    lines += ["", "Columns: HiGHS / PuLP+CBC are `solve_mclp` end to end on the coverage matrix (reduction, lazy "
              "greedy warm start, model build, MIP); in brackets the MIP stage alone (for CBC it includes PuLP's "
              "model build in Python, about 1 µs per nonzero). `auto` is the back end `solver=\"auto\"` picks. "
              "spopt gets the dense units × candidates matrix of the same walking times (built outside its clock).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", default=",".join(INSTANCES))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-spopt", action="store_true")
    ap.add_argument("--spopt-timeout", type=float, default=1200.0)
    ap.add_argument("--spopt-max-cells", type=float, default=70e6, help="largest dense matrix given to spopt")
    ap.add_argument("--time-limit-s", type=float, default=120.0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--report-only", action="store_true", help="rewrite siting.md from the existing siting.json")
    ap.add_argument("--reuse-spopt", type=Path, metavar="JSON",
                    help="take spopt's figures from an earlier siting.json where the instance is identical "
                         "(same sizes, pairs and optimum) instead of running it again (it takes minutes)")
    a = ap.parse_args(argv)
    if a.report_only:
        for name, render in (("siting", _markdown), ("siting_tiered", _tiered_markdown)):
            if (a.out / f"{name}.json").exists():
                md = render(json.loads((a.out / f"{name}.json").read_text(encoding="utf-8")))
                atomic_write(a.out / f"{name}.md", md)
                print(md)
        return 0
    from network import load_network

    names = [n.strip() for n in a.instances.split(",") if n.strip()]
    unknown = sorted(set(names) - set(INSTANCES))
    if unknown:
        ap.error(f"unknown instances {unknown}; valid: {', '.join(INSTANCES)}")
    machine = _machine()
    nets = {}
    if any(n.startswith("porto") for n in names):
        nets["porto"] = load_network(DATA / "porto.osm.pbf", mode="walk")
    if TIERED in names:
        nets["porto_drive"] = load_network(DATA / "porto.osm.pbf", mode="drive")
        tiered = run_tiered(build_tiered(nets), repeats=a.repeats, time_limit_s=a.time_limit_s)
        machine_t = {**machine, "loadavg_at_end": os.getloadavg()}
        res_t = {"machine": machine_t, "repeats": a.repeats, "seed": SEED, "tiered": tiered}
        atomic_write(a.out / "siting_tiered.json", json.dumps(res_t, indent=1, default=float))
        md = _tiered_markdown(res_t)
        atomic_write(a.out / "siting_tiered.md", md)
        print(md)
        names = [n for n in names if n != TIERED]
        if not names:
            return 0
    if "shenzhen_nodes" in names:
        nets["shenzhen"] = load_network(DATA / "shenzhen_nanshan.osm", mode="walk")
    earlier: dict[str, Any] = {}
    if a.reuse_spopt:
        old = json.loads(a.reuse_spopt.read_text(encoding="utf-8"))
        earlier = {r["instance"]: {**r, "run_date": old["machine"]["date"]} for r in old["rows"]}
    rows = []
    for name in names:
        inst = build_instance(name, nets)
        rows.append(run_instance(inst, repeats=a.repeats, spopt=not a.skip_spopt, spopt_timeout=a.spopt_timeout,
                                 spopt_max_cells=a.spopt_max_cells, time_limit_s=a.time_limit_s,
                                 reuse=earlier.get(name)))
    machine["loadavg_at_end"] = os.getloadavg()
    res = {"machine": machine, "repeats": a.repeats, "speed_kmh": SPEED_KMH, "threshold_s": THRESHOLD_S, "p": P,
           "seed": SEED, "rows": rows}
    atomic_write(a.out / "siting.json", json.dumps(res, indent=1, default=float))
    md = _markdown(res)
    atomic_write(a.out / "siting.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

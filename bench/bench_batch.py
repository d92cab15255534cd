"""Benchmark: `circles batch` throughput (districts per minute) with 1 and 2 worker processes.

Data: the synthetic sample district (`circles.sample.make_sample`) at ``--size`` (1.0 ≈ 5,000
simplified walking nodes on about 3 km × 3 km; the area grows linearly with the size), written
to files as a planner would hand them over (``sample.osm.pbf``, ``facilities.csv``,
``population.csv``). Its three streets are too few districts to measure a batch, so the sample
boundary is cut into a ``--grid`` × ``--grid`` grid of cells; every cell with residents is a
district (``格网RR-CC``). Each cell is analysed with the default profile (15-minute circles for
elderly care, meals and child protection) and a 1,000 m buffer, exactly as ``circles batch``
does for streets.

Every measured run is the command line (`circles.batch.batch_cmd`) in a fresh Python process,
so the wall time includes what a planner waits for: imports, reading the OSM file once,
preparing the ledger and population, starting the workers, every district, and the combined
tables. Throughput = districts / wall minutes. The per-district analysis times come from the
run's ``batch.json``. The 1- and 2-worker runs must write identical ``districts.csv`` files.

Usage::

    python bench/bench_batch.py [--size 2] [--grid 4] [--runs 2] [--workers 1 2] [--wait-load 1.0]

Writes ``bench/results/batch.md``.
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

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SEED = 2024


def make_inputs(size: float, grid: int, folder: Path) -> dict[str, object]:
    """Sample files and a grid of districts over the sample's boundary (cells with residents only)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from circles.sample import make_sample, write_sample_files

    sample = make_sample(size=size, seed=SEED)
    paths = write_sample_files(sample, folder)
    x0, y0, x1, y1 = sample.boundary.bounds
    people = shapely.points(sample.population[["lon", "lat"]].to_numpy())
    names, cells = [], []
    for r in range(grid):
        for c in range(grid):
            cell = shapely.box(x0 + (x1 - x0) * c / grid, y0 + (y1 - y0) * r / grid,
                               x0 + (x1 - x0) * (c + 1) / grid, y0 + (y1 - y0) * (r + 1) / grid)
            part = shapely.intersection(sample.boundary, cell)
            if part.is_empty or part.area == 0 or not shapely.contains(part, people).any():
                continue
            names.append(f"格网{r + 1:02d}-{c + 1:02d}")
            cells.append(part)
    districts = gpd.GeoDataFrame({"cell": names}, geometry=cells, crs="EPSG:4326")
    districts_path = folder / "grid.geojson"
    districts.to_file(districts_path, driver="GeoJSON")
    return {
        "osm": str(paths["osm"]), "facilities": str(paths["facilities"]), "population": str(paths["population"]),
        "districts": str(districts_path), "n_districts": len(districts), "nodes": int(len(sample.ways.node_id)),
        "ways": int(sample.ways.n_ways), "facilities_n": int(len(sample.facilities)),
        "units": int(len(sample.population)), "residents": int(sample.population["population"].sum()),
        "km": round(float(np.sqrt(shapely.area(gpd.GeoSeries([sample.boundary], crs="EPSG:4326")
                                               .to_crs(districts.estimate_utm_crs()).iloc[0]))) / 1000.0, 2),
    }


def wait_for_load(limit: float, max_s: float = 600.0) -> None:
    """Wait (up to `max_s` seconds) until the 1-minute load average is below `limit` (0: do not wait)."""
    t0 = time.monotonic()
    while limit > 0 and os.getloadavg()[0] >= limit and time.monotonic() - t0 < max_s:
        time.sleep(10)


def run_once(inputs: dict[str, object], workers: int, out: Path) -> dict[str, object]:
    """One `circles batch` in a fresh process; wall time from launch to exit."""
    cmd = [sys.executable, "-c", "from circles.cli import batch_cmd; batch_cmd()", "--network", inputs["osm"], "--districts", inputs["districts"],
           "--district-col", "cell", "--facilities", inputs["facilities"], "--population", inputs["population"],
           "--out", str(out), "--workers", str(workers), "--quiet"]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"circles batch failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    run = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    per = list(run["district_seconds"].values())
    cpu = list(run["district_cpu_seconds"].values())
    return {
        "workers": workers, "wall_s": wall, "batch_s": run["seconds"], "districts": run["districts"],
        "ok": run["ok"], "failed": run["failed"], "per_district_median_s": statistics.median(per),
        "per_district_sum_s": sum(per), "per_district_cpu_median_s": statistics.median(cpu),
        "per_district_cpu_sum_s": sum(cpu), "load_before": load,
        "districts_per_min": run["districts"] / wall * 60.0,
        "table": (out / "districts.csv").read_bytes(),
        "files": sorted(p.name for p in next(d for d in sorted(out.iterdir()) if d.is_dir()).iterdir()
                        if p.name != "_done.json"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=float, default=2.0, help="sample size (1.0 ≈ 5,000 nodes)")
    ap.add_argument("--grid", type=int, default=4, help="cut the sample into GRID × GRID cells")
    ap.add_argument("--runs", type=int, default=2, help="runs per worker count (the fastest is reported)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--wait-load", type=float, default=0.0, metavar="LOAD",
                    help="before each run wait (up to 10 min) for the 1-min load average to fall below LOAD")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        inputs = make_inputs(args.size, args.grid, tmp / "data")
        print(f"sample size {args.size}: {inputs['nodes']:,} nodes, {inputs['facilities_n']} facilities, "
              f"{inputs['units']} residential units; {inputs['n_districts']} grid districts", file=sys.stderr)
        results: dict[int, list[dict[str, object]]] = {}
        for k in range(args.runs):
            for w in args.workers:
                wait_for_load(args.wait_load)
                r = run_once(inputs, w, tmp / f"out-{w}-{k}")
                results.setdefault(w, []).append(r)
                print(f"workers {w} run {k + 1}: {r['wall_s']:.1f} s, {r['districts_per_min']:.1f} districts/min "
                      f"(load before {r['load_before']:.1f})", file=sys.stderr)
    tables = {r["table"] for rs in results.values() for r in rs}
    identical = len(tables) == 1
    write_report(args, inputs, results, identical)


def write_report(args, inputs, results, identical: bool) -> None:
    """bench/results/batch.md: the fastest run per worker count (the least disturbed on a shared machine)."""
    best = {w: min(rs, key=lambda r: r["wall_s"]) for w, rs in results.items()}
    base = best[min(best)]["districts_per_min"]
    n = inputs["n_districts"]
    rows = "\n".join(
        f"| {w} | {b['wall_s']:.1f} | **{b['districts_per_min']:.1f}** | {b['districts_per_min'] / base:.2f}× | "
        f"{b['per_district_median_s']:.2f} | {b['per_district_cpu_median_s']:.2f} | {b['per_district_cpu_sum_s']:.1f} | "
        f"{b['load_before']:.1f} |" for w, b in sorted(best.items()))
    all_runs = "; ".join(f"{w} worker{'s' if w > 1 else ''}: " + ", ".join(f"{r['wall_s']:.1f} s" for r in rs)
                         for w, rs in sorted(results.items()))
    one = best[min(best)]
    fixed_s = one["wall_s"] - one["per_district_sum_s"]
    cpu_rate = n / one["per_district_cpu_sum_s"] * 60.0
    cpu = platform.processor() or platform.machine()
    text = f"""# `circles batch` throughput

Measured {_dt.date.today().isoformat()} with `python bench/bench_batch.py --size {args.size:g} --grid {args.grid} --runs {args.runs} --wait-load {args.wait_load:g}`
on {os.cpu_count()} cores ({cpu}, Python {platform.python_version()}), a machine shared with other engineers'
tests and benchmarks: the table shows the fastest of {args.runs} run(s) per worker count, and the 1-minute
load average just before it (2.0 = both cores already busy). All runs: {all_runs}.

**Data**: the synthetic sample district (示例数据) at size {args.size:g}: {inputs['nodes']:,} OSM nodes,
{inputs['ways']:,} ways, {inputs['facilities_n']} facilities, {inputs['units']} residential units
({inputs['residents']:,} residents) on about {inputs['km']} km × {inputs['km']} km, cut into a
{args.grid} × {args.grid} grid: **{n} districts** (cells with residents). Default profile (15min: elderly
care, meals, child protection), 1,000 m buffer, population file and ledger as CSV; every district is
written with all `circles analyze` outputs ({", ".join(one["files"])}).

| workers | wall time (s) | districts / minute | speed-up | median district, wall (s) | median district, CPU (s) | all districts, CPU (s) | load before |
|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

- Wall time = the whole command in a fresh process: imports, reading the OSM file once, checking the
  ledger and reading the population once, starting the workers, every district, the combined tables.
  The fixed part (everything but the districts) was about {fixed_s:.0f} s with 1 worker.
- CPU time is counted inside each district on its worker: it does not grow when the machine is busy.
  At {one['per_district_cpu_sum_s'] / n:.1f} CPU-s per district, one free core does about {cpu_rate:.0f} districts per minute;
  N free cores about N times that, less the fixed part.
- The 1- and 2-worker runs wrote {'identical' if identical else 'DIFFERENT'} `districts.csv` files.
- Most of a district's time is its service areas (`isochrones.geojson`, built by `circles.isochrones`:
  the union of walking service areas per category and per facility, for every facility within the
  buffer) and the files written from them; building the network, the shortest paths and the coverage
  figures take a few tenths of a second.
- With other work on the same cores (load average {min(r['load_before'] for rs in results.values() for r in rs):.1f}–{max(r['load_before'] for rs in results.values() for r in rs):.1f}
  on {os.cpu_count()} cores before the runs) the wall-time speed-up measures the CPU left free, not the batch:
  compare the median district's wall and CPU time. An idle machine was not available for this
  measurement; the CPU time above is the estimate for one: about {cpu_rate:.0f} districts per minute
  per free core.
"""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "batch.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    print(text)


if __name__ == "__main__":
    main()

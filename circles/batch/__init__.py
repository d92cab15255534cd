"""Batch runs: `circles analyze` for every district (区/县) or street (街道/乡镇) of a districts file.

How a run is organised
----------------------
1. **Prepare once** (`circles.pipeline.prepare` with ``parse_once=True``): the OSM file parsed
   once, the ledger checked once, the demand made once (zone totals spread over the data once),
   the districts clipped to the data (those it does not reach are left out and named).
2. **Split** (`circles.batch.split`): each district becomes a task holding its cut of the
   prepared inputs (`circles.pipeline.Prepared.cut`): the ways within reach of its boundary plus
   the buffer, the facilities of that extent, the residents inside.
3. **Execute** (`circles.batch.execute`): `circles.pipeline.analyse` on each task, in this
   process, in worker processes or on a Dask cluster, through one scheduling loop; each task
   returns the district's files as bytes, a failing district an outcome with a one-line cause.
4. **Collect** (`circles.batch.collect`): the calling process commits each district's folder,
   its ``_done.json`` last, then writes the combined tables.

The same tasks give the same bytes wherever they run; a district's figures equal
`circles analyze --boundary <district>` on the same inputs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.batch.collect import DONE_MARKER, commit_district, forget_district, read_marker, write_combined
from circles.batch.execute import DistrictOutcome, execute, run_district
from circles.batch.split import (
    DistrictTask,
    WayIndex,
    extract_ways,
    fingerprint,
    make_task,
    safe_folder_name,
    unique_folders,
)
from circles.districts import DISTRICT_COLUMNS, district_table
from circles.errors import InputError
from circles.options import RunOptions

log = logging.getLogger(__name__)

__all__ = ["BatchResult", "DistrictOutcome", "DistrictTask", "DONE_MARKER", "DISTRICT_COLUMNS", "extract_ways",
           "run_batch", "run_district", "safe_folder_name"]


@dataclass(frozen=True, eq=False)
class BatchResult:
    """The result of `run_batch`.

    Attributes
    ----------
    table
        The districts table (`circles.districts.DISTRICT_COLUMNS`), as written to districts.csv.
    outcomes
        One `DistrictOutcome` per district reached by the data, sorted by name (files dropped).
    outside
        Names of the districts the data does not reach (left out of the run).
    paths
        The combined files written into ``out_dir``.
    seconds
        Wall time of the whole batch (seconds), preparation included.
    """

    table: pd.DataFrame
    outcomes: tuple[DistrictOutcome, ...]
    outside: tuple[str, ...]
    paths: tuple[Path, ...]
    seconds: float

    @property
    def failed(self) -> tuple[DistrictOutcome, ...]:
        """The districts that failed, with their causes."""
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def ok(self) -> bool:
        """True when no district failed."""
        return not self.failed

    def counts(self) -> dict[str, int]:
        """Districts by status: ``{"ok": 9, "failed": 1, "skipped": 2}``."""
        out = {"ok": 0, "failed": 0, "skipped": 0}
        for o in self.outcomes:
            out[o.status] += 1
        return out


def run_batch(
    options: RunOptions,
    out_dir: str | os.PathLike,
    *,
    districts: gpd.GeoDataFrame | None = None,
    workers: int = 1,
    scheduler: Any = None,
    resume: bool = False,
    progress: bool | None = None,
    say: Callable[[str], None] | None = None,
) -> BatchResult:
    """Run the analysis for every district the data reaches and write the combined tables.

    Parameters
    ----------
    options
        The run's options (`circles.options.RunOptions`): ``network`` an OSM file (parsed once)
        or ``sample=True``; ``districts`` (a GeoJSON/GPKG/SHP with a CRS) and ``district_col``:
        the name column, or several joined with ``,`` (``"county,street"`` gives
        ``"海淀区/燕园街道"``). With ``sample=True`` the districts default to the sample's streets.
    out_dir
        Output folder: one sub-folder per district (`safe_folder_name`) with the analyze
        outputs and ``_done.json``, plus districts.csv, districts.xlsx, districts.geojson,
        rules.csv, summary_map.html, errors.log and batch.json.
    districts
        District polygons given in memory instead of ``options.districts``.
    workers
        Worker processes on this machine (1: run in this process).
    scheduler
        Address of a Dask scheduler (``"tcp://host:8786"``) or a `dask.distributed.Client`: run
        the districts on that cluster instead (``workers`` is then ignored).
    resume
        Skip districts whose ``_done.json`` says their outputs are complete for the same inputs
        and options; failed and changed districts run again.
    progress
        Progress bar on stderr: None shows it when stderr is a terminal.
    say
        Called with one line per preparation step (e.g. ``click.echo``); default: the log.

    Returns
    -------
    BatchResult
        ``result.ok`` is False when any district failed (each failure is in the table and
        errors.log with its cause).

    Raises
    ------
    circles.errors.CirclesError
        When the inputs as a whole are unusable. Problems of one district never raise.

    Examples
    --------
    >>> opts = RunOptions(network="haidian.osm.pbf", districts="streets.gpkg", district_col="county,street",
    ...                   facilities="ledger.xlsx", coords="gcj02", population_zones="streets.gpkg",
    ...                   zone_population_col="population")  # doctest: +SKIP
    >>> run_batch(opts, "out/haidian", workers=2).counts()  # doctest: +SKIP
    {'ok': 29, 'failed': 0, 'skipped': 0}
    """
    from circles.pipeline import prepare

    t0 = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InputError(f"--workers is {workers!r}; give a whole number >= 1, e.g. --workers 4")
    opts = options.validated(districts_given=districts is not None)
    if opts.boundary:
        raise InputError("batch runs take each district's polygon as its boundary; drop --boundary "
                         "(use --districts FILE --district-col COL)")
    if districts is None and not opts.districts and not opts.sample:
        raise InputError("batch needs --districts FILE --district-col COL (the polygons of the districts or streets)")
    say = say or log.info
    out = Path(out_dir)
    prepared = prepare(opts, districts=districts, progress=say, parse_once=True)
    table = prepared.districts.copy()
    table["folder"] = unique_folders(table["name"].tolist())
    out.mkdir(parents=True, exist_ok=True)
    base = _fingerprint_base(prepared)

    # A district is up to date when its marker carries the fingerprint of its task: the options and its
    # own cut (ways, facilities, residents, remarks). Tasks are cut twice (here and when sent) so that
    # only a window of them is ever held in memory.
    index = WayIndex(prepared.source) if hasattr(prepared.source, "way_offsets") else None
    fingerprints: dict[str, str] = {}
    outcomes: dict[str, DistrictOutcome] = {}
    for row in table.itertuples():
        fingerprints[row.name] = fingerprint(base, make_task(prepared, row, index))
        done = read_marker(out / row.folder, fingerprints[row.name]) if resume else None
        if done is not None:
            outcomes[row.name] = done
    if outcomes:
        say(f"resume: {len(outcomes)} of {len(table)} districts are complete and skipped")
    todo = [row for row in table.itertuples() if row.name not in outcomes]

    from tqdm import tqdm

    bar = tqdm(total=len(table), initial=len(outcomes), unit="district", desc="districts 区划", file=sys.stderr,
               disable=(not sys.stderr.isatty()) if progress is None else not progress, dynamic_ncols=True)
    profile, lang = prepared.profile, opts.lang
    n_failed = 0
    try:
        tasks = (make_task(prepared, row, index) for row in todo)
        for outcome in execute(tasks, profile, lang, workers=int(workers), scheduler=scheduler):
            if outcome.status == "ok":
                commit_district(out, outcome, fingerprints[outcome.name])
            else:
                n_failed += 1
                forget_district(out, outcome.folder)
                log.warning("district %s failed: %s", outcome.name, outcome.cause)
            outcomes[outcome.name] = replace(outcome, files={})
            bar.update(1)
            if n_failed:
                bar.set_postfix(failed=n_failed)
    finally:
        bar.close()

    ordered = tuple(outcomes[name] for name in table["name"])
    combined = district_table([r for o in ordered for r in o.rows], profile)
    _remove_stale_folders(out, set(table["folder"]))
    seconds = time.perf_counter() - t0
    failed = [o for o in ordered if o.status == "failed"]
    counts = {s: sum(o.status == s for o in ordered) for s in ("ok", "failed", "skipped")}
    run = {"inputs": dict(prepared.record), "districts": len(ordered), **counts,
           "districts_outside": list(prepared.districts_outside),
           "workers": None if scheduler is not None else int(workers),
           "scheduler": None if scheduler is None else
           str(getattr(getattr(scheduler, "scheduler", None), "address", None) or scheduler),
           "seconds": round(seconds, 2), "notes": list(prepared.notes),
           "failed_districts": {o.name: o.cause for o in failed},
           "district_seconds": {o.name: o.seconds for o in ordered if o.status == "ok"},
           "district_cpu_seconds": {o.name: o.cpu_seconds for o in ordered if o.status == "ok"}}
    paths = write_combined(out, combined, ordered, table, profile, lang, run, _whole_run_rules(prepared, table),
                           report=not opts.no_report,
                           area=Path(str(opts.districts)).name.split(".")[0] if opts.districts else None)
    return BatchResult(table=combined, outcomes=ordered, outside=prepared.districts_outside, paths=tuple(paths),
                       seconds=seconds)


def _whole_run_rules(prepared: Any, districts: gpd.GeoDataFrame) -> Any:
    """The profile's rules over every district at once (county and city rules need them together)."""
    import shapely

    from circles.rules import check_rules

    demand = prepared.demand.copy()
    area = shapely.union_all(districts.geometry.dropna().to_numpy())
    demand["inside"] = shapely.contains_xy(area, demand["lon"].to_numpy(float), demand["lat"].to_numpy(float))
    return check_rules(prepared.profile, prepared.facilities, demand[demand["inside"]], districts=districts,
                       district_col="name")


def _fingerprint_base(prepared: Any) -> str:
    """What every district's outputs depend on besides its own cut: the options, the profile, the code."""
    from circles import __version__

    text = repr(prepared.profile).encode()  # every field of the frozen profile, overrides applied
    base = {"v": 2, "circles": __version__, "options": json.loads(json.dumps(prepared.options.__dict__, default=str)),
            "profile": hashlib.sha256(text).hexdigest()}
    return json.dumps(base, sort_keys=True, ensure_ascii=False)


def _remove_stale_folders(out: Path, folders: set[str]) -> None:
    """District folders of an earlier run (with our marker) that this run does not have: removed."""
    for d in out.iterdir():
        if d.is_dir() and d.name not in folders and (d / DONE_MARKER).is_file():
            shutil.rmtree(d, ignore_errors=True)

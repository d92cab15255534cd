"""Batch runs: the `circles analyze` pipeline for every district (区/县) or street (街道/乡镇).

How a run is organised
----------------------
1. **Prepare once**, in the calling process: parse the OSM file once into `network.raw.RawWays`,
   check the facility ledger once against the profile, and make the demand units once (read the
   population file, or spread the zone totals onto the residential buildings of the OSM file,
   else onto its roads).
2. **Split** every district into a self-contained `DistrictTask`: the ways with a node near its
   boundary + ``buffer_m`` (a superset of what `network.build.build_network` keeps, so the
   district's network is the one `circles analyze --boundary` builds), the facilities of that
   extent plus the snapping distance (roads and facilities beyond the border serve residents
   inside), the demand units inside the boundary (residents are counted only inside), and the
   ledger problems of its rows.
3. **Map** `run_district` over the tasks: in this process (``workers=1``), in worker processes
   (``workers=N``: a `concurrent.futures.ProcessPoolExecutor`, forkserver or spawn), or on a
   Dask cluster (``scheduler="tcp://host:8786"``: `dask.distributed.Client`). A task carries
   only its own extract (kB to a few MB), so nothing is broadcast, no worker holds the whole
   region, and workers need neither the input files nor a shared filesystem: `run_district`
   returns the district's files as bytes, and never raises for bad data — a failing district is
   an outcome with a one-line cause.
4. **Collect** in the calling process, the only writer: each district's files are committed
   into ``out_dir/<district>/`` (staged, then moved into place), then ``_done.json`` (its
   figures and the fingerprint of the inputs) is written last; ``resume=True`` skips districts
   whose marker matches. At the end: ``districts.csv`` and ``districts.xlsx`` (one row per
   district × category, sorted by district then profile category), ``districts.geojson``
   (district polygons with the figures, for a choropleth), ``errors.log`` (one line per failed
   district) and ``batch.json`` (the run).

The same tasks give the same bytes wherever they run, so a Dask run and a local run write
identical combined tables.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from network.arrays import ranges
from circles.analysis import AnalysisInputs, AnalysisResult
from circles.errors import USER_ERRORS, CirclesError, ExtentError, OutsideDataError
from network.raw import RawWays

log = logging.getLogger(__name__)

__all__ = [
    "BatchResult",
    "BatchSettings",
    "COMBINED_COLUMNS",
    "DONE_MARKER",
    "DistrictOutcome",
    "DistrictTask",
    "batch_cmd",
    "extract_ways",
    "run_batch",
    "run_district",
    "safe_folder_name",
]

#: Written last into a district's folder, after its outputs are in place: what ``resume`` trusts.
DONE_MARKER = "_done.json"
MARKER_VERSION = 1
#: Facilities this far beyond the buffered boundary (metres) may still snap onto its edges
#: (`circles.coverage.assess` snaps up to 200 m), so they are shipped with the district.
SNAP_MARGIN_M = 250.0
#: Columns of districts.csv, in order: one row per district × category.
COMBINED_COLUMNS: tuple[str, ...] = (
    "district", "category", "label", "status", "facilities", "demand_column", "demand_total",
    "demand_covered", "uncovered", "coverage", "minutes", "rules_ok", "rules", "cause", "folder",
)
_TOP_LEVEL = frozenset({"districts.csv", "districts.xlsx", "districts.geojson", "errors.log", "batch.json",
                        "summary_map.html"})
_XLSX_HEADERS = {
    "zh": {"district": "区划", "category": "类别", "label": "名称", "status": "状态", "facilities": "设施数",
           "demand_column": "服务人群", "demand_total": "服务人口", "demand_covered": "覆盖人口",
           "uncovered": "未覆盖人口", "coverage": "覆盖率", "minutes": "时间阈值(分钟)", "rules_ok": "规则达标",
           "rules": "规则检查", "cause": "失败原因", "folder": "输出文件夹"},
    "en": {c: c.replace("_", " ") for c in COMBINED_COLUMNS},
}
_STATUS_ZH = {"ok": "完成", "failed": "失败"}
_WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                               *(f"LPT{i}" for i in range(1, 10))})


# ============================================================================ data passed around
@dataclass(frozen=True)
class BatchSettings:
    """What every district run shares: the analyze options (small and picklable).

    Attributes
    ----------
    profile
        Built-in profile name or absolute path of a profile TOML (readable on every worker).
    minutes, speed_kmh
        The overrides of `circles.profiles.Profile.with_overrides` (minutes; km/h), or None.
    mode
        Network of the walking tiers: ``"walk"`` or ``"bike"``.
    buffer_m
        Network kept beyond each district's boundary (metres).
    horizon_min
        Times are reported up to this many minutes.
    lang
        ``"zh"`` or ``"en"``: labels of the tables.
    network_label
        The network's name in messages and summary.json (the OSM file's path, or ``"sample"``).
    record
        The summary.json ``inputs`` shared by every district (sources, options).
    """

    profile: str
    minutes: float | None
    speed_kmh: float | None
    mode: str
    buffer_m: float
    horizon_min: float
    lang: str
    network_label: str
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class DistrictTask:
    """One district's share of the batch: everything `run_district` needs, nothing more.

    Attributes
    ----------
    name
        The district's name (from ``--district-col``).
    folder
        Its output folder under the batch's ``out_dir`` (see `safe_folder_name`).
    boundary
        The district polygon (WGS84 lon/lat), or None when the districts file has none.
    ways
        The ways within reach of the buffered boundary (see `extract_ways`), or None.
    facilities
        Checked ledger facilities (WGS84) within the buffered boundary + `SNAP_MARGIN_M`.
    demand
        Demand units inside the boundary.
    notes
        Ledger and population remarks that concern this district.
    cause
        Set when the district cannot run at all (no polygon, only unusable ledger rows):
        `run_district` then returns a failed outcome with this cause.
    """

    name: str
    folder: str
    boundary: shapely.Geometry | None
    ways: RawWays | None
    facilities: pd.DataFrame
    demand: pd.DataFrame
    notes: tuple[str, ...] = ()
    cause: str | None = None


@dataclass(frozen=True, eq=False)
class DistrictOutcome:
    """What came of one district.

    Attributes
    ----------
    name, folder
        As in `DistrictTask`.
    status
        ``"ok"``, ``"failed"``, or ``"skipped"`` (complete from an earlier run, ``resume``).
    cause
        One line saying why the district failed ("" otherwise).
    rows
        Its rows of the combined table (one per profile category), JSON-safe dicts.
    files
        The `circles analyze` outputs by file name (bytes); emptied once written.
    seconds, cpu_seconds
        Wall and CPU time of the district's analysis on its worker (seconds).
    """

    name: str
    folder: str
    status: str
    cause: str
    rows: tuple[dict[str, Any], ...]
    files: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass(frozen=True, eq=False)
class BatchResult:
    """The result of `run_batch`.

    Attributes
    ----------
    table
        The combined table (`COMBINED_COLUMNS`), as written to districts.csv.
    outcomes
        One `DistrictOutcome` per district, sorted by name (files dropped).
    paths
        The combined files written into ``out_dir``.
    seconds
        Wall time of the whole batch (seconds), preparation included.
    """

    table: pd.DataFrame
    outcomes: tuple[DistrictOutcome, ...]
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


@dataclass(frozen=True, eq=False)
class _Prepared:
    """The inputs read once: network, districts, facilities, demand, and what they said."""

    ways: RawWays
    network_label: str
    districts: gpd.GeoDataFrame  # columns: name, folder, geometry (WGS84), sorted by name
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    ledger_notes: Mapping[str, tuple[str, ...]]  # district name -> ledger problems of its rows
    ledger_causes: Mapping[str, str]  # district name -> why its ledger rows are unusable
    demand_notes: tuple[str, ...]
    notes: tuple[str, ...]  # batch-level: problems not tied to a district
    settings: BatchSettings
    fingerprint_base: str


# ============================================================================ public functions
def run_batch(
    inputs: AnalysisInputs,
    out_dir: str | os.PathLike,
    *,
    workers: int = 1,
    scheduler: Any = None,
    resume: bool = False,
    progress: bool | None = None,
    say: Callable[[str], None] | None = None,
) -> BatchResult:
    """Run the `circles analyze` pipeline for every district and write the combined tables.

    Parameters
    ----------
    inputs
        The analyze inputs (`circles.analysis.AnalysisInputs`) with ``network`` an OSM file
        (``.osm``/``.osm.pbf``/...; parsed once), or a `network.raw.RawWays`, or
        ``sample=True``; ``districts`` (a GeoDataFrame) or ``districts_path`` (a GeoJSON/GPKG/SHP
        with a CRS), and ``district_col``: the name column, or several joined with ``,``
        (``"county,street"`` gives ``"海淀区/燕园街道"``; street names repeat across a city's
        districts). With ``sample=True`` the districts default to the sample's three streets.
        ``boundary`` must be empty: each district's polygon is its boundary.
    out_dir
        Output folder: one sub-folder per district (`safe_folder_name`) with the analyze outputs
        and ``_done.json``, plus districts.csv, districts.xlsx, districts.geojson, errors.log and
        batch.json.
    workers
        Worker processes on this machine (1: run in this process).
    scheduler
        Address of a Dask scheduler (``"tcp://host:8786"``) or a `dask.distributed.Client`: run
        the districts on that cluster instead (``workers`` is then ignored). The workers need the
        same `circles` installed; they need neither the input files nor ``out_dir``.
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
        The combined table and one outcome per district; ``result.ok`` is False when any
        district failed (each failure is in the table and errors.log with its cause).

    Raises
    ------
    CirclesError
        When the inputs as a whole are unusable (files missing, no district column, duplicate
        district names, a ledger that cannot be read, ...). Problems of one district never raise.

    Examples
    --------
    >>> from circles.analysis import AnalysisInputs
    >>> inputs = AnalysisInputs(network="haidian.osm.pbf", districts_path="streets.gpkg",
    ...                         district_col="county,street", facilities_path="ledger.xlsx",
    ...                         coords="gcj02", population_zones="streets.gpkg",
    ...                         zone_population_col="population")  # doctest: +SKIP
    >>> result = run_batch(inputs, "out/haidian", workers=2)  # doctest: +SKIP
    >>> result.counts()  # doctest: +SKIP
    {'ok': 29, 'failed': 0, 'skipped': 0}
    """
    t0 = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise CirclesError(f"--workers is {workers!r}; give a whole number >= 1, e.g. --workers 4")
    if inputs.boundary is not None or inputs.boundary_path:
        raise CirclesError("batch runs take each district's polygon as its boundary; drop --boundary "
                           "(use --districts FILE --district-col COL)")
    say = say or log.info
    out = Path(out_dir)
    prep = _prepare(inputs, say)
    out.mkdir(parents=True, exist_ok=True)
    profile = _load_profile(prep.settings.profile, prep.settings.minutes, prep.settings.speed_kmh)

    # A district is up to date when its marker carries the fingerprint of its task: the options and its
    # own extract (ways, facilities, residents, ledger remarks). Fixing one street's ledger rows reruns
    # that street and the neighbours within the buffer, not the whole city. Tasks are cut twice (here and
    # when sent) so that only a window of them is ever held in memory.
    index = _WayIndex(prep.ways)
    fingerprints: dict[str, str] = {}
    outcomes: dict[str, DistrictOutcome] = {}
    for row in prep.districts.itertuples():
        fingerprints[row.name] = _fingerprint(prep.fingerprint_base, _make_task(prep, index, row))
        done = _read_marker(out / row.folder, fingerprints[row.name]) if resume else None
        if done is not None:
            outcomes[row.name] = done
    if outcomes:
        say(f"resume: {len(outcomes)} of {len(prep.districts)} districts are complete and skipped")
    todo = [row for row in prep.districts.itertuples() if row.name not in outcomes]

    from tqdm import tqdm

    bar = tqdm(total=len(prep.districts), initial=len(outcomes), unit="district", desc="districts 区划",
               file=sys.stderr, disable=(not sys.stderr.isatty()) if progress is None else not progress,
               dynamic_ncols=True)
    n_failed = 0
    try:
        tasks = (_make_task(prep, index, row) for row in todo)
        for outcome in _execute(tasks, prep.settings, workers=int(workers), scheduler=scheduler, profile=profile):
            if outcome.status == "ok":
                _commit_district(out, outcome, fingerprints[outcome.name])
            else:
                n_failed += 1
                _forget_district(out, outcome.folder)
                log.warning("district %s failed: %s", outcome.name, outcome.cause)
            outcomes[outcome.name] = replace(outcome, files={})
            bar.update(1)
            if n_failed:
                bar.set_postfix(failed=n_failed)
    finally:
        bar.close()

    ordered = tuple(outcomes[name] for name in prep.districts["name"])
    table = combined_table(ordered, profile)
    seconds = time.perf_counter() - t0
    paths = _write_combined(out, table, ordered, prep, profile, workers=int(workers), scheduler=scheduler,
                            seconds=seconds)
    return BatchResult(table=table, outcomes=ordered, paths=tuple(paths), seconds=seconds)


def run_district(task: DistrictTask, settings: BatchSettings) -> DistrictOutcome:
    """Analyse one district; runs on a worker. Never raises for bad data: failures are outcomes.

    Parameters
    ----------
    task
        The district and its extract (`DistrictTask`).
    settings
        The shared options (`BatchSettings`).

    Returns
    -------
    DistrictOutcome
        ``status="ok"`` with the analyze outputs as bytes (what `AnalysisResult.write` writes:
        summary.json, access.csv, gaps.geojson, isochrones.geojson, summary.csv/xlsx,
        districts.csv) and the combined-table rows; or ``status="failed"`` with a one-line cause.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    profile = _load_profile(settings.profile, settings.minutes, settings.speed_kmh)
    try:
        if task.cause:
            raise CirclesError(task.cause)
        result = _analyse(task, settings, profile)
        files = _render(result)
        rows = _district_rows(task, result.report, settings.lang)
        return DistrictOutcome(task.name, task.folder, "ok", "", rows, files, round(time.perf_counter() - t0, 3),
                               round(time.process_time() - c0, 3))
    except USER_ERRORS as exc:
        cause = _one_line(str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug or a resource problem in one district must not stop the batch
        log.exception("district %s: unexpected error", task.name)
        cause = _one_line(f"unexpected {type(exc).__name__}: {exc}") + \
            " (a bug; rerun this district with `circles -v analyze --boundary` for the traceback)"
    return _failed(task.name, task.folder, cause, profile, settings.lang, time.perf_counter() - t0)


def safe_folder_name(name: str) -> str:
    """A folder name for a district: Chinese and other letters kept, path separators replaced.

    Replaces ``/ \\ : * ? " < > |`` and control characters with ``_``, trims spaces and dots
    at the ends (a leading dot would hide the folder), avoids Windows device names and keeps
    at most 80 characters.

    Examples
    --------
    >>> safe_folder_name("海淀区/燕园街道")
    '海淀区_燕园街道'
    >>> safe_folder_name("..")
    'district'
    """
    s = unicodedata.normalize("NFC", str(name))
    s = "".join("_" if (c in '/\\:*?"<>|' or unicodedata.category(c).startswith("C")) else c for c in s)
    s = s.strip(" .")
    if not s:
        return "district"
    if s.split(".")[0].upper() in _WINDOWS_RESERVED:
        s = "_" + s
    return s[:80].rstrip(" .") or "district"


def extract_ways(raw: RawWays, bbox: tuple[float, float, float, float], *, index: Any = None) -> RawWays:
    """The ways of `raw` whose extent meets `bbox`, with the nodes they use.

    `network.build.build_network` keeps only nodes inside the buffered boundary, so building
    from this extract (with a `bbox` that contains the buffered boundary) gives the same
    network as building from all of `raw`. Order of ways and nodes is kept.

    Parameters
    ----------
    raw
        All ways.
    bbox
        ``(min_lon, min_lat, max_lon, max_lat)`` in WGS84 degrees.
    index
        The `_WayIndex` of `raw`, to reuse across calls (built when None).

    Returns
    -------
    RawWays
        Possibly without ways (``n_ways == 0``) when nothing is near.
    """
    index = index if index is not None else _WayIndex(raw)
    ways = index.query(bbox)
    if len(ways) == 0:
        return RawWays(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64),
                       np.zeros(1, np.int64), np.zeros(0, np.int64), [])
    starts = raw.way_offsets[ways]
    lengths = raw.way_offsets[ways + 1] - starts
    pos = ranges(starts, lengths)
    refs = raw.refs[pos]
    node_pos = index.ref_node[pos]
    nodes = np.unique(node_pos[node_pos >= 0])
    offsets = np.zeros(len(ways) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return RawWays(
        node_id=raw.node_id[nodes], node_lon=raw.node_lon[nodes], node_lat=raw.node_lat[nodes],
        way_id=raw.way_id[ways], way_offsets=offsets, refs=refs,
        way_tags=[raw.way_tags[i] for i in ways.tolist()],
    )


def combined_table(outcomes: Iterable[DistrictOutcome], profile: Any) -> pd.DataFrame:
    """districts.csv: one row per district × category, sorted by district, then profile category."""
    order = {c.id: k for k, c in enumerate(profile.categories)}
    rows = [r for o in outcomes for r in o.rows]
    rows.sort(key=lambda r: (r["district"], order.get(r["category"], len(order)), r["category"]))
    table = pd.DataFrame(rows, columns=list(COMBINED_COLUMNS))
    return table.astype({"facilities": "Int64"})


# ============================================================================ preparation
def _prepare(inp: AnalysisInputs, say: Callable[[str], None]) -> _Prepared:
    """Read the network, districts, ledger and population once; check them as a whole."""
    from circles.profiles import builtin_profile_dir

    profile_arg = str(inp.profile)
    if Path(profile_arg).exists():
        profile_arg = str(Path(profile_arg).resolve())
    profile = _load_profile(profile_arg, inp.minutes, inp.speed_kmh)
    if inp.sample == (inp.network is not None):
        raise CirclesError("give exactly one of --network FILE or --sample "
                           "(e.g. `circles batch --sample --out out/batch`)")
    if inp.lang not in _XLSX_HEADERS:
        raise CirclesError(f"--lang {inp.lang!r} is not supported; use zh or en")
    if inp.mode not in ("walk", "bike"):
        raise CirclesError(f"--mode {inp.mode!r} is not supported for the walking tiers; use walk or bike")
    if not (isinstance(inp.buffer_m, (int, float)) and inp.buffer_m >= 0):
        raise CirclesError(f"--buffer-m is {inp.buffer_m!r}; give the metres of network kept beyond each district, e.g. 1000")

    sample = None
    if inp.sample:
        from circles.sample import make_sample

        say("sample district 示例数据 (synthetic sample)")
        sample = make_sample()
        ways, network_label, network_file = sample.ways, "sample", None
    elif isinstance(inp.network, RawWays):
        ways, network_label, network_file = inp.network, inp.network_label or "ways", None
    else:
        ways, network_label, network_file = _read_network(inp.network, say)

    districts, district_col, districts_label = _read_districts(inp, sample)
    say(f"districts: {len(districts)} from {districts_label} ({district_col})")

    ledger_facilities, ledger_notes, ledger_causes, batch_notes, facilities_label = \
        _read_facilities(inp, profile, districts, sample)
    demand, demand_notes, population_label = _read_demand(inp, profile, ways, network_file, districts,
                                                          district_col, sample, say)

    record = {
        "network": network_label, "mode": inp.mode, "boundary": None, "buffer_m": inp.buffer_m,
        "facilities": facilities_label, "coords": inp.coords, "population": population_label,
        "districts": districts_label, "district_col": district_col, "profile": profile.id,
        "minutes": inp.minutes, "speed_kmh": inp.speed_kmh, "horizon_min": inp.horizon_min, "lang": inp.lang,
    }
    if sample is not None:
        record["sample_label"] = sample.label
    settings = BatchSettings(profile=profile_arg, minutes=inp.minutes, speed_kmh=inp.speed_kmh, mode=inp.mode,
                             buffer_m=float(inp.buffer_m), horizon_min=float(inp.horizon_min), lang=inp.lang,
                             network_label=network_label, record=record)
    # What every district's outputs depend on besides its own extract: the options, the profile, the code.
    from circles import __version__

    profile_file = Path(profile_arg) if Path(profile_arg).exists() else builtin_profile_dir() / f"{profile_arg}.toml"
    profile_text = profile_file.read_bytes() if profile_file.is_file() else profile_arg.encode()
    base = {"v": MARKER_VERSION, "circles": __version__, "settings": _jsonable(settings.__dict__),
            "profile": hashlib.sha256(profile_text).hexdigest()}
    return _Prepared(ways=ways, network_label=network_label, districts=districts, facilities=ledger_facilities,
                     demand=demand, ledger_notes=ledger_notes, ledger_causes=ledger_causes,
                     demand_notes=demand_notes, notes=tuple(batch_notes), settings=settings,
                     fingerprint_base=json.dumps(base, sort_keys=True, ensure_ascii=False))


def _read_network(source: Any, say: Callable[[str], None]) -> tuple[RawWays, str, Path]:
    from network._osm_file import is_osm_path, read_highway_ways

    path = Path(source)
    if not is_osm_path(path):
        raise CirclesError(f"--network {source}: batch runs need an OSM file (.osm, .osm.gz, .osm.bz2, .osm.pbf), "
                           "parsed once for all districts; GraphML caches and place names are not supported")
    if not path.exists():
        raise CirclesError(f"{path}: file not found; check the path of the OSM file")
    t = time.perf_counter()
    ways = read_highway_ways(path)
    if ways.n_ways == 0:
        raise CirclesError(f"{path}: the file has no highway ways; use an extract that includes streets")
    say(f"network: {ways.n_ways:,} highway ways, {len(ways.node_id):,} nodes from {path} "
        f"({time.perf_counter() - t:.1f} s, read once)")
    return ways, str(path), path


def _read_districts(inp: AnalysisInputs, sample: Any) -> tuple[gpd.GeoDataFrame, str, str]:
    """Districts as (name, folder, geometry) in WGS84, sorted by name; names must be unique."""
    col_text = inp.district_col
    if inp.districts is not None:
        frame, label = inp.districts, inp.districts_path or "districts"
    elif inp.districts_path:
        path = Path(inp.districts_path)
        if not path.exists():
            raise CirclesError(f"{path}: districts file not found; give a GeoJSON/GPKG/SHP of district polygons")
        try:
            frame = gpd.read_file(path)
        except Exception as exc:  # noqa: BLE001 - pyogrio has its own error family
            raise CirclesError(f"{path}: not a readable vector file ({_one_line(str(exc))}); save it as GeoJSON or GPKG") from None
        label = str(path)
    elif sample is not None:
        frame, label = sample.districts, "sample streets"
        col_text = col_text or "street"
    else:
        raise CirclesError("batch needs --districts FILE --district-col COL (the polygons of the districts or streets)")
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise CirclesError(f"{label}: the districts have no CRS; save them with EPSG:4326 (WGS84 lon/lat)")
    cols = [c.strip() for c in str(col_text or "").split(",") if c.strip()]
    valid = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
    missing = [c for c in cols if c not in frame.columns]
    if not cols or missing:
        raise CirclesError(f"{label}: district column {(missing[0] if missing else col_text)!r} not found; "
                           f"use --district-col with one of: {valid} (or several joined by commas, e.g. county,street)")
    if len(frame) == 0:
        raise CirclesError(f"{label}: no districts in the file; give a layer with one polygon per district")
    frame = frame.to_crs("EPSG:4326")
    parts = [frame[c].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip())
             for c in cols]
    names = parts[0] if len(parts) == 1 else pd.Series(["/".join(p) for p in zip(*parts)], index=frame.index)
    empty = [k + 1 for k, p in enumerate(zip(*parts)) if not all(p)]
    if empty:
        raise CirclesError(f"{label} features {_rows_text(empty)}: the district column {col_text!r} is empty; "
                           "fill in the names (they name the output folders)")
    dup = names[names.duplicated(keep=False)]
    if len(dup):
        first = sorted(set(dup))[:3]
        raise CirclesError(f"{label}: district names repeat ({', '.join(first)}{' ...' if len(set(dup)) > 3 else ''}); "
                           f"use --district-col with several columns, e.g. --district-col county,{cols[-1]}")
    geoms = frame.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = np.where(ok, geoms, None)
    if ok.any():
        geoms[ok] = shapely.make_valid(geoms[ok])
    table = gpd.GeoDataFrame({"name": names.to_numpy(dtype=object)}, geometry=list(geoms), crs="EPSG:4326")
    table = table.sort_values("name", kind="stable").reset_index(drop=True)
    table["folder"] = _unique_folders(table["name"].tolist())
    return table, ",".join(cols), label


def _unique_folders(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        base = safe_folder_name(name)
        cand, k = base, 1
        while cand.casefold() in seen or cand in _TOP_LEVEL:
            k += 1
            cand = f"{base}~{k}"
        seen.add(cand.casefold())
        out.append(cand)
    return out


def _read_facilities(inp: AnalysisInputs, profile: Any, districts: gpd.GeoDataFrame, sample: Any):
    """Check the ledger once; attribute its problems to districts by location and 所属街道."""
    from circles.facilities import COLUMN_ALIASES, ledger_from_frame, read_ledger_table

    if inp.facilities_path:
        path = Path(inp.facilities_path)
        if not path.exists():
            raise CirclesError(f"{path}: facility ledger not found; check the path (CSV/XLSX/GeoJSON/GPKG/SHP)")
        table, first_row = read_ledger_table(path)
        source, label = path.name, str(path)
    elif sample is not None:
        table, first_row, source, label = sample.facilities, 2, "sample facilities (示例数据)", "sample"
    else:
        raise CirclesError("no facilities: give --facilities FILE (a ledger; see circles/data/templates/)")
    ledger = ledger_from_frame(table, source_name=source, coords=inp.coords, profile=profile, first_row=first_row)
    facilities = ledger.facilities

    # The district each ledger row names (所属街道), by spreadsheet row.
    aliases = {_norm_header(a) for a in COLUMN_ALIASES["district"]}
    dcol = next((c for c in table.columns if _norm_header(c) in aliases), None)
    by_name = {n: n for n in districts["name"]}
    for n in districts["name"]:  # "海淀区/燕园街道" is also named "燕园街道" in a ledger
        by_name.setdefault(n.rsplit("/", 1)[-1], n)
    named: dict[int, str] = {}
    if dcol is not None:
        for k, v in enumerate(table[dcol].tolist()):
            text = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
            if text in by_name:
                named[first_row + k] = by_name[text]
    # The district each kept facility lies in.
    located: dict[int, str] = {}
    if len(facilities):
        polys = districts[districts.geometry.notna()]
        hit = gpd.sjoin(facilities[["source_row", "geometry"]], polys[["name", "geometry"]], how="inner",
                        predicate="within")
        located = {int(r): n for r, n in zip(hit["source_row"], hit["name"])}

    notes: dict[str, list[str]] = {}
    batch_notes: list[str] = []
    for p in ledger.report.problems:
        text = p.describe(source)
        where = {named.get(p.row), located.get(p.row)} - {None} if p.row is not None else set()
        for n in where:
            notes.setdefault(n, []).append(text)
        if not where:
            batch_notes.append(text)
    kept_rows = set(facilities["source_row"].tolist())
    causes: dict[str, str] = {}
    errors = {p.row: p for p in ledger.report.errors if p.row is not None}
    for n in districts["name"]:
        rows = sorted(r for r, d in named.items() if d == n)
        if rows and not any(r in kept_rows for r in rows) and n not in located.values():
            bad = [r for r in rows if r in errors]
            first = errors[bad[0]].describe(source) if bad else f"{source} row {rows[0]}: row not imported"
            causes[n] = (f"every ledger row of this district is unusable ({source} {_rows_text(rows)}); "
                         f"first: {first}; fix these rows and run again with --resume")
    return facilities, {k: tuple(v) for k, v in notes.items()}, causes, batch_notes, label


def _read_demand(inp: AnalysisInputs, profile: Any, ways: RawWays, network_file: Path | None,
                 districts: gpd.GeoDataFrame, district_col: str, sample: Any, say: Callable[[str], None]):
    """Demand units once for the whole region: a population file, or zone totals spread once."""
    from circles.demand import demand_from_frame, read_population

    shares = dict(profile.age_shares) if profile.age_shares else None
    if inp.population_path:
        demand = read_population(inp.population_path, age_shares=shares)
        label = str(inp.population_path)
    elif inp.population_zones:
        demand = _spread_zones_once(inp, ways, network_file, district_col, shares, say)
        label = str(inp.population_zones)
    elif sample is not None:
        demand = demand_from_frame(sample.population, source_name="sample population (示例数据)", age_shares=shares)
        label = "sample"
    else:
        raise CirclesError("no population: give --population FILE or --population-zones FILE --zone-population-col COL")
    say(f"demand units: {len(demand.units):,} from {demand.source}")
    return demand.units, tuple(demand.notes), label


def _spread_zones_once(inp: AnalysisInputs, ways: RawWays, network_file: Path | None, district_col: str,
                       shares: Mapping[str, float] | None, say: Callable[[str], None]):
    """Spread every zone's total once over the network's extent: buildings of the OSM file, else roads.

    Spreading once (instead of per district) puts each zone's people on its own buildings only,
    whatever district boundary is drawn around it.
    """
    from circles.demand import spread_zone_totals
    from network import load_network
    from network.features import read_buildings

    if not inp.zone_population_col:
        raise CirclesError("--population-zones needs --zone-population-col COL (the column with each zone's total)")
    path = Path(inp.population_zones)
    if not path.exists():
        raise CirclesError(f"{path}: population zones file not found")
    try:
        zones = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001
        raise CirclesError(f"{path}: not a readable vector file ({_one_line(str(exc))}); save it as GeoJSON or GPKG") from None
    if zones.crs is None:
        raise CirclesError(f"{path}: the zones have no CRS; save them with EPSG:4326 (WGS84 lon/lat)")
    net = load_network(ways, mode=inp.mode)
    study = shapely.box(*net.bbox_lonlat)
    zones = zones[zones.to_crs("EPSG:4326").intersects(study)]  # a city's or province's file: keep the zones with data
    # Name the zones like the districts when the district columns identify them ("燕园街道", not "37").
    cols = district_col.split(",")
    id_cols = cols if all(c in zones.columns for c in cols) and not zones[cols].duplicated().any() else None
    buildings = read_buildings(network_file) if network_file is not None else None
    roads = gpd.GeoDataFrame(geometry=net.edge_lines(), crs=net.crs)
    say(f"population: spreading zone totals of {path.name} onto "
        f"{'buildings and roads' if buildings is not None else 'roads'} (once for all districts)")
    return spread_zone_totals(zones, population_col=inp.zone_population_col, buildings=buildings, roads=roads,
                              zone_id_col=id_cols, study_area=study, age_shares=shares)


# ============================================================================ tasks
class _WayIndex:
    """Per-way extents of a `RawWays` in an STR-tree, and each reference's node position."""

    def __init__(self, raw: RawWays):
        self.ref_node = np.full(len(raw.refs), -1, dtype=np.int64)  # position of each reference's node, -1: none
        if len(raw.node_id):
            order = np.argsort(raw.node_id, kind="stable")
            sorted_ids = raw.node_id[order]
            found = np.minimum(np.searchsorted(sorted_ids, raw.refs), len(sorted_ids) - 1)
            hit = sorted_ids[found] == raw.refs
            self.ref_node[hit] = order[found[hit]]
        ok = self.ref_node >= 0
        lon = np.full(len(raw.refs), np.nan)
        lat = np.full(len(raw.refs), np.nan)
        lon[ok], lat[ok] = raw.node_lon[self.ref_node[ok]], raw.node_lat[self.ref_node[ok]]
        nonempty = np.flatnonzero(np.diff(raw.way_offsets) > 0)
        starts = raw.way_offsets[:-1][nonempty]
        if len(starts):  # extent of each way over its located nodes (fmin/fmax skip the NaNs)
            bounds = [np.fmin.reduceat(lon, starts), np.fmin.reduceat(lat, starts),
                      np.fmax.reduceat(lon, starts), np.fmax.reduceat(lat, starts)]
        else:
            bounds = [np.zeros(0)] * 4
        located = np.isfinite(bounds[0])
        self.ways = nonempty[located]
        self.tree = shapely.STRtree(shapely.box(*(b[located] for b in bounds)))

    def query(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        hit = self.tree.query(shapely.box(*bbox))
        return np.sort(self.ways[hit])


def _reach_bbox(geom: shapely.Geometry, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box that surely contains `geom` buffered by `metres` (with a safety margin)."""
    minx, miny, maxx, maxy = geom.bounds
    pad = metres * 1.05 + 50.0
    dlat = pad / 110_540.0  # the shortest degree of latitude, at the equator
    lat_far = min(max(abs(miny), abs(maxy)) + dlat, 89.0)
    dlon = pad / (111_320.0 * math.cos(math.radians(lat_far)))
    return minx - dlon, miny - dlat, maxx + dlon, maxy + dlat


def _make_task(prep: _Prepared, index: _WayIndex, row: Any) -> DistrictTask:
    """Cut one district's extract out of the prepared inputs."""
    name, folder, geom = row.name, row.folder, row.geometry
    ledger_notes = prep.ledger_notes.get(name, ())
    notes = tuple(n for n in prep.demand_notes if not n.startswith("zone ") or f"'{name}'" in n
                  or f"'{name.rsplit('/', 1)[-1]}'" in n) + ledger_notes
    empty = prep.demand.iloc[0:0]
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
        what = "no geometry" if geom is None else f"a {geom.geom_type}, not a polygon"
        return DistrictTask(name, folder, None, None, prep.facilities.iloc[0:0], empty, notes,
                            cause=f"the districts file gives {name!r} {what}; draw its polygon")
    if name in prep.ledger_causes:
        return DistrictTask(name, folder, geom, None, prep.facilities.iloc[0:0], empty, notes,
                            cause=prep.ledger_causes[name])
    ways = extract_ways(prep.ways, _reach_bbox(geom, prep.settings.buffer_m), index=index)
    fb = _reach_bbox(geom, prep.settings.buffer_m + SNAP_MARGIN_M)
    facilities = prep.facilities.cx[fb[0]:fb[2], fb[1]:fb[3]] if len(prep.facilities) else prep.facilities
    demand = prep.demand
    if len(demand):
        hit = np.sort(demand.sindex.query(geom, predicate="contains"))
        demand = demand.iloc[hit]
    return DistrictTask(name, folder, geom, ways, facilities.reset_index(drop=True), demand.reset_index(drop=True),
                        notes)


# ============================================================================ one district (worker side)
@functools.lru_cache(maxsize=8)
def _load_profile(name: str, minutes: float | None, speed_kmh: float | None):
    from circles.profiles import load_profile

    profile = load_profile(name)
    if minutes is not None or speed_kmh is not None:
        profile = profile.with_overrides(minutes=minutes, speed_kmh=speed_kmh)
    return profile


def _analyse(task: DistrictTask, s: BatchSettings, profile: Any) -> AnalysisResult:
    """The `circles analyze` pipeline on one district's extract (see `circles.analysis.run_analysis`)."""
    from circles.coverage import assess
    from circles.isochrones import drawing_record, report_service_areas
    from network.build import build_network
    from network.modes import WALK_WAY_FACTORS, ModeRules

    if task.ways is None or task.ways.n_ways == 0:
        raise CirclesError(_not_covered(s.mode, s))
    if len(task.demand) == 0:
        said = next((n for n in task.notes if "could not be placed" in n and f"'{task.name}'" in n), None)
        raise CirclesError("no resident (demand unit) inside the district"
                           + (f" (population: {said})" if said else "; check that the population file covers it"))
    modes = {t.mode for c in profile.categories for t in c.tiers}
    modes = {s.mode if m == "walk" else m for m in modes}
    nets = {}
    for m in sorted(modes):
        rules = ModeRules(mode=m, way_factors=WALK_WAY_FACTORS)
        try:
            net = build_network(task.ways, rules=rules, boundary=task.boundary, buffer_m=s.buffer_m,
                                source=s.network_label)
        except OutsideDataError:
            raise ExtentError(_not_covered(m, s)) from None
        nets["walk" if m == s.mode else m] = net
    districts = gpd.GeoDataFrame({"district": [task.name]}, geometry=[task.boundary], crs="EPSG:4326")
    report = assess(nets, task.facilities, task.demand, profile=profile, boundary=task.boundary,
                    districts=districts, district_col="district", horizon_min=s.horizon_min,
                    plain_speed_kmh=s.speed_kmh)
    record = dict(s.record)
    record["boundary"] = f"{s.record.get('districts')}#{task.name}"
    record["networks"] = {m: {k: n.summary()[k] for k in ("nodes", "edges", "length_km", "crs")}
                          for m, n in nets.items()}
    record["notes"] = list(task.notes)
    record["district"] = task.name
    areas = report_service_areas(report, nets)
    record["service_areas"] = drawing_record(areas)
    return AnalysisResult(report=report, service_areas=areas, inputs=record, lang=s.lang, notes=task.notes)


def _not_covered(mode: str, s: BatchSettings) -> str:
    return (f"no {mode} ways of {s.network_label} within {s.buffer_m:,.0f} m of the district: the network file "
            "does not cover it; use an extract that does")


def _render(result: AnalysisResult) -> dict[str, bytes]:
    """The district's analyze outputs as bytes: written by the export module into a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="circles-district-") as tmp:
        paths = result.write(Path(tmp) / "out")
        return {p.name: p.read_bytes() for p in paths}


def _district_rows(task: DistrictTask, report: Any, lang: str) -> tuple[dict[str, Any], ...]:
    """The district's rows of the combined table, from the per-district figures of `assess`."""
    dt = report.districts
    is_rule = dt["rule"].notna() if "rule" in dt else pd.Series(False, index=dt.index)
    figures, rules = dt[~is_rule], dt[is_rule]
    rows = []
    for c in report.categories:
        f = figures[figures["category"] == c.category].iloc[0]
        total, covered = float(f["demand_total"]), float(f["demand_covered"])
        ok, detail = _rules_text(rules[rules["category"] == c.category], lang)
        rows.append({
            "district": task.name, "category": c.category, "label": c.label_zh if lang == "zh" else c.label_en,
            "status": "ok", "facilities": int(f["facilities"]), "demand_column": c.demand_column,
            "demand_total": _num(total), "demand_covered": _num(covered), "uncovered": _num(total - covered),
            "coverage": round(covered / total, 4) if total > 0 else 0.0, "minutes": _num(c.minutes),
            "rules_ok": ok, "rules": detail, "cause": "", "folder": task.folder,
        })
    return tuple(json.loads(json.dumps(rows, ensure_ascii=False)))


def _rules_text(rules: pd.DataFrame, lang: str) -> tuple[bool | None, str]:
    """All checkable rules met (None when none could be checked), and one line per rule."""
    parts, verdicts = [], []
    for _, r in rules.iterrows():
        label = r["label_zh"] if lang == "zh" else r["label_en"]
        ok, value, need = r["rule_ok"], r["value"], r["required"]
        if ok is None or (isinstance(ok, float) and math.isnan(ok)):
            parts.append(f"? {label} ({'无数据' if lang == 'zh' else 'no data'})")
            continue
        verdicts.append(bool(ok))
        parts.append(f"{'✓' if ok else '✗'} {label} ({_fmt(value)} / {_fmt(need)})")
    return (all(verdicts) if verdicts else None), "; ".join(parts)


def _failed(name: str, folder: str, cause: str, profile: Any, lang: str, seconds: float = 0.0) -> DistrictOutcome:
    rows = tuple({"district": name, "category": c.id, "label": c.label_zh if lang == "zh" else c.label_en,
                  "status": "failed", "facilities": None, "demand_column": c.demand_column, "demand_total": None,
                  "demand_covered": None, "uncovered": None, "coverage": None, "minutes": None, "rules_ok": None,
                  "rules": "", "cause": cause, "folder": folder} for c in profile.categories)
    return DistrictOutcome(name, folder, "failed", cause, rows, {}, round(seconds, 3))


# ============================================================================ execution
def _execute(tasks: Iterator[DistrictTask], settings: BatchSettings, *, workers: int, scheduler: Any,
             profile: Any) -> Iterator[DistrictOutcome]:
    """Outcomes in completion order: in this process, a process pool, or a Dask cluster."""
    if scheduler is not None:
        yield from _on_dask(tasks, settings, scheduler, profile)
    elif workers == 1:
        for task in tasks:
            yield run_district(task, settings)
    else:
        yield from _on_pool(tasks, settings, workers, profile)


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:  # workers fork from a server that imported circles once: fast starts, no inherited threads
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["circles.batch"])
        return ctx
    return multiprocessing.get_context("spawn")


def _on_pool(tasks: Iterator[DistrictTask], settings: BatchSettings, workers: int, profile: Any):
    """A process pool with at most 2 × workers tasks in flight (the rest stay unbuilt)."""
    window = 2 * workers
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())
    pending: dict[Any, DistrictTask] = {}
    queue = iter(tasks)
    try:
        while True:
            while len(pending) < window:
                task = next(queue, None)
                if task is None:
                    break
                pending[pool.submit(run_district, task, settings)] = task
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                task = pending.pop(fut)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken = True
                    outcome = _failed(task.name, task.folder, "a worker process died while this district was "
                                      "running (out of memory?); run again with --resume, with fewer --workers",
                                      profile, settings.lang)
                except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
                    outcome = _failed(task.name, task.folder, _one_line(f"worker error {type(exc).__name__}: {exc}"),
                                      profile, settings.lang)
                yield outcome
            if broken:  # the pool is unusable: fail what was in flight, start a fresh one for the rest
                for fut, task in list(pending.items()):
                    yield _failed(task.name, task.folder, "a worker process died while this district was queued "
                                  "(out of memory?); run again with --resume", profile, settings.lang)
                pending.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _on_dask(tasks: Iterator[DistrictTask], settings: BatchSettings, scheduler: Any, profile: Any):
    """The same tasks on a Dask cluster; at most 2 × the cluster's threads in flight."""
    from dask.distributed import Client, as_completed

    own = not isinstance(scheduler, Client)
    if own:
        try:
            client = Client(str(scheduler), timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise CirclesError(f"--scheduler {scheduler}: cannot connect ({_one_line(str(exc))}); start "
                               "`dask scheduler` and workers there, or drop --scheduler to run on this machine") from None
    else:
        client = scheduler
    try:
        threads = sum(client.nthreads().values()) or 1
        window = max(2 * threads, 2)
        run_id = uuid.uuid4().hex[:8]
        pending: dict[str, DistrictTask] = {}
        queue = iter(tasks)
        done_iter = as_completed(loop=client.loop)
        k = 0

        def fill() -> None:
            nonlocal k
            while len(pending) < window:
                task = next(queue, None)
                if task is None:
                    return
                fut = client.submit(run_district, task, settings, key=f"circles-district-{run_id}-{k}", pure=False)
                k += 1
                pending[fut.key] = task
                done_iter.add(fut)

        fill()
        for fut in done_iter:
            task = pending.pop(fut.key)
            try:
                outcome = fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection, ...
                outcome = _failed(task.name, task.folder, _one_line(f"cluster error {type(exc).__name__}: {exc}; "
                                                                    "run again with --resume"), profile, settings.lang)
            fut.release()
            yield outcome
            fill()
    finally:
        if own:
            client.close()


# ============================================================================ writing (the only writer)
def _commit_district(out: Path, outcome: DistrictOutcome, fingerprint: str) -> None:
    """Outputs staged and moved into place, then the marker: never a marker over partial files."""
    from circles.outputs.files import OutputFiles as OutputDir

    target = out / outcome.folder
    (target / DONE_MARKER).unlink(missing_ok=True)
    _clean_stale_stages(out, outcome.folder)
    staged = OutputDir(target)
    try:
        for name, data in sorted(outcome.files.items()):
            staged.write(name, lambda p, d=data: p.write_bytes(d))
    except BaseException:
        staged.abort()
        raise
    staged.commit()
    marker = {"version": MARKER_VERSION, "district": outcome.name, "folder": outcome.folder,
              "fingerprint": fingerprint, "files": sorted(outcome.files), "seconds": outcome.seconds,
              "cpu_seconds": outcome.cpu_seconds, "rows": list(outcome.rows)}
    _atomic_write(target / DONE_MARKER, (json.dumps(marker, ensure_ascii=False, indent=1) + "\n").encode())


def _forget_district(out: Path, folder: str) -> None:
    """A failed district keeps no marker, so that the next --resume runs it again."""
    (out / folder / DONE_MARKER).unlink(missing_ok=True)


def _clean_stale_stages(out: Path, folder: str) -> None:
    for p in out.glob(f".{folder}.*"):  # OutputDir's staging folders left by a killed run
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def _read_marker(folder: Path, fingerprint: str) -> DistrictOutcome | None:
    """The district's outcome from its ``_done.json`` when complete for these inputs, else None."""
    try:
        m = json.loads((folder / DONE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict) or m.get("version") != MARKER_VERSION or m.get("fingerprint") != fingerprint:
        return None
    if not all((folder / f).is_file() for f in m.get("files", [])) or not m.get("rows"):
        return None
    return DistrictOutcome(m["district"], m["folder"], "skipped", "", tuple(m["rows"]), {}, m.get("seconds", 0.0),
                           m.get("cpu_seconds", 0.0))


def _write_combined(out: Path, table: pd.DataFrame, outcomes: Sequence[DistrictOutcome], prep: _Prepared,
                    profile: Any, *, workers: int, scheduler: Any, seconds: float) -> list[Path]:
    """districts.csv/.xlsx/.geojson, errors.log and batch.json, staged and moved into place together."""
    from circles.outputs.files import OutputFiles as OutputDir

    lang = prep.settings.lang
    staged = OutputDir(out)
    try:
        staged.write("districts.csv", lambda p: table.to_csv(p, index=False, encoding="utf-8-sig", lineterminator="\n"))
        staged.write("districts.xlsx", lambda p: _write_xlsx(p, table, lang))
        collection = _districts_geojson(prep.districts, table, profile)
        staged.write_json("districts.geojson", collection)
        staged.write("summary_map.html", lambda p: _summary_map(p, collection, profile, lang))
        failed = [o for o in outcomes if o.status == "failed"]
        staged.write("errors.log", lambda p: p.write_text("".join(f"{o.name}\t{o.cause}\n" for o in failed),
                                                          encoding="utf-8"))
        counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "failed", "skipped")}
        staged.write_json("batch.json", _jsonable({
            "inputs": dict(prep.settings.record), "districts": len(outcomes), **counts,
            "workers": None if scheduler is not None else workers,
            "scheduler": None if scheduler is None else
            str(getattr(getattr(scheduler, "scheduler", None), "address", None) or scheduler),  # a Client, or its address
            "seconds": round(seconds, 2), "notes": list(prep.notes),
            "failed_districts": {o.name: o.cause for o in failed},
            "district_seconds": {o.name: o.seconds for o in outcomes if o.status == "ok"},
            "district_cpu_seconds": {o.name: o.cpu_seconds for o in outcomes if o.status == "ok"},
        }))
    except BaseException:
        staged.abort()
        raise
    return staged.commit()


def _summary_map(path: Path, collection: dict[str, Any], profile: Any, lang: str) -> None:
    """summary_map.html: the districts coloured by coverage, offline (Leaflet inlined)."""
    from circles.outputs.map import districts_map, map_html

    if any(f.get("geometry") for f in collection["features"]):
        path.write_text(map_html(districts_map(collection, profile, lang=lang)), encoding="utf-8")
    else:
        path.write_text("<!doctype html><p>no district geometry</p>", encoding="utf-8")


def _write_xlsx(path: Path, table: pd.DataFrame, lang: str) -> None:
    from circles.outputs.workbook import freeze_timestamps as _zero_xlsx_timestamps

    shown = table.copy()
    if lang == "zh":
        shown["status"] = shown["status"].map(lambda s: _STATUS_ZH.get(s, s))
        shown["rules_ok"] = shown["rules_ok"].map(lambda v: "" if v is None or v is pd.NA else ("是" if v else "否"))
    shown = shown.rename(columns=_XLSX_HEADERS[lang])
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        shown.to_excel(xw, sheet_name="分区汇总" if lang == "zh" else "districts", index=False)
    _zero_xlsx_timestamps(path)


def _districts_geojson(districts: gpd.GeoDataFrame, table: pd.DataFrame, profile: Any) -> dict[str, Any]:
    """RFC 7946 FeatureCollection: each district polygon with its figures per category (wide)."""
    feats = []
    by_district = {name: grp for name, grp in table.groupby("district", sort=False)}
    for row in districts.itertuples():
        grp = by_district.get(row.name)
        props: dict[str, Any] = {"district": row.name, "folder": row.folder}
        if grp is not None:
            props["status"] = grp["status"].iloc[0]
            props["cause"] = grp["cause"].iloc[0]
            for _, r in grp.iterrows():
                c = r["category"]
                for key in ("facilities", "demand_total", "demand_covered", "coverage", "rules_ok"):
                    v = r[key]
                    props[f"{c}_{key}"] = None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) \
                        else (int(v) if key == "facilities" else v)
        geom = None
        if row.geometry is not None:
            g = shapely.transform(row.geometry, lambda c: np.round(c, 7))  # about 1 cm, as circles.export
            g = shapely.orient_polygons(g, exterior_cw=False)  # RFC 7946 §3.1.6
            geom = json.loads(shapely.to_geojson(g))
        feats.append({"type": "Feature", "geometry": geom, "properties": props})
    return _jsonable({"type": "FeatureCollection", "features": feats})


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ============================================================================ small helpers
def _fingerprint(base: str, task: DistrictTask) -> str:
    """What the district's outputs depend on: the shared options (`base`) and everything in its task."""
    h = hashlib.sha256(base.encode())
    h.update(json.dumps([task.name, task.folder, list(task.notes), task.cause], ensure_ascii=False).encode())
    h.update(shapely.to_wkb(task.boundary) if task.boundary is not None else b"-")
    if task.ways is not None:
        w = task.ways
        for a in (w.node_id, w.node_lon, w.node_lat, w.way_id, w.way_offsets, w.refs):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(json.dumps(w.way_tags, sort_keys=True, ensure_ascii=False).encode())
    for frame in (task.facilities, task.demand):
        plain = pd.DataFrame(frame).drop(columns="geometry", errors="ignore")
        h.update(json.dumps([str(c) for c in plain.columns]).encode())
        h.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
    return h.hexdigest()[:32]


def _norm_header(value: Any) -> str:
    s = unicodedata.normalize("NFKC", str(value)).replace("\ufeff", "").strip().lower()
    return "".join(s.split()).strip("*")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _num(v: float) -> float | int:
    v = float(v)
    return int(v) if v.is_integer() else round(v, 4)


def _fmt(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "–" if math.isnan(f) else (f"{int(f)}" if f.is_integer() else f"{f:g}")


def _rows_text(rows: Sequence[int]) -> str:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:5])
    return f"row {shown}" if len(rows) == 1 else f"rows {shown}{' ...' if len(rows) > 5 else ''}"


def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NA:
        return None
    return v


# ============================================================================ command line
@click.command("batch", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--network", "network", metavar="FILE", help="OSM file (.osm/.osm.pbf/.osm.gz/.osm.bz2), read once for all districts.")
@click.option("--sample", is_flag=True, help="Run on the built-in sample district's three streets (示例数据).")
@click.option("--mode", type=click.Choice(["walk", "bike"]), default="walk", show_default=True,
              help="Network for the walking tiers (drive tiers of a profile always use roads).")
@click.option("--buffer-m", type=float, default=1000.0, show_default=True,
              help="Network and facilities kept beyond each district's border (m); residents count only inside.")
@click.option("--facilities", "facilities_path", type=click.Path(), help="Facility ledger (CSV/XLSX/GeoJSON/GPKG/SHP) of the whole area.")
@click.option("--coords", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True,
              help="Coordinate system of the ledger (Amap/Tencent: gcj02; Baidu: bd09).")
@click.option("--population", "population_path", type=click.Path(), help="Population units (CSV/XLSX/GeoJSON/GPKG/SHP).")
@click.option("--population-zones", type=click.Path(), help="Zones with population totals, spread once onto buildings/roads.")
@click.option("--zone-population-col", help="Population column of --population-zones.")
@click.option("--districts", "districts_path", type=click.Path(), help="District/street polygons (GeoJSON/GPKG/SHP with a CRS).")
@click.option("--district-col", help="Name column of --districts; several joined by commas (county,street) when names repeat.")
@click.option("--profile", "profile_name", default="15min", show_default=True, help="Built-in profile or TOML file.")
@click.option("--minutes", type=float, help="One threshold (minutes) for every category and tier.")
@click.option("--speed-kmh", type=float, help="One plain speed for every walking tier and way (no way factors).")
@click.option("--horizon-min", type=float, default=60.0, show_default=True, help="Report times up to this many minutes.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Labels of the tables.")
@click.option("--out", "out_dir", type=click.Path(), required=True, help="Output folder.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes on this machine (1: in this process).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Dask scheduler, e.g. tcp://10.0.0.5:8786: run the districts on that cluster (--workers is ignored).")
@click.option("--resume", is_flag=True, help="Skip districts whose outputs are complete for the same inputs and options.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no preparation messages.")
def batch_cmd(network, sample, mode, buffer_m, facilities_path, coords, population_path, population_zones,
           zone_population_col, districts_path, district_col, profile_name, minutes, speed_kmh, horizon_min, lang,
           out_dir, workers, scheduler, resume, quiet) -> None:
    """Run `circles analyze` for every district (区/县) or street (街道/乡镇) of --districts.

    Writes one folder per district with the analyze outputs, plus districts.csv/.xlsx (one row
    per district × category), districts.geojson (for a choropleth in QGIS), errors.log and
    batch.json. A failing district is recorded with its cause and the others continue; the exit
    status is 1 when any district failed, 2 on bad input.
    """
    try:
        inputs = AnalysisInputs(
            network=network, sample=sample, mode=mode, buffer_m=buffer_m, facilities_path=facilities_path,
            coords=coords, population_path=population_path, population_zones=population_zones,
            zone_population_col=zone_population_col, districts_path=districts_path, district_col=district_col,
            profile=profile_name, minutes=minutes, speed_kmh=speed_kmh, horizon_min=horizon_min, lang=lang)
        say = (lambda msg: None) if quiet else (lambda msg: click.echo(msg, err=True))
        result = run_batch(inputs, Path(out_dir), workers=workers, scheduler=scheduler, resume=resume,
                           progress=False if quiet else None, say=say)
    except USER_ERRORS as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo(f"interrupted; finished districts are kept: run again with --resume to go on ({out_dir})", err=True)
        sys.exit(130)
    n = result.counts()
    ran = n["ok"] + n["failed"]
    rate = f" ({ran / result.seconds * 60.0:.1f} districts/min)" if ran and result.seconds > 0 else ""
    click.echo(f"districts 区划: {len(result.outcomes)}: {n['ok']} done, {n['failed']} failed, "
               f"{n['skipped']} already complete (--resume); {result.seconds:.1f} s{rate}")
    for o in result.failed:
        click.echo(f"failed 失败: {o.name}: {o.cause}", err=True)
    click.echo(f"wrote {', '.join(p.name for p in result.paths)} and one folder per district to {out_dir}")
    if not result.ok:
        sys.exit(1)

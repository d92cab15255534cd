"""Running a batch's tasks: one scheduling loop over an executor (this process, worker processes, or Dask).

Every task runs `circles.pipeline.analyse` on its district's cut of the inputs and returns the
district's files as bytes (`run_district`): workers need neither the input files nor the output
folder, and a failing district is an outcome with a one-line cause, never an exception.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from circles.batch.split import DistrictTask
from circles.errors import USER_ERRORS, InputError
from circles.inputs import one_line

log = logging.getLogger(__name__)

__all__ = ["DistrictOutcome", "run_district", "execute"]


@dataclass(frozen=True, eq=False)
class DistrictOutcome:
    """What came of one district.

    Attributes
    ----------
    name, folder
        As in `circles.batch.split.DistrictTask`.
    status
        ``"ok"``, ``"failed"``, or ``"skipped"`` (complete from an earlier run, ``resume``).
    cause
        One line saying why the district failed ("" otherwise).
    rows
        Its rows of the districts table (`circles.districts.DISTRICT_COLUMNS`), JSON-safe.
    rules
        Its rows of the rules table (`circles.districts.RULE_COLUMNS`).
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
    rules: tuple[dict[str, Any], ...] = ()
    files: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def run_district(task: DistrictTask, profile: Any, lang: str) -> DistrictOutcome:
    """Analyse one district; runs on a worker. Never raises for bad data: failures are outcomes."""
    import json

    from circles.districts import district_rows, failed_rows, rule_rows
    from circles.pipeline import analyse

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        if task.cause:
            raise InputError(task.cause)
        result = analyse(task.prepared, task.area)
        files = result.files()
        rows = json.loads(json.dumps(district_rows(result.report, result.districts, lang), ensure_ascii=False))
        rules = json.loads(json.dumps(rule_rows(result.report, lang), ensure_ascii=False))
        return DistrictOutcome(task.name, task.folder, "ok", "", tuple(rows), tuple(rules), files,
                               round(time.perf_counter() - t0, 3), round(time.process_time() - c0, 3))
    except USER_ERRORS as exc:
        cause = one_line(exc)
    except Exception as exc:  # noqa: BLE001 - a bug or a resource problem in one district must not stop the batch
        log.exception("district %s: unexpected error", task.name)
        cause = one_line(f"unexpected {type(exc).__name__}: {exc}") + \
            " (a bug; rerun this district with `circles -v analyze --boundary` for the traceback)"
    return failed(task, cause, profile, lang, time.perf_counter() - t0)


def failed(task: DistrictTask, cause: str, profile: Any, lang: str, seconds: float = 0.0) -> DistrictOutcome:
    """The outcome of a district that could not run."""
    from circles.districts import failed_rows

    rows = failed_rows(task.name, cause, profile, lang, inside_share=task.inside_share)
    return DistrictOutcome(task.name, task.folder, "failed", cause, tuple(rows), (), {}, round(seconds, 3))


class _InProcess(Executor):
    """Runs each task when submitted, in this process (``--workers 1``)."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt must reach the caller
            if not isinstance(exc, Exception):
                raise
            fut.set_exception(exc)
        return fut


def _pool(workers: int) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:  # workers fork from a server that imported circles once: fast starts
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["circles.pipeline", "circles.batch.execute"])
    else:
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


class _Runner:
    """The executor of a batch and how it reports a lost worker."""

    def __init__(self, workers: int, scheduler: Any):
        self.client = None
        self.own_client = False
        if scheduler is not None:
            from dask.distributed import Client

            if isinstance(scheduler, Client):
                self.client = scheduler
            else:
                try:
                    self.client = Client(str(scheduler), timeout="20s", set_as_default=False)
                except (OSError, TimeoutError, ValueError) as exc:
                    raise InputError(f"--scheduler {scheduler}: cannot connect ({one_line(exc)}); start "
                                     "`dask scheduler` and workers there, or drop --scheduler to run on this "
                                     "machine") from None
                self.own_client = True
            self.window = max(2 * (sum(self.client.nthreads().values()) or 1), 2)
            self.executor: Executor = self.client.get_executor(pure=False)
            self.where = "cluster"
        elif workers == 1:
            self.window, self.executor, self.where = 1, _InProcess(), "process"
        else:
            self.window, self.executor, self.where = 2 * workers, _pool(workers), "worker process"
        self.workers = workers
        self.run_id = uuid.uuid4().hex[:8]

    def restart(self) -> None:
        """A process pool whose worker died is unusable: start a fresh one."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = _pool(self.workers)

    def close(self) -> None:
        if isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=True, cancel_futures=True)
        if self.own_client and self.client is not None:
            self.client.close()


def execute(tasks: Iterator[DistrictTask], profile: Any, lang: str, *, workers: int = 1,
            scheduler: Any = None) -> Iterator[DistrictOutcome]:
    """Outcomes in completion order, with at most a window of tasks in flight (the rest stay uncut).

    Parameters
    ----------
    tasks
        The districts' tasks (a lazy iterator: each is cut only when it is sent).
    profile, lang
        For the rows of districts that fail.
    workers
        Worker processes on this machine (1: in this process).
    scheduler
        A Dask scheduler address or `dask.distributed.Client` (then `workers` is ignored).
    """
    runner = _Runner(workers, scheduler)
    pending: dict[Future, DistrictTask] = {}
    queue = iter(tasks)
    try:
        while True:
            while len(pending) < runner.window:
                task = next(queue, None)
                if task is None:
                    break
                pending[runner.executor.submit(run_district, task, profile, lang)] = task
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
                    outcome = failed(task, "a worker process died while this district was running (out of "
                                     "memory?); run again with --resume, with fewer --workers", profile, lang)
                except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection, unpicklable result
                    outcome = failed(task, one_line(f"{runner.where} error {type(exc).__name__}: {exc}; run again "
                                                    "with --resume"), profile, lang)
                yield outcome
            if broken:  # fail what was in flight, then go on with a fresh pool
                for task in pending.values():
                    yield failed(task, "a worker process died while this district was queued (out of memory?); "
                                 "run again with --resume", profile, lang)
                pending.clear()
                runner.restart()
    finally:
        runner.close()

"""Where a sweep's notebooks run: one after another, in local processes, or on a Dask cluster.

Every way runs the same function, ``execute`` (papermill, the executed notebook kept even when
it fails), and yields each job's ``Result`` as it finishes: complete, failed (the notebook
raised) or interrupted (the machinery went away), so the sweep records results the same way
whichever executor ran them. Connecting to a Dask cluster is ``imagelab.running.sweeps.cluster``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

THREADS_ENV = "IMAGELAB_THREADS"


@dataclass(frozen=True)
class Job:
    """One notebook to run: its key (the run id), notebook, output and parameters; ``state``
    is the run's state file, which the attempt marks "running" (with ``record``'s fields) when
    it starts; ``item`` is the caller's own record of it, handed back with the result."""

    key: str
    notebook: str
    output: str
    parameters: dict[str, object]
    state: str | None = None
    record: dict | None = None
    item: object = None
    published: Callable[[], bool] | None = None  # whether an earlier attempt finished it

    @property
    def task(self) -> tuple:
        """The arguments of :func:`execute` for this job (picklable, sent to workers)."""
        return self.notebook, self.output, self.parameters, self.state, self.record, self.published


@dataclass(frozen=True)
class Result:
    """How a job ended: "complete" (``reason`` "adopted" when an earlier attempt had published
    it), "failed" (the notebook raised; ``reason`` "diverged" when training diverged, else
    "error") or "interrupted" (the machinery went away: a worker, the scheduler, this
    process), with the error text and seconds (None when unknown)."""

    job: Job
    status: str
    error: str | None = None
    reason: str | None = None
    seconds: float | None = None


class ClusterLost(Exception):
    """The scheduler went away mid-sweep; ``unfinished`` are the jobs without a result."""

    def __init__(self, cause: str, unfinished: list[Job]) -> None:
        super().__init__(cause)
        self.cause, self.unfinished = cause, unfinished


def local(todo: list[Job], jobs: int, progress: Progress) -> Iterator[Result]:
    """Run the notebooks here, ``jobs`` at a time (each in its own process when more than
    one)."""
    if jobs == 1:
        for job in todo:
            progress.starting(job.key)
            yield _finished(job, *execute(*job.task))
        return
    context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker, no forks
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_init_worker
    ) as pool:
        futures = {pool.submit(execute, *job.task): job for job in todo}
        progress.starting(f"{min(jobs, len(todo))} runs")
        for future in concurrent.futures.as_completed(futures):
            try:
                yield _finished(futures[future], *future.result())
            except concurrent.futures.process.BrokenProcessPool as lost:
                yield Result(futures[future], "interrupted", f"worker process lost ({lost})")


def on_dask(
    todo: list[Job],
    jobs: int,
    scheduler: str | None,
    progress: Progress,
    connect_timeout: float = 10,
) -> Iterator[Result]:
    """Run the notebooks as tasks on a Dask cluster; yield each job's ``Result``.

    Each task is :func:`execute`, the same function local runs use, so a worker writes the
    same files (into the sweep folder, which must be the same path on every worker). Without
    a scheduler address a quiet ``LocalCluster`` of ``jobs`` single-threaded worker processes
    starts here and stops with the sweep; its workers inherit this process's environment,
    including ``IMAGELAB_DATA`` and the per-run thread limit.

    A worker lost mid-run is Dask's to handle (it reruns the task elsewhere); one that dies
    with the same task three times (``KilledWorker``) makes that run *interrupted*. A lost
    scheduler ends the iteration with ``ClusterLost``; an unreachable one raises
    ``Unreachable`` (a UserError) within ``connect_timeout`` seconds, before anything runs.
    """
    if not todo:
        return  # nothing to run: no cluster to start
    from distributed import KilledWorker, as_completed

    from imagelab.running.sweeps import cluster

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            client = stack.enter_context(cluster.local_client(jobs))
        else:
            client = stack.enter_context(cluster.connect(scheduler, connect_timeout, len(todo)))
        progress.jobs = max(1, len(client.scheduler_info()["workers"]))
        futures = {}
        for job in todo:
            key = f"{progress.name}-{job.key}"  # unique on a cluster several sweeps may share
            futures[client.submit(execute, *job.task, key=key)] = job
        progress.submitted = len(futures)
        progress.starting(f"{len(todo)} runs on {client.scheduler.address}")
        unfinished = dict(futures)
        for future in as_completed(futures, loop=client.loop):
            job = unfinished.pop(future)
            try:
                outcome = future.result()
            except KilledWorker as lost:
                yield Result(job, "interrupted", f"KilledWorker: {lost}")
                continue
            except Exception as lost:  # the scheduler went away: every future is cancelled
                cause = f"{type(lost).__name__}: {lost}"
                raise ClusterLost(cause, [job, *unfinished.values()]) from None
            yield _finished(job, *outcome)


def _finished(job: Job, error: str | None, reason: str | None, seconds: float) -> Result:
    return Result(job, "failed" if error else "complete", error, reason, seconds)


def execute(
    notebook: str,
    output: str,
    parameters: dict[str, object],
    state: str | None = None,
    record: dict | None = None,
    published: Callable[[], bool] | None = None,
) -> tuple[str | None, str | None, float | None]:
    """Run one notebook with papermill; return its error (None if it succeeded), the reason
    of a failure ("diverged" when training diverged, else "error") and seconds.

    When ``published()`` says an earlier attempt of the run has published it complete (an
    orphan whose client left, on the same or another worker), nothing runs: the result is
    adopted (reason "adopted", no seconds) instead of trained again.

    First the run's ``state`` file says "running", with this process and host: if this
    attempt is cut off (its worker, scheduler or client gone), the run reads as interrupted,
    not failed. The executed notebook is written under a name of this attempt's own and moved
    into place when papermill stops, failed or not: the evidence of a failure is kept, a kill
    leaves no half file, and two attempts of one run never write the same file.
    """
    from papermill.exceptions import PapermillExecutionError

    from imagelab import records
    from imagelab.results import staging
    from imagelab.running import runs

    if published is not None and published():
        return None, "adopted", None
    attempt = staging.new_attempt_id()
    if state is not None:
        started = time.strftime("%Y-%m-%dT%H:%M:%S")
        running = {"status": "running", "attempt": attempt, "started": started}
        records.write_json((record or {}) | running, Path(state))
    output_path = Path(output)
    partial = output_path.parent / ".partial" / f"{output_path.stem}.{attempt}.ipynb"
    started_at, reason = time.perf_counter(), None
    try:
        runs.execute(Path(notebook), partial, parameters, log_output=_streaming())
        error = None
    except PapermillExecutionError as failure:
        error = f"{failure.ename}: {failure.evalue}"
        reason = "diverged" if failure.ename == "Diverged" else "error"
    except Exception as failure:  # the kernel died, papermill could not start it, ...
        error, reason = f"{type(failure).__name__}: {failure}", "error"
    finally:
        if partial.is_file():
            os.replace(partial, output_path)
    return error, reason, time.perf_counter() - started_at


def _streaming() -> bool:
    """Whether this process streams the cells' output (the sweep's own process and local
    workers do, one epoch line per run; Dask workers keep quiet)."""
    import logging

    return logging.getLogger("papermill").level <= logging.INFO and not _in_dask_worker()


def _in_dask_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _init_worker() -> None:
    """Parallel workers stream their epoch lines too (each line names its run)."""
    from imagelab.running import runs

    runs.show_progress()


@contextlib.contextmanager
def threads(jobs: int) -> Iterator[None]:
    """Give each of ``jobs`` runs its share of the cores, through the kernels' environment."""
    previous = os.environ.get(THREADS_ENV)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ[THREADS_ENV] = previous or str(max(1, (cores or 1) // jobs))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(THREADS_ENV, None)


class Progress:
    """The sweep's progress line: runs done/total, failures, elapsed time and ETA."""

    def __init__(self, name: str, total: int, done: int, jobs: int) -> None:
        from imagelab.running import runs

        runs.show_progress()
        self.name, self.total, self.done, self.jobs = name, total, done, jobs
        self.failed, self.seconds, self.started = 0, [], time.time()
        self.submitted = 0  # runs handed to a cluster, which may finish them without us

    def starting(self, what: str) -> None:
        print(f"== sweep {self.name}: starting {what}; {self._line()}", flush=True)

    def finished(self, result: Result) -> None:
        self.done += result.status != "interrupted"
        self.failed += result.status == "failed"
        shown = {"failed": "FAILED", "interrupted": "INTERRUPTED"}.get(result.status, "complete")
        shown += " (adopted: an earlier attempt published it)" if result.reason == "adopted" else ""
        if result.error:
            shown += f" ({result.error.splitlines()[0][:200]})"
        if result.seconds is not None:
            self.seconds.append(result.seconds)
            shown += f" in {duration(result.seconds)}"
        print(f"== sweep {self.name}: {result.job.key} {shown}; {self._line()}", flush=True)

    def _line(self) -> str:
        left = self.total - self.done
        eta = (
            duration(sum(self.seconds) / len(self.seconds) * left / self.jobs)
            if self.seconds
            else "?"
        )
        return (
            f"{self.done}/{self.total} done, {self.failed} failed, "
            f"{duration(time.time() - self.started)} elapsed, ETA {eta}"
        )


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"

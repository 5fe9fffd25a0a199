"""Where a sweep's notebooks run: one after another, in local processes, or on a Dask cluster.

Every way runs the same function, ``execute`` (papermill, the executed notebook kept even when
it fails), and yields each job as it finishes with its error (None if it succeeded) and
seconds, so the sweep records results the same way whichever executor ran them.
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
    """One notebook to run: its key (the run id), notebook, output and parameters;
    ``item`` is the caller's own record of it, handed back with the result."""

    key: str
    notebook: str
    output: str
    parameters: dict[str, object]
    item: object = None


Result = tuple[Job, str | None, float | None]


def local(
    todo: list[Job], jobs: int, progress: Progress, queued: Callable[[Job], None]
) -> Iterator[Result]:
    """Run the notebooks here, ``jobs`` at a time (each in its own process when more than
    one); ``queued`` is called for each job before it may start."""
    if jobs == 1:
        for job in todo:
            progress.starting(job.key)
            queued(job)
            yield (job, *execute(job.notebook, job.output, job.parameters))
        return
    context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker, no forks
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_init_worker
    ) as pool:
        futures = {}
        for job in todo:
            queued(job)
            futures[pool.submit(execute, job.notebook, job.output, job.parameters)] = job
        progress.starting(f"{min(jobs, len(todo))} runs")
        for future in concurrent.futures.as_completed(futures):
            yield (futures[future], *_result(future))


def on_dask(
    todo: list[Job],
    jobs: int,
    scheduler: str | None,
    progress: Progress,
    queued: Callable[[Job], None],
) -> Iterator[Result]:
    """Run the notebooks as tasks on a Dask cluster; yield each job with its error (or None).

    Each task is :func:`execute`, the same function local runs use, so a worker writes the
    same files (into the sweep folder, which must be the same path on every worker). Without
    a scheduler address a ``LocalCluster`` of ``jobs`` single-threaded worker processes starts
    here and stops with the sweep; its workers inherit this process's environment, including
    ``IMAGELAB_DATA`` and the per-run thread limit.
    """
    if not todo:
        return  # nothing to run: no cluster to start
    from dask.distributed import Client, LocalCluster, as_completed

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                LocalCluster(n_workers=jobs, threads_per_worker=1, dashboard_address=None)
            )
            client = stack.enter_context(Client(cluster))
            client.run(_init_worker)  # local workers share this terminal: show their epochs
        else:
            client = stack.enter_context(Client(scheduler, timeout="30s"))
        progress.jobs = max(1, len(client.scheduler_info()["workers"]))
        futures = {}
        for job in todo:
            queued(job)
            key = f"{progress.name}-{job.key}"  # unique on a cluster several sweeps may share
            future = client.submit(execute, job.notebook, job.output, job.parameters, key=key)
            futures[future] = job
        progress.starting(f"{len(todo)} runs on {client.scheduler.address}")
        for future in as_completed(futures):
            yield (futures[future], *_result(future))


def _result(future: concurrent.futures.Future) -> tuple[str | None, float | None]:
    """A finished run's (error, seconds); a worker that died mid-run counts as a failed run
    (its seconds unknown)."""
    try:
        return future.result()
    except Exception as failure:  # the worker process was lost (killed, out of memory, ...)
        return f"{type(failure).__name__}: {failure}", None


def execute(notebook: str, output: str, parameters: dict[str, object]) -> tuple[str | None, float]:
    """Run one notebook with papermill; return its error (None if it succeeded) and seconds.

    The executed notebook is written under a hidden name and moved into place when papermill
    stops, failed or not: the evidence of a failure is kept, and a kill leaves no half file.
    """
    from papermill.exceptions import PapermillExecutionError

    from imagelab import runs

    output_path = Path(output)
    partial = output_path.parent / ".partial" / output_path.name
    started = time.perf_counter()
    try:
        runs.execute(Path(notebook), partial, parameters)
        error = None
    except PapermillExecutionError as failure:
        error = f"{failure.ename}: {failure.evalue}"
    except Exception as failure:  # the kernel died, papermill could not start it, ...
        error = f"{type(failure).__name__}: {failure}"
    finally:
        if partial.is_file():
            os.replace(partial, output_path)
    return error, time.perf_counter() - started


def _init_worker() -> None:
    """Parallel workers stream their epoch lines too (each line names its run)."""
    from imagelab import runs

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
        from imagelab import runs

        runs.show_progress()
        self.name, self.total, self.done, self.jobs = name, total, done, jobs
        self.failed, self.seconds, self.started = 0, [], time.time()

    def starting(self, what: str) -> None:
        print(f"== sweep {self.name}: starting {what}; {self._line()}", flush=True)

    def finished(self, run_id: str, error: str | None, seconds: float | None) -> None:
        self.done += 1
        self.failed += bool(error)
        result = f"FAILED ({error.splitlines()[0][:200]})" if error else "complete"
        if seconds is not None:
            self.seconds.append(seconds)
            result += f" in {duration(seconds)}"
        print(f"== sweep {self.name}: {run_id} {result}; {self._line()}", flush=True)

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

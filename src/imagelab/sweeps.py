"""Hyperparameter sweeps: one notebook run over a grid of parameters and seeds, with papermill.

A sweep file (YAML) names an exercise notebook, fixed parameters, a grid (a list of values per
parameter; every combination runs) and the seeds::

    notebook: notebooks/03_cnn_mnist.ipynb
    parameters: {epochs: 6}
    grid: {dropout: [0.0, 0.25, 0.5]}
    seeds: [1, 2, 3]

The whole file is validated before anything runs, without TensorFlow, so a typo stops the
sweep in seconds. Each combination and seed gets a deterministic run id (readable prefix plus a
hash of notebook, parameters and seed) and runs with ``results_dir`` set to the sweep's folder
(``sweeps/<name>/`` beside ``sweeps/<name>.yaml``), so it never touches the canonical results::

    sweeps/<name>/histories/ scores/ figures/   what each run measured (see imagelab.records)
    sweeps/<name>/notebooks/<run>.ipynb          the executed notebook, kept when it fails
    sweeps/<name>/state/<run>.json               running / complete / failed, with the error
    sweeps/<name>/summary.csv, summary.png       one row per run; test accuracy per value

A run is complete when ``store.freshness`` finds its stored results up to date; a rerun skips those, and runs again the ones killed midway and the stale ones (finished
by older training code or notebook). A failed run stays failed
(the others go on) until ``retry_failed`` reruns only the failed ones.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from imagelab import exercises, records, store
from imagelab.params import RUN_NAME, check_parameter

KEYS = ("notebook", "parameters", "grid", "seeds", "description")
THREADS_ENV = "IMAGELAB_THREADS"
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file."""

    path: Path
    notebook: Path
    exercise: str
    parameters: dict[str, object]
    grid: dict[str, list]
    seeds: list[int]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def folder(self) -> Path:
        """Where the sweep's results go: ``sweeps/<name>/`` beside ``sweeps/<name>.yaml``."""
        return self.path.parent / self.path.stem


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: a grid combination with one seed."""

    run_id: str
    swept: dict[str, object]  # the grid values of this run
    seed: int
    parameters: dict[str, object]  # everything passed to the notebook


@dataclass
class Outcome:
    """What one invocation of a sweep did."""

    ran: list[str]
    skipped: list[str]
    failed: dict[str, str]  # run id -> error, over the whole sweep (also earlier failures)
    summary: Path  # summary.csv


# --- the sweep file --------------------------------------------------------------------


def load(path: str | Path) -> Sweep:
    """Read and validate a sweep file; a ValueError names the offending key.

    Fast on purpose (no TensorFlow, no papermill): the notebook's parameters cell gives the
    known names and ``imagelab.params`` checks every value of the grid, so a bad file stops
    within seconds, before anything runs.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"sweep file {path} does not exist")
    if not RUN_NAME.match(path.stem):
        raise ValueError(f"{path}: a sweep file name must be a slug (lowercase, digits, _ and -)")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a sweep file is a mapping with keys {', '.join(KEYS[:4])}")
    unknown = sorted(set(spec) - set(KEYS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key; a sweep file has {', '.join(KEYS)}")
    notebook, exercise, known = _notebook(spec.get("notebook"))
    parameters = _mapping(spec, "parameters", allow_empty=True)
    grid = _mapping(spec, "grid", allow_empty=False)
    for name, value in parameters.items():
        _check_name(f"parameters.{name}", name, known, notebook)
        _check_value(f"parameters.{name}", name, value)
    for name, values in grid.items():
        where = f"grid.{name}"
        _check_name(where, name, known, notebook)
        if name in parameters:
            raise ValueError(f"{where}: also set in parameters; give it in one place")
        if not isinstance(values, list) or not values:
            raise ValueError(f"{where}: must be a non-empty list of values; got {values!r}")
        _check_unique(where, values)
        for index, value in enumerate(values):
            _check_value(f"{where}[{index}]", name, value)
    seeds = spec.get("seeds")
    if not isinstance(seeds, list) or not seeds:
        raise ValueError(f"seeds: must be a non-empty list of integers >= 0; got {seeds!r}")
    _check_unique("seeds", seeds)
    for index, seed in enumerate(seeds):
        _check_value(f"seeds[{index}]", "seed", seed)
    return Sweep(path.resolve(), notebook, exercise, parameters, grid, seeds)


def _notebook(value: object) -> tuple[Path, str, set[str]]:
    """The notebook's path, exercise name and parameter names (its parameters cell's)."""
    if not isinstance(value, str):
        raise ValueError(
            f"notebook: must be a notebook path like notebooks/01_dense_mnist.ipynb; got {value!r}"
        )
    path = Path(value) if Path(value).is_absolute() else records.PROJECT_ROOT / value
    if not path.is_file():
        raise ValueError(f"notebook: {value} does not exist")
    try:
        exercise = exercises.exercise_of(path).name
        known = set(exercises.parameters_cell(path))
    except ValueError as error:
        raise ValueError(f"notebook: {error}") from None
    return path, exercise, known


def _mapping(spec: dict, key: str, allow_empty: bool) -> dict:
    value = spec.get(key)
    if value is None and allow_empty:
        return {}
    if not isinstance(value, dict) or not (value or allow_empty):
        wanted = "a mapping" if allow_empty else "a mapping of at least one parameter to values"
        raise ValueError(f"{key}: must be {wanted}; got {value!r}")
    return value


def _check_name(where: str, name: str, known: set[str], notebook: Path) -> None:
    if name in exercises.RUN_CONTROLS:  # the sweep sets them for every run
        raise ValueError(f"{where}: set by the sweep for each run; remove it")
    if name == "seed":
        raise ValueError(f"{where}: give seeds in the 'seeds' list; remove it")
    if name not in known:
        settable = sorted(known - {"seed", *exercises.RUN_CONTROLS})
        error = exercises.unknown_parameter(name, settable, notebook.name)
        raise ValueError(f"{where}: {error}") from None


def _check_value(where: str, name: str, value: object) -> None:
    try:
        check_parameter(name, value)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def _check_unique(where: str, values: list) -> None:
    seen = [json.dumps(v) for v in values]
    for text in seen:
        if seen.count(text) > 1:
            raise ValueError(f"{where}: value {text} appears more than once")


# --- the plan ----------------------------------------------------------------------------


def plan(sweep: Sweep) -> list[SweepRun]:
    """Every run of the sweep, in grid order with the seeds innermost."""
    names = list(sweep.grid)
    runs = []
    for values in itertools.product(*sweep.grid.values()):
        swept = dict(zip(names, values, strict=True))
        for seed in sweep.seeds:
            run_id = run_id_of(sweep, swept, seed)
            parameters = (
                sweep.parameters
                | swept
                | {
                    "seed": seed,
                    "run_name": run_id,
                    "results_dir": str(sweep.folder),
                    "force": True,
                }
            )
            runs.append(SweepRun(run_id, swept, seed, parameters))
    return runs


def run_id_of(sweep: Sweep, swept: dict[str, object], seed: int) -> str:
    """A readable, deterministic run id: the swept values and seed, then a hash of the notebook,
    all the sweep's parameters and the seed (so two different runs never share an id)."""
    notebook = sweep.notebook.resolve()
    with contextlib.suppress(ValueError):
        notebook = notebook.relative_to(records.PROJECT_ROOT)
    identity = {
        "notebook": notebook.as_posix(),
        "parameters": sweep.parameters | swept,
        "seed": seed,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    readable = "_".join(f"{name}-{_token(value)}" for name, value in swept.items())
    return f"{readable[:48]}_seed{seed}-{digest}".lstrip("_-")


def _token(value: object) -> str:
    text = str(value).lower().replace(".", "p")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "x"


# --- state of each run ---------------------------------------------------------------------


def _state_path(sweep: Sweep, run: SweepRun) -> Path:
    return sweep.folder / "state" / f"{run.run_id}.json"


def _notebook_path(sweep: Sweep, run: SweepRun) -> Path:
    return sweep.folder / "notebooks" / f"{run.run_id}.ipynb"


def _record(sweep: Sweep, run: SweepRun) -> dict:
    path = _state_path(sweep, run)
    return json.loads(path.read_text()) if path.is_file() else {}


def status(sweep: Sweep, run: SweepRun) -> str:
    """'complete', 'stale' (finished, but by older training code, notebook or pinned
    libraries, or with outputs missing or damaged: it reruns), 'failed', 'interrupted' (killed
    while running) or 'pending'."""
    recorded = _record(sweep, run).get("status")
    if recorded == "failed":
        return "failed"
    if not records.run_files(run.run_id, sweep.folder).provenance.is_file():  # written last
        return "interrupted" if recorded == "running" else "pending"
    params = exercises.notebook_defaults(sweep.exercise) | run.parameters
    try:
        state = store.freshness(sweep.exercise, params)[0]
    except store.DamagedResult:
        return "stale"
    return "complete" if state == "up-to-date" else "stale"


def _write_state(sweep: Sweep, run: SweepRun, state: str, **fields: object) -> None:
    record = {
        "run_id": run.run_id,
        "status": state,
        "swept": run.swept,
        "seed": run.seed,
        "parameters": run.parameters,
        "notebook": str(_notebook_path(sweep, run)),
    }
    records.write_json(record | fields, _state_path(sweep, run))


# --- running -----------------------------------------------------------------------------


def describe(sweep: Sweep, retry_failed: bool = False) -> str:
    """The plan as text (for ``--dry-run``): every run id, its values, status and action."""
    runs = plan(sweep)
    fixed = "".join(f"{k}={v!r}, " for k, v in sweep.parameters.items())
    lines = [
        f"sweep {sweep.name}: {sweep.notebook.name} ({sweep.exercise}), {fixed}"
        "other parameters as in the notebook",
        f"  grid {sweep.grid}, seeds {sweep.seeds}: {len(runs)} runs into {sweep.folder}",
    ]
    states = {run.run_id: status(sweep, run) for run in runs}
    actions = {key: _action(state, retry_failed) for key, state in states.items()}
    for run in runs:
        values = ", ".join(f"{k}={v!r}" for k, v in run.swept.items())
        action, state = actions[run.run_id], states[run.run_id]
        shown = f"run, {state}" if action == "run" and state != "pending" else action
        lines.append(f"  {run.run_id:<44} {values}, seed={run.seed}  [{shown}]")
    todo = sum(action == "run" for action in actions.values())
    rule = (
        "only failed runs rerun"
        if retry_failed
        else "complete and failed runs are skipped, stale ones rerun"
    )
    lines.append(f"  {todo} of {len(runs)} runs to run ({rule})")
    return "\n".join(lines)


def _action(state: str, retry_failed: bool) -> str:
    if retry_failed:
        return "run" if state == "failed" else f"skip, {state}"
    return "run" if state in ("pending", "interrupted", "stale") else f"skip, {state}"


def run(
    path: str | Path,
    jobs: int | None = None,
    retry_failed: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
) -> Outcome:
    """Run a sweep file: validate it, run what is not yet complete, write its summary.

    ``jobs`` runs that many notebooks at once (default 1), each limited to its share of the CPU
    cores (``IMAGELAB_THREADS``, unless already set); the seeds make the results identical to a
    serial run. Failed runs are recorded and skipped on later invocations until
    ``retry_failed``, which reruns only them.

    ``executor="dask"`` submits the runs to a Dask distributed cluster instead of local
    processes: the one at ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``, whose
    workers decide how many runs go at once), or a ``LocalCluster`` of ``jobs`` worker
    processes. Resume, failures and the summary work as with local runs, because every worker
    writes into the same sweep folder (a shared filesystem, at the same path, on a real cluster).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise ValueError("a scheduler address needs executor 'dask' (--executor dask)")
    if scheduler is not None and jobs is not None:
        raise ValueError(
            "with a scheduler address the cluster's workers set the parallelism; drop jobs"
        )
    jobs = 1 if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1; got {jobs!r}")
    sweep = load(path)
    todo, skipped = [], []
    for item in plan(sweep):
        state = status(sweep, item)
        if _action(state, retry_failed) == "run":
            todo.append(item)
        else:
            skipped.append(item.run_id)
    _remove_leftovers(sweep)
    progress = _Progress(sweep.name, total=len(plan(sweep)), done=len(skipped), jobs=jobs)
    ran, started = [], time.time()
    try:
        with _threads(jobs):
            if executor == "dask":
                results = _execute_on_dask(sweep, todo, jobs, scheduler, progress)
            else:
                results = _execute_all(sweep, todo, jobs, progress)
            for item, error, seconds in results:
                ran.append(item.run_id)
                state = "failed" if error else "complete"
                _write_state(
                    sweep,
                    item,
                    state,
                    error=error,
                    wall_seconds=seconds,
                    finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                )
                progress.finished(item.run_id, error, seconds)
    finally:
        summary = write_summary(sweep)
    failed = {
        i.run_id: _record(sweep, i).get("error", "")
        for i in plan(sweep)
        if status(sweep, i) == "failed"
    }
    print(
        f"== sweep {sweep.name}: ran {len(ran)}, skipped {len(skipped)}, failed "
        f"{len(failed)} in {_duration(time.time() - started)}; summary {summary}"
    )
    return Outcome(ran, skipped, failed, summary)


def _remove_leftovers(sweep: Sweep) -> None:
    """Delete what a killed sweep left half-written: temporary files of atomic writes and
    notebooks papermill was still writing (their runs are not complete, so they run again)."""
    if sweep.folder.is_dir():
        for leftover in [*sweep.folder.rglob(".*.tmp"), *sweep.folder.glob("notebooks/.partial/*")]:
            leftover.unlink()


def _execute_all(
    sweep: Sweep, todo: list[SweepRun], jobs: int, progress: _Progress
) -> Iterator[tuple[SweepRun, str | None, float | None]]:
    """Run the notebooks, ``jobs`` at a time; yield each run with its error (or None)."""
    args = {
        item.run_id: (str(sweep.notebook), str(_notebook_path(sweep, item)), item.parameters)
        for item in todo
    }
    if jobs == 1:
        for item in todo:
            progress.starting(item.run_id)
            _write_state(sweep, item, "running")
            yield (item, *execute(*args[item.run_id]))
        return
    context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker, no forks
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_init_worker
    ) as pool:
        futures = {}
        for item in todo:
            _write_state(sweep, item, "running")  # queued or running: rerun if killed now
            futures[pool.submit(execute, *args[item.run_id])] = item
        progress.starting(f"{min(jobs, len(todo))} runs")
        for future in concurrent.futures.as_completed(futures):
            yield (futures[future], *_result(future))


def _execute_on_dask(
    sweep: Sweep, todo: list[SweepRun], jobs: int, scheduler: str | None, progress: _Progress
) -> Iterator[tuple[SweepRun, str | None, float | None]]:
    """Run the notebooks as tasks on a Dask cluster; yield each run with its error (or None).

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
        for item in todo:
            _write_state(sweep, item, "running")  # queued or running: rerun if killed now
            notebook, output = str(sweep.notebook), str(_notebook_path(sweep, item))
            future = client.submit(
                execute, notebook, output, item.parameters, key=f"{sweep.name}-{item.run_id}"
            )
            futures[future] = item
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
def _threads(jobs: int) -> Iterator[None]:
    """Give each of ``jobs`` runs its share of the cores, through the kernels' environment."""
    previous = os.environ.get(THREADS_ENV)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ[THREADS_ENV] = previous or str(max(1, (cores or 1) // jobs))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(THREADS_ENV, None)


class _Progress:
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
            result += f" in {_duration(seconds)}"
        print(f"== sweep {self.name}: {run_id} {result}; {self._line()}", flush=True)

    def _line(self) -> str:
        left = self.total - self.done
        eta = (
            _duration(sum(self.seconds) / len(self.seconds) * left / self.jobs)
            if self.seconds
            else "?"
        )
        return (
            f"{self.done}/{self.total} done, {self.failed} failed, "
            f"{_duration(time.time() - self.started)} elapsed, ETA {eta}"
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


# --- summary -------------------------------------------------------------------------------


def summary_table(sweep: Sweep) -> pd.DataFrame:
    """One row per run: swept values, seed, status, final train/validation accuracy and loss,
    test accuracy and loss, best epoch (highest validation accuracy) and wall time.

    A finished run whose training code or notebook has changed since is 'stale': its numbers
    stay in the table, but summaries and seed spreads leave it out until the sweep reruns it.
    """
    rows = []
    for item in plan(sweep):
        state, record = status(sweep, item), _record(sweep, item)
        row = {"run_id": item.run_id, **item.swept, "seed": item.seed, "status": state}
        stored = _stored(sweep, item) if state in ("complete", "stale") else None
        if stored is not None:
            row |= _measures(stored)
            row["wall_seconds"] = record.get("wall_seconds", stored.provenance.get("wall_seconds"))
        row["error"] = record.get("error") if state == "failed" else None
        rows.append(row)
    columns = [
        "run_id",
        *sweep.grid,
        "seed",
        "status",
        "train_acc",
        "train_loss",
        "val_acc",
        "val_loss",
        "gap",
        "test_acc",
        "test_loss",
        "best_epoch",
        "wall_seconds",
        "error",
    ]
    return pd.DataFrame(rows).reindex(columns=columns)


def _stored(sweep: Sweep, item: SweepRun) -> store.StoredRun | None:
    """A finished run's stored results; None (and a note) when they are damaged."""
    try:
        return store.load_run(item.run_id, sweep.folder)
    except store.DamagedResult as error:
        print(f"== sweep {sweep.name}: {error}")
        return None


def _measures(stored: store.StoredRun) -> dict[str, object]:
    from imagelab import analysis

    history = stored.history
    last = history[history["epoch"] == history["epoch"].max()]
    measures = {}
    for data, prefix in (("training", "train"), ("validation", "val")):
        for metric in ("acc", "loss"):
            value = last.loc[(last["data"] == data) & (last["metric"] == metric), "value"]
            measures[f"{prefix}_{metric}"] = float(value.iloc[0]) if len(value) else None
    # The judgement of the report and the notebooks: mean of the last 3 epochs.
    measures["gap"] = analysis.final_accuracy(history)["gap"]
    accuracy = history[(history["metric"] == "acc") & (history["data"] == "validation")]
    if accuracy.empty:
        accuracy = history[(history["metric"] == "acc") & (history["data"] == "training")]
    measures["best_epoch"] = int(accuracy.loc[accuracy["value"].idxmax(), "epoch"])
    return measures | {"test_acc": stored.score["acc"], "test_loss": stored.score["loss"]}


def write_summary(sweep: Sweep) -> Path:
    """Write ``summary.csv`` and, once a run is complete, ``summary.png`` (atomically)."""
    from imagelab import plots

    table = summary_table(sweep)
    path = records.write_csv(table, sweep.folder / "summary.csv")
    if (table["status"] == "complete").any():
        figure = plots.sweep_summary(
            table,
            list(sweep.grid),
            title=f"sweep {sweep.name}: {sweep.exercise}, {len(sweep.seeds)} seeds",
        )
        plots.save(figure, sweep.folder / "summary.png")
    return path

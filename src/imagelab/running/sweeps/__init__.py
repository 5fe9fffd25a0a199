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
    sweeps/<name>/state/<run>.json               queued / running / complete / failed /
                                                 interrupted, with the error and its reason
    sweeps/<name>/summary.csv, summary.png       one row per run; test accuracy per value

A run is complete when ``freshness`` finds its stored results up to date; a rerun skips
those, and runs the pending ones (never started), the interrupted ones (their worker,
scheduler or client went away: the machinery failed, not the run) and the stale ones
(finished by older training code, notebook or pinned libraries). A run whose notebook raised
is failed (reason "diverged" when training diverged, else "error"); it stays failed (the
others go on) until ``retry_failed`` reruns only the failed ones. An interrupted attempt that
finishes after all (a worker that outlived its scheduler or client) publishes a complete
result, which the next invocation adopts instead of training again; two live attempts of one
run publish their files whole, one after the other (``imagelab.results.staging``). The sweep file and
its plan are ``imagelab.running.sweeps.spec``; each run's state, ``imagelab.running.sweeps.state``; where the
notebooks run (in turn, in local processes or on Dask), ``imagelab.running.sweeps.executors``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from imagelab import records
from imagelab.errors import UserError
from imagelab.results import exercises, store
from imagelab.running.sweeps import executors
from imagelab.running.sweeps import state as run_state
from imagelab.running.sweeps.spec import KEYS, Sweep, SweepRun, load, plan, run_id_of
from imagelab.running.sweeps.state import status
from imagelab.running.sweeps.summary import schema as summary_schema

__all__ = [  # the sweep file and its plan are spec's; running and summarising are here
    "KEYS",
    "Outcome",
    "Sweep",
    "SweepRun",
    "describe",
    "load",
    "plan",
    "run",
    "run_id_of",
    "status",
    "summary_table",
    "write_summary",
]
EXECUTORS = ("local", "dask")


@dataclass
class Outcome:
    """What one invocation of a sweep did."""

    ran: list[str]
    skipped: list[str]
    failed: dict[str, str]  # run id -> error, over the whole sweep (also earlier failures)
    summary: Path  # summary.csv
    interrupted: list[str] = field(default_factory=list)  # lost workers: rerun


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
        else "complete and failed runs are skipped; pending, interrupted and stale ones run"
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
    connect_timeout: float = 10,
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
    A scheduler that does not answer within ``connect_timeout`` seconds stops the sweep before
    anything runs; one lost mid-sweep stops it with ``SweepInterrupted``, its runs in flight
    interrupted and the others pending, for a plain rerun to finish.
    """
    if executor not in EXECUTORS:
        raise UserError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise UserError("a scheduler address needs executor 'dask' (--executor dask)")
    if scheduler is not None and jobs is not None:
        raise UserError(
            "with a scheduler address the cluster's workers set the parallelism; drop jobs"
        )
    jobs = 1 if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UserError(f"jobs must be an integer >= 1; got {jobs!r}")
    sweep = load(path)
    todo, skipped = [], []
    for item in plan(sweep):
        state = status(sweep, item)
        if _action(state, retry_failed) == "run":
            todo.append(item)
        else:
            skipped.append(item.run_id)
    _remove_leftovers(sweep)
    progress = executors.Progress(sweep.name, len(plan(sweep)), done=len(skipped), jobs=jobs)
    jobs_todo = [_job(sweep, item) for item in todo]
    ran, started = [], time.time()
    try:
        with executors.threads(jobs):
            if executor == "dask":
                results = executors.on_dask(jobs_todo, jobs, scheduler, progress, connect_timeout)
            else:
                results = executors.local(jobs_todo, jobs, progress)
            for result in results:
                _record_result(sweep, result)
                ran.append(result.job.key)
                progress.finished(result)
    except executors.ClusterLost as lost:
        raise _lost(sweep, scheduler, lost) from None
    except KeyboardInterrupt:
        if scheduler is not None and progress.submitted:
            print(
                f"== sweep {sweep.name}: stopped; runs already on the cluster may finish "
                "there, and the next invocation adopts what they publish",
                flush=True,
            )
        raise
    finally:
        summary = write_summary(sweep)
    failed = {
        i.run_id: run_state.read_state(sweep, i).get("error", "")
        for i in plan(sweep)
        if status(sweep, i) == "failed"
    }
    interrupted = [i.run_id for i in todo if status(sweep, i) == "interrupted"]
    lost = f", interrupted {len(interrupted)} (rerun to finish them)" if interrupted else ""
    print(
        f"== sweep {sweep.name}: ran {len(ran)}, skipped {len(skipped)}, failed "
        f"{len(failed)}{lost} in {executors.duration(time.time() - started)}; summary {summary}"
    )
    return Outcome(ran, skipped, failed, summary, interrupted)


def _job(sweep: Sweep, item: SweepRun) -> executors.Job:
    """The run as a job; queued now, so a sweep stopped before it starts leaves it pending."""
    run_state.write_state(sweep, item, "queued")
    state = run_state.state_path(sweep, item)
    record = json.loads(state.read_text())
    notebook = str(run_state.notebook_path(sweep, item))
    published = functools.partial(_published, sweep, item)
    return executors.Job(
        item.run_id, str(sweep.notebook), notebook, item.parameters, str(state), record, item,
        published,
    )  # fmt: skip


def _published(sweep: Sweep, item: SweepRun) -> bool:
    """Whether the run is complete already (asked where it would run, just before)."""
    return status(sweep, item) == "complete"


def _record_result(sweep: Sweep, result: executors.Result) -> None:
    fields = {"error": result.error, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if result.reason == "adopted":  # its wall time is the provenance's
        fields["adopted"] = True
    else:
        fields["wall_seconds"] = result.seconds
    if result.status == "failed":
        fields["reason"] = result.reason
    run_state.write_state(sweep, result.job.item, result.status, **fields)


def _lost(sweep: Sweep, scheduler: str | None, lost: executors.ClusterLost) -> UserError:
    """The paragraph for a scheduler lost mid-sweep: which runs are interrupted, which pending,
    and that a plain rerun finishes them."""
    states = [status(sweep, job.item) for job in lost.unfinished]
    counts = {state: states.count(state) for state in ("interrupted", "pending", "complete")}
    return SweepInterrupted(
        f"sweep {sweep.name}: the Dask scheduler{f' at {scheduler}' if scheduler else ''} went "
        f"away ({lost.cause.splitlines()[0][:160]}). Of the {len(states)} unfinished runs, "
        f"{counts['interrupted']} were running (interrupted: their workers may still finish "
        f"them, and a rerun adopts what they publish), {counts['pending']} never started "
        f"(pending) and {counts['complete']} finished meanwhile; none is recorded as failed. "
        "Restart the scheduler and its workers, then rerun the same command: it runs the "
        "interrupted and pending runs and skips the complete ones."
    )


class SweepInterrupted(UserError):
    """The sweep's cluster went away; its unfinished runs are interrupted or pending."""


def _remove_leftovers(sweep: Sweep) -> None:
    """Delete what a killed sweep left half-written: temporary files of atomic writes and
    the staging folders and partial notebooks of attempts that died (live ones, an orphan's,
    say, stay)."""
    from imagelab.results import staging

    if not sweep.folder.is_dir():
        return
    staging.remove_abandoned(sweep.folder)
    for leftover in sweep.folder.rglob(".*.tmp"):
        if staging.STAGING not in leftover.relative_to(sweep.folder).parts:
            leftover.unlink(missing_ok=True)
    for partial in sweep.folder.glob("notebooks/.partial/*.ipynb"):
        if not staging.attempt_alive(partial.stem.rsplit(".", 1)[-1]):
            partial.unlink(missing_ok=True)


# --- summary -------------------------------------------------------------------------------


def summary_table(sweep: Sweep) -> pd.DataFrame:
    """One row per run: swept values, seed, status, final train/validation accuracy and loss,
    test accuracy and loss, best epoch (highest validation accuracy) and wall time.

    A finished run whose training code or notebook has changed since is 'stale': its numbers
    stay in the table, but summaries and seed spreads leave it out until the sweep reruns it.
    """
    rows = []
    for item in plan(sweep):
        state, record = status(sweep, item), run_state.read_state(sweep, item)
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
    table = summary_table(sweep)
    path = records.write_csv(table, sweep.folder / "summary.csv")
    if (table["status"] == "complete").any():
        from imagelab import figures, plots  # seconds of imports: only when there is one to draw

        figure = figures.sweep_summary(
            table, list(sweep.grid), sweep.name, sweep.exercise, len(sweep.seeds)
        )
        plots.save(figure, sweep.folder / "summary.png")
        plots.close(figure)
    return path

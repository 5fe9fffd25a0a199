"""The state of each run of a sweep: ``sweeps/<name>/state/<run>.json``, written by the sweep
(queued, failed, interrupted) and by the run itself (running), read with the run's stored
results to tell complete, stale, failed, interrupted and pending apart."""

from __future__ import annotations

import json
from pathlib import Path

from imagelab import records
from imagelab.errors import UserError
from imagelab.results import exercises, store
from imagelab.results.freshness import freshness
from imagelab.running.sweeps.spec import Sweep, SweepRun


def state_path(sweep: Sweep, run: SweepRun) -> Path:
    return sweep.folder / "state" / f"{run.run_id}.json"


def notebook_path(sweep: Sweep, run: SweepRun) -> Path:
    return sweep.folder / "notebooks" / f"{run.run_id}.ipynb"


def read_state(sweep: Sweep, run: SweepRun) -> dict:
    """The run's state file as written (empty when there is none); one that is not the JSON
    object a sweep writes stops the sweep with one paragraph instead of a traceback."""
    path = state_path(sweep, run)
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_bytes())
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("status", ""), str):
        raise UserError(
            f"{records.relative(path)} is damaged: not the JSON object a sweep writes. Delete "
            f"it, and the sweep judges run {run.run_id} by its stored results (complete when "
            "they are up to date, else it runs again)"
        )
    return record


def status(sweep: Sweep, run: SweepRun) -> str:
    """'complete', 'stale' (finished, but by older training code, notebook or pinned
    libraries, or with outputs missing or damaged: it reruns), 'failed' (its notebook raised),
    'interrupted' (started, then its worker, scheduler or client went away) or 'pending'
    (never started, or only queued). A result published by an interrupted attempt that
    finished after all counts: its run is complete."""
    recorded = read_state(sweep, run).get("status")
    if recorded == "failed":
        return "failed"
    if not records.run_files(run.run_id, sweep.folder).provenance.is_file():  # written last
        return "interrupted" if recorded in ("running", "interrupted") else "pending"
    params = exercises.notebook_defaults(sweep.exercise) | run.parameters
    try:
        state = freshness(sweep.exercise, params).state
    except store.DamagedResult:
        return "stale"
    return "complete" if state == "up-to-date" else "stale"


def write_state(sweep: Sweep, run: SweepRun, state: str, **fields: object) -> None:
    record = {
        "run_id": run.run_id,
        "status": state,
        "swept": run.swept,
        "seed": run.seed,
        "parameters": run.parameters,
        "notebook": str(notebook_path(sweep, run)),
    }
    records.write_json(record | fields, state_path(sweep, run))

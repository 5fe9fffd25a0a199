"""The schema of a sweep's ``summary.csv`` (written by ``sweeps.summary_table``): one row for
each run the sweep file plans, measures for every complete run. It lives with the sweeps, not
with the other side tables (``imagelab.results.tables``), because checking it means planning
the sweep, and the results store sits below the code that runs sweeps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imagelab import records
from imagelab.results.tables.reader import Schema, accuracy, count, nonnegative, number, seed, text
from imagelab.running.sweeps.spec import load, plan

# The grid's columns come between the run's and the measures.
SWEEP_STATUSES = ("complete", "stale", "failed", "interrupted", "pending")
SWEEP_MEASURES = ("train_acc", "train_loss", "val_acc", "val_loss", "test_acc", "test_loss")


def schema(spec: Path) -> Schema:
    """The schema of the summary of the sweep file ``spec`` (sweeps/<name>.yaml): one row for
    each run of its plan, measures for every complete run."""
    planned: list[str] | None = None
    if spec.is_file():
        try:
            planned = [run.run_id for run in plan(load(spec))]
        except ValueError:  # a broken sweep file: `imagelab sweep` says what is wrong with it
            planned = None

    def rule(frame: pd.DataFrame) -> str | None:
        if planned is not None and sorted(frame["run_id"]) != sorted(planned):
            return (
                f"has {len(frame)} runs where {records.relative(spec)} plans {len(planned)} "
                "(or other run ids)"
            )
        complete = frame[frame["status"] == "complete"]
        if complete[list(SWEEP_MEASURES)].isna().any().any():
            return "lacks a measure of a complete run"
        return None

    columns = (text("run_id"), seed(), text("status", *SWEEP_STATUSES))
    measures = tuple(
        (accuracy if name.endswith("acc") else nonnegative)(name, empty=True)
        for name in SWEEP_MEASURES
    )
    return Schema(
        (*columns, *measures, count("best_epoch", 1, empty=True),
         nonnegative("wall_seconds", empty=True), text("error", empty=True)),
        f"`imagelab sweep {records.relative(spec)}` writes it again (retraining only the runs "
        "that are not complete)",
        optional=(number("gap", -1, 1, empty=True),),
        others=True,
        keys=("run_id",),
        rule=rule,
    )  # fmt: skip

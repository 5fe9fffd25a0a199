"""The judgement of a sweep: per grid point, its runs' test accuracy and gap, and the best."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imagelab.analysis.compare import GAP_EPOCHS, final_accuracy


def sweep_digest(
    summary: pd.DataFrame, swept: list[str], histories: dict[str, pd.DataFrame] | None = None
) -> tuple[pd.DataFrame, str]:
    """Per grid point of a sweep: runs, test accuracy (mean, sd, range), train-validation gap
    and wall time; and one sentence naming the best setting by test accuracy and by gap.

    ``summary`` is the sweep's ``summary.csv`` (one row per run, with ``status``); the gap is
    ``final_accuracy``'s (last 3 epochs), the same gap the exercises report: the summary's
    ``gap`` column, or for summaries written before it existed, computed from ``histories``
    (run id -> history); runs with neither have none.
    """
    count, notes = summary["status"].value_counts(), []
    if count.get("failed"):
        failed = summary.loc[summary["status"] == "failed", "run_id"]
        notes.append(f"{len(failed)} run(s) failed: {', '.join(failed)}.")
    if count.get("stale"):
        notes.append(
            f"{count['stale']} run(s) were trained by older code and are left out until the "
            "sweep reruns them."
        )
    unfinished = len(summary) - sum(count.get(s, 0) for s in ("complete", "failed", "stale"))
    if unfinished:
        notes.append(f"{unfinished} of {len(summary)} runs have not finished.")
    notes = " ".join(notes)
    histories = histories or {}
    done = summary[summary["status"] == "complete"]
    # summary.csv carries final_accuracy's gap since the sweeps write it; older summaries get it
    # from the runs' histories.
    stored = done["gap"] if "gap" in done else pd.Series(np.nan, index=done.index)
    done = done.assign(
        gap=[
            gap
            if pd.notna(gap)
            else final_accuracy(histories[run])["gap"]
            if run in histories
            else np.nan
            for run, gap in zip(done["run_id"], stored, strict=True)
        ]
    )
    if done.empty:
        return pd.DataFrame(), f"No run of this sweep has finished with the current code. {notes}"
    table = (
        done.groupby(swept)  # in value order, whatever order the sweep ran them
        .agg(
            runs=("seed", "count"),
            test_acc_mean=("test_acc", "mean"),
            test_acc_sd=("test_acc", "std"),
            test_acc_min=("test_acc", "min"),
            test_acc_max=("test_acc", "max"),
            gap_mean=("gap", "mean"),
            wall_s=("wall_seconds", "mean"),
        )
        .reset_index()
    )
    best = table.loc[table["test_acc_mean"].idxmax()]
    # By position in the table, so each value keeps its column's type (20, not 20.0).
    label = lambda row: ", ".join(f"{k}={table.at[row.name, k]}" for k in swept)  # noqa: E731
    text = (
        f"Highest mean test accuracy: {label(best)} ({best['test_acc_mean']:.4f} over "
        f"{int(best['runs'])} seeds). "
    )
    if len(table) > 1:
        text += _lead_over_runner_up(table, best, label)
    if table["gap_mean"].notna().any():
        tightest = table.loc[table["gap_mean"].abs().idxmin()]
        text += (
            f"Smallest train-validation gap (each run's last {GAP_EPOCHS} epochs, all of a "
            f"shorter run's): {label(tightest)} "
            f"({tightest['gap_mean']:+.4f}). "
        )
    text += notes
    return table, text.strip()


def _lead_over_runner_up(table: pd.DataFrame, best: pd.Series, label: object) -> str:
    """Whether the seeds tell the best setting from the next best: only when every seed of the
    best lies above every seed of the other, the rule every answer of the report uses
    (``imagelab.judging.verdicts.spread_verdict``); overlapping ranges are what changing the seed alone
    gives."""
    runner = table.drop(best.name).sort_values("test_acc_mean").iloc[-1]
    lead = best["test_acc_mean"] - runner["test_acc_mean"]
    if min(best["runs"], runner["runs"]) < 2:  # one seed per setting: no spread to judge by
        return ""
    ranges = (
        f"{best['test_acc_min']:.4f}-{best['test_acc_max']:.4f} against "
        f"{runner['test_acc_min']:.4f}-{runner['test_acc_max']:.4f}"
    )
    if best["test_acc_min"] <= runner["test_acc_max"]:
        return (
            f"Its lead over the next best, {label(runner)}, is {lead:.4f} and their seed ranges "
            f"overlap ({ranges}): the seeds do not tell them apart. "
        )
    return (
        f"Its lead over the next best, {label(runner)}, is {lead:.4f}: every seed of it lies "
        f"above every seed of the other ({ranges}). "
    )

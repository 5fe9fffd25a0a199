"""The closing tables: every exercise against 2019, and the run environment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from imagelab import analysis, records
from imagelab.judging.reference import CIFAR_JPEG_NOTE, is_jpeg_cifar
from imagelab.machine import cpu_name
from imagelab.report.display import _plot, _show, _table
from imagelab.report.results import idle_epochs, load_run, seed_spread
from imagelab.results.exercises import get_exercise


def summary_table(
    names: list[str], results_dir: str | Path | None = None, benchmarks: str | Path | None = None
) -> pd.DataFrame:
    """One row per exercise: 2019 and our test accuracy and loss, seeds, and seconds per epoch
    from the most careful measurement there is (``analysis.epoch_timing``: the benchmark's where
    it covers the exercise, else the run's own when uncontended; ``time_source`` says which),
    the run's own steady epoch beside it, and the run's highest 1-minute load."""
    idle = idle_epochs(benchmarks)
    rows = []
    for name in names:
        result = load_run(name, results_dir)
        if result is None:
            continue
        reference = get_exercise(name).result_2019
        spread = seed_spread(name, results_dir) or {}
        timing = analysis.epoch_timing(result.provenance, idle.get(name))
        rows.append(
            {
                "exercise": name,
                "acc_2019": reference.get("acc", np.nan),
                "acc": result.score["acc"],
                "seed_mean": spread.get("mean", np.nan),
                "seed_min": spread.get("min", np.nan),
                "seed_max": spread.get("max", np.nan),
                "loss_2019": reference.get("loss", np.nan),
                "loss": result.score["loss"],
                "s_per_epoch": timing["seconds"] or np.nan,
                "time_source": timing["source"] or "none (contended)",
                "run_s_per_epoch": timing["run_seconds"],
                "load": analysis.contention(result.provenance)["load"] or np.nan,
                "contended": bool(analysis.contention(result.provenance)["contended"]),
            }
        )
    return pd.DataFrame(rows)


def environment_table(names: list[str], results_dir: str | Path | None = None) -> str:
    """The runs' commits and times, then versions, CPU and the data checksums they verified."""
    results = [r for r in (load_run(n, results_dir) for n in names) if r is not None]
    if not results:
        return "No runs."
    runs = pd.DataFrame(
        [
            {
                "run": r.name,
                "commit": records.shown_commit(r.provenance["git"].get("commit")),
                "finished (UTC)": r.provenance["finished"][:16].replace("T", " "),
                "training (s)": round(r.provenance["train_seconds"]),
            }
            for r in results
        ]
    )
    first = results[0].provenance
    versions = ", ".join(f"{k} {v}" for k, v in sorted(first["versions"].items()))
    checksums = {
        (r.provenance["data"]["dataset"], key): value
        for r in results
        for key, value in r.provenance["data"]["checksums"].items()
    }
    # One row per data set, an array per column: the first 16 hex digits of each sha256.
    data = (
        pd.Series({key: value[:16] for key, value in checksums.items()})
        .unstack()
        .rename_axis("data set (sha256, first 16 hex digits)")
        .reset_index()
    )
    verified = sorted({r.provenance["data"]["verified_against"] for r in results})
    return (
        f"{_table(runs)}\n\nVersions: {versions}.\n\n"
        f"Machine: {machine_sentence(first['machine'])}\n\n"
        f"Data, verified against {'; '.join(verified)}:\n\n{_table(data)}"
    )


def machine_sentence(machine: dict) -> str:
    """The machine a run trained on, with what decides its floating-point path where the
    provenance records it (CPU model, ISA features oneDNN dispatches on, oneDNN, threads)."""
    parts = [cpu_name(machine), f"{machine.get('cores', '?')} cores", machine.get("platform", "")]
    if machine.get("isa_flags") is not None:
        parts.append(
            f"ISA features {' '.join(machine['isa_flags']) or 'none of those oneDNN uses'}"
        )
    if machine.get("onednn") is not None:
        parts.append(f"oneDNN {'on' if machine['onednn'] else 'off'}")
    threads = [machine.get(k) for k in ("intra_op_threads", "inter_op_threads")]
    if any(t is not None for t in threads):
        shown = ["default (one per core)" if not t else str(t) for t in threads]
        parts.append(f"threads intra-op {shown[0]}, inter-op {shown[1]}")
    if machine.get("device"):
        parts.append(f"device {machine['device']}")
    return ", ".join(p for p in parts if p) + "."


def show_abstract(names: list[str], results_dir: str | Path | None = None) -> None:
    """The abstract's numbers: each exercise's test accuracy now against 2019's."""
    table = summary_table(names, results_dir)
    if table.empty:
        return
    parts = []
    for row in table.itertuples():
        theirs = f" (2019: {row.acc_2019:.4f})" if not np.isnan(row.acc_2019) else ""
        if theirs and is_jpeg_cifar(load_run(row.exercise, results_dir).provenance):
            theirs = f" (2019: {row.acc_2019:.4f}, on the original; ours is a JPEG-derived copy)"
        parts.append(f"{row.exercise} {row.acc:.4f}{theirs}")
    compared = table.dropna(subset=["acc_2019", "seed_min"])
    inside = sum(
        analysis.exact_accuracy(r.seed_min) <= r.acc_2019 <= analysis.exact_accuracy(r.seed_max)
        for r in compared.itertuples()
    )
    spread = (
        f" 2019's accuracy lies within the range of our seeds for {inside} of the "
        f"{len(compared)} exercises where both are known."
        if len(compared)
        else ""
    )
    _show(f"Test accuracy now: {', '.join(parts)}.{spread}")


def show_summary(
    names: list[str], results_dir: str | Path | None = None, benchmarks: str | Path | None = None
) -> None:
    """All exercises in one table and one chart, 2019 against now (heading in the notebook)."""
    from imagelab import plots

    table = summary_table(names, results_dir, benchmarks)
    if table.empty:
        _show("*No results yet.*")
        return

    def seeds(row: pd.Series) -> str:
        if np.isnan(row["seed_mean"]):
            return "-"
        return f"{row['seed_mean']:.4f} ({row['seed_min']:.4f}-{row['seed_max']:.4f})"

    shown = pd.DataFrame(
        {
            "exercise": table["exercise"],
            "2019 acc": table["acc_2019"],
            "acc": table["acc"],
            "seeds: mean (range)": table.apply(seeds, axis=1),
            "2019 loss": table["loss_2019"],
            "loss": table["loss"],
        }
    )
    _show(
        _table(shown)
        + "\n\nacc and loss are on the test set. *seeds* are the runs with the canonical "
        "settings, the canonical run (seed 2019) and the sweeps' seeds (`scores/seeds.csv`). "
        "How long an epoch takes is answered once, by questions 2 and 21 and the section "
        "*How fast*, each naming its machine."
    )
    _plot(
        plots.comparison(table),
        "Test accuracy of each exercise against 2019's, as the difference now minus 2019 "
        "(a dot plot: the axis is a difference, 0 in the middle): the dot is our canonical "
        "run, the bar the lowest to the highest of our seed runs, the grey line at 0 2019's "
        "accuracy; a bar across the line means 2019's accuracy lies inside our seeds' range. "
        "The CIFAR-10 network's is on our JPEG-derived copy of the data.",
    )
    if any(is_jpeg_cifar(load_run(n, results_dir).provenance) for n in table["exercise"]):
        _show(CIFAR_JPEG_NOTE)


def show_environment(names: list[str], results_dir: str | Path | None = None) -> None:
    """The run environment: commits, versions, CPU and data checksums."""
    _show(environment_table(names, results_dir))

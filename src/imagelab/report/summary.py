"""The closing tables: every exercise against 2019, and the run environment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from imagelab import analysis
from imagelab.exercises import get_exercise
from imagelab.report.display import _show, _table
from imagelab.report.reference import CIFAR_JPEG_NOTE, is_jpeg_cifar
from imagelab.report.results import load_result, seed_spread


def summary_table(names: list[str], results_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per exercise: 2019 and our test accuracy and loss, seeds, seconds per epoch."""
    rows = []
    for name in names:
        result = load_result(name, results_dir)
        if result is None:
            continue
        reference = get_exercise(name).result_2019
        spread = seed_spread(name, results_dir) or {}
        load = result.provenance.get("load_average")
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
                "s_per_epoch": analysis.steady_epoch_seconds(result.epoch_seconds),
                "load": float(np.mean([*load["start"], *load["end"]][::3])) if load else np.nan,
            }
        )
    return pd.DataFrame(rows)


def environment_table(names: list[str], results_dir: str | Path | None = None) -> str:
    """The runs' commits and times, then versions, CPU and the data checksums they verified."""
    results = [r for r in (load_result(n, results_dir) for n in names) if r is not None]
    if not results:
        return "No runs."
    runs = pd.DataFrame(
        [
            {
                "run": r.name,
                "commit": str(r.provenance["git"]["commit"])[:10],
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
    data = pd.DataFrame(
        [
            {"data set": d, "array": a, "sha256 (first 24 hex digits)": v[:24]}
            for (d, a), v in sorted(checksums.items())
        ]
    )
    verified = sorted({r.provenance["data"]["verified_against"] for r in results})
    return (
        f"{_table(runs)}\n\nVersions: {versions}.\n\nMachine: {first['machine']['cpu']}, "
        f"{first['machine']['cores']} cores, {first['machine']['platform']}.\n\n"
        f"Data, verified against {'; '.join(verified)}:\n\n{_table(data)}"
    )


def show_summary(names: list[str], results_dir: str | Path | None = None) -> None:
    """All exercises in one table and one chart, 2019 against now."""
    from imagelab import plots

    table = summary_table(names, results_dir)
    if table.empty:
        _show("*No results yet.*")
        return
    # Times and loads are coarse measurements: one decimal, where scores keep four.
    digits = tuple(".1f" if c in ("s_per_epoch", "load") else ".4f" for c in table.columns)
    _show(
        "## Summary: 2019 against now\n\n"
        + _table(
            table.rename(
                columns={
                    "acc_2019": "2019 acc",
                    "acc": "acc",
                    "seed_mean": "seeds mean",
                    "seed_min": "seeds min",
                    "seed_max": "seeds max",
                    "loss_2019": "2019 loss",
                    "s_per_epoch": "s/epoch",
                }
            ),
            floatfmt=digits,
        )
    )
    cores = load_result(table["exercise"].iloc[0], results_dir).provenance["machine"]["cores"]
    _show(
        f"s/epoch is the median time of a run's epochs after the first, as measured during the "
        f"run; load is the machine's 1-minute load average at the run's start and end (where "
        f"recorded; {cores} cores): a load above {cores} means other jobs shared the cores and "
        "slowed the epochs down."
    )
    figure = plots.comparison(table)
    from IPython.display import display

    display(figure)
    plots.close(figure)
    if any(is_jpeg_cifar(load_result(n, results_dir).provenance) for n in table["exercise"]):
        _show(CIFAR_JPEG_NOTE)


def show_environment(names: list[str], results_dir: str | Path | None = None) -> None:
    """The run environment: commits, versions, CPU and data checksums."""
    _show("## Run environment\n\n" + environment_table(names, results_dir))

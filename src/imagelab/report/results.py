"""Stored runs as the report reads them: one run's files, and the spread over seeds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from imagelab import records


@dataclass
class Result:
    """One stored run, read back: history, score, provenance and where its figures are."""

    name: str
    history: pd.DataFrame
    score: dict[str, float]
    provenance: dict
    files: records.RunFiles

    @property
    def epoch_seconds(self) -> list[float]:
        return self.provenance["epoch_seconds"]


def load_result(name: str, results_dir: str | Path | None = None) -> Result | None:
    """A stored run's results, or None when it has not been run."""
    files = records.run_files(name, results_dir)
    if not (files.provenance.is_file() and files.history.is_file() and files.score.is_file()):
        return None
    return Result(
        name,
        records.read_history(files.history),
        records.read_score(files.score),
        records.read_provenance(files.provenance),
        files,
    )


def seed_spread(name: str, results_dir: str | Path | None = None) -> dict[str, float] | None:
    """Mean, min and max test accuracy over the seeds in scores/seeds.csv (with the canonical)."""
    path = records.run_files("seeds", results_dir).score
    if not path.is_file():
        return None
    rows = pd.read_csv(path).query("run == @name")
    if len(rows) < 2:  # one run is no spread
        return None
    return {
        "n": len(rows),
        "mean": rows["acc"].mean(),
        "min": rows["acc"].min(),
        "max": rows["acc"].max(),
        "std": rows["acc"].std(ddof=1),
    }


def idle_epochs(benchmarks: str | Path | None = None) -> dict[str, float]:
    """Seconds per epoch through imagelab on an idle machine, per exercise, from the benchmark
    (``benchmarks/results.csv``); empty when it has not run."""
    path = Path(benchmarks or records.PROJECT_ROOT / "benchmarks" / "results.csv")
    if not path.is_file():
        return {}
    value = pd.read_csv(path).set_index("name")["value"]
    suffix = "/imagelab_epoch"
    return {k.removesuffix(suffix): float(v) for k, v in value.items() if k.endswith(suffix)}

"""What the report reads beside the stored runs (``imagelab.store.load_run``): the spread over
seeds (``scores/seeds.csv``) and the benchmark's idle seconds per epoch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imagelab import records


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

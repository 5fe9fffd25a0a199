"""What the report reads beside the stored runs: the stored runs as the report may show them,
the spread over seeds (``scores/seeds.csv``) and the benchmark's idle seconds per epoch, each
through its validating reader (``imagelab.results.store``, ``imagelab.results.tables``)."""

from __future__ import annotations

from pathlib import Path

from imagelab import records
from imagelab.results import store, tables


def load_run(name: str, results_dir: str | Path | None = None) -> store.StoredRun | None:
    """The stored run ``name``, or None when it is missing or damaged (a figure that does not decode included).

    The report's checks refuse damaged runs before rendering (``runs.check_results`` and
    ``report.inputs.check``), unless ``--allow-missing`` tells them to go on without them;
    then the report leaves such a run out, as it does a missing one.
    """
    try:
        stored = store.load_run(name, results_dir)
        if stored is not None:
            tables.check_run_figures(stored)
    except store.DamagedResult:
        return None
    return stored


def seed_spread(name: str, results_dir: str | Path | None = None) -> dict[str, float] | None:
    """Mean, min and max test accuracy over the seeds in scores/seeds.csv (with the canonical)."""
    path = records.run_files("seeds", results_dir).score
    if not path.is_file():
        return None
    rows = tables.read(path, tables.SEEDS).query("run == @name")
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
    results = tables.read_benchmark(benchmarks)
    if results is None:
        return {}
    value = results.set_index("name")["value"]
    suffix = "/imagelab_epoch"
    return {k.removesuffix(suffix): float(v) for k, v in value.items() if k.endswith(suffix)}

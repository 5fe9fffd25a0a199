"""What the answers to the 2019 questions rest on (``imagelab.judging.conclusions``), gathered once:
each exercise's runs by seed, the activation sweep, the benchmark's idle epochs, the Playground
search and 2019's printed history. ``Evidence.with_rerun`` puts a rerun in a canonical run's
place, so ``make verify`` can ask whether the answers still hold."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from imagelab import records
from imagelab.judging import seed_noise
from imagelab.results import store, tables


@dataclass(frozen=True)
class Evidence:
    """What the answers rest on: each exercise's runs by seed (the canonical run's seed among
    them), the activation sweep, the benchmark's idle epochs and the Playground search."""

    runs: dict[str, dict[int, store.StoredRun]]
    canonical_seed: dict[str, int]
    activations: dict[str, dict[int, store.StoredRun]]
    idle: dict[str, float]
    bench_machine: str
    search: pd.DataFrame | None
    history_2019: pd.DataFrame | None

    def canonical(self, name: str) -> store.StoredRun | None:
        return self.runs.get(name, {}).get(self.canonical_seed.get(name))

    def with_rerun(self, name: str, rerun: store.StoredRun) -> Evidence:
        """The same evidence with ``rerun`` in place of ``name``'s canonical run."""
        runs = dict(self.runs)
        runs[name] = {**runs.get(name, {}), self.canonical_seed[name]: rerun}
        return replace(self, runs=runs)


def gather(
    results_dir: str | Path | None = None,
    sweeps_dir: str | Path | None = None,
    benchmarks: str | Path | None = None,
) -> Evidence:
    """The evidence stored under ``results_dir`` (default: the project's folders)."""
    from imagelab.judging.reference import HISTORY_2019
    from imagelab.results.exercises import EXERCISES
    from imagelab.running import playground_search

    runs, canonical_seed = {}, {}
    for name in EXERCISES:
        try:  # a damaged run answers nothing (the report names it; --allow-missing goes on)
            canonical = store.load_run(name, results_dir)
            if canonical is None:
                continue
            seeds = seed_noise.seed_runs(name, results_dir)
        except store.DamagedResult:
            continue
        canonical_seed[name] = int(canonical.provenance["seed"])
        runs[name] = seeds | {canonical_seed[name]: canonical}
    sweeps = Path(sweeps_dir) if sweeps_dir else records.PROJECT_ROOT / "sweeps"
    activations: dict[str, dict[int, store.StoredRun]] = {}
    for path in sorted((sweeps / "dense_activation" / "scores").glob("*.json")):
        run = store.load_run(path.stem, path.parent.parent)
        parameters = run.provenance["parameters"]
        activations.setdefault(parameters["activation"], {})[parameters["seed"]] = run
    bench = tables.read_benchmark(benchmarks)
    idle, machine = {}, ""
    if bench is not None:
        epochs = bench[bench["name"].str.endswith("/imagelab_epoch")]
        idle = {
            n.split("/")[0]: float(v) for n, v in zip(epochs["name"], epochs["value"], strict=True)
        }
        machine = str(epochs["machine"].iloc[0]) if len(epochs) and "machine" in epochs else ""
    search = playground_search.load(results_dir)
    history = pd.read_csv(HISTORY_2019) if HISTORY_2019.is_file() else None
    return Evidence(runs, canonical_seed, activations, idle, machine, search and search[0], history)

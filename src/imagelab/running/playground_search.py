"""The search for the smallest Playground network that learns the spiral, on many seeds.

2019 claimed that all seven features and one hidden layer of 3 neurons is the smallest network
reaching test loss < 0.1. The search trains every hidden-layer shape of a grid, for each feature
set, on every seed, and records one row per (feature set, shape, seed) in
``scores/playground_search.csv``; ``imagelab.analysis`` turns the rows into success rates with
intervals and the sentence on 2019's claim. A shape's seeds train together
(``playground.train_seeds``): the same numbers as separate runs, several times faster
(``studies/playground_batched.py`` measures both). The search is stored with the provenance of
a run, and is up to date when its grid, settings and fingerprint (the Playground's training
code and notebook, the search loop, the pinned libraries) are today's.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pandas as pd

from imagelab import playground, records
from imagelab.errors import UserError
from imagelab.results import fingerprint, store
from imagelab.results.exercises import PLAYGROUND, normal

RUN_NAME = "playground_search"
# The grid, as the notebook's parameters name it: feature sets, hidden-layer shapes, seeds.
GRID = ("search_feature_sets", "search_hidden", "search_seeds")
SEARCH_CODE = (
    "imagelab.running.playground_search:search",
    "imagelab.running.playground_search:_row",
)
COLUMNS = [
    "feature_set",
    "features",
    "hidden",
    "neurons",
    "learning_rate",
    "later_learning_rate",
    "switch_epoch",
    "epochs",
    "seed",
    "train_loss",
    "test_loss",
    "test_acc",
    "success",
    "trained_together",  # networks trained side by side with this one (its shape's seeds)
    "batch_seconds",  # wall seconds to train all of them
]


def search(
    settings: dict[str, object], grid: dict[str, list], results_dir: str | Path | None = None
) -> pd.DataFrame:
    """Train every (feature set, hidden shape, seed) of ``grid`` (``GRID``'s keys, checked by
    ``playground_run.check_grid``) with the other ``settings`` (a run's, checked); one row each.

    After each shape the rows so far are written to ``scores/playground_search.csv``
    (atomically), so an interrupted search keeps what it measured; the provenance
    (``scores/playground_search.json``), written last, marks the search finished.
    """
    feature_sets, shapes, seeds = (grid[name] for name in GRID)
    files = records.run_files(RUN_NAME, results_dir)
    # Fingerprinted code (SEARCH_CODE): the older spelling of UTC stays, so stored searches stay
    # up to date.
    started, cpu_started = dt.datetime.now(dt.timezone.utc), time.process_time()  # noqa: UP017
    load_at_start, rows, seconds = list(os.getloadavg()), [], []
    for feature_set in feature_sets:
        for shape in shapes:
            s = settings | {"features": list(playground.FEATURE_SETS[feature_set]), "hidden": shape}
            _, _, results = playground.train_seeds(s, seeds)
            rows += [_row(feature_set, s, seed, r) for seed, r in zip(seeds, results, strict=True)]
            records.write_csv(pd.DataFrame(rows, columns=COLUMNS), files.score)
            seconds.append(results[0].train_seconds)
            solved = sum(r.score["test_loss"] < playground.SUCCESS_LOSS for r in results)
            print(
                f"[search] {feature_set} features, hidden {shape}: {solved} of {len(seeds)} seeds "
                f"reached test loss < {playground.SUCCESS_LOSS} ({seconds[-1]:.1f}s)",
                flush=True,
            )
    data = playground.spiral(settings["noise"], settings["train_ratio"])
    provenance = store.build_provenance(
        run_name=RUN_NAME,
        exercise=PLAYGROUND.name,
        notebook=f"notebooks/{PLAYGROUND.notebook}",
        parameters=parameters(settings, grid),
        data={
            "dataset": "playground spiral",
            "n_train": len(data.x_train),
            "n_test": len(data.x_test),
        },  # fmt: skip
        score={},
        started=started,
        epoch_seconds=[],
        train_seconds=float(sum(seconds)),
        cpu_seconds=time.process_time() - cpu_started,
        fingerprint=current_fingerprint(),
        load_at_start=load_at_start,
        success=f"test_loss < {playground.SUCCESS_LOSS}",
        runs=len(rows),
        shape_seconds=seconds,
    )
    records.write_json(provenance, files.provenance)
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(
    feature_set: str, settings: dict[str, object], seed: int, result: playground.PlaygroundResult
) -> dict[str, object]:
    s, score = settings, result.score
    return {
        "feature_set": feature_set,
        "features": " ".join(s["features"]),
        "hidden": "-".join(map(str, s["hidden"])),
        "neurons": sum(s["hidden"]),
        "learning_rate": s["learning_rate"],
        "later_learning_rate": s["later_learning_rate"],
        "switch_epoch": s["switch_epoch"],
        "epochs": s["epochs"],
        "seed": seed,
        "train_loss": score["train_loss"],
        "test_loss": score["test_loss"],
        "test_acc": score["test_acc"],
        "success": score["test_loss"] < playground.SUCCESS_LOSS,
        "trained_together": result.trained_together,
        "batch_seconds": result.train_seconds,
    }


def parameters(settings: dict[str, object], grid: dict[str, list]) -> dict[str, object]:
    """What a search trains: the grid, and the run settings the grid does not replace."""
    fixed = {k: v for k, v in settings.items() if k not in ("features", "hidden", "seed")}
    return fixed | {name: grid[name] for name in GRID}


def current_fingerprint() -> dict[str, object]:
    """The fingerprint a search made now would carry: the Playground's training code and
    notebook, the search loop, the pinned libraries."""
    notebook = f"notebooks/{PLAYGROUND.notebook}"
    return fingerprint.fingerprint(notebook, PLAYGROUND.training_code + SEARCH_CODE)


def seal(results_dir: str | Path | None = None) -> None:
    """Record the finished search's table in its provenance's manifest (``imagelab.results.manifest``):
    ``search`` writes both in place, the table as it goes, so the set is sealed after it."""
    from imagelab.results import manifest

    files = records.run_files(RUN_NAME, results_dir)
    manifest.seal(files, [files.score])


def load(results_dir: str | Path | None = None) -> tuple[pd.DataFrame, dict] | None:
    """The stored search and its provenance, validated (``store.load_table``, then each value
    against ``tables.PLAYGROUND_SEARCH``: losses >= 0, accuracies in [0, 1] ...); None if none."""
    from imagelab.results import tables

    def check(table: pd.DataFrame, path: Path) -> None:
        lines = table.set_axis(range(2, len(table) + 2))  # as the file numbers them
        tables.check_frame(lines, path, tables.PLAYGROUND_SEARCH)

    return store.load_table(RUN_NAME, COLUMNS, results_dir, dtype={"hidden": str}, check=check)


def read_search(results_dir: str | Path | None = None) -> pd.DataFrame:
    """The stored search table (``scores/playground_search.csv``) under ``results_dir``."""
    stored = load(results_dir)
    if stored is None:
        path = records.run_files(RUN_NAME, results_dir).score
        raise UserError(
            f"{path}: no Playground search is stored under this results_dir; run the notebook "
            "with search=True (search_hidden, search_seeds and search_feature_sets set its size), "
            "or without results_dir to read the project's search"
        )
    return stored[0]


def freshness(
    settings: dict[str, object], grid: dict[str, list], results_dir: str | Path | None = None
) -> tuple[str, str]:
    """Whether the stored search answers ``settings`` and ``grid``: 'missing', 'damaged',
    'different', 'stale' or 'up-to-date' (as ``results.freshness`` names a run's states), and
    why in words (empty when there is nothing to say)."""
    try:
        stored = load(results_dir)
    except store.DamagedResult as error:
        return "damaged", f" ({error})"
    if stored is None:
        return "missing", ""
    table, provenance = stored
    if normal(provenance["parameters"]) != normal(parameters(settings, grid)):
        return "different", " (another grid or other settings)"
    reasons = fingerprint.differences(provenance.get("fingerprint"), current_fingerprint())
    figure = records.run_files(RUN_NAME, results_dir).figure("success")
    reasons += [] if figure.is_file() else [f"{figure.name} missing"]
    if len(table) != provenance.get("runs"):
        reasons.append(f"{len(table)} rows where the search trained {provenance.get('runs')}")
    return ("stale", f" ({'; '.join(reasons)})") if reasons else ("up-to-date", "")

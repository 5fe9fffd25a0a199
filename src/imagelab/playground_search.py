"""The search for the smallest Playground network that learns the spiral, on many seeds.

2019 claimed that all seven features and one hidden layer of 3 neurons is the smallest network
reaching test loss < 0.1. The search trains every hidden-layer shape of a grid, for each feature
set, on every seed, and records one row per (feature set, shape, seed) in
``scores/playground_search.csv``; ``imagelab.analysis`` turns the rows into success rates with
intervals and the sentence on 2019's claim. A shape's seeds train together
(``playground.train_seeds``): the same numbers as separate runs, several times faster
(``studies/playground_batched.py`` measures both).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from imagelab import playground, playground_run, records
from imagelab.params import check_choice, check_parameter

RUN_NAME = "playground_search"
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
    settings: dict[str, object],
    hidden_shapes: list[list[int]],
    feature_sets: list[str],
    seeds: list[int],
    results_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Train every (feature set, hidden shape, seed) with the other ``settings``; one row each.

    ``settings`` are a run's checked settings (``playground.start``); their ``features``,
    ``hidden`` and ``seed`` are replaced by the grid's. After each shape the rows so far are
    written to ``scores/playground_search.csv`` (atomically), so an interrupted search keeps
    what it measured; ``scores/playground_search.json`` records the grid, code state and times
    once the search is done.
    """
    for name in feature_sets:
        check_choice("search_feature_sets", name, tuple(playground.FEATURE_SETS))
    for shape in hidden_shapes:
        playground_run.check_settings(**(settings | {"hidden": shape}))
    if not seeds:
        raise ValueError(f"search_seeds must be a non-empty list of seeds; got {seeds!r}")
    for seed in seeds:
        check_parameter("seed", seed)
    files = records.run_files(RUN_NAME, results_dir)
    started, rows = dt.datetime.now(dt.timezone.utc), []
    for feature_set in feature_sets:
        features = list(playground.FEATURE_SETS[feature_set])
        for shape in hidden_shapes:
            s = settings | {"features": features, "hidden": shape}
            _, _, results = playground.train_seeds(s, seeds)
            rows += [_row(feature_set, s, seed, r) for seed, r in zip(seeds, results, strict=True)]
            records.write_csv(pd.DataFrame(rows, columns=COLUMNS), files.score)
            solved = sum(r.score["test_loss"] < playground.SUCCESS_LOSS for r in results)
            print(
                f"[search] {feature_set} features, hidden {shape}: {solved} of {len(seeds)} "
                f"seeds reached test loss < {playground.SUCCESS_LOSS} ({results[0].train_seconds:.1f}s)",
                flush=True,
            )
    table = pd.DataFrame(rows, columns=COLUMNS)
    grid = {
        "feature_sets": {k: list(playground.FEATURE_SETS[k]) for k in feature_sets},
        "hidden": hidden_shapes,
        "seeds": seeds,
    }
    records.write_json(
        playground_run.provenance(started)
        | {
            "run_name": RUN_NAME,
            "notebook": playground_run.NOTEBOOK,
            "parameters": {
                k: v for k, v in settings.items() if k not in ("features", "hidden", "seed")
            },
            "grid": grid,
            "success": f"test_loss < {playground.SUCCESS_LOSS}",
            "runs": len(table),
            "train_seconds": float(
                table.drop_duplicates(["feature_set", "hidden"])["batch_seconds"].sum()
            ),  # fmt: skip
        },
        files.provenance,
    )
    return table


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


def read_search(results_dir: str | Path | None = None) -> pd.DataFrame:
    """The stored search table (``scores/playground_search.csv``) under ``results_dir``."""
    path = records.run_files(RUN_NAME, results_dir).score
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no search stored here; run the notebook with search=True")
    return pd.read_csv(path, dtype={"hidden": str})

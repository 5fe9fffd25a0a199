"""One run of exercise three, the Playground spiral: its settings checked at the notebook's
entry, one network trained and stored with its provenance."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from imagelab import records
from imagelab.params import check_choice, check_parameter
from imagelab.playground import (
    ACTIVATIONS,
    FEATURES,
    MAX_LAYERS,
    MAX_NEURONS,
    NUM_SAMPLES,
    REGULARIZATIONS,
    PlaygroundResult,
    SpiralData,
    train_seeds,
)

if TYPE_CHECKING:
    import keras

NOTEBOOK = "notebooks/06_playground_spiral.ipynb"
SETTINGS = (
    "features",
    "hidden",
    "activation",
    "learning_rate",
    "later_learning_rate",
    "switch_epoch",
    "regularization",
    "regularization_rate",
    "noise",
    "batch_size",
    "train_ratio",
    "epochs",
    "seed",
)


# --- parameters ------------------------------------------------------------------------


def check_settings(
    *,
    features: list[str],
    hidden: list[int],
    activation: str,
    learning_rate: float,
    later_learning_rate: float | None,
    switch_epoch: int | None,
    regularization: str | None,
    regularization_rate: float,
    noise: int | float,
    batch_size: int,
    train_ratio: float,
    epochs: int,
    seed: int,
) -> None:
    """Raise a ValueError naming the first Playground setting that is not allowed, and why.

    Called once, at the notebook's entry, so the code below it can trust its inputs.
    """
    if not isinstance(features, (list, tuple)) or not features:
        raise ValueError(
            f"features must be a non-empty list drawn from {FEATURES}; got {features!r}"
        )
    for feature in features:
        check_choice("features", feature, FEATURES)
    if len(set(features)) != len(features):
        raise ValueError(f"features must not repeat a feature; got {features!r}")
    sizes_ok = (
        isinstance(hidden, (list, tuple))
        and len(hidden) <= MAX_LAYERS
        and all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_NEURONS for n in hidden
        )
    )
    if not sizes_ok:
        raise ValueError(
            f"hidden must be a list of at most {MAX_LAYERS} layer sizes, each an integer from 1 "
            f"to {MAX_NEURONS} (the Playground's limits; [] means no hidden layer); got {hidden!r}"
        )
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("regularization", regularization, REGULARIZATIONS)
    _check_number("learning_rate", learning_rate, lambda v: v > 0, "a number > 0")
    _check_number("regularization_rate", regularization_rate, lambda v: v >= 0, "a number >= 0")
    check_parameter("epochs", epochs)
    check_parameter("batch_size", batch_size)
    check_parameter("seed", seed)
    if (later_learning_rate is None) != (switch_epoch is None):
        raise ValueError(
            "later_learning_rate and switch_epoch go together: give both or neither; got "
            f"later_learning_rate={later_learning_rate!r}, switch_epoch={switch_epoch!r}"
        )
    if later_learning_rate is not None:
        _check_number("later_learning_rate", later_learning_rate, lambda v: v > 0, "a number > 0")
        _check_number(
            "switch_epoch",
            switch_epoch,
            lambda v: isinstance(v, int) and 2 <= v <= epochs,
            f"an integer from 2 to epochs ({epochs}), the first epoch at the later rate",
        )
    _check_number("noise", noise, lambda v: 0 <= v <= 50, "a number from 0 to 50 (the slider)")
    _check_number(
        "train_ratio",
        train_ratio,
        lambda v: 0 < v < 1,
        "a number strictly between 0 and 1 (0.5 is the Playground's 50%)",
    )
    n_train = int(NUM_SAMPLES * train_ratio)
    if not 1 <= batch_size <= n_train:
        raise ValueError(
            f"batch_size must be from 1 to the number of training points ({n_train}); "
            f"got {batch_size!r}"
        )


def start(namespace: dict[str, object]) -> dict[str, object]:
    """Check a notebook's Playground settings (read from its ``globals()``) and return them.

    Also runs TensorFlow on one thread (before it starts): these networks are so small that
    handing each operation to a pool of threads costs more than the arithmetic (an epoch of ten
    networks took 11 ms on the default pool and 2 ms on one thread here).
    """
    from imagelab import training

    settings = {name: namespace[name] for name in SETTINGS}
    check_settings(**settings)
    check_parameter("run_name", namespace["run_name"])
    check_parameter("results_dir", namespace["results_dir"])
    training.configure_threads(1)
    return settings


def _check_number(name: str, value: object, check: object, allowed: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not check(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")


# --- one run, stored -------------------------------------------------------------------


def run(
    settings: dict[str, object],
    run_name: str | None = None,
    results_dir: str | Path | None = None,
) -> tuple[keras.Model, SpiralData, PlaygroundResult]:
    """Seed, generate the data, build and train one network: (model, data, result).

    ``settings`` holds the keyword arguments of ``check_settings``, already checked. With a
    ``run_name``, the history, score (test ``loss,acc``, 2019's format) and provenance (with the
    training loss and accuracy too) are written atomically under ``results_dir``, provenance last.
    """
    s, started = settings, dt.datetime.now(dt.timezone.utc)
    [model], [data], [result] = train_seeds(s, [s["seed"]])
    score = result.score
    print(
        f"[{run_name}] features {len(s['features'])}, hidden {s['hidden']}, seed {s['seed']}: "
        f"train loss {score['train_loss']:.4f}, test loss {score['test_loss']:.4f} "
        f"({result.train_seconds:.1f}s)",
        flush=True,
    )
    if run_name:
        files = records.run_files(run_name, results_dir)
        records.write_csv(result.history, files.history)
        test_score = {"loss": score["test_loss"], "acc": score["test_acc"]}
        records.write_csv(pd.DataFrame([test_score]), files.score)
        provenance_ = {
            "run_name": run_name,
            "exercise": "playground_spiral",
            "notebook": NOTEBOOK,
            "parameters": settings,
            "seed": s["seed"],
            "data": {
                "dataset": "playground spiral",
                "n_train": len(data.x_train),
                "n_test": len(data.x_test),
            },
            "model": {"name": model.name, "params": int(model.count_params())},
            "epoch_seconds": result.epoch_seconds,
            "train_seconds": result.train_seconds,
            "score": score,
        }
        records.write_json(provenance(started) | provenance_, files.provenance)
        print(f"[{run_name}] wrote {files.history}, {files.score} and {files.provenance.name}")
    return model, data, result


def provenance(started: dt.datetime) -> dict[str, object]:
    """Code state, versions, machine and times of a run or search that started at ``started``."""
    import platform
    from importlib import metadata

    versions = {pkg: metadata.version(pkg) for pkg in ("tensorflow", "keras", "numpy", "imagelab")}
    return {
        "git": records.git_state(),
        "versions": versions | {"python": platform.python_version()},
        "machine": {"platform": platform.platform()},
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": time.time() - started.timestamp(),
    }

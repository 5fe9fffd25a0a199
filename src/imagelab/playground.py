"""Exercise three: the TensorFlow Playground's spiral, rebuilt in Keras so that anyone can rerun it.

2019 clicked through the Playground web page (playground.tensorflow.org). What it does, from its
public source (``dataset.ts``, ``nn.ts``, ``playground.ts``), and how it is reproduced here:

- Data: 500 points on two interleaved spirals, 250 per class (label +1 and -1), uniform noise of
  ``noise / 100`` (the slider goes 0 to 50), shuffled and split by the training ratio.
- Inputs: any of seven features of the point (x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)), not
  normalised.
- Network: dense layers, weights drawn from U(-0.5, 0.5) and biases starting at 0.1, a tanh
  output; loss 0.5 * (output - label)^2, averaged.
- Training: plain gradient descent on batches of ``batch_size`` points, in the same order every
  epoch (the Playground shuffles once); an L1 or L2 penalty steps each weight by
  ``learning_rate * regularization_rate * d penalty / d weight`` per batch. The loss it shows, and
  the one recorded here, is the data loss over the whole training or test set, without penalty.

Not reproduced: the Playground sets an L1-regularised weight that crosses zero to exactly zero.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from imagelab import records
from imagelab.params import check_choice, check_parameter

if TYPE_CHECKING:  # TensorFlow loads only when a network is built or trained
    import keras

FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
FEATURE_SETS = {"raw": ("x1", "x2"), "all": FEATURES}
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")  # the Playground's four
REGULARIZATIONS = (None, "L1", "L2")
NUM_SAMPLES = 500
MAX_LAYERS, MAX_NEURONS = 6, 8  # the Playground's limits
EXTENT = 6.0  # the Playground draws the input plane from -6 to 6
NOTEBOOK = "notebooks/06_playground_spiral.ipynb"
SUCCESS_LOSS = 0.1  # 2019's goal: a test loss below 0.1
HISTORY_KEYS = [("loss", "training"), ("loss", "test"), ("acc", "training"), ("acc", "test")]
SEARCH_COLUMNS = [
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
    "seconds",
]


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

    Also limits TensorFlow's threads when ``IMAGELAB_THREADS`` is set, before TensorFlow starts.
    """
    from imagelab import training

    settings = {name: namespace[name] for name in SETTINGS}
    check_settings(**settings)
    check_parameter("run_name", namespace["run_name"])
    check_parameter("results_dir", namespace["results_dir"])
    training.configure_threads()
    return settings


def _check_number(name: str, value: object, check: object, allowed: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not check(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")


# --- data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpiralData:
    """The Playground's spiral, split: raw coordinates (x1, x2) and labels -1/+1."""

    x_train: np.ndarray  # (n_train, 2)
    y_train: np.ndarray  # (n_train,)
    x_test: np.ndarray
    y_test: np.ndarray


def spiral_points(
    noise: float = 0, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The 500 spiral points in the Playground's order, before shuffling: (points, labels).

    ``noise`` is the slider value (0 to 50): each coordinate moves by U(-1, 1) * noise / 100.
    """
    rng = rng or np.random.default_rng(0)
    n = NUM_SAMPLES // 2
    points, labels = [], []
    for delta, label in [(0.0, 1.0), (np.pi, -1.0)]:
        i = np.arange(n)
        r = 5 * i / n
        t = 1.75 * 2 * np.pi * i / n + delta
        jitter = rng.uniform(-1, 1, size=(n, 2)) * noise / 100
        points.append(np.column_stack([r * np.sin(t), r * np.cos(t)]) + jitter)
        labels.append(np.full(n, label))
    return np.concatenate(points), np.concatenate(labels)


def spiral(noise: float = 0, train_ratio: float = 0.5, seed: int = 0) -> SpiralData:
    """The Playground's spiral data set, shuffled and split by ``train_ratio`` (its default 50%)."""
    rng = np.random.default_rng(seed)
    points, labels = spiral_points(noise, rng)
    order = rng.permutation(len(points))
    split = int(len(points) * train_ratio)
    train, test = order[:split], order[split:]
    return SpiralData(points[train], labels[train], points[test], labels[test])


def feature_matrix(points: np.ndarray, features: list[str]) -> np.ndarray:
    """The chosen input features of each point, as the network's float32 input matrix."""
    x1, x2 = points[:, 0], points[:, 1]
    columns = {
        "x1": x1,
        "x2": x2,
        "x1^2": x1 * x1,
        "x2^2": x2 * x2,
        "x1*x2": x1 * x2,
        "sin(x1)": np.sin(x1),
        "sin(x2)": np.sin(x2),
    }
    return np.column_stack([columns[name] for name in features]).astype("float32")


# --- model and loss ----------------------------------------------------------------------


def build_model(
    n_features: int,
    hidden: list[int],
    activation: str = "tanh",
    regularization: str | None = None,
    regularization_rate: float = 0.0,
) -> keras.Model:
    """A Playground network: dense hidden layers, a tanh output, the Playground's initial weights.

    Keras's L2 penalty is ``rate * w^2``; the Playground's is ``0.5 * w^2`` per unit rate, so
    L2 gets half the rate and both step each weight by ``learning_rate * rate * w`` per batch.
    """
    import keras
    from keras import layers

    penalty = {
        None: None,
        "L1": keras.regularizers.L1(regularization_rate),
        "L2": keras.regularizers.L2(regularization_rate / 2),
    }[regularization]

    def dense(units: int, act: str, name: str) -> layers.Dense:
        return layers.Dense(
            units,
            activation=act,
            name=name,
            kernel_regularizer=penalty,
            kernel_initializer=keras.initializers.RandomUniform(-0.5, 0.5),
            bias_initializer=keras.initializers.Constant(0.1),
        )

    shape = "-".join(map(str, hidden)) or "none"
    return keras.Sequential(
        [
            keras.Input(shape=(n_features,)),
            *(dense(units, activation, f"hidden_{k + 1}") for k, units in enumerate(hidden)),
            dense(1, "tanh", "output"),
        ],
        name=f"playground_{n_features}in_{shape}",
    )


def playground_loss(output: object, labels: object) -> object:
    """The loss the Playground shows: the mean over points of 0.5 * (output - label)^2."""
    from keras import ops

    return ops.mean(0.5 * ops.square(ops.reshape(output, (-1,)) - ops.reshape(labels, (-1,))))


# --- training --------------------------------------------------------------------------


@dataclass
class PlaygroundResult:
    """What one Playground run measured."""

    history: pd.DataFrame  # epoch,value,metric,data,seconds; metric loss/acc, data training/test
    score: dict[str, float]  # train_loss, train_acc, test_loss, test_acc after the last epoch
    epoch_seconds: list[float]
    train_seconds: float


def train(
    model: keras.Model,
    data: SpiralData,
    features: list[str],
    *,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    later_learning_rate: float | None = None,
    switch_epoch: int | None = None,
) -> PlaygroundResult:
    """Train as the Playground does, measuring loss and accuracy on both sets after every epoch.

    One compiled TensorFlow function runs a whole epoch (all batches and both evaluations):
    Keras's ``fit`` would spend far more time per batch of 10 than the arithmetic takes.
    From ``switch_epoch`` on, the rate is ``later_learning_rate`` (2019 lowered 0.1 to 0.01).
    """
    import tensorflow as tf

    x_train, x_test = (
        tf.constant(feature_matrix(x, features)) for x in (data.x_train, data.x_test)
    )
    y_train, y_test = (tf.constant(y, dtype="float32") for y in (data.y_train, data.y_test))
    rate = tf.Variable(learning_rate, dtype="float32", trainable=False)
    weights = model.trainable_variables
    starts = tf.range(0, len(data.x_train), batch_size)

    def measure(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        output = tf.reshape(model(x, training=False), (-1,))
        accuracy = tf.reduce_mean(tf.cast(tf.where(output >= 0, 1.0, -1.0) == y, "float32"))
        return playground_loss(output, y), accuracy

    @tf.function
    def epoch() -> tuple[tf.Tensor, ...]:
        for start in starts:
            x, y = x_train[start : start + batch_size], y_train[start : start + batch_size]
            with tf.GradientTape() as tape:
                loss = playground_loss(model(x, training=True), y)
                if model.losses:
                    loss += tf.add_n(model.losses)
            for weight, gradient in zip(weights, tape.gradient(loss, weights), strict=True):
                weight.assign_sub(rate * gradient)
        (train_loss, train_acc), (test_loss, test_acc) = map(
            measure, (x_train, x_test), (y_train, y_test)
        )
        return train_loss, test_loss, train_acc, test_acc  # in HISTORY_KEYS order

    curves = {key: [] for key in HISTORY_KEYS}
    seconds = []
    started = time.perf_counter()
    for number in range(1, epochs + 1):
        if number == switch_epoch:
            rate.assign(later_learning_rate)
        epoch_started = time.perf_counter()
        for key, value in zip(HISTORY_KEYS, epoch(), strict=True):
            curves[key].append(float(value))
        seconds.append(time.perf_counter() - epoch_started)
    history = pd.DataFrame(
        [
            (epoch_number, value, metric, split, seconds[epoch_number - 1])
            for (metric, split), values in curves.items()
            for epoch_number, value in enumerate(values, start=1)
        ],
        columns=records.HISTORY_COLUMNS,
    )
    final = {
        f"{'train' if split == 'training' else 'test'}_{metric}": values[-1]
        for (metric, split), values in curves.items()
    }
    return PlaygroundResult(history, final, seconds, time.perf_counter() - started)


def surface(
    model: keras.Model, features: list[str], resolution: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The network's output over the Playground's input plane: (x1 grid, x2 grid, output)."""
    axis = np.linspace(-EXTENT, EXTENT, resolution)
    grid_x1, grid_x2 = np.meshgrid(axis, axis)
    points = np.column_stack([grid_x1.ravel(), grid_x2.ravel()])
    output = model.predict(feature_matrix(points, features), batch_size=len(points), verbose=0)
    return grid_x1, grid_x2, output.reshape(grid_x1.shape)


# --- one run, and the search -------------------------------------------------------------


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
    from imagelab import training

    s = settings
    started = dt.datetime.now(dt.timezone.utc)
    training.set_seed(s["seed"])
    data = spiral(s["noise"], s["train_ratio"], s["seed"])
    model = build_model(
        len(s["features"]),
        s["hidden"],
        s["activation"],
        s["regularization"],
        s["regularization_rate"],
    )
    result = train(
        model,
        data,
        s["features"],
        learning_rate=s["learning_rate"],
        epochs=s["epochs"],
        batch_size=s["batch_size"],
        later_learning_rate=s["later_learning_rate"],
        switch_epoch=s["switch_epoch"],
    )
    score = result.score
    print(
        f"[{run_name or 'search'}] features {len(s['features'])}, hidden {s['hidden']}, "
        f"seed {s['seed']}: train loss {score['train_loss']:.4f}, test loss "
        f"{score['test_loss']:.4f} ({result.train_seconds:.1f}s)",
        flush=True,
    )
    if run_name:
        files = records.run_files(run_name, results_dir)
        records.write_csv(result.history, files.history)
        test_score = {"loss": score["test_loss"], "acc": score["test_acc"]}
        records.write_csv(pd.DataFrame([test_score]), files.score)
        provenance = {
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
        records.write_json(_provenance(started) | provenance, files.provenance)
        print(f"[{run_name}] wrote {files.history}, {files.score} and {files.provenance.name}")
    return model, data, result


def search(
    settings: dict[str, object],
    hidden_shapes: list[list[int]],
    feature_sets: list[str],
    seeds: list[int],
    results_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Train every (feature set, hidden shape, seed) with the other ``settings``; one row each.

    Every finished run is appended to ``scores/playground_search.csv`` (rewritten atomically), so
    an interrupted search keeps what it measured; ``scores/playground_search.json`` records the
    grid, code state and time once the search is done.
    """
    for name in feature_sets:
        check_choice("search feature set", name, tuple(FEATURE_SETS))
    for shape in hidden_shapes:
        check_settings(**(settings | {"hidden": shape}))
    for seed in seeds:
        check_parameter("seed", seed)
    files = records.run_files("playground_search", results_dir)
    started = dt.datetime.now(dt.timezone.utc)
    rows = []
    for feature_set in feature_sets:
        for shape in hidden_shapes:
            for seed in seeds:
                s = settings | {
                    "features": list(FEATURE_SETS[feature_set]),
                    "hidden": shape,
                    "seed": seed,
                }
                _, _, result = run(s)
                rows.append(
                    {
                        "feature_set": feature_set,
                        "features": " ".join(s["features"]),
                        "hidden": "-".join(map(str, shape)),
                        "neurons": sum(shape),
                        "learning_rate": s["learning_rate"],
                        "later_learning_rate": s["later_learning_rate"],
                        "switch_epoch": s["switch_epoch"],
                        "epochs": s["epochs"],
                        "seed": seed,
                        "train_loss": result.score["train_loss"],
                        "test_loss": result.score["test_loss"],
                        "test_acc": result.score["test_acc"],
                        "success": result.score["test_loss"] < SUCCESS_LOSS,
                        "seconds": result.train_seconds,
                    }
                )
                records.write_csv(pd.DataFrame(rows, columns=SEARCH_COLUMNS), files.score)
    table = pd.DataFrame(rows, columns=SEARCH_COLUMNS)
    records.write_json(
        _provenance(started)
        | {
            "run_name": "playground_search",
            "notebook": NOTEBOOK,
            "parameters": {
                k: v for k, v in settings.items() if k not in ("features", "hidden", "seed")
            },
            "grid": {
                "feature_sets": {k: list(FEATURE_SETS[k]) for k in feature_sets},
                "hidden": hidden_shapes,
                "seeds": seeds,
            },
            "success": f"test_loss < {SUCCESS_LOSS}",
            "runs": len(table),
            "train_seconds": float(table["seconds"].sum()),
        },
        files.provenance,
    )
    return table


def read_search(results_dir: str | Path | None = None) -> pd.DataFrame:
    """The stored search table (``scores/playground_search.csv``) under ``results_dir``."""
    path = records.run_files("playground_search", results_dir).score
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no search stored here; run the notebook with search=True")
    return pd.read_csv(path, dtype={"hidden": str})


def success_table(table: pd.DataFrame) -> pd.DataFrame:
    """Success rate (fraction of seeds with test loss < 0.1) and median test loss per network."""
    grouped = table.groupby(["feature_set", "hidden"], sort=False)
    summary = grouped.agg(
        neurons=("neurons", "first"),
        seeds=("seed", "count"),
        success_rate=("success", "mean"),
        median_test_loss=("test_loss", "median"),
        best_test_loss=("test_loss", "min"),
    ).reset_index()
    layers = summary["hidden"].str.count("-") + 1
    return (
        summary.assign(layers=layers)
        .sort_values(["feature_set", "layers", "neurons"], kind="stable")
        .drop(columns="layers")
        .reset_index(drop=True)
    )


def claim_2019(table: pd.DataFrame) -> str:
    """Whether the search backs 2019's claim that all features and one hidden layer of 3 neurons
    is the smallest spiral network with test loss < 0.1, in one paragraph computed from ``table``."""
    summary = success_table(table)
    lines = []
    for feature_set, rows in summary.groupby("feature_set", sort=False):
        solved = rows[rows["success_rate"] > 0].sort_values("neurons", kind="stable")
        if solved.empty:
            lines.append(
                f"- {feature_set} features: no network reached test loss < {SUCCESS_LOSS}."
            )
            continue
        best = solved.iloc[0]
        lines.append(
            f"- {feature_set} features: the smallest network reaching test loss < {SUCCESS_LOSS} "
            f"has hidden layers {best['hidden']} ({best['neurons']} neurons), for "
            f"{best['success_rate']:.0%} of {best['seeds']} seeds."
        )
    claim = summary.query("feature_set == 'all' and hidden == '3'")
    if claim.empty:
        verdict = "The search did not include all features with one hidden layer of 3 neurons."
    else:
        row = claim.iloc[0]
        verdict = (
            f"2019's network (all features, one hidden layer of 3 neurons) reached test loss < "
            f"{SUCCESS_LOSS} for {row['success_rate']:.0%} of {row['seeds']} seeds (median test "
            f"loss {row['median_test_loss']:.3f}, best {row['best_test_loss']:.3f})."
        )
    return "\n".join([*lines, verdict])


def _provenance(started: dt.datetime) -> dict[str, object]:
    versions = {pkg: metadata.version(pkg) for pkg in ("tensorflow", "keras", "numpy", "imagelab")}
    return {
        "git": records.git_state(),
        "versions": versions | {"python": platform.python_version()},
        "machine": {"platform": platform.platform()},
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": time.time() - started.timestamp(),
    }

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

A seed decides a run's data split (and noise) and its initial weights. Networks of one shape
train side by side, one per seed (``train``): stacked weights, each network on its own seed's
data, the loss the sum of each network's own loss, so plain gradient descent gives every network
exactly its own gradient. One seed alone is the same computation with a stack of one. The
search over shapes and seeds is in ``imagelab.running.playground_search``.

Not reproduced: the Playground sets an L1-regularised weight that crosses zero to exactly zero.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from imagelab import records

if TYPE_CHECKING:  # TensorFlow loads only when a network is built or trained
    import keras

FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
FEATURE_SETS = {"raw": ("x1", "x2"), "all": FEATURES}
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")  # the Playground's four
REGULARIZATIONS = (None, "L1", "L2")
NUM_SAMPLES = 500
MAX_LAYERS, MAX_NEURONS = 6, 8  # the Playground's limits
EXTENT = 6.0  # the Playground draws the input plane from -6 to 6
SUCCESS_LOSS = 0.1  # 2019's goal: a test loss below 0.1
HISTORY_KEYS = [("loss", "training"), ("loss", "test"), ("acc", "training"), ("acc", "test")]

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
    The initial weights come from Keras's global seed: call ``training.set_seed`` first.
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
    """The loss the Playground shows: the mean over points (the last axis) of
    0.5 * (output - label)^2; one loss per network for a stack of networks' outputs."""
    from keras import ops

    return ops.mean(0.5 * ops.square(output - labels), axis=-1)


# --- training --------------------------------------------------------------------------


@dataclass
class PlaygroundResult:
    """What one Playground run measured."""

    history: pd.DataFrame  # epoch,value,metric,data,seconds; metric loss/acc, data training/test
    score: dict[str, float]  # train_loss, train_acc, test_loss, test_acc after the last epoch
    epoch_seconds: list[float]  # of the whole stack it trained in
    train_seconds: float  # of the whole stack it trained in
    trained_together: int  # networks in that stack (1: trained alone)


def train(
    models: list[keras.Model], data: list[SpiralData], settings: dict[str, object]
) -> list[PlaygroundResult]:
    """Train networks of one shape side by side as the Playground trains one; a result each.

    ``models[i]`` learns from ``data[i]`` (each seed its own split) with the learning rates,
    epochs and batch size of ``settings`` (checked), in batches taken in order. The weights
    are stacked along a first axis, so one batched matrix product per layer serves every
    network; the loss is the sum of the networks' own losses (plus their penalties), whose
    gradient with respect to a network's weights is that network's own gradient. One compiled
    TensorFlow function runs a whole epoch (all batches and both evaluations): Keras's ``fit``
    would spend far more time per batch of 10 than the arithmetic takes. From ``switch_epoch``
    on, the rate is ``later_learning_rate`` (2019 lowered 0.1 to 0.01). The trained weights are
    written back into ``models``.
    """
    import tensorflow as tf

    features, batch_size = settings["features"], settings["batch_size"]

    def stacked(arrays: list[np.ndarray]) -> tf.Tensor:
        return tf.constant(np.stack(arrays).astype("float32"))

    x_train = stacked([feature_matrix(d.x_train, features) for d in data])  # (networks, n, F)
    x_test = stacked([feature_matrix(d.x_test, features) for d in data])
    y_train, y_test = stacked([d.y_train for d in data]), stacked([d.y_test for d in data])
    layers = models[0].layers  # every network's layer i, stacked: (networks, inputs, units)
    kernels = [
        tf.Variable(np.stack([m.layers[i].kernel for m in models])) for i in range(len(layers))
    ]
    biases = [
        tf.Variable(np.stack([m.layers[i].bias[None] for m in models])) for i in range(len(layers))
    ]
    weights = [w for pair in zip(kernels, biases, strict=True) for w in pair]
    rate = tf.Variable(settings["learning_rate"], dtype="float32", trainable=False)
    starts = tf.range(0, x_train.shape[1], batch_size)

    def forward(x: tf.Tensor) -> tf.Tensor:
        for layer, kernel, bias in zip(layers, kernels, biases, strict=True):
            x = layer.activation(tf.matmul(x, kernel) + bias)
        return x[..., 0]  # (networks, points)

    penalties = [(layer.kernel_regularizer, kernel) for layer, kernel in
                 zip(layers, kernels, strict=True) if layer.kernel_regularizer]  # fmt: skip

    def penalty() -> tf.Tensor | float:  # the sum of every network's own penalty
        return (
            tf.add_n([regularizer(kernel) for regularizer, kernel in penalties])
            if penalties
            else 0.0
        )

    def measure(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        output = forward(x)
        hits = tf.cast(tf.where(output >= 0, 1.0, -1.0) == y, "float32")
        return playground_loss(output, y), tf.reduce_mean(hits, axis=-1)

    @tf.function
    def epoch() -> tf.Tensor:
        for start in starts:
            x, y = x_train[:, start : start + batch_size], y_train[:, start : start + batch_size]
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(playground_loss(forward(x), y)) + penalty()
            for weight, gradient in zip(weights, tape.gradient(loss, weights), strict=True):
                weight.assign_sub(rate * gradient)
        (train_loss, train_acc), (test_loss, test_acc) = map(
            measure, (x_train, x_test), (y_train, y_test)
        )
        return tf.stack([train_loss, test_loss, train_acc, test_acc])  # HISTORY_KEYS order

    curves, seconds = [], []  # curves: (epochs, 4 keys, networks)
    started = time.perf_counter()
    for number in range(1, settings["epochs"] + 1):
        if number == settings["switch_epoch"]:
            rate.assign(settings["later_learning_rate"])
        epoch_started = time.perf_counter()
        curves.append(epoch().numpy())
        seconds.append(time.perf_counter() - epoch_started)
    train_seconds = time.perf_counter() - started
    for i, model in enumerate(models):
        for layer, kernel, bias in zip(layers, kernels, biases, strict=True):
            model.get_layer(layer.name).set_weights([kernel[i].numpy(), bias[i, 0].numpy()])
    curves = np.array(curves)
    return [
        _result(curves[:, :, i], seconds, train_seconds, len(models)) for i in range(len(models))
    ]


def _result(
    curves: np.ndarray, seconds: list[float], train_seconds: float, together: int
) -> PlaygroundResult:
    """One network's result from its (epochs, HISTORY_KEYS) curves."""
    history = pd.DataFrame(
        [
            (epoch, float(curves[epoch - 1, k]), metric, split, seconds[epoch - 1])
            for k, (metric, split) in enumerate(HISTORY_KEYS)
            for epoch in range(1, len(curves) + 1)
        ],
        columns=records.HISTORY_COLUMNS,
    )
    score = {
        f"{'train' if split == 'training' else 'test'}_{metric}": float(curves[-1, k])
        for k, (metric, split) in enumerate(HISTORY_KEYS)
    }
    return PlaygroundResult(history, score, list(seconds), train_seconds, together)


def network(settings: dict[str, object]) -> tuple[keras.Model, SpiralData]:
    """The untrained network and the data of one run with ``settings`` (checked): its seed
    decides the data split (and noise) and, through Keras's global seed, the initial weights."""
    from imagelab import training

    s = settings
    training.set_seed(s["seed"])
    model = build_model(
        len(s["features"]), s["hidden"], s["activation"], s["regularization"],
        s["regularization_rate"],
    )  # fmt: skip
    return model, spiral(s["noise"], s["train_ratio"], s["seed"])


def train_seeds(
    settings: dict[str, object], seeds: list[int]
) -> tuple[list[keras.Model], list[SpiralData], list[PlaygroundResult]]:
    """One network per seed with ``settings`` (checked), trained together: (models, data,
    results), each as it would be alone (``network`` with that seed)."""
    models, data = zip(*(network(settings | {"seed": seed}) for seed in seeds), strict=True)
    return list(models), list(data), train(list(models), list(data), settings)


def surface(
    model: keras.Model, features: list[str], resolution: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The network's output over the Playground's input plane: (x1 grid, x2 grid, output)."""
    axis = np.linspace(-EXTENT, EXTENT, resolution)
    grid_x1, grid_x2 = np.meshgrid(axis, axis)
    points = np.column_stack([grid_x1.ravel(), grid_x2.ravel()])
    output = model.predict(feature_matrix(points, features), batch_size=len(points), verbose=0)
    return grid_x1, grid_x2, output.reshape(grid_x1.shape)

"""Fit and evaluate one model: seeded, timed per epoch, as in the 2019 lab."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from imagelab import records
from imagelab.data import Dataset
from imagelab.models import make_optimizer

# Training steps Keras runs per call into TensorFlow (one tf.while_loop) instead of one per call.
# The same ops run on the same batches in the same order, so the numbers come out byte-identical
# (tests/test_training.py, and `make verify --all` against runs trained before); what goes is
# Python dispatching every step, most of a small network's epoch (studies/epoch_profile.py).
STEPS_PER_EXECUTION = 32


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's ops deterministic.

    Call it before building the model: the initial weights are drawn at build time.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class EpochLog(keras.callbacks.Callback):
    """Times each epoch, prints one progress line per epoch (no per-batch work) and stops
    training after an epoch whose loss is not a finite number."""

    def __init__(self, label: str, epochs: int) -> None:
        super().__init__()
        self.label, self.epochs, self.seconds = label, epochs, []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.seconds.append(now - self.epoch_started)
        metrics = "  ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items())
        print(
            f"[{self.label}] epoch {epoch + 1}/{self.epochs}  {metrics}  "
            f"{self.seconds[-1]:.1f}s (elapsed {now - self.started:.0f}s)",
            flush=True,
        )
        # A loss that overflowed (too large a learning rate) does not come back: stop now, not
        # epochs later. imagelab.running.run then refuses to store the run (errors.Diverged).
        if not all(math.isfinite(v) for k, v in (logs or {}).items() if k.endswith("loss")):
            self.model.stop_training = True


@dataclass
class FitResult:
    """What one training run measured."""

    history: pd.DataFrame  # 2019 tidy format, see records.history_frame
    score: dict[str, float]  # test loss and accuracy
    predictions: pd.DataFrame  # index, true, predicted (test set)
    epoch_seconds: list[float]
    train_seconds: float


def pixels(images: tf.Tensor) -> tf.Tensor:
    """2019's preprocessing, ``x / 255`` in float32, done to one batch of uint8 pixels as it is
    gathered rather than to the whole data set up front (issue 39).

    The data stays uint8 until here, a quarter of the memory float32 takes. A uint8 value
    divided by 255 in float32 is correctly rounded however it is computed, so the batches hold
    the same bits as before (tests/test_training.py checks all 256 values through tf.data).
    """
    return tf.cast(images, tf.float32) / 255.0


def float_images(x: np.ndarray) -> np.ndarray:
    """A whole array of uint8 pixels scaled as ``pixels`` scales a batch: for code that hands
    arrays to Keras's own ``fit`` (the studies of Keras 3's behaviours), not for training here."""
    return pixels(x).numpy()


def batches(x: np.ndarray, y: np.ndarray | None, batch_size: int) -> tf.data.Dataset:
    """``x`` (uint8 pixels) and ``y`` in order, in batches of ``batch_size``, scaled by
    ``pixels``: what Keras makes of arrays for validation, evaluation and prediction."""
    slices = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y)).batch(batch_size)
    scaled = slices.map(pixels) if y is None else slices.map(lambda x, y: (pixels(x), y))
    return scaled.prefetch(tf.data.AUTOTUNE)


def epoch_batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool, seed: int
) -> tf.data.Dataset:
    """The training set in batches, in a new order every epoch when ``shuffle``, as Keras 2 did.

    Keras 2 (2019) drew a fresh NumPy permutation of the training set before each epoch. Keras 3's
    TensorFlow backend draws it with ``tf.random.shuffle`` inside tf.data, and once a global seed
    is set (``keras.utils.set_random_seed``, which ``set_seed`` calls) each epoch replays the
    *same* permutation, so every epoch ends on the same batches. That cyclic order cost the ReLU
    network about 0.002 test accuracy against 2019 and smoothed its validation curves
    (studies/keras3_shuffle.py). A seeded tf.data shuffle that reshuffles on every pass restores
    a new order per epoch, the same sequence of orders for the same seed. ``x`` holds uint8
    pixels, scaled by ``pixels`` as each batch is gathered.
    """
    order = tf.data.Dataset.range(len(x))
    if shuffle:
        order = order.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    arrays = tf.data.Dataset.from_tensors((x, y)).repeat()
    return (
        tf.data.Dataset.zip(order.batch(batch_size), arrays)
        .map(lambda index, xy: (pixels(tf.gather(xy[0], index)), tf.gather(xy[1], index)))
        .prefetch(tf.data.AUTOTUNE)
    )


def fit(
    model: keras.Model,
    data: Dataset,
    *,
    optimizer: str,
    learning_rate: float | None,
    decay: float,
    epochs: int,
    batch_size: int,
    validation_split: float,
    seed: int,
    validate_on_test: bool = False,
    shuffle: bool = True,
    label: str = "run",
    steps_per_execution: int = STEPS_PER_EXECUTION,
) -> FitResult:
    """Compile, train and evaluate ``model`` on ``data`` the way the 2019 lab did.

    ``validation_split`` holds out the *last* fraction of the training set, unshuffled (Keras's
    rule then and now). ``validate_on_test`` validates on the test set instead: the 2019 CIFAR-10
    run passed both ``validation_data`` and ``validation_split``, and Keras uses the former.
    The training set is reshuffled before every epoch from ``seed`` (see ``epoch_batches``).
    ``steps_per_execution`` changes how fast, not what is computed (see ``STEPS_PER_EXECUTION``).
    The images are uint8 pixels, as ``data.load`` returns them; every batch is scaled by
    ``pixels``.
    """
    if data.x_train.dtype != np.uint8 or data.x_test.dtype != np.uint8:
        raise TypeError(
            f"training.fit takes images as uint8 pixels, as data.load returns them, and divides "
            f"each batch by 255 itself; got {data.x_train.dtype} and {data.x_test.dtype}"
        )
    model.compile(
        loss="categorical_crossentropy",
        optimizer=make_optimizer(optimizer, learning_rate, decay),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    x, y = data.x_train, data.y_train
    if validate_on_test:
        validation = batches(data.x_test, data.y_test, batch_size)
    else:
        split = int(len(x) * (1 - validation_split))
        validation = batches(x[split:], y[split:], batch_size) if split < len(x) else None
        x, y = x[:split], y[:split]
    log = EpochLog(label, epochs)
    started = time.perf_counter()
    history = model.fit(
        epoch_batches(x, y, batch_size, shuffle=shuffle, seed=seed),
        epochs=epochs,
        validation_data=validation,
        shuffle=False,  # the order is epoch_batches' to set
        verbose=0,
        callbacks=[log],
    )
    train_seconds = time.perf_counter() - started
    loss, acc = model.evaluate(batches(data.x_test, data.y_test, 512), verbose=0)
    predicted = predicted_classes(model, data.x_test)
    return FitResult(
        history=records.history_frame(history.history, log.seconds),
        score={"loss": float(loss), "acc": float(acc)},
        predictions=pd.DataFrame(
            {"index": np.arange(len(predicted)), "true": data.labels_test, "predicted": predicted}
        ),
        epoch_seconds=log.seconds,
        train_seconds=train_seconds,
    )


def predicted_classes(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The class ``model`` gives each image of ``x`` (uint8 pixels), one batch of 512 per call.

    Not ``model.predict``: compiled with ``steps_per_execution``, it builds one graph of that many
    forward passes, which TensorFlow runs side by side since none waits for another. On the MNIST
    CNN that held about 120 MiB more at the run's peak than one batch at a time (issue 39,
    ``studies/peak_memory_apart.py`` before and after), to save a few calls on 20 batches. Each
    batch runs the same forward pass either way: the same probabilities, bit for bit
    (tests/test_training.py).
    """
    return np.concatenate(
        [model.predict_on_batch(images).argmax(axis=1) for images in batches(x, None, 512)]
    )


def configure_threads(threads: int | None = None) -> None:
    """Limit TensorFlow to ``threads`` CPU threads (used when several runs share the cores)."""
    threads = threads or int(os.environ.get("IMAGELAB_THREADS", "0")) or None
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads // 2))

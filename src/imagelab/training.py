"""Fit and evaluate one model: seeded, timed per epoch, as in the 2019 lab."""

from __future__ import annotations

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


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's ops deterministic.

    Call it before building the model: the initial weights are drawn at build time.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class EpochLog(keras.callbacks.Callback):
    """Times each epoch and prints one progress line per epoch (no per-batch work)."""

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


@dataclass
class FitResult:
    """What one training run measured."""

    history: pd.DataFrame  # 2019 tidy format, see records.history_frame
    score: dict[str, float]  # test loss and accuracy
    predictions: pd.DataFrame  # index, true, predicted (test set)
    epoch_seconds: list[float]
    train_seconds: float


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
    validate_on_test: bool = False,
    shuffle: bool = True,
    label: str = "run",
) -> FitResult:
    """Compile, train and evaluate ``model`` on ``data`` the way the 2019 lab did.

    ``validation_split`` holds out the *last* fraction of the training set, unshuffled (Keras's
    rule then and now). ``validate_on_test`` validates on the test set instead: the 2019 CIFAR-10
    run passed both ``validation_data`` and ``validation_split``, and Keras uses the former.
    """
    model.compile(
        loss="categorical_crossentropy",
        optimizer=make_optimizer(optimizer, learning_rate, decay),
        metrics=["accuracy"],
    )
    log = EpochLog(label, epochs)
    validation = (
        {"validation_data": (data.x_test, data.y_test)}
        if validate_on_test
        else {"validation_split": validation_split}
    )
    started = time.perf_counter()
    history = model.fit(
        data.x_train,
        data.y_train,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        verbose=0,
        callbacks=[log],
        **validation,
    )
    train_seconds = time.perf_counter() - started
    loss, acc = model.evaluate(data.x_test, data.y_test, batch_size=512, verbose=0)
    predicted = model.predict(data.x_test, batch_size=512, verbose=0).argmax(axis=1)
    return FitResult(
        history=records.history_frame(history.history, log.seconds),
        score={"loss": float(loss), "acc": float(acc)},
        predictions=pd.DataFrame(
            {"index": np.arange(len(predicted)), "true": data.labels_test, "predicted": predicted}
        ),
        epoch_seconds=log.seconds,
        train_seconds=train_seconds,
    )


def configure_threads(threads: int | None = None) -> None:
    """Limit TensorFlow to ``threads`` CPU threads (used when several runs share the cores)."""
    threads = threads or int(os.environ.get("IMAGELAB_THREADS", "0")) or None
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads // 2))

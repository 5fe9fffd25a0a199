"""Does Keras 3's epoch order explain 2019's higher ReLU MNIST test accuracy?

Keras 2 (the 2019 R lab) shuffled the training set afresh before every epoch. Keras 3.15's
TensorFlow backend, once a global seed is set (keras.utils.set_random_seed), replays one
permutation in every epoch. This trains exercise one's two networks (linear and ReLU hidden
layer) both ways on the same seeds: Keras 3's own `fit(shuffle=True, validation_split=0.2)`,
as imagelab did before, and `imagelab.training.fit`, which reshuffles every epoch as Keras 2
did. Besides the test score it records how much the validation loss moves from one epoch to
the next (epochs 2-12): 2019's linear network moved 0.0096 on average. Writes
studies/keras3_shuffle.csv.

    IMAGELAB_DATA=../shared/datasets .venv/bin/python studies/keras3_shuffle.py
"""

import sys
import time

import numpy as np
import pandas as pd

from imagelab import data, models, records, training

SETTINGS = {"batch_size": 128, "epochs": 12, "validation_split": 0.2}  # 2019's exercise one


def train(order: str, activation: str, seed: int, mnist: data.Dataset) -> dict:
    """One 2019 run of exercise one; returns its test score and validation-loss movement."""
    training.set_seed(seed)
    model = models.dense(256, activation)
    if order == "keras3_repeated":
        model.compile(
            loss="categorical_crossentropy",
            optimizer=models.make_optimizer("rmsprop"),
            metrics=["accuracy"],
        )
        x_train, x_test = training.float_images(mnist.x_train), training.float_images(mnist.x_test)
        history = model.fit(x_train, mnist.y_train, shuffle=True, verbose=0, **SETTINGS)
        val_loss = history.history["val_loss"]
        loss, acc = model.evaluate(x_test, mnist.y_test, batch_size=512, verbose=0)
    else:
        result = training.fit(
            model, mnist, optimizer="rmsprop", learning_rate=None, decay=0.0, seed=seed, **SETTINGS
        )
        val_loss = result.history.query("metric == 'loss' and data == 'validation'")["value"]
        loss, acc = result.score["loss"], result.score["acc"]
    return {
        "test_loss": loss,
        "test_acc": acc,
        "val_loss_mean_abs_change": float(np.abs(np.diff(val_loss)).mean()),
    }


def main(seeds: list[int]) -> None:
    mnist = data.load_mnist(flatten=True)
    out = records.PROJECT_ROOT / "studies" / "keras3_shuffle.csv"
    rows = []
    for activation in ("relu", "linear"):
        for seed in seeds:
            for order in ("keras3_repeated", "reshuffled"):
                started = time.perf_counter()
                rows.append(
                    {
                        "order": order,
                        "activation": activation,
                        "seed": seed,
                        **train(order, activation, seed, mnist),
                        "seconds": time.perf_counter() - started,
                        "commit": records.git_state()["commit"],
                        "x_train_sha256": mnist.checksums["x_train"],
                    }
                )
                print(rows[-1], flush=True)
                records.write_csv(pd.DataFrame(rows), out)


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [2019, 1, 2, 3])

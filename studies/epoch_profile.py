"""Where does a dense MNIST epoch's time go, and what does running many steps per call save?

Exercise one trains 375 batches of 128 images per epoch and validates on 12,000 more: about
60 GFLOP, half a second at this machine's 100 GFLOP/s matmul rate, yet an epoch took 2.3 s.
This study takes the epoch apart on the full data, on an idle machine:

1. **Profile** (cProfile, one epoch of ``training.fit`` as it was, one step per call): the
   share of the epoch spent inside TensorFlow executing the compiled step, the rest being
   Python around it (Keras's epoch loop, callbacks, the call into TensorFlow).
2. **Parts**: one pass of the input pipeline alone (``training.epoch_batches``, no model), and
   the validation alone (``model.evaluate`` on the 12,000 held-out images).
3. **Steps per execution**: epochs of ``training.fit`` at 1, 8, 32, 128 and 375 steps per call
   (375: the whole epoch in one call), alternating in one process, minimum over ``REPEATS``
   of epochs 2-6 (epoch 1 traces the graphs). Each run's final weights are hashed: the study
   fails if any setting trains other numbers.
4. **Every exercise**: the same at 1 and ``training.STEPS_PER_EXECUTION`` steps per call on a
   slice of each exercise's data the size ``benchmarks/bench.py`` times, scaled to a full epoch.

Writes studies/epoch_profile.csv (part, exercise, setting, seconds per epoch, weights sha256).

    IMAGELAB_DATA=../shared/datasets .venv/bin/python studies/epoch_profile.py
"""

import contextlib
import cProfile
import hashlib
import io
import pstats
import sys
import time
from dataclasses import replace

import pandas as pd

from imagelab import data, records, training
from imagelab.results.exercises import EXERCISES, notebook_defaults
from imagelab.running.run import build_model, fit_settings

# This VM's speed jumps between two levels (a CNN epoch of 25-29 s or 48 s, the CPU idle
# meanwhile), and the fast level spreads by about 10 %: with 3 repeats x 3 timed epochs the
# dropout CNN's fastest epoch at 32 steps per call came out 7 % slower than at one, in the next
# benchmark 6 % faster than bare Keras at one. So, as benchmarks/bench.py does, each setting
# gets 7 repeats x 5 timed epochs and keeps the fastest.
REPEATS, EPOCHS = 7, 6
STEPS = (1, 8, 32, 128, 375)
SLICE_BATCHES = {
    "dense_mnist": 375,
    "relu_mnist": 375,
    "cnn_mnist": 40,
    "cnn_dropout_mnist": 40,
    "cifar10_cnn": 100,
}  # fmt: skip  (benchmarks/bench.py's BATCHES)
FLAT = ("dense_mnist", "relu_mnist")


def dataset(exercise: str, batches: int) -> tuple[data.Dataset, float]:
    """The exercise's data cut to ``batches`` training batches, and full epoch / slice."""
    p = notebook_defaults(exercise)
    full = data.load(EXERCISES[exercise].dataset, flatten=exercise in FLAT)
    share = min(1.0, batches * p["batch_size"] / (len(full.x_train) * (1 - p["validation_split"])))
    n, n_test = round(share * len(full.x_train)), max(1, round(share * len(full.x_test)))
    part = replace(full, x_train=full.x_train[:n], y_train=full.y_train[:n],
                   x_test=full.x_test[:n_test], y_test=full.y_test[:n_test])  # fmt: skip
    return part, len(full.x_train) / n


def train(exercise: str, mnist: data.Dataset, steps: int, epochs: int = EPOCHS) -> tuple:
    """Train the exercise's canonical model; its epoch seconds, weights hash and the model."""
    p = notebook_defaults(exercise)
    training.set_seed(p["seed"])
    model = build_model(exercise, p)
    with contextlib.redirect_stdout(io.StringIO()):  # EpochLog's progress lines
        result = training.fit(
            model, mnist, **fit_settings(p | {"epochs": epochs}), steps_per_execution=steps
        )
    weights = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
    return result.epoch_seconds, weights, model


def profile(mnist: data.Dataset) -> list[dict]:
    """cProfile of dense epoch 2 (epoch 1 traces) at one step per call: time inside the
    compiled steps. cProfile slows the Python side, so the epoch's unprofiled time comes from
    the steps-per-call part; the time inside TensorFlow it barely touches."""
    profiler = cProfile.Profile()

    class ProfiledEpoch(training.EpochLog):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            super().on_epoch_begin(epoch, logs)
            if epoch == 1:
                profiler.enable()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if epoch == 1:
                profiler.disable()
            super().on_epoch_end(epoch, logs)

    training.EpochLog, plain = ProfiledEpoch, training.EpochLog
    try:
        seconds, _, _ = train("dense_mnist", mnist, 1, epochs=2)
    finally:
        training.EpochLog = plain
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (calls, _, tottime, cumtime, _)
    inside = sum(  # the C++ call that runs a compiled tf.function (training, validation steps)
        row[2] for (_, _, name), row in stats.items() if "TFE_Py_Execute" in name
    )
    calls = sum(row[0] for (_, _, name), row in stats.items() if "TFE_Py_Execute" in name)
    return [
        {"part": "profile", "setting": "epoch under cProfile", "seconds": seconds[1]},
        {"part": "profile", "setting": "inside TFE_Py_Execute", "seconds": inside},
        {"part": "profile", "setting": "calls into TensorFlow", "seconds": float(calls)},
    ]


def parts(mnist: data.Dataset) -> list[dict]:
    """The input pipeline and the validation, each alone."""
    p = notebook_defaults("dense_mnist")
    split = int(len(mnist.x_train) * (1 - p["validation_split"]))
    batches = training.epoch_batches(
        mnist.x_train[:split], mnist.y_train[:split], p["batch_size"], shuffle=True, seed=1
    )
    _, _, model = train("dense_mnist", replace(mnist, x_train=mnist.x_train[:1280],
                        y_train=mnist.y_train[:1280]), 1, epochs=1)  # fmt: skip
    rows = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        for _ in batches:
            pass
        pipeline = time.perf_counter() - began
        began = time.perf_counter()
        held_out = training.batches(mnist.x_train[split:], mnist.y_train[split:], 128)
        model.evaluate(held_out, verbose=0)  # as training.fit validates
        rows.append({"pipeline": pipeline, "validation": time.perf_counter() - began})
    best = pd.DataFrame(rows).min()
    return [{"part": "parts", "setting": name, "seconds": best[name]} for name in best.index]


def steps_per_call(exercise: str, steps: tuple[int, ...], batches: int) -> list[dict]:
    """Seconds per full epoch at each steps-per-call setting, alternating, minimum of repeats."""
    mnist, scale = dataset(exercise, batches)
    best, hashes = dict.fromkeys(steps, float("inf")), {}
    for repeat in range(REPEATS):
        for n in steps[:: 1 if repeat % 2 == 0 else -1]:
            seconds, weights, _ = train(exercise, mnist, n)
            best[n] = min(best[n], min(seconds[1:]) * scale)
            hashes.setdefault(n, weights)
            if weights != hashes[n] or weights != hashes[steps[0]]:
                sys.exit(f"{exercise}: {n} steps per call trained other weights")
        print(
            f"{exercise} repeat {repeat + 1}: " + ", ".join(f"{n}: {best[n]:.2f} s" for n in steps)
        )
    return [{"part": "steps per call", "exercise": exercise, "setting": n, "seconds": best[n],
             "weights_sha256": hashes[n][:16]} for n in steps]  # fmt: skip


def main() -> None:
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # every repeat builds a new model: retracing is expected
    mnist = data.load("mnist", flatten=True)
    rows = [*profile(mnist), *parts(mnist)]
    print(pd.DataFrame(rows).to_string(index=False))
    rows += steps_per_call("dense_mnist", STEPS, SLICE_BATCHES["dense_mnist"])
    for exercise in EXERCISES:
        steps = (1, training.STEPS_PER_EXECUTION)
        rows += [r | {"part": "every exercise"}
                 for r in steps_per_call(exercise, steps, SLICE_BATCHES[exercise])]  # fmt: skip
    table = pd.DataFrame(rows).fillna({"exercise": "dense_mnist"})
    path = records.write_csv(table, records.PROJECT_ROOT / "studies" / "epoch_profile.csv")
    print(table.to_string(index=False))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

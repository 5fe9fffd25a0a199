"""How fast is imagelab? Side by side with bare Keras, against this machine's matmul peak.

Usage: ``python benchmarks/bench.py [--smoke] [--out DIR]`` (``make bench``, ``make bench-smoke``).

Two worker processes, one per code path, train each canonical model in turn, alternating
imagelab/bare repeat by repeat so background load hits both alike:

- imagelab: ``imagelab.data.load``, ``training.set_seed``, the ``imagelab.models`` builder and
  ``training.fit`` (``training.STEPS_PER_EXECUTION`` steps per call; then the test set's score
  and predictions), what ``run.fit`` calls;
- bare: the same architecture, arrays, batch size and optimizer, with plain ``np.load``,
  ``compile`` with its defaults (one step per call) and ``fit`` (and a two-line epoch timer),
  nothing else: the ratio shows what imagelab adds to, or saves on, a plain script.

The CNNs are timed in bfloat16 too (``imagelab_bf16``, ``bare_bf16``), where the CPU can.
Each repeat trains ``EPOCHS`` epochs of a slice of ``BATCHES`` batches and times all but the
first, scaled to a full epoch; the minima over ``REPEATS`` repeats are kept. Peak memory is each
path's alone, in fresh processes (``peak_alone``). Then papermill is timed against the notebook's
cells in a fresh process, and ``make lab``/``make report`` are read from the last real run.
benchmarks/README.md says what each row of ``results.csv`` means.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import gc
import io
import math
import multiprocessing
import os
import platform
import re
import sys
import tempfile
import time
import timeit
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from imagelab import analysis, precision, quiet_tensorflow, records
from imagelab.data import DATA_ENV
from imagelab.data import data_dir as find_data_dir
from imagelab.machine import describe as machine
from imagelab.results.exercises import EXERCISES, notebook_defaults
from imagelab.results.store import load_run
from imagelab.running.run import build_model as _build
from imagelab.running.run import fit_settings

ROOT = records.PROJECT_ROOT
FIXTURES = ROOT / "tests" / "fixtures"
# Batches per epoch of a repeat: 1-5 s of training here. The VM's speed jumps between two levels
# and the fast one spreads by about 10 %, more than imagelab saves on a CNN, so each path's
# minimum needs many fast epochs: five per repeat, 35 in all (benchmarks/README.md, "noisy").
BATCHES = {"dense_mnist": 375, "relu_mnist": 375, "cnn_mnist": 40, "cnn_dropout_mnist": 40,
           "cifar10_cnn": 100}  # fmt: skip
REPEATS, EPOCHS, MATMUL_SIZE = 7, 6, 2048
# Peak memory: each path alone in a fresh process, as a script or a notebook's kernel runs (a
# timing worker keeps part of what its earlier models left behind: benchmarks/README.md).
PEAK_EPOCHS, PEAK_REPEATS = 2, 2
SMOKE_BATCHES = {"dense_mnist": 1, "cifar10_cnn": 2}  # one model per data set and layer type
# Timed in bfloat16 too: the CNNs (a dense epoch is 375 small matmuls, mostly per-step overhead).
BF16 = ("cnn_mnist", "cnn_dropout_mnist", "cifar10_cnn")
FLAT = ("dense_mnist", "relu_mnist")  # the dense exercises take 784-pixel rows
PAPERMILL_PARAMS = {"data_limit": 100, "epochs": 1, "run_name": "bench-papermill", "force": True}


# --- in the workers -----------------------------------------------------------------------


def _slice(n_train: int, n_test: int, p: dict, batches: int) -> dict[str, int]:
    """Samples of the slice holding ``batches`` training batches, and of a full epoch."""
    trained = n_train if p.get("validate_on_test") else int(n_train * (1 - p["validation_split"]))
    full = math.ceil(trained / p["batch_size"])
    share = min(1.0, batches / full)
    return {"n": round(share * n_train), "n_test": max(1, round(share * n_test)), "full": full,
            "trained": trained, "validated": n_test if p.get("validate_on_test") else n_train - trained}  # fmt: skip


def imagelab_epoch(exercise: str, batches: int, epochs: int, number_format: str) -> dict:
    """Seconds per full epoch through imagelab's code path (of each epoch after the first), and
    an epoch's training FLOPs; in ``number_format`` (a ``precision.PRECISIONS``)."""
    from imagelab import data as datasets
    from imagelab import training

    p = notebook_defaults(exercise) | {"precision": number_format}
    training.configure_threads()
    training.set_seed(p["seed"])
    data = datasets.load(EXERCISES[exercise].dataset, flatten=exercise in FLAT)
    s = _slice(len(data.x_train), len(data.x_test), p, batches)
    part = replace(data, x_train=data.x_train[: s["n"]], y_train=data.y_train[: s["n"]],
                   x_test=data.x_test[: s["n_test"]], y_test=data.y_test[: s["n_test"]])  # fmt: skip
    model = _build(exercise, p)  # in bfloat16: the global policy set, the softmax in float32
    with contextlib.redirect_stdout(io.StringIO()):  # EpochLog's progress lines
        result = training.fit(model, part, **fit_settings(p | {"epochs": epochs}))
    return {  # training ~ 3x forward (backward is twice the forward); validation forward only
        "seconds": [t * len(data.x_train) / s["n"] for t in result.epoch_seconds[1:]],
        "flops": forward_flops(model) * (3 * s["trained"] + s["validated"]),
        "timed": f"{min(batches, s['full'])} of {s['full']} batches",
    }


@functools.lru_cache(maxsize=1)
def _bare_arrays(dataset: str, flatten: bool) -> tuple[np.ndarray, ...]:
    with np.load(Path(os.environ[DATA_ENV]) / f"{dataset}.npz") as npz:
        x, y, x_test, y_test = (npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))

    def images(x: np.ndarray) -> np.ndarray:
        x = x.astype("float32") / 255
        return x.reshape(len(x), -1) if flatten else x.reshape(*x.shape[:3], -1)

    def one_hot(y: np.ndarray) -> np.ndarray:
        return np.eye(10, dtype="float32")[y.reshape(-1)]

    return images(x), one_hot(y), images(x_test), one_hot(y_test)


def bare_epoch(exercise: str, batches: int, epochs: int, number_format: str) -> list[float]:
    """Seconds per full epoch of a bare Keras script (of each epoch after the first): same model,
    data, batch size and optimizer; in ``number_format`` (a ``precision.PRECISIONS``)."""
    import keras

    from imagelab.models import KERAS2_DEFAULTS

    p = notebook_defaults(exercise) | {"precision": number_format}
    keras.utils.set_random_seed(p["seed"])
    x, y, x_test, y_test = _bare_arrays(EXERCISES[exercise].dataset, exercise in FLAT)
    s = _slice(len(x), len(x_test), p, batches)
    settings = KERAS2_DEFAULTS[p["optimizer"]] | (
        {"learning_rate": p["learning_rate"]} if p["learning_rate"] else {})  # fmt: skip
    if p["decay"]:
        settings["learning_rate"] = keras.optimizers.schedules.InverseTimeDecay(
            settings["learning_rate"], decay_steps=1, decay_rate=p["decay"]
        )
    # A plain keras.Sequential; in bfloat16 what a bare script writes: set_global_policy(
    # "mixed_bfloat16") and the softmax layer with dtype="float32".
    model = _build(exercise, p)
    model.compile(
        loss="categorical_crossentropy", metrics=["accuracy"],
        optimizer=keras.optimizers.get({"class_name": p["optimizer"], "config": settings}),
    )  # fmt: skip
    validation = ({"validation_data": (x_test[: s["n_test"]], y_test[: s["n_test"]])}
                  if p.get("validate_on_test") else {"validation_split": p["validation_split"]})  # fmt: skip
    marks = []  # the bare script's only addition: the clock at each epoch's start and end
    clock = keras.callbacks.LambdaCallback(on_epoch_begin=lambda *_: marks.append(time.perf_counter()),
                                           on_epoch_end=lambda *_: marks.append(time.perf_counter()))  # fmt: skip
    model.fit(x[: s["n"]], y[: s["n"]], batch_size=p["batch_size"], epochs=epochs,
              shuffle=p["shuffle"], verbose=0, callbacks=[clock], **validation)  # fmt: skip
    starts, ends = marks[2::2], marks[3::2]  # of every epoch after the first
    return [(end - start) * len(x) / s["n"] for start, end in zip(starts, ends, strict=True)]


def forward_flops(model: object) -> float:
    """Forward FLOPs per sample: 2 x the multiply-adds of the Dense and Conv2D layers."""
    import keras

    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            macs += math.prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Conv2D):
            macs += math.prod(layer.output.shape[1:]) * math.prod(layer.kernel.shape[:3])
    return 2.0 * macs


def matmul_gflops(size: int) -> float:
    """Best of three fp32 ``tf.matmul`` of two size x size matrices, in GFLOP/s."""
    import tensorflow as tf

    a, b = tf.random.normal((size, size)), tf.random.normal((size, size))
    tf.matmul(a, b).numpy()  # warm-up
    seconds = min(timeit.repeat(lambda: tf.matmul(a, b).numpy(), number=1, repeat=3))
    return 2 * size**3 / seconds / 1e9


def reset_peak() -> None:
    """Start a new peak-resident-memory window (Linux: clear_refs 5 resets VmHWM)."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")


def peak_mib() -> float:
    """Peak resident memory since ``reset_peak``, in MiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def _serve(conn: object, data_dir: str) -> None:
    """Worker loop: call the named function of this module with the arguments received."""
    os.environ[DATA_ENV] = data_dir
    quiet_tensorflow()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # each repeat builds a new model: retracing is expected
    while (job := conn.recv()) is not None:
        name, args = job
        conn.send(globals()[name](*args))


def _notebook_cells(notebook: str, params: dict, data_dir: str) -> None:
    """The notebook's code cells run in this (fresh) process, parameters injected as papermill
    would: the in-process counterpart of one papermill run."""
    import nbformat

    os.environ[DATA_ENV], os.environ["MPLBACKEND"] = data_dir, "Agg"
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                exec(cell.source, namespace)
                if "parameters" in cell.metadata.get("tags", []):
                    namespace.update(params)


# --- in the main process -------------------------------------------------------------------


class Worker:
    """A process of its own that runs this module's functions on request."""

    def __init__(self, data_dir: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, data_dir), daemon=True)
        self.process.start()

    def __call__(self, name: str, *args: object) -> object:
        self.conn.send((name, args))
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(None)
        self.process.join()


def peak_alone(data_dir: str, exercise: str, batches: int, paths: dict, repeats: int) -> dict:
    """Each path's peak resident memory in MiB, the highest of ``repeats``: each repeat trains
    ``PEAK_EPOCHS`` epochs of the slice in a worker of its own, started for it."""
    rss = dict.fromkeys(paths, 0.0)
    for repeat in range(repeats):
        for path in list(paths)[:: 1 if repeat % 2 == 0 else -1]:
            code, number_format = paths[path]
            worker = Worker(data_dir)
            worker("reset_peak")  # from here: TensorFlow imported, nothing loaded
            worker(f"{code}_epoch", exercise, batches, PEAK_EPOCHS, number_format)
            rss[path] = max(rss[path], worker("peak_mib"))
            worker.close()
    return rss


def bf16_exercises(batches: dict[str, int]) -> tuple[str, ...]:
    """The ``BF16`` exercises of ``batches``, or none (and one line why) where the CPU can't."""
    if reason := precision.unsupported():
        print(f"bfloat16 paths skipped: {reason}", flush=True)
        return ()
    return tuple(exercise for exercise in batches if exercise in BF16)


def time_models(data_dir: str, batches: dict[str, int], repeats: int, epochs: int, size: int,
                bf16: tuple[str, ...] = ()) -> tuple[list[tuple], list[tuple]]:  # fmt: skip
    """Seconds per epoch of each path (``bf16`` exercises in bfloat16 too), GFLOP/s, % of matmul
    and peak memory per model; and every timed epoch (exercise, path, repeat, epoch, seconds)."""
    workers = {"imagelab": Worker(data_dir), "bare": Worker(data_dir)}
    rows, timed, peak = [], [], 0.0
    for exercise, n in batches.items():
        peak = max(peak, workers["bare"]("matmul_gflops", size))
        formats = precision.PRECISIONS if exercise in bf16 else (precision.FLOAT32,)
        # imagelab, bare, imagelab_bf16, bare_bf16: each path is a worker and a number format
        paths = {f"{code}{precision.SUFFIX[f]}": (code, f) for f in formats for code in workers}
        best = dict.fromkeys(paths, math.inf)
        for repeat in range(repeats):
            for path in list(paths)[:: 1 if repeat % 2 == 0 else -1]:  # alternate who goes first
                code, number_format = paths[path]
                measured = workers[code](f"{code}_epoch", exercise, n, epochs, number_format)
                seconds = measured if code == "bare" else measured["seconds"]
                if code == "imagelab":  # the same in either number format
                    flops, sliced = measured["flops"], measured["timed"]
                best[path] = min(best[path], *seconds)
                timed += [(exercise, path, repeat, epoch, t) for epoch, t in enumerate(seconds, 2)]
        how = (f"s per epoch (min of N={repeats * (epochs - 1)}: {repeats} repeats x {epochs - 1} "
               f"epochs; {sliced} each, scaled)")  # fmt: skip
        gflops = flops / best["imagelab"] / 1e9
        rows += [(f"{exercise}/imagelab_epoch", best["imagelab"], how),
                 (f"{exercise}/bare_epoch", best["bare"], how),
                 (f"{exercise}/ratio", best["imagelab"] / best["bare"], "imagelab / bare"),
                 (f"{exercise}/gflops", gflops, "GFLOP/s (imagelab; training 3x forward)")]  # fmt: skip
        if exercise in bf16:
            bf16_how = how.replace("s per epoch", f"s per epoch in {precision.BFLOAT16}", 1)
            rows += [(f"{exercise}/imagelab_bf16_epoch", best["imagelab_bf16"], bf16_how),
                     (f"{exercise}/bare_bf16_epoch", best["bare_bf16"], bf16_how),
                     (f"{exercise}/bf16_ratio", best["imagelab_bf16"] / best["imagelab"],
                      f"imagelab {precision.BFLOAT16} / imagelab float32"),
                     (f"{exercise}/bare_bf16_ratio", best["bare_bf16"] / best["bare"],
                      f"bare {precision.BFLOAT16} / bare float32")]  # fmt: skip
        rss = peak_alone(data_dir, exercise, n, paths, apart := min(repeats, PEAK_REPEATS))
        rows += [(f"{exercise}/{path}_peak_rss", mib,
                  f"MiB peak RSS (each path alone in a fresh process, highest of {apart}: full data "
                  f"loaded, {PEAK_EPOCHS} epochs of the slice trained)") for path, mib in rss.items()]  # fmt: skip
        print(f"{exercise}, s per epoch:", *(f"{p} {t:.2f}" for p, t in best.items()), flush=True)
    for worker in workers.values():
        worker.close()
    matmul = ("matmul_fp32", peak, f"GFLOP/s ({size}x{size} tf.matmul, best of {len(batches)}x3)")
    rows = [matmul, *rows]
    shares = analysis.matmul_shares(pd.Series({name: v for name, v, _ in rows}), list(batches))
    rows += [(f"{name}/matmul_pct", share, "% of the run's best matmul GFLOP/s")
             for name, share in zip(batches, shares, strict=True)]  # fmt: skip
    return rows, timed


def time_papermill(repeats: int) -> list[tuple]:
    """One tiny run of notebook 01 through papermill against its cells in a fresh process."""
    from imagelab.running.runs import execute

    notebook = EXERCISES["dense_mnist"].notebook_path
    os.environ[DATA_ENV] = str(FIXTURES)  # inherited by the kernel
    context = multiprocessing.get_context("spawn")
    best = {"papermill": math.inf, "in_process": math.inf}
    with tempfile.TemporaryDirectory() as tmp:
        params = PAPERMILL_PARAMS | {"results_dir": tmp}
        for repeat in range(repeats):
            for how in list(best)[:: 1 if repeat % 2 == 0 else -1]:
                began = time.perf_counter()
                if how == "papermill":
                    execute(notebook, Path(tmp) / "executed.ipynb", params)
                else:
                    process = context.Process(target=_notebook_cells,
                                              args=(str(notebook), params, str(FIXTURES)))  # fmt: skip
                    process.start()
                    process.join()
                    assert process.exitcode == 0, "the notebook's cells failed in-process"
                best[how] = min(best[how], time.perf_counter() - began)
    unit = f"s per notebook (min of N={repeats}; 01_dense_mnist, fixtures, 1 epoch)"
    return [("papermill/notebook", best["papermill"], unit),
            ("papermill/in_process", best["in_process"], unit + ", fresh process"),
            ("papermill/overhead", best["papermill"] - best["in_process"], "s per notebook")]  # fmt: skip


def last_real_run() -> list[tuple]:
    """``make lab`` and ``make report`` wall times read from the last real run (never rerun)."""
    rows, commits = [], None  # the log's rows carry the canonical runs' commits too
    runs = [r.provenance for e in EXERCISES if (r := load_run(e)) is not None]  # fmt: skip
    if runs:
        commits = ",".join(sorted({str(r["git"]["commit"])[:10] for r in runs}))
        rows.append(("make_lab/wall_seconds_sum", sum(r["wall_seconds"] for r in runs),
                     f"s, last real run: sum of wall_seconds of {len(runs)}/{len(EXERCISES)} "
                     "canonical runs' provenance", commits))  # fmt: skip
    log = ROOT / "lab.log"
    text = log.read_text(errors="replace") if log.is_file() else ""
    for name, pattern in (("make_lab/log", r"== lab done in (\d+)s"),
                          ("make_report/log", r"== report: .* in (\d+)s")):  # fmt: skip
        if found := re.findall(pattern, text):
            rows.append((name, float(found[-1]), "s, last real run (lab.log)", commits))
    return rows


def main(argv: list[str] | None = None) -> Path:
    """Run the benchmark; write results.csv, epochs.csv (every timed epoch) and results.png to
    ``--out``; return the path of results.csv."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="fixture data, 2 models, N=1")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    if args.smoke:
        data_dir, batches, repeats, epochs, size = str(FIXTURES), SMOKE_BATCHES, 1, 2, 256
    else:
        data_dir = str(find_data_dir() or sys.exit(f"set {DATA_ENV} to the full data"))
        batches, repeats, epochs, size = BATCHES, REPEATS, EPOCHS, MATMUL_SIZE
    with ThreadPoolExecutor() as pool:  # smoke: overlap the two parts, its timings mean nothing
        papermill = pool.submit(time_papermill, repeats) if args.smoke else None
        rows, timed = time_models(data_dir, batches, repeats, epochs, size, bf16_exercises(batches))
        rows += papermill.result() if papermill else time_papermill(repeats)
    git = records.git_state()
    commit = f"{str(git['commit'])[:10]}{'-dirty' if git['dirty'] else ''}"
    table = pd.DataFrame([(*row, commit) for row in rows] + last_real_run(),
                         columns=["name", "value", "unit", "commit"])  # fmt: skip
    table["commit"] = table["commit"].fillna(commit)
    table.insert(3, "machine", f"{machine()['cpu']}, {os.cpu_count()} cores, {platform.machine()}")
    table.insert(4, "date", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    table = table[["name", "value", "unit", "machine", "date", "commit"]]
    path = records.write_csv(table, args.out / "results.csv")
    epochs_table = pd.DataFrame(timed, columns=["exercise", "path", "repeat", "epoch", "seconds"])
    records.write_csv(epochs_table.assign(commit=commit), args.out / "epochs.csv")
    from imagelab import plots

    plots.save(plots.benchmarks(table), args.out / "results.png")
    print(table[["name", "value", "unit"]].to_string(index=False))
    print(f"wrote {path}, epochs.csv and results.png in {time.perf_counter() - began:.0f} s")
    return path


if __name__ == "__main__":
    main()

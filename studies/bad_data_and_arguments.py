"""Bad-input cases (issue 17 and after): the data folder and imports, damaged run files, a
misspelt papermill parameter, sweep files and command-line arguments.

A ``CASES`` list of ``bad_input_kit.Case``; ``studies/bad_inputs.py`` runs them with the others.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bad_input_kit import Case, Layout, arrays_in, cut, data_copy, sweep_file

# --- what the cases of this module plant --------------------------------------------------


def _idx_files(folder: Path, arrays: dict[str, np.ndarray], limit: int | None = None) -> Path:
    """The four MNIST IDX files of these arrays (the first ``limit`` images of each split)."""
    files = {
        "x_train": ("train-images-idx3-ubyte", 2051),
        "y_train": ("train-labels-idx1-ubyte", 2049),
        "x_test": ("t10k-images-idx3-ubyte", 2051),
        "y_test": ("t10k-labels-idx1-ubyte", 2049),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, (stem, magic) in files.items():
        array = arrays[key][:limit].reshape(len(arrays[key][:limit]), *arrays[key].shape[1:])
        if key.startswith("y"):
            array = array.reshape(-1)
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
        (folder / stem).write_bytes(header + array.astype(np.uint8).tobytes())
    return folder


def _tarball(path: Path, batch: Callable[[int], object], truncate: bool = False) -> Path:
    """A cifar-10-python.tar.gz whose six batches are ``batch(i)``, pickled."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for i, member in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
            blob = pickle.dumps(batch(i))
            info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    blob = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob[: len(blob) // 2] if truncate else blob)
    return path


class _Hostile:
    """Pickles to a call of os.system: what a malicious archive would carry."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return (os.system, (self.command,))


def _flip_pixel(arrays: dict) -> dict:
    arrays = {key: value.copy() for key, value in arrays.items()}
    arrays["x_test"][3, 10, 10] ^= 0xFF
    return arrays


def _corrupt_npz(layout: Layout) -> dict:
    env = data_copy(layout, "corrupt")
    (layout.work / "corrupt" / "mnist.npz").write_bytes(b"not an npz archive at all\n" * 40)
    return env


def _truncated_npz(layout: Layout) -> dict:
    env = data_copy(layout, "truncated")
    shutil.copy(layout.data / "mnist.npz", layout.work / "truncated")
    cut(layout.work / "truncated" / "mnist.npz")
    return env


def _damaged_manifest(layout: Layout) -> dict:
    # Imported data that is not the verified copy (one pixel changed), so only its manifest can
    # vouch for it (the verified copy needs none); the manifest is cut short.
    env = data_copy(layout, "manifest", _flip_pixel)
    (layout.work / "manifest" / "checksums.json").write_text('{"mnist": {"x_tr')
    return env


def _truncated_idx(layout: Layout) -> None:
    folder = _idx_files(layout.work / "idx", arrays_in(layout.data), limit=100)
    cut(folder / "train-images-idx3-ubyte")


def _random_batch(i: int) -> dict:
    rng = np.random.default_rng(i)
    return {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [1, 2, 3, 4]}


CIFAR = "cifar-10-python.tar.gz"
# The fix named: `git checkout -- FILE` in a clone, retraining in a copy outside git (as here).
DAMAGED_HISTORY = (
    r"relu_mnist: results damaged \(histories/relu_mnist\.csv .*(git checkout|imagelab lab)"
)
PM = "papermill notebooks/01_dense_mnist.ipynb $WORK/out.ipynb"
SAFE = "-p run_name try1 -p data_limit 64"  # should a refusal fail, the run is tiny

CASES = [
    # --- the seven of issue 17 -------------------------------------------------------------
    Case(
        "import-over-verified-data",
        "17.1",
        "imagelab data import $WORK/idx",
        r"already holds mnist\.npz.*--force",
        setup=lambda lay: _idx_files(lay.work / "idx", arrays_in(lay.data), limit=1000),
    ),
    Case(
        "history-cut-mid-file",
        "17.2",
        "imagelab report",
        DAMAGED_HISTORY,
        setup=lambda lay: cut(lay.project / "histories" / "relu_mnist.csv"),
        needs="store",
    ),
    Case(
        "history-cut-to-15-bytes",
        "17.2",
        "imagelab report",
        DAMAGED_HISTORY,
        setup=lambda lay: cut(lay.project / "histories" / "relu_mnist.csv", 15),
        needs="store",
    ),
    Case(
        "misspelt-papermill-parameter",
        "17.3",
        f"{PM} {SAFE} -p epoch 2",
        r"epoch.*did you mean 'epochs'",
        status=1,
        kernel=True,
        needs="store",
    ),
    Case(
        "missing-result",
        "17.4",
        "imagelab report",
        r"cnn_mnist.*missing.*make lab",
        setup=lambda lay: (lay.project / "scores" / "cnn_mnist.csv").unlink(),
        needs="store",
    ),
    Case(
        "genuine-mnist-imported-offline",
        "17.5",
        "imagelab data import $WORK/idx --out $WORK/imported",
        r"mnist: imported from MNIST IDX files; identical to the verified copy",
        status=0,
        setup=lambda lay: _idx_files(lay.work / "idx", arrays_in(lay.data)),
        needs="canonical",
    ),
    Case(
        "negative-epochs-under-papermill",
        "17.6",
        f"{PM} -p epochs -1",
        r"^UserError: epochs must be an integer >= 1; got -1",
        status=1,
        kernel=True,
    ),
    Case(
        "ctrl-c",
        "17.7",
        "imagelab sweep $WORK/bad.yaml --executor dask --scheduler tcp://127.0.0.1:9",
        r"^imagelab: stopped by Ctrl-C \(SIGINT\); finished runs are kept",
        status=130,
        setup=lambda lay: sweep_file(lay, {"grid": {"units": [16]}}),
        interrupt_after=2.0,
    ),
    # --- parameters and run names ----------------------------------------------------------
    Case(
        "unknown-exercise",
        "",
        "imagelab lab dense_mnsit",
        r"exercise must be one of .*; got 'dense_mnsit' \(did you mean 'dense_mnist'\?\)",
    ),
    Case(
        "unknown-optimizer",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"parameters\.optimizer: optimizer must be one of .*; got 'adagrad'",
        setup=lambda lay: sweep_file(
            lay, {"parameters": {"optimizer": "adagrad"}, "grid": {"units": [16]}}
        ),
    ),
    Case(
        "fractional-epochs",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"parameters\.epochs: epochs must be an integer >= 1; got 2\.5",
        setup=lambda lay: sweep_file(lay, {"parameters": {"epochs": 2.5}, "grid": {"units": [16]}}),
    ),
    Case(
        "seed-as-text-under-papermill",
        "",
        f"{PM} {SAFE} -p seed '\"x\"'",
        r"^UserError: seed must be an integer in \[0, 4294967295\]; got",
        status=1,
        kernel=True,
    ),
    Case(
        "run-name-with-a-path",
        "",
        f"{PM} -p run_name ../x",
        r"^UserError: run_name must be a plain slug .*got '\.\./x'",
        status=1,
        kernel=True,
        absent=("$PROJECT/x.csv", "$PROJECT/histories/../x.csv"),
    ),
    Case(
        "run-name-with-capitals",
        "",
        f"{PM} -p run_name Relu",
        r"^UserError: run_name must be a plain slug .*got 'Relu', for example 'relu'",
        status=1,
        kernel=True,
    ),
    Case(
        "canonical-name-with-changed-settings",
        "",
        "papermill notebooks/02_relu_mnist.ipynb $WORK/out.ipynb -p epochs 2",
        r"^UserError: run_name 'relu_mnist' is reserved .*run_name='relu_mnist_epochs2'",
        status=1,
        kernel=True,
        needs="store",
    ),
    # --- data ------------------------------------------------------------------------------
    Case(
        "missing-data-file",
        "",
        "imagelab data info",
        r"mnist data at .*mnist\.npz: file not found",
        status=1,
        setup=lambda lay: data_copy(lay, "empty"),
    ),
    Case(
        "missing-data-folder",
        "",
        "imagelab data info",
        r"the folder IMAGELAB_DATA names does not exist",
        status=1,
        env={"IMAGELAB_DATA": "$WORK/nowhere"},
    ),
    Case(
        "corrupt-npz",
        "17.6",
        "imagelab data info",
        r"mnist\.npz: cannot be read as \.npz: it is not an npz archive.*--force",
        status=1,
        setup=_corrupt_npz,
    ),
    Case(
        "truncated-npz",
        "",
        "imagelab data info",
        r"mnist\.npz: cannot be read as \.npz.*Restore the file",
        status=1,
        setup=_truncated_npz,
    ),
    Case(
        "wrong-shape-arrays",
        "",
        "imagelab data info",
        r"x_train images have shape \(14, 56\), expected \(28, 28\)",
        status=1,
        setup=lambda lay: data_copy(
            lay, "shape", lambda a: a | {"x_train": a["x_train"].reshape(-1, 14, 56)}
        ),
    ),
    Case(
        "checksum-mismatch",
        "",
        "imagelab data info",
        r"content check failed for x_test \(sha256 differs from",
        status=1,
        setup=lambda lay: data_copy(lay, "flipped", _flip_pixel),
    ),
    Case(
        "damaged-import-manifest",
        "",
        "imagelab data info",
        r"import manifest is damaged",
        status=1,
        setup=_damaged_manifest,
    ),
    # --- data import -----------------------------------------------------------------------
    Case(
        "import-from-an-empty-folder",
        "",
        "imagelab data import $WORK/empty",
        r"found neither the four MNIST IDX files",
        setup=lambda lay: (lay.work / "empty").mkdir(),
    ),
    Case(
        "import-of-a-truncated-idx-file",
        "",
        "imagelab data import $WORK/idx --out $WORK/new",
        r"train-images-idx3-ubyte: header announces 100 items .* truncated",
        setup=_truncated_idx,
        absent=("$WORK/new",),
    ),
    Case(
        "import-of-a-truncated-cifar-archive",
        "",
        "imagelab data import $WORK/cifar-10-python.tar.gz --out $WORK/new",
        r"archive is truncated or damaged",
        setup=lambda lay: _tarball(lay.work / CIFAR, _random_batch, truncate=True),
        absent=("$WORK/new",),
    ),
    Case(
        "hostile-pickle-in-a-cifar-archive",
        "",
        "imagelab data import $WORK/cifar-10-python.tar.gz --out $WORK/new",
        r"not plain data \(refusing to load (posix|os)\.system\)",
        setup=lambda lay: _tarball(
            lay.work / CIFAR, lambda i: {b"data": _Hostile(f"touch {lay.work}/pwned")}
        ),
        absent=("$WORK/new", "$WORK/pwned"),
    ),
    # --- sweep files and the command line --------------------------------------------------
    Case(
        "sweep-file-with-an-unknown-key",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"grdi: unknown key",
        setup=lambda lay: sweep_file(lay, {"grid": {"units": [16]}, "grdi": {}}),
    ),
    Case(
        "sweep-file-with-an-unknown-parameter",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"grid\.dropuot: .*did you mean 'dropout'",
        setup=lambda lay: sweep_file(
            lay, {"notebook": "notebooks/03_cnn_mnist.ipynb", "grid": {"dropuot": [0.5]}}
        ),
    ),
    Case(
        "sweep-file-with-an-empty-grid",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"grid: must be a mapping of at least one parameter",
        setup=lambda lay: sweep_file(lay, {"grid": {}}),
    ),
    Case(
        "sweep-file-missing",
        "",
        "imagelab sweep sweeps/relu_seed.yaml",
        r"sweep file sweeps/relu_seed\.yaml does not exist",
    ),
    Case(
        "unknown-subcommand",
        "",
        "imagelab trian",
        r"invalid choice: 'trian'",
    ),
    Case(
        "jobs-0",
        "",
        "imagelab sweep sweeps/relu_seeds.yaml --jobs 0",
        r"argument --jobs: must be an integer >= 1; got '0'",
    ),
    Case(
        "scheduler-without-dask",
        "",
        "imagelab sweep sweeps/relu_seeds.yaml --scheduler tcp://127.0.0.1:8786",
        r"^imagelab: error: --scheduler needs --executor dask",
    ),
    Case(
        "unknown-executor",
        "",
        "imagelab sweep sweeps/relu_seeds.yaml --executor slurm",
        r"argument --executor: invalid choice: 'slurm'",
    ),
    Case(
        "unreachable-scheduler",
        "27",
        "imagelab sweep $WORK/bad.yaml --executor dask --scheduler tcp://127.0.0.1:9 --connect-timeout 2",
        r"no Dask scheduler answered at tcp://127\.0\.0\.1:9 within 2 s .*dask scheduler --port 9.*stay pending",
        setup=lambda lay: sweep_file(lay, {"grid": {"units": [16]}}),
    ),
]

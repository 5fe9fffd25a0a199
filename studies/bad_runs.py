"""Bad-input cases: what a run is given (issue 26): parameters, provenance, data that is not
canonical, a run that diverges.

A ``CASES`` list of ``bad_input_kit.Case``; ``studies/bad_inputs.py`` runs them with the others.
The papermill cases start a kernel (the slow tier); the provenance cases run ``imagelab`` in a
copy of the project (``needs="store"``), where it reads the copy's files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import numpy as np
from bad_input_kit import Case, Layout, sweep_file

PM = "papermill notebooks/01_dense_mnist.ipynb $WORK/out.ipynb"
SAFE = "-p run_name try1 -p data_limit 64"  # should a refusal fail, the run is tiny
REPORT = "imagelab report"
DRY_RUN = "imagelab lab --dry-run"  # exits 2 on a damaged result with issue 26 part A (i26a)
# try1 is no canonical name: its files would go to runs/ (imagelab.results.outputs.results_dir_for).
NO_TRY1 = tuple(
    f"$PROJECT/{folder}{path}"
    for folder in ("", "runs/")
    for path in ("scores/try1.json", "scores/try1.csv", "histories/try1.csv")
)

# --- what the cases of this module plant --------------------------------------------------


def _made_up_data_named_keras_datasets(layout: Layout) -> dict:
    """Issue 26.1: 100 random images in a folder called ``keras.datasets`` (a relative path, in
    the project), with the manifest an import writes, which vouches that they are intact."""
    folder = layout.project / "keras.datasets"
    folder.mkdir()
    rng = np.random.default_rng(26)
    arrays = {
        "x_train": rng.integers(0, 256, (100, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 100, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (100, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 100, dtype=np.uint8),
    }
    np.savez(folder / "mnist.npz", **arrays)
    checksums = {key: hashlib.sha256(value.tobytes()).hexdigest() for key, value in arrays.items()}
    entry = {"description": "imported from MNIST IDX files; not the verified copy"} | checksums
    (folder / "checksums.json").write_text(json.dumps({"mnist": entry}))
    return {"IMAGELAB_DATA": "keras.datasets"}


DELETE = object()  # a value for ``_provenance``: remove the key


def _provenance(run: str, key: str, value: object) -> Callable[[Layout], None]:
    """Set (or, with ``DELETE``, remove) one dotted key of the copy's ``scores/<run>.json``."""

    def plant(layout: Layout) -> None:
        path = layout.project / "scores" / f"{run}.json"
        provenance = json.loads(path.read_text())
        *parents, last = key.split(".")
        holder = provenance
        for parent in parents:
            holder = holder[parent]
        if value is DELETE:
            del holder[last]
        else:
            holder[last] = value
        path.write_text(json.dumps(provenance, indent=2) + "\n")

    return plant


def _history_acc(value: str) -> Callable[[Layout], None]:
    """Issue 26.4: relu_mnist's training accuracy at epoch 3 set to ``value``."""

    def plant(layout: Layout) -> None:
        path = layout.project / "histories" / "relu_mnist.csv"
        lines = path.read_text().splitlines(keepends=True)
        for number, line in enumerate(lines):
            if line.startswith("3,") and ",acc,training," in line:
                fields = line.split(",")
                lines[number] = ",".join([fields[0], value, *fields[2:]])
        path.write_text("".join(lines))

    return plant


def _a_file(layout: Layout) -> None:
    (layout.work / "results.txt").write_text("not a folder\n")


def _damaged(run: str, text: str) -> str:
    """The line ``imagelab report`` and ``lab --dry-run`` print for a damaged run: its name, the
    file and what is wrong (a regular expression)."""
    return rf"{run}: results damaged \(scores/{run}\.json {text}"


CASES: list[Case] = [
    # --- 26.1: canonical by content ----------------------------------------------------------
    Case(
        "made-up-data-in-a-folder-named-keras.datasets",
        "26.1",
        PM,
        r"^UserError: run_name 'dense_mnist' is reserved for runs on the full, verified data set, "
        r"and the data from keras\.datasets/mnist\.npz is not that copy \(x_train's sha256",
        status=1,
        setup=_made_up_data_named_keras_datasets,
        kernel=True,
        needs="store",
    ),
    Case(
        "canonical-run-claiming-other-data",
        "26.1",
        REPORT,
        _damaged("dense_mnist", r"holds the canonical run 'dense_mnist', but its data is not the")
        + r" verified copy \(n_train is 100",
        setup=_provenance("dense_mnist", "data.n_train", 100),
        needs="store",
    ),
    # --- 26.3: provenance by schema ----------------------------------------------------------
    Case(
        "fingerprint-garbage-report",
        "26.3",
        REPORT,
        _damaged("relu_mnist", r"holds fingerprint = 'garbage', which must be null or an object"),
        setup=_provenance("relu_mnist", "fingerprint", "garbage"),
        needs="store",
    ),
    Case(
        "fingerprint-garbage-dry-run",
        "26.3",
        DRY_RUN,
        _damaged("relu_mnist", r"holds fingerprint = 'garbage'"),
        setup=_provenance("relu_mnist", "fingerprint", "garbage"),
        needs="store",
    ),
    Case(
        "data-not-an-object",
        "26.3",
        REPORT,
        _damaged("cnn_mnist", r"holds data = 'x', which must be an object"),
        setup=_provenance("cnn_mnist", "data", "x"),
        needs="store",
    ),
    Case(
        "score-loss-as-text",
        "26.3",
        REPORT,
        _damaged("relu_mnist", r"holds score\.loss = 'abc', which must be a finite loss >= 0"),
        setup=_provenance("relu_mnist", "score.loss", "abc"),
        needs="store",
    ),
    Case(
        "train-seconds-as-text",
        "26.3",
        REPORT,
        _damaged("cnn_mnist", r"holds train_seconds = '186', which must be a finite number"),
        setup=_provenance("cnn_mnist", "train_seconds", "186"),
        needs="store",
    ),
    Case(
        "git-as-text",
        "26.3",
        REPORT,
        _damaged("dense_mnist", r"holds git = 'a240a2e', which must be an object"),
        setup=_provenance("dense_mnist", "git", "a240a2e"),
        needs="store",
    ),
    Case(
        "canonical-run-without-its-machine",
        "",
        REPORT,
        _damaged("cnn_mnist", r"lacks the key machine"),
        setup=_provenance("cnn_mnist", "machine", DELETE),
        needs="store",
    ),
    Case(
        "epochs-twelve",
        "26.3",
        REPORT,
        _damaged("dense_mnist", r"holds parameters\.epochs = 'twelve': epochs must be an integer"),
        setup=_provenance("dense_mnist", "parameters.epochs", "twelve"),
        needs="store",
    ),
    # --- 26.4: history ranges ----------------------------------------------------------------
    Case(
        "training-accuracy-5",
        "26.4",
        REPORT,
        r"relu_mnist: results damaged \(histories/relu_mnist\.csv has acc 5\.0 on line \d+, "
        r"not an accuracy in \[0, 1\]",
        setup=_history_acc("5.0"),
        needs="store",
    ),
    # --- 26.5: divergence --------------------------------------------------------------------
    Case(
        "learning-rate-1e30-diverges",
        "26.5",
        f"{PM} {SAFE} -p epochs 2 -p learning_rate 1e30",
        r"^Diverged: try1 diverged: its \w+ loss became (nan|inf) at epoch 1 of 2, where training "
        r"stopped, so nothing was stored under its name\. .*smaller learning_rate",
        status=1,
        kernel=True,
        absent=NO_TRY1,
    ),
    # --- 26.6: refused before training -------------------------------------------------------
    Case(
        "seed-beyond-32-bits-under-papermill",
        "26.6",
        f"{PM} {SAFE} -p seed 4294967296",
        r"^UserError: seed must be an integer in \[0, 4294967295\]; got 4294967296",
        status=1,
        kernel=True,
    ),
    Case(
        "seed-beyond-32-bits-in-a-sweep",
        "26.6",
        "imagelab sweep $WORK/bad.yaml",
        r"seeds\[1\]: seed must be an integer in \[0, 4294967295\]; got 4294967296",
        setup=lambda lay: sweep_file(lay, {"grid": {"units": [16]}, "seeds": [1, 2**32]}),
    ),
    Case(
        "data-limit-1",
        "26.6",
        f"{PM} -p run_name try1 -p data_limit 1",
        r"^UserError: data_limit must be None or at least 2 with validation_split 0\.2, which "
        r"leaves one training image and one validation image; got 1",
        status=1,
        kernel=True,
        absent=NO_TRY1,
    ),
    Case(
        "results-dir-a-file",
        "26.6",
        f"{PM} {SAFE} -p results_dir $WORK/results.txt",
        r"^UserError: results_dir must be a folder this user can write in \(or create\); got "
        r"'.*results\.txt': it names a file",
        status=1,
        setup=_a_file,
        kernel=True,
    ),
]

"""Load, verify and preprocess the lab's two data sets (MNIST and CIFAR-10).

Where the data comes from, in order:

1. a local folder named by the environment variable ``IMAGELAB_DATA`` holding ``mnist.npz``
   and ``cifar10.npz`` in the layout of ``keras.datasets`` (``x_train``, ``y_train``,
   ``x_test``, ``y_test``, all uint8);
2. otherwise the project's own default folder, ``[tool.imagelab] data`` in ``pyproject.toml``
   (relative to the project), when that folder exists;
3. otherwise ``keras.datasets``, which downloads, checks and caches the files itself
   (this needs internet access).

Every array is verified by the sha256 of its bytes: first against the copies we know (the
table below, from ``shared/datasets/SOURCES.md``); with their sizes, that alone makes data
canonical, wherever it came from (``canonical_differences``). Otherwise against the
``checksums.json`` manifest that ``imagelab data import`` wrote beside the files it made, which proves the file intact but not that it is the 2019 data, so runs
on it never take the canonical run names. A file that fails a check is refused with a message
naming the file, what was wrong and how to restore or provide the data. ``imagelab.data_import``
builds such a folder from the original distribution files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imagelab.errors import UserError

# The verified copies and the one test of canonical data, re-exported (imagelab.verified).
from imagelab.verified import ARRAYS, KNOWN_CHECKSUMS, KNOWN_SIZES, canonical_differences  # noqa: F401

DATA_ENV = "IMAGELAB_DATA"
MANIFEST = "checksums.json"

IMAGE_SHAPES = {"mnist": (28, 28), "cifar10": (32, 32, 3)}
CLASS_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "cifar10": [
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ],
}  # fmt: skip


class DataError(UserError):
    """A data file is missing, malformed or fails its checksum."""


@dataclass(frozen=True)
class Dataset:
    """The arrays of one data set, with where they came from.

    The images are the file's uint8 pixels, shaped for the model: ``training.fit`` divides each
    batch by 255 as it gathers it, so the float images never exist whole (issue 39).
    """

    name: str
    x_train: np.ndarray  # uint8 pixels
    y_train: np.ndarray  # one-hot, float32
    x_test: np.ndarray  # uint8 pixels
    y_test: np.ndarray
    class_names: list[str]
    source: str  # a file path, or "keras.datasets"
    checksums: dict[str, str]  # sha256 per raw array
    verified_against: str  # which checksum table vouched for the arrays

    @property
    def labels_test(self) -> np.ndarray:
        """Integer labels of the test set."""
        return self.y_test.argmax(axis=1)

    @property
    def sizes(self) -> dict[str, int]:  # images per split, as a run's provenance records them
        return {"n_train": len(self.x_train), "n_test": len(self.x_test)}


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's bytes (the content checksum of SOURCES.md, not of the npz file)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# This project's settings, in a source checkout: [tool.imagelab] data is the default data folder.
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def data_dir() -> Path | None:
    """The local data folder: IMAGELAB_DATA when set, else the project's default folder.

    The default lives in the project's pyproject.toml (``[tool.imagelab] data``), so papermill,
    JupyterLab and the ``imagelab`` command find the same data whether or not make exported
    the variable. None means there is no local folder: the data comes from keras.datasets.
    """
    value = os.environ.get(DATA_ENV)
    return Path(value).expanduser() if value else _default_data_dir(PYPROJECT)


def _default_data_dir(pyproject: Path) -> Path | None:
    """``[tool.imagelab] data`` of this project's pyproject.toml, resolved against the project
    folder, when it names a folder that exists (a fresh clone elsewhere falls back to
    keras.datasets); None without a pyproject.toml (an installed, not editable, package)."""
    try:
        config = tomllib.loads(pyproject.read_text())
    except FileNotFoundError:
        return None
    if config.get("project", {}).get("name") != "imagelab":
        return None
    value = config.get("tool", {}).get("imagelab", {}).get("data")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise DataError(
            f"[tool.imagelab] data in {pyproject} must name a folder (a path relative to the "
            f"project, or absolute); got {value!r}"
        )
    folder = (pyproject.parent / Path(value).expanduser()).resolve()
    return folder if folder.is_dir() else None


def _how_to_provide(name: str) -> str:
    download = (  # the advice to unset the variable only when it is set
        f"on a machine with internet, unset {DATA_ENV} to download through keras.datasets"
        if os.environ.get(DATA_ENV)
        else f"keras.datasets downloads it where there is internet ({DATA_ENV} is unset and "
        "the project's default folder, [tool.imagelab] data in pyproject.toml, is absent)"
    )
    return (
        f"Set {DATA_ENV} to a folder holding {name}.npz (for example {DATA_ENV}=../shared/"
        f"datasets), or build one from the original files with `imagelab data import PATH`; "
        f"{download}."
    )


def _how_to_restore(name: str) -> str:
    return (
        f"Restore the file: copy {name}.npz again from where it came from (the verified copies "
        f"are in ../shared/datasets; `git checkout` does not hold data files), or rebuild it from "
        f"the original files with `imagelab data import PATH --force`."
    )


def _fail(name: str, path: Path | str, problem: str, fix: str | None = None) -> DataError:
    return DataError(f"{name} data at {path}: {problem}. {fix or _how_to_provide(name)}")


def _read_npz(name: str, path: Path) -> dict[str, np.ndarray]:
    if not path.parent.is_dir():
        raise _fail(name, path, f"the folder {DATA_ENV} names does not exist")
    if not path.is_file():
        where = (
            f"{DATA_ENV}={os.environ[DATA_ENV]}"
            if os.environ.get(DATA_ENV)
            else "the project's default data folder, [tool.imagelab] data in pyproject.toml"
        )
        raise _fail(name, path, f"file not found ({where})")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in ARRAYS if key not in npz.files]
            if missing:
                raise _fail(name, path, f"arrays {missing} missing (found {npz.files})")
            return {key: npz[key] for key in ARRAYS}
    except DataError:
        raise
    except Exception as error:  # zip or npy format errors: the file is damaged
        # numpy's own message would suggest loading the file "unsafely using allow_pickle=":
        # never do that with a data file, so say what is wrong in our words instead.
        if not zipfile.is_zipfile(path):
            problem = "it is not an npz archive (truncated, damaged, or another kind of file)"
        elif "pickle" in str(error):
            problem = "it holds Python objects instead of plain uint8 arrays, which are not loaded"
        else:
            problem = f"the archive is damaged ({type(error).__name__})"
        raise _fail(
            name, path, f"cannot be read as .npz: {problem}", _how_to_restore(name)
        ) from None


def _read_keras(name: str) -> dict[str, np.ndarray]:
    from imagelab.quiet import quiet_tensorflow

    quiet_tensorflow()  # keras imports TensorFlow, whose start-up chatter says nothing here
    import keras

    loader = {"mnist": keras.datasets.mnist, "cifar10": keras.datasets.cifar10}[name]
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # no network, or a failed download
        raise _fail(name, "keras.datasets", f"download failed ({error})") from error
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _check_structure(name: str, where: Path | str, arrays: dict[str, np.ndarray]) -> None:
    fix = _how_to_restore(name)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise _fail(
                name, where, f"{split} arrays must be uint8, got {x.dtype} and {y.dtype}", fix
            )
        if x.shape[1:] != IMAGE_SHAPES[name]:
            raise _fail(
                name,
                where,
                f"x_{split} images have shape {x.shape[1:]}, expected {IMAGE_SHAPES[name]}",
                fix,
            )
        if len(y) != len(x) or y.reshape(len(y), -1).shape[1] != 1:
            raise _fail(name, where, f"y_{split} has shape {y.shape} for {len(x)} images", fix)
        if len(y) and y.max() > 9:
            raise _fail(name, where, f"y_{split} holds labels outside 0-9", fix)


BUILT_IN = "imagelab.data.KNOWN_CHECKSUMS (shared/datasets/SOURCES.md)"
KERAS_DOWNLOAD = "keras.datasets file hash (array hashes not in our table)"


def _manifest_entry(name: str, folder: Path) -> dict[str, str] | None:
    """This data set's entry in the folder's import manifest, if there is one."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return None
    try:
        entry = json.loads(manifest.read_text()).get(name)
    except (ValueError, AttributeError):  # not JSON, or not a JSON object
        raise _fail(
            name,
            manifest,
            "the import manifest is damaged (not a JSON object of checksums)",
            f"Delete it and rebuild the folder with `imagelab data import PATH --force`, or "
            f"point {DATA_ENV} at the verified copies (../shared/datasets).",
        ) from None
    return entry if isinstance(entry, dict) else None


def _vouched_by(name: str, source: str, checksums: dict[str, str], folder: Path | None) -> str:
    """Which checksum table vouches for these arrays, or a DataError when none does.

    The built-in table comes first: arrays identical to the verified copies are canonical
    wherever they came from, even with an import manifest beside them. Other arrays are checked
    against the folder's import manifest and are never canonical.
    """
    if all(checksums[key] == KNOWN_CHECKSUMS[name][key] for key in ARRAYS):
        return BUILT_IN
    if folder is None:  # keras verified its own download; an original we hold no array hashes for
        return KERAS_DOWNLOAD
    entry = _manifest_entry(name, folder)
    if entry:
        table = entry
        table_name = f"{folder / MANIFEST} ({entry.get('description', 'imported')})"
    else:
        table, table_name = KNOWN_CHECKSUMS[name], BUILT_IN
    wrong = [key for key in ARRAYS if checksums[key] != table.get(key)]
    if wrong:
        raise _fail(
            name,
            source,
            f"content check failed for {', '.join(wrong)} (sha256 differs from {table_name}); "
            "the file is corrupt or not the copy it claims to be",
            _how_to_restore(name),
        )
    return table_name


@functools.lru_cache(maxsize=4)
def load_raw(name: str, folder: str | None = None) -> tuple[dict[str, np.ndarray], str, dict, str]:
    """Read and verify the raw uint8 arrays once per process: (arrays, source, sha256s, table)."""
    if name not in IMAGE_SHAPES:
        raise UserError(f"data set must be one of {sorted(IMAGE_SHAPES)}; got {name!r}")
    if folder is not None:
        path = Path(folder) / f"{name}.npz"
        arrays, source = _read_npz(name, path), str(path)
    else:
        arrays, source = _read_keras(name), "keras.datasets"
    _check_structure(name, source, arrays)
    checksums = {key: array_sha256(arrays[key]) for key in ARRAYS}
    table_name = _vouched_by(name, source, checksums, Path(folder) if folder else None)
    for array in arrays.values():
        array.flags.writeable = False
    return arrays, source, checksums, table_name


def load(name: str, limit: int | None = None, flatten: bool = False) -> Dataset:
    """Load MNIST or CIFAR-10 with the 2019 preprocessing.

    Labels are one-hot encoded; MNIST images are either flattened to 784 values (exercise one)
    or kept as 28x28x1 (the CNNs). The pixels stay uint8, views of the verified arrays:
    ``training.pixels`` divides them by 255, batch by batch. ``limit`` keeps the first N
    training and test samples, for smoke runs.
    """
    folder = data_dir()
    arrays, source, checksums, table = load_raw(name, str(folder) if folder else None)
    n_train = len(arrays["x_train"])
    if limit is not None and not 1 <= limit <= n_train:
        raise ValueError(
            f"data_limit must be between 1 and the {n_train} training samples of {name}; "
            f"got {limit}"
        )

    def images(x: np.ndarray) -> np.ndarray:
        x = x[:limit]
        if name == "mnist":
            x = x.reshape(len(x), 784) if flatten else x.reshape(len(x), 28, 28, 1)
        return np.ascontiguousarray(x)

    def one_hot(y: np.ndarray) -> np.ndarray:
        return np.eye(10, dtype=np.float32)[y[:limit].reshape(-1)]

    return Dataset(
        name=name,
        x_train=images(arrays["x_train"]),
        y_train=one_hot(arrays["y_train"]),
        x_test=images(arrays["x_test"]),
        y_test=one_hot(arrays["y_test"]),
        class_names=CLASS_NAMES[name],
        source=source,
        checksums=checksums,
        verified_against=table,
    )


def load_mnist(limit: int | None = None, flatten: bool = False) -> Dataset:
    """MNIST, flattened to 784 pixels (dense exercises) or 28x28x1 images (CNN exercises)."""
    return load("mnist", limit=limit, flatten=flatten)


def load_cifar10(limit: int | None = None) -> Dataset:
    """CIFAR-10 as 32x32x3 images scaled to [0, 1]."""
    return load("cifar10", limit=limit)


def info() -> list[dict[str, str]]:
    """What each data set's source is and which checksum table vouches for it.

    ``status`` is ``verified`` for the canonical copies (the built-in checksums and sizes,
    ``canonical_differences``), ``imported`` for data that is intact (its import manifest, or
    keras.datasets' checked download, vouches for it) but not that copy, so runs on it are never
    canonical; ``problem`` otherwise.
    """
    folder = data_dir()
    rows = []
    for name in IMAGE_SHAPES:
        source = str(folder / f"{name}.npz") if folder else "keras.datasets"
        row = {"dataset": name, "source": source}
        try:
            arrays, source, checksums, table = load_raw(name, str(folder) if folder else None)
        except DataError as error:
            rows.append(row | {"status": "problem", "detail": str(error)})
            continue
        sizes = {"n_train": len(arrays["x_train"]), "n_test": len(arrays["x_test"])}
        canonical = not canonical_differences(name, checksums, sizes)
        row |= {
            "status": "verified" if canonical else "imported",
            "train": str(len(arrays["x_train"])),
            "test": str(len(arrays["x_test"])),
            "checked_against": table,
            "x_train_sha256": checksums["x_train"],
        }
        if not canonical:
            row["note"] = (
                f"vouched for by {table}, which proves the file intact, not that it is the "
                "2019 data: runs on it cannot take the canonical run names"
            )
        rows.append(row)
    return rows

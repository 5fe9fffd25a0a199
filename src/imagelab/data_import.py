"""Build a data folder from the original distribution files, offline.

``imagelab data import PATH`` reads the four MNIST IDX files (gzipped or not) and/or
``cifar-10-python.tar.gz``, checks their structure, and writes ``mnist.npz`` / ``cifar10.npz`` in
the layout of ``keras.datasets`` with a ``checksums.json`` manifest beside them. Arrays that
match the built-in checksums are the canonical data wherever they came from (``imagelab.data``
decides that when it loads them). Import never replaces data a folder already holds unless asked
to (``--force``), and writes all its files or none.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import os
import pickle
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

import numpy as np

from imagelab.data import (
    ARRAYS,
    BUILT_IN,
    DATA_ENV,
    KNOWN_CHECKSUMS,
    MANIFEST,
    DataError,
    _check_structure,
    _manifest_entry,
    array_sha256,
    load_raw,
)

IDX_FILES = {
    "x_train": ("train-images-idx3-ubyte", 2051),
    "y_train": ("train-labels-idx1-ubyte", 2049),
    "x_test": ("t10k-images-idx3-ubyte", 2051),
    "y_test": ("t10k-labels-idx1-ubyte", 2049),
}
CIFAR_TARBALL = "cifar-10-python.tar.gz"


class DataImportError(DataError):
    """A file offered to ``imagelab data import`` is truncated or not what it claims to be, or
    the target folder already holds data that the import would replace."""


def _find(folder: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")
    for candidate in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one MNIST IDX file (gzipped or not), refusing foreign or truncated files."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataImportError(
                f"{path}: gzip stream is damaged or truncated ({error})"
            ) from None
    ndim = 3 if magic == 2051 else 1
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataImportError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    found_magic = int.from_bytes(raw[:4], "big")
    if found_magic != magic:
        raise DataImportError(
            f"{path}: not an MNIST IDX {'image' if magic == 2051 else 'label'} file "
            f"(magic number {found_magic}, expected {magic})"
        )
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if ndim == 3 and dims[1:] != [28, 28]:
        raise DataImportError(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    expected = header_size + int(np.prod(dims))
    if len(raw) != expected:
        raise DataImportError(
            f"{path}: header announces {dims[0]} items ({expected} bytes) but the file has "
            f"{len(raw)} bytes: it is truncated or damaged; download it again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims).copy()


class _CifarUnpickler(pickle.Unpickler):
    """Unpickle CIFAR-10 batches while refusing any object that is not plain data."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def read_cifar_tarball(path: Path) -> dict[str, np.ndarray]:
    """Read the original ``cifar-10-python.tar.gz`` into keras.datasets' layout."""
    batches = {f"cifar-10-batches-py/data_batch_{i}": "train" for i in range(1, 6)}
    batches["cifar-10-batches-py/test_batch"] = "test"
    parts: dict[str, list] = {"train": [], "test": []}
    try:
        with tarfile.open(path, "r:gz") as tar:
            missing = sorted(set(batches) - set(tar.getnames()))
            if missing:
                raise DataImportError(
                    f"{path}: not the CIFAR-10 python archive (missing {missing})"
                )
            for member, split in batches.items():
                blob = tar.extractfile(member).read()
                batch = _CifarUnpickler(io.BytesIO(blob), encoding="bytes").load()
                data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
                plain = data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072
                if not plain or len(labels) != len(data):
                    raise DataImportError(f"{path}: {member} is not a CIFAR-10 batch")
                parts[split].append((data, labels))
    except DataImportError:
        raise
    except pickle.UnpicklingError as error:
        raise DataImportError(
            f"{path}: a batch in the archive is not plain data ({error}); this is not the "
            "CIFAR-10 archive from https://www.cs.toronto.edu/~kriz/cifar.html, nothing was "
            "loaded from it"
        ) from None
    except Exception as error:  # tar, gzip or pickle format errors: the archive is damaged
        raise DataImportError(
            f"{path}: archive is truncated or damaged ({type(error).__name__}: {error}); "
            "download it again"
        ) from None

    def stack(split: str) -> tuple[np.ndarray, np.ndarray]:
        data = np.concatenate([d for d, _ in parts[split]])
        labels = np.concatenate([lab for _, lab in parts[split]]).astype(np.uint8)
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels.reshape(-1, 1)

    (x_train, y_train), (x_test, y_test) = stack("train"), stack("test")
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _read_mnist_idx(folder: Path, paths: dict[str, Path | None]) -> dict[str, np.ndarray]:
    missing = [IDX_FILES[key][0] for key, path in paths.items() if path is None]
    if missing:
        raise DataImportError(f"{folder}: MNIST needs all four IDX files; missing {missing}")
    arrays = {key: read_idx(path, IDX_FILES[key][1]) for key, path in paths.items()}
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise DataImportError(f"{folder}: {split} images and labels differ in count")
    return arrays


def _sources(source: Path) -> dict[str, tuple[str, object]]:
    """What ``source`` offers: data set name -> (where it comes from, a reader of its arrays)."""
    if source.is_file() and source.name.endswith((".tar.gz", ".tgz")):
        folder, tarball = None, source
    elif source.exists():
        folder = source if source.is_dir() else source.parent
        tarball = folder / CIFAR_TARBALL if (folder / CIFAR_TARBALL).is_file() else None
    else:
        raise DataImportError(f"{source}: no such file or folder")
    found = {}
    idx_paths = {key: _find(folder, stem) for key, (stem, _) in IDX_FILES.items()} if folder else {}
    if any(idx_paths.values()):
        found["mnist"] = ("MNIST IDX files", functools.partial(_read_mnist_idx, folder, idx_paths))
    if tarball:
        found["cifar10"] = (tarball.name, functools.partial(read_cifar_tarball, tarball))
    if not found:
        raise DataImportError(
            f"{source}: found neither the four MNIST IDX files "
            f"({', '.join(stem for stem, _ in IDX_FILES.values())}, optionally .gz) "
            f"nor {CIFAR_TARBALL}"
        )
    return found


def _held(out: Path, names: list[str]) -> list[str]:
    """The files in ``out`` that importing ``names`` would replace."""
    if out.exists() and not out.is_dir():
        raise DataImportError(f"{out}: the import target is a file, not a folder")
    held = [f"{name}.npz" for name in names if (out / f"{name}.npz").exists()]
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            entries = json.loads(manifest.read_text())
            listed = [name for name in names if name in entries]
        except (ValueError, TypeError):
            listed = names  # a damaged manifest is replaced, so it counts as held
        if listed:
            held.append(f"{MANIFEST} (entries {', '.join(listed)})")
    return held


def _write_all_or_nothing(out: Path, files: dict[str, object]) -> None:
    """Write every file (name -> writer taking a path) into ``out``, or none of them.

    All files are written into a staging folder inside ``out`` first (same file system), and
    renamed into place only once every one of them is complete.
    """
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".import-"))
    try:
        for name, write in files.items():
            write(staging / name)
        for name in files:
            os.replace(staging / name, out / name)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def import_data(source: Path, out: Path, force: bool = False) -> list[str]:
    """Convert the original MNIST IDX files and/or CIFAR-10 tarball at ``source`` into ``out``.

    ``source`` is a folder holding them, or the tarball itself. Nothing is written unless every
    file validates, and then all files are written or none. A target that already holds one of
    these data sets (its npz, or its entry in the manifest) is refused unless ``force``: the
    folder ``IMAGELAB_DATA`` names usually holds the verified copies. Returns the names of the
    data sets written; the manifest records each one's array checksums and says whether they
    are identical to the built-in ones (the canonical copy) or not.
    """
    source, out = Path(source), Path(out)
    found = _sources(source)
    held = _held(out, list(found))
    if held and not force:
        raise DataImportError(
            f"{out} already holds {', '.join(held)}, which this import would replace. Import "
            f"into a new folder with --out DIR and point {DATA_ENV} at it, or pass --force to "
            "replace them"
        )
    arrays = {}
    for name, (origin, read) in found.items():
        arrays[name] = read()
        _check_structure(name, f"{source} ({origin})", arrays[name])
    manifest = {}
    if (out / MANIFEST).is_file():
        with contextlib.suppress(ValueError, TypeError):
            manifest = dict(json.loads((out / MANIFEST).read_text()))
    files = {}
    for name, (origin, _) in found.items():
        checksums = {key: array_sha256(arrays[name][key]) for key in ARRAYS}
        same = all(checksums[key] == KNOWN_CHECKSUMS[name][key] for key in ARRAYS)
        verdict = "identical to" if same else "not"
        manifest[name] = {
            "description": f"imported from {origin}; {verdict} the verified copy in {BUILT_IN}"
        } | checksums
        files[f"{name}.npz"] = functools.partial(_save_npz, arrays=arrays[name])
    text = json.dumps(manifest, indent=2) + "\n"
    files[MANIFEST] = lambda path: path.write_text(text)
    _write_all_or_nothing(out, files)
    load_raw.cache_clear()
    return list(found)


def manifest_description(folder: Path, name: str) -> str:
    """What the import manifest in ``folder`` says about data set ``name`` (its origin and
    whether it is the verified copy)."""
    entry = _manifest_entry(name, Path(folder)) or {}
    return entry.get("description", "not in the manifest")


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)

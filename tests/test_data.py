"""Loading, verifying and importing the data sets."""

import gzip
import io
import json
import pickle
import re
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from imagelab import data
from imagelab.cli import main

SOURCES = Path(__file__).parents[2] / "shared" / "datasets" / "SOURCES.md"


def test_mnist_is_preprocessed_as_in_2019(fixture_data):
    flat = data.load_mnist(flatten=True)
    images = data.load_mnist()
    assert flat.x_train.shape == (300, 784) and flat.x_test.shape == (100, 784)
    assert images.x_train.shape == (300, 28, 28, 1)
    assert (
        flat.x_train.dtype == np.float32 and 0.0 <= flat.x_train.min() < flat.x_train.max() <= 1.0
    )
    raw, *_ = data.load_raw("mnist", str(fixture_data))
    np.testing.assert_allclose(flat.x_train[0] * 255, raw["x_train"][0].reshape(784), atol=1e-4)
    assert flat.y_train.shape == (300, 10) and (flat.y_train.sum(axis=1) == 1).all()
    # The first training labels of MNIST are 5 0 4 1 9 (SOURCES.md).
    assert list(flat.y_train[:5].argmax(axis=1)) == [5, 0, 4, 1, 9]


def test_cifar10_is_scaled_and_one_hot(fixture_data):
    cifar = data.load_cifar10()
    assert cifar.x_train.shape == (200, 32, 32, 3) and cifar.y_test.shape == (100, 10)
    assert cifar.x_train.max() <= 1.0 and cifar.class_names[3] == "cat"


def test_data_limit_takes_the_first_samples(fixture_data):
    limited = data.load_mnist(limit=50)
    assert len(limited.x_train) == 50 and len(limited.x_test) == 50
    np.testing.assert_array_equal(limited.x_train, data.load_mnist().x_train[:50])


@pytest.mark.parametrize("limit", [0, -5, 301])
def test_data_limit_outside_the_data_is_refused(fixture_data, limit):
    with pytest.raises(ValueError, match=r"data_limit must be between 1 and the 300"):
        data.load_mnist(limit=limit)


def test_missing_file_names_the_file_and_the_variable(data_folder):
    with pytest.raises(data.DataError) as error:
        data.load_mnist()
    message = str(error.value)
    assert str(data_folder / "mnist.npz") in message and "not found" in message
    assert "IMAGELAB_DATA" in message and "imagelab data import" in message


def test_corrupted_pixels_fail_the_checksum(fixture_data, data_folder):
    with np.load(fixture_data / "mnist.npz") as npz:
        arrays = {key: npz[key].copy() for key in npz.files}
    arrays["x_test"][3, 10, 10] ^= 0xFF  # one pixel flipped
    np.savez(data_folder / "mnist.npz", **arrays)
    shutil.copy(fixture_data / data.MANIFEST, data_folder)
    with pytest.raises(data.DataError, match=r"content check failed for x_test .*corrupt"):
        data.load_mnist()


def test_truncated_npz_is_refused(fixture_data, data_folder):
    blob = (fixture_data / "mnist.npz").read_bytes()
    (data_folder / "mnist.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(data.DataError, match=r"mnist\.npz: cannot be read as \.npz"):
        data.load_mnist()


def test_wrong_dtype_is_refused(data_folder):
    arrays = {
        "x_train": np.zeros((4, 28, 28), np.float32),
        "y_train": np.zeros(4, np.uint8),
        "x_test": np.zeros((2, 28, 28), np.uint8),
        "y_test": np.zeros(2, np.uint8),
    }
    np.savez(data_folder / "mnist.npz", **arrays)
    with pytest.raises(data.DataError, match="must be uint8"):
        data.load_mnist()


def test_unknown_data_set_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"data set must be one of \['cifar10', 'mnist'\]"):
        data.load("fashion")


@pytest.mark.skipif(not SOURCES.is_file(), reason="shared/datasets/SOURCES.md not beside the clone")
def test_known_checksums_are_those_of_sources_md():
    text = SOURCES.read_text()
    for name, table in data.KNOWN_CHECKSUMS.items():
        section = text.split(f"## {name}.npz")[1].split("\n## ")[0]
        for key in data.ARRAYS:
            assert re.search(rf"\| {key} \|.*\| {table[key]} \|", section), (name, key)


# --- import from the original distribution formats ---------------------------------------


def _idx(magic: int, array: np.ndarray) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_mnist_idx(folder: Path, gz: bool, n_train: int = 12, n_test: int = 5) -> dict:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28)),
        "y_train": rng.integers(0, 10, n_train),
        "x_test": rng.integers(0, 256, (n_test, 28, 28)),
        "y_test": rng.integers(0, 10, n_test),
    }
    for key, (stem, magic) in data.IDX_FILES.items():
        blob = _idx(magic, arrays[key])
        path = folder / (stem + (".gz" if gz else ""))
        path.write_bytes(gzip.compress(blob) if gz else blob)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files_import_and_load(tmp_path, monkeypatch, gz):
    source, out = tmp_path / "original", tmp_path / "data"
    source.mkdir()
    arrays = _write_mnist_idx(source, gz)
    assert main(["data", "import", str(source), "--out", str(out)]) == 0
    monkeypatch.setenv(data.DATA_ENV, str(out))
    data.load_raw.cache_clear()
    loaded = data.load_mnist(flatten=True)
    np.testing.assert_array_equal(loaded.x_train * 255, arrays["x_train"].reshape(12, 784))
    assert "imported from MNIST IDX files" in loaded.verified_against


def test_truncated_idx_file_is_refused(tmp_path):
    _write_mnist_idx(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(data.DataImportError, match="truncated"):
        data.import_data(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out" / "mnist.npz").exists()


def test_foreign_file_in_place_of_idx_is_refused(tmp_path):
    _write_mnist_idx(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(data.DataImportError, match="not an MNIST IDX label file"):
        data.import_data(tmp_path, tmp_path / "out")


def _cifar_tarball(path: Path, per_batch: int = 4, truncate: bool = False) -> None:
    rng = np.random.default_rng(1)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {
                b"data": rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8),
                b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
            }
            blob = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    blob = buffer.getvalue()
    path.write_bytes(blob[: len(blob) // 2] if truncate else blob)


def test_cifar_tarball_imports_in_keras_layout(tmp_path, monkeypatch):
    tarball = tmp_path / data.CIFAR_TARBALL
    _cifar_tarball(tarball)
    assert data.import_data(tarball, tmp_path / "data") == ["cifar10"]
    with np.load(tmp_path / "data" / "cifar10.npz") as npz:
        assert npz["x_train"].shape == (20, 32, 32, 3) and npz["y_train"].shape == (20, 1)
        assert npz["x_test"].dtype == np.uint8
    manifest = json.loads((tmp_path / "data" / data.MANIFEST).read_text())
    assert set(manifest["cifar10"]) >= set(data.ARRAYS)


def test_truncated_cifar_tarball_is_refused(tmp_path):
    tarball = tmp_path / data.CIFAR_TARBALL
    _cifar_tarball(tarball, truncate=True)
    with pytest.raises(data.DataImportError, match="truncated or damaged"):
        data.import_data(tarball, tmp_path / "data")


def test_import_of_a_folder_without_data_says_what_it_looks_for(tmp_path, capsys):
    assert main(["data", "import", str(tmp_path)]) == 2
    assert "found neither the four MNIST IDX files" in capsys.readouterr().err


def test_data_info_reports_source_and_status(fixture_data, capsys):
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "mnist: verified" in out and "cifar10: verified" in out and "checksums.json" in out


def test_every_command_has_a_handler():
    from imagelab.cli import parser

    commands = parser()._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        if name == "data":
            continue
        assert sub.get_default("handler") is not None, name

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

from imagelab import data, data_import, training
from imagelab.cli import main

SOURCES = Path(__file__).parents[2] / "shared" / "datasets" / "SOURCES.md"
FIXTURES = Path(__file__).parent / "fixtures"


def test_mnist_is_shaped_as_in_2019_and_keeps_its_uint8_pixels(fixture_data):
    flat = data.load_mnist(flatten=True)
    images = data.load_mnist()
    assert flat.x_train.shape == (300, 784) and flat.x_test.shape == (100, 784)
    assert images.x_train.shape == (300, 28, 28, 1)
    # The file's pixels, unscaled: training.pixels divides each batch by 255 (issue 39).
    raw, *_ = data.load_raw("mnist", str(fixture_data))
    assert flat.x_train.dtype == images.x_train.dtype == np.uint8
    np.testing.assert_array_equal(flat.x_train, raw["x_train"].reshape(-1, 784))
    assert np.shares_memory(flat.x_train, raw["x_train"])  # a view: no copy of the data set
    assert flat.y_train.shape == (300, 10) and (flat.y_train.sum(axis=1) == 1).all()
    # The first training labels of MNIST are 5 0 4 1 9 (SOURCES.md).
    assert list(flat.y_train[:5].argmax(axis=1)) == [5, 0, 4, 1, 9]


def test_cifar10_is_scaled_as_it_trains_and_one_hot(fixture_data):
    cifar = data.load_cifar10()
    assert cifar.x_train.shape == (200, 32, 32, 3) and cifar.y_test.shape == (100, 10)
    scaled = training.float_images(cifar.x_train)
    assert cifar.x_train.dtype == np.uint8 and scaled.dtype == np.float32
    assert 0.0 <= scaled.min() < scaled.max() <= 1.0 and cifar.class_names[3] == "cat"


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
    for key, (stem, magic) in data_import.IDX_FILES.items():
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
    np.testing.assert_array_equal(loaded.x_train, arrays["x_train"].reshape(12, 784))
    assert "imported from MNIST IDX files" in loaded.verified_against


def test_truncated_idx_file_is_refused(tmp_path):
    _write_mnist_idx(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(data_import.DataImportError, match="truncated"):
        data_import.import_data(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out" / "mnist.npz").exists()


def test_foreign_file_in_place_of_idx_is_refused(tmp_path):
    _write_mnist_idx(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(data_import.DataImportError, match="not an MNIST IDX label file"):
        data_import.import_data(tmp_path, tmp_path / "out")


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
    tarball = tmp_path / data_import.CIFAR_TARBALL
    _cifar_tarball(tarball)
    assert data_import.import_data(tarball, tmp_path / "data") == ["cifar10"]
    with np.load(tmp_path / "data" / "cifar10.npz") as npz:
        assert npz["x_train"].shape == (20, 32, 32, 3) and npz["y_train"].shape == (20, 1)
        assert npz["x_test"].dtype == np.uint8
    manifest = json.loads((tmp_path / "data" / data.MANIFEST).read_text())
    assert set(manifest["cifar10"]) >= set(data.ARRAYS)


def test_truncated_cifar_tarball_is_refused(tmp_path):
    tarball = tmp_path / data_import.CIFAR_TARBALL
    _cifar_tarball(tarball, truncate=True)
    with pytest.raises(data_import.DataImportError, match="truncated or damaged"):
        data_import.import_data(tarball, tmp_path / "data")


def test_import_of_a_folder_without_data_says_what_it_looks_for(tmp_path, capsys):
    assert main(["data", "import", str(tmp_path)]) == 2
    assert "found neither the four MNIST IDX files" in capsys.readouterr().err


def test_data_info_says_which_table_vouched_for_the_data(fixture_data, capsys):
    # The fixtures match only the manifest beside them: intact, but not the verified copies.
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "mnist: imported" in out and "cifar10: imported" in out and "verified" not in out
    assert f"checked_against: {fixture_data / data.MANIFEST}" in out
    assert "cannot take the canonical run names" in out


def test_data_info_calls_arrays_with_the_built_in_checksums_verified(
    fixture_data, monkeypatch, capsys
):
    _pretend_fixtures_are_canonical(monkeypatch, "mnist")
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "mnist: verified" in out and "checked_against: imagelab.data.KNOWN_CHECKSUMS" in out
    assert "cifar10: imported" in out


def _pretend_fixtures_are_canonical(monkeypatch, name):
    """Make the built-in table list the fixture arrays, as if they were the 2019 data."""
    table = json.loads((FIXTURES / data.MANIFEST).read_text())[name]
    monkeypatch.setitem(data.KNOWN_CHECKSUMS, name, table)
    with np.load(FIXTURES / f"{name}.npz") as npz:
        sizes = {"n_train": len(npz["x_train"]), "n_test": len(npz["x_test"])}
    monkeypatch.setitem(data.KNOWN_SIZES, name, sizes)
    data.load_raw.cache_clear()


def _fixture_idx(folder: Path) -> dict:
    """The fixture MNIST arrays written as the four original IDX files."""
    folder.mkdir(parents=True, exist_ok=True)
    with np.load(FIXTURES / "mnist.npz") as npz:
        arrays = {key: npz[key] for key in data.ARRAYS}
    for key, (stem, magic) in data_import.IDX_FILES.items():
        (folder / stem).write_bytes(_idx(magic, arrays[key]))
    return arrays


def test_import_of_genuine_arrays_is_canonical_despite_its_manifest(tmp_path, monkeypatch, capsys):
    # Issue 17.5: the original IDX files imported offline must run the canonical exercises.
    _pretend_fixtures_are_canonical(monkeypatch, "mnist")
    _fixture_idx(tmp_path / "original")
    out = tmp_path / "data"
    assert main(["data", "import", str(tmp_path / "original"), "--out", str(out)]) == 0
    assert "identical to the verified copy" in capsys.readouterr().out
    assert (out / data.MANIFEST).is_file()
    monkeypatch.setenv(data.DATA_ENV, str(out))
    data.load_raw.cache_clear()
    loaded = data.load_mnist()
    assert loaded.verified_against.startswith("imagelab.data.KNOWN_CHECKSUMS")
    assert data.canonical_differences("mnist", loaded.checksums, loaded.sizes) == []


def test_other_imported_data_verifies_against_its_manifest_and_is_never_canonical(
    tmp_path, monkeypatch
):
    (tmp_path / "original").mkdir()
    _write_mnist_idx(tmp_path / "original", gz=False)
    data_import.import_data(tmp_path / "original", tmp_path / "data")
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "data"))
    data.load_raw.cache_clear()
    loaded = data.load_mnist()
    assert loaded.verified_against.startswith(str(tmp_path / "data" / data.MANIFEST))
    assert "not the verified copy" in loaded.verified_against
    assert data.canonical_differences("mnist", loaded.checksums, loaded.sizes)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("held", ["npz", "manifest"])
def test_import_refuses_a_folder_that_already_holds_the_data_set(tmp_path, monkeypatch, held):
    # Issue 17.1: without --out the import targets $IMAGELAB_DATA, the verified copies.
    target = tmp_path / "data"
    target.mkdir()
    if held == "npz":
        shutil.copy(FIXTURES / "mnist.npz", target)
    else:
        shutil.copy(FIXTURES / data.MANIFEST, target)
    before = _tree(target)
    (tmp_path / "original").mkdir()
    _write_mnist_idx(tmp_path / "original", gz=False)
    monkeypatch.setenv(data.DATA_ENV, str(target))
    with pytest.raises(data_import.DataImportError) as error:
        data_import.import_data(tmp_path / "original", target)
    message = str(error.value)
    assert f"{target} already holds" in message and "--force" in message and "--out" in message
    assert ("mnist.npz" if held == "npz" else "checksums.json (entries mnist)") in message
    assert _tree(target) == before


def test_import_with_force_replaces_the_data_set_and_keeps_other_entries(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(FIXTURES, target, ignore=shutil.ignore_patterns("*.py"))
    cifar_before = (target / "cifar10.npz").read_bytes()
    (tmp_path / "original").mkdir()
    _write_mnist_idx(tmp_path / "original", gz=True)
    assert data_import.import_data(tmp_path / "original", target, force=True) == ["mnist"]
    manifest = json.loads((target / data.MANIFEST).read_text())
    assert "imported from MNIST IDX files" in manifest["mnist"]["description"]
    assert "test fixture" in manifest["cifar10"]["description"]  # the other entry is kept
    assert (target / "cifar10.npz").read_bytes() == cifar_before
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["checksums.json", "cifar10.npz", "mnist.npz"]
    )  # no staging folder left behind


def test_import_of_a_second_data_set_beside_the_first_is_allowed(tmp_path):
    source, target = tmp_path / "original", tmp_path / "data"
    source.mkdir()
    _write_mnist_idx(source, gz=False)
    data_import.import_data(source, target)
    _cifar_tarball(tmp_path / data_import.CIFAR_TARBALL)
    assert data_import.import_data(tmp_path / data_import.CIFAR_TARBALL, target) == ["cifar10"]
    assert set(json.loads((target / data.MANIFEST).read_text())) == {"mnist", "cifar10"}


def test_import_writes_nothing_when_any_offered_file_is_bad(tmp_path):
    # Good MNIST IDX files beside a truncated CIFAR-10 tarball: neither is imported.
    source = tmp_path / "original"
    source.mkdir()
    _write_mnist_idx(source, gz=False)
    _cifar_tarball(source / data_import.CIFAR_TARBALL, truncate=True)
    with pytest.raises(data_import.DataImportError, match="truncated or damaged"):
        data_import.import_data(source, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_import_interrupted_while_writing_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    source, target = tmp_path / "original", tmp_path / "data"
    source.mkdir()
    _write_mnist_idx(source, gz=False)
    _cifar_tarball(source / data_import.CIFAR_TARBALL)
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    written = []

    def save_then_fail(path, arrays):
        if written:
            raise OSError("disk full")
        written.append(path)
        path.write_bytes(b"npz")

    monkeypatch.setattr(data_import, "_save_npz", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        data_import.import_data(source, target)
    assert written and _tree(target) == {"notes.txt": b"mine"}


def test_corrupt_npz_says_damaged_and_how_to_restore_not_allow_pickle(data_folder):
    (data_folder / "mnist.npz").write_bytes(b"this is not an npz file at all" * 10)
    with pytest.raises(data.DataError) as error:
        data.load_mnist()
    message = str(error.value)
    assert "cannot be read as .npz: it is not an npz archive" in message
    assert "allow_pickle" not in message and "imagelab data import PATH --force" in message


def test_npz_of_python_objects_is_refused_without_unpickling(data_folder):
    arrays = {key: np.zeros(2, np.uint8) for key in data.ARRAYS}
    arrays["x_train"] = np.array([{"evil": 1}, None], dtype=object)
    np.savez(data_folder / "mnist.npz", **arrays)
    with pytest.raises(data.DataError, match="holds Python objects") as error:
        data.load_mnist()
    assert "allow_pickle" not in str(error.value)


def test_missing_data_folder_is_named_as_missing(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "nowhere"))
    data.load_raw.cache_clear()
    with pytest.raises(data.DataError, match="the folder IMAGELAB_DATA names does not exist"):
        data.load_mnist()
    data.load_raw.cache_clear()


def test_damaged_manifest_is_refused_with_the_fix(fixture_data, data_folder):
    shutil.copy(fixture_data / "mnist.npz", data_folder)
    (data_folder / data.MANIFEST).write_text('{"mnist": {"x_tr')
    with pytest.raises(data.DataError, match=r"import manifest is damaged.*--force"):
        data.load_mnist()


def test_cifar_tarball_with_a_hostile_pickle_is_refused_without_running_it(tmp_path):
    class Hostile:
        def __reduce__(self):
            return (print, ("pwned",))  # anything callable: os.system in a real attack

    tarball, buffer = tmp_path / data_import.CIFAR_TARBALL, io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            blob = pickle.dumps({b"data": Hostile(), b"labels": []})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    tarball.write_bytes(buffer.getvalue())
    with pytest.raises(
        data_import.DataImportError, match=r"not plain data \(refusing to load builtins"
    ):
        data_import.import_data(tarball, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_every_command_has_a_handler():
    from imagelab.cli import parser

    commands = parser()._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        if name == "data":
            continue
        assert sub.get_default("handler") is not None, name

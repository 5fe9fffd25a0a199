"""What would fail only after training is refused before it (issue 26): a seed beyond 32 bits,
a data_limit too small to split, a results_dir that is no writable folder, a canonical name on
data that is not the verified copy; and a run whose loss diverged stores nothing."""

import math
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from imagelab import data, errors, params, records, training
from imagelab.errors import Diverged, UserError
from imagelab.results import exercises
from imagelab.running import run
from imagelab.running.sweeps import spec

from .conftest import FIXTURES


def test_seed_must_fit_in_32_bits():
    params.check_parameter("seed", 2**32 - 1)
    params.check_parameter("seed", 0)
    for seed in (2**32, -1):
        with pytest.raises(
            UserError, match=rf"seed must be an integer in \[0, 4294967295\]; got {seed}"
        ):
            params.check_parameter("seed", seed)


def test_a_sweep_with_a_seed_beyond_32_bits_is_refused_before_it_runs(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        '{"notebook": "notebooks/01_dense_mnist.ipynb", "seeds": [1, 4294967296], "grid": {"units": [16]}}'
    )
    with pytest.raises(
        UserError, match=r"seeds\[1\]: seed must be an integer in \[0, 4294967295\]"
    ):
        spec.load(path)


@pytest.mark.parametrize(
    ("validation_split", "on_test", "smallest"),
    [(0.2, False, 2), (0.0, False, 1), (0.5, False, 2), (0.9, False, 11), (0.2, True, 1)],
)
def test_smallest_data_limit_leaves_one_training_and_one_validation_image(
    validation_split, on_test, smallest
):
    assert params.smallest_data_limit(validation_split, on_test) == smallest
    # training.fit's own split of that many images: at least one on each side
    kept = smallest if on_test else int(smallest * (1 - validation_split))
    assert kept >= 1 and (on_test or validation_split == 0 or kept < smallest)
    fewer = smallest - 1  # one image fewer leaves a side empty
    assert fewer == 0 or int(fewer * (1 - validation_split)) in (0, fewer)


def test_a_data_limit_too_small_to_split_is_refused_with_the_minimum():
    p = exercises.notebook_defaults("dense_mnist") | {"run_name": "try1", "data_limit": 1}
    with pytest.raises(
        UserError, match=r"data_limit must be None or at least 2 with validation_split 0\.2.*got 1"
    ):
        exercises.validate("dense_mnist", p)
    exercises.validate("dense_mnist", p | {"data_limit": 2})


def test_results_dir_must_be_a_writable_folder(tmp_path):
    params.check_parameter("results_dir", str(tmp_path))
    params.check_parameter("results_dir", str(tmp_path / "new" / "deeper"))  # made when needed
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(UserError, match=r"results_dir must be a folder .*it names a file"):
        params.check_parameter("results_dir", str(a_file))
    with pytest.raises(UserError, match=r"file\.txt is a file, so no folder can be made inside"):
        params.check_parameter("results_dir", str(a_file / "results"))


@pytest.mark.parametrize(
    ("results_dir", "problem"),
    [
        ("/", "it is the root of the file system"),
        ("//", "it is the root of the file system"),
        ("/etc", r"/etc is a system folder \(/etc belongs to the operating system\)"),
        (
            "/usr/share/results",
            r"/usr/share/results is a system folder \(/usr belongs to the "
            r"operating system\)",
        ),
        ("/proc/self", r"/proc/\d+ is a system folder \(/proc belongs to the operating system\)"),
        ("/tmp", "/tmp is a system folder itself; name a folder inside it"),
        ("/home", "/home is a system folder itself; name a folder inside it"),
    ],
)
def test_results_dir_is_never_the_root_or_a_system_folder(results_dir, problem):
    # Issue 35: results_dir '/' wrote /histories, /scores, /figures and /.staging as root.
    with pytest.raises(UserError, match=rf"results_dir must be a folder .*got '{results_dir}': "
                                        rf"{problem}\. Name another folder"):  # fmt: skip
        params.check_parameter("results_dir", results_dir)


@pytest.mark.parametrize("results_dir", ["", "   "])
def test_an_empty_results_dir_is_refused_not_read_as_the_project(results_dir):
    with pytest.raises(UserError, match=r"results_dir must name a folder; got .*, empty text\. "
                                        r"Pass None"):  # fmt: skip
        params.check_parameter("results_dir", results_dir)


def test_a_folder_inside_tmp_or_a_link_to_it_is_allowed(tmp_path):
    params.check_parameter("results_dir", str(tmp_path / "results"))
    (tmp_path / "root").symlink_to("/")
    with pytest.raises(UserError, match="it is the root of the file system"):
        params.check_parameter("results_dir", str(tmp_path / "root"))  # a link is followed


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
def test_a_read_only_results_dir_is_refused(tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(UserError, match=r"is not writable by this user"):
            params.check_parameter("results_dir", str(tmp_path / "results"))
    finally:
        tmp_path.chmod(0o755)


def _data_in(folder, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(folder))
    data.load_raw.cache_clear()
    return data.load("mnist", flatten=True)


def test_a_canonical_name_on_made_up_data_in_a_folder_named_keras_datasets_is_refused(
    tmp_path, monkeypatch
):
    # Issue 26.1: IMAGELAB_DATA=keras.datasets (relative) holding imported images.
    folder = tmp_path / "keras.datasets"
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.py"))
    monkeypatch.chdir(tmp_path)
    loaded = _data_in("keras.datasets", monkeypatch)
    assert loaded.verified_against.startswith("keras.datasets")  # what the old check trusted
    with pytest.raises(UserError) as error:
        run.check_canonical_data("dense_mnist", loaded)
    message = str(error.value)
    assert "run_name 'dense_mnist' is reserved for runs on the full, verified data set" in message
    assert "x_train's sha256 is not the verified one" in message and "n_train is 300" in message
    assert "another run_name" in message
    run.check_canonical_data("my_run", loaded)  # any other name may train on it


def test_the_verified_data_keeps_its_canonical_name(fixture_data, monkeypatch):
    table = {key: data.array_sha256(data.load_raw("mnist", str(fixture_data))[0][key])
             for key in data.ARRAYS}  # fmt: skip
    monkeypatch.setitem(data.KNOWN_CHECKSUMS, "mnist", table)
    monkeypatch.setitem(data.KNOWN_SIZES, "mnist", {"n_train": 300, "n_test": 100})
    run.check_canonical_data("dense_mnist", _data_in(fixture_data, monkeypatch))


def _result(losses, test_loss=0.3):
    rows = [(epoch, loss, "loss", "training", 1.0) for epoch, loss in enumerate(losses, start=1)]
    rows += [(epoch, 0.5, "acc", "training", 1.0) for epoch in range(1, len(losses) + 1)]
    history = pd.DataFrame(rows, columns=records.HISTORY_COLUMNS)
    return training.FitResult(history, {"loss": test_loss, "acc": 0.5}, None, [1.0], 1.0)


def test_a_finite_loss_has_converged():
    result = _result([2.3, 1.1, 0.7])
    run.check_converged("try1", result.history, result.score["loss"], 0.001, 3)


@pytest.mark.parametrize(
    ("losses", "test_loss", "where"),
    [
        (
            [2.3, math.nan],
            math.nan,
            "its training loss became nan at epoch 2 of 12, where training",
        ),
        ([math.inf], math.inf, "its training loss became inf at epoch 1 of 12, where training"),
        ([2.3, 1.0], math.nan, "its test loss was nan"),
    ],
)
def test_a_loss_that_is_not_finite_is_divergence(losses, test_loss, where):
    with pytest.raises(Diverged) as error:
        run.check_converged("try1", _result(losses, test_loss).history, test_loss, 1e30, 12)
    message = str(error.value)
    assert message.startswith("try1 diverged: ") and where in message
    assert "nothing was stored" in message and "smaller learning_rate (this run's: 1e+30" in message


class _Model:
    stop_training = False


@pytest.mark.parametrize(
    ("logs", "stops"),
    [
        ({"loss": 0.7, "accuracy": 0.8, "val_loss": 0.9}, False),
        ({"loss": math.nan, "accuracy": 0.1, "val_loss": 0.9}, True),
        ({"loss": 0.7, "accuracy": 0.8, "val_loss": math.inf}, True),
    ],
)
def test_training_stops_after_the_first_epoch_whose_loss_is_not_finite(logs, stops, capsys):
    log = training.EpochLog("try1", 12)
    log.set_model(_Model())
    log.on_train_begin()
    log.on_epoch_begin(0)
    log.on_epoch_end(0, logs)
    assert log.model.stop_training is stops


def test_diverged_is_a_user_error_that_sweeps_match_by_name():
    assert issubclass(errors.Diverged, UserError) and errors.Diverged.__name__ == "Diverged"
    assert Diverged("x diverged")._render_traceback_() == ["Diverged: x diverged"]


@pytest.mark.slow  # trains (a tiny network, one epoch)
def test_a_diverging_fit_raises_before_any_file_is_written(fixture_data, tmp_path):
    namespace = exercises.notebook_defaults("dense_mnist") | {
        "run_name": "try1", "data_limit": 64, "epochs": 3, "units": 8,
        "learning_rate": 1e30, "results_dir": str(tmp_path),
    }  # fmt: skip
    started = run.start_run("dense_mnist", namespace)
    with pytest.raises(Diverged, match=r"^try1 diverged: its \w+ loss became nan at epoch 1 of 3"):
        started.fit(started.build_model())
    assert started.result.history["epoch"].max() == 1  # stopped there, not 2 epochs later
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
    assert np.isnan(started.result.score["loss"])

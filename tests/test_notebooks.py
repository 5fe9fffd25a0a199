"""The exercise notebooks under papermill: fixture data, parameter errors, hygiene."""

import json
import subprocess

import nbformat
import papermill
import pytest

from imagelab.data import KNOWN_CHECKSUMS
from imagelab.results import exercises, fingerprint, store
from imagelab.results.freshness import current_fingerprint
from imagelab.running.run import start_run

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _execute(exercise, tmp_path, **parameters):
    parameters = {
        "run_name": "smoke",
        "results_dir": str(tmp_path),
        "epochs": 1,
        "data_limit": 64,
    } | parameters
    papermill.execute_notebook(
        str(exercises.get_exercise(exercise).notebook_path),
        str(tmp_path / "out.ipynb"),
        parameters=parameters,
        kernel_name="imagelab",
        progress_bar=False,
        cwd=str(ROOT),
    )


@pytest.mark.slow
@pytest.mark.parametrize("exercise", list(exercises.EXERCISES))
def test_notebook_runs_on_fixture_data_and_writes_its_files(exercise, fixture_data, tmp_path):
    _execute(exercise, tmp_path)
    files = exercises.records.run_files("smoke", tmp_path)
    for path in (
        files.history,
        files.score,
        files.provenance,
        files.predictions,
        *map(files.figure, exercises.get_exercise(exercise).figures),
    ):
        assert path.is_file() and path.stat().st_size > 0, path
    stored = store.load_run("smoke", tmp_path)  # one whole set, its manifest's (issue 35)
    assert set(stored.provenance["files"]) == {
        str(path.relative_to(tmp_path)) for path in (files.history, files.score, files.predictions,
                                                     *map(files.figure, exercises.get_exercise(
                                                         exercise).figures))}  # fmt: skip


BAD_PARAMETERS = [
    ({"optimizer": "adagrad"}, "optimizer must be one of"),
    ({"epochs": 0}, "epochs must be an integer >= 1; got 0"),
    ({"epochs": 2.5}, "epochs must be an integer >= 1; got 2.5"),
    ({"epochs": "2"}, "epochs must be an integer >= 1; got '2'"),
    ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    ({"data_limit": 10**6}, "data_limit must be between 1 and the 300 training samples"),
    ({"run_name": "../x"}, "run_name must be a plain slug"),
    ({"run_name": "/tmp/abs"}, "run_name must be a plain slug"),
    ({"run_name": "cnn_mnist"}, "reserved for the canonical 2019 settings.*epochs=1"),
]


@pytest.mark.parametrize(("parameters", "message"), BAD_PARAMETERS)
def test_bad_parameters_are_refused_before_training(parameters, message, fixture_data, tmp_path):
    namespace = (
        exercises.notebook_defaults("cnn_mnist")
        | {
            "run_name": "smoke",
            "results_dir": str(tmp_path),
            "epochs": 1,
            "data_limit": 64,
        }
        | parameters
    )
    with pytest.raises(ValueError, match=message):
        start_run("cnn_mnist", namespace)
    assert not (tmp_path / "histories").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("exercise", "parameters", "message"),
    [
        ("cnn_mnist", {"run_name": "../x"}, "run_name must be a plain slug"),
        ("dense_mnist", {"activation": "rellu"}, "activation must be one of"),
    ],
)
def test_bad_parameters_stop_the_notebook_in_its_first_cell(
    exercise, parameters, message, fixture_data, tmp_path
):
    with pytest.raises(papermill.PapermillExecutionError, match=message) as error:
        _execute(exercise, tmp_path, **parameters)
    assert "start_run" in error.value.source  # the first cell after the parameters
    assert not (tmp_path / "histories").exists() and not (tmp_path.parent / "x").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_source_notebooks_carry_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name
    assert notebook.metadata.kernelspec.name == "imagelab"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_has_one_parameters_cell_papermill_can_read(path):
    tagged = [
        c
        for c in nbformat.read(path, as_version=4).cells
        if "parameters" in c.metadata.get("tags", [])
    ]
    assert len(tagged) == 1
    assert papermill.inspect_notebook(str(path))  # and every line of it parses


@pytest.mark.parametrize("exercise", list(exercises.EXERCISES))
def test_canonical_defaults_are_the_2019_settings(exercise):
    defaults = exercises.notebook_defaults(exercise)
    assert defaults["run_name"] == exercise and defaults["data_limit"] is None
    expected = {
        "dense_mnist": {
            "optimizer": "rmsprop",
            "batch_size": 128,
            "epochs": 12,
            "activation": "linear",
        },
        "relu_mnist": {
            "optimizer": "rmsprop",
            "batch_size": 128,
            "epochs": 12,
            "activation": "relu",
        },
        "cnn_mnist": {
            "optimizer": "adadelta",
            "learning_rate": None,
            "batch_size": 128,
            "epochs": 6,
            "dropout": 0.0,
        },
        "cnn_dropout_mnist": {
            "optimizer": "adadelta",
            "batch_size": 128,
            "epochs": 6,
            "dropout": 0.5,
        },
        "cifar10_cnn": {
            "optimizer": "rmsprop",
            "learning_rate": 1e-4,
            "decay": 1e-6,
            "batch_size": 32,
            "epochs": 20,
            "validate_on_test": True,
            "shuffle": True,
        },
    }[exercise]
    assert {key: defaults[key] for key in expected} == expected


COMMITTED = sorted((ROOT / "scores").glob("*.json"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_results_have_provenance_in_this_repository(path):
    provenance = json.loads(path.read_text())
    commit = provenance["git"]["commit"]
    known = (
        subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT).returncode == 0
    )
    assert known, f"{path.name}: commit {commit} is not in this repository"
    dataset = provenance.get("data", {}).get("dataset")
    if dataset not in KNOWN_CHECKSUMS:  # the Playground's spiral is generated, not loaded
        return
    # The training code and notebook that produced it are the ones committed now, or train the
    # same numbers (fingerprint.SAME_NUMBERS).
    precision = provenance["parameters"].get("precision", "float32")
    current = current_fingerprint(provenance["exercise"], precision)
    assert fingerprint.differences(provenance["fingerprint"], current) == [], path.name
    assert provenance["data"]["checksums"] == {
        k: v for k, v in KNOWN_CHECKSUMS[dataset].items() if k != "description"
    }
    run = provenance["run_name"]
    for folder, name in (("histories", f"{run}.csv"), ("scores", f"{run}.csv")):
        assert (ROOT / folder / name).is_file()

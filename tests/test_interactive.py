"""Interactive use: the registered kernel runs a notebook as JupyterLab's "Run All" would."""

import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from imagelab import exercises, records

from .conftest import ROOT


def test_imagelab_kernel_is_registered_in_the_venv():
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "imagelab" in listing and str(ROOT / ".venv") in listing


@pytest.mark.slow
def test_run_all_with_an_edited_parameters_cell(fixture_data, tmp_path):
    notebook = nbformat.read(ROOT / "notebooks" / "02_relu_mnist.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    # What a user does in JupyterLab: edit the values, then Run All.
    cell.source = (
        cell.source.replace('run_name = "relu_mnist"', 'run_name = "my_relu"')
        .replace("epochs = 12", "epochs = 1")
        .replace("results_dir = None", f"results_dir = {str(tmp_path)!r}")
    )
    NotebookClient(
        notebook,
        kernel_name=notebook.metadata.kernelspec.name,
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    ).execute()
    assert records.read_score(records.run_files("my_relu", tmp_path).score)["acc"] > 0


def test_changing_epochs_under_the_canonical_name_is_refused(fixture_data, tmp_path):
    params = exercises.notebook_defaults("cnn_mnist") | {"epochs": 2, "results_dir": str(tmp_path)}
    with pytest.raises(
        ValueError,
        match=r"reserved for the canonical 2019 settings.*epochs=2.*run_name='cnn_mnist_epochs2'",
    ):
        exercises.start_run("cnn_mnist", params)


def test_canonical_name_on_fixture_data_is_refused(fixture_data, tmp_path):
    params = exercises.notebook_defaults("dense_mnist") | {"results_dir": str(tmp_path)}
    with pytest.raises(ValueError, match="reserved for runs on the full, verified data set"):
        exercises.start_run("dense_mnist", params)
    assert not (tmp_path / "histories").exists()

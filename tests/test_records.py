"""History/score CSVs, provenance and atomic writes."""

import os

import pandas as pd
import pytest

from imagelab import records


def test_history_has_2019_tidy_shape_and_round_trips(tmp_path):
    keras_history = {
        "loss": [0.4, 0.3],
        "accuracy": [0.88, 0.91],
        "val_loss": [0.29, 0.30],
        "val_accuracy": [0.92, 0.918],
    }
    frame = records.history_frame(keras_history, [3.5, 2.0])
    assert list(frame.columns) == ["epoch", "value", "metric", "data", "seconds"]
    assert list(frame[["metric", "data"]].drop_duplicates().itertuples(index=False, name=None)) == [
        ("loss", "training"),
        ("acc", "training"),
        ("loss", "validation"),
        ("acc", "validation"),
    ]
    path = records.write_csv(frame, tmp_path / "histories" / "x.csv")
    pd.testing.assert_frame_equal(records.read_history(path), frame)


def test_crash_while_writing_leaves_the_old_file_and_no_partial(tmp_path):
    target = tmp_path / "scores" / "run.csv"
    records.write_csv(pd.DataFrame([{"loss": 1.0, "acc": 0.5}]), target)
    before = target.read_bytes()
    with pytest.raises(KeyboardInterrupt), records.atomic_path(target) as tmp:
        tmp.write_text("loss,acc\n0.1,")  # half a row, then the process is interrupted
        raise KeyboardInterrupt
    assert target.read_bytes() == before
    assert os.listdir(target.parent) == ["run.csv"]


def test_a_new_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "new.json"
    with pytest.raises(RuntimeError), records.atomic_path(target) as tmp:
        tmp.write_text("{")
        raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../x", "/abs/path", "a/b", "Cnn", "", "x" * 65, 3])
def test_run_names_that_are_not_plain_slugs_are_refused(name, tmp_path):
    with pytest.raises(ValueError, match="run_name must be a plain slug"):
        records.run_files(name, tmp_path)


def test_run_files_stay_inside_the_results_folder(tmp_path):
    files = records.run_files("cnn_try", tmp_path)
    for path in (files.history, files.score, files.provenance, files.figure("history")):
        assert path.resolve().is_relative_to(tmp_path.resolve())

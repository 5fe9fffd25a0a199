"""Staging and publishing a run's files (imagelab.staging): two attempts of one run never
interleave, a result never exists without its provenance, and a disk that refuses the files
stops the run with one paragraph and nothing half-written."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from imagelab import records, staging

RUN = "mine"


def stage_result(attempt: staging.Attempt, accuracy: float) -> None:
    """What Run.fit writes, reduced to what tells attempts apart: their score."""
    with attempt.writing() as staged:
        history = pd.DataFrame(
            [[1, accuracy, "acc", "training", 1.0]], columns=records.HISTORY_COLUMNS
        )
        records.write_csv(history, staged.history)
        records.write_csv(pd.DataFrame([{"loss": 1.0, "acc": accuracy}]), staged.score)
        provenance = {"run_name": RUN, "attempt": attempt.id, "score": {"acc": accuracy}}
        records.write_json(provenance, staged.provenance)


def stage_figure(attempt: staging.Attempt, kind: str, accuracy: float) -> bool:
    with attempt.writing() as staged:
        staged.figure(kind).write_text(f"figure of {accuracy}")
        return attempt.publish_figure(kind)


def published(files: records.RunFiles) -> set[str]:
    """What each published file says about the attempt that wrote it."""
    seen = {json.loads(files.provenance.read_text())["score"]["acc"]}
    seen.add(pd.read_csv(files.history)["value"].iloc[0])
    seen.add(pd.read_csv(files.score)["acc"].iloc[0])
    seen |= {float(files.figure(k).read_text().split()[-1]) for k in ("history", "confusion")}
    return {str(value) for value in seen}


@pytest.mark.parametrize("last", ["orphan", "rerun"])
def test_two_attempts_of_one_run_publish_one_intact_set(tmp_path, capsys, last):
    files = records.run_files(RUN, tmp_path)
    orphan, rerun = staging.Attempt(files), staging.Attempt(files)
    stage_result(orphan, 0.25)
    stage_result(rerun, 0.75)
    first, second = (rerun, orphan) if last == "orphan" else (orphan, rerun)
    first.publish()
    assert stage_figure(first, "history", 0.25 if first is orphan else 0.75)
    second.publish()  # publishes over the first: the first's later figures are dropped
    assert not stage_figure(first, "confusion", 0.25 if first is orphan else 0.75)
    assert "another attempt" in capsys.readouterr().out
    accuracy = 0.25 if second is orphan else 0.75
    for kind in ("history", "confusion"):
        assert stage_figure(second, kind, accuracy)
    assert published(files) == {str(accuracy)}
    assert json.loads(files.provenance.read_text())["attempt"] == second.id
    assert not [p for p in (tmp_path / staging.STAGING).iterdir() if p.is_dir()]  # both gone


def test_a_failed_move_while_publishing_leaves_no_file_without_its_provenance(
    tmp_path, monkeypatch
):
    files = records.run_files(RUN, tmp_path)
    old = staging.Attempt(files)
    stage_result(old, 0.25)
    old.publish()
    new = staging.Attempt(files)
    real_replace = os.replace

    def full_at_provenance(source, target):
        if Path(source).name == f"{RUN}.json":  # the staged provenance, moved last
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", full_at_provenance)
    with pytest.raises(staging.ResultsNotWritten, match="disk is full"):
        stage_result(new, 0.75)
        with new.writing():
            new.publish()
    # The run reads as unfinished (it reruns): no history or score beside a provenance that
    # is not theirs, and none without one.
    assert not files.provenance.exists()
    assert not files.history.exists() and not files.score.exists()
    assert not new.folder.exists()


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.ENOSPC, "the disk is full: free some space there, or choose another results_dir"),
        (errno.EROFS, "the file system is read-only: choose a writable results_dir"),
        (errno.EACCES, "permission denied: make .* writable for this user"),
    ],
)
def test_a_disk_that_refuses_the_files_stops_with_one_paragraph(tmp_path, monkeypatch, code, fix):
    files = records.run_files(RUN, tmp_path)
    earlier = staging.Attempt(files)
    stage_result(earlier, 0.25)
    earlier.publish()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    real_to_csv = pd.DataFrame.to_csv

    def refusing(frame, path, *args, **kwargs):
        if "score" in str(path):  # the history is staged already: something to clean up
            raise OSError(code, os.strerror(code), str(path))
        return real_to_csv(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", refusing)
    attempt = staging.Attempt(files)
    with pytest.raises(staging.ResultsNotWritten) as refused:
        stage_result(attempt, 0.75)
    message = str(refused.value)
    assert f"could not write the results of run '{RUN}' at {tmp_path}" in message
    assert "\n" not in message and "Nothing of this attempt was published" in message
    assert pytest.importorskip("re").search(fix, message), message
    assert not attempt.folder.exists()  # the staging folder is cleaned up
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # the earlier result is untouched


def test_a_read_only_results_folder_stops_before_anything_is_written(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root writes anyway: the injected errors cover this
            pytest.skip("this user can write into a read-only folder")
        attempt = staging.Attempt(records.run_files(RUN, folder))
        with pytest.raises(staging.ResultsNotWritten, match="permission denied: make .* writable"):
            stage_result(attempt, 0.5)
        assert not list(folder.iterdir())
    finally:
        folder.chmod(0o755)


def test_only_the_staging_folders_of_dead_attempts_are_removed(tmp_path):
    files = records.run_files(RUN, tmp_path)
    live, dead = staging.Attempt(files), staging.Attempt(files)
    for attempt in (live, dead):
        with attempt.writing() as staged:
            records.write_csv(pd.DataFrame({"a": [1]}), staged.score)
    dead._alive.close()  # as when its process dies: the kernel drops the lock
    dead._alive = None
    assert staging.remove_abandoned(tmp_path) == [dead.folder]
    assert live.folder.is_dir() and not dead.folder.exists()


def test_attempt_ids_tell_a_dead_process_here_from_a_live_one_or_another_machine():
    assert staging.attempt_alive(staging.new_attempt_id())
    here = staging.new_attempt_id().rsplit("-", 2)[0]
    assert not staging.attempt_alive(f"{here}-999999999-abcdef")
    assert staging.attempt_alive("another-host-12-abcdef")


# --- through a run: Run.fit and its figures ------------------------------------------------


@pytest.fixture
def fitted_run(tmp_path, monkeypatch):
    """A dense MNIST Run whose training is replaced by a fixed result (no TensorFlow)."""
    import sys
    import types

    import numpy as np

    import imagelab
    from imagelab import data, exercises
    from imagelab.run import Run

    history = records.history_frame({"loss": [0.5], "accuracy": [0.8]}, [1.0])
    predictions = pd.DataFrame({"index": [0, 1], "true": [3, 5], "predicted": [3, 2]})
    result = types.SimpleNamespace(
        history=history, score={"loss": 0.4, "acc": 0.5}, predictions=predictions,
        epoch_seconds=[1.0], train_seconds=1.0,
    )  # fmt: skip
    training = types.ModuleType("imagelab.training")
    training.fit = lambda model, dataset, label, **settings: result
    monkeypatch.setitem(sys.modules, "imagelab.training", training)
    monkeypatch.setattr(imagelab, "training", training, raising=False)
    params = exercises.notebook_defaults("dense_mnist") | {"results_dir": str(tmp_path)}
    params["run_name"] = RUN
    arrays = np.zeros((2, 784), "float32")
    dataset = data.Dataset("mnist", arrays, np.eye(10)[:2], arrays, np.eye(10)[:2],
                           [str(i) for i in range(10)], "fixture", {}, "a test")  # fmt: skip
    files = records.run_files(RUN, tmp_path)
    run = Run(exercises.get_exercise("dense_mnist"), params, files, dataset, None, git={})
    model = types.SimpleNamespace(name="dense", count_params=lambda: 10)
    return run, model, files


def test_a_run_publishes_its_files_with_its_attempt_and_its_figures(fitted_run):
    run, model, files = fitted_run
    run.fit(model)
    assert json.loads(files.provenance.read_text())["attempt"] == run.attempt.id
    assert files.history.is_file() and files.score.is_file() and files.predictions.is_file()
    run.plot_confusion()
    assert files.figure("confusion").is_file()
    assert not [p for p in (files.results_dir / staging.STAGING).iterdir() if p.is_dir()]


def test_a_full_disk_while_a_run_writes_stops_it_with_nothing_half_written(fitted_run, monkeypatch):
    run, model, files = fitted_run
    real_write_json = records.write_json

    def full(data, path):  # the history and score are staged by now; the provenance fails
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(records, "write_json", full)
    with pytest.raises(staging.ResultsNotWritten, match="the disk is full: free some space"):
        run.fit(model)
    monkeypatch.setattr(records, "write_json", real_write_json)
    results = files.results_dir
    assert not [p for p in results.rglob("*") if p.is_file() and p.name != ".lock"]
    assert not [p for p in (results / staging.STAGING).iterdir() if p.is_dir()]

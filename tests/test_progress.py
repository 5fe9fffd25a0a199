"""Progress within an epoch in a notebook (issue 38): a line that moves, with the time left,
drawn in place in the cell; the same numbers trained with it or without it, and papermill's
log still one line per epoch."""

import logging

import nbformat
import pandas as pd
import papermill
import pytest

from imagelab import data, models, training
from imagelab.results import exercises
from imagelab.running import progress

from .conftest import ROOT


def test_durations_read_as_a_person_says_them():
    assert [progress.duration(s) for s in (0.4, 8, 60, 100, 3600, 3720)] == [
        "0 s", "8 s", "1 min", "1 min 40 s", "1 h 0 min", "1 h 2 min",
    ]  # fmt: skip


def test_the_line_says_where_the_epoch_stands_and_the_time_left():
    state = progress.Progress("cnn", epochs=6, steps=375)
    first = state.line(1, 150, 10.0)  # 40 % in 10 s: 15 s more, then 5 epochs of 25 s each
    assert first == (
        "[cnn] epoch 1/6  ██████████░░░░░░░░░░░░░░ 150/375 steps  10 s, "
        "about 15 s left in this epoch, 2 min 20 s in all"
    )
    assert state.epoch_done(1, 24.0) == "[cnn] epoch 1/6 done in 24 s, about 2 min left"
    # Later epochs are estimated from the finished ones: 15 s of this one and 4 of 24 s.
    assert state.line(2, 150, 10.0).endswith("about 15 s left in this epoch, 1 min 51 s in all")
    assert state.epoch_done(6, 24.0).endswith("done in 24 s")
    assert progress.Progress("x", 2).line(1, 7, 3.0) == "[x] epoch 1/2  7 steps  3 s"


def test_no_line_outside_a_notebook_kernel():
    assert progress.notebook_display() is None


def _train(mnist, show=None):
    training.set_seed(3)
    model = models.mnist_cnn(filters=4, dense_units=8, dropout=0.5)
    settings = dict(optimizer="adadelta", learning_rate=None, decay=1e-3, epochs=2, batch_size=8,
                    validation_split=0.2, seed=3, steps_per_execution=4)  # fmt: skip
    if show is None:
        result = training.fit(model, mnist, **settings)
    else:
        with progress.showing(model, "t", 2, show=show):
            result = training.fit(model, mnist, **settings)
        assert "fit" not in vars(model)  # the model's own fit again
    weights = b"".join(w.tobytes() for w in model.get_weights())
    return weights, result.history.drop(columns="seconds"), result.score, result.predictions


def test_progress_moves_within_the_epoch_and_changes_no_number(fixture_data, monkeypatch):
    monkeypatch.setattr(progress, "EVERY", 0.0)  # every call into TensorFlow redraws
    mnist, shown = data.load("mnist"), []
    plain, watched = _train(mnist), _train(mnist, show=shown.append)
    # Byte for byte: the callback reads the step counter and the clock, nothing else.
    assert plain[0] == watched[0]
    pd.testing.assert_frame_equal(plain[1], watched[1], check_exact=True)
    assert plain[2] == watched[2]
    pd.testing.assert_frame_equal(plain[3], watched[3], check_exact=True)
    # 240 training images in batches of 8: 30 steps, 4 per call into TensorFlow.
    first = [line for line in shown if line.startswith("[t] epoch 1/2  ")]
    steps = [int(line.split(" steps")[0].split()[-1].split("/")[0]) for line in first]
    assert steps == [0, 4, 8, 12, 16, 20, 24, 28, 30]
    assert all("/30 steps" in line for line in first)
    assert "left in this epoch" in first[-1]
    assert [line for line in shown if " done in " in line][0].startswith("[t] epoch 1/2 done in ")
    assert shown[-1].startswith("[t] trained 2 epochs in ")


@pytest.mark.slow
def test_a_notebook_shows_progress_in_place_and_logs_one_line_per_epoch(fixture_data, tmp_path):
    class Kept(logging.Handler):
        def emit(self, record):
            logged.append(record.getMessage())

    logged, logger, kept = [], logging.getLogger("papermill"), Kept()
    level, logger.level = logger.level, logging.INFO
    logger.addHandler(kept)
    try:
        papermill.execute_notebook(
            str(exercises.get_exercise("dense_mnist").notebook_path),
            str(tmp_path / "out.ipynb"),
            parameters={"run_name": "smoke", "results_dir": str(tmp_path), "epochs": 2},
            kernel_name="imagelab",
            progress_bar=False,
            log_output=True,
            cwd=str(ROOT),
        )
    finally:
        logger.removeHandler(kept)
        logger.level = level
    epochs = [m for m in logged if m.startswith("[smoke] epoch ")]
    assert len(epochs) == 2 and all(" steps" not in m for m in logged), logged
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    fit = next(c for c in executed.cells if "run.fit(model)" in c.source)
    drawn = [o for o in fit.outputs if o.output_type == "display_data"]
    assert [set(o.data) for o in drawn] == [{"text/html"}]  # updated in place, no plain text
    assert "[smoke] trained 2 epochs in " in drawn[0].data["text/html"]
    assert executed.cells[-1].outputs[0].text.startswith("[smoke] wrote 7 files under ")

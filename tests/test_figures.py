"""Showing is not writing, and a stored figure is what today's code draws from its results.

A notebook that shows stored results draws their figures and writes no file; a run it trains
saves them. Every figure the project stores is redrawn from its stored results by the code
the notebooks draw with (``imagelab.running.redraw``) and must come out byte for byte as committed:
a plot change that changes one fails here, and ``imagelab figures`` draws them anew.
"""

from pathlib import Path

import pytest

from imagelab import cli, data, plots, records
from imagelab.results import exercises, manifest
from imagelab.running import redraw
from imagelab.running.run import start_run

from .conftest import copy_committed_run


def _files(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root`` with its modification time and bytes."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run_all(results_dir, **overrides):
    """What Run All does with a notebook of exercise one, from start_run to the last figure."""
    params = exercises.notebook_defaults("dense_mnist") | {
        "run_name": "mine",
        "results_dir": str(results_dir),
        "epochs": 1,
    }
    run = start_run("dense_mnist", params | overrides)
    run.fit(run.build_model())
    for draw in (run.plot_history, run.plot_confusion, run.plot_misclassified):
        plots.close(draw())
    return run


def test_showing_stored_results_writes_no_file(fixture_data, tmp_path, capsys):
    trained = _run_all(tmp_path)
    assert not trained.cached
    figures = {f"figures/mine_{kind}.png" for kind in trained.exercise.figures}
    assert figures <= set(_files(tmp_path))  # a run trained here saves its figures
    before = _files(tmp_path)
    shown = _run_all(tmp_path)
    assert shown.cached and "showing the stored results" in capsys.readouterr().out
    assert _files(tmp_path) == before  # not one file written, not even the same bytes again


def _verified_mnist_here() -> bool:
    folder = data.data_dir()
    if folder is None or not (folder / "mnist.npz").is_file():
        return False
    _, _, checksums, _ = data.load_raw("mnist", str(folder))
    sizes = data.KNOWN_SIZES["mnist"]
    return not data.canonical_differences("mnist", checksums, sizes)


def _one_of_each_kind() -> list[redraw.StoredFigure]:
    """A stored figure of each kind the project draws: a run's three, the Playground's two and
    its search's, a sweep's summary and the benchmark's."""
    wanted = {
        "figures/dense_mnist_history.png",
        "figures/dense_mnist_confusion.png",
        "figures/playground_spiral_loss.png",
        "figures/playground_spiral_surface.png",
        "figures/playground_search_success.png",
        "sweeps/cnn_dropout/summary.png",
        "benchmarks/results.png",
    }
    if _verified_mnist_here():
        wanted.add("figures/dense_mnist_misclassified.png")
    found = [f for f in redraw.project_figures() if records.relative(f.path) in wanted]
    assert {records.relative(f.path) for f in found} == wanted
    return found


def test_todays_code_draws_each_kind_of_stored_figure_as_committed():
    # The whole set (each sweep's runs too) is redrawn by the slow test below.
    outcome = redraw.compare(_one_of_each_kind())
    assert not outcome.different, (
        f"today's plot code draws {[records.relative(p) for p in outcome.different]} otherwise "
        "than committed: `imagelab figures` redraws the stored figures; commit them with the "
        "plot change, and `make report` renders the report again"
    )
    assert not outcome.left and outcome.same


def test_a_plot_change_is_caught(monkeypatch):
    # The check above can fail: a history drawn with another title is another file.
    history = plots.history
    monkeypatch.setattr(plots, "history", lambda frame, title="": history(frame, title + "!"))
    found = [f for f in _one_of_each_kind() if f.path.name == "dense_mnist_history.png"]
    assert redraw.compare(found).different == [found[0].path]


@pytest.mark.slow
def test_every_stored_figure_is_what_todays_code_draws():
    found = redraw.project_figures()
    outcome = redraw.compare(found)
    assert not outcome.different, [records.relative(p) for p in outcome.different]
    # Left alone only: a sweep whose file plans more runs than its summary holds (it is still
    # to run), and test images the data folder does not hold.
    for path, why in outcome.left.items():
        assert path.name == "summary.png" or "its test images are not in the data" in why, why
    assert len(outcome.same) >= 100


def test_imagelab_figures_rewrites_only_the_figures_that_differ(fixture_data, tmp_path, capsys):
    stored = copy_committed_run("relu_mnist", tmp_path)
    history, confusion = stored.figure("history"), stored.figure("confusion")
    # Figures drawn by older plot code, recorded in the run's manifest as its set: the store
    # reads the run, and only the drawing tells them from today's.
    confusion.write_bytes(history.read_bytes())
    history.write_bytes(stored.figure("misclassified").read_bytes())
    for figure in (confusion, history):
        manifest.refresh(stored, figure)
    before = _files(tmp_path)

    assert cli.main(["figures", "--check", "--results-dir", str(tmp_path)]) == 1
    said = capsys.readouterr().out
    assert _files(tmp_path) == before
    assert "differs: " in said and "relu_mnist_confusion.png" in said
    # The fixtures are not the data the run was tested on: its misclassified images stay.
    assert "left as it is: " in said and "its test images are not in the data here" in said

    assert cli.main(["figures", "--results-dir", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    assert "redrew: " in said and "`make report` renders it again" in said
    committed = records.run_files("relu_mnist")
    assert confusion.read_bytes() == committed.figure("confusion").read_bytes()
    assert history.read_bytes() == redraw_history("relu_mnist", tmp_path)
    after = _files(tmp_path)
    unchanged = [name for name in before if name.endswith("misclassified.png")]
    assert unchanged and all(after[name] == before[name] for name in unchanged)


def redraw_history(name: str, results_dir: Path) -> bytes:
    """The history figure of ``name`` as today's code draws it."""
    [figure] = [f for f in redraw.run_figures(results_dir) if f.path.name == f"{name}_history.png"]
    drawn = figure.draw()
    try:
        return plots.save(drawn, results_dir / "drawn.png").read_bytes()
    finally:
        plots.close(drawn)

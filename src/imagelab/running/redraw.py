"""The figures the project stores beside its results, drawn again by today's code.

A figure is a result drawn, not measured: redrawn from the stored history, predictions,
provenance and tables (through ``imagelab.figures``, what the notebooks draw with) it must come
out byte for byte as stored, as the numbers do. ``project_figures`` lists every one (the runs
in the project's folders, the Playground search, each sweep's runs and summary, the
benchmark), ``run_figures`` the runs under any results folder; ``compare`` draws them and says
which differ, ``redraw`` rewrites those (``imagelab figures``; ``--check`` only compares, as
tests/test_figures.py does). A plot change that changes a stored figure is caught there, and
``imagelab figures`` then draws the stored ones anew, to be committed with the change.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imagelab import figures, plots, records
from imagelab.errors import UserError
from imagelab.results import manifest, store
from imagelab.results.exercises import get_exercise

SEARCH = "playground_search"  # playground_search.RUN_NAME, whose module imports TensorFlow
DENSE = ("dense_mnist", "relu_mnist")  # their notebooks flatten the images (run.start_run)


@dataclass(frozen=True)
class StoredFigure:
    """A figure file and how to draw it from the stored results it shows."""

    path: Path
    draw: Callable[[], object]  # () -> a matplotlib Figure
    run: records.RunFiles | None = None  # the run whose set (and manifest) holds the figure


@dataclass
class Outcome:
    """What ``compare`` or ``redraw`` found: figures drawn as stored, ones that differ (or are
    missing), and ones left as they are, with why."""

    same: list[Path] = field(default_factory=list)
    different: list[Path] = field(default_factory=list)
    left: dict[Path, str] = field(default_factory=dict)


def run_figures(results_dir: str | Path | None = None, images: dict | None = None) -> list:
    """Every figure of every stored run under ``results_dir`` (default: the project's own
    folders), the Playground search's among them. ``images`` caches test sets between calls."""
    folder = Path(results_dir) if results_dir else records.PROJECT_ROOT
    images = {} if images is None else images
    found = []
    for provenance in sorted((folder / "scores").glob("*.json")):
        name = provenance.stem
        if name == SEARCH:
            found.append(_search_figure(folder))
            continue
        stored = store.load_run(name, folder)
        exercise = get_exercise(stored.provenance["exercise"])
        for kind in exercise.figures:
            found.append(
                StoredFigure(stored.files.figure(kind), _drawer(stored, kind, images), stored.files)
            )
    return found


def project_figures() -> list[StoredFigure]:
    """Every figure the project stores for its results: its runs and the Playground search,
    each sweep's runs and summary, and the benchmark's."""
    from imagelab.results import tables
    from imagelab.running import sweeps

    images: dict = {}
    found = run_figures(None, images)
    for spec in sorted((records.PROJECT_ROOT / "sweeps").glob("*.yaml")):
        sweep = sweeps.load(spec)
        if (sweep.folder / "scores").is_dir():
            found += run_figures(sweep.folder, images)
        if (sweep.folder / "summary.png").is_file():
            found.append(StoredFigure(sweep.folder / "summary.png", _sweep_drawer(sweep)))
    bench = tables.BENCHMARK_FILE
    if bench.is_file():
        drawing = lambda: plots.benchmarks(tables.read_benchmark(bench))  # noqa: E731
        found.append(StoredFigure(bench.with_name("results.png"), drawing))
    return found


def compare(found: list[StoredFigure], write: bool = False) -> Outcome:
    """Draw each figure and compare it with the file, byte for byte; with ``write``, replace
    each one that differs (atomically). A figure that cannot be drawn here (its test images
    are not in the data folder, a sweep still running) is left as it is, with why."""
    outcome = Outcome()
    with tempfile.TemporaryDirectory(prefix="imagelab-figures-") as scratch:
        for number, figure in enumerate(found):
            try:
                drawn = figure.draw()
            except UserError as error:
                outcome.left[figure.path] = str(error)
                continue
            try:
                fresh = plots.save(drawn, Path(scratch) / f"{number}.png").read_bytes()
            finally:
                plots.close(drawn)
            if figure.path.is_file() and figure.path.read_bytes() == fresh:
                outcome.same.append(figure.path)
                continue
            outcome.different.append(figure.path)
            if write:
                with records.atomic_path(figure.path) as tmp:
                    tmp.write_bytes(fresh)
                if figure.run is not None:  # the run's manifest records the figure drawn again
                    manifest.refresh(figure.run, figure.path)
    return outcome


def _drawer(stored: store.StoredRun, kind: str, images: dict) -> Callable[[], object]:
    name, provenance = stored.name, stored.provenance
    if kind == "history":
        return lambda: figures.history(name, stored.history)
    if kind == "loss":
        return lambda: figures.loss(name, stored.history, provenance["parameters"])
    if kind == "surface":
        return lambda: _surface(stored)
    from imagelab import data

    class_names = data.CLASS_NAMES[provenance["data"]["dataset"]]
    if kind == "confusion":
        return lambda: figures.confusion(name, stored.predictions, class_names)
    if kind == "misclassified":
        return lambda: figures.misclassified(
            stored.predictions, _test_images(stored, images), class_names
        )
    raise ValueError(f"no drawing for a run's {kind!r} figure")


def _test_images(stored: store.StoredRun, cache: dict) -> np.ndarray:
    """The test images ``stored`` was tested on, in order, as its notebook loaded them: the
    data folder's, when they are the same data (by checksums); else a UserError."""
    from imagelab import data

    recorded = stored.provenance["data"]
    limit = stored.provenance["parameters"].get("data_limit")
    key = (recorded["dataset"], limit, stored.provenance["exercise"] in DENSE)
    if key not in cache:
        cache[key] = data.load(key[0], limit=limit, flatten=key[2])
    here = cache[key]
    if here.checksums != recorded.get("checksums") or len(here.x_test) != recorded.get("n_test"):
        raise UserError(
            f"{records.relative(stored.files.figure('misclassified'))}: its test images are not "
            f"in the data here ({here.source} is other data than the run was tested on)"
        )
    return here.x_test


def _surface(stored: store.StoredRun) -> object:
    from imagelab.quiet import quiet_tensorflow

    quiet_tensorflow()
    from imagelab import playground

    settings = stored.provenance["parameters"]
    model, spiral = playground.network(settings)
    model.set_weights([np.array(w, "float32") for w in stored.provenance["weights"]])
    grid = playground.surface(model, settings["features"])
    return figures.surface(stored.name, settings, grid, spiral)


def _search_figure(folder: Path) -> StoredFigure:
    def draw() -> object:
        from imagelab.running import playground_search

        return figures.search(playground_search.read_search(folder))

    return StoredFigure(records.run_files(SEARCH, folder).figure("success"), draw)


def _sweep_drawer(sweep: object) -> Callable[[], object]:
    """The summary figure from the sweep's stored summary.csv (checked against the sweep
    file's plan: a sweep whose file gained runs is left until `imagelab sweep` runs them)."""

    def draw() -> object:
        from imagelab.results import tables
        from imagelab.running.sweeps import summary_schema

        table = tables.read(sweep.folder / "summary.csv", summary_schema(sweep.path))
        for name, values in sweep.grid.items():  # the file's text back to the grid's values
            table[name] = table[name].map({str(value): value for value in values})
        return figures.sweep_summary(
            table, list(sweep.grid), sweep.name, sweep.exercise, len(sweep.seeds)
        )

    return draw

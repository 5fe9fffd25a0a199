"""One run of an exercise notebook: ``start_run`` checks and prepares it, ``Run`` trains it.

``start_run`` is the first call of every exercise notebook: it stops on a parameter the
notebook does not have (papermill only warns about those), validates the parameters, guards the
canonical run names, asks ``results.freshness`` whether stored results still answer them, seeds
TensorFlow and loads the data. ``Run.fit`` then trains, or shows the stored results; a run
whose loss diverged (``check_converged``) raises ``Diverged`` before it writes a file.
"""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from imagelab import data as datasets
from imagelab import figures, precision, records
from imagelab.errors import Diverged, UserError
from imagelab.results import staging, store
from imagelab.results.exercises import (
    CANONICAL_NAMES,
    Exercise,
    get_exercise,
    normal,
    notebook_defaults,
    settings_of,
    unknown_parameter,
    validate,
)
from imagelab.results.fingerprint import code_cells, python_source
from imagelab.results.freshness import current_fingerprint, freshness, stale_reasons
from imagelab.results.outputs import (
    RETRAIN,
    beside,
    published_files,
    published_message,
    results_dir_for,
    run_provenance,
    stage_figures,
    stored_results_message,
    wrote,
)
from imagelab.running import progress

# Names IPython puts in every kernel's namespace (those starting with "_" aside).
IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})


def build_model(exercise: str, p: dict[str, object]):  # noqa: ANN201 (a keras.Model)
    """The exercise's model, built with the parameters ``p``."""
    from imagelab.quiet import quiet_tensorflow

    quiet_tensorflow()
    from imagelab import models  # TensorFlow loads here, not when the package is imported

    number_format = p.get("precision", precision.FLOAT32)
    precision.apply(number_format)
    if exercise in ("dense_mnist", "relu_mnist"):
        model = models.dense(p["units"], p["activation"])
    elif exercise == "cifar10_cnn":
        model = models.cifar10_cnn(p["filters"], p["dense_units"], p["dropout"])
    else:
        model = models.mnist_cnn(p["filters"], p["dense_units"], p["dropout"])
    return model if number_format == precision.FLOAT32 else precision.float32_output(model)


def fit_settings(p: dict[str, object]) -> dict[str, object]:
    """``training.fit``'s settings from an exercise's parameters ``p``: what a notebook run
    trains with, and what the benchmark and the epoch profile time."""
    names = ("optimizer", "learning_rate", "decay", "epochs", "batch_size", "validation_split",
             "seed", "shuffle")  # fmt: skip
    settings = {name: p[name] for name in names}
    return settings | {"validate_on_test": p.get("validate_on_test", False)}


def steps_per_epoch(p: dict[str, object], data: datasets.Dataset) -> int:
    """Training batches per epoch: the training images (less the validation split, which
    ``training.fit`` holds out of them unless it validates on the test set) over the batch."""
    n = len(data.x_train)
    n = n if p.get("validate_on_test") else int(n * (1 - p["validation_split"]))
    return math.ceil(n / p["batch_size"])


@dataclass
class Run:
    """One run of an exercise: its parameters, data and files; created by ``start_run``."""

    exercise: Exercise
    params: dict[str, object]
    files: records.RunFiles
    data: datasets.Dataset
    stored: store.StoredRun | None  # the results shown instead of training, if up to date
    git: dict = field(default_factory=records.git_state)  # the code as the run started
    fingerprint: dict = field(default_factory=dict)
    load_at_start: list = field(default_factory=lambda: list(os.getloadavg()))
    result: object = None  # training.FitResult once fitted or loaded
    attempt: staging.Attempt | None = None  # where this attempt stages its files, once trained
    written: list[Path] = field(default_factory=list)  # every file this run published

    @property
    def name(self) -> str:
        return self.files.run_name

    def wrote(self) -> str:
        """Every file this run wrote, by name (the notebook's last cell prints it)."""
        return wrote(self)

    @property
    def cached(self) -> bool:
        return self.stored is not None

    def stored_beside(self, other: str) -> store.StoredRun | None:
        """The stored run ``other`` beside this one (``outputs.beside``), None if not run."""
        return store.load_run(other, beside(other, self.params["results_dir"]))

    @property
    def data_cut(self) -> str | None:
        """What ``data_limit`` left of the data set, in words; None when the run saw it all."""
        return data_cut(self.data, self.params["data_limit"])

    def build_model(self):  # noqa: ANN201 (a keras.Model; keras is imported lazily by models)
        """The exercise's model, built with this run's parameters (after seeding)."""
        return build_model(self.exercise.name, self.params)

    def fit(self, model: object):  # noqa: ANN201 (training.FitResult)
        """Train and evaluate, then publish the run's set as one: history, score, predictions,
        figures and provenance (last); or show the stored results when they are up to date."""
        from imagelab import training

        if self.stored is not None:
            seconds = self.stored.epoch_seconds
            self.result = training.FitResult(
                history=self.stored.history,
                score=self.stored.score,
                predictions=self.stored.predictions,
                epoch_seconds=seconds,
                train_seconds=float(sum(seconds)),
            )
            print(f"[{self.name}] these are the stored results, not a new training; {RETRAIN}")
            return self.result
        started, p = dt.datetime.now(dt.UTC), self.params
        cpu_started = time.process_time()
        with progress.showing(model, self.name, p["epochs"], steps_per_epoch(p, self.data)):
            self.result = training.fit(model, self.data, **fit_settings(p), label=self.name)
        check_converged(
            self.name,
            self.result.history,
            self.result.score["loss"],
            p["learning_rate"],
            p["epochs"],
        )
        cpu_seconds = time.process_time() - cpu_started
        # Staged, then published as one set, figures too (imagelab.results.staging): another
        # attempt (a sweep's orphan) never mixes its files in; a kill leaves this set or the last.
        self.attempt = staging.Attempt(self.files, force=p["force"])
        with self.attempt.writing() as staged:
            records.write_csv(self.result.history, staged.history)
            records.write_csv(pd.DataFrame([self.result.score]), staged.score)
            records.write_csv(self.result.predictions, staged.predictions)
            stage_figures(self, staged)
            self.attempt.publish(self._provenance(model, started, cpu_seconds))
        self.written += published_files(self)
        print(
            f"[{self.name}] test loss {self.result.score['loss']:.4f}, "
            f"test accuracy {self.result.score['acc']:.4f}; {published_message(self)}"
        )
        return self.result

    def _provenance(self, model: object, started: dt.datetime, cpu_seconds: float) -> dict:
        return run_provenance(
            self,
            model,
            parameters=settings_of(self.params),
            data={
                "dataset": self.data.name,
                "source": self.data.source,
                "checksums": self.data.checksums,
                "verified_against": self.data.verified_against,
                "n_train": len(self.data.x_train),
                "n_test": len(self.data.x_test),
            },
            score=self.result.score,
            started=started,
            cpu_seconds=cpu_seconds,
        )

    def figure(self, kind: str):  # noqa: ANN201 (a matplotlib Figure)
        """The run's figure ``kind`` (history, confusion or misclassified), drawn as
        ``imagelab.figures`` draws it (so a redraw from stored results gives the same bytes)."""
        if kind == "history":
            return figures.history(self.name, self.result.history)
        if kind == "confusion":
            return figures.confusion(self.name, self.result.predictions, self.data.class_names)
        return figures.misclassified(
            self.result.predictions, self.data.x_test, self.data.class_names
        )

    def plot_history(self):  # noqa: ANN201
        """The 2019 history figure (published with the run as figures/<run>_history.png)."""
        return self.figure("history")

    def plot_confusion(self):  # noqa: ANN201
        """The test-set confusion matrix (published as figures/<run>_confusion.png)."""
        return self.figure("confusion")

    def plot_misclassified(self):  # noqa: ANN201
        """A grid of misclassified test images (published as figures/<run>_misclassified.png)."""
        return self.figure("misclassified")


def notebook_parameters(exercise: str, namespace: dict[str, object]) -> dict[str, object]:
    """The values of the notebook's parameters in ``namespace`` (its ``globals()``), after
    refusing any other plain value no cell of the notebook defines (``-p epoch 2``)."""
    defaults = notebook_defaults(exercise)
    notebook = get_exercise(exercise).notebook
    for name in _unknown_names(exercise, namespace, defaults):
        raise unknown_parameter(name, list(defaults), notebook)
    return {name: namespace[name] for name in defaults if name in namespace}


def start_run(exercise: str, namespace: dict[str, object]) -> Run:
    """Validate a notebook's parameters, then seed, load the data and decide whether to train.

    ``namespace`` is the notebook's ``globals()``: the names of its tagged ``parameters`` cell
    are read from it, so papermill's injected values and interactive edits both count, and any
    other plain value in it that no cell of the notebook defines (``papermill -p epoch 2``) is
    an unknown parameter.

    Stops with a UserError before any training when a parameter is unknown or wrong (a seed
    beyond 32 bits, a data_limit too small to split, a results_dir that is no writable folder),
    when a canonical run name is used with non-canonical settings or data (by content:
    ``check_canonical_data``), or when ``run_name`` already holds another run's results or
    damaged ones (unless ``force=True``; the files of a run killed before it finished are
    replaced). Stored results that are up to date are shown instead of retraining, unless
    ``force=True``.
    """
    params = notebook_parameters(exercise, namespace)
    validate(exercise, params)
    params["results_dir"] = results_dir_for(params["run_name"], params["results_dir"])
    precision.check(params["precision"])
    state, stored = check_stored(exercise, params)
    try:
        data = datasets.load(
            get_exercise(exercise).dataset,
            limit=params["data_limit"],
            flatten=exercise in ("dense_mnist", "relu_mnist"),
        )
    except UserError:
        raise
    except ValueError as error:  # data_limit beyond the data: the user's to fix, one paragraph
        raise UserError(str(error)) from None
    check_canonical_data(params["run_name"], data)
    up_to_date = state == "up-to-date" and not stale_reasons(stored.provenance, data.checksums)
    files = records.run_files(params["run_name"], params["results_dir"])
    if up_to_date and not params["force"]:
        print(stored_results_message(files.run_name, stored.provenance))
        return Run(get_exercise(exercise), dict(params), files, data, stored)
    from imagelab.quiet import quiet_tensorflow

    quiet_tensorflow()
    from imagelab import training

    training.configure_threads()
    training.set_seed(params["seed"])
    cut = data_cut(data, params["data_limit"])
    seen = (
        f"data_limit={params['data_limit']}: {cut} (data_limit cuts both; this run's scores are "
        "not those of a full-data run, nor 2019's)"
        if cut
        else f"{len(data.x_train)} training and {len(data.x_test)} test images"
    )
    print(
        f"[{files.run_name}] {seen}, from {data.source} (verified against {data.verified_against})"
    )
    return Run(
        get_exercise(exercise),
        dict(params),
        files,
        data,
        None,
        fingerprint=current_fingerprint(exercise, params["precision"]),
    )


def data_cut(data: datasets.Dataset, limit: int | None) -> str | None:
    """What ``data_limit`` left of the data set, in words ('the first 2000 of 60000 training
    images and the first 2000 of 10000 test images'); None without a limit. ``data.load``
    applies the limit to both splits (and is fingerprinted, so it stays as it is)."""
    if limit is None:
        return None
    folder = datasets.data_dir()
    arrays = datasets.load_raw(data.name, str(folder) if folder else None)[0]  # cached

    def part(kept: int, total: int, images: str) -> str:
        return f"all {total} {images}" if kept >= total else f"the first {kept} of {total} {images}"

    return (
        f"{part(len(data.x_train), len(arrays['x_train']), 'training images')} and "
        f"{part(len(data.x_test), len(arrays['x_test']), 'test images')}"
    )


def check_canonical_data(run_name: str, data: datasets.Dataset) -> None:
    """A canonical run name needs the verified data, by content: its checksums and sizes equal
    the built-in table's, array by array (``data.canonical_differences``); never by where the
    file lies or which table vouched for it. Checked before anything is written."""
    differences = datasets.canonical_differences(data.name, data.checksums, data.sizes)
    if run_name in CANONICAL_NAMES and differences:
        raise UserError(
            f"run_name {run_name!r} is reserved for runs on the full, verified data set, and the "
            f"data from {data.source} is not that copy ({'; '.join(differences)}). Give the run "
            f"another run_name, for example run_name={run_name + '_other_data'!r}, so the "
            "committed results stay as they are"
        )


def check_converged(
    run_name: str, history: pd.DataFrame, test_loss: float, learning_rate: object, epochs: int
) -> None:
    """Raise ``Diverged`` when training's loss stopped being a finite number (it overflowed,
    usually from too large a learning rate; training stops after that epoch, see
    ``training.EpochLog``): such a run is not stored under its name."""
    losses = history[history["metric"] == "loss"].sort_values(["epoch", "data"])
    bad = losses[~losses["value"].map(math.isfinite)]
    if bad.empty and math.isfinite(test_loss):
        return
    where = (
        f"its {bad.iloc[0]['data']} loss became {bad.iloc[0]['value']} at epoch "
        f"{int(bad.iloc[0]['epoch'])} of {epochs}, where training stopped"
        if len(bad)
        else f"its test loss was {test_loss}"
    )
    raise Diverged(
        f"{run_name} diverged: {where}, so nothing was stored under its name. Train it again "
        f"with a smaller learning_rate (this run's: {learning_rate!r}, None for the "
        "optimizer's default)"
    )


def check_stored(exercise: str, params: dict[str, object]) -> tuple[str, store.StoredRun | None]:
    """What ``run_name`` holds (``freshness``: state and stored run), after refusing to
    replace another run's results or damaged ones unless ``force=True`` (the files of a run
    killed before it finished are replaced: its provenance, written last, is missing)."""
    try:
        state, stored, _ = freshness(exercise, params)
    except store.DamagedResult:
        provenance = records.run_files(params["run_name"], params["results_dir"]).provenance
        if not params["force"] and provenance.is_file():
            raise
        state, stored = "damaged", None
    if state == "different" and not params["force"]:
        raise UserError(
            f"run_name {params['run_name']!r} already holds the results of a run with other "
            f"settings ({_differences(stored.provenance['parameters'], settings_of(params))}); "
            "choose a new run_name, or pass force=True to replace them"
        )
    return state, stored


def _unknown_names(exercise: str, namespace: dict[str, object], defaults: dict) -> list[str]:
    """Plain values in the namespace that are not parameters and that no cell of the notebook
    defines: what papermill injected for a misspelt ``-p`` (it only warns about them)."""
    defined = _names_defined_in(get_exercise(exercise).notebook_path)
    return sorted(
        name
        for name, value in namespace.items()
        if not name.startswith("_")
        and name not in defaults
        and name not in defined
        and name not in IPYTHON_NAMES
        and not inspect.ismodule(value)
        and not callable(value)
    )


def _names_defined_in(path: object) -> set[str]:
    names: set[str] = set()
    for source, _ in code_cells(path.read_text()):
        for node in ast.walk(ast.parse(python_source(source))):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
    return names


def _differences(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if normal(old.get(k)) != normal(new.get(k)))
    return ", ".join(f"{k}: stored {old.get(k)!r}, now {new.get(k)!r}" for k in keys)

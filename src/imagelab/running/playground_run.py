"""Exercise three, the Playground spiral, on the path of every exercise: ``start`` checks the
notebook's parameters and asks ``imagelab.results.store`` whether the stored run still answers them;
``PlaygroundRun`` trains the network (or shows the stored one), stores it with the provenance
every run has, draws its figures and runs or reads the search for the smallest network.

``imagelab.start_run("playground_spiral", globals())`` hands over to ``start`` after the check
for unknown parameters (``run.notebook_parameters``), so notebook 06 reads like notebooks 01-05.
This module uses ``imagelab.running.run``'s shared steps; ``run`` knows nothing of it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from imagelab import figures, playground, plots, records
from imagelab.errors import UserError
from imagelab.params import check_choice, check_parameter
from imagelab.playground import (
    ACTIVATIONS,
    FEATURE_SETS,
    FEATURES,
    MAX_LAYERS,
    MAX_NEURONS,
    NUM_SAMPLES,
    REGULARIZATIONS,
)
from imagelab.results import staging, store
from imagelab.results.exercises import (
    PLAYGROUND,
    RUN_CONTROLS,
    check_canonical_name,
    notebook_defaults,
)
from imagelab.results.freshness import current_fingerprint, freshness
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
from imagelab.running import playground_search
from imagelab.running.run import check_converged, check_stored

# What one spiral run trains with; the notebook's other parameters are the run controls and
# the search's (``search``, ``search_feature_sets``, ``search_hidden``, ``search_seeds``).
SETTINGS = (
    "features", "hidden", "activation", "learning_rate", "later_learning_rate", "switch_epoch",
    "regularization", "regularization_rate", "noise", "batch_size", "train_ratio", "epochs",
    "seed",
)  # fmt: skip


# --- settings --------------------------------------------------------------------------


def check_settings(
    *,
    features: list[str],
    hidden: list[int],
    activation: str,
    learning_rate: float,
    later_learning_rate: float | None,
    switch_epoch: int | None,
    regularization: str | None,
    regularization_rate: float,
    noise: int | float,
    batch_size: int,
    train_ratio: float,
    epochs: int,
    seed: int,
) -> None:
    """Raise a ValueError naming the first Playground setting that is not allowed, and why.

    Called once, at the notebook's entry, so the code below it can trust its inputs.
    """
    if not isinstance(features, (list, tuple)) or not features:
        raise UserError(
            f"features must be a non-empty list drawn from {FEATURES}; got {features!r}"
        )
    for feature in features:
        check_choice("features", feature, FEATURES)
    if len(set(features)) != len(features):
        raise UserError(f"features must not repeat a feature; got {features!r}")
    sizes_ok = (
        isinstance(hidden, (list, tuple))
        and len(hidden) <= MAX_LAYERS
        and all(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_NEURONS for n in hidden
        )
    )
    if not sizes_ok:
        raise UserError(
            f"hidden must be a list of at most {MAX_LAYERS} layer sizes, each an integer from 1 "
            f"to {MAX_NEURONS} (the Playground's limits; [] means no hidden layer); got {hidden!r}"
        )
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("regularization", regularization, REGULARIZATIONS)
    _check_number("learning_rate", learning_rate, lambda v: v > 0, "a number > 0")
    _check_number("regularization_rate", regularization_rate, lambda v: v >= 0, "a number >= 0")
    check_parameter("epochs", epochs)
    check_parameter("batch_size", batch_size)
    check_parameter("seed", seed)
    if (later_learning_rate is None) != (switch_epoch is None):
        raise UserError(
            "later_learning_rate and switch_epoch go together: give both or neither; got "
            f"later_learning_rate={later_learning_rate!r}, switch_epoch={switch_epoch!r}"
        )
    if later_learning_rate is not None:
        _check_number("later_learning_rate", later_learning_rate, lambda v: v > 0, "a number > 0")
        _check_number(
            "switch_epoch",
            switch_epoch,
            lambda v: isinstance(v, int) and 2 <= v <= epochs,
            f"an integer from 2 to epochs ({epochs}), the first epoch at the later rate",
        )
    _check_number("noise", noise, lambda v: 0 <= v <= 50, "a number from 0 to 50 (the slider)")
    _check_number(
        "train_ratio",
        train_ratio,
        lambda v: 0 < v < 1,
        "a number strictly between 0 and 1 (0.5 is the Playground's 50%)",
    )
    n_train = int(NUM_SAMPLES * train_ratio)
    if not 1 <= batch_size <= n_train:
        raise UserError(
            f"batch_size must be from 1 to the number of training points ({n_train}); "
            f"got {batch_size!r}"
        )


def check_grid(settings: dict[str, object], grid: dict[str, list]) -> None:
    """Raise a ValueError naming the first search parameter that is not allowed: feature sets
    from ``playground.FEATURE_SETS``, hidden shapes the Playground allows, at least one seed."""
    for name, value in grid.items():
        if not isinstance(value, list) or not value:
            raise UserError(f"{name} must be a non-empty list; got {value!r}")
    for name in grid["search_feature_sets"]:
        check_choice("search_feature_sets", name, tuple(FEATURE_SETS))
    for shape in grid["search_hidden"]:
        check_settings(**(settings | {"hidden": shape}))
    for seed in grid["search_seeds"]:
        check_parameter("seed", seed)


def _check_number(name: str, value: object, check: object, allowed: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not check(value):
        raise UserError(f"{name} must be {allowed}; got {value!r}")


def start(params: dict[str, object]) -> PlaygroundRun:
    """Check the notebook's parameters, refuse to overwrite other results, and return the run:
    with the stored results when they are up to date (and ``force`` is False), else ready to
    train on one TensorFlow thread (these networks are so small that a pool of threads costs
    more than the arithmetic: an epoch of ten networks took 11 ms on the default pool and 2 ms
    on one thread here).
    """
    settings = {name: params[name] for name in SETTINGS}
    try:
        check_settings(**settings)
        for name in RUN_CONTROLS:
            check_parameter(name, params[name])
        if not isinstance(params["search"], bool):
            raise UserError(f"search must be True or False; got {params['search']!r}")
        check_grid(settings, {name: params[name] for name in playground_search.GRID})
        if params["run_name"] == playground_search.RUN_NAME:
            raise UserError(f"run_name {params['run_name']!r} holds the search; choose another")
        check_canonical_name(PLAYGROUND.name, settings | _controls(params), notebook_defaults(
            PLAYGROUND.name))  # fmt: skip
    except UserError:
        raise
    except ValueError as error:
        raise UserError(str(error)) from None
    params["results_dir"] = results_dir_for(params["run_name"], params["results_dir"])
    state, stored = check_stored(PLAYGROUND.name, settings | _controls(params))
    files = records.run_files(params["run_name"], params["results_dir"])
    if state == "up-to-date" and not params["force"]:
        print(stored_results_message(files.run_name, stored.provenance))
        return PlaygroundRun(dict(params), files, stored)
    from imagelab import training
    from imagelab.quiet import quiet_tensorflow

    quiet_tensorflow()
    training.configure_threads(1)
    return PlaygroundRun(
        dict(params), files, None, fingerprint=current_fingerprint(PLAYGROUND.name)
    )


def _controls(params: dict[str, object]) -> dict[str, object]:
    return {name: params[name] for name in RUN_CONTROLS}


@dataclass
class PlaygroundRun:
    """One run of the Playground spiral; created by ``start``."""

    params: dict[str, object]
    files: records.RunFiles
    stored: store.StoredRun | None  # the results shown instead of training, if up to date
    git: dict = field(default_factory=records.git_state)  # the code as the run started
    fingerprint: dict = field(default_factory=dict)
    load_at_start: list = field(default_factory=lambda: list(os.getloadavg()))
    result: playground.PlaygroundResult | None = None
    attempt: staging.Attempt | None = None  # where this attempt stages its files, once trained
    searched: bool = False  # whether this run trained the search (else it shows the stored one)
    written: list[Path] = field(default_factory=list)  # every file this run published
    exercise = PLAYGROUND

    @property
    def name(self) -> str:
        return self.files.run_name

    def wrote(self) -> str:
        """Every file this run wrote, by name (the notebook's last cell prints it)."""
        return wrote(self)

    @property
    def settings(self) -> dict[str, object]:
        return {name: self.params[name] for name in SETTINGS}

    @property
    def data(self) -> playground.SpiralData:
        """The run's spiral, split by its seed (the same points the network trains on)."""
        s = self.settings
        return playground.spiral(s["noise"], s["train_ratio"], s["seed"])

    def build_model(self):  # noqa: ANN201 (a keras.Model; keras is imported lazily)
        """The untrained network, its initial weights drawn from the run's seed."""
        return playground.network(self.settings)[0]

    def fit(self, model: object) -> playground.PlaygroundResult:
        """Train ``model`` and publish the run's set as one (history, score, figures and
        provenance, last), or, when the stored results are up to date, show them and give
        ``model`` their trained weights."""
        if self.stored is not None:
            provenance = self.stored.provenance
            model.set_weights([np.array(w, "float32") for w in provenance["weights"]])
            seconds = self.stored.epoch_seconds
            self.result = playground.PlaygroundResult(
                self.stored.history, provenance["score"], seconds, float(sum(seconds)), 1
            )
            print(f"[{self.name}] these are the stored results, not a new training; {RETRAIN}")
            return self.result
        started, cpu_started = dt.datetime.now(dt.UTC), time.process_time()
        [self.result] = playground.train([model], [self.data], self.settings)
        cpu_seconds, score = time.process_time() - cpu_started, self.result.score
        s = self.settings
        check_converged(self.name, self.result.history, score["test_loss"], s["learning_rate"],
                        s["epochs"])  # fmt: skip
        test_score = {"loss": score["test_loss"], "acc": score["test_acc"]}
        # The whole set, figures too, staged and published as one (see imagelab.results.staging).
        self.attempt = staging.Attempt(self.files, force=self.params["force"])
        with self.attempt.writing() as staged:
            records.write_csv(self.result.history, staged.history)
            records.write_csv(pd.DataFrame([test_score]), staged.score)
            stage_figures(self, staged, surface=self.plot_surface(model))
            provenance = run_provenance(
                self,
                model,
                parameters=self.settings,
                data=_data_record(self.data),
                score=test_score | score,
                started=started,
                cpu_seconds=cpu_seconds,
                weights=[w.tolist() for w in model.get_weights()],  # to redraw the surface
            )
            self.attempt.publish(provenance)
        self.written += published_files(self)
        print(
            f"[{self.name}] train loss {score['train_loss']:.4f}, test loss "
            f"{score['test_loss']:.4f} ({self.result.train_seconds:.1f}s); "
            f"{published_message(self)}"
        )
        return self.result

    def figure(self, kind: str):  # noqa: ANN201 (a matplotlib Figure)
        """The run's loss figure (``kind`` 'loss'); the surface needs the model:
        ``plot_surface``."""
        if kind != "loss":
            raise ValueError(f"draw the {kind} figure with plot_surface(model)")
        return self.plot_loss()

    def plot_surface(self, model: object):  # noqa: ANN201
        """The trained network's output over the input plane with the points, as the
        Playground draws it (published with the run as figures/<run>_surface.png)."""
        grid = playground.surface(model, self.settings["features"])
        return figures.surface(self.name, self.settings, grid, self.data)

    def plot_loss(self):  # noqa: ANN201
        """Training and test loss per epoch (published as figures/<run>_loss.png)."""
        return figures.loss(self.name, self.result.history, self.params)

    def search(self) -> pd.DataFrame:
        """With ``search=True``, train the search grid with this run's other settings and store
        it; else read the stored search. One row per (feature set, shape, seed)."""
        results_dir = self.params["results_dir"]
        if not self.params["search"]:  # a run of one's own in runs/ reads the project's search
            return playground_search.read_search(beside(playground_search.RUN_NAME, results_dir))
        grid = {name: self.params[name] for name in playground_search.GRID}
        table = playground_search.search(self.settings, grid, results_dir)
        playground_search.seal(results_dir)  # its table and provenance: one set
        self.searched = True
        search = records.run_files(playground_search.RUN_NAME, results_dir)
        self.written += [search.score, search.provenance]
        return table

    def plot_search(self, table: pd.DataFrame):  # noqa: ANN201
        """Seeds reaching test loss < 0.1 per shape and feature set; a search run here saves it
        as figures/playground_search_success.png (a stored search shown writes nothing)."""
        fig = figures.search(table)
        if self.searched:
            path = records.run_files(playground_search.RUN_NAME, self.params["results_dir"])
            self.written.append(plots.save(fig, path.figure("success")))
        return fig


def _data_record(data: playground.SpiralData) -> dict[str, object]:
    return {
        "dataset": "playground spiral",
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
    }


def lab_state() -> tuple[str, str, dict[str, object]]:
    """The canonical Playground results' state for ``imagelab lab``: the spiral run's (as
    ``freshness`` decides it) or, when that is up to date, the search's; why, in words;
    and the notebook parameters that bring both up to date (``search=True`` when the search
    is not)."""
    params = notebook_defaults(PLAYGROUND.name)
    settings = {name: params[name] for name in SETTINGS}
    try:
        fresh = freshness(PLAYGROUND.name, settings | _controls(params))
        state, why = fresh.state, fresh.because()
    except store.DamagedResult as error:
        state, why = "damaged", f" ({error})"
    grid = {name: params[name] for name in playground_search.GRID}
    search_state, search_why = playground_search.freshness(settings, grid)
    if state == "up-to-date" and search_state != "up-to-date":
        state, why = search_state, f" (the search: {search_state}{search_why})"
    return state, why, {"search": search_state != "up-to-date"}

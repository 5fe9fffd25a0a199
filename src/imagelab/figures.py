"""What each figure of a result looks like, title included: one function per figure.

A notebook's run, a sweep's summary and ``imagelab figures`` (``imagelab.running.redraw``) all draw
through these, so a figure redrawn from stored results is the one the run drew when it
trained, byte for byte. Nothing here writes a file: saving is the caller's decision (a run
saves the figures of what it trained; stored results shown again are drawn, not saved).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from imagelab import playground_plots, plots


def history(run_name: str, frame: pd.DataFrame):  # noqa: ANN201 (a matplotlib Figure)
    """2019's history figure of a run."""
    return plots.history(frame, title=f"{run_name}: training history")


def confusion(run_name: str, predictions: pd.DataFrame, class_names: list[str]):  # noqa: ANN201
    """The test-set confusion matrix of a run."""
    return plots.confusion(
        predictions, class_names, title=f"{run_name}: confusion matrix (test set)"
    )


def misclassified(predictions: pd.DataFrame, images: np.ndarray, class_names: list[str]):  # noqa: ANN201
    """The first misclassified test images of a run (``images``: its test set, in order)."""
    return plots.misclassified(predictions, images, class_names)


def surface(run_name: str, settings: dict, grid: tuple, data: object):  # noqa: ANN201
    """A Playground run's decision surface: ``grid`` is ``playground.surface`` of its trained
    network, ``data`` its spiral (``playground.SpiralData``)."""
    return playground_plots.decision_surface(
        grid,
        (data.x_train, data.y_train),
        (data.x_test, data.y_test),
        title=hidden_layers(settings["hidden"]),  # the caption names the run
    )


def hidden_layers(hidden: list[int]) -> str:
    """Hidden layers in words: [3] is 'one hidden layer of 3 neurons'."""
    if len(hidden) == 1:
        return f"one hidden layer of {hidden[0]} neurons"
    return f"{len(hidden)} hidden layers of {' and '.join(map(str, hidden))} neurons"


def loss(run_name: str, frame: pd.DataFrame, settings: dict):  # noqa: ANN201
    """A Playground run's loss curves; ``settings`` are its parameters (the learning rate's
    switch is marked)."""
    switch = settings.get("switch_epoch")
    lowered = (switch, settings["later_learning_rate"]) if switch else None
    return playground_plots.loss_curves(frame, lowered, title=f"{run_name}: loss per epoch")


def search(table: pd.DataFrame):  # noqa: ANN201
    """The Playground search's success rates (``playground_search.read_search``'s table)."""
    from imagelab import analysis

    return playground_plots.search_success(analysis.playground_success(table))


def sweep_summary(table: pd.DataFrame, swept: list[str], name: str, exercise: str, seeds: int):  # noqa: ANN201
    """A sweep's summary figure from its summary table (``sweeps.summary_table``)."""
    return plots.sweep_summary(table, swept, title=f"sweep {name}: {exercise}, {seeds} seeds")

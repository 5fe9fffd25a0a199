"""Per-exercise sections: architecture, settings, score against 2019, the 2019 questions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imagelab import analysis, records
from imagelab.errors import UserError
from imagelab.judging.reference import CIFAR_JPEG_NOTE, is_jpeg_cifar
from imagelab.models import KERAS2_DEFAULTS
from imagelab.report.answered import show_answers
from imagelab.report.display import _figure, _figures_side_by_side, _show, _table
from imagelab.report.results import seed_spread
from imagelab.results import store, tables
from imagelab.results.exercises import EXERCISES, get_exercise
from imagelab.results.freshness import stale_reasons
from imagelab.results.store import StoredRun


def architecture_table(result: StoredRun) -> str:
    """The model's layers in one line, in order: type, output shape per image and parameters
    ('Conv2D 26 x 26 x 32 (320) -> ...'), and the total; built from the run's parameters."""
    from imagelab.quiet import quiet_tensorflow

    quiet_tensorflow()
    from imagelab import models
    from imagelab.running.run import build_model

    layers = models.layer_table(
        build_model(result.provenance["exercise"], result.provenance["parameters"])
    )
    parts = []
    for layer in layers:
        shape = layer["output_shape"].removeprefix("(None, ").removesuffix(")").rstrip(",")
        weights = f" ({layer['params']:,})" if layer["params"] else ""
        parts.append(f"{layer['type']} {shape.replace(', ', ' x ')}{weights}")
    total = sum(layer["params"] for layer in layers)
    return (
        "**Layers** (output per image, parameters): "
        + " → ".join(parts)
        + f"; {total:,} parameters in all."
    )


# The settings in words, as the report names them (the notebook's parameter names in brackets
# would be code); a setting not listed keeps its own name.
SETTING_WORDS = {
    "activation": "hidden activation", "batch_size": "batch size", "decay": "learning-rate decay",
    "dense_units": "dense units", "dropout": "dropout rate", "epochs": "epochs",
    "filters": "filters", "learning_rate": "learning rate", "optimizer": "optimizer",
    "seed": "seed", "units": "hidden units", "validation": "validation",
    "data_limit": "images kept", "precision": "number format",
}  # fmt: skip


def hyperparameter_line(result: StoredRun) -> str:
    """The run's settings in one line of plain words ('batch size 128, epochs 12, ...'): a
    default learning rate as its value, the validation set named, yes/no settings as words."""
    params = dict(result.provenance["parameters"])
    if params.get("learning_rate") is None and params.get("optimizer") in KERAS2_DEFAULTS:
        default = KERAS2_DEFAULTS[params["optimizer"]]["learning_rate"]
        params["learning_rate"] = f"{default} (Keras 2's default)"
    on_test, share = params.pop("validate_on_test", False), params.pop("validation_split", None)
    params["validation"] = (
        f"on the {result.provenance['data']['n_test']:,} test images, as 2019 did (the "
        "held-out share is then unused)"
        if on_test
        else f"on the last {share:.0%} of the training images"
    )
    shuffle = params.pop("shuffle", None)
    shown = {
        k: v
        for k, v in params.items()
        if (k != "data_limit" or v is not None) and (k != "precision" or v != "float32")
    }  # float32 is every canonical run's precision, named only when another
    if shuffle is not None:
        shown["order"] = "training set reshuffled every epoch" if shuffle else "one fixed order"
    return (
        "**Settings:** "
        + ", ".join(
            v if k == "order" else f"{SETTING_WORDS.get(k, k.replace('_', ' '))} {v}"
            for k, v in shown.items()
        )
        + "."
    )


def score_table(result: StoredRun, results_dir: str | Path | None = None) -> str:
    """Test loss and accuracy now against 2019, with the spread over seeds when known."""
    reference = get_exercise(result.provenance["exercise"]).result_2019
    rows = [
        {
            "": "test loss",
            "now": f"{result.score['loss']:.4f}",
            "2019": f"{reference['loss']:.4f}" if reference else "not reported",
        },
        {
            "": "test accuracy",
            "now": f"{result.score['acc']:.4f}",
            "2019": f"{reference['acc']:.4f}" if reference else "not reported",
        },
    ]
    spread = seed_spread(result.name, results_dir)
    if spread:
        rows.append(
            {
                "": f"test accuracy over {spread['n']} seeds",
                "now": f"mean {spread['mean']:.4f}, {spread['min']:.4f}-{spread['max']:.4f}",
                "2019": "one run",
            }
        )
    return _table(pd.DataFrame(rows))


def comparison_note(result: StoredRun, results_dir: str | Path | None = None) -> str:
    """Where 2019's test accuracy falls against our runs (and the data caveat for CIFAR-10)."""
    exercise = get_exercise(result.provenance["exercise"])
    notes = []
    if exercise.result_2019:
        ours, theirs = result.score["acc"], exercise.result_2019["acc"]
        spread = seed_spread(result.name, results_dir)
        if spread:
            inside = (
                analysis.exact_accuracy(spread["min"])
                <= theirs
                <= analysis.exact_accuracy(spread["max"])
            )
            notes.append(
                f"2019's test accuracy {theirs:.4f} lies {'inside' if inside else 'outside'} the "
                f"range of our {spread['n']} seeds ({spread['min']:.4f}-{spread['max']:.4f}); "
                f"our canonical run differs from it by "
                f"{analysis.accuracy_difference(ours, theirs):+.4f}."
            )
        else:
            diff = analysis.accuracy_difference(ours, theirs)
            notes.append(f"Our canonical run differs from 2019 by {diff:+.4f}.")
    if is_jpeg_cifar(result.provenance):
        notes.append(CIFAR_JPEG_NOTE)
    return " ".join(notes)


def exercise_names() -> list[str]:
    """The canonical exercises, in the 2019 report's order."""
    return list(EXERCISES)


# A mistake a person might make too, per dataset: what the misclassified images' caption asks
# the reader to look for.
MISTAKE_HINTS = {"mnist": "a 4 written like a 9", "cifar10": "a cat taken for a dog"}


def show_exercise(
    name: str,
    results_dir: str | Path | None = None,
    benchmarks: str | Path | None = None,
    sweeps_dir: str | Path | None = None,
) -> None:
    """An exercise's section (its heading is in the notebook): architecture and settings,
    history beside the confusion matrix, score against 2019, misclassified images, and the
    2019 questions this section answers (``report.answers``)."""
    try:
        result = store.load_run(name, results_dir)
        if result is not None:
            tables.check_run_figures(result)
    except store.DamagedResult as error:  # only with --allow-missing: the checks refuse it
        _show(f"*{name}: left out, its results are damaged: {error}*")
        return
    if result is None:
        _show(f"*{name}: no results yet (run `make lab`).*")
        return
    commit = records.shown_commit(result.provenance["git"].get("commit"), 7)
    stale = (
        f"*These results were trained at commit {commit} "
        "by training code or a notebook that has changed since: `make lab` retrains them.*\n\n"
        if stale_reasons(result.provenance)
        else ""
    )
    _show(f"{stale}### Model\n\n{architecture_table(result)}\n\n{hyperparameter_line(result)}")
    validation = (
        "the test set, which 2019 also validated on"
        if result.provenance["parameters"].get("validate_on_test")
        else "the last 20 % of the training images, held out"
    )
    _figures_side_by_side(
        [result.files.figure("history"), result.files.figure("confusion")],
        f"{name}, the canonical run (seed {result.provenance['seed']}). Left: loss and accuracy "
        "per epoch on the training images (each point the average over the epoch's batches, "
        f"while the weights still change) and on the validation images ({validation}, "
        "measured after the epoch); lines: a smoothed fit through the points (lowess), as in "
        "2019's plots. Where the two curves part, the model fits its training data better than "
        "unseen data. "
        "Right: the test images by true digit or class (rows) and prediction (columns); the "
        "cells off the diagonal are the mistakes, the largest ones the pairs it confuses.",
    )
    _show(
        "### Test score\n\n"
        f"{score_table(result, results_dir)}\n\n{comparison_note(result, results_dir)}"
    )
    _figure(
        result.files.figure("misclassified"),
        f"{name}: test images the canonical run got wrong, each titled with its true label and, "
        "after the arrow, the prediction; look for mistakes a person would make too "
        f"({MISTAKE_HINTS[result.provenance['data']['dataset']]}).",
    )
    show_answers(name, results_dir, sweeps_dir=sweeps_dir, benchmarks=benchmarks)


def check_runs(names: list[str]) -> None:
    """Validate the report's `runs` parameter (known exercise names) before rendering."""
    if not isinstance(names, list) or not names:
        raise UserError(f"runs must be a non-empty list of exercise names; got {names!r}")
    for name in names:
        get_exercise(name)

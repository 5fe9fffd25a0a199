"""Accuracies compared: with 2019's, and with another stored run's, at the precision they are
exact to; and only when the two are alike. A run cut by ``data_limit`` trained and was tested on
fewer images than 2019 and than the full-data runs, so its sentences say what it saw instead of
comparing it with those (``cut``, and each run's ``data`` sizes in its provenance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The gap is averaged over the last epochs: one epoch's validation accuracy is noisy.
GAP_EPOCHS = 3
# Accuracies are counts over 10,000 test images: four decimals is their exact precision.
ACCURACY_DECIMALS = 4


def exact_accuracy(accuracy: float | pd.Series) -> float | pd.Series:
    """An accuracy at the precision it is exact to: float32 stores 0.9801 as 0.98009998, which
    must still equal 2019's 0.9801."""
    return np.round(accuracy, ACCURACY_DECIMALS)


def accuracy_difference(ours: float, theirs: float) -> float:
    """``ours - theirs`` at stored precision, never ``-0.0`` (so it cannot print "-0.0000")."""
    return float(np.round(exact_accuracy(ours) - exact_accuracy(theirs), ACCURACY_DECIMALS)) + 0.0


def final_accuracy(history: pd.DataFrame, last: int = GAP_EPOCHS) -> dict[str, float]:
    """Mean training and validation accuracy over the last ``last`` epochs, and their gap."""
    acc = history[history["metric"] == "acc"]
    final = acc[acc["epoch"] > acc["epoch"].max() - last].groupby("data")["value"].mean()
    train, val = float(final.get("training", np.nan)), float(final.get("validation", np.nan))
    return {"train_acc": train, "val_acc": val, "gap": train - val}


def score_sentence(score: dict[str, float], exercise: object, cut: str | None = None) -> str:
    """Test loss and accuracy in words, as mistakes per 100 images, beside 2019's number; with
    ``cut`` (what ``data_limit`` left of the data, ``run.data_cut``), not beside it: 2019 trained
    and tested on the whole data set."""
    text = (
        f"Test loss {score['loss']:.4f}, test accuracy {score['acc']:.4f}: "
        f"{100 * (1 - score['acc']):.2f} mistakes per 100 test images."
    )
    reference = getattr(exercise, "result_2019", None)
    if cut:
        theirs = f"2019's accuracy ({reference['acc']:.4f})" if reference else "2019's results"
        return (
            f"{text} Not compared with {theirs}: this run saw {cut} (data_limit), 2019 the "
            "whole data set; run it without data_limit to compare."
        )
    if reference:
        text += (
            f" 2019 reported loss {reference['loss']:.4f} and accuracy {reference['acc']:.4f} "
            f"({accuracy_difference(score['acc'], reference['acc']):+.4f} now)."
        )
    else:
        text += " 2019 did not report a test score for this exercise."
    return text


def direction(difference: float) -> str:
    """'better', 'worse' or 'the same', for a difference in accuracy (ours minus theirs, as from
    ``accuracy_difference``)."""
    return "better" if difference > 0 else "worse" if difference < 0 else "the same"


def _stored(run: object, other: str) -> object:
    """Another stored run beside ``run`` (a ``run.Run``), or None when it has not run: the run
    knows where it keeps its files and so where the other is, which keeps the lab below the
    results store."""
    return run.stored_beside(other)


def accuracy_versus(
    ours: float, theirs: float, other: str, expected: str | None = None, name: str = "It"
) -> str:
    """This run's test accuracy against another run's, and whether 2019's expectation held.

    ``expected`` is what 2019 expected of this run against ``other`` ('better' or 'worse').
    """
    diff = accuracy_difference(ours, theirs)
    actual = direction(diff)
    text = (
        f"{name} scores {ours:.4f} on the test set against {theirs:.4f} for {other}: "
        f"{actual} ({diff:+.4f})."
    )
    if expected is not None:
        held = "that held" if actual == expected else "that did not hold"
        text += f" 2019 expected it to do {expected} than {other}; {held}."
    return text


def gap_versus(ours: pd.DataFrame, theirs: pd.DataFrame, other: str) -> str:
    """This run's train-validation gap (``final_accuracy``) against another run's."""
    ours_gap, their_gap = final_accuracy(ours)["gap"], final_accuracy(theirs)["gap"]
    closer = "smaller" if abs(ours_gap) < abs(their_gap) else "larger"
    return (
        f"Its train-validation gap ({ours_gap:+.4f}) is {closer} than that of {other} "
        f"({their_gap:+.4f})."
    )


def unlike(run: object, theirs: object, other: str) -> str | None:
    """Why ``run`` and the stored run ``other`` (``theirs``) cannot be compared, or None: they
    trained or were tested on other numbers of images (``data_limit``), by the sizes each
    records (``data.Dataset.sizes``, a provenance's ``data``). A run without ``data`` (the
    report's stored runs) is taken as alike."""
    data = getattr(run, "data", None)
    if data is None:
        return None
    ours, recorded = data.sizes, theirs.provenance.get("data") or {}
    stored = {key: recorded.get(key) for key in ours}
    if stored == ours:
        return None
    limited = run.params.get("data_limit") is not None
    return (
        f"Not compared with {other} ({theirs.score['acc']:.4f}): {run.name} trained on "
        f"{ours['n_train']} images and was tested on {ours['n_test']}, {other} on "
        f"{stored['n_train']} and {stored['n_test']}; accuracies after other training on other "
        f"test images are not alike{', so run it without data_limit to compare' if limited else ''}."
    )


def compare_with(run: object, other: str) -> str:
    """How this run's test accuracy compares with another stored run's, when they are alike."""
    theirs = _stored(run, other)
    if theirs is None:
        return f"No stored results of {other!r} to compare with yet (run it first)."
    return unlike(run, theirs, other) or accuracy_versus(
        run.result.score["acc"], theirs.score["acc"], other, name=run.name
    )


def dropout_effect(run: object, without: str) -> str:
    """Dropout's effect: the train/validation gap and test accuracy with and without it."""
    theirs = _stored(run, without)
    if theirs is None:
        return f"No stored results of {without!r} to compare with yet (run it first)."
    if unlike(run, theirs, without):
        return unlike(run, theirs, without)
    gap_with = final_accuracy(run.result.history)["gap"]
    gap_without = final_accuracy(theirs.history)["gap"]
    closer = "closer together" if abs(gap_with) < abs(gap_without) else "further apart"
    return (
        f"With dropout the training and validation accuracies end {closer} (gap {gap_with:+.4f} "
        f"against {gap_without:+.4f} without). {compare_with(run, without)}"
    )

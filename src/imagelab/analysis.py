"""Judgements the 2019 report made by eye, computed from a run's numbers instead."""

from __future__ import annotations

import numpy as np
import pandas as pd

# A train-validation accuracy gap above this is called overfitting (0.01 = one digit in 100).
OVERFIT_GAP = 0.01


def final_accuracy(history: pd.DataFrame, last: int = 3) -> dict[str, float]:
    """Mean training and validation accuracy over the last ``last`` epochs, and their gap."""
    acc = history[history["metric"] == "acc"]
    final = acc[acc["epoch"] > acc["epoch"].max() - last].groupby("data")["value"].mean()
    train, val = float(final.get("training", np.nan)), float(final.get("validation", np.nan))
    return {"train_acc": train, "val_acc": val, "gap": train - val}


def generalisation(history: pd.DataFrame, last: int = 3) -> str:
    """One sentence on whether the model generalises, from the train/validation gap."""
    final = final_accuracy(history, last)
    numbers = (
        f"over the last {last} epochs, training accuracy averaged {final['train_acc']:.4f} and "
        f"validation accuracy {final['val_acc']:.4f} (gap {final['gap']:+.4f})"
    )
    if final["gap"] > OVERFIT_GAP:
        return (
            f"The model overfits: {numbers}, more than the {OVERFIT_GAP} we allow, so it "
            "does better on data it was trained on than on data it has not seen."
        )
    if final["gap"] < -OVERFIT_GAP:
        return (
            f"No sign of overfitting: {numbers}; validation accuracy is the higher, as "
            "happens while a model is still learning or when dropout is active only in "
            "training."
        )
    return (
        f"The model generalises well: {numbers}, within {OVERFIT_GAP}, so it does as well on "
        "data it has not seen as on its training data."
    )


def score_sentence(score: dict[str, float], exercise: object) -> str:
    """Test loss and accuracy in words, as mistakes per 100 images, beside 2019's number."""
    text = (
        f"Test loss {score['loss']:.4f}, test accuracy {score['acc']:.4f}: "
        f"{100 * (1 - score['acc']):.2f} mistakes per 100 test images."
    )
    reference = getattr(exercise, "result_2019", None)
    if reference:
        text += (
            f" 2019 reported loss {reference['loss']:.4f} and accuracy {reference['acc']:.4f} "
            f"({score['acc'] - reference['acc']:+.4f} now)."
        )
    else:
        text += " 2019 did not report a test score for this exercise."
    return text


def direction(difference: float) -> str:
    """'better', 'worse' or 'the same', for a difference in accuracy (ours minus theirs)."""
    return "better" if difference > 0 else "worse" if difference < 0 else "the same"


def _stored_score(run: object, other: str) -> dict[str, float] | None:
    from imagelab import records

    path = records.run_files(other, run.params["results_dir"]).score
    return records.read_score(path) if path.is_file() else None


def compare_with(run: object, other: str) -> str:
    """How this run's test accuracy compares with another stored run's."""
    theirs, ours = _stored_score(run, other), run.result.score
    if theirs is None:
        return f"No stored results of {other!r} to compare with yet (run it first)."
    return (
        f"{run.name} scores {ours['acc']:.4f} on the test set against {theirs['acc']:.4f} for "
        f"{other}: {direction(ours['acc'] - theirs['acc'])} ({ours['acc'] - theirs['acc']:+.4f})."
    )


def dropout_effect(run: object, without: str) -> str:
    """Dropout's effect: the train/validation gap and test accuracy with and without it."""
    from imagelab import records

    path = records.run_files(without, run.params["results_dir"]).history
    if not path.is_file():
        return f"No stored results of {without!r} to compare with yet (run it first)."
    gap_with = final_accuracy(run.result.history)["gap"]
    gap_without = final_accuracy(records.read_history(path))["gap"]
    closer = "closer together" if abs(gap_with) < abs(gap_without) else "further apart"
    return (
        f"With dropout the training and validation accuracies end {closer} (gap {gap_with:+.4f} "
        f"against {gap_without:+.4f} without). {compare_with(run, without)}"
    )


def epoch_time_sentence(epoch_seconds: list[float], seconds_2019: float | None = None) -> str:
    """Seconds per epoch on this machine (first epoch apart: it includes graph tracing)."""
    steady = epoch_seconds[1:] or epoch_seconds
    text = (
        f"An epoch took {np.median(steady):.1f} s (median of epochs 2-{len(epoch_seconds)}; "
        f"range {min(steady):.1f}-{max(steady):.1f} s; the first took {epoch_seconds[0]:.1f} s)."
    )
    if seconds_2019:
        text += f" 2019: more than {seconds_2019:.0f} s, {seconds_2019 / np.median(steady):.1f}x as long."
    return text

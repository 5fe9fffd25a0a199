"""Judgements the 2019 report made by eye, computed from a run's numbers instead.

The only home of every judgement the notebooks and the report print: the train-validation gap,
the steady epoch time, accuracy comparisons at stored precision, the plateau, the sweep digest
and the Playground glossary. Each is a pure function over loaded runs (histories, scores,
provenance) or tables, so the notebook and the report print the same sentence for the same
question because they call the same function.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# A train-validation accuracy gap above this is called overfitting (0.01 = one digit in 100).
OVERFIT_GAP = 0.01
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


def generalisation(history: pd.DataFrame, last: int = GAP_EPOCHS) -> str:
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
            f"({accuracy_difference(score['acc'], reference['acc']):+.4f} now)."
        )
    else:
        text += " 2019 did not report a test score for this exercise."
    return text


def direction(difference: float) -> str:
    """'better', 'worse' or 'the same', for a difference in accuracy (ours minus theirs, as from
    ``accuracy_difference``)."""
    return "better" if difference > 0 else "worse" if difference < 0 else "the same"


def _stored_score(run: object, other: str) -> dict[str, float] | None:
    from imagelab import records

    path = records.run_files(other, run.params["results_dir"]).score
    return records.read_score(path) if path.is_file() else None


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


def compare_with(run: object, other: str) -> str:
    """How this run's test accuracy compares with another stored run's."""
    theirs = _stored_score(run, other)
    if theirs is None:
        return f"No stored results of {other!r} to compare with yet (run it first)."
    return accuracy_versus(run.result.score["acc"], theirs["acc"], other, name=run.name)


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


def steady_epoch_seconds(epoch_seconds: list[float]) -> float:
    """Seconds of a steady epoch: the median of epochs 2 onwards (the first also traces the
    graph), or the first epoch's time for a 1-epoch run."""
    return float(np.median(epoch_seconds[1:] or epoch_seconds))


def epoch_time_sentence(epoch_seconds: list[float], seconds_2019: float | None = None) -> str:
    """Seconds per epoch on this machine (first epoch apart: it includes graph tracing)."""
    steady, spread = steady_epoch_seconds(epoch_seconds), epoch_seconds[1:] or epoch_seconds
    which = f"median of epochs 2-{len(epoch_seconds)}" if len(epoch_seconds) > 1 else "one epoch"
    text = (
        f"An epoch took {steady:.1f} s ({which}; range {min(spread):.1f}-{max(spread):.1f} s; "
        f"the first took {epoch_seconds[0]:.1f} s)."
    )
    if seconds_2019:
        text += f" 2019: more than {seconds_2019:.0f} s, {seconds_2019 / steady:.1f}x as long."
    return text


# Validation accuracy rising faster than this per epoch over the last epochs: not plateaued.
PLATEAU_SLOPE = 0.002


def plateau(history: pd.DataFrame, last: int = 5) -> dict[str, float]:
    """Validation accuracy's start, end, best (and its epoch) and its slope per epoch over the
    last ``last`` epochs (a least-squares line); ``rising`` when the slope exceeds
    ``PLATEAU_SLOPE``."""
    val = history.query("metric == 'acc' and data == 'validation'").sort_values("epoch")
    values, epochs = val["value"].to_numpy(), val["epoch"].to_numpy()
    tail = min(last, len(values))
    slope = float(np.polyfit(epochs[-tail:], values[-tail:], 1)[0]) if tail > 1 else 0.0
    return {
        "first": float(values[0]),
        "last": float(values[-1]),
        "last_epoch": int(epochs[-1]),
        "best": float(values.max()),
        "best_epoch": int(epochs[values.argmax()]),
        "tail": tail,
        "slope": slope,
        "rising": slope > PLATEAU_SLOPE,
    }


def plateau_sentence(history: pd.DataFrame) -> str:
    """Whether validation accuracy is still rising at the end of training."""
    p = plateau(history)
    return (
        f"Validation accuracy went from {p['first']:.4f} after epoch 1 to {p['last']:.4f} "
        f"after epoch {p['last_epoch']} (best {p['best']:.4f} at epoch {p['best_epoch']}); over "
        f"the last {p['tail']} epochs it was {'still rising' if p['rising'] else 'flat'} "
        f"({p['slope']:+.4f} per epoch), so "
        f"{'it had not plateaued yet: more epochs would help' if p['rising'] else 'it had plateaued'}."
    )


def sweep_digest(
    summary: pd.DataFrame, swept: list[str], histories: dict[str, pd.DataFrame] | None = None
) -> tuple[pd.DataFrame, str]:
    """Per grid point of a sweep: runs, test accuracy (mean, sd, range), train-validation gap
    and wall time; and one sentence naming the best setting by test accuracy and by gap.

    ``summary`` is the sweep's ``summary.csv`` (one row per run, with ``status``); the gap is
    ``final_accuracy``'s (last 3 epochs) from ``histories`` (run id -> history), the same gap
    the exercises report; runs without a history have none.
    """
    count, notes = summary["status"].value_counts(), []
    if count.get("failed"):
        failed = summary.loc[summary["status"] == "failed", "run_id"]
        notes.append(f"{len(failed)} run(s) failed: {', '.join(failed)}.")
    if count.get("stale"):
        notes.append(
            f"{count['stale']} run(s) were trained by older code and are left out until the "
            "sweep reruns them."
        )
    unfinished = len(summary) - sum(count.get(s, 0) for s in ("complete", "failed", "stale"))
    if unfinished:
        notes.append(f"{unfinished} of {len(summary)} runs have not finished.")
    notes = " ".join(notes)
    histories = histories or {}
    done = summary[summary["status"] == "complete"].assign(
        gap=lambda t: [
            final_accuracy(histories[run])["gap"] if run in histories else np.nan
            for run in t["run_id"]
        ]
    )
    if done.empty:
        return pd.DataFrame(), f"No run of this sweep has finished with the current code. {notes}"
    table = (
        done.groupby(swept)  # in value order, whatever order the sweep ran them
        .agg(
            runs=("seed", "count"),
            test_acc_mean=("test_acc", "mean"),
            test_acc_sd=("test_acc", "std"),
            test_acc_min=("test_acc", "min"),
            test_acc_max=("test_acc", "max"),
            gap_mean=("gap", "mean"),
            wall_s=("wall_seconds", "mean"),
        )
        .reset_index()
    )
    best = table.loc[table["test_acc_mean"].idxmax()]
    label = lambda row: ", ".join(f"{k}={row[k]}" for k in swept)  # noqa: E731
    text = (
        f"Highest mean test accuracy: {label(best)} ({best['test_acc_mean']:.4f} over "
        f"{int(best['runs'])} seeds). "
    )
    if table["gap_mean"].notna().any():
        tightest = table.loc[table["gap_mean"].abs().idxmin()]
        text += (
            f"Smallest train-validation gap (last {GAP_EPOCHS} epochs): {label(tightest)} "
            f"({tightest['gap_mean']:+.4f}). "
        )
    text += notes
    return table, text.strip()


def playground_glossary(history: pd.DataFrame, params: dict, search: pd.DataFrame) -> pd.DataFrame:
    """2019's Playground settings glossary, each setting beside what our spiral runs show of it.

    ``history`` and ``params`` are the 2019 network's run (history, parameters), ``search``
    the table of the smallest-network search (``playground.read_search``).
    """
    from imagelab import playground

    train = history.query("metric == 'loss' and data == 'training'").sort_values("epoch")
    switch = params.get("switch_epoch")
    change = train["value"].diff().abs()
    if switch and switch <= train["epoch"].max():
        before = change[(train["epoch"] < switch) & (train["epoch"] >= switch - 200)].mean()
        after = change[train["epoch"] >= switch].mean()
        lr = (
            f"{params['learning_rate']} until epoch {switch - 1}, then "
            f"{params['later_learning_rate']}: the training loss moved {before:.2e} per epoch "
            f"on average over the 200 epochs before the switch and {after:.2e} after it "
            f"({'calmer' if after < before else 'not calmer'} after, as 2019 intended)."
        )
    else:
        lr = f"{params['learning_rate']} throughout (no switch in this run)."
    summary = playground.success_table(search)
    best = summary.groupby("feature_set")["success_rate"].max()
    solved = summary[summary["success_rate"] > 0].sort_values("neurons")
    smallest = (
        f"{solved.iloc[0]['hidden']} ({solved.iloc[0]['feature_set']} features)"
        if not solved.empty
        else "none"
    )
    rows = [
        ("Learning rate", "how strongly each error changes the weights", lr),
        (
            "Activation",
            "relation of a neuron's input to its output",
            f"{params['activation']} (not varied)",
        ),
        (
            "Regularisation, rate",
            "smooths the model, prevents overfitting",
            f"{params['regularization'] or 'none'}, rate {params['regularization_rate']} (not varied)",
        ),
        (
            "Ratio training:test",
            "how much data trains, how much tests",
            f"{params['train_ratio']:.0%} training (not varied)",
        ),
        ("Noise", "the irreducible error of the data", f"{params['noise']} (not varied)"),
        ("Batch size", "points per weight update", f"{params['batch_size']} (not varied)"),
        (
            "Input features",
            "what the network sees of x1, x2",
            "best success rate " + ", ".join(f"{k}: {v:.0%}" for k, v in best.items()),
        ),
        (
            "Hidden layers, neurons",
            "the network's size",
            f"smallest network with test loss < 0.1 for any seed: {smallest}",
        ),
    ]
    return pd.DataFrame(rows, columns=["setting", "2019's description", "what our runs show"])

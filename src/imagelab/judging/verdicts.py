"""Verdicts the answers to the 2019 questions are made of (``imagelab.judging.conclusions``).

On one run: ``gap_verdict``, ``bar_verdict``, ``loss_low_verdict`` and ``plateau_verdict`` each
give a short verdict and the numbers behind it in words. ``per_run`` takes one of them on
every seed run of an exercise and answers with the verdict most of them give. Between two settings, ``spread_verdict``
decides by the two seed spreads, never by one run each: a side is *better* (or higher) only
when every one of its seeds lies above every seed of the other.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from imagelab import analysis
from imagelab.judging.answer import Answer
from imagelab.judging.evidence import Evidence
from imagelab.results import store

MISTAKE_BAR = 1.0  # 2019's own bar (question 14): 1 mistake in 100 digits is acceptable
NOT_TOLD_APART = "not told apart by the seeds"


def gap_verdict(run: store.StoredRun) -> tuple[str, str]:
    """'generalises', 'overfits' or 'validation above training', from the mean train and
    validation accuracy over the last epochs (``analysis.final_accuracy``)."""
    final = analysis.final_accuracy(run.history)
    if final["gap"] > analysis.OVERFIT_GAP:
        verdict = "overfits"
    elif final["gap"] < -analysis.OVERFIT_GAP:
        verdict = "validation above training"
    else:
        verdict = "generalises"
    epochs = analysis.last_epochs(int(run.history["epoch"].max()))
    return verdict, (
        f"{epochs} training accuracy {final['train_acc']:.4f}, validation "
        f"{final['val_acc']:.4f} (gap {final['gap']:+.4f}; beyond ±{analysis.OVERFIT_GAP} is "
        "not 'similar')"
    )


def bar_verdict(run: store.StoredRun) -> tuple[str, str]:
    """Whether the test accuracy meets 2019's own bar of question 14 (1 mistake in 100)."""
    mistakes = 100 * (1 - float(analysis.exact_accuracy(run.score["acc"])))
    verdict = "meets" if mistakes <= MISTAKE_BAR else "short of"
    return f"{verdict} 2019's 1-in-100 bar", (
        f"test accuracy {run.score['acc']:.4f}, {mistakes:.2f} mistakes per 100 test images "
        "(the bar is 2019's answer to question 14: 1 mistake in 100 digits is acceptable)"
    )


def loss_low_verdict(run: store.StoredRun) -> tuple[str, str]:
    """Whether validation loss rises again after its lowest epoch (a sign of overfitting)."""
    val = run.history.query("metric == 'loss' and data == 'validation'").sort_values("epoch")
    low = int(val["epoch"].iloc[val["value"].to_numpy().argmin()])
    last = int(val["epoch"].max())
    verdict = "validation loss rises after its low" if low < last else "validation loss falls"
    return verdict, (
        f"validation loss is lowest at epoch {low} of {last} ({val['value'].min():.4f}; "
        f"{val['value'].iloc[-1]:.4f} at the end)"
    )


def plateau_verdict(run: store.StoredRun) -> tuple[str, str]:
    p = analysis.plateau(run.history)
    verdict = "still rising at the end" if p["rising"] else "plateaued"
    return verdict, (
        f"validation accuracy {p['first']:.4f} after epoch 1, {p['last']:.4f} after epoch "
        f"{p['last_epoch']}, {p['slope']:+.4f} per epoch over the last {p['tail']} (rising above "
        f"{analysis.PLATEAU_SLOPE})"
    )


def per_run(question: str, name: str, evidence: Evidence, judge: object) -> Answer | None:
    """``judge`` (a function of one run giving verdict and detail) on every seed run of ``name``:
    the verdict most of them give (the canonical run's, on a tie), held on ``agree`` of them.
    The detail is the canonical run's numbers, with its own verdict where it is the minority's."""
    runs = evidence.runs.get(name)
    if not runs:
        return None
    each = [judge(run)[0] for run in runs.values()]
    canonical, detail = judge(evidence.canonical(name))
    verdict = max(each, key=lambda v: (each.count(v), v == canonical))
    detail = (
        f"in the canonical run, {detail}"
        if canonical == verdict
        else f"the canonical run (its own verdict: {canonical}): {detail}"
    )
    where = f"histories/{name}.csv and its seed runs (scores/seeds.csv)"
    return Answer(question, verdict, detail, {}, each.count(verdict), len(runs), where)


# --- comparisons of two settings over their seeds ----------------------------------------------


def spread_verdict(ours: pd.Series, theirs: pd.Series, words: tuple[str, str]) -> tuple[str, int]:
    """``words[0]`` when every value of ``ours`` lies above every value of ``theirs``,
    ``words[1]`` when every one lies below, else ``NOT_TOLD_APART``; and the number of values
    of ``ours`` that, set against the range of ``theirs``, give the same verdict."""

    def one(value: float) -> str:
        if value > theirs.max():
            return words[0]
        return words[1] if value < theirs.min() else NOT_TOLD_APART

    each = [one(value) for value in ours]
    overall = (
        words[0]
        if ours.min() > theirs.max()
        else words[1]
        if ours.max() < theirs.min()
        else NOT_TOLD_APART
    )
    return overall, sum(verdict == overall for verdict in each)


def accuracies(runs: dict[int, store.StoredRun]) -> pd.Series:
    return pd.Series({seed: analysis.exact_accuracy(r.score["acc"]) for seed, r in runs.items()})


def gaps(runs: dict[int, store.StoredRun]) -> pd.Series:
    return pd.Series({s: abs(analysis.final_accuracy(r.history)["gap"]) for s, r in runs.items()})


def training_accuracies(runs: dict[int, store.StoredRun]) -> pd.Series:
    return pd.Series({s: analysis.final_accuracy(r.history)["train_acc"] for s, r in runs.items()})


def _range(values: pd.Series) -> str:
    return f"{values.min():.4f}-{values.max():.4f} over {len(values)} seeds"


def versus(
    question: str,
    evidence: Evidence,
    ours: str,
    theirs: str,
    words: tuple[str, str],
    measure: Callable[[dict[int, store.StoredRun]], pd.Series],
) -> Answer | None:
    """Exercise ``ours`` against ``theirs`` by ``measure`` (seed -> value) over their seeds."""
    if ours not in evidence.runs or theirs not in evidence.runs:
        return None
    a, b = measure(evidence.runs[ours]), measure(evidence.runs[theirs])
    verdict, agree = spread_verdict(a, b, words)
    what = {accuracies: "test accuracy", gaps: "|train-validation gap|"}.get(
        measure, "training accuracy (last epochs)"
    )
    detail = f"{what} {_range(a)} against {_range(b)} for {theirs}"
    if verdict == NOT_TOLD_APART:  # what `agree` counts then
        detail += f"; {agree} of the {len(a)} lie inside that range"
    numbers = {
        "ours_min": a.min(),
        "ours_max": a.max(),
        "theirs_min": b.min(),
        "theirs_max": b.max(),
    }
    return Answer(question, verdict, detail, numbers, agree, len(a), "scores/seeds.csv")

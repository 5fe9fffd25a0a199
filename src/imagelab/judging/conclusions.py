"""The answers to the 2019 lab's 23 questions, computed from our runs as typed records.

Every answer is an ``Answer``: the question (``imagelab.judging.questions``), 2019's answer, our verdict
(a word or short phrase), the numbers it rests on, on how many of the exercise's seed runs the
same verdict holds, and where the evidence is. The report renders its sentences from these
records (``Answer.sentence``) and ``make verify`` compares them (``differences``); nothing
writes an answer beside them.

A verdict about one run (does it generalise, has it plateaued) is taken on the canonical run
and then on every seed run of its exercise (``scores/seeds.csv``): ``agree`` of ``seeds``. A
comparison between two settings (ReLU against linear, dropout against none, CIFAR-10 against
MNIST) is decided by the two seed spreads (``spread_verdict``): *higher* only when every seed of
one lies above every seed of the other, else *not told apart by the seeds*; ``agree`` counts
the seeds of the first setting whose own value, set against the other's range, gives the same
verdict. Timing answers come from the benchmark's idle epochs, on the machine it names; they
do not change with a rerun, so they count among no run's conclusions.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from imagelab import analysis
from imagelab.judging import seed_noise
from imagelab.judging.answer import Answer
from imagelab.judging.evidence import Evidence, gather
from imagelab.judging.questions import BY_NUMBER, NOT_PRINTED
from imagelab.judging.verdicts import (
    NOT_TOLD_APART,
    accuracies,
    bar_verdict,
    gap_verdict,
    gaps,
    loss_low_verdict,
    per_run,
    plateau_verdict,
    spread_verdict,
    training_accuracies,
    versus,
)
from imagelab.machine import cpu_name

SECONDS_2019 = {"cifar10_cnn": 120.0}  # question 21: 'Each epoch took more than 2 minutes'


# --- the 23 answers ---------------------------------------------------------------------------


def answer_all(evidence: Evidence) -> list[Answer]:
    """Every question's answer, in question order (a question without its runs is left out)."""
    found = [
        _text("Q1", "2019's answer stands", "a use, not a measurement: no run can change it"),
        _timing("Q2", "dense_mnist", evidence),
        _history_2019(evidence),
        _activations(evidence),
        _data("Q11", "cnn_mnist", evidence),
        _dropout_histories(evidence),
        _data("Q18", "cifar10_cnn", evidence),
        _playground(evidence),
        per_run("Q4-5", "dense_mnist", evidence, gap_verdict),
        per_run("Q6", "dense_mnist", evidence, bar_verdict),
        per_run("Q8", "relu_mnist", evidence, loss_low_verdict),
        per_run("Q9", "relu_mnist", evidence, gap_verdict),
        versus(
            "Q10",
            evidence,
            "relu_mnist",
            "dense_mnist",
            ("better than linear", "worse than linear"),
            accuracies,
        ),
        per_run("Q12-13", "cnn_mnist", evidence, gap_verdict),
        per_run("Q14", "cnn_mnist", evidence, bar_verdict),
        versus(
            "Q15",
            evidence,
            "cnn_dropout_mnist",
            "cnn_mnist",
            ("training accuracy above no dropout's", "training accuracy below no dropout's"),
            training_accuracies,
        ),
        versus(
            "Q17",
            evidence,
            "cnn_dropout_mnist",
            "cnn_mnist",
            ("better than without dropout", "worse than without dropout"),
            accuracies,
        ),
        versus(
            "Q19",
            evidence,
            "cifar10_cnn",
            "cnn_mnist",
            ("above the MNIST CNN", "below the MNIST CNN"),
            accuracies,
        ),
        per_run("Q20", "cifar10_cnn", evidence, plateau_verdict),
        _timing("Q21", "cifar10_cnn", evidence),
        _text("Q22", "summarised", "a paper's summary: no run can change it"),
    ]
    order = list(BY_NUMBER)
    return sorted((a for a in found if a is not None), key=lambda a: order.index(a.question))


def _text(question: str, verdict: str, detail: str) -> Answer:
    return Answer(question, verdict, detail, evidence="2019's report")


def _timing(question: str, name: str, evidence: Evidence) -> Answer | None:
    """Seconds per epoch (``analysis.epoch_timing``): the benchmark's fastest epoch on an idle
    machine where it covers the network, else the run's own epochs if it had the cores to
    itself, else no conclusion; the machine named either way."""
    run = evidence.canonical(name)
    if run is None:
        return None
    idle, limit = evidence.idle.get(name), SECONDS_2019.get(name)
    timing = analysis.epoch_timing(run.provenance, idle)
    detail = analysis.timing_sentence(run.provenance, idle, limit)
    if timing["seconds"] is None:
        return Answer(question, "no timing conclusion", detail, evidence=f"scores/{name}.json")
    verdict = f"{timing['seconds']:.1f} s per epoch"
    if limit is not None:
        verdict = (
            "over" if timing["seconds"] > limit else "under"
        ) + f" {limit / 60:g} minutes: {verdict}"
    if timing["source"] == "benchmark":
        detail += f" The benchmark ran on {evidence.bench_machine}."
        where = "benchmarks/results.csv"
        verdict += f" (the benchmark's fastest, {evidence.bench_machine.split(',')[0]})"
    else:
        where = f"scores/{name}.json"
        verdict += f" (the run's median, {cpu_name(run.provenance.get('machine') or {})})"
    detail += f" The run trained on {cpu_name(run.provenance.get('machine') or {})}."
    return Answer(question, verdict, detail, {"seconds": timing["seconds"]}, evidence=where)


def _history_2019(evidence: Evidence) -> Answer | None:
    """How many of 2019's 48 history points lie inside the range of our seed runs there."""
    runs, theirs = evidence.runs.get("dense_mnist"), evidence.history_2019
    if not runs or theirs is None:
        return None
    paired = theirs.merge(seed_noise.history_range(runs), on=seed_noise.HISTORY_KEYS)
    # 2019 printed 7 decimals; our float32 values are compared at that precision.
    inside = int(
        (
            (paired["value"] >= paired["low"].round(7))
            & (paired["value"] <= paired["high"].round(7))
        ).sum()
    )
    verdict = f"2019's history inside our spread at {inside} of {len(paired)} points"
    detail = (
        f"each of 2019's printed values (loss and accuracy, training and validation, 12 epochs) "
        f"against the lowest and highest of our {len(runs)} seed runs at that point (the "
        "section Reproduction checks draws that band with 2019's history)"
    )
    numbers = {"inside": inside, "points": len(paired)}
    return Answer("Q3", verdict, detail, numbers, None, None, "histories/lab2019/history.csv")


def _activations(evidence: Evidence) -> Answer | None:
    """Q7: the dense network's best activation, over the seeds every activation ran: the one
    with the highest mean test accuracy, and the others the seeds do not tell apart from it
    (``spread_verdict``, the rule of every comparison); ``agree`` counts the seeds on which the
    best activation is one of those."""
    runs = dict(evidence.activations)
    for activation, name in (("linear", "dense_mnist"), ("relu", "relu_mnist")):
        runs[activation] = runs.get(activation, {}) | evidence.runs.get(name, {})
    shared = sorted(set.intersection(*(set(r) for r in runs.values()))) if len(runs) > 1 else []
    if not shared:
        return None
    accuracy = {a: accuracies({seed: r[seed] for seed in shared}) for a, r in runs.items()}
    mean = pd.Series({a: values.mean() for a, values in accuracy.items()}).sort_values()[::-1]
    best = accuracy[mean.index[0]]
    words = ("above", "below")
    top = [a for a in mean.index if spread_verdict(best, accuracy[a], words)[0] == NOT_TOLD_APART]
    names = " and ".join({"relu": "ReLU"}.get(a, a) for a in top)
    verdict = f"{names} best of {len(mean)} activations" + (
        ", not told apart by the seeds" if len(top) > 1 else ""
    )
    agree = sum(max(accuracy, key=lambda a: accuracy[a][seed]) in top for seed in shared)
    ranked = [(a, accuracy[a]) for a in mean.index]
    detail = f"test accuracy on the {len(shared)} seeds every activation ran, mean (range): " + (
        ", ".join(f"{a} {mean[a]:.4f} ({v.min():.4f}-{v.max():.4f})" for a, v in ranked)
    )
    where = "sweeps/dense_activation/, scores/seeds.csv"
    return Answer("Q7", verdict, detail, mean.to_dict(), agree, len(shared), where)


def _data(question: str, name: str, evidence: Evidence) -> Answer | None:
    """What the exercise trained on, from its provenance (counts, image shape, validation)."""
    run = evidence.canonical(name)
    if run is None:
        return None
    data, parameters = run.provenance["data"], run.provenance["parameters"]
    shape = "28 x 28 x 1" if data["dataset"] == "mnist" else "32 x 32 x 3"
    n_train, n_test = int(data["n_train"]), int(data["n_test"])
    if parameters.get("validate_on_test"):
        validation = "validated on the test set, as 2019 did (validation_data)"
    else:
        share = parameters.get("validation_split") or 0
        validation = f"the last {share:.0%} of the training images held out for validation"
    verdict = f"{n_train:,} training and {n_test:,} test images of {shape}"
    detail = f"pixels divided by 255, one-hot labels; {validation}"
    return Answer(question, verdict, detail, {"n_train": n_train, "n_test": n_test},
                  evidence=f"scores/{name}.json")  # fmt: skip


def _dropout_histories(evidence: Evidence) -> Answer | None:
    """Q16: are the curves with dropout closer together than without, over the seeds?"""
    answer = versus(
        "Q16",
        evidence,
        "cnn_dropout_mnist",
        "cnn_mnist",
        ("curves further apart than without dropout", "curves closer than without dropout"),
        gaps,
    )
    if answer is None:
        return None
    runs = [evidence.canonical(n) for n in ("cnn_dropout_mnist", "cnn_mnist")]
    idle = tuple(evidence.idle.get(n) for n in ("cnn_dropout_mnist", "cnn_mnist"))
    timing = ". " + analysis.time_versus(
        runs[0].provenance, runs[1].provenance, "cnn_mnist", idle if all(idle) else None
    )
    if all(idle):
        timing += f" The benchmark ran on {evidence.bench_machine}."
    timing += f" The runs trained on {cpu_name(runs[0].provenance.get('machine') or {})}."
    return replace(
        answer, detail=answer.detail + timing, evidence=answer.evidence + ", benchmarks/results.csv"
    )


def _playground(evidence: Evidence) -> Answer | None:
    """Q23: the smallest network of the search (fewest neurons) that reaches test loss < 0.1 on
    at least half its seeds, and 2019's network's own rate."""
    if evidence.search is None:
        return None
    summary = analysis.playground_success(evidence.search)
    most = summary[summary["success_rate"] >= 0.5].sort_values(["neurons"], kind="stable")
    claim = summary.query("feature_set == 'all' and hidden == '3'")
    detail = "the search's networks, by neurons: test loss < 0.1 on at least half their seeds"
    if not claim.empty:
        row = claim.iloc[0]
        detail += (
            f"; 2019's network (all features, one layer of 3 neurons) on "
            f"{analysis.success_text(row['successes'], row['seeds'])}"
        )
    if most.empty:
        verdict, agree, seeds = "no network of the search reaches test loss < 0.1", None, None
    else:
        row = most.iloc[0]
        layers = row["hidden"].replace("-", " and ")
        verdict = f"smallest: {row['feature_set']} features, hidden {layers} neurons"
        agree, seeds = int(row["successes"]), int(row["seeds"])
    return Answer("Q23", verdict, detail, {}, agree, seeds, "scores/playground_search.csv")


def differences(before: list[Answer], after: list[Answer]) -> list[str]:
    """The questions whose robust verdict (held on every seed) no longer holds on every seed
    in ``after``, e.g. after a rerun took the canonical run's place (``Evidence.with_rerun``):
    its verdict changed, or the rerun is a seed it does not hold on."""
    now = {answer.question: answer for answer in after}

    def holds(answer: Answer) -> bool:
        again = now.get(answer.question)
        return again is not None and again.verdict == answer.verdict and again.robust

    return [a.question for a in before if a.robust and not holds(a)]


def rerun_verdict(exercise: str, rerun: object, evidence: Evidence | None) -> str:
    """``make verify``'s conclusions verdict on ``rerun``, a run of ``exercise`` (a bfloat16 run
    in its float32 run's place): the answers again with it in the canonical run's place,
    against the answers of the committed runs."""
    if evidence is None or evidence.canonical(exercise) is None:
        return f"not judged: no committed {exercise} to compare with"
    before = answer_all(evidence)
    after = answer_all(evidence.with_rerun(exercise, rerun))
    return conclusions_verdict(differences(before, after))


def conclusions_verdict(changed: list[str]) -> str:
    """The record's words for ``differences``: 'same', or 'differ: Q10, Q17'."""
    return "same" if not changed else "differ: " + ", ".join(changed)


__all__ = ["NOT_PRINTED", "Answer", "Evidence", "answer_all", "differences", "gather"]

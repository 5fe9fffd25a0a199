"""The 23 answers as records: every question answered, no answer contradicting the tables it
cites or another answer, comparisons decided by seed spreads, and `make verify`'s conclusions
verdict seeing a changed conclusion."""

import re

import pandas as pd
import pytest

from imagelab import analysis, records
from imagelab.judging import conclusions
from imagelab.judging.questions import BY_NUMBER, NOT_PRINTED, QUESTIONS
from imagelab.judging.verdicts import NOT_TOLD_APART, spread_verdict
from imagelab.results import tables
from imagelab.results.exercises import get_exercise

from .conftest import ROOT


@pytest.fixture(scope="module")
def evidence():
    return conclusions.gather()


@pytest.fixture(scope="module")
def answers(evidence):
    return {answer.question: answer for answer in conclusions.answer_all(evidence)}


@pytest.fixture(scope="module")
def seeds():
    table = tables.read(records.run_files("seeds").score, tables.SEEDS)
    return table.assign(acc=analysis.exact_accuracy(table["acc"]))


# --- the verdicts on their own ---------------------------------------------------------------


@pytest.mark.parametrize(
    "ours, theirs, verdict, agree",
    [
        ([0.95, 0.96], [0.90, 0.91, 0.92], "higher", 2),
        ([0.80, 0.85], [0.90, 0.91], "lower", 2),
        ([0.89, 0.905, 0.93], [0.90, 0.91], NOT_TOLD_APART, 1),  # only 0.905 lies inside
        ([0.91, 0.95], [0.90, 0.91], NOT_TOLD_APART, 1),  # a tie at the edge is not beyond it
    ],
)
def test_a_comparison_is_decided_by_the_two_seed_spreads(ours, theirs, verdict, agree):
    found = spread_verdict(pd.Series(ours), pd.Series(theirs), ("higher", "lower"))
    assert found == (verdict, agree)


def test_every_question_is_answered_once_and_labelled_in_order(answers):
    assert list(answers) == [question.number for question in QUESTIONS]
    assert len(QUESTIONS) == 21  # 23 questions: 4-5 and 12-13 are answered together, as 2019 did
    assert all(answer.verdict and answer.detail for answer in answers.values())
    for answer in answers.values():
        assert answer.seeds is None or 0 <= answer.agree <= answer.seeds


def test_2019s_words_are_quoted_from_its_report_exactly():
    report = " ".join((ROOT.parent / "shared/reference/lab1_2019_report.txt").read_text().split())
    for question in QUESTIONS:
        said = question.said_2019
        if said == NOT_PRINTED:
            continue
        if said.startswith("("):  # our description; any words in it quoted or numbers are 2019's
            quoted = re.findall(r"\u201c(.+?)\u201d", said) + re.findall(r"\d+\.\d+", said)
            assert all(part in report for part in quoted), question.number
            continue
        for part in said.split(" […]"):
            assert part.strip() in report, f"{question.number}: not 2019's words: {part!r}"


# --- no answer contradicts the tables it cites ------------------------------------------------


def test_an_answer_on_one_run_counts_every_seed_run_of_its_exercise(answers, seeds):
    per_run = {"Q4-5": "dense_mnist", "Q6": "dense_mnist", "Q8": "relu_mnist",
               "Q9": "relu_mnist", "Q12-13": "cnn_mnist", "Q14": "cnn_mnist",
               "Q20": "cifar10_cnn"}  # fmt: skip
    for question, exercise in per_run.items():
        assert answers[question].seeds == (seeds["run"] == exercise).sum(), question


@pytest.mark.parametrize(
    "question, ours, theirs",
    [("Q10", "relu_mnist", "dense_mnist"), ("Q17", "cnn_dropout_mnist", "cnn_mnist"),
     ("Q19", "cifar10_cnn", "cnn_mnist")],
)  # fmt: skip
def test_a_comparison_agrees_with_the_seed_table(answers, seeds, question, ours, theirs):
    a, b = (seeds.loc[seeds["run"] == run, "acc"] for run in (ours, theirs))
    answer = answers[question]
    assert answer.numbers["ours_min"] == a.min() and answer.numbers["theirs_max"] == b.max()
    overlap = a.min() <= b.max() and b.min() <= a.max()
    assert (answer.verdict == NOT_TOLD_APART) == overlap, (question, answer.verdict)
    assert f"{a.min():.4f}-{a.max():.4f} over {len(a)} seeds" in answer.detail


def test_the_accuracy_answers_quote_the_score_table_and_never_deny_2019s_score(
    answers, evidence, seeds
):
    for question, exercise in (("Q6", "dense_mnist"), ("Q14", "cnn_mnist")):
        score = evidence.canonical(exercise).score
        assert f"test accuracy {score['acc']:.4f}" in answers[question].detail
        # The verdict is most seeds' (the canonical run's on a tie), counted from seeds.csv.
        mistakes = 100 * (
            1 - seeds.loc[seeds["run"] == exercise, "acc"].map(analysis.exact_accuracy)
        )
        meets, runs = int((mistakes <= 1).sum()), len(mistakes)
        canonical_meets = 100 * (1 - analysis.exact_accuracy(score["acc"])) <= 1
        majority = meets > runs - meets or (meets == runs - meets and canonical_meets)
        assert answers[question].verdict.startswith("meets" if majority else "short of")
        assert answers[question].agree == (meets if majority else runs - meets)
    assert get_exercise("cnn_mnist").result_2019  # 2019 reported this score, so no answer may
    assert not any("did not report" in a.sentence() for a in answers.values())  # say otherwise


def test_answers_do_not_contradict_each_other(answers):
    q7 = answers["Q7"].numbers  # mean test accuracy per activation
    assert (answers["Q10"].verdict == "better than linear") == (q7["relu"] > q7["linear"])
    if answers["Q10"].verdict == "better than linear":
        assert q7["relu"] > q7["linear"]
    # Q17 answers by the same seeds the sweep section reads: no 'held' beside 'not told apart'
    assert "held" not in answers["Q17"].sentence()


def test_q7_names_every_activation_the_seeds_do_not_tell_from_the_best(answers, evidence):
    runs = {activation: dict(r) for activation, r in evidence.activations.items()}
    runs.setdefault("linear", {}).update(evidence.runs["dense_mnist"])
    runs.setdefault("relu", {}).update(evidence.runs["relu_mnist"])
    shared = set.intersection(*(set(r) for r in runs.values()))
    acc = {a: [analysis.exact_accuracy(r[s].score["acc"]) for s in shared] for a, r in runs.items()}
    best = max(acc, key=lambda a: sum(acc[a]))
    overlapping = {a for a in acc if max(acc[a]) >= min(acc[best])}
    named = answers["Q7"].verdict.split(" best of")[0].replace("ReLU", "relu").split(" and ")
    assert set(named) == overlapping
    assert ("not told apart" in answers["Q7"].verdict) == (len(overlapping) > 1)
    assert answers["Q7"].seeds == len(shared)


# --- the conclusions verdict of make verify ---------------------------------------------------


def test_the_committed_run_in_its_own_place_changes_no_conclusion(evidence, answers):
    again = evidence.with_rerun("relu_mnist", evidence.canonical("relu_mnist"))
    assert conclusions.differences(list(answers.values()), conclusions.answer_all(again)) == []


def test_another_setting_in_a_runs_place_changes_the_conclusions_it_should(evidence, answers):
    """The linear network's run in the ReLU run's place: Q9 (overfits on every seed) no longer
    holds, and make verify says which answers differ."""
    swapped = evidence.with_rerun("relu_mnist", evidence.canonical("dense_mnist"))
    changed = conclusions.differences(list(answers.values()), conclusions.answer_all(swapped))
    assert "Q9" in changed
    assert conclusions.conclusions_verdict(changed).startswith("differ: ")
    assert conclusions.conclusions_verdict([]) == "same"


def test_a_verdict_that_does_not_hold_on_every_seed_is_not_a_conclusion_verify_checks():
    robust = conclusions.Answer("Q9", "overfits", "", agree=10, seeds=10)
    partial = conclusions.Answer("Q8", "validation loss rises after its low", "", agree=8, seeds=10)
    after = [robust, conclusions.Answer("Q8", "validation loss falls", "", agree=2, seeds=10)]
    assert conclusions.differences([robust, partial], after) == []
    assert partial.sentence().startswith("**Validation loss rises after its low** (on 8 of 10")


def test_each_answer_names_a_question_and_a_section_of_the_report():
    from imagelab.report.answered import SECTIONS

    assert {question.section for question in QUESTIONS} <= set(SECTIONS)
    assert set(BY_NUMBER) == {question.number for question in QUESTIONS}

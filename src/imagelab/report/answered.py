"""The 23 answers in the report: the table that opens it, and each section's questions.

Both are rendered from the records of ``imagelab.judging.conclusions`` (gathered once per results
folder), never written beside them: a verdict, the seeds on which it holds and the numbers come
from the record, 2019's words from ``imagelab.judging.questions``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from imagelab.judging import conclusions
from imagelab.judging.answer import Answer
from imagelab.judging.questions import BY_NUMBER, NOT_PRINTED
from imagelab.report.display import _show, _table

# Where in the report each section's answers stand, in short (the headings of report.ipynb).
SECTIONS = {
    "dense_mnist": "dense, no activation",
    "relu_mnist": "dense, ReLU",
    "cnn_mnist": "CNN (MNIST)",
    "cnn_dropout_mnist": "CNN with dropout",
    "cifar10_cnn": "CNN (CIFAR-10)",
    "paper": "Question 22",
    "playground": "Playground",
}


@functools.cache
def _answers(results_dir: str | None, sweeps_dir: str | None, benchmarks: str | None) -> tuple:
    evidence = conclusions.gather(results_dir, sweeps_dir, benchmarks)
    return tuple(conclusions.answer_all(evidence))


def answers(
    results_dir: str | Path | None = None,
    sweeps_dir: str | Path | None = None,
    benchmarks: str | Path | None = None,
) -> list[Answer]:
    """The answers from the results under ``results_dir`` (default: the project's)."""
    key = tuple(None if p is None else str(p) for p in (results_dir, sweeps_dir, benchmarks))
    return list(_answers(*key))


def answers_table(found: list[Answer]) -> pd.DataFrame:
    """One row per question: 2019's answer in short, ours, the seeds that agree, where."""
    return pd.DataFrame(
        {
            "question": [a.question for a in found],
            "2019, in short": [BY_NUMBER[a.question].in_short for a in found],
            "ours": [a.verdict for a in found],
            "seeds that agree": [a.seeds_text() if a.seeds else "-" for a in found],
            "answered in": [SECTIONS[a.section] for a in found],
        }
    )


def show_answers_table(
    results_dir: str | Path | None = None,
    sweeps_dir: str | Path | None = None,
    benchmarks: str | Path | None = None,
) -> None:
    """The table that opens the report, with how to read it."""
    found = answers(results_dir, sweeps_dir, benchmarks)
    _show(
        "Each of the 2019 lab's questions, answered from our runs. *Ours* is the verdict on the "
        "canonical run (seed 2019); *seeds that agree* counts the runs of the same settings, the "
        "canonical one among them, on which the same verdict holds. A comparison of two "
        "settings is decided by their seed spreads: one is better only when every seed of it "
        "lies beyond every seed of the other. A dash: the answer is not a verdict on training "
        "runs (a use, a data set, a paper, a timing). Timings are from the benchmark, on the "
        "machine it names. 2019's answers are shortened here in our words. Each question is answered in full, with its numbers and 2019's words, in the "
        "section named.\n\n" + _table(answers_table(found))
    )


def show_answers(section: str, results_dir: str | Path | None = None, **where: object) -> None:
    """The questions of one section, each with 2019's words and our answer."""
    found = [a for a in answers(results_dir, **where) if a.section == section]
    if found:
        _show("### The 2019 questions\n\n" + "\n".join(map(answer_item, found)))


def answer_item(answer: Answer) -> str:
    """One question as a list item: the question, 2019's words (quoted), ours."""
    said = answer.said_2019
    said = said if said == NOT_PRINTED or said.startswith("(") else f"\u201c{said}\u201d"
    return (
        f"- **{answer.question}: {answer.asked}**\n  - *2019:* {said}\n"
        f"  - *Now:* {answer.sentence()} (evidence: {answer.evidence})"
    )

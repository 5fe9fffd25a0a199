"""One answer to a 2019 question, as a record (``imagelab.judging.conclusions`` makes them): the
verdict, the numbers behind it, on how many seed runs it holds, and where its evidence is. The
report renders every sentence about a question from this record (``Answer.sentence``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from imagelab.judging.questions import BY_NUMBER


@dataclass(frozen=True)
class Answer:
    """One question answered from the data."""

    question: str  # "Q10"
    verdict: str  # a word or short phrase
    detail: str  # the numbers behind it, in words
    numbers: dict[str, float | int | str] = field(default_factory=dict)
    agree: int | None = None  # seed runs on which the same verdict holds
    seeds: int | None = None  # seed runs judged; None when the answer is not about runs
    evidence: str = ""  # the files it rests on

    @property
    def asked(self) -> str:
        return BY_NUMBER[self.question].asked

    @property
    def said_2019(self) -> str:
        return BY_NUMBER[self.question].said_2019

    @property
    def section(self) -> str:
        return BY_NUMBER[self.question].section

    @property
    def robust(self) -> bool:
        """Whether the verdict holds on every seed run (a conclusion ``make verify`` checks)."""
        return self.seeds is not None and self.agree == self.seeds

    def seeds_text(self) -> str:
        return f"{self.agree} of {self.seeds}" if self.seeds else "not about runs"

    def sentence(self) -> str:
        """The answer in words, rendered from the record."""
        held = f" (on {self.agree} of {self.seeds} seeds)" if self.seeds else ""
        return f"**{self.verdict[0].upper()}{self.verdict[1:]}**{held}: {self.detail}"

"""Bad-input cases: the report's other inputs (issue 26): seeds, benchmark, verify records, sweep
summaries, studies, the 2019 history, the Playground search and figures, damaged.

A ``CASES`` list of ``bad_input_kit.Case``; ``studies/bad_inputs.py`` runs them with the others.
Each runs in a copy of the project (``needs="store"``), where the command reads the copy's files.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable

from bad_input_kit import ROOT, Case, Layout, cut

# --- what the cases of this module plant --------------------------------------------------


def _cell(relative: str, column: str, value: str, row: int = 1) -> Callable[[Layout], None]:
    """Set ``column`` of data row ``row`` of the project copy's file ``relative``."""

    def plant(layout: Layout) -> None:
        path = layout.project / relative
        rows = list(csv.reader(io.StringIO(path.read_text(), newline="")))
        rows[row][rows[0].index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue())

    return plant


def _cut(relative: str) -> Callable[[Layout], None]:
    return lambda layout: cut(layout.project / relative)


def _last_line_dropped(relative: str) -> Callable[[Layout], None]:
    """Cut at a line's end: a shorter file that is still a valid CSV."""

    def plant(layout: Layout) -> None:
        path = layout.project / relative
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[:-1]))

    return plant


def _verify_record_cut(layout: Layout) -> None:
    """The reproductions record (not part of the copied project), copied and cut."""
    (layout.project / "reproductions").mkdir(exist_ok=True)
    shutil.copy(ROOT / "reproductions" / "verify.csv", layout.project / "reproductions")
    cut(layout.project / "reproductions" / "verify.csv")


REPORT = "imagelab report"
# A figure cut short: its manifest finds it first (issue 35); the figure check decodes those
# that have none.
CORRUPT_FIGURE = (
    r"cnn_mnist: results damaged \(figures/cnn_mnist_history\.png is (not a figure |not the "
    r"file scores/cnn_mnist\.json recorded \(\d+ bytes where it recorded \d+: cut short)"
)

CASES: list[Case] = [
    Case(
        "seeds-cut-mid-row",
        "26.2",
        REPORT,
        r"scores/seeds\.csv ends in the middle of a row .*`make seeds` rebuilds it",
        setup=_cut("scores/seeds.csv"),
        needs="store",
    ),
    Case(
        "seeds-accuracy-out-of-range",
        "26.4",
        REPORT,
        r"scores/seeds\.csv has 5\.0, out of range \(0 to 1\), on line 2, column acc",
        setup=_cell("scores/seeds.csv", "acc", "5.0"),
        needs="store",
    ),
    Case(
        "seeds-cut-allow-missing-still-stops",
        "26.9",
        f"{REPORT} --allow-missing",
        r"scores/seeds\.csv ends in the middle of a row",
        setup=_cut("scores/seeds.csv"),
        needs="store",
    ),
    Case(
        "history-2019-cut",
        "26.2",
        REPORT,
        r"histories/lab2019/history\.csv ends in the middle of a row",
        setup=_cut("histories/lab2019/history.csv"),
        needs="store",
    ),
    Case(
        "benchmark-cut",
        "26.2",
        REPORT,
        r"benchmarks/results\.csv ends in the middle of a row .*`make bench`",
        setup=_cut("benchmarks/results.csv"),
        needs="store",
    ),
    Case(
        "benchmark-string-in-value",
        "26.2",
        REPORT,
        r"benchmarks/results\.csv has 'fast', not a number, on line 3, column value",
        setup=_cell("benchmarks/results.csv", "value", "fast", row=2),
        needs="store",
    ),
    Case(
        "verify-record-cut",
        "26.2",
        REPORT,
        r"reproductions/verify\.csv: the last line ends without a newline",
        setup=_verify_record_cut,
        needs="store",
    ),
    Case(
        "sweep-summary-one-run-short",
        "26.2",
        REPORT,
        r"sweeps/relu_seeds/summary\.csv has 5 runs where sweeps/relu_seeds\.yaml plans 6",
        setup=_last_line_dropped("sweeps/relu_seeds/summary.csv"),
        needs="store",
    ),
    Case(
        "study-string-in-accuracy",
        "26.2",
        REPORT,
        r"studies/keras3_shuffle\.csv has 'abc', not a number, on line 2, column test_acc",
        setup=_cell("studies/keras3_shuffle.csv", "test_acc", "abc"),
        needs="store",
    ),
    Case(
        "playground-search-accuracy-out-of-range",
        "26.4",
        REPORT,
        r"scores/playground_search\.csv has 5\.0, out of range \(0 to 1\), on line 2, column "
        "test_acc",
        setup=_cell("scores/playground_search.csv", "test_acc", "5.0"),
        needs="store",
    ),
    Case(
        "bf16-run-history-cut",
        "26.9",
        REPORT,
        r"histories/cnn_mnist_bf16\.csv ends in the middle of a row",
        setup=_cut("histories/cnn_mnist_bf16.csv"),
        needs="store",
    ),
    Case(
        "report-corrupt-figure",
        "26.9",
        REPORT,
        CORRUPT_FIGURE,
        setup=_cut("figures/cnn_mnist_history.png"),
        needs="store",
    ),
    Case(
        "lab-dry-run-corrupt-figure",
        "26.9",
        "imagelab lab --dry-run",
        r"damaged results: cnn_mnist \(each named above",
        setup=_cut("figures/cnn_mnist_history.png"),
        needs="store",
    ),
    Case(
        "lab-dry-run-history-cut",
        "26.9",
        "imagelab lab --dry-run",
        r"damaged results: relu_mnist \(each named above",
        setup=_cut("histories/relu_mnist.csv"),
        needs="store",
    ),
]

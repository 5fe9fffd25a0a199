"""The side tables: every CSV the report, ``verify`` and ``imagelab lab``/``report`` read beside
the stored runs, and the figures they show, read through one validating reader.

As ``imagelab.results.store`` does for a run's files, a table is checked before anyone computes with
it: a file cut short, a string in a number column, a value out of range (an accuracy of 5.0,
a negative second, a seed beyond 2**32 - 1), a verdict outside its fixed set or a missing row
stops with ``DamagedTable``, one paragraph naming the file, the line and column, the value and
the fix (``git checkout`` for a committed file, or the command that rebuilds it), instead of
turning into "nan" or a word cut in half in the PDF.

``reader``: a table's ``Schema`` (a ``Column`` each: type, range or choices, whether a cell may
be empty; the command that rebuilds the file; the columns naming a row; a rule over the whole
table), ``read`` for a file, ``check_frame`` for a table already parsed (the Playground search,
read by the store), ``check_figure`` for a PNG. ``schemas``: the tables themselves (a sweep's summary.csv has its schema with the sweeps,
``imagelab.running.sweeps.summary``, which plan it). The
reproductions record keeps its own reader (``imagelab.judging.reproductions.read``), shared with
merging; the report reads it through that.

Why a reader of our own, not pandera (tried for issue 37): pandera checks a parsed frame, so
the raw reading (a file cut short, a row with a cell too few) stays ours; it accepts "inf"
where a loss must be >= 0; and its errors are JSON over several lines without the file's line
("Column 'acc' failed element-wise validator number 0: in_range(0, 1) failure cases: 5.0"),
so each would be translated back into "has 5.0, out of range (0 to 1), on line 4, column acc"
by code as long as the ``_problem`` it would replace.
"""

from imagelab.results.tables.reader import (
    SEED_MAX,
    Column,
    DamagedTable,
    Schema,
    check_figure,
    check_frame,
    check_run_figures,
    figure_problem,
    read,
    refusal,
)
from imagelab.results.tables.schemas import (
    BENCHMARK,
    BENCHMARK_COMPLETE,
    BENCHMARK_EPOCHS,
    BENCHMARK_FILE,
    HISTORY_2019,
    PLAYGROUND_SEARCH,
    SEEDS,
    STUDIES,
    read_benchmark,
    read_study,
)

__all__ = [
    "BENCHMARK",
    "BENCHMARK_COMPLETE",
    "BENCHMARK_EPOCHS",
    "BENCHMARK_FILE",
    "HISTORY_2019",
    "PLAYGROUND_SEARCH",
    "SEEDS",
    "SEED_MAX",
    "STUDIES",
    "Column",
    "DamagedTable",
    "Schema",
    "check_figure",
    "check_run_figures",
    "figure_problem",
    "check_frame",
    "read",
    "read_benchmark",
    "read_study",
    "refusal",
]

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

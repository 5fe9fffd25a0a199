"""The report's content, computed from the results folders at render time.

Every number and every judgement in the report comes from a function here reading
``histories/``, ``scores/`` (with provenance) and ``figures/``; the report notebook only
calls them. Nothing is trained: models are built (not fitted) to list their layers.

One module per part of the report: ``answered`` (the 23 answers: the opening table and each
section's questions), ``results`` (stored runs as read back), ``exercises`` (a section per exercise), ``summary`` (the closing tables),
``studies`` (reproduction checks), ``reproducibility`` (verifications on other CPUs),
``precision`` (the bfloat16 runs beside the float32 runs), ``extras`` (Playground, sweeps,
benchmark), ``display`` (markdown, tables, figures), ``inputs`` (the files the report reads and
their digest) and ``render`` (notebook to PDF and HTML). What 2019 printed is
``imagelab.judging.reference``, re-exported here.

It may import every layer below it: the lab, the results store, running and judging; never the
command line.
"""

from imagelab.judging.reference import (
    CIFAR_JPEG_NOTE,
    HISTORY_2019,
    is_jpeg_cifar,
)
from imagelab.report.answered import answers, answers_table, show_answers, show_answers_table
from imagelab.report.exercises import (
    architecture_table,
    check_runs,
    comparison_note,
    exercise_names,
    hyperparameter_line,
    score_table,
    show_exercise,
)
from imagelab.report.extras import (
    SWEEP_COLUMNS,
    show_benchmarks,
    show_playground,
    show_sweeps,
)
from imagelab.report.inputs import digest as inputs_digest
from imagelab.report.inputs import files as input_files
from imagelab.report.precision import precision_table, show_precision
from imagelab.report.render import REPORT_NOTEBOOK, render
from imagelab.report.reproducibility import show_reproducibility
from imagelab.report.results import idle_epochs, seed_spread
from imagelab.report.studies import (
    REPRODUCTION_STUDIES,
    reproduction_table,
    show_reproduction_checks,
    validation_movement,
)
from imagelab.report.summary import (
    environment_table,
    show_abstract,
    show_environment,
    show_summary,
    summary_table,
)

__all__ = [
    "CIFAR_JPEG_NOTE",
    "HISTORY_2019",
    "REPORT_NOTEBOOK",
    "REPRODUCTION_STUDIES",
    "SWEEP_COLUMNS",
    "answers",
    "answers_table",
    "architecture_table",
    "check_runs",
    "comparison_note",
    "environment_table",
    "exercise_names",
    "hyperparameter_line",
    "input_files",
    "inputs_digest",
    "is_jpeg_cifar",
    "idle_epochs",
    "precision_table",
    "render",
    "reproduction_table",
    "score_table",
    "seed_spread",
    "show_abstract",
    "show_answers",
    "show_answers_table",
    "show_benchmarks",
    "show_environment",
    "show_exercise",
    "show_playground",
    "show_precision",
    "show_reproducibility",
    "show_reproduction_checks",
    "show_summary",
    "show_sweeps",
    "summary_table",
    "validation_movement",
]

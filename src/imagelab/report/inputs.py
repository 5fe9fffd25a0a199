"""The files the report reads, and one digest over them.

The rendered PDF carries the digest in its metadata (keywords), so a PDF can be checked against
the results it claims to show: if a result file changed after the PDF was rendered, the digest
of today's files differs from the one in the PDF.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from imagelab import records
from imagelab.precision import BFLOAT16, canonical_name
from imagelab.results.exercises import EXERCISES
from imagelab.running.sweeps import summary_schema

# Runs the report reads besides the exercises, and the figures it shows per run.
EXTRA_RUNS = ("playground_spiral", "playground_search", "seeds")
FIGURES = ("history", "confusion", "misclassified", "surface", "loss", "success")


def files(
    runs: list[str] | None = None,
    results_dir: str | Path | None = None,
    sweeps_dir: str | Path | None = None,
    benchmarks: str | Path | None = None,
    studies_dir: str | Path | None = None,
    reproductions: str | Path | None = None,
) -> dict[str, Path]:
    """Every file the report reads that exists, by a name relative to its folder (the report
    notebook's parameters; None means the project's own folders)."""
    from imagelab.judging.reference import HISTORY_2019
    from imagelab.report.extras import PROFILE_STUDY
    from imagelab.report.studies import REPRODUCTION_STUDIES

    root = records.PROJECT_ROOT
    results = Path(results_dir) if results_dir else root
    found: dict[str, Path] = {}

    def add(label: str, path: Path) -> None:
        if path.is_file():
            found[label] = path

    for name in [*(runs or EXERCISES), *EXTRA_RUNS]:
        run = records.run_files(name, results)
        for path in (run.history, run.score, run.provenance, *map(run.figure, FIGURES)):
            add(f"results/{path.relative_to(results)}", path)
    for name in [n for n in runs or EXERCISES if n in EXERCISES]:  # their bfloat16 runs' numbers
        run = records.run_files(canonical_name(name, BFLOAT16), results)
        for path in (run.history, run.score, run.provenance):
            add(f"results/{path.relative_to(results)}", path)
    add("lab2019/history.csv", HISTORY_2019)
    sweeps = Path(sweeps_dir) if sweeps_dir else root / "sweeps"
    for summary in sorted(sweeps.glob("*/summary.csv")):
        folder = summary.parent
        for path in (folder.with_suffix(".yaml"), summary, folder / "summary.png"):
            add(f"sweeps/{path.relative_to(sweeps)}", path)
        for path in sorted((folder / "histories").glob("*.csv")):
            add(f"sweeps/{path.relative_to(sweeps)}", path)
    bench = Path(benchmarks) if benchmarks else root / "benchmarks" / "results.csv"
    add("benchmarks/results.csv", bench)
    studies = Path(studies_dir) if studies_dir else root / "studies"
    for file in sorted({file for file, _, _ in REPRODUCTION_STUDIES.values()}):
        add(f"studies/{file}", studies / file)
    add(f"studies/{PROFILE_STUDY}", studies / PROFILE_STUDY)
    add("reproductions/verify.csv", Path(reproductions or root / "reproductions" / "verify.csv"))
    return dict(sorted(found.items()))


def digest(**folders: object) -> str:
    """``sha256:`` and the hex sha256 over the report's input files (names and contents), as
    ``files(**folders)`` finds them."""
    total = hashlib.sha256()
    for label, path in files(**folders).items():
        total.update(f"{label}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return f"sha256:{total.hexdigest()}"


def check(
    runs: list[str] | None = None,
    results_dir: str | Path | None = None,
    sweeps_dir: str | Path | None = None,
    benchmarks: str | Path | None = None,
    studies_dir: str | Path | None = None,
    reproductions: str | Path | None = None,
    allow_missing: bool = False,
) -> list[str]:
    """Before the report renders: every file it reads beside the canonical runs (checked by
    ``runs.check_results``) through its validating reader: the other stored runs (bfloat16,
    the Playground spiral), the seeds, the 2019 history, the sweeps' summaries and runs, the
    benchmark, the studies, the verification record, the Playground search and every figure.

    A damaged side table raises its ``DamagedTable`` (one paragraph: the file and the fix). A
    damaged run (a sweep's too) or figure of a run raises too, unless ``allow_missing``: then
    the problems are returned, and the report leaves those runs out.
    """
    from imagelab.judging import reproductions as record
    from imagelab.judging.reference import HISTORY_2019
    from imagelab.results import store, tables
    from imagelab.running import playground_search

    root = records.PROJECT_ROOT
    left_out = []
    others = [*EXTRA_RUNS[:1], *(canonical_name(n, BFLOAT16) for n in runs or EXERCISES)]
    for name in others:  # the canonical runs: runs.check_results
        try:
            stored = store.load_run(name, results_dir)
            if stored is not None:
                tables.check_run_figures(stored)
        except store.DamagedResult as error:
            if not allow_missing:
                raise
            left_out.append(f"{name}: {error}")
    seeds = records.run_files("seeds", results_dir).score
    if seeds.is_file():
        tables.read(seeds, tables.SEEDS)
    if HISTORY_2019.is_file():
        tables.read(HISTORY_2019, tables.HISTORY_2019)
    if playground_search.load(results_dir) is not None:
        search = records.run_files(playground_search.RUN_NAME, results_dir).figure("success")
        if search.is_file():
            fix = "`imagelab lab playground_spiral --force` draws it again"
            tables.check_figure(search, fix)
    _check_sweeps(Path(sweeps_dir) if sweeps_dir else root / "sweeps", allow_missing, left_out)
    tables.read_benchmark(benchmarks, complete=True)
    epochs = Path(benchmarks).parent if benchmarks else root / "benchmarks"
    if (epochs / "epochs.csv").is_file():
        tables.read(epochs / "epochs.csv", tables.BENCHMARK_EPOCHS)
    studies = Path(studies_dir) if studies_dir else root / "studies"
    for file in tables.STUDIES:
        if (studies / file).is_file():
            tables.read_study(studies / file)
    record.read(reproductions or record.RECORD)
    return left_out


def _check_sweeps(sweeps: Path, allow_missing: bool, left_out: list[str]) -> None:
    """Each sweep's summary against its plan, the runs it calls complete (a damaged one is
    added to ``left_out`` when ``allow_missing``), and its figure."""
    from imagelab.results import store, tables

    for summary in sorted(sweeps.glob("*/summary.csv")):
        spec = summary.parent.with_suffix(".yaml")
        table = tables.read(summary, summary_schema(spec))
        for run in table.loc[table["status"] == "complete", "run_id"]:
            try:
                store.load_run(run, summary.parent)
            except store.DamagedResult as error:
                if not allow_missing:
                    raise
                left_out.append(f"{run} of sweep {summary.parent.name}: {error}")
        figure = summary.parent / "summary.png"
        if figure.is_file():
            tables.check_figure(figure, f"`imagelab sweep {records.relative(spec)}` draws it again")

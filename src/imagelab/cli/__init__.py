"""The `imagelab` command: data import and info, lab runs, sweeps, the report and verify.

The top floor: it may import every layer (the lab, results, running, judging, the report), and
nothing imports it. ``cli.verify`` holds the ``verify`` subcommand.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from imagelab.cli import verify as cli_verify
from imagelab.errors import DISK_ERRORS, UserError
from imagelab.precision import SHORT


def _data_info(args: argparse.Namespace) -> int:
    from imagelab import data

    rows = data.info()
    for row in rows:
        print(f"{row['dataset']}: {row['status']}, source {row['source']}")
        for key, value in row.items():
            if key not in ("dataset", "status", "source"):
                print(f"    {key}: {value}")
    return 1 if any(row["status"] == "problem" for row in rows) else 0


def _data_import(args: argparse.Namespace) -> int:
    import os

    from imagelab import data, data_import

    # Not data_dir(): its project default holds the verified copies, which an import must not
    # overwrite unless asked to (--out, or IMAGELAB_DATA); even there it refuses without --force.
    out = Path(args.out or os.environ.get(data.DATA_ENV) or "data")
    written = data_import.import_data(Path(args.path), out, force=args.force)
    print(
        f"wrote {', '.join(f'{name}.npz' for name in written)} and {data.MANIFEST} to "
        f"{out.resolve()}; use it with {data.DATA_ENV}={out.resolve()}"
    )
    if not (args.out or os.environ.get(data.DATA_ENV)):
        print(
            f"    ./data, as neither --out nor {data.DATA_ENV} named a folder: an import never "
            "writes into the project's data folder, which holds the verified copies (git "
            "ignores data/ in the project)"
        )
    for name in written:
        print(f"    {name}: {data_import.manifest_description(out, name)}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    from imagelab.judging.verify_precision import left_out  # the judges' word on bf16 runs
    from imagelab.running import runs

    number_format = SHORT[args.precision]
    if not args.dry_run:
        runs.lab(args.exercises or None, args.force, args.dry_run, number_format, left_out)
        return 0
    # A dry run is the check that the lab is fine: it fails wherever `imagelab report` would
    # refuse, on a damaged canonical run (runs.lab names them) and, for the whole lab, on any
    # other input the report reads (report.inputs.check: other runs, sweeps, side tables).
    problems = []
    try:
        runs.lab(args.exercises or None, args.force, True, number_format, left_out)
    except UserError as damaged:
        problems.append(str(damaged))
    if not args.exercises:
        from imagelab.report import inputs

        try:
            inputs.check()
        except UserError as refused:
            problems.append(f"the report would refuse to render: {refused}")
    if problems:
        raise UserError("; ".join(problems))
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from imagelab.running import sweeps

    if args.scheduler and args.executor != "dask":
        raise UserError("--scheduler needs --executor dask")
    if args.scheduler and args.jobs:
        raise UserError("with --scheduler the cluster's workers set the parallelism; drop --jobs")
    try:  # the sweep file is the user's input: every ValueError of its check names a key
        sweep = sweeps.load(args.file)
    except UserError:
        raise
    except ValueError as error:
        raise UserError(str(error)) from None
    if args.dry_run:
        print(sweeps.describe(sweep, retry_failed=args.retry_failed))
        return 0
    outcome = sweeps.run(
        args.file,
        jobs=args.jobs,
        retry_failed=args.retry_failed,
        executor=args.executor,
        scheduler=args.scheduler,
        connect_timeout=args.connect_timeout,
    )
    for run_id, error in outcome.failed.items():
        print(f"imagelab: run {run_id} failed: {error}", file=sys.stderr)
    if outcome.failed:
        print(
            f"imagelab: {len(outcome.failed)} run(s) failed: {', '.join(outcome.failed)}; "
            "their executed notebooks are kept; rerun them with --retry-failed",
            file=sys.stderr,
        )
    if outcome.interrupted:
        print(
            f"imagelab: {len(outcome.interrupted)} run(s) interrupted (their workers went away): "
            f"{', '.join(outcome.interrupted)}; rerun the same command to finish them",
            file=sys.stderr,
        )
    return 1 if outcome.failed or outcome.interrupted else 0


def _seeds(args: argparse.Namespace) -> int:
    from imagelab.running import runs

    print(f"wrote {runs.collect_seeds()}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from imagelab import report
    from imagelab.report import inputs
    from imagelab.running import runs

    runs.check_results(allow_missing=args.allow_missing)  # the report never trains
    for problem in inputs.check(allow_missing=args.allow_missing):  # every other file it reads
        print(f"== report: going on without {problem}")
    report.render()
    return 0


def _figures(args: argparse.Namespace) -> int:
    from imagelab import records
    from imagelab.running import redraw

    found = redraw.run_figures(args.results_dir) if args.results_dir else redraw.project_figures()
    outcome = redraw.compare(found, write=not args.check)
    print(f"figures: {len(outcome.same)} of {len(found)} drawn as stored")
    for path in outcome.different:
        print(f"    {'differs' if args.check else 'redrew'}: {records.relative(path)}")
    for path, why in outcome.left.items():
        print(f"    left as it is: {records.relative(path)}: {why}")
    if outcome.different:
        print(
            "`imagelab figures` redraws them"
            if args.check
            else "commit them with the change that redrew them; the report shows the project's "
            "figures, so `make report` renders it again"
        )
    return 1 if args.check and outcome.different else 0


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    main = argparse.ArgumentParser(prog="imagelab", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)

    data_cmd = commands.add_parser("data", help="import or inspect the data sets")
    data_sub = data_cmd.add_subparsers(dest="data_command", required=True)
    data_sub.add_parser(
        "info", help="what data is present, its source and checksum status"
    ).set_defaults(handler=_data_info)
    imp = data_sub.add_parser("import", help="build the data folder from the original files")
    imp.set_defaults(handler=_data_import)
    imp.add_argument("path", help="folder with the MNIST IDX files and/or cifar-10-python.tar.gz")
    imp.add_argument("--out", help="data folder to write (default: $IMAGELAB_DATA or ./data)")
    imp.add_argument("--force", action="store_true", help="replace data the folder already holds")

    lab = commands.add_parser("lab", help="run the canonical exercise notebooks (skips up-to-date)")
    lab.set_defaults(handler=_lab)
    lab.add_argument("exercises", nargs="*", help="exercise names (default: all five)")
    lab.add_argument("--force", action="store_true", help="rerun even if results are up to date")
    lab.add_argument("--dry-run", action="store_true", help="print each run's state, run nothing")
    lab.add_argument(
        "--precision",
        choices=tuple(SHORT),
        default="fp32",
        help="fp32: the canonical runs (default); bf16: the five Keras exercises in "
        "mixed_bfloat16 as <exercise>_bf16, on CPUs with AVX512_BF16 or AMX",
    )

    sweep = commands.add_parser("sweep", help="run a sweep file (grid x seeds), resuming")
    sweep.set_defaults(handler=_sweep)
    sweep.add_argument("file", help="sweep file, e.g. sweeps/cnn_dropout.yaml")
    sweep.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    sweep.add_argument("--retry-failed", action="store_true", help="rerun only the failed runs")
    sweep.add_argument(
        "--jobs",
        type=_positive_int,
        help="runs at once (default 1); with dask, LocalCluster workers",
    )
    sweep.add_argument(
        "--executor",
        default="local",
        choices=("local", "dask"),
        help="'local' processes (default) or 'dask' (a Dask distributed cluster)",
    )
    sweep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: start a LocalCluster)",
    )
    sweep.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the --scheduler to answer (default 10)",
    )
    commands.add_parser(
        "seeds", help="collect scores/seeds.csv from the canonical runs and sweeps"
    ).set_defaults(handler=_seeds)
    figures = commands.add_parser(
        "figures",
        help="draw the stored results' figures again with today's code; rewrite those that differ",
    )
    figures.set_defaults(handler=_figures)
    figures.add_argument("--check", action="store_true", help="compare only; exit 1 if any differ")
    figures.add_argument(
        "--results-dir", metavar="DIR", help="the runs under DIR (default: the project's results)"
    )
    report = commands.add_parser(
        "report", help="render report/report.pdf and .html from the stored results (never trains)"
    )
    report.set_defaults(handler=_report)
    report.add_argument(
        "--allow-missing",
        action="store_true",
        help="render even when a result is missing or damaged (without it); a damaged side "
        "table (seeds, benchmark, sweeps, studies, verify record) still stops it",
    )
    cli_verify.add_command(commands)
    return main


def _positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1, refused in the usual one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or str(value) != text.strip():
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


# What a stop signal is called in the message; SIGINT is what Ctrl-C sends.
STOPS = {"SIGINT": "Ctrl-C (SIGINT)", "SIGTERM": "SIGTERM"}


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _failed_notebook(error: Exception) -> str | None:
    """The paragraph of a notebook that stopped on a user error, or None for anything else.

    A UserError in the kernel renders through its ``_render_traceback_`` as the single line
    ``Name: message``; a real bug renders as a multi-line traceback and is left alone.
    """
    lines = getattr(error, "traceback", None)
    if type(error).__name__ != "PapermillExecutionError" or not lines or len(lines) != 1:
        return None
    return f"{lines[0]} (in notebook cell {getattr(error, 'exec_count', '?')})"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `imagelab` console script.

    Errors the user caused (a ``UserError``: bad data, parameters, run names, sweep files,
    damaged results) print as ``imagelab: error: <paragraph>`` and exit 2, as argparse does for
    bad arguments; anything else is a bug and keeps its traceback. A stop by Ctrl-C or SIGTERM
    exits 130 with one line saying which.
    """
    args = parser().parse_args(argv)
    # SIGTERM and SIGINT stop a run the way Ctrl-C does, so sweeps still record what finished
    # and write their summary. SIGINT is restored because a command started in the background
    # by a script (`nohup make sweep ... &`) inherits it ignored.
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.handler(args)
    except UserError as error:
        print(f"imagelab: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stopped:
        name = str(stopped) or "SIGINT"  # Python's own handler raises it without a name
        print(
            f"imagelab: stopped by {STOPS.get(name, name)}; finished runs are kept",
            file=sys.stderr,
        )
        return 130
    except OSError as error:
        if error.errno not in DISK_ERRORS:
            raise
        # imagelab writes every file beside its place and renames it there when whole
        # (records.atomic_path, staging), so a refused write changed nothing.
        where = error.filename or "a file"
        print(
            f"imagelab: error: could not write {where}: {DISK_ERRORS[error.errno]}. Nothing was "
            "half-written: the files there are as they were. Free space on that disk or make "
            "the folder writable for this user, then run the command again.",
            file=sys.stderr,
        )
        return 2
    except Exception as error:
        paragraph = _failed_notebook(error)
        if paragraph is None:
            raise
        print(f"imagelab: error: {paragraph}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

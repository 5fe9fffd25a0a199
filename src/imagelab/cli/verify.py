"""The `imagelab verify` command: retrain committed runs and judge them (``imagelab.judging.verify``),
judge the bfloat16 runs (``imagelab.judging.verify_precision``), show the rule's calibration on the
committed runs (``imagelab.judging.seed_noise``), or merge other machines' records
(``imagelab.judging.reproductions``); and where the verdicts go.

``--record`` appends to reproductions/verify.csv, which the committed report shows (its digest
covers the file), so the report is then to be rendered again; ``--record-to FILE`` keeps them
in a file the tests and the report do not read (``make matrix`` does), to be merged later with
``--merge``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from imagelab.errors import UserError
from imagelab.precision import BFLOAT16, SHORT, SUFFIX


def _verify(args: argparse.Namespace) -> int:
    from imagelab import records
    from imagelab.judging import reproductions, verify

    if args.merge:
        if args.runs or args.all or args.record or args.record_to:
            raise UserError(
                "--merge adds rows other machines recorded and retrains nothing; give it "
                "without run names, --all or --record, nor --record-to"
            )
        record = reproductions.RECORD
        merged = reproductions.merge(args.merge, record, python=args.python)
        for file in merged:
            print(
                f"merged {file.rows} rows from {file.file} ({file.duplicates} duplicates skipped)"
            )
        added = sum(file.rows for file in merged)
        where = records.relative(record)
        print(f"appended {added} rows to {where}" if added else f"{where} unchanged: no new rows")
        print(_REPORT_AGAIN if added else "", end="\n" if added else "")
        return 0
    if args.calibration:
        return _calibration()
    if args.python:
        raise UserError("--python goes with --merge: the Python version of files to merge")
    if args.all and args.runs:
        raise UserError("give run names or --all, not both")
    record = (
        Path(args.record_to) if args.record_to else reproductions.RECORD if args.record else None
    )
    if args.precision == "bf16":
        from imagelab.judging import verify_precision

        return _recorded(verify_precision.main(args.runs or None, record), record)
    names = verify.ALL_RUNS if args.all else args.runs or verify.DEFAULT_RUNS
    from imagelab.running.runs import data_line

    print(data_line())
    bfloat16 = [name for name in names if name.endswith(SUFFIX[BFLOAT16])]
    if record and bfloat16:
        # A bfloat16 run's row in the record is its verdict against its float32 run; a retrain
        # judged against the committed bfloat16 run is another question, kept out of it.
        raise UserError(
            f"--record keeps, for a bfloat16 run, its verdict against its float32 run (`imagelab "
            f"verify --precision bf16 --record`); retraining {', '.join(bfloat16)} compares it "
            "with the committed run but is not recorded beside those verdicts: run it without "
            "--record"
        )
    return _recorded(verify.main(names, record=record, reuse=args.reuse), record)


def _calibration() -> int:
    """`verify --calibration`: the numbers rule on the committed runs, retraining nothing."""
    from imagelab.judging import seed_noise

    table = seed_noise.calibration_table()
    if table.empty:
        raise UserError("no exercise has three seed runs in scores/seeds.csv; run `make seeds`")
    seeds = table[table["case"] == "seed run"]
    print(f"each seed run against its canonical run ({seed_noise.RULE}, own distance left out):")
    for name, rows in seeds.groupby("exercise", sort=False):
        print(f"  {name:<18} within seed noise: {int(rows['within'].sum())} of {len(rows)}")
    print("runs of another setting against the canonical run (all seed pairs as reference):")
    for (name, case, expected), rows in table[table["case"] != "seed run"].groupby(
        ["exercise", "case", "expected"], sort=False
    ):
        print(
            f"  {case:<20} against {name:<18} outside: {int((~rows['within']).sum())} of "
            f"{len(rows)} (expected: {expected})"
        )
    return 0


# The committed report shows reproductions/verify.csv (its digest covers the file).
_REPORT_AGAIN = (
    "reproductions/verify.csv changed, and report/report.pdf shows it: `make report` renders "
    "it again; commit both"
)


def _recorded(status: int, record: Path | None) -> int:
    """Say where the verdicts went and what follows from it; return ``status``."""
    from imagelab import records
    from imagelab.judging import reproductions

    if record is None:
        return status
    if record.resolve() == reproductions.RECORD.resolve():
        print(_REPORT_AGAIN)
    else:
        print(
            f"recorded in {records.relative(record)}, which the tests and the report do not "
            f"read; `imagelab verify --merge {records.relative(record)}` adds its rows to "
            "reproductions/verify.csv"
        )
    return status


class _VerifyHelp(argparse.HelpFormatter):
    """`verify --help`, with how long --all takes read from reproductions/verify.csv when the
    help is shown (never typed: a typed time goes stale, and reading the record for every
    command would slow them all)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = super()._get_help_string(action) or ""
        if "{all_time}" in text:
            from imagelab.judging import reproductions, verify

            try:
                seconds = reproductions.recorded_seconds(verify.ALL_RUNS, reproductions.RECORD)
            except UserError:  # a damaged record: `verify --record` names the fix; help goes on
                seconds = None
            took = (
                f"{seconds / 60:.0f} min, each run's last time in reproductions/verify.csv"
                if seconds
                else "no time readable from reproductions/verify.csv"
            )
            text = text.replace("{all_time}", took)
        return text


def add_command(commands: argparse._SubParsersAction) -> None:
    """Add the `verify` command to the command line's ``commands``."""
    verify = commands.add_parser(
        "verify",
        help="retrain committed runs in build/verify; judge their numbers (identical / within "
        "seed noise / outside) and their conclusions (same / differ)",
        formatter_class=_VerifyHelp,
    )
    verify.set_defaults(handler=_verify)
    verify.add_argument("runs", nargs="*", help="runs to retrain (default: dense_mnist relu_mnist)")
    verify.add_argument(
        "--all",
        action="store_true",
        help="all five exercises and the Playground spiral ({all_time})",
    )
    verify.add_argument(
        "--record", action="store_true", help="append the verdicts to reproductions/verify.csv"
    )
    verify.add_argument(
        "--record-to",
        metavar="FILE",
        help="append them to FILE instead, to merge later with --merge (make matrix does)",
    )
    verify.add_argument(
        "--precision",
        choices=tuple(SHORT),
        default="fp32",
        help="bf16: judge each stored <exercise>_bf16 run against its float32 run by the same "
        "two verdicts (nothing retrained; runs: exercise names, default all five); an exercise "
        "joins `make lab PRECISION=bf16` when its conclusions are the same and its test "
        "accuracy within seed noise",
    )
    verify.add_argument(
        "--calibration",
        action="store_true",
        help="show the numbers rule on the committed runs (each seed run against its canonical "
        "run; runs of another setting) and retrain nothing",
    )
    verify.add_argument(
        "--reuse",
        action="store_true",
        help="judge a retrain already in build/verify/<run> that today's training code made, "
        "instead of retraining it (after more seed runs, say)",
    )
    verify.add_argument(
        "--merge",
        nargs="+",
        metavar="FILE",
        help="add the rows of other machines' verify.csv files to reproductions/verify.csv "
        "(checked first; rows already there are skipped); retrains nothing",
    )
    verify.add_argument(
        "--python",
        metavar="VERSION",
        help="with --merge, for files recorded before the python column: the Python version "
        "they were recorded with, e.g. 3.11.7 (never guessed)",
    )

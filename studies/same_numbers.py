"""Does a change to the training code train the same numbers? (for ``fingerprint.SAME_NUMBERS``)

A change to a module the fingerprint hashes (``fingerprint.TRAINING_CODE``) marks every stored
run stale, unless it is listed in ``SAME_NUMBERS`` with the evidence that it trains what the
older code did. Where the committed runs were trained on another CPU, `imagelab verify` finds
them within seed noise, not identical, so the evidence is two retrains on one machine: the older
code's (`imagelab verify` into build/verify, copied aside before the change, or the committed
runs themselves when this machine trained them) and the newer code's (`imagelab verify` again).
This compares them run by run as `imagelab verify` judges *identical* (``records.identical_parts``):
every history value (the epoch seconds aside), the test score and every prediction. Writes a CSV
of one row per run (``--out``) and prints it.

    .venv/bin/python studies/same_numbers.py build/verify-OLD build/verify --out studies/X.csv
    .venv/bin/python studies/same_numbers.py . build/verify --runs cnn_mnist_bf16 --out ...
                                     # older: the committed runs, when this machine trained them
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from imagelab import machine, records


def run_files(folder: Path, run: str) -> records.RunFiles:
    """The run's files in ``folder``: verify's layout (a folder per run), else the project's
    (the committed runs, e.g. bfloat16 runs trained on this machine by the older code)."""
    own = records.run_files(run, folder / run)
    return own if own.provenance.is_file() else records.run_files(run, folder)


def compare(old_dir: Path, new_dir: Path, run: str) -> dict[str, object]:
    """One run's older and newer retrain, side by side."""
    old, new = run_files(old_dir, run), run_files(new_dir, run)
    same = records.identical_parts(old, new)
    provenance = [json.loads(f.provenance.read_text()) for f in (old, new)]
    return {
        "run": run,
        "old_code": provenance[0]["fingerprint"]["code_sha256"][:12],
        "new_code": provenance[1]["fingerprint"]["code_sha256"][:12],
        "old_commit": provenance[0]["git"]["commit"][:12],
        "new_commit": provenance[1]["git"]["commit"][:12],
        "cpu": machine.cpu_name(provenance[1]["machine"]),
        "history_rows": len(pd.read_csv(new.history)),
        "history_same": same["history"],
        "score_same": same["score"],
        "predictions_same": same["predictions"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the older code's retrains (one folder per run)")
    parser.add_argument("new", type=Path, help="the newer code's retrains")
    parser.add_argument("--runs", nargs="+", help="the runs to compare (default: all in both)")
    parser.add_argument("--out", type=Path, help="CSV to write (rows of other runs in it stay)")
    args = parser.parse_args()
    runs = args.runs or sorted(p.name for p in args.new.iterdir() if p.is_dir())
    runs = [
        r for r in runs if all(run_files(d, r).predictions.is_file() for d in (args.old, args.new))
    ]
    table = pd.DataFrame([compare(args.old, args.new, run) for run in runs])
    print(table.to_markdown(index=False))
    if args.out:
        kept = pd.read_csv(args.out, dtype=str) if args.out.is_file() else pd.DataFrame()
        kept = kept[~kept["run"].isin(table["run"])] if len(kept) else kept
        rows = pd.concat([kept, table.astype(str)]).sort_values("run")
        records.write_csv(rows, args.out)
    same = table[["history_same", "score_same", "predictions_same"]].all(axis=None)
    print(f"\n{len(table)} runs: " + ("all identical" if same else "NOT all identical"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

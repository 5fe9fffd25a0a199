"""Bad input, refused: is every mistake a user can make stopped before any work, in one
paragraph that names the problem and the fix, with nothing overwritten? (issue 17)

Each case plants one bad input (a damaged file, a misspelt parameter, a wrong argument) in a
temporary copy of the project (code, notebooks, committed results) and of the data folder, runs
the command a user would type there, and records the exit status, the first line of the message,
the seconds until the command ended, how many lines the error took, and the sha256 of the data
folder and of histories/ scores/ figures/ before and after. Prints a markdown table.

    IMAGELAB_DATA=../shared/datasets .venv/bin/python studies/bad_inputs.py [--only NAME ...]

``tests/test_bad_inputs.py`` runs the same CASES (gathered here from the case modules beside
this file, one per theme; the machinery is ``bad_input_kit``) on the small fixture data (the cases that start
a Jupyter kernel are in the slow tier).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the case modules beside this file
import bad_data_and_arguments  # noqa: E402
import bad_runs  # noqa: E402
import bad_sets  # noqa: E402
import bad_side_tables  # noqa: E402
from bad_input_kit import ROOT, make_layout, run_case, skip_reason, table  # noqa: E402

# Every case of the study, theme by theme.
CASES = [*bad_data_and_arguments.CASES, *bad_side_tables.CASES, *bad_runs.CASES, *bad_sets.CASES]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default=os.environ.get("IMAGELAB_DATA") or ROOT.parent / "shared" / "datasets"
    )
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--no-kernels", action="store_true", help="leave out the papermill cases")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or c.name in args.only]
    cases = [c for c in cases if not (args.no_kernels and c.kernel)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bad_inputs-") as base:
        shared = make_layout(Path(base) / "first", Path(args.data)).data  # one copy of the data
        for number, case in enumerate(cases, start=1):
            reason = skip_reason(case, shared)
            if reason:
                rows.append((case, reason))
                continue
            layout = make_layout(Path(base) / f"case{number}", Path(args.data), data=shared)
            outcome = run_case(case, layout)
            rows.append((case, outcome))
            print(f"{case.name}: exit {outcome.status} in {outcome.seconds:.1f} s", file=sys.stderr)
            shutil.rmtree(layout.project)
            shutil.rmtree(layout.work)
    print(table(rows))
    ran = [(c, o) for c, o in rows if not isinstance(o, str)]
    bad = [
        c.name
        for c, o in ran
        if not (o.status == c.status and re.search(c.expect, o.message) and o.unchanged)
    ]
    print(
        f"\n{len(ran)} cases ran, {len(rows) - len(ran)} skipped; "
        f"{len(ran) - len(bad)} refused as expected with nothing changed"
        + (f"; unexpected: {', '.join(bad)}" if bad else "")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

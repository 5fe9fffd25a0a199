"""How much does a benchmark ratio rest on one epoch? (issue 39: the dropout CNN on the Xeon)

``benchmarks/bench.py`` takes each path's fastest of 35 timed epochs, because this VM jumps
between a fast and a slow level and the minimum finds the fast one. The minimum is also the
statistic one lucky epoch moves most. For each exercise and pair of paths in an ``epochs.csv``
(the benchmark's every timed epoch), this prints each path's three fastest epochs, the ratio of
the fastest (what ``results.csv`` says), the ratio of the second fastest (the same with each
path's single fastest epoch left out), and how many repeats' own fastest epochs agree: in a
repeat the paths ran back to back, so the machine's level is shared.

    .venv/bin/python studies/fastest_epochs.py benchmarks/epochs.csv
    git show 7c75391:benchmarks/epochs.csv | .venv/bin/python studies/fastest_epochs.py -
"""

import sys

import pandas as pd

PAIRS = (("imagelab", "bare"), ("imagelab_bf16", "bare_bf16"))


def fastest(epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per exercise and pair of paths present in ``epochs``."""
    rows = []
    for exercise, ours, bare in _pairs(epochs):
        mine = epochs.query("exercise == @exercise and path == @ours")
        theirs = epochs.query("exercise == @exercise and path == @bare")
        a, b = (sorted(frame["seconds"]) for frame in (mine, theirs))
        per_repeat = (
            mine.groupby("repeat")["seconds"].min() / theirs.groupby("repeat")["seconds"].min()
        )
        rows.append({
            "exercise": exercise, "paths": f"{ours} / {bare}",
            "imagelab fastest 3": " ".join(f"{t:.2f}" for t in a[:3]),
            "bare fastest 3": " ".join(f"{t:.2f}" for t in b[:3]),
            "ratio of fastest": a[0] / b[0], "ratio of 2nd fastest": a[1] / b[1],
            "repeats ahead": f"{int((per_repeat < 1).sum())} of {len(per_repeat)}",
        })  # fmt: skip
    return pd.DataFrame(rows)


def _pairs(epochs: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(exercise, imagelab's path, bare's path) for each pair timed in ``epochs``."""
    paths = epochs.groupby("exercise", sort=False)["path"].agg(set)
    return [(exercise, ours, bare) for exercise, present in paths.items()
            for ours, bare in PAIRS if {ours, bare} <= present]  # fmt: skip


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    epochs = pd.read_csv(sys.stdin if sys.argv[1] == "-" else sys.argv[1])
    if "commit" in epochs:
        print(f"epochs.csv of commit {', '.join(sorted(set(epochs['commit'].astype(str))))}")
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(fastest(epochs).round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

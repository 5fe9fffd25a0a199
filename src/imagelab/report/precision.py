"""The bfloat16 section: do the runs trained in bfloat16 reach the float32 runs' conclusions,
and in how much time?

Each exercise's bfloat16 run (``<exercise>_bf16``, from ``make lab PRECISION=bf16``) beside
its float32 run: test accuracy and loss, each run's own seconds per steady epoch, the
benchmark's bfloat16-over-float32 ratio of fastest epochs where ``benchmarks/results.csv`` has
one, and the latest two verdicts of ``imagelab verify --precision bf16`` under today's rule
(``imagelab.judging.seed_noise``) from ``reproductions/verify.csv`` (read through
``imagelab.judging.reproductions.read``, which checks it): on the numbers and on the conclusions. The
section's first sentence answers its question from them.
Training times are compared for what they are: when the two labs trained on different CPUs,
their ratio compares machines, not precisions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from imagelab import analysis
from imagelab.judging import reproductions, seed_noise
from imagelab.machine import cpu_name
from imagelab.precision import BFLOAT16, canonical_name
from imagelab.report.answered import SECTIONS
from imagelab.report.display import _show, _table
from imagelab.report.results import load_run, seed_spread
from imagelab.results import tables
from imagelab.results.exercises import EXERCISES
from imagelab.results.store import StoredRun

NOT_JUDGED = "not judged yet"
STALE = "not judged since trained"  # every recorded verdict predates a run's last training
RATIO_SUFFIX = "/bf16_ratio"  # benchmarks/results.csv: bfloat16 over float32, fastest epochs
NO_RUNS = (
    "*No bfloat16 runs yet: `make lab PRECISION=bf16` trains them and "
    "`imagelab verify --precision bf16 --record` judges them.*"
)


def cpu_label(provenance: dict) -> str:
    """The CPU a run trained on, as its provenance records it: model, family and model
    numbers (virtual machines may mask the name, not these) and core count."""
    machine = provenance.get("machine") or {}
    return f"{cpu_name(machine)}, {machine.get('cores', '?')} cores"


def precision_table(
    names: list[str],
    results_dir: str | Path | None = None,
    benchmarks: str | Path | None = None,
    record: str | Path | None = None,
) -> pd.DataFrame:
    """One row per exercise of ``names`` with a stored bfloat16 run: test ``acc`` and ``loss``,
    seconds per steady ``epoch`` (the run's own) and ``train`` seconds of the float32 (``_fp32``)
    and bfloat16 (``_bf16``) runs, their ``cpu``, the benchmark's ``bench_ratio``, the runs that
    shared their cores (``shared``) and the latest ``verdict``. NaN where the float32 run or
    the benchmark row is missing."""
    verified = reproductions.read(record or reproductions.RECORD)
    ratios = _bench_ratios(benchmarks)
    rows = []
    for name in [n for n in names if n in EXERCISES]:
        bf16 = load_run(canonical_name(name, BFLOAT16), results_dir)
        if bf16 is None:
            continue
        fp32 = load_run(name, results_dir)
        row = {"exercise": name}
        for suffix, run in (("fp32", fp32), ("bf16", bf16)):
            p = run.provenance if run else {}
            row |= {
                f"acc_{suffix}": run.score["acc"] if run else np.nan,
                f"loss_{suffix}": run.score["loss"] if run else np.nan,
                f"epoch_{suffix}": analysis.steady_epoch_seconds(p["epoch_seconds"])
                if p.get("epoch_seconds")
                else np.nan,
                f"train_{suffix}": p.get("train_seconds") or np.nan,
                f"cpu_{suffix}": cpu_label(p) if run else None,
            }
        shared = [r for r in (fp32, bf16) if r and analysis.contention(r.provenance)["contended"]]
        row["shared"] = "; ".join(
            f"{r.name} ({analysis.contention_note(r.provenance)})" for r in shared
        )
        row["bench_ratio"] = ratios.get(name, np.nan)
        row |= latest_judgement(verified, bf16, fp32)
        rows.append(row)
    return pd.DataFrame(rows)


def latest_judgement(
    verified: pd.DataFrame | None, bf16: StoredRun, fp32: StoredRun | None
) -> dict[str, object]:
    """The latest judgement of the bfloat16 run under today's rule, recorded after both runs
    were last trained (an older one judged other files): its ``verdict`` on the numbers, its
    ``conclusions``, its test accuracy's distance over the farthest seed pair's (``ratio_acc``) and
    ``admitted`` (joins the fast lab); ``NOT_JUDGED`` or ``STALE`` as the verdict otherwise."""
    empty = {"conclusions": None, "ratio_acc": np.nan, "admitted": False}
    rows = None if verified is None else verified[verified["run"] == bf16.name]
    if rows is not None:
        rows = rows[rows["rule"] == seed_noise.RULE]
    if rows is None or rows.empty:
        return empty | {"verdict": NOT_JUDGED}
    finished = [r.provenance.get("finished") for r in (bf16, fp32) if r is not None]
    since = max((pd.to_datetime(f, utc=True) for f in finished if f), default=None)
    rows = rows if since is None else rows[rows["date"] >= since]
    if rows.empty:
        return empty | {"verdict": STALE}
    last = rows.sort_values("date").iloc[-1]
    admitted = last["conclusions"] == "same" and last["ratio_acc"] <= seed_noise.MARGIN
    return {
        "verdict": last["verdict"],
        "conclusions": last["conclusions"],
        "ratio_acc": float(last["ratio_acc"]),
        "admitted": bool(admitted),
    }


def _bench_ratios(benchmarks: str | Path | None = None) -> dict[str, float]:
    """The benchmark's bfloat16-over-float32 ratio of fastest epochs, per exercise."""
    results = tables.read_benchmark(benchmarks)
    if results is None:
        return {}
    value = results.set_index("name")["value"]
    return {
        k.removesuffix(RATIO_SUFFIX): float(v) for k, v in value.items() if k.endswith(RATIO_SUFFIX)
    }


def _bench_source(benchmarks: str | Path | None = None) -> str:
    """Where and when the benchmark measured its bfloat16 ratios."""
    results = tables.read_benchmark(benchmarks)
    row = results[results["name"].str.endswith(RATIO_SUFFIX)].iloc[0]
    return f"{row.get('machine', 'machine not recorded')}, {str(row.get('date', '?'))[:10]}"


def answer_sentence(table: pd.DataFrame, benchmarks: str | Path | None = None) -> str:
    """The section's answer, first: the same conclusions or not, and how much faster, on the
    machine that timed it (the benchmark's ratio of fastest epochs)."""
    judged = table[~table["verdict"].isin((NOT_JUDGED, STALE))]
    same = judged[judged["conclusions"] == "same"]
    differ = judged[judged["conclusions"].fillna("").str.startswith("differ")]
    runs = f"{len(judged)} judged bfloat16 run{'s' if len(judged) != 1 else ''}"
    if judged.empty:
        text = "No bfloat16 run is judged yet under today's rule, so whether it reaches the same conclusions is open"
    elif differ.empty:
        text = (
            f"The same conclusions: each of the {runs} reaches every conclusion the float32 "
            "runs hold on all their seeds"
        )
    else:
        which = "; ".join(f"{r.exercise} ({r.conclusions})" for r in differ.itertuples())
        text = f"Not the same conclusions everywhere: of the {runs}, {len(same)} reach them and {which} do not"
    ratios = table["bench_ratio"].dropna()
    if ratios.empty:
        return text + "."
    return (
        f"{text}; an epoch in bfloat16 takes {ratios.min():.2f}-{ratios.max():.2f} times the "
        f"float32 time for the {len(ratios)} exercise{'s' if len(ratios) != 1 else ''} the "
        "benchmark times in both (the "
        f"benchmark's fastest epochs on {_bench_source(benchmarks)})."
    )


def verdict_sentence(table: pd.DataFrame) -> str:
    """The numbers verdicts, and which runs join the fast lab."""
    counts = table["verdict"].value_counts()
    parts = [
        f"{counts[v]} {v}" for v in (*reproductions.VERDICTS, STALE, NOT_JUDGED) if v in counts
    ]
    joins = list(table.loc[table["admitted"], "exercise"])
    text = f"On the numbers: {', '.join(parts)}."
    if joins:
        which = f"all {len(joins)}" if len(joins) == len(table) > 1 else ", ".join(joins)
        text += (
            f" Joining `make lab PRECISION=bf16` (the same conclusions and a test accuracy within "
            f"seed noise): {which}."
        )
    return text


def beyond_seeds_sentence(table: pd.DataFrame, results_dir: str | Path | None = None) -> str:
    """The bfloat16 runs whose test accuracy lies outside every float32 seed run's, and why the
    rule still calls them within seed noise: it measures the distance from the float32 run."""
    parts = []
    for row in table[table["verdict"] == "within seed noise"].itertuples():
        spread = seed_spread(row.exercise, results_dir)
        if spread is None or spread["min"] <= row.acc_bf16 <= spread["max"]:
            continue
        parts.append(
            f"{SECTIONS.get(row.exercise, row.exercise)} ({row.acc_bf16:.4f} against "
            f"{spread['min']:.4f}-{spread['max']:.4f} over {spread['n']} seeds; "
            f"{row.ratio_acc:.2f} times the farthest seed pair's distance)"
        )
    if not parts:
        return ""
    return (
        f"The bfloat16 test accuracy lies outside every float32 seed run's in {'; '.join(parts)}, "
        f"yet within seed noise: the rule measures the distance from the float32 run, up to "
        f"{seed_noise.MARGIN} times the farthest seed pair's."
    )


def time_sentence(table: pd.DataFrame) -> str:
    """The bfloat16 lab's training time against the float32 lab's, over the exercises with
    both runs, and the CPUs they trained on; plainly not a speed-up when the CPUs differ."""
    both = table.dropna(subset=["train_fp32", "train_bf16"])
    if both.empty:
        return ""
    fp32, bf16 = both["train_fp32"].sum(), both["train_bf16"].sum()
    exercises = "exercise" if len(both) == 1 else "exercises"
    text = (
        f"Training the {len(both)} {exercises} with both runs took {bf16:.1f} s in bfloat16 "
        f"against {fp32:.1f} s in float32 ({bf16 / fp32:.2f}x; the sums of the runs' training "
        "seconds)"
    )
    if (both["cpu_fp32"] == both["cpu_bf16"]).all():
        cpus = list(dict.fromkeys(both["cpu_fp32"]))
        if len(cpus) == 1:
            return f"{text}, both on {cpus[0]}."
        return f"{text}, each exercise's two runs on the same CPU ({'; '.join(cpus)})."
    return (
        f"{text}. The float32 runs were trained on {'; '.join(dict.fromkeys(both['cpu_fp32']))}, "
        f"the bfloat16 runs on {'; '.join(dict.fromkeys(both['cpu_bf16']))}: different CPUs, so "
        "this ratio, like the epoch times side by side, compares different machines and is not "
        "a speed-up."
    )


def show_precision(
    names: list[str],
    results_dir: str | Path | None = None,
    benchmarks: str | Path | None = None,
    record: str | Path | None = None,
) -> None:
    """The bfloat16 runs beside the float32 runs (heading in the notebook); one line saying how
    to make them when none is stored."""
    table = precision_table(names, results_dir, benchmarks, record)
    if table.empty:
        _show(NO_RUNS)
        return
    shown = pd.DataFrame(
        {
            "exercise": table["exercise"].map(lambda name: SECTIONS.get(name, name)),
            "fp32 acc": table["acc_fp32"],
            "bf16 acc": table["acc_bf16"],
            "fp32 loss": table["loss_fp32"],
            "bf16 loss": table["loss_bf16"],
            "fp32 s/epoch": table["epoch_fp32"],
            "bf16 s/epoch": table["epoch_bf16"],
            "benchmark bf16/fp32": [
                f"{r:.2f}x" if pd.notna(r) else None for r in table["bench_ratio"]
            ],
            "numbers": table["verdict"],
            "conclusions": table["conclusions"],
        }
    )
    benchmarked = table["bench_ratio"].notna().any()
    if not benchmarked:
        shown = shown.drop(columns="benchmark bf16/fp32")
    digits = tuple(".1f" if c.endswith("s/epoch") else ".4f" for c in shown.columns)
    bench = (
        " The benchmark's column is its ratio of fastest epochs, bfloat16 over float32 "
        f"(`benchmarks/results.csv`, {_bench_source(benchmarks)})."
        if benchmarked
        else ""
    )
    missing = [n for n in names if n in EXERCISES and n not in set(table["exercise"])]
    shared = "; ".join(s for s in table["shared"] if s)
    _show(
        answer_sentence(table, benchmarks)
        + "\n\nThe columns: test accuracy (acc) and test loss; s/epoch, each run's own epochs "
        f"(median of epochs 2 onwards).{bench} The last two columns are the latest verdicts of "
        "`imagelab verify --precision bf16` (`reproductions/verify.csv`): the numbers *within "
        "seed noise* when the bfloat16 run is no farther from the float32 run, on test accuracy, "
        f"test loss and training-loss curve, than {seed_noise.MARGIN} times the farthest pair of "
        "float32 seed runs; the conclusions *same* when every answer that holds on every "
        "float32 seed still holds with the bfloat16 run in the float32 run's place.\n\n"
        + _table(shown, floatfmt=digits)
        + "\n\n"
        + " ".join(
            part
            for part in (
                verdict_sentence(table),
                beyond_seeds_sentence(table, results_dir),
                time_sentence(table),
                f"Runs that shared their cores, whose times draw no conclusion: {shared}."
                if shared
                else "",
                f"Not trained in bfloat16 yet: {', '.join(missing)}." if missing else "",
            )
            if part
        )
    )

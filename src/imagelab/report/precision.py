"""The bfloat16 section: do the runs trained in bfloat16 reach the float32 runs' conclusions,
and in how much time?

Each exercise's bfloat16 run (``<exercise>_bf16``, from ``make lab PRECISION=bf16``) beside
its float32 run: test accuracy and loss, each run's own seconds per steady epoch, the
benchmark's bfloat16-over-float32 ratio of fastest epochs where ``benchmarks/results.csv`` has
one, and the latest verdict of ``imagelab verify --precision bf16`` from
``reproductions/verify.csv`` (read through ``imagelab.reproductions.read``, which checks it).
Training times are compared for what they are: when the two labs trained on different CPUs,
their ratio compares machines, not precisions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from imagelab import analysis, records, reproductions, tables, verify
from imagelab.exercises import EXERCISES
from imagelab.machine import cpu_name
from imagelab.precision import BFLOAT16, canonical_name
from imagelab.report.display import _show, _table
from imagelab.report.results import load_run
from imagelab.store import DamagedResult, StoredRun

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
        row["acc_tolerance"] = _tolerance(name, results_dir)
        row["verdict"] = latest_verdict(verified, bf16, fp32)
        rows.append(row)
    return pd.DataFrame(rows)


def _tolerance(name: str, results_dir: str | Path | None) -> float:
    """verify's tolerance on test accuracy (2 seed sd); NaN without seeds, or when a seed run
    is damaged and ``--allow-missing`` let the report go on without it."""
    try:
        sd = verify.seed_spread(name, committed_dir=Path(results_dir or records.PROJECT_ROOT))
    except DamagedResult:
        return np.nan
    return verify.SEED_SDS * sd.acc_sd if sd.acc_sd is not None else np.nan


def latest_verdict(verified: pd.DataFrame | None, bf16: StoredRun, fp32: StoredRun | None) -> str:
    """The latest verdict recorded for the bfloat16 run, if recorded after both runs were last
    trained (an older verdict judged other files); ``NOT_JUDGED`` or ``STALE`` otherwise."""
    if reproductions.latest_verdict(verified, bf16.name) is None:
        return NOT_JUDGED
    finished = [r.provenance.get("finished") for r in (bf16, fp32) if r is not None]
    known = [pd.to_datetime(f, utc=True) for f in finished if f]
    return reproductions.latest_verdict(verified, bf16.name, max(known, default=None)) or STALE


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


def verdict_sentence(table: pd.DataFrame) -> str:
    """How many bfloat16 runs are within seed noise of their float32 runs, and the rest."""
    counts = table["verdict"].value_counts()
    within = int(counts.get("within seed noise", 0))
    others = [v for v in (*reproductions.VERDICTS, STALE, NOT_JUDGED) if v != "within seed noise"]
    rest = "".join(f", {counts[v]} {v}" for v in others if v in counts)
    runs = "run" if len(table) == 1 else "runs"
    return (
        f"Verdicts on the {len(table)} bfloat16 {runs}: {within} within seed noise of the "
        f"float32 {runs}{rest}."
    )


def accuracy_sentence(table: pd.DataFrame) -> str:
    """How many bfloat16 test accuracies lie within 2 seed sd of the float32 ones: the first of
    verify's two criteria, so the reader sees which one an *outside* verdict comes from."""
    judged = table.dropna(subset=["acc_fp32", "acc_tolerance"])
    if judged.empty:
        return ""
    share = (judged["acc_bf16"] - judged["acc_fp32"]).abs() / judged["acc_tolerance"]
    within = int((share <= 1).sum())
    return (
        f"In test accuracy {within} of {len(judged)} lie within {verify.SEED_SDS} seed sd of the "
        f"float32 run (the largest difference is {share.max():.2f} of that); where such a run "
        "is judged *outside*, its history decided it: at some epoch a loss or accuracy differs "
        f"from the float32 run's by more than {verify.SEED_SDS} sd of the seeds there."
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
            "exercise": table["exercise"],
            "fp32 acc": table["acc_fp32"],
            "bf16 acc": table["acc_bf16"],
            "fp32 loss": table["loss_fp32"],
            "bf16 loss": table["loss_bf16"],
            "fp32 s/epoch": table["epoch_fp32"],
            "bf16 s/epoch": table["epoch_bf16"],
            "benchmark bf16/fp32": [
                f"{r:.2f}x" if pd.notna(r) else None for r in table["bench_ratio"]
            ],
            "verdict": table["verdict"],
        }
    )
    benchmarked = table["bench_ratio"].notna().any()
    if not benchmarked:
        shown = shown.drop(columns="benchmark bf16/fp32")
    digits = tuple(".1f" if c.endswith("s/epoch") else ".4f" for c in shown.columns)
    bench = (
        " benchmark bf16/fp32 is the benchmark's ratio of fastest epochs, bfloat16 over float32 "
        f"(`benchmarks/results.csv`, {_bench_source(benchmarks)})."
        if benchmarked
        else ""
    )
    missing = [n for n in names if n in EXERCISES and n not in set(table["exercise"])]
    shared = "; ".join(s for s in table["shared"] if s)
    _show(
        "acc and loss are on the test set; s/epoch is each run's own epochs (median of epochs 2 "
        f"onwards).{bench} verdict is the latest of `imagelab verify --precision bf16` "
        "(`reproductions/verify.csv`): *within seed noise* when the bfloat16 run's test accuracy "
        "and history differ from the float32 run's by no more than changing the seed does.\n\n"
        + _table(shown, floatfmt=digits)
        + "\n\n"
        + " ".join(
            part
            for part in (
                verdict_sentence(table),
                accuracy_sentence(table),
                time_sentence(table),
                f"Runs that shared their cores, whose times draw no conclusion: {shared}."
                if shared
                else "",
                f"Not trained in bfloat16 yet: {', '.join(missing)}." if missing else "",
            )
            if part
        )
    )

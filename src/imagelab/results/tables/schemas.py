"""The schemas of the side tables (see ``imagelab.results.tables``): what each file must hold and the
command that rebuilds it."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from imagelab import records
from imagelab.results import store
from imagelab.results.exercises import EXERCISES, normal, notebook_defaults, settings_of
from imagelab.results.store import METRICS, SPLITS
from imagelab.results.tables.reader import (
    Column,
    Schema,
    accuracy,
    count,
    nonnegative,
    number,
    read,
    seed,
    text,
    time,
)


def _seed_sources(frame: pd.DataFrame) -> str | None:
    """Each row's source (a stored run's provenance) exists, is whole, and holds that row: a
    run of the row's exercise at its canonical settings but for the seed, with that seed and
    that score. A row whose run is gone would count a seed no run has (issue 35)."""
    for line, row in frame.iterrows():
        path = records.PROJECT_ROOT / row["source"]  # relative to the project, or absolute
        where = f"on line {line} the source {row['source']}"
        if path.suffix != ".json" or path.parent.name != "scores" or not path.is_file():
            return f"has {where}, which is no stored run's provenance (no such file)"
        try:
            stored = store.load_run(path.stem, path.parent.parent)
        except store.DamagedResult as error:
            return f"has {where}, a damaged run ({error})"
        canonical = settings_of(notebook_defaults(row["run"]))
        parameters = stored.provenance["parameters"]
        if normal({k: v for k, v in parameters.items() if k != "seed"}) != normal(
            {k: v for k, v in canonical.items() if k != "seed"}
        ):
            return f"has {where}, which is not a run of {row['run']}'s canonical settings"
        held = {"seed": stored.provenance["seed"], **stored.score}
        for key in ("seed", "loss", "acc"):
            if not math.isclose(float(held[key]), float(row[key]), rel_tol=1e-9):
                return (
                    f"says {key} {row[key]} on line {line}, where its source {row['source']} "
                    f"holds {held[key]!r}"
                )
    return None


SEEDS = Schema(
    (text("run", *EXERCISES), seed(), nonnegative("loss"), accuracy("acc"), text("source")),
    "`make seeds` rebuilds it from the stored runs",
    keys=("run", "seed"),
    rule=_seed_sources,
)

BENCHMARK_REBUILD = "`make bench` measures it again (about 22 min on an idle machine)"
# What the benchmark measures for every exercise it times, and for bfloat16 when it times that.
BENCHMARK_PER_EXERCISE = ("imagelab_epoch", "bare_epoch", "ratio", "gflops", "matmul_pct")
BENCHMARK_PER_BF16 = ("imagelab_bf16_epoch", "bf16_ratio")
# Suffixes of measures a report divides by, which must be > 0, and of those that are >= 0.
POSITIVE = ("_epoch", "ratio", "gflops", "matmul_fp32")
NONNEGATIVE = ("_rss", "matmul_pct", "_sum", "papermill/notebook", "papermill/in_process", "/log")


def _benchmark_values(frame: pd.DataFrame) -> str | None:
    value = frame.set_index("name")["value"]
    for name, figure in value.items():
        if name.endswith(POSITIVE) and figure <= 0:
            return f"has {name} {figure:g}, which must be above 0"
        if name.endswith(NONNEGATIVE) and figure < 0:
            return f"has {name} {figure:g}, which cannot be negative"
    return None


def _benchmark_complete(frame: pd.DataFrame) -> str | None:
    """The values in range, and every measure of each exercise the benchmark timed: what the
    report's section on it reads (a file cut at a line's end loses whole rows)."""
    problem = _benchmark_values(frame)
    if problem:
        return problem
    value = frame.set_index("name")["value"]
    measured = dict.fromkeys(name.split("/")[0] for name in value.index if "/" in name)
    for exercise in (e for e in measured if e in EXERCISES):
        bf16 = any(name.startswith(f"{exercise}/imagelab_bf16") for name in value.index)
        wanted = BENCHMARK_PER_EXERCISE + (BENCHMARK_PER_BF16 if bf16 else ())
        missing = [f"{exercise}/{what}" for what in wanted if f"{exercise}/{what}" not in value]
        if missing:
            return f"lacks the rows {', '.join(missing)} (cut short?)"
    if not any(e in EXERCISES for e in measured) or "matmul_fp32" not in value:
        return "lacks the matmul rate (matmul_fp32) or any exercise's epoch times (cut short?)"
    return None


# Tables written by hand in tests lack the columns that say where and when it measured.
BENCHMARK = Schema(
    (text("name"), number("value")),
    BENCHMARK_REBUILD,
    optional=(text("unit"), text("machine"), time(), text("commit")),
    keys=("name",),
    rule=_benchmark_values,
)
# The benchmark as the report's section on it reads it: every measure, where and when.
BENCHMARK_COMPLETE = Schema(
    (*BENCHMARK.columns, *BENCHMARK.optional),
    BENCHMARK_REBUILD,
    keys=("name",),
    rule=_benchmark_complete,
)
BENCHMARK_EPOCHS = Schema(
    (text("exercise", *EXERCISES), text("path", "imagelab", "bare", "imagelab_bf16", "bare_bf16"),
     count("repeat"), count("epoch", 1), nonnegative("seconds"), text("commit")),
    BENCHMARK_REBUILD,
    keys=("exercise", "path", "repeat", "epoch"),
)  # fmt: skip


def _history_rule(frame: pd.DataFrame) -> str | None:
    """A history as the store requires a run's: every epoch 1..n with every metric and split
    that appears, accuracies in [0, 1], losses >= 0."""
    acc = frame[frame["metric"] == "acc"]["value"]
    if not acc.between(0, 1).all():
        return f"has an accuracy of {acc[~acc.between(0, 1)].iloc[0]:g}, outside 0 to 1"
    if (frame.loc[frame["metric"] == "loss", "value"] < 0).any():
        return "has a negative loss"
    epochs = sorted(set(frame["epoch"]))
    if epochs != list(range(1, len(epochs) + 1)):
        return f"has the epochs {epochs[:3]}...{epochs[-1:]}, not 1, 2, ... n"
    pairs = frame[["metric", "data"]].drop_duplicates()
    if len(frame) != len(epochs) * len(pairs):
        return "lacks some rows: not every epoch has every metric and split (cut short?)"
    return None


HISTORY_2019 = Schema(
    (count("epoch", 1), number("value"), text("metric", *METRICS), text("data", *SPLITS)),
    "nothing rebuilds it: it is the 2019 lab's own history",
    optional=(nonnegative("seconds"),),
    keys=("epoch", "metric", "data"),
    rule=_history_rule,
)


def _study(script: str, *columns: Column, rule: Callable | None = None) -> Schema:
    """A study's table: ``columns`` the report reads, then what every study records beside
    (checked when present: tests and older studies may lack them)."""
    return Schema(
        columns,
        f"`.venv/bin/python studies/{script}` measures it again (hours of training)",
        optional=tuple(c for c in _RECORDED if c.name not in {c.name for c in columns}),
        rule=rule,
    )


def _rows_present(*wanted: tuple[str, str], of: tuple[str, str]) -> Callable:
    """A rule: each (value, value) of the columns ``of`` has a row."""

    def rule(frame: pd.DataFrame) -> str | None:
        present = set(zip(frame[of[0]], frame[of[1]], strict=True))
        missing = [pair for pair in wanted if pair not in present]
        return f"lacks the rows {missing} ({of[0]}, {of[1]}; cut short?)" if missing else None

    return rule


def _profile_rule(frame: pd.DataFrame) -> str | None:
    missing = _rows_present(
        ("profile", "epoch under cProfile"), ("profile", "inside TFE_Py_Execute"),
        ("profile", "calls into TensorFlow"), ("parts", "pipeline"), ("parts", "validation"),
        ("steps per call", "1"), of=("part", "setting"),
    )(frame)  # fmt: skip
    if missing:
        return missing
    every = frame[frame["part"] == "every exercise"]
    settings = every.groupby("exercise")["setting"].nunique()
    if every.empty or (settings < 2).any():
        return "lacks some of the rows 'every exercise' (two settings per exercise; cut short?)"
    if (
        frame.loc[frame["part"] != "profile", "setting"]
        .str.fullmatch(r"\d+|pipeline|validation")
        .all()
    ):
        return None
    return "has a setting that is not a number of steps"


# What every study of a training records beside the columns the report reads.
_RECORDED = (nonnegative("test_loss"), nonnegative("seconds"), text("commit"),
             text("x_train_sha256"), text("weights_sha256", empty=True))  # fmt: skip
STUDIES = {
    "keras3_shuffle.csv": _study(
        "keras3_shuffle.py", text("order", "keras3_repeated", "reshuffled"),
        text("activation", "relu", "linear"), seed(), accuracy("test_acc"),
        nonnegative("val_loss_mean_abs_change"),
        rule=_rows_present(*((o, a) for o in ("keras3_repeated", "reshuffled")
                             for a in ("relu", "linear")), of=("order", "activation")),
    ),
    "keras2_rmsprop.csv": _study("keras2_rmsprop.py", text("rule", "keras3", "keras2"), seed(),
                                 accuracy("test_acc")),
    "keras2_loss.csv": _study("keras2_loss.py", text("loss_rule", "keras2_clipped", "keras3"),
                              seed(), accuracy("test_acc")),
    "epoch_profile.csv": _study(
        "epoch_profile.py", text("part", "profile", "parts", "steps per call", "every exercise"),
        text("setting"), nonnegative("seconds"), text("exercise", *EXERCISES, empty=True),
        rule=_profile_rule,
    ),
}  # fmt: skip


def read_study(path: str | Path) -> pd.DataFrame:
    """A study's table (``studies/<name>.csv``), checked by its schema."""
    return read(path, STUDIES[Path(path).name])


BENCHMARK_FILE = records.PROJECT_ROOT / "benchmarks" / "results.csv"


def read_benchmark(path: str | Path | None = None, complete: bool = False) -> pd.DataFrame | None:
    """The benchmark's results (``benchmarks/results.csv``, or ``path``), checked, and with
    ``complete`` checked to hold every measure of each exercise timed (``BENCHMARK_COMPLETE``);
    None when the benchmark has not run."""
    path = Path(path or BENCHMARK_FILE)
    if not path.exists():
        return None
    return read(path, BENCHMARK_COMPLETE if complete else BENCHMARK)


PLAYGROUND_SEARCH = Schema(
    (text("feature_set"), text("features"), text("hidden", empty=True), count("neurons"),
     number("learning_rate", 0), number("later_learning_rate", 0, empty=True),
     count("switch_epoch", empty=True), count("epochs", 1), seed(), nonnegative("train_loss"),
     nonnegative("test_loss"), accuracy("test_acc"), text("success", "True", "False"),
     count("trained_together", 1), nonnegative("batch_seconds")),
    "`imagelab lab playground_spiral --force` runs the search again (about an hour)",
    keys=("feature_set", "hidden", "seed"),
)  # fmt: skip

"""Do the bfloat16 runs reach the float32 runs' conclusions? ``imagelab verify --precision bf16``.

Each stored bfloat16 run (``<exercise>_bf16``, trained by ``make lab PRECISION=bf16``) is judged
against its exercise's float32 canonical run by ``imagelab.verify``'s rule, with the same
yardstick, the spread of the float32 seed runs: *within seed noise* when its test accuracy and
every point of its history differ from the float32 run's by no more than changing the seed
does, else *outside*. Nothing is retrained: the two stored runs are compared as they are, and
``record`` keeps the verdict in ``reproductions/verify.csv`` under the bfloat16 run's name, with
the CPU, commit and Python that trained it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from imagelab import precision, records, store, verify
from imagelab.errors import UserError
from imagelab.exercises import EXERCISES
from imagelab.params import check_choice


def compare(
    exercise: str,
    results_dir: Path = records.PROJECT_ROOT,
    seeds: Path = verify.SEEDS,
) -> verify.Comparison:
    """The verdict on ``<exercise>_bf16`` against the float32 run ``exercise``."""
    return _judge(exercise, results_dir, seeds)[0]


def _judge(exercise: str, results_dir: Path, seeds: Path) -> tuple[verify.Comparison, dict]:
    """``compare``'s verdict, and the provenance of the bfloat16 run it judged."""
    float32 = verify._load(exercise, results_dir)
    bf16_name = precision.canonical_name(exercise, precision.BFLOAT16)
    bf16 = store.load_run(bf16_name, results_dir)
    if bf16 is None:
        raise UserError(
            f"{bf16_name}: no stored bfloat16 run to compare with {exercise}; train it with "
            "`make lab PRECISION=bf16` first"
        )
    spread = verify.seed_spread(exercise, seeds, results_dir)
    comparison = verify.compare(
        bf16_name, float32, bf16, spread, bf16.provenance.get("train_seconds", float("nan"))
    )
    versions = bf16.provenance["versions"]
    notes = verify._freshness_note(exercise, float32) + verify._freshness_note(bf16_name, bf16)
    comparison = replace(
        comparison,
        versions={k: versions.get(k, "") for k in ("tensorflow", "keras", "numpy")},
        notes=comparison.notes + notes,
    )
    return comparison, bf16.provenance


def trained_where(provenance: dict) -> tuple:
    """(cpu facts, commit, Python) of the machine and code that trained a run, from its
    ``provenance``."""
    git = provenance.get("git") or {}
    commit = str(git.get("commit") or "unknown")[:12] + ("-dirty" if git.get("dirty") else "")
    return verify.cpu_facts(provenance["machine"]), commit, provenance["versions"].get("python")


def main(
    names: list[str] | tuple[str, ...] | None = None,
    record: Path | None = None,
    results_dir: Path = records.PROJECT_ROOT,
) -> int:
    """Compare each exercise's bfloat16 run with its float32 run, print the table, return the
    exit status (1 when any is outside seed noise)."""
    names = list(names or EXERCISES)
    for name in names:
        check_choice("exercise", name, tuple(EXERCISES))
    started, comparisons = time.perf_counter(), []
    for name in names:
        comparison, provenance = _judge(name, results_dir, verify.SEEDS)
        comparisons.append(comparison)
        if record:
            verify.append_record(comparison, record, trained_where(provenance))
    print(verify.table(comparisons).replace("seconds", "train s", 1))
    print("(bfloat16 runs against the float32 runs; 'train s' is the bfloat16 run's training)")
    where = f"; appended to {record}" if record else ""
    print(f"== verify done in {time.perf_counter() - started:.0f}s{where}")
    return verify.exit_status(comparisons)

"""Do the bfloat16 runs reach the float32 runs' conclusions? ``imagelab verify --precision bf16``.

Each stored bfloat16 run (``<exercise>_bf16``, trained by ``make lab PRECISION=bf16``) is judged
against its exercise's float32 canonical run by ``imagelab.judging.verify``'s two verdicts, with the
same yardstick, the pairs of float32 seed runs: on the *numbers*, within seed noise when it is
no farther from the float32 run than 1.3 times the farthest pair of seed runs; on the
*conclusions*, the same when every answer that holds on every float32 seed still holds with the
bfloat16 run in the float32 run's place. Nothing is retrained: the stored runs are compared as
they are, and ``record`` keeps both verdicts in ``reproductions/verify.csv`` under the bfloat16
run's name, with the CPU, commit and Python that trained it.

The fast profile admits an exercise (``admitted``) when its conclusions are the same and its
test accuracy is within seed noise; its numbers verdict stands beside it as measured. The
bfloat16 lab leaves out a run whose last recorded judgement did not admit it (``left_out``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from imagelab import precision, records
from imagelab.errors import UserError
from imagelab.judging import conclusions, reproductions, seed_noise, verify
from imagelab.params import check_choice
from imagelab.results import store
from imagelab.results.exercises import EXERCISES


def compare(exercise: str, results_dir: Path = records.PROJECT_ROOT) -> verify.Comparison:
    """The verdicts on ``<exercise>_bf16`` against the float32 run ``exercise``."""
    return _judge(exercise, results_dir)[0]


def admitted(comparison: verify.Comparison) -> bool:
    """Whether the bfloat16 run joins the fast lab: the same conclusions, and a test accuracy
    within seed noise of the float32 run's (the record's ``ratio_acc``)."""
    standing = comparison.standing
    return (
        comparison.conclusions == "same"
        and standing is not None
        and standing.ratios.get("acc", float("inf")) <= seed_noise.MARGIN
    )


def left_out(exercise: str, number_format: str) -> bool:
    """Whether ``imagelab verify --precision`` last judged the stored run of ``exercise`` in
    ``number_format`` unfit for the fast lab: conclusions that differ from the float32 run's, or
    a test accuracy outside its seed noise (``admitted``, as recorded in
    ``reproductions/verify.csv`` under today's rule). Then the fast lab leaves it out and says
    so; naming it trains it anyway. A run not yet judged under today's rule is trained."""
    import pandas as pd

    run_name = precision.canonical_name(exercise, number_format)
    stored = store.load_run(run_name)
    table = reproductions.read()
    if table is None or stored is None:
        return False
    rows = table[(table["run"] == run_name) & (table["rule"] == seed_noise.RULE)]
    rows = rows[rows["date"] >= pd.to_datetime(stored.provenance.get("finished"), utc=True)]
    if rows.empty:
        return False
    last = rows.sort_values("date").iloc[-1]
    if last["conclusions"] == "same" and last["ratio_acc"] <= seed_noise.MARGIN:
        return False
    print(
        f"== {run_name}: left out: its last judgement against {exercise} "
        f"(reproductions/verify.csv) has conclusions {last['conclusions']!r} and a test accuracy "
        f"{last['ratio_acc']:.2f} x as far from it as the farthest float32 seed pair (within: "
        f"up to {seed_noise.MARGIN}); `imagelab lab {exercise} "
        "--precision bf16` trains it anyway"
    )
    return True


def _judge(
    exercise: str, results_dir: Path, evidence: object = None
) -> tuple[verify.Comparison, dict]:
    """``compare``'s verdict, and the provenance of the bfloat16 run it judged."""
    float32 = verify._load(exercise, results_dir)
    bf16_name = precision.canonical_name(exercise, precision.BFLOAT16)
    bf16 = store.load_run(bf16_name, results_dir)
    if bf16 is None:
        raise UserError(
            f"{bf16_name}: no stored bfloat16 run to compare with {exercise}; train it with "
            "`make lab PRECISION=bf16` first"
        )
    evidence = evidence or conclusions.gather(results_dir, results_dir / "sweeps")
    comparison = verify.compare(
        bf16_name,
        float32,
        bf16,
        verify.seed_runs(exercise, results_dir),
        bf16.provenance.get("train_seconds", float("nan")),
        conclusions.rerun_verdict(exercise, bf16, evidence),
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
    evidence = conclusions.gather(results_dir, results_dir / "sweeps")
    for name in names:
        comparison, provenance = _judge(name, results_dir, evidence)
        comparisons.append(comparison)
        if record:
            verify.append_record(comparison, record, trained_where(provenance))
    print(verify.table(comparisons).replace("seconds", "train s", 1))
    print("(bfloat16 runs against the float32 runs; 'train s' is the bfloat16 run's training)")
    for c in comparisons:
        joins = "joins" if admitted(c) else "stays out of"
        print(f"{c.run}: {joins} make lab PRECISION=bf16 (conclusions {c.conclusions})")
    where = f"; appended to {record}" if record else ""
    print(f"== verify done in {time.perf_counter() - started:.0f}s{where}")
    return verify.exit_status(comparisons)

"""The Reproducibility section: which machines reproduced which runs, and how closely.

It reads ``reproductions/verify.csv`` through ``imagelab.judging.reproductions.read``, the record's one
reader, so a damaged record stops the report with one paragraph instead of showing garbage; the
section is left out when no machine has recorded a verification yet. A column of its table is a
CPU with one Python version (CPUs and Pythons are counted apart in the text), a row a run. It
opens with the rule's calibration on the committed runs (``seed_noise.calibration_table``):
how many seed runs the rule passes, and how many runs of another setting it calls *outside*.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from imagelab.judging import reproductions, seed_noise
from imagelab.report.display import _show, _table
from imagelab.report.results import load_run
from imagelab.results.exercises import REGISTRY

MACHINE = ["cpu", "python"]


def machine_label(cpu: str, python: str) -> str:
    """A short column header for a machine: ``AMD EPYC (family 26 model 2)`` and Python 3.11.7
    give ``EPYC f26 m2, Py 3.11.7`` (the full names are listed under the table)."""
    name = re.sub(r"\((R|TM)\)|\bCPU\b|@ *[\d.]+ *GHz|^(AMD|Intel) ", "", cpu)
    name = re.sub(r"\(family (\d+) model (\d+)\)", r"f\1 m\2", name)
    return f"{' '.join(name.split())}, Py {python}"


def _by_machine(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows sorted by date) per machine, in the order the machines first verified."""
    groups = table.sort_values("date").groupby(MACHINE, sort=False)
    return [(machine_label(cpu, python), rows) for (cpu, python), rows in groups]


def verdict_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per machine (CPU and Python, in the order they first verified) and run (in the
    lab's order): the latest verdicts there, on the numbers (with the Δ test accuracy when not
    identical) and on the conclusions, marked when judged by the old rule or uncommitted code."""
    rows = []
    for label, found in _by_machine(table):
        latest = found.groupby("run").tail(1).set_index("run")
        for run in [run for run in reproductions.RUNS if run in latest.index]:
            rows.append({"machine": label, "run": run} | _cells(latest.loc[run]))
    return pd.DataFrame(rows, columns=["machine", "run", "numbers", "conclusions", "note"])


def _cells(row: pd.Series) -> dict[str, str]:
    """A verification's verdicts as the table shows them."""
    numbers = row["verdict"] + ("" if row["verdict"] == "identical" else f" ({row['d_acc']:+.4f})")
    notes = ["old rule"] if row["rule"] == reproductions.OLD_RULE else []
    notes += ["uncommitted code"] if str(row["commit"]).endswith("-dirty") else []
    return {"numbers": numbers, "conclusions": row["conclusions"] or "-", "note": ", ".join(notes)}


def calibration_sentence(results_dir: str | Path | None = None) -> str:
    """How the rule fares on the committed runs: seed runs passed, other settings refused."""
    table = seed_noise.calibration_table(results_dir)
    if table.empty:
        return ""
    seeds = table[table["case"] == "seed run"]
    passed = seeds.groupby("exercise", sort=False)["within"].agg(["sum", "count"])
    per_exercise = ", ".join(f"{name} {int(r['sum'])} of {int(r['count'])}"
                             for name, r in passed.iterrows())  # fmt: skip
    power = table[table["expected"] == "outside"]
    measured = table[table["expected"] == "as measured"]
    text = (
        f"The rule was calibrated on the committed runs: each float32 seed run judged against "
        f"its canonical run as if it were a rerun, its own distance left out of the seed pairs, "
        f"lies at {seeds['ratio'].min():.2f}-{seeds['ratio'].max():.2f} times the farthest seed "
        f"pair and is within seed noise for {per_exercise}. Runs that differ by one setting "
        f"lie at {power['ratio'].min():.2f}-{power['ratio'].max():.0f} times it and are "
        f"*outside*: {int((~power['within']).sum())} of {len(power)} ("
        + ", ".join(sorted(set(power["case"] + " against " + power["exercise"])))
        + ")."
    )
    if not measured.empty:
        text += (
            f" Dropout 0.25 against the CNN without dropout, a smaller change, is within seed "
            f"noise for {int(measured['within'].sum())} of {len(measured)} runs."
        )
    return text


def _machines(table: pd.DataFrame) -> str:
    """Per machine, as last recorded: CPU, Python, ISA features, oneDNN, threads, versions,
    how many verifications, when, and the latest commit."""
    lines = []
    for label, rows in _by_machine(table):
        last = rows.iloc[-1]
        days = sorted({f"{date:%Y-%m-%d}" for date in rows["date"]})
        when = f"on {days[0]}" if len(days) == 1 else f"from {days[0]} to {days[-1]}"
        lines.append(
            f"- **{label}**: {last['cpu']}, Python {last['python']}, tensorflow "
            f"{last['tensorflow']}; {len(rows)} verification(s) {when} (its ISA features, "
            "oneDNN and threads are in the file)."
        )
    return "\n".join(lines)


def show_reproducibility(
    path: str | Path | None = None, results_dir: str | Path | None = None
) -> None:
    """What a retrain on another machine gives, when any machine has recorded one."""
    from imagelab.report.summary import machine_sentence

    table = reproductions.read(path or reproductions.RECORD)
    # Rows of <exercise>_bf16 judge a bfloat16 run against float32, not a retrain: the
    # bfloat16 section shows them.
    table = None if table is None else table[table["run"].isin(REGISTRY)]
    if table is None or table.empty:
        return
    trained: dict[str, list[str]] = {}  # machine -> the committed runs it trained
    for run in sorted(set(table["run"])):
        stored = load_run(run, results_dir)
        if stored is not None and "machine" in stored.provenance:
            trained.setdefault(machine_sentence(stored.provenance["machine"]), []).append(run)
    verdicts = verdict_table(table)
    latest = table.sort_values("date").groupby([*MACHINE, "run"]).tail(1)
    counts = ", ".join(f"{n} {verdict}" for verdict, n in latest["verdict"].value_counts().items())
    cpus, pythons = table["cpu"].nunique(), table["python"].nunique()
    clean = latest[
        (latest["rule"] != reproductions.OLD_RULE)
        & ~latest["commit"].astype(str).str.endswith("-dirty")
    ]
    committed = (
        f"{len(clean)} of these {len(latest)} verdicts were made by today's rule with committed code"
        + (
            ": "
            + "; ".join(f"{r.run} on {machine_label(r.cpu, r.python)}" for r in clean.itertuples())
            if len(clean)
            else ""
        )
        + "."
    )
    _show(
        "# Reproducibility\n\n"
        "A rerun on the same machine, with the same code, versions and thread settings, gives "
        "byte-identical history and score files (`tests/test_verify.py` reruns a run and "
        "compares the bytes). On another CPU, or with other thread or oneDNN settings, the "
        "floating-point path can differ, and so can the results. `imagelab verify` retrains "
        "runs into a scratch folder and gives two verdicts. On the *numbers*: *identical* (byte "
        "for byte), *within seed noise* (no farther from the committed run, on test accuracy, "
        f"test loss and the training-loss curve's root mean square difference, than "
        f"{seed_noise.MARGIN} times as far as the farthest pair of float32 seed runs of that "
        "exercise) or *outside*. "
        "On the *conclusions*: *same* when every answer that holds on every seed still holds "
        "with the rerun in the committed run's place, else the questions that differ. "
        "Verifications recorded before this rule were judged by the old one (every history "
        "point within 2 seed standard deviations), which the seed runs themselves failed; they "
        f"stay as recorded, marked *old rule*.\n\n{calibration_sentence(results_dir)}\n\n"
        f"Recorded in `reproductions/verify.csv`: {len(table)} verification(s) on {cpus} CPU(s) "
        f"with {pythons} Python version(s); a machine below is a CPU with one Python. The "
        "latest verdicts per machine and run "
        f"({counts}), with Δ test accuracy where it is not identical (the other differences are "
        "in the file); *old rule* marks a verdict of the old rule, *uncommitted code* one made "
        f"with code that differed from its commit. {committed}\n\n"
        + _table(verdicts)
        + "\n\nThe machines, as last recorded:\n\n"
        + _machines(table)
        + (
            "\n\nThe committed runs were trained on:\n\n"
            + "\n".join(f"- {', '.join(runs)}: {machine}" for machine, runs in trained.items())
            if trained
            else ""
        )
    )

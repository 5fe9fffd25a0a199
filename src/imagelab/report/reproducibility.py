"""The Reproducibility section: which CPUs reproduced which runs, and by how much.

It reads ``reproductions/verify.csv``, the rows ``imagelab verify --record`` appends (date,
commit, cpu, isa, versions, run, verdict, d_acc, d_loss, seconds), and is left out when no
machine has recorded a verification yet.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imagelab import records
from imagelab.report.display import _show, _table
from imagelab.store import load_run
from imagelab.verify import RECORD_COLUMNS

# The columns `imagelab verify --record` writes (imagelab.verify); older files may lack some.
NUMBERS = ["d_acc", "d_loss", "max_d_history", "seconds"]


def read_verifications(path: str | Path | None = None) -> pd.DataFrame | None:
    """The recorded verifications, or None when there are none."""
    path = Path(path or records.PROJECT_ROOT / "reproductions" / "verify.csv")
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype=str).reindex(columns=RECORD_COLUMNS)
    if table.empty:
        return None
    return table.assign(**{c: pd.to_numeric(table[c], errors="coerce") for c in NUMBERS})


def reproduction_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per CPU and run: the latest verdict and its differences from the committed run."""
    latest = table.sort_values("date").groupby(["cpu", "run"], dropna=False).tail(1)
    return pd.DataFrame(
        {
            "CPU": latest["cpu"],
            "run": latest["run"],
            "verdict": latest["verdict"],
            "Δ test acc": latest["d_acc"],
            "Δ test loss": latest["d_loss"],
            "max Δ history": latest["max_d_history"],
            "time (s)": latest["seconds"],
            "date": latest["date"].str[:10],
        }
    ).sort_values(["CPU", "run"])


def _machines(table: pd.DataFrame) -> str:
    """Per CPU: the ISA features, oneDNN setting, threads and versions it verified with."""
    lines = []
    for cpu, rows in table.groupby("cpu", sort=True):
        last = rows.sort_values("date").iloc[-1]
        facts = [
            f"ISA {last['isa']}" if pd.notna(last["isa"]) else "",
            f"oneDNN {last['onednn']}" if pd.notna(last["onednn"]) else "",
            f"threads {last['threads']}" if pd.notna(last["threads"]) else "",
            ", ".join(
                f"{lib} {last[lib]}"
                for lib in ("tensorflow", "keras", "numpy")
                if pd.notna(last[lib])
            ),
        ]
        lines.append(f"- {cpu}: {'; '.join(f for f in facts if f)}.")
    return "\n".join(lines)


def show_reproducibility(
    path: str | Path | None = None, results_dir: str | Path | None = None
) -> None:
    """What a retrain on another machine gives, when any machine has recorded one."""
    from imagelab.report.summary import machine_sentence

    table = read_verifications(path)
    if table is None:
        return
    trained: dict[str, list[str]] = {}  # machine -> the committed runs it trained
    for run in sorted(set(table["run"])):
        stored = load_run(run, results_dir)
        if stored is not None and "machine" in stored.provenance:
            trained.setdefault(machine_sentence(stored.provenance["machine"]), []).append(run)
    summary = reproduction_summary(table)
    counts = summary["verdict"].value_counts()
    verdicts = ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    tables = "\n\n".join(
        f"On {cpu}:\n\n"
        + _table(rows.drop(columns="CPU"), floatfmt=("", "", "+.4f", "+.6f", ".2g", ".0f", ""))
        for cpu, rows in summary.groupby("CPU", sort=True)
    )
    _show(
        "# Reproducibility\n\n"
        "A rerun on the same machine, with the same code, versions and thread settings, gives "
        "byte-identical history and score files (`tests/test_verify.py` reruns a run and "
        "compares the bytes). On another CPU, or with other thread or oneDNN settings, the "
        "floating-point path can differ, and so can the results, in the fourth decimal. "
        "`imagelab verify` retrains runs into a scratch folder and compares them with the "
        "committed ones: *identical* (byte for byte), *within seed noise* (|Δ test accuracy| at "
        "most twice the seed standard deviation, the history within its tolerance) or "
        f"*outside*. Recorded in `reproductions/verify.csv`: {len(table)} verification(s) on "
        f"{table['cpu'].nunique()} CPU(s); the latest per CPU and run ({verdicts}).\n\n"
        + tables
        + "\n\nThe machines that verified, as recorded:\n\n"
        + _machines(table)
        + (
            "\n\nThe committed runs were trained on:\n\n"
            + "\n".join(f"- {', '.join(runs)}: {machine}" for machine, runs in trained.items())
            if trained
            else ""
        )
    )

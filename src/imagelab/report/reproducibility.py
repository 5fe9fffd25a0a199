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

VERIFY_COLUMNS = ["date", "commit", "cpu", "isa", "versions", "run", "verdict", "d_acc", "d_loss",
                  "seconds"]  # fmt: skip


def read_verifications(path: str | Path | None = None) -> pd.DataFrame | None:
    """The recorded verifications, or None when there are none."""
    path = Path(path or records.PROJECT_ROOT / "reproductions" / "verify.csv")
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype=str).reindex(columns=VERIFY_COLUMNS)
    return table if not table.empty else None


def reproduction_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per CPU and run: the latest verdict and its differences from the committed run."""
    table = table.assign(
        d_acc=pd.to_numeric(table["d_acc"], errors="coerce"),
        d_loss=pd.to_numeric(table["d_loss"], errors="coerce"),
        seconds=pd.to_numeric(table["seconds"], errors="coerce"),
    )
    latest = table.sort_values("date").groupby(["cpu", "isa", "run"], dropna=False).tail(1)
    return pd.DataFrame(
        {
            "CPU": latest["cpu"],
            "ISA": latest["isa"].fillna("-"),
            "run": latest["run"],
            "verdict": latest["verdict"],
            "Δ test acc": latest["d_acc"],
            "Δ test loss": latest["d_loss"],
            "time (s)": latest["seconds"],
            "date": latest["date"].str[:10],
        }
    ).sort_values(["CPU", "run"])


def show_reproducibility(path: str | Path | None = None) -> None:
    """What a retrain on another machine gives, when any machine has recorded one."""
    table = read_verifications(path)
    if table is None:
        return
    summary = reproduction_summary(table)
    counts = summary["verdict"].value_counts()
    verdicts = ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    _show(
        "# Reproducibility\n\n"
        "Retraining a canonical run on the same machine gives byte-identical history and score "
        "files (the verify tests check it). On another CPU the floating-point path can differ "
        "(the ISA features oneDNN dispatches on, thread counts), so results may differ in the "
        "fourth decimal. `imagelab verify` retrains runs into a scratch folder and compares "
        "them with the committed ones: *identical* (byte for byte), *within seed noise* "
        "(|Δ test accuracy| at most twice the seed standard deviation) or *outside*. "
        f"Recorded here ({len(table)} verifications on {table['cpu'].nunique()} CPU(s), "
        f"`reproductions/verify.csv`; latest per CPU and run: {verdicts}):\n\n"
        + _table(summary, floatfmt=("", "", "", "", "+.4f", "+.6f", ".0f", ""))
    )

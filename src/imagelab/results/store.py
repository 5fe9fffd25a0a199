"""Stored runs: the one place that reads them, validates them and builds their provenance.

A run's files (see ``imagelab.records`` for the layout and the atomic writes) are read only
here, by ``load_run``, which checks them before anyone computes with them: a history cut short,
a score with a missing value or a provenance that is not JSON stops with ``DamagedResult``,
naming the file, what is wrong and how to get it back, instead of turning into "nan" in a
sentence. Whether a stored run is still up to date is ``imagelab.results.freshness``'s.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from imagelab import machine, records
from imagelab.errors import UserError
from imagelab.results import manifest, provenance_schema, staging
from imagelab.results.exercises import (
    EXERCISES,
    PARAMETERS_ADDED,
    REGISTRY,
)

METRICS, SPLITS = ("loss", "acc"), ("training", "validation", "test")
PREDICTION_COLUMNS = ["index", "true", "predicted"]


class DamagedResult(UserError):
    """A stored result file is missing, cut short or unreadable; the message says how to get
    it back."""


@dataclass
class StoredRun:
    """One finished run as stored, validated: history, test score, provenance, predictions."""

    name: str
    files: records.RunFiles
    history: pd.DataFrame  # 2019's tidy format: epoch, value, metric, data, seconds
    score: dict[str, float]  # test loss and accuracy
    provenance: dict
    predictions: pd.DataFrame | None  # index, true, predicted; None when the run keeps none

    @property
    def epoch_seconds(self) -> list[float]:
        """Seconds each epoch took, in epoch order."""
        epochs = self.history.drop_duplicates("epoch").sort_values("epoch")
        return [float(s) for s in epochs["seconds"]]


# --- reading ---------------------------------------------------------------------------


def load_run(name: str, results_dir: str | Path | None = None) -> StoredRun | None:
    """The run ``name`` under ``results_dir`` (default: the project's folders), validated.

    None when the run has no files at all. A run with some of its files missing, or with a
    file that is damaged (cut short, not CSV/JSON, missing or non-finite values, duplicate or
    missing epochs), or whose files are not the set its provenance's manifest records (one
    missing, changed, another attempt's, or one too many), raises ``DamagedResult`` naming the
    file and the fix. Read while no publish runs (``staging.settled``), after finishing one that
    a kill interrupted, so the set read is one attempt's whole set.
    """
    files = records.run_files(name, results_dir)
    with staging.settled(files.results_dir):
        required = (files.history, files.score, files.provenance)
        if not any(path.exists() for path in required):
            return None
        for path in required:
            if not path.is_file():
                raise damaged(files, path, "is missing, while the run's other files are present")
        provenance = _read_provenance(files)
        history = _read_history(files, provenance)
        score = _read_score(files, provenance)
        predictions = _read_predictions(files, provenance) if files.predictions.is_file() else None
        kind = REGISTRY[provenance["exercise"]]
        _check_set(files, provenance, manifest.members(files, kind))
    return StoredRun(name, files, history, score, provenance, predictions)


def _check_set(files: records.RunFiles, provenance: dict, members: list[Path]) -> None:
    """The files on disk are the set the provenance's manifest records, else DamagedResult."""
    found = manifest.problem(files, provenance.get(manifest.KEY), members)
    if found:
        raise damaged(files, *found)


def damaged(files: records.RunFiles, path: Path, problem: str) -> DamagedResult:
    """The error for a damaged file: the path, the problem, and how to restore or retrain."""
    shown = records.relative(path)
    fixes = []
    if committed(path):
        fixes.append(f"`git checkout -- {shown}` restores the committed file")
    if files.run_name in EXERCISES and files.results_dir.resolve() == records.PROJECT_ROOT:
        fixes.append(f"`imagelab lab {files.run_name}` (or `make lab`) retrains the run")
    elif files.results_dir.resolve().parent.name == "sweeps":
        fixes.append(
            f"`imagelab sweep sweeps/{files.results_dir.resolve().name}.yaml` retrains the run"
        )
    else:
        fixes.append("rerunning its notebook with force=True retrains the run")
    fix = "; ".join(fixes)
    return DamagedResult(f"{shown} {problem}. {fix[0].upper()}{fix[1:]}.")


def committed(path: Path) -> bool:
    """Whether git tracks ``path``: then `git checkout` restores it (the side tables' fix too)."""
    try:
        done = subprocess.run(
            ["git", "ls-files", "--error-unmatch", str(path)],
            cwd=records.PROJECT_ROOT,
            capture_output=True,
        )
    except OSError:
        return False
    return done.returncode == 0


def _read_csv(
    files: records.RunFiles, path: Path, columns: list[str], dtype: dict | None = None,
    gaps: bool = False,
) -> pd.DataFrame:  # fmt: skip
    raw = path.read_bytes()
    if not raw.strip():
        raise damaged(files, path, "is empty")
    if not raw.endswith(b"\n"):  # every file we write ends its last row with a newline
        raise damaged(files, path, "ends in the middle of a row (the file was cut short)")
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype=dtype)
    except (ValueError, UnicodeDecodeError) as error:  # pandas' ParserError is a ValueError
        raise damaged(files, path, f"is not a readable CSV ({str(error).strip()})") from None
    if list(frame.columns) != columns:
        raise damaged(
            files, path, f"has columns {list(frame.columns)}, expected {', '.join(columns)}"
        )
    if not gaps and frame.isna().any().any():
        row = int(frame.isna().any(axis=1).to_numpy().nonzero()[0][0]) + 2
        raise damaged(files, path, f"has a missing value on line {row}")
    return frame


def _numbers(files: records.RunFiles, path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce").astype(float)
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        row = int(bad.nonzero()[0][0])
        shown = f"{str(frame[column].iloc[row])} in column {column} on line {row + 2}"
        raise damaged(files, path, f"has {shown}, not a finite number")
    return values


def _read_history(files: records.RunFiles, provenance: dict) -> pd.DataFrame:
    path = files.history
    history = _read_csv(files, path, records.HISTORY_COLUMNS)
    for column in ("epoch", "value", "seconds"):
        history[column] = _numbers(files, path, history, column)
    if (history["epoch"] != history["epoch"].round()).any():
        raise damaged(files, path, "has an epoch that is not a whole number")
    history["epoch"] = history["epoch"].astype(int)
    for column, allowed in (("metric", METRICS), ("data", SPLITS)):
        unknown = sorted(set(history[column]) - set(allowed))
        if unknown:
            raise damaged(files, path, f"has {column} {unknown[0]!r}; allowed: {allowed}")
    _check_ranges(files, path, history)
    keys = ["epoch", "metric", "data"]
    duplicated = history[history.duplicated(keys)]
    if len(duplicated):
        first = duplicated.iloc[0]
        row = f"epoch {first['epoch']}, {first['metric']}, {first['data']}"
        raise damaged(files, path, f"has more than one row for {row}")
    epochs = sorted(set(history["epoch"]))
    if epochs != list(range(1, len(epochs) + 1)):
        raise damaged(files, path, f"has epochs {epochs[:3]}...{epochs[-1:]}, not 1, 2, ... n")
    pairs = history[["metric", "data"]].drop_duplicates()
    if len(history) != len(epochs) * len(pairs):
        raise damaged(files, path, "lacks some rows: not every epoch has every metric and split")
    recorded = provenance.get("epoch_seconds")
    if isinstance(recorded, list) and recorded and len(recorded) != len(epochs):
        raise damaged(
            files, path, f"has {len(epochs)} epochs where the run trained {len(recorded)}"
        )
    return history


# What each measure can be: a value outside its range is a damaged file, not a result.
RANGES = {"acc": (0.0, 1.0, "an accuracy in [0, 1]"), "loss": (0.0, math.inf, "a loss >= 0")}


def _check_ranges(files: records.RunFiles, path: Path, history: pd.DataFrame) -> None:
    for metric, (low, high, allowed) in RANGES.items():
        values = history.loc[history["metric"] == metric, "value"]
        outside = values[(values < low) | (values > high)]
        if len(outside):
            row, value = int(outside.index[0]) + 2, float(outside.iloc[0])
            raise damaged(files, path, f"has {metric} {value!r} on line {row}, not {allowed}")
    negative = history.index[history["seconds"] < 0]
    if len(negative):
        raise damaged(files, path, f"has negative seconds on line {int(negative[0]) + 2}")


def _read_score(files: records.RunFiles, provenance: dict) -> dict[str, float]:
    path = files.score
    frame = _read_csv(files, path, records.SCORE_COLUMNS)
    if len(frame) != 1:
        raise damaged(files, path, f"has {len(frame)} rows; a score is one row of loss,acc")
    score = {column: float(_numbers(files, path, frame, column).iloc[0]) for column in frame}
    if not 0 <= score["acc"] <= 1 or score["loss"] < 0:
        raise damaged(files, path, f"holds an impossible score {score}")
    stored = provenance.get("score") or {}
    for key in ("loss", "acc"):
        if key in stored and not math.isclose(stored[key], score[key], rel_tol=1e-9):
            raise damaged(
                files, path, f"says {key} {score[key]!r} where the provenance says {stored[key]!r}"
            )
    return score


def _read_provenance(files: records.RunFiles) -> dict:
    path = files.provenance
    try:
        provenance = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as error:
        raise damaged(files, path, f"is not valid JSON ({error})") from None
    problem = provenance_schema.problem(provenance, files.run_name)
    if problem:
        raise damaged(files, path, problem)
    if provenance.get("exercise") in EXERCISES:  # stored before a parameter existed
        provenance["parameters"] = PARAMETERS_ADDED | provenance["parameters"]
    return provenance


def _read_predictions(files: records.RunFiles, provenance: dict) -> pd.DataFrame:
    path = files.predictions
    frame = _read_csv(files, path, PREDICTION_COLUMNS)
    for column in PREDICTION_COLUMNS:
        frame[column] = _numbers(files, path, frame, column).astype(int)
    expected = (provenance.get("data") or {}).get("n_test")
    if isinstance(expected, int) and expected != len(frame):
        raise damaged(files, path, f"has {len(frame)} rows for {expected} test images")
    return frame


def load_table(
    name: str, columns: list[str], results_dir: str | Path | None = None, dtype: dict | None = None,
    check: Callable[[pd.DataFrame, Path], None] | None = None,
) -> tuple[pd.DataFrame, dict] | None:  # fmt: skip
    """A stored table of many small runs (the Playground search): ``scores/<name>.csv``, one
    row per run with exactly ``columns`` (read with pandas' ``dtype``; empty cells allowed;
    then ``check(table, path)``, its own rules), and its provenance ``scores/<name>.json``,
    validated like a run's, whose manifest records the table. None if neither exists."""
    files = records.run_files(name, results_dir)
    with staging.settled(files.results_dir):
        if not files.score.exists() and not files.provenance.exists():
            return None
        for path in (files.score, files.provenance):
            if not path.is_file():
                raise damaged(files, path, "is missing, while the table's other file is present")
        table = _read_csv(files, files.score, columns, dtype, gaps=True)
        provenance = _read_provenance(files)
        if check:  # a wrong value is named before the set is checked, as a run's are
            check(table, files.score)
        _check_set(files, provenance, [files.score])
    return table, provenance


# --- provenance ------------------------------------------------------------------------


def build_provenance(
    *,
    run_name: str,
    exercise: str,
    notebook: str,
    parameters: dict[str, object],
    data: dict[str, object],
    score: dict[str, float],
    started: dt.datetime,
    epoch_seconds: list[float],
    train_seconds: float,
    cpu_seconds: float | None,
    model: dict[str, object] | None = None,
    fingerprint: dict[str, object] | None = None,
    git: dict[str, object] | None = None,
    load_at_start: list[float] | None = None,
    **extra: object,
) -> dict[str, object]:
    """The provenance of a finished run: what ran (parameters, seed, data, model, code
    fingerprint, commit, versions), where (the CPU and what decides its floating-point path)
    and how long (wall and CPU seconds, load averages). Written last, it marks a finished run.

    ``cpu_seconds`` is the process CPU time of the training: beside ``train_seconds`` (wall)
    its ratio shows whether the run had the cores to itself (about the thread count) or shared
    them (lower).
    """
    versions = {package: metadata.version(package) for package in provenance_schema.VERSIONED}
    return {
        "run_name": run_name,
        "exercise": exercise,
        "notebook": notebook,
        "parameters": parameters,
        "seed": parameters.get("seed"),
        "data": data,
        "model": model,
        "fingerprint": fingerprint,
        "git": git if git is not None else records.git_state(),
        "versions": versions | {"python": platform.python_version()},
        "machine": machine.describe(),
        # Other processes on the machine slow the epochs down: 1-minute load averages.
        "load_average": {
            "start": load_at_start or list(os.getloadavg()),
            "end": list(os.getloadavg()),
        },
        "epoch_seconds": epoch_seconds,
        "train_seconds": train_seconds,
        "cpu_seconds": cpu_seconds,
        "wall_seconds": time.time() - started.timestamp(),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "score": score,
    } | extra

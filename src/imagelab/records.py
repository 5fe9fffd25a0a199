"""What a run measured, on disk: history and score CSVs, predictions, provenance, all atomic.

Layout under a results folder (the project root for canonical runs)::

    histories/<run>.csv              epoch,value,metric,data,seconds  (2019's tidy format + time)
    scores/<run>.csv                 loss,acc                          (2019's score format)
    scores/<run>_predictions.csv     index,true,predicted              (test set)
    scores/<run>.json                provenance, written last: its presence marks a finished run
    figures/<run>_<kind>.png

Every file is written to a temporary name in the same folder and renamed into place, so an
interrupted run leaves either the old file or the new one, never half of one. A run's files as
a set (one attempt's, never mixed with another's) are ``imagelab.results.staging``'s: an attempt writes
them into its own staging folder with these writers, then publishes them in one step.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from imagelab.params import check_run_name

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HISTORY_COLUMNS = ["epoch", "value", "metric", "data", "seconds"]
SCORE_COLUMNS = ["loss", "acc"]
CODE_PATHS = ("src", "notebooks", "pyproject.toml", "requirements.lock")

# Keras 3 history keys -> 2019's (metric, data) pairs, in 2019's row order.
_KERAS_KEYS = {
    "loss": ("loss", "training"),
    "accuracy": ("acc", "training"),
    "val_loss": ("loss", "validation"),
    "val_accuracy": ("acc", "validation"),
}


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would make results private to their writer
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a data frame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return Path(path)


def write_json(data: dict, path: Path) -> Path:
    """Write a JSON document, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return Path(path)


@dataclass(frozen=True)
class RunFiles:
    """Where one run's files live under a results folder."""

    results_dir: Path
    run_name: str

    @property
    def history(self) -> Path:
        return self.results_dir / "histories" / f"{self.run_name}.csv"

    @property
    def score(self) -> Path:
        return self.results_dir / "scores" / f"{self.run_name}.csv"

    @property
    def predictions(self) -> Path:
        return self.results_dir / "scores" / f"{self.run_name}_predictions.csv"

    @property
    def provenance(self) -> Path:
        return self.results_dir / "scores" / f"{self.run_name}.json"

    def figure(self, kind: str) -> Path:
        return self.results_dir / "figures" / f"{self.run_name}_{kind}.png"


def relative(path: str | Path) -> str:
    """``path`` as the project names it (relative to the project root), for messages; a path
    outside the project stays absolute."""
    path = Path(path).resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def run_files(run_name: str, results_dir: str | Path | None = None) -> RunFiles:
    """The files of ``run_name`` under ``results_dir`` (default: the project's own folders)."""
    return RunFiles(Path(results_dir) if results_dir else PROJECT_ROOT, check_run_name(run_name))


def history_frame(
    keras_history: dict[str, list[float]], epoch_seconds: list[float]
) -> pd.DataFrame:
    """Keras's history dict as 2019's tidy table: one row per epoch, metric and data split."""
    rows = [
        (epoch, float(value), metric, data, float(epoch_seconds[epoch - 1]))
        for key, (metric, data) in _KERAS_KEYS.items()
        if key in keras_history
        for epoch, value in enumerate(keras_history[key], start=1)
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def read_history(path: Path) -> pd.DataFrame:
    """Read a history CSV and check its columns (2019 files without `seconds` are accepted)."""
    frame = pd.read_csv(path)
    missing = [column for column in HISTORY_COLUMNS[:4] if column not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a history CSV, columns {missing} are missing")
    return frame


def identical_parts(a: RunFiles, b: RunFiles) -> dict[str, bool]:
    """Which of two runs' files match byte for byte: the history (but for its wall-clock
    seconds), the score and the predictions (when both runs keep them)."""

    def numbers(path: Path) -> pd.DataFrame:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return frame.drop(columns=["seconds"], errors="ignore")

    same = {
        "history": numbers(a.history).equals(numbers(b.history)),
        "score": a.score.read_bytes() == b.score.read_bytes(),
    }
    if a.predictions.is_file() and b.predictions.is_file():
        same["predictions"] = a.predictions.read_bytes() == b.predictions.read_bytes()
    return same


def sha256_text(*parts: str) -> str:
    """sha256 over text parts, for fingerprints of code and notebooks."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def commit_known(commit: object, root: Path = PROJECT_ROOT) -> bool:
    """Whether the project's git knows ``commit`` (a provenance's): a commit it does not know
    (made up, or left out of a shallow clone) is marked so wherever it is shown."""
    if not isinstance(commit, str) or not commit:
        return False
    try:
        done = subprocess.run(
            ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=root, capture_output=True
        )
    except OSError:
        return False
    return done.returncode == 0


def shown_commit(commit: object, width: int = 10) -> str:
    """A provenance's commit as the report and the notebooks show it: its first ``width``
    digits, and "(unknown to git)" when this repository does not know it."""
    if commit is None:
        return "unknown (not recorded)"
    return str(commit)[:width] + ("" if commit_known(commit) else " (unknown to git)")


def git_state(root: Path = PROJECT_ROOT) -> dict[str, object]:
    """The project's git commit, and whether its code or notebooks differ from that commit.

    Results folders are left out of the dirty check: a lab run writes them as it goes.
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--", *CODE_PATHS)),
        }
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}

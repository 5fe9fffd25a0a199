"""The reproductions record, ``reproductions/verify.csv``: which machine reproduced which run.

One row per verification (``imagelab verify``): when and at which commit, the machine (CPU
model, the ISA features oneDNN dispatches on, oneDNN, threads), the versions (TensorFlow, Keras,
NumPy, Python), the run, its verdict against the committed run and the differences. Rows are
only ever added, three ways, all through here:

- ``append``: ``imagelab verify --record`` adds this machine's verdicts (``verify.append_record``);
- ``merge``: ``imagelab verify --merge FILE ...`` adds the rows another machine recorded, skipping
  rows already present (same date, commit, CPU and run);
- ``read``: the report reads the record back.

Each applies the same rule set (``_check``) to every row it touches, so a damaged or foreign
file stops with one paragraph naming the file, the line, the column and the fix, and nothing is
written: a row cut mid-way is refused, never shown as a verdict "withi".

Files recorded before the ``python`` column (issue #29) are merged only with an explicit
``--python VERSION``, the version they were recorded with; it is never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from imagelab import records
from imagelab.errors import UserError
from imagelab.judging import seed_noise
from imagelab.results.exercises import CANONICAL_NAMES, REGISTRY

RECORD = records.PROJECT_ROOT / "reproductions" / "verify.csv"
# The columns of issue 34's rule: its name, the history's rms difference, the shares of seed
# its distance over the farthest seed pair's on each distance, the share of seed pairs closer
# together on the worst (imagelab.judging.seed_noise), and the conclusions verdict.
JUDGED = ["rule", "d_history", "ratio_acc", "ratio_loss", "ratio_history", "closer",
          "conclusions"]  # fmt: skip
BEFORE_RULE = ["date", "commit", "cpu", "isa", "onednn", "threads", "tensorflow", "keras",
               "numpy", "python", "run", "verdict", "d_acc", "d_loss", "max_d_history",
               "seconds"]  # fmt: skip
COLUMNS = BEFORE_RULE + JUDGED
BEFORE_PYTHON = [column for column in BEFORE_RULE if column != "python"]  # before issue #29
OLD_RULE, RULE = seed_noise.OLD_RULE, seed_noise.RULE  # rows before issue 34; rows since
VERDICTS = ("identical", "within seed noise", "outside")
# Every exercise notebook's canonical run (the Playground spiral sixth), then the bfloat16 ones.
RUNS = (*REGISTRY, *(name for name in CANONICAL_NAMES if name not in REGISTRY))
NUMBERS = ("d_acc", "d_loss", "max_d_history", "seconds")
SHARES = ("closer",)  # a share of seed pairs, in [0, 1]
RATIOS = ("ratio_acc", "ratio_loss", "ratio_history")  # >= 0
_CONCLUSIONS = re.compile(r"same|differ: Q[0-9-]+(, Q[0-9-]+)*|not judged: .+")
VERSIONS = ("tensorflow", "keras", "numpy", "python")
# Differences of accuracies lie in [-1, 1]; the largest |difference| and seconds are >= 0.
RANGES = {"d_acc": (-1, 1), "max_d_history": (0, math.inf), "seconds": (0, math.inf),
          "d_history": (0, math.inf), **dict.fromkeys(SHARES, (0, 1)),
          **dict.fromkeys(RATIOS, (0, math.inf))}  # fmt: skip
KEY = ("date", "commit", "cpu", "run")  # one verification: rows with the same key are one row

_COMMIT = re.compile(r"[0-9a-f]{12}(-dirty)?|unknown")
_VERSION = re.compile(r"\d+\.\d+(\.\d+)?\S*")
_RECORDED = "as `imagelab verify --record` writes it"


@dataclass(frozen=True)
class Merged:
    """What ``merge`` took from one file."""

    file: Path
    rows: int  # rows appended
    duplicates: int  # rows already in the record (or earlier in the same merge), skipped


def commit_now(root: Path = records.PROJECT_ROOT) -> str:
    """The ``commit`` cell for a verification made now: 12 characters of the project's commit,
    ``-dirty`` when the code or notebooks differ from it, ``unknown`` without git."""
    state = records.git_state(root)
    commit = str(state["commit"] or "unknown")[:12]
    return f"{commit}-dirty" if state["dirty"] else commit


def read(path: str | Path = RECORD) -> pd.DataFrame | None:
    """The record, checked: numbers as floats, ``date`` as UTC timestamps; None when the file
    is absent or holds no rows."""
    path = Path(path)
    if not path.is_file():
        return None
    table = _load(path, fix=_LOCAL_FIX)
    if table.empty:
        return None
    return table.assign(
        date=pd.to_datetime(table["date"], utc=True, format="ISO8601"),
        **{column: table[column].astype(float) for column in NUMBERS},
        **{c: pd.to_numeric(table[c], errors="coerce") for c in (*SHARES, *RATIOS, "d_history")},
    ).reset_index(drop=True)


def latest_verdict(table: pd.DataFrame | None, run: str, since: object = None) -> str | None:
    """The verdict last recorded for ``run`` (in ``read``'s table) at or after ``since`` (a
    time the judged files were last written, anything ``pd.to_datetime`` reads); None if none."""
    if table is None:
        return None
    rows = table[table["run"] == run]
    if since is not None:
        rows = rows[rows["date"] >= pd.to_datetime(since, utc=True)]
    return rows.sort_values("date")["verdict"].iloc[-1] if len(rows) else None


def recorded_seconds(runs: list[str], path: str | Path = RECORD) -> float | None:
    """How long verifying ``runs`` takes, as last measured: the sum of each run's last recorded
    ``seconds`` (the wall time of its rerun, kernel start included); None when one of them was
    never recorded."""
    table = read(path)
    if table is None:
        return None
    last = table.sort_values("date").groupby("run")["seconds"].last()
    if not set(runs) <= set(last.index):
        return None
    return float(last[list(runs)].sum())


def append(row: dict[str, object], path: str | Path = RECORD) -> Path:
    """Append one verification to ``path`` (rewritten atomically: temp file and rename).

    ``row`` holds every column of ``COLUMNS``; it is checked like a row of the file, and the
    file itself is checked before anything is written.
    """
    path = Path(path)
    old = _load(path, fix=_LOCAL_FIX) if path.is_file() else _empty()
    missing = [column for column in COLUMNS if column not in row]
    if missing:  # a bug in the caller, not the user's doing
        raise ValueError(f"a verification row needs {missing}")
    new = pd.DataFrame([{column: _text(row[column]) for column in COLUMNS}])
    _check(new.set_axis([len(old) + 2]), f"the new row for {records.relative(path)}", _NEW_FIX)
    return records.write_csv(pd.concat([old, new], ignore_index=True), path)


def merge(
    files: list[str | Path],
    record: str | Path = RECORD,
    python: str | None = None,
    root: Path = records.PROJECT_ROOT,
) -> list[Merged]:
    """Append to ``record`` the rows of ``files`` (other machines' verify.csv) it lacks.

    Every file is checked first (columns, verdicts, runs, versions, numbers, dates, and each
    commit known to the git repository at ``root``); one bad file stops the merge with nothing
    written. ``python`` is the Python version for files recorded before the ``python`` column,
    and only for those. A row whose date, commit, CPU and run are already in the record is a
    duplicate and skipped; if its other cells differ, the merge stops (two answers to one
    verification). The record is rewritten once, atomically.
    """
    record = Path(record)
    if python is not None and not _VERSION.fullmatch(python):
        raise UserError(f"--python must be a Python version such as 3.11.7; got {python!r}")
    old = _load(record, fix=_LOCAL_FIX) if record.is_file() else _empty()
    seen = {_key(row): (records.relative(record), line, row) for line, row in old.iterrows()}
    added, merged = [], []
    for file in map(Path, files):
        name = records.relative(file)
        if not file.is_file():
            raise UserError(f"{name}: no such file to merge; nothing was written")
        table = _load(file, fix=_MERGE_FIX, python=python)
        _check_commits(table, name, root)
        duplicates = 0
        for line, row in table.iterrows():
            known = seen.get(_key(row))
            if known is None:
                seen[_key(row)] = (name, line, row)
                added.append(row)
                continue
            differences = _differs(known[2], row)
            if differences:
                raise UserError(
                    f"{name}, line {line}: the verification of {row['run']} on {row['cpu']} at "
                    f"{row['date']} (commit {row['commit']}) is already in {known[0]} (line "
                    f"{known[1]}) with other values in {differences}; one of the two was "
                    "edited. Nothing was written; find out which is right, correct or delete "
                    "the other, and merge again."
                )
            duplicates += 1
        merged.append(Merged(file, len(table) - duplicates, duplicates))
    if added:
        records.write_csv(pd.concat([old, pd.DataFrame(added)], ignore_index=True), record)
    return merged


# --- reading and checking ---------------------------------------------------------------------

_LOCAL_FIX = (
    "Nothing was written. Correct that cell (`git diff reproductions/verify.csv` shows what "
    "changed since the last commit), or delete the damaged row and record it again with "
    "`imagelab verify --record`."
)
_NEW_FIX = (
    "Nothing was written: the verification did not give that value (its executed notebook is "
    "kept under build/verify/<run>/)."
)
_MERGE_FIX = (
    "Nothing was written. Correct that cell, or copy the file again from the machine that "
    "recorded it (`imagelab verify --record` writes it whole) if it was damaged on the way."
)


def _load(path: Path, fix: str, python: str | None = None) -> pd.DataFrame:
    """The rows of ``path`` as text, indexed by their line in the file, checked."""
    name = records.relative(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{name}: not a text (UTF-8) CSV file ({error}). {fix}") from None
    if not text.strip():
        raise UserError(f"{name}: the file is empty, without even a header line. {fix}")
    if not text.endswith("\n"):
        raise UserError(
            f"{name}: the last line ends without a newline, so the file was cut, perhaps "
            f"mid-row; `imagelab verify --record` ends every row with one. {fix} If the last "
            "row is complete, adding the newline is the fix."
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    _check_columns(header, name, fix, python)
    rows, lines = [], []
    for row in reader:
        if not row:
            continue  # a blank line
        if len(row) != len(header):
            raise UserError(
                f"{name}, line {reader.line_num}: {len(row)} cells where the header has "
                f"{len(header)}: the row was cut or has a stray comma. {fix}"
            )
        rows.append(row)
        lines.append(reader.line_num)
    table = pd.DataFrame(rows, columns=header, index=lines, dtype=str)
    if python is not None:
        table.insert(COLUMNS.index("python"), "python", python)
    if "rule" not in table.columns:  # recorded before issue 34: judged by the old rule
        table = table.assign(**(dict.fromkeys(JUDGED, "") | {"rule": OLD_RULE}))
    _check(table, name, fix)
    return table


def _check_columns(header: list[str], name: str, fix: str, python: str | None) -> None:
    if header == BEFORE_PYTHON and python is None:
        how = (
            "merge it with `--python VERSION`, the Python version it was recorded with (on "
            "that machine, build/verify/<run>/scores/<run>.json gives it as versions.python)"
            if fix == _MERGE_FIX
            else "add a `python` column after `numpy` holding the Python version each row was "
            "recorded with"
        )
        raise UserError(
            f"{name} was recorded before the record had a `python` column, so it does not say "
            f"which Python verified its runs; {how}. Nothing was written."
        )
    if header != BEFORE_PYTHON and python is not None:
        raise UserError(
            f"{name} has its own `python` column; --python is only for files recorded before "
            "that column. Merge this file without --python. Nothing was written."
        )
    if header not in (COLUMNS, BEFORE_RULE, BEFORE_PYTHON):
        missing = [c for c in COLUMNS if c not in header]
        unexpected = [c for c in header if c not in COLUMNS]
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(unexpected)}" if unexpected else "",
                "" if missing or unexpected else "the right names in another order",
            )
            if part
        )
        raise UserError(
            f"{name}: not a verification record ({detail}). Its header must be exactly "
            f"{','.join(COLUMNS)}, {_RECORDED}. Nothing was written."
        )


def _check(table: pd.DataFrame, name: str, fix: str) -> None:
    """Raise a UserError on the first bad cell, naming its line and column."""
    for line, row in table.iterrows():
        old = row["rule"] == OLD_RULE  # rows of the old rule have no judged columns
        for column in COLUMNS:
            if old and column in JUDGED[1:] and row[column] == "":
                continue
            problem = _problem(column, row[column])
            if problem:
                raise UserError(f"{name}, line {line}, column {column}: {problem}. {fix}")


def _problem(column: str, value: str) -> str | None:
    """What is wrong with one cell, or None."""
    if value == "":
        if column in ("d_history", *RATIOS, *SHARES):
            return None  # no seed runs to judge by (only identical passes), or no histories
        return "the cell is empty"
    if column == "rule" and value not in (OLD_RULE, RULE):
        return f"{value!r} is not a rule; one of {OLD_RULE!r}, {RULE!r}"
    if column == "conclusions" and not _CONCLUSIONS.fullmatch(value):
        return f"{value!r} is not a conclusions verdict: 'same', 'differ: Q10, Q17' or 'not judged: why'"
    if column == "verdict" and value not in VERDICTS:
        return f"{value!r} is not a verdict; one of {', '.join(map(repr, VERDICTS))}"
    if column == "run" and value not in RUNS:
        return f"{value!r} is not a run; one of {', '.join(map(repr, RUNS))}"
    if column in (*NUMBERS, *SHARES, *RATIOS, "d_history"):
        try:
            number = float(value)
        except ValueError:
            return f"{value!r} is not a number"
        if not math.isfinite(number):
            return f"{value!r} is not a finite number"
        low, high = RANGES.get(column, (-math.inf, math.inf))
        return None if low <= number <= high else f"{value} is out of range ({low:g} to {high:g})"
    if column in VERSIONS and not _VERSION.fullmatch(value):
        return f"{value!r} is not a version such as 2.21.0"
    if column == "commit" and not _COMMIT.fullmatch(value):
        return (
            f"{value!r} is not a commit {_RECORDED}: 12 hexadecimal characters (e.g. "
            "4f4e0682a61c), '-dirty' after them when the code differed, or 'unknown'"
        )
    if column == "date":
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            return f"{value!r} is not a time with its UTC offset, e.g. 2026-11-26T12:23:41+00:00"
    return None


def _check_commits(table: pd.DataFrame, name: str, root: Path) -> None:
    """Every commit of a merged file names a commit of this project (git cat-file)."""
    for commit in dict.fromkeys(table["commit"]):
        line = table.index[table["commit"] == commit][0]
        known = False
        if commit != "unknown":
            try:
                known = (
                    subprocess.run(
                        ["git", "cat-file", "-e", f"{commit.removesuffix('-dirty')}^{{commit}}"],
                        cwd=root,
                        capture_output=True,
                    ).returncode
                    == 0
                )
            except OSError as error:
                raise UserError(
                    f"cannot check the commits of {name}: git did not run ({error}); merging "
                    "needs git and the project's history. Nothing was written."
                ) from None
        if not known:
            raise UserError(
                f"{name}, line {line}, column commit: {commit!r} is not a commit of this "
                "project's git history, so its rows cannot be tied to the code that gave them. "
                "Nothing was written. If the machine ran a commit this clone lacks, fetch it "
                "(`git fetch`) and merge again; rows recorded without git cannot be merged."
            )


def _key(row: pd.Series) -> tuple[str, ...]:
    return tuple(row[column] for column in KEY)


def _differs(old: pd.Series, new: pd.Series) -> str:
    """The columns in which two rows of one verification differ ('' when they agree); numbers
    compare as numbers, so 0.0 and 0 agree."""

    def same(column: str) -> bool:
        if column in (*NUMBERS, *SHARES, *RATIOS, "d_history") and "" not in (
            old[column],
            new[column],
        ):
            return float(old[column]) == float(new[column])
        return old[column] == new[column]

    return ", ".join(column for column in COLUMNS if not same(column))


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=COLUMNS, dtype=str)


def _text(value: object) -> str:
    """A cell as the CSV holds it: floats in Python's shortest round-trip form."""
    if value is None:
        return ""
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return repr(float(value))
    return str(value)

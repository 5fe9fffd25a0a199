"""The one validating reader of side tables (see ``imagelab.results.tables``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from imagelab import records
from imagelab.params import SEED_MAX
from imagelab.results.store import DamagedResult, StoredRun, committed, damaged


class DamagedTable(DamagedResult):
    """A side table or figure the report reads is cut short, unreadable or holds a value it
    cannot hold; the message names the file, where, and how to get it back."""


@dataclass(frozen=True)
class Column:
    """One column: ``kind`` 'text', 'int', 'float' or 'time' (ISO 8601 with its offset), the
    range ``low``-``high`` of a number (None: unbounded), the ``choices`` of a text."""

    name: str
    kind: str = "text"
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    empty: bool = False  # whether a cell may be empty


def text(name: str, *choices: str, empty: bool = False) -> Column:
    return Column(name, "text", choices=choices, empty=empty)


def number(
    name: str, low: float | None = None, high: float | None = None, empty: bool = False
) -> Column:
    return Column(name, "float", low, high, empty=empty)


def accuracy(name: str, empty: bool = False) -> Column:
    return Column(name, "float", 0, 1, empty=empty)


def nonnegative(name: str, empty: bool = False) -> Column:
    """A loss or a number of seconds: finite and >= 0."""
    return Column(name, "float", 0, None, empty=empty)


def count(name: str, low: int = 0, empty: bool = False) -> Column:
    return Column(name, "int", low, None, empty=empty)


def seed(name: str = "seed") -> Column:
    return Column(name, "int", 0, SEED_MAX)


def time(name: str = "date") -> Column:
    return Column(name, "time")


@dataclass(frozen=True)
class Schema:
    """What a side table must hold, and ``rebuild``: the command that makes it again, as the
    end of a sentence ("`make seeds` rebuilds it")."""

    columns: tuple[Column, ...]
    rebuild: str
    optional: tuple[Column, ...] = ()  # columns older versions of the file lack
    others: bool = False  # other columns allowed (a sweep's grid)
    keys: tuple[str, ...] = ()  # columns naming a row: no two rows alike
    rule: Callable[[pd.DataFrame], str | None] | None = None  # the table as a whole


def refusal(path: Path, problem: str, rebuild: str) -> DamagedTable:
    """The error for a damaged side file: the path, the problem, and how to get it back."""
    shown = records.relative(path)
    restore = (
        f"`git checkout -- {shown}` restores the committed file, or " if committed(path) else ""
    )
    fix = f"{restore}{rebuild}"
    return DamagedTable(f"{shown} {problem}. {fix[0].upper()}{fix[1:]}.")


def read(path: str | Path, schema: Schema) -> pd.DataFrame:
    """The table at ``path``, checked against ``schema``: numbers as floats (ints as ints when
    no cell may be empty), text as str, indexed by line in the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise refusal(path, f"cannot be read ({error.strerror})", schema.rebuild) from None
    if not raw.strip():
        raise refusal(path, "is empty", schema.rebuild)
    if not raw.endswith(b"\n"):  # every table we write ends its last row with a newline
        raise refusal(path, "ends in the middle of a row (the file was cut short)", schema.rebuild)
    try:
        reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""))
        header = next(reader)
        rows, lines = [], []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise refusal(
                    path,
                    f"has {len(row)} cells on line {reader.line_num} where the header has "
                    f"{len(header)} (a row cut short, or a stray comma)",
                    schema.rebuild,
                )
            rows.append(row)
            lines.append(reader.line_num)
    except (UnicodeDecodeError, csv.Error) as error:
        raise refusal(path, f"is not a readable CSV ({error})", schema.rebuild) from None
    return check_frame(pd.DataFrame(rows, columns=header, index=lines, dtype=str), path, schema)


def check_frame(frame: pd.DataFrame, path: Path, schema: Schema) -> pd.DataFrame:
    """``frame`` (indexed by line in ``path``) checked against ``schema``, numbers converted."""
    header = list(frame.columns)
    required = [column.name for column in schema.columns]
    known = required + [column.name for column in schema.optional]
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in known] if not schema.others else []
    if missing or unknown or len(set(header)) != len(header):
        raise refusal(
            path,
            f"has the columns {', '.join(header)}; expected {', '.join(required)}",
            schema.rebuild,
        )
    if frame.empty:
        raise refusal(path, "has a header but no rows", schema.rebuild)
    frame = frame.copy()
    for column in (*schema.columns, *schema.optional):
        if column.name in header:
            frame[column.name] = _converted(frame[column.name], column, path, schema)
    if schema.keys:
        doubled = frame[frame.duplicated(list(schema.keys))]
        if len(doubled):
            line = doubled.index[0]
            name = ", ".join(str(doubled.loc[line, key]) for key in schema.keys)
            raise refusal(path, f"has a second row for {name} on line {line}", schema.rebuild)
    problem = schema.rule(frame) if schema.rule else None
    if problem:
        raise refusal(path, problem, schema.rebuild)
    return frame


def _converted(values: pd.Series, column: Column, path: Path, schema: Schema) -> pd.Series:
    for line, value in values.items():
        problem = _problem(value, column)
        if problem:
            raise refusal(
                path, f"has {problem} on line {line}, column {column.name}", schema.rebuild
            )
    if column.kind in ("text", "time"):
        return values.where(~values.map(_blank), None).map(lambda v: v if v is None else str(v))
    numbers = pd.to_numeric(values.where(~values.map(_blank)), errors="coerce").astype(float)
    return numbers.astype(int) if column.kind == "int" and not column.empty else numbers


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _problem(value: object, column: Column) -> str | None:
    """What is wrong with one cell, in words that fit "has ... on line N", or None."""
    if _blank(value):
        return None if column.empty else "an empty cell"
    if column.kind == "text":
        if column.choices and str(value) not in column.choices:
            return f"{str(value)!r}, not one of {', '.join(map(repr, column.choices))},"
        return None
    if column.kind == "time":
        try:
            when = dt.datetime.fromisoformat(str(value))
        except ValueError:
            when = None
        return None if when and when.tzinfo else f"{str(value)!r}, not a time with its offset,"
    try:
        figure = float(value)
    except (TypeError, ValueError):
        return f"{str(value)!r}, not a number,"
    if not math.isfinite(figure):
        return f"{str(value)!r}, not a finite number,"
    if column.kind == "int" and figure != round(figure):
        return f"{value}, not a whole number,"
    low = -math.inf if column.low is None else column.low
    high = math.inf if column.high is None else column.high
    if not low <= figure <= high:
        allowed = (
            f"{_shown(low)} to {_shown(high)}"
            if column.high is not None
            else (f"{_shown(low)} or more")
        )
        return f"{value}, out of range ({allowed}),"
    return None


def _shown(bound: float) -> str:
    """A range's bound as written: 4294967295, not 4.29497e+09."""
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def figure_problem(path: str | Path) -> str | None:
    """What is wrong with a figure (a PNG that does not decode), or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # decodes every pixel: a PNG cut short fails here
            if image.format != "PNG":
                raise ValueError(f"a {image.format} image, not a PNG")
    except (OSError, ValueError, UnidentifiedImageError, SyntaxError) as error:
        return f"is not a figure that decodes ({error})"
    return None


def check_figure(path: str | Path, rebuild: str) -> None:
    """Refuse a figure that does not decode, before a report kernel tries to show it."""
    problem = figure_problem(path)
    if problem:
        raise refusal(Path(path), problem, rebuild)


def check_run_figures(stored: StoredRun) -> None:
    """Refuse a stored run whose figures do not decode, with the store's fix for its files
    (``git checkout``, or retraining it), as a damaged history is refused."""
    from imagelab.results.exercises import get_exercise

    for kind in get_exercise(stored.provenance["exercise"]).figures:
        path = stored.files.figure(kind)
        problem = figure_problem(path) if path.is_file() else None
        if problem:
            raise damaged(stored.files, path, problem)

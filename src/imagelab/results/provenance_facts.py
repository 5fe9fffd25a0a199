"""What a stored run's provenance says must agree with itself: its facts, beside its schema.

``imagelab.results.provenance_schema`` checks each key on its own (a number where a number belongs);
this module checks what the keys say together, each a fact no run can break:

- time: ``started`` and ``finished`` are times with their offset; a run finishes after it
  starts, not in the future and not before Keras 3 existed (no imagelab run could have);
- durations: the training, its epochs and its CPU time fit in the run's own wall time, and the
  wall time is the time from start to finish;
- the seed: ``seed`` is ``parameters.seed`` (a run has one);
- the exercise: the parameters are those of the exercise's notebook (a dense network's units
  under a convolutional exercise would be read as filters that are not there), and a canonical
  run name holds its own exercise in its own precision.

Each check returns the problem in words that follow the file's name ("says ..."), or None;
the schema has passed before, so every value here has its type.
"""

from __future__ import annotations

import datetime as dt
import re

from imagelab.errors import UserError
from imagelab.results.exercises import (
    CANONICAL_NAMES,
    PARAMETERS_ADDED,
    PLAYGROUND,
    REGISTRY,
    RUN_CONTROLS,
    notebook_defaults,
)

# The form the provenance builder writes (``isoformat``): date, time, optional fraction, offset.
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:\d{2}|Z)$")
# Keras 3.0.0 was released on 2023-11-28: no run of imagelab (Keras 3) finished before.
EARLIEST = dt.datetime(2023, 11, 28, tzinfo=dt.UTC)
# Clocks of a cluster's machines disagree a little; a finish this far ahead of ours is a fact
# that cannot be true.
CLOCK_SKEW = dt.timedelta(minutes=10)
# ``started`` and ``finished`` are written to the whole second; the durations are measured by
# other clocks (perf_counter, process_time): this much apart is the same time.
SLACK = 2.0
SEARCH_RUN = "playground_search"  # the Playground search's table: its parameters are a grid's


def parse_time(value: object) -> dt.datetime | None:
    """``value`` as an aware datetime when it is a time in the builder's form, else None."""
    if not isinstance(value, str) or not TIME.match(value):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:  # 2026-02-30: the form, but no such day
        return None


def problem(provenance: dict, run_name: str) -> str | None:
    """The first fact of ``provenance`` (of ``run_name``, its schema held) that cannot be
    true, in words that follow the file's name; None when they all agree."""
    return (
        _exercise_problem(provenance, run_name)
        or _seed_problem(provenance)
        or _time_problem(provenance)
        or _duration_problem(provenance)
    )


def expected_parameters(exercise: str, run_name: str) -> set[str] | None:
    """The parameters a run of ``exercise`` under ``run_name`` stores: its notebook's, but for
    the run controls (for the Playground: a spiral run's settings, or the search's grid and the
    settings it keeps). None when the notebook cannot be read (its own error says why)."""
    try:
        names = set(notebook_defaults(exercise)) - set(RUN_CONTROLS)
    except UserError:
        return None
    if exercise == PLAYGROUND.name:
        grid = {name for name in names if name.startswith("search_")}
        names -= grid | {"search"}
        if run_name == SEARCH_RUN:
            names = (names - {"features", "hidden", "seed"}) | grid
    return names


def _exercise_problem(provenance: dict, run_name: str) -> str | None:
    exercise, parameters = provenance["exercise"], provenance["parameters"]
    owner, precision = CANONICAL_NAMES.get(run_name, (exercise, None))
    if owner != exercise:
        return (
            f"says the canonical run {run_name!r} ran the {exercise} exercise; that name "
            f"holds the {owner} exercise's run only"
        )
    if precision is not None and parameters.get("precision", "float32") != precision:
        return (
            f"says the canonical run {run_name!r} trained in {parameters.get('precision')!r}; "
            f"that name holds the run in {precision} only"
        )
    expected = expected_parameters(exercise, run_name)
    if expected is None:
        return None
    extra = sorted(set(parameters) - expected)
    missing = sorted(expected - set(parameters) - set(PARAMETERS_ADDED))
    if not extra and not missing:
        return None
    notebook = f"notebooks/{REGISTRY[exercise].notebook}"
    said = [f"it has {', '.join(extra)}, which {notebook} has not" if extra else "",
            f"it lacks {', '.join(missing)}" if missing else ""]  # fmt: skip
    return (
        f"says it ran the {exercise} exercise, but its parameters are not that notebook's "
        f"({'; '.join(filter(None, said))}): another exercise's run, or a mislabelled one"
    )


def _seed_problem(provenance: dict) -> str | None:
    seed, parameter = provenance["seed"], provenance["parameters"].get("seed")
    if seed == parameter and type(seed) is type(parameter):
        return None
    return f"says seed {seed!r} where its parameters say seed {parameter!r}; a run has one seed"


def _time_problem(provenance: dict) -> str | None:
    times = {key: parse_time(provenance.get(key)) for key in ("started", "finished")}
    now = dt.datetime.now(dt.UTC)
    for key, when in times.items():
        if when is None:
            continue
        if when < EARLIEST:
            return (
                f"says it {key} at {provenance[key]}, before Keras 3 existed "
                f"({EARLIEST.date()}); no imagelab run did"
            )
        if when > now + CLOCK_SKEW:
            return f"says it {key} at {provenance[key]}, in the future (now {now:%Y-%m-%dT%H:%M}Z)"
    started, finished = times["started"], times["finished"]
    if started and finished and finished < started:
        return (
            f"says it finished at {provenance['finished']}, before it started "
            f"({provenance['started']})"
        )
    return None


def _duration_problem(provenance: dict) -> str | None:
    """Every duration fits in the run's wall time: ``wall_seconds``, which is the time from
    ``started`` to ``finished`` (either, when the other is not recorded)."""
    started, finished = (parse_time(provenance.get(key)) for key in ("started", "finished"))
    span = (finished - started).total_seconds() if started and finished else None
    wall = provenance.get("wall_seconds")
    if wall is not None and span is not None and abs(wall - span) > SLACK:
        return (
            f"says wall_seconds {wall:g} where it started at {provenance['started']} and "
            f"finished at {provenance['finished']}, {span:g} s apart"
        )
    wall = wall if wall is not None else span
    if wall is None:
        return None
    cores = (provenance.get("machine") or {}).get("cores")
    inside = [
        ("train_seconds", provenance.get("train_seconds"), 1),
        ("the sum of epoch_seconds", sum(provenance.get("epoch_seconds") or []), 1),
        ("the sum of shape_seconds", sum(provenance.get("shape_seconds") or []), 1),
        # CPU time runs on every core at once: at most the wall time on each.
        ("cpu_seconds", provenance.get("cpu_seconds"), cores),
    ]
    for name, seconds, times in inside:
        if seconds is not None and times and seconds > wall * times + SLACK:
            on = f" on its {times} cores" if name == "cpu_seconds" else ""
            return (
                f"says {name} is {seconds:g} s, more than the run's own wall time{on} "
                f"({wall:g} s from start to finish)"
            )
    epochs, training = sum(provenance.get("epoch_seconds") or []), provenance.get("train_seconds")
    if training is not None and epochs > training + SLACK:
        return (
            f"says its epochs took {epochs:g} s, more than its whole training "
            f"(train_seconds {training:g})"
        )
    return None

"""A sweep file, validated, and its plan: every run with its deterministic id.

A sweep file (YAML) names an exercise notebook, fixed parameters, a grid (a list of values per
parameter; every combination runs) and the seeds. ``load`` validates all of it before anything
runs, without TensorFlow or papermill, so a typo stops the sweep in seconds, naming the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from imagelab import records
from imagelab.errors import UserError
from imagelab.params import RUN_NAME, SEED_MAX, check_parameter
from imagelab.results import exercises

KEYS = ("notebook", "parameters", "grid", "seeds", "description")


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file."""

    path: Path
    notebook: Path
    exercise: str
    parameters: dict[str, object]
    grid: dict[str, list]
    seeds: list[int]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def folder(self) -> Path:
        """Where the sweep's results go: ``sweeps/<name>/`` beside ``sweeps/<name>.yaml``."""
        return self.path.parent / self.path.stem


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: a grid combination with one seed."""

    run_id: str
    swept: dict[str, object]  # the grid values of this run
    seed: int
    parameters: dict[str, object]  # everything passed to the notebook


# --- the sweep file --------------------------------------------------------------------


def load(path: str | Path) -> Sweep:
    """Read and validate a sweep file; a UserError names the offending key.

    Fast on purpose (no TensorFlow, no papermill): the notebook's parameters cell gives the
    known names and ``imagelab.params`` checks every value of the grid, so a bad file stops
    within seconds, before anything runs.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"sweep file {path} does not exist")
    if not RUN_NAME.match(path.stem):
        raise UserError(f"{path}: a sweep file name must be a slug (lowercase, digits, _ and -)")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise UserError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(spec, dict):
        raise UserError(f"{path}: a sweep file is a mapping with keys {', '.join(KEYS[:4])}")
    unknown = sorted(set(spec) - set(KEYS))
    if unknown:
        raise UserError(f"{unknown[0]}: unknown key; a sweep file has {', '.join(KEYS)}")
    notebook, exercise, known = _notebook(spec.get("notebook"))
    parameters = _mapping(spec, "parameters", allow_empty=True)
    grid = _mapping(spec, "grid", allow_empty=False)
    for name, value in parameters.items():
        _check_name(f"parameters.{name}", name, known, notebook)
        _check_value(f"parameters.{name}", name, value)
    for name, values in grid.items():
        where = f"grid.{name}"
        _check_name(where, name, known, notebook)
        if name in parameters:
            raise UserError(f"{where}: also set in parameters; give it in one place")
        if not isinstance(values, list) or not values:
            raise UserError(f"{where}: must be a non-empty list of values; got {values!r}")
        _check_unique(where, values)
        for index, value in enumerate(values):
            _check_value(f"{where}[{index}]", name, value)
    seeds = spec.get("seeds")
    if not isinstance(seeds, list) or not seeds:
        raise UserError(
            f"seeds: must be a non-empty list of integers in [0, {SEED_MAX}]; got {seeds!r}"
        )
    _check_unique("seeds", seeds)
    for index, seed in enumerate(seeds):  # each in [0, SEED_MAX], by params.RULES' seed rule
        _check_value(f"seeds[{index}]", "seed", seed)
    return Sweep(path.resolve(), notebook, exercise, parameters, grid, seeds)


def _notebook(value: object) -> tuple[Path, str, set[str]]:
    """The notebook's path, exercise name and parameter names (its parameters cell's)."""
    if not isinstance(value, str):
        raise UserError(
            f"notebook: must be a notebook path like notebooks/01_dense_mnist.ipynb; got {value!r}"
        )
    path = Path(value) if Path(value).is_absolute() else records.PROJECT_ROOT / value
    if not path.is_file():
        raise UserError(f"notebook: {value} does not exist")
    try:
        exercise = exercises.exercise_of(path).name
        known = set(exercises.parameters_cell(path))
    except ValueError as error:
        raise UserError(f"notebook: {error}") from None
    return path, exercise, known


def _mapping(spec: dict, key: str, allow_empty: bool) -> dict:
    value = spec.get(key)
    if value is None and allow_empty:
        return {}
    if not isinstance(value, dict) or not (value or allow_empty):
        wanted = "a mapping" if allow_empty else "a mapping of at least one parameter to values"
        raise UserError(f"{key}: must be {wanted}; got {value!r}")
    return value


def _check_name(where: str, name: str, known: set[str], notebook: Path) -> None:
    if name in exercises.RUN_CONTROLS:  # the sweep sets them for every run
        raise UserError(f"{where}: set by the sweep for each run; remove it")
    if name == "seed":
        raise UserError(f"{where}: give seeds in the 'seeds' list; remove it")
    if name not in known:
        settable = sorted(known - {"seed", *exercises.RUN_CONTROLS})
        error = exercises.unknown_parameter(name, settable, notebook.name)
        raise UserError(f"{where}: {error}") from None


def _check_value(where: str, name: str, value: object) -> None:
    try:
        check_parameter(name, value)
    except ValueError as error:
        raise UserError(f"{where}: {error}") from None


def _check_unique(where: str, values: list) -> None:
    seen = [json.dumps(v) for v in values]
    for text in seen:
        if seen.count(text) > 1:
            raise UserError(f"{where}: value {text} appears more than once")


# --- the plan ----------------------------------------------------------------------------


def plan(sweep: Sweep) -> list[SweepRun]:
    """Every run of the sweep, in grid order with the seeds innermost."""
    names = list(sweep.grid)
    runs = []
    for values in itertools.product(*sweep.grid.values()):
        swept = dict(zip(names, values, strict=True))
        for seed in sweep.seeds:
            run_id = run_id_of(sweep, swept, seed)
            parameters = (
                sweep.parameters
                | swept
                | {
                    "seed": seed,
                    "run_name": run_id,
                    "results_dir": str(sweep.folder),
                    "force": True,
                }
            )
            runs.append(SweepRun(run_id, swept, seed, parameters))
    return runs


def run_id_of(sweep: Sweep, swept: dict[str, object], seed: int) -> str:
    """A readable, deterministic run id: the swept values and seed, then a hash of the notebook,
    all the sweep's parameters and the seed (so two different runs never share an id)."""
    notebook = sweep.notebook.resolve()
    with contextlib.suppress(ValueError):
        notebook = notebook.relative_to(records.PROJECT_ROOT)
    identity = {
        "notebook": notebook.as_posix(),
        "parameters": sweep.parameters | swept,
        "seed": seed,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    readable = "_".join(f"{name}-{_token(value)}" for name, value in swept.items())
    return f"{readable[:48]}_seed{seed}-{digest}".lstrip("_-")


def _token(value: object) -> str:
    text = str(value).lower().replace(".", "p")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "x"

"""The lab's exercises: which notebook runs which model on which data, and their parameters.

A notebook's tagged ``parameters`` cell holds its canonical (2019) settings; this module reads
them from there (``parameters_cell``, the one parser of that cell), so they are written down
exactly once. ``validate`` checks a run's parameters and the canonical-name rule, for the
notebooks (``imagelab.running.run.start_run``), sweep files and the command line alike.
"""

from __future__ import annotations

import ast
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path

from imagelab import records
from imagelab.errors import UserError
from imagelab.params import check_choice, check_data_limit, check_parameter
from imagelab.precision import FLOAT32, PRECISIONS, canonical_name
from imagelab.results.fingerprint import TRAINING_CODE

NOTEBOOKS = records.PROJECT_ROOT / "notebooks"
# Parameters that say where and whether to run, not what is trained; a sweep sets them itself.
RUN_CONTROLS = ("run_name", "results_dir", "force")
# Parameters the exercise notebooks gained after runs were stored, with the value those runs
# trained with; the store fills them into older provenance, so those runs stay up to date.
PARAMETERS_ADDED = {"precision": "float32"}


@dataclass(frozen=True)
class Exercise:
    """One exercise of the 2019 lab."""

    name: str  # also the canonical run name
    notebook: str
    title: str
    dataset: str
    result_2019: dict[str, float] = field(default_factory=dict)  # test loss/acc 2019 reported
    training_code: tuple[str, ...] = TRAINING_CODE  # what its fingerprint hashes
    figures: tuple[str, ...] = ("history", "confusion", "misclassified")  # a run's figures
    predictions: bool = True  # whether a run stores its test predictions

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOKS / self.notebook


EXERCISES = {
    exercise.name: exercise
    for exercise in [
        Exercise(
            "dense_mnist", "01_dense_mnist.ipynb", "Dense network, no activation (MNIST)", "mnist"
        ),
        Exercise(
            "relu_mnist",
            "02_relu_mnist.ipynb",
            "Dense network, ReLU (MNIST)",
            "mnist",
            {"loss": 0.0779087, "acc": 0.9801},
        ),
        Exercise(
            "cnn_mnist",
            "03_cnn_mnist.ipynb",
            "Convolutional network (MNIST)",
            "mnist",
            {"loss": 0.0459091, "acc": 0.9867},
        ),
        Exercise(
            "cnn_dropout_mnist",
            "04_cnn_dropout_mnist.ipynb",
            "Convolutional network with dropout (MNIST)",
            "mnist",
        ),
        Exercise(
            "cifar10_cnn",
            "05_cifar10.ipynb",
            "Convolutional network (CIFAR-10)",
            "cifar10",
            {"loss": 1.007252, "acc": 0.6429},
        ),
    ]
}


# Exercise three, the TensorFlow Playground's spiral: its own data, network and training
# (imagelab.playground, run by imagelab.running.playground_run), not trained with training.fit.
PLAYGROUND = Exercise(
    "playground_spiral",
    "06_playground_spiral.ipynb",
    "The TensorFlow Playground spiral",
    "playground spiral",
    training_code=("imagelab.playground", "imagelab.training:set_seed"),
    figures=("surface", "loss"),
    predictions=False,
)
REGISTRY = EXERCISES | {PLAYGROUND.name: PLAYGROUND}  # every exercise notebook
# The canonical run names, each to its exercise and precision: the 2019 settings in float32
# (the exercise's own name) or bfloat16 (``<exercise>_bf16``, the five Keras exercises).
CANONICAL_NAMES = {canonical_name(name, p): (name, p) for name in EXERCISES for p in PRECISIONS}
CANONICAL_NAMES[PLAYGROUND.name] = (PLAYGROUND.name, FLOAT32)


def get_exercise(name: str) -> Exercise:
    """The exercise called ``name``, or a UserError listing the known ones."""
    try:
        check_choice("exercise", name, tuple(REGISTRY))
    except ValueError as error:
        raise UserError(str(error)) from None
    return REGISTRY[name]


# --- parameters ------------------------------------------------------------------------


def exercise_of(notebook: str | Path) -> Exercise:
    """The exercise a notebook runs (by its file name), or a UserError listing the known ones."""
    name = Path(notebook).name
    for exercise in EXERCISES.values():
        if exercise.notebook == name:
            return exercise
    known = ", ".join(f"notebooks/{e.notebook}" for e in EXERCISES.values())
    raise UserError(f"{notebook} is not an exercise notebook; the exercises are {known}")


def parameters_cell(notebook: str | Path) -> dict[str, object]:
    """The values a notebook's tagged ``parameters`` cell assigns, in order.

    The one reader of that cell. Plain (``epochs = 12``) and annotated (``epochs: int = 12``)
    assignments count, imports (of the annotations' types) are skipped; every value must be a
    literal (what papermill can inject). Read with
    json and ast, not papermill, so checking a sweep file stays instant.
    """
    path = Path(notebook)
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path} is not a readable notebook ({error})") from None
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise UserError(f"{path} has {len(tagged)} cells tagged 'parameters'; it needs one")
    source = tagged[0]["source"]
    values = {}
    for node in ast.parse("".join(source) if isinstance(source, list) else source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):  # `from typing import Optional`
            continue
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            raise UserError(
                f"{path}: its parameters cell may hold only `name = value` lines and imports"
            )
        if not isinstance(target, ast.Name):
            raise UserError(f"{path}: its parameters cell assigns to {ast.unparse(target)}")
        try:
            values[target.id] = ast.literal_eval(value)
        except ValueError:
            raise UserError(
                f"{path}: parameter {target.id} = {ast.unparse(value)} is not a literal value"
            ) from None
    return values


def notebook_defaults(exercise: str) -> dict[str, object]:
    """The canonical settings: the values of the exercise notebook's ``parameters`` cell."""
    return parameters_cell(get_exercise(exercise).notebook_path)


def settings_of(params: dict[str, object]) -> dict[str, object]:
    """The parameters that decide what is trained (everything but the run controls)."""
    return {k: v for k, v in params.items() if k not in RUN_CONTROLS}


def normal(value: object) -> object:
    """``value`` as JSON would store it, so stored and given parameters compare equal."""
    return json.loads(json.dumps(value, sort_keys=True))


def unknown_parameter(name: str, known: list[str], notebook: str) -> UserError:
    """The error for a parameter a notebook does not have, with a did-you-mean."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return UserError(
        f"{notebook} has no parameter {name!r}{hint}; its parameters are {', '.join(known)}"
    )


def validate(exercise: str, params: dict[str, object]) -> dict[str, object]:
    """Check every parameter and the canonical-name rule; return the parameters unchanged.

    Raises UserError naming the parameter, the value received and what is allowed.
    """
    defaults = notebook_defaults(exercise)
    notebook = get_exercise(exercise).notebook
    for name in params:
        if name not in defaults:
            raise unknown_parameter(name, list(defaults), notebook)
    missing = sorted(set(defaults) - set(params))
    if missing:
        raise UserError(f"{exercise} needs the parameters {', '.join(missing)}")
    for name, value in params.items():
        try:
            check_parameter(name, value)
        except UserError:
            raise
        except ValueError as error:
            raise UserError(str(error)) from None
    check_data_limit(params)
    check_canonical_name(exercise, params, defaults)
    return params


def check_canonical_name(
    exercise: str, params: dict[str, object], defaults: dict[str, object]
) -> None:
    """Refuse a run that takes another exercise's name, or its own exercise's canonical name
    (``<exercise>`` in float32, ``<exercise>_bf16`` in bfloat16) with settings other than the
    canonical ``defaults`` in that precision, with a name to use instead."""
    run_name = params["run_name"]
    owner, precision = CANONICAL_NAMES.get(run_name, (exercise, None))
    if owner != exercise:
        raise UserError(
            f"run_name {run_name!r} is reserved for the {owner} exercise; choose another name"
        )
    if precision is None:
        return
    canonical = defaults | ({"precision": precision} if "precision" in defaults else {})
    changed = {k: v for k, v in settings_of(params).items() if normal(v) != normal(canonical[k])}
    if changed:
        listed = ", ".join(f"{k}={v!r} (canonical {canonical[k]!r})" for k, v in changed.items())
        if set(changed) == {"precision"}:
            suggestion = canonical_name(exercise, changed["precision"])
        else:
            suggestion = _slug(exercise + "_" + "_".join(f"{k}{v}" for k, v in changed.items()))
        raise UserError(
            f"run_name {run_name!r} is reserved for the canonical 2019 settings in {precision}, "
            f"and this run changes {listed}. Give it a new name so the committed results stay as "
            f"they are, for example run_name={suggestion!r}"
        )


def _slug(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "-" for c in text.lower())
    return cleaned.strip("-_")[:64] or "run"

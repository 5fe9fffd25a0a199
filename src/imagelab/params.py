"""Validation of run parameters, at the boundary: notebooks, sweep files and the CLI.

Kept free of TensorFlow so that checking a sweep file or a notebook's parameters is instant.
Every check raises :class:`~imagelab.errors.UserError` (a ``ValueError``): the value came from
the user, so the message names the parameter, the value received and what is allowed, and
prints as one paragraph instead of a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

from imagelab.errors import UserError
from imagelab.precision import PRECISIONS

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "elu", "selu", "softplus")
OPTIMIZERS = ("rmsprop", "adadelta", "sgd", "adam")
RUN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    """Raise a UserError naming the parameter, the value and the allowed ones."""
    if value not in allowed:
        raise UserError(
            f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}"
            + _did_you_mean(value, allowed)
        )


def check_run_name(run_name: object) -> str:
    """A run name is a plain slug, so it can never point outside the results folders."""
    if not isinstance(run_name, str) or not RUN_NAME.match(run_name):
        raise UserError(
            "run_name must be a plain slug of lowercase letters, digits, '_' and '-' "
            f"(at most 64 characters, no path separators); got {run_name!r}{_slug_hint(run_name)}"
        )
    return run_name


def _slug_hint(run_name: object) -> str:
    """``, for example 'my-run'`` when a plain slug close to the name exists."""
    if not isinstance(run_name, str):
        return ""
    slug = re.sub(r"[^a-z0-9_-]+", "-", run_name.lower()).strip("-_")[:64]
    return f", for example {slug!r}" if RUN_NAME.match(slug) else ""


# NumPy's and TensorFlow's seeds are 32-bit: a larger one fails only once training starts.
SEED_MAX = 2**32 - 1

RULES: dict[str, tuple[tuple[type, ...], object, str]] = {
    # name: (accepted types, check, what is allowed)
    "seed": ((int,), lambda v: 0 <= v <= SEED_MAX, f"an integer in [0, {SEED_MAX}]"),
    "epochs": ((int,), lambda v: v >= 1, "an integer >= 1"),
    "batch_size": ((int,), lambda v: v >= 1, "an integer >= 1"),
    "units": ((int,), lambda v: v >= 1, "an integer >= 1"),
    "filters": ((int,), lambda v: v >= 1, "an integer >= 1"),
    "dense_units": ((int,), lambda v: v >= 1, "an integer >= 1"),
    "data_limit": ((int, type(None)), lambda v: v is None or v >= 1, "None or an integer >= 1"),
    "learning_rate": ((float, int, type(None)), lambda v: v is None or v > 0, "None or > 0"),
    "decay": ((float, int), lambda v: v >= 0, "a number >= 0"),
    "validation_split": ((float, int), lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "dropout": ((float, int), lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "optimizer": ((str,), lambda v: v in OPTIMIZERS, f"one of {OPTIMIZERS}"),
    "activation": ((str,), lambda v: v in ACTIVATIONS, f"one of {ACTIVATIONS}"),
    "precision": ((str,), lambda v: v in PRECISIONS, f"one of {PRECISIONS}"),
    "shuffle": ((bool,), lambda v: True, "True or False"),
    "validate_on_test": ((bool,), lambda v: True, "True or False"),
    "force": ((bool,), lambda v: True, "True or False"),
    "run_name": ((str,), lambda v: True, "a plain slug"),
    "results_dir": ((str, type(None)), lambda v: True, "None or a folder path"),
}


def check_parameter(name: str, value: object) -> None:
    """Raise a UserError naming the parameter, the value received and what is allowed."""
    if name not in RULES:
        raise UserError(
            f"unknown parameter {name!r}{_did_you_mean(name, RULES)}; "
            f"known: {', '.join(sorted(RULES))}"
        )
    types, check, allowed = RULES[name]
    type_ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not type_ok or not check(value):
        raise UserError(f"{name} must be {allowed}; got {value!r} ({type(value).__name__})")
    if name == "run_name":
        check_run_name(value)
    if name == "results_dir" and value is not None:
        check_results_dir(value)


# Folders the operating system owns: a results folder there (or the root itself) would spread
# histories/, scores/, figures/ and .staging/ among the system's own files. The trees holding
# the system's programs, settings and devices are refused with all they hold; the other
# top-level folders only themselves (a folder inside /tmp or /home is the user's).
SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
                  "/sbin", "/sys", "/usr")  # fmt: skip
TOP_FOLDERS = ("/home", "/media", "/mnt", "/opt", "/root", "/run", "/srv", "/tmp", "/var")


def check_results_dir(results_dir: str) -> None:
    """A results folder must be a folder, or one that can be made, and writable: checked
    before training, since the first write comes only after it. Not empty text (None is the
    way to say the project's own folders), not the file system's root and not a system
    folder (``SYSTEM_FOLDERS``, ``TOP_FOLDERS``)."""
    if not results_dir.strip():
        raise UserError(
            f"results_dir must name a folder; got {results_dir!r}, empty text. Pass None (or "
            "leave it out) for the project's own folders, or name a folder"
        )
    path = Path(results_dir).expanduser()
    resolved = path.resolve()
    problem = _system_folder(resolved)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if problem:
        pass
    elif path.exists() and not path.is_dir():
        problem = "it names a file, not a folder"
    elif not existing.is_dir():
        problem = f"{existing} is a file, so no folder can be made inside it"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"{existing} is not writable by this user"
    if problem:
        raise UserError(
            f"results_dir must be a folder this user can write in (or create); got "
            f"{results_dir!r}: {problem}. Name another folder, or None for the project's own"
        )


def _system_folder(resolved: Path) -> str | None:
    """Why ``resolved`` (an absolute path, links resolved) is the root or a system folder."""
    if resolved == Path(resolved.anchor):
        return "it is the root of the file system"
    for folder in SYSTEM_FOLDERS:
        if resolved == Path(folder) or resolved.is_relative_to(folder):
            return f"{resolved} is a system folder ({folder} belongs to the operating system)"
    if str(resolved) in TOP_FOLDERS:
        return f"{resolved} is a system folder itself; name a folder inside it"
    return None


def smallest_data_limit(validation_split: float, validate_on_test: bool = False) -> int:
    """The fewest images a run can train on: one training image and, when it validates on the
    last ``validation_split`` of the training images, one validation image. ``training.fit``
    keeps the first ``int(n * (1 - validation_split))`` for training; ``batch_size`` sets no
    minimum, since Keras trains a last batch smaller than it."""
    if validate_on_test:  # it trains on every training image and validates on the test set
        return 1
    n = 1
    while True:
        kept = int(n * (1 - validation_split))  # training.fit's split, at n images
        if kept >= 1 and (kept < n or validation_split == 0):
            return n
        n += 1


def check_data_limit(params: dict[str, object]) -> None:
    """``data_limit`` leaves at least one training and one validation image (checked after
    each parameter on its own): fewer would fail inside TensorFlow, after the data loaded."""
    limit, split = params.get("data_limit"), params.get("validation_split", 0)
    if limit is None:
        return
    smallest = smallest_data_limit(split, bool(params.get("validate_on_test", False)))
    if limit < smallest:
        raise UserError(
            f"data_limit must be None or at least {smallest} with validation_split {split}, "
            f"which leaves one training image and one validation image; got {limit}"
        )


def _did_you_mean(value: object, allowed: object) -> str:
    """`` (did you mean 'x'?)`` for a misspelt name, else nothing."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

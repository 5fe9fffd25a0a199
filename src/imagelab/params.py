"""Validation of run parameters, at the boundary: notebooks, sweep files and the CLI.

Kept free of TensorFlow so that checking a sweep file or a notebook's parameters is instant.
Every check raises :class:`~imagelab.errors.UserError` (a ``ValueError``): the value came from
the user, so the message names the parameter, the value received and what is allowed, and
prints as one paragraph instead of a traceback.
"""

from __future__ import annotations

import difflib
import re

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


RULES: dict[str, tuple[tuple[type, ...], object, str]] = {
    # name: (accepted types, check, what is allowed)
    "seed": ((int,), lambda v: v >= 0, "an integer >= 0"),
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


def _did_you_mean(value: object, allowed: object) -> str:
    """`` (did you mean 'x'?)`` for a misspelt name, else nothing."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

"""Validation of run parameters, at the boundary: notebooks, sweep files and the CLI.

Kept free of TensorFlow so that checking a sweep file or a notebook's parameters is instant.
"""

from __future__ import annotations

import re

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "elu", "selu", "softplus")
OPTIMIZERS = ("rmsprop", "adadelta", "sgd", "adam")
RUN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    """Raise a ValueError naming the parameter, the value and the allowed ones."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def check_run_name(run_name: object) -> str:
    """A run name is a plain slug, so it can never point outside the results folders."""
    if not isinstance(run_name, str) or not RUN_NAME.match(run_name):
        raise ValueError(
            "run_name must be a plain slug of lowercase letters, digits, '_' and '-' "
            f"(at most 64 characters, no path separators); got {run_name!r}"
        )
    return run_name


def _positive(value: float) -> bool:
    return value > 0


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
    "shuffle": ((bool,), lambda v: True, "True or False"),
    "validate_on_test": ((bool,), lambda v: True, "True or False"),
    "force": ((bool,), lambda v: True, "True or False"),
    "run_name": ((str,), lambda v: True, "a plain slug"),
    "results_dir": ((str, type(None)), lambda v: True, "None or a folder path"),
}


def check_parameter(name: str, value: object) -> None:
    """Raise a ValueError naming the parameter, the value received and what is allowed."""
    if name not in RULES:
        raise ValueError(f"unknown parameter {name!r}; known: {', '.join(sorted(RULES))}")
    types, check, allowed = RULES[name]
    type_ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not type_ok or not check(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r} ({type(value).__name__})")
    if name == "run_name":
        check_run_name(value)

"""The Pythons imagelab supports, read from ``requires-python`` in pyproject.toml, and the ones
this machine has.

    python3 tools/pythons.py choose [PYTHON]   the interpreter that creates .venv (make setup)
    .venv/bin/python tools/pythons.py check-venv .venv   stop when a venv holds the wrong Python
    python3 tools/pythons.py found             every supported CPython here (make matrix)
    python3 tools/pythons.py lowest            the oldest Python admitted, for uv (make lock)

``choose`` without PYTHON takes ``python3`` when the range admits it, else the newest supported
``python3.X`` on PATH (saying so in one line); with PYTHON it takes that one or nothing. When
there is no supported interpreter it prints one sentence (the version found, the range, how to
name another) and exits 1, before anything is created.

This file is run by whatever ``python3`` is, supported or not, so it has to parse on old Pythons
(3.6 on): no walrus, no subscripted annotations, and pyproject.toml is read with a regular
expression (``tomllib`` came in 3.11); tests/test_environment.py checks both.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

PYPROJECT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml"
)
# What a candidate interpreter reports about itself; plain enough for any Python.
DESCRIBE = (
    "import os, platform, sys; sys.stdout.write(' '.join([platform.python_implementation(), "
    "'.'.join(map(str, sys.version_info[:3])), os.path.realpath(sys.executable)]))"
)
OPERATORS = {
    ">=": lambda v, b: v >= b,
    ">": lambda v, b: v > b,
    "<=": lambda v, b: v <= b,
    "<": lambda v, b: v < b,
    "==": lambda v, b: v[: len(b)] == b,
    "!=": lambda v, b: v[: len(b)] != b,
}


def requires_python(pyproject: str = PYPROJECT) -> str:
    """The ``requires-python`` string of pyproject.toml, such as ``>=3.11,<3.14``."""
    with open(pyproject) as file:
        match = re.search(r'^requires-python\s*=\s*"([^"]+)"', file.read(), re.MULTILINE)
    if not match:
        raise SystemExit(f"pythons: no requires-python line in {pyproject}")
    return match.group(1)


def _clauses(spec: str) -> list:
    clauses = []
    for clause in spec.split(","):
        match = re.fullmatch(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*", clause)
        if not match:
            raise SystemExit(
                f"pythons: requires-python clause {clause.strip()!r} is not one of "
                f"{', '.join(OPERATORS)} and a version like 3.11"
            )
        clauses.append((match.group(1), tuple(int(part) for part in match.group(2).split("."))))
    return clauses


def admits(spec: str, version: tuple) -> bool:
    """Whether ``version`` (a tuple such as (3, 11, 2)) satisfies ``spec``."""
    return all(OPERATORS[op](tuple(version), bound) for op, bound in _clauses(spec))


def minors(spec: str) -> list:
    """The 3.X series the range admits (any release of them), newest first: [(3, 13), ...]."""
    return [
        (3, m) for m in range(40, -1, -1) if admits(spec, (3, m, 0)) or admits(spec, (3, m, 99))
    ]


def lowest(spec: str) -> str:
    """The range's lower bound as written (``3.11``), else its oldest 3.X series."""
    bounds = [".".join(map(str, bound)) for op, bound in _clauses(spec) if op == ">="]
    return bounds[0] if bounds else "{}.{}".format(*minors(spec)[-1])


def in_words(spec: str) -> str:
    """The range for a reader: ``CPython 3.11 to 3.13 (requires-python >=3.11,<3.14 in ...)``."""
    series = ["{}.{}".format(*minor) for minor in minors(spec)]
    span = f"{series[-1]} to {series[0]}" if len(series) > 1 else "".join(series)
    return f"CPython {span} (requires-python {spec} in pyproject.toml)"


def describe(python: str) -> tuple:
    """(implementation, version tuple, real path) of an interpreter, or () when it does not run."""
    try:
        out = subprocess.check_output(
            [python, "-c", DESCRIBE], stderr=subprocess.DEVNULL, timeout=30, universal_newlines=True
        )
        implementation, version, path = out.split(" ", 2)
        return implementation, tuple(int(part) for part in version.split(".")), path
    except (OSError, subprocess.SubprocessError, ValueError):
        return ()


def supported(spec: str, described: tuple) -> bool:
    return bool(described) and described[0] == "CPython" and admits(spec, described[1])


def label(described: tuple) -> str:
    """``CPython 3.11.2`` for what ``describe`` returned."""
    return "{} {}".format(described[0], ".".join(map(str, described[1])))


def _what(python: str, described: tuple) -> str:
    if not described:
        return f"{python} does not run (not found, or not a Python)"
    return f"{python} is {label(described)}"


def found(spec: str) -> list:
    """Every supported CPython on this machine, once per version, oldest first: [(version, path)].
    Looks on PATH (python3, python3.X), in /usr/bin and /usr/local/bin, and in pyenv's versions."""
    names = ["python3"] + ["python{}.{}".format(*minor) for minor in minors(spec)]
    candidates = [shutil.which(name) for name in names]
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for pattern in (
        "/usr/bin/python3*",
        "/usr/local/bin/python3*",
        pyenv + "/versions/*/bin/python3",
    ):
        candidates += [p for p in sorted(glob.glob(pattern)) if re.search(r"python3(\.\d+)?$", p)]
    seen = {}
    for candidate in filter(None, candidates):
        described = describe(candidate)
        if supported(spec, described):
            version = ".".join(map(str, described[1]))
            seen.setdefault(version, (described[1], described[2]))
    return [(version, path) for version, (_, path) in sorted(seen.items(), key=lambda i: i[1][0])]


def choose(spec: str, given: str = "") -> str:
    """The interpreter for a new venv (see the module's docstring); exits 1 with one sentence."""
    if given:
        described = describe(given)
        if supported(spec, described):
            return given
        problem = _what(given, described)
    else:
        names = ["python3"] + ["python{}.{}".format(*minor) for minor in minors(spec)]
        first = None
        for name in names:
            described = describe(name) if shutil.which(name) else ()
            first = described if first is None else first
            if supported(spec, described):
                if name != "python3":
                    print(
                        f"setup: {_what('python3', first)}, outside {spec}; using {name} "
                        f"({label(described)})",
                        file=sys.stderr,
                    )
                return name
        problem = _what("python3", first)
    here = found(spec)
    example = here[-1][1] if here else "python{}.{}".format(*minors(spec)[0])
    print(
        f"setup: {problem}, but imagelab needs {in_words(spec)}; name one with "
        f"`make setup PYTHON={example}` (nothing was created).",
        file=sys.stderr,
    )
    raise SystemExit(1)


def check_venv(spec: str, venv: str) -> None:
    """Exit 1 with one sentence when the running interpreter (a venv's) is outside the range."""
    described = describe(sys.executable)
    if not supported(spec, described):
        held = label(described) if described else "no Python that runs"
        print(
            f"setup: {venv} holds {held}, but imagelab "
            f"needs {in_words(spec)}; remove it (rm -rf {venv}) and run make setup again, "
            f"with PYTHON=... to choose the interpreter.",
            file=sys.stderr,
        )
        raise SystemExit(1)


def main(argv: list) -> int:
    spec = requires_python()
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "choose" and len(args) <= 1:
        print(choose(spec, args[0] if args else ""))
    elif command == "check-venv" and len(args) == 1:
        check_venv(spec, args[0])
    elif command == "lowest" and not args:
        print(lowest(spec))
    elif command == "found" and not args:
        for version, path in found(spec):
            print(version, path)
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make matrix`: install requirements.lock, run the fast tests and `imagelab verify` on every
supported CPython on this machine, and say how each went.

For each interpreter ``tools/pythons.py found`` lists (or those named on the command line, by
version or its prefix), in ``build/matrix/<version>/``: a fresh ``venv`` made by ``make setup
VENV=... PYTHON=...`` (the one install recipe; .venv is not touched) and ``pytest -m "not
slow"`` with that venv's Python; then, once every interpreter is tested, ``imagelab verify
dense_mnist relu_mnist --record-to build/matrix/<version>/verify.csv`` with each: the verdicts
go beside the venv, not into reproductions/verify.csv, which the tests and the report's digest
read, so the tree stays as it was and `make test` passes after a matrix; `imagelab verify
--merge build/matrix/*/verify.csv` keeps them (the last lines say so). The tests run with the
project's git filter for notebooks given in their environment (``git_filter``), as `make
setup` would install it, so a matrix before any setup tests what a set-up clone does, and
.git/config is not touched. Each step writes its log beside the venv (setup.log, tests.log,
verify.log). The summary table is written to ``build/matrix/summary.txt`` after every step,
so an interrupted matrix keeps what it measured, and printed at the end.

    python3 tools/matrix.py [VERSION ...] [--no-verify]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pythons

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "matrix"
RUNS = ("dense_mnist", "relu_mnist")
# Variables of the make that started us: the children are separate makes and Pythons.
NOT_INHERITED = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")


@dataclass
class Result:
    """What one interpreter did; None where a step did not run."""

    version: str
    interpreter: str
    install_seconds: float | None = None
    installed: bool = False
    test_seconds: float | None = None
    tests: dict[str, int] = field(default_factory=dict)  # passed, failed, skipped, error
    failures: list[str] = field(default_factory=list)  # the failed tests' ids
    verdicts: dict[str, str] = field(default_factory=dict)  # run -> "identical (23 s)"

    @property
    def ok(self) -> bool:
        bad = self.tests.get("failed", 0) + self.tests.get("error", 0)
        return (
            self.installed and bool(self.tests) and not bad and "outside" not in str(self.verdicts)
        )


def _environment(venv: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    if venv is not None:  # as `source venv/bin/activate` would
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
        env |= git_filter(venv / "bin" / "python", env)
    return env


def git_filter(python: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The nbstripout git filter as `make setup` installs it (the Makefile's NB_KEEP_METADATA
    and NB_STRIP_METADATA), running ``python``, as git configuration in the environment
    (``GIT_CONFIG_COUNT``, git 2.31+): it applies to the commands run with it, over any
    .git/config, and is written nowhere."""
    makefile = (ROOT / "Makefile").read_text()
    values = dict(re.findall(r"^(NB_KEEP_METADATA|NB_STRIP_METADATA) := (.+)$", makefile, re.M))
    command = f'"{python}" -m nbstripout'
    settings = {
        "filter.nbstripout.clean": command,
        "filter.nbstripout.smudge": "cat",
        "filter.nbstripout.required": "true",
        "diff.ipynb.textconv": f"{command} -t",
        "filter.nbstripout.keepmetadatakeys": values["NB_KEEP_METADATA"].strip(),
        "filter.nbstripout.extrakeys": values["NB_STRIP_METADATA"].strip(),
    }
    start = int((env or {}).get("GIT_CONFIG_COUNT", "0"))  # after any the caller gave
    found = {"GIT_CONFIG_COUNT": str(start + len(settings))}
    for number, (key, value) in enumerate(settings.items(), start=start):
        found |= {f"GIT_CONFIG_KEY_{number}": key, f"GIT_CONFIG_VALUE_{number}": value}
    return found


def _run(command: list[str], log: Path, env: dict[str, str]) -> tuple[int, float]:
    """Run ``command`` in the project folder, output to ``log``; (exit status, seconds)."""
    started = time.perf_counter()
    with log.open("w") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        status = subprocess.run(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    return status, time.perf_counter() - started


def pytest_counts(output: str) -> dict[str, int]:
    """The counts of pytest's last summary line ("2 failed, 306 passed, 1 skipped in 50.1s")."""
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    if not lines:
        return {}
    counts = re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", lines[-1])
    return {word.rstrip("s") if word.startswith("error") else word: int(n) for n, word in counts}


def pytest_failures(output: str) -> list[str]:
    """The ids of the failed tests, from pytest's short summary (``-ra``)."""
    return [line.split()[1] for line in output.splitlines() if re.match(r"(FAILED|ERROR) ", line)]


def verify_verdicts(output: str) -> dict[str, str]:
    """Each run's verdict, from imagelab verify's ``== verify NAME: VERDICT (Ns)`` lines."""
    found = re.findall(r"^== verify (\S+): (.+) \((\d+)s\)$", output, re.MULTILINE)
    return {run: f"{verdict} ({seconds} s)" for run, verdict, seconds in found}


def install_and_test(version: str, interpreter: str) -> Result:
    """A fresh venv of ``interpreter`` in build/matrix/<version>/venv, and the fast tests."""
    folder = OUT / version
    venv = folder / "venv"
    folder.mkdir(parents=True, exist_ok=True)
    result = Result(version, interpreter)
    print(f"== matrix {version}: make setup VENV={venv.relative_to(ROOT)} ({interpreter})")
    shutil.rmtree(venv, ignore_errors=True)  # a fresh install, timed
    setup = ["make", "--no-print-directory", "setup", f"VENV={venv.relative_to(ROOT)}"]
    status, result.install_seconds = _run(
        [*setup, f"PYTHON={interpreter}"], folder / "setup.log", _environment()
    )
    result.installed = status == 0
    if not result.installed:
        print(f"== matrix {version}: install failed, see {folder / 'setup.log'}")
        return result
    print(f"== matrix {version}: installed in {result.install_seconds:.0f} s; fast tests")
    python = str(venv / "bin" / "python")
    pytest = [python, "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider"]
    _, result.test_seconds = _run(pytest, folder / "tests.log", _environment(venv))
    output = (folder / "tests.log").read_text()
    result.tests, result.failures = pytest_counts(output), pytest_failures(output)
    print(f"== matrix {version}: tests {_counts(result)} in {result.test_seconds:.0f} s")
    return result


def verify(result: Result) -> None:
    """Retrain RUNS with the venv of ``result``, recording the verdicts beside it."""
    folder = OUT / result.version
    venv, record = folder / "venv", (folder / "verify.csv").relative_to(ROOT)
    (ROOT / record).unlink(missing_ok=True)  # this matrix's verdicts only
    print(f"== matrix {result.version}: imagelab verify {' '.join(RUNS)} --record-to {record}")
    command = [str(venv / "bin" / "imagelab"), "verify", *RUNS, "--record-to", str(record)]
    _run(command, folder / "verify.log", _environment(venv))
    result.verdicts = verify_verdicts((folder / "verify.log").read_text())
    verdicts = ", ".join(f"{run} {verdict}" for run, verdict in result.verdicts.items())
    print(f"== matrix {result.version}: {verdicts or 'verify failed, see verify.log'}")


def _counts(result: Result) -> str:
    return ", ".join(f"{n} {word}" for word, n in result.tests.items()) or "did not finish"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} s"


def _row(r: Result, runs: tuple[str, ...]) -> list[str]:
    install = _seconds(r.install_seconds) if r.installed else "failed (setup.log)"
    failed = r.tests.get("failed", 0) + r.tests.get("error", 0)
    counts = [str(r.tests.get("passed", 0)), str(failed)] if r.tests else ["-", "-"]
    verdicts = [r.verdicts.get(run, "-") for run in runs]
    return [r.version, r.interpreter, install, _seconds(r.test_seconds), *counts, *verdicts]


def summary(results: list[Result], started: str, verified: bool) -> str:
    """The table (one row per interpreter) with when, where and which commit it was run."""
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    runs = RUNS if verified else ()
    header = ["python", "interpreter", "install", "tests", "passed", "failed", *runs]
    rows = [header, *(_row(r, runs) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        f"make matrix at {commit}, started {started}, {os.cpu_count()} cores, load {load} now",
        "",
        *(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ),
    ]
    for r in results:
        lines += [f"{r.version}: FAILED {test}" for test in r.failures]
    lines.append(f"logs: {OUT.relative_to(ROOT)}/<python>/{{setup,tests,verify}}.log")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="*", help="only these (3.12 or 3.12.1; default: all)")
    parser.add_argument("--no-verify", action="store_true", help="skip imagelab verify")
    args = parser.parse_args(argv)
    here = pythons.found(pythons.requires_python())
    chosen = [
        (version, path)
        for version, path in here
        if not args.versions
        or any(version == v or version.startswith(v + ".") for v in args.versions)
    ]
    if not chosen:
        listing = ", ".join(version for version, _ in here) or "none"
        print(f"matrix: no supported Python matches {args.versions}; found: {listing}")
        return 2
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f"== matrix: {', '.join(f'{v} ({p})' for v, p in chosen)}")
    results: list[Result] = []

    def save() -> str:
        text = summary(results, started, verified=not args.no_verify)
        (OUT / "summary.txt").write_text(text)
        return text

    for version, path in chosen:
        results.append(install_and_test(version, path))
        save()
    for result in results if not args.no_verify else []:
        if result.installed:
            verify(result)
            save()
    print(save(), end="")
    print(f"== matrix: written to {(OUT / 'summary.txt').relative_to(ROOT)}")
    recorded = [OUT.relative_to(ROOT) / r.version / "verify.csv" for r in results]
    recorded = [path for path in recorded if (ROOT / path).is_file()]
    if recorded and not args.no_verify:
        print(
            f"== matrix: verdicts recorded in {', '.join(map(str, recorded))}, outside what the "
            "tests and the report read; to keep them: .venv/bin/imagelab verify --merge "
            f"{' '.join(map(str, recorded))}, then make report, and commit both"
        )
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The machinery of the bad-input study (``studies/bad_inputs.py``): a temporary copy of the
project and data folder per case, the ``Case`` record, running a case's command and comparing
the folders before and after, and the markdown table.

The cases themselves live in the study's case modules, one per theme, each a ``CASES`` list:
``bad_inputs.py`` (data, arguments, sweep files, damaged run files), ``bad_side_tables.py`` (the
report's other inputs: seeds, benchmark, verify records, sweep summaries, studies, figures) and
``bad_runs.py`` (what a run is given: parameters, provenance, data that is not canonical) and
``bad_sets.py`` (a run's files as one set, provenance facts, the publish killed or out of disk).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ("histories", "scores", "figures", "runs")  # runs/: any non-canonical run_name
# What a command can read or write in the project: the copy each case runs in.
PROJECT = ("src", "notebooks", "histories", "scores", "figures", "sweeps", "benchmarks", "studies")
PROJECT_FILES = ("pyproject.toml", "requirements.lock")
SKIP = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints", "notebooks")
TIMEOUT = 600  # seconds; a case that trains or renders instead of refusing ends here at worst


@dataclass(frozen=True)
class Layout:
    """A temporary project and data folder for one case, and a scratch folder beside them."""

    project: Path  # code, notebooks and committed results, copied
    data: Path  # the data folder IMAGELAB_DATA names, copied
    work: Path  # files a case offers (IDX files, archives, sweep files), outside both


def make_layout(base: Path, data_source: Path, data: Path | None = None) -> Layout:
    """Copy the project into ``base/project`` and the data folder into ``base/data`` (unless an
    already copied ``data`` folder is given, to share one large copy between cases)."""
    project, work = base / "project", base / "work"
    for name in PROJECT:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
            if name == "sweeps":
                ignore = SKIP  # executed sweep notebooks are build products
            shutil.copytree(ROOT / name, project / name, ignore=ignore, symlinks=True)
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, project / name)
    if data is None:
        data = base / "data"
        shutil.copytree(data_source, data, ignore=shutil.ignore_patterns("*.py", "*.md"))
    work.mkdir(parents=True)
    return Layout(project, data, work)


# --- what cases plant, shared by the case modules ------------------------------------------------------------------


def arrays_in(folder: Path, name: str = "mnist") -> dict[str, np.ndarray]:
    with np.load(folder / f"{name}.npz") as npz:
        return {key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test")}


def data_copy(layout: Layout, name: str, change: Callable[[dict], dict] | None = None) -> dict:
    """A data folder beside the real one holding a changed copy of its mnist.npz."""
    folder = layout.work / name
    folder.mkdir()
    for extra in ("checksums.json",):
        if (layout.data / extra).is_file():
            shutil.copy(layout.data / extra, folder)
    if change is not None:
        np.savez(folder / "mnist.npz", **change(arrays_in(layout.data)))
    return {"IMAGELAB_DATA": str(folder)}


def sweep_file(layout: Layout, spec: dict) -> None:
    spec = {"notebook": "notebooks/01_dense_mnist.ipynb", "seeds": [1]} | spec
    (layout.work / "bad.yaml").write_text(json.dumps(spec))  # JSON is YAML


def cut(path: Path, size: int | None = None) -> None:
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2 if size is None else size])


# --- a case ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: how to plant it, the command a user types, and the refusal expected."""

    name: str
    issue: str  # where it was asked for: "17.1" ... "17.7", or "" for the cases added here
    command: str  # as typed, with $PROJECT, $DATA and $WORK; run in $PROJECT
    expect: str  # a regular expression one line of the output must match: the paragraph
    status: int = 2  # the exit status (imagelab: 2 for a user error; papermill: 1)
    setup: Callable[[Layout], dict | None] | None = None  # plants it; may return env changes
    kernel: bool = False  # starts a Jupyter kernel (papermill): the slow tier
    needs: str = ""  # "store": the stored-run layer (issue 16); "canonical": the full data
    interrupt_after: float | None = None  # send SIGINT (Ctrl-C) after this many seconds
    absent: tuple[str, ...] = ()  # paths that must not exist afterwards
    env: dict = field(default_factory=dict)


# --- running a case ----------------------------------------------------------------------


def tree_sha256(*folders: Path) -> str:
    """sha256 over the relative paths and bytes of every file under the folders."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


@dataclass
class Outcome:
    """What one case did."""

    status: int
    output: str  # stdout and stderr
    message: str  # the line that matched, else the last line of the output
    seconds: float
    error_lines: int  # lines the error took (imagelab's stderr; the notebook's error in papermill)
    before: dict[str, str]
    after: dict[str, str]
    absent: dict[str, bool]  # path -> it does not exist afterwards

    @property
    def unchanged(self) -> bool:
        return self.before == self.after and all(self.absent.values())


def _fill(text: str, layout: Layout) -> str:
    for key, folder in (("$PROJECT", layout.project), ("$DATA", layout.data)):
        text = text.replace(key, str(folder))
    return text.replace("$WORK", str(layout.work))


def _argv(command: str, layout: Layout) -> list[str]:
    import shlex

    words = [_fill(word, layout) for word in shlex.split(command)]
    bin_dir = Path(sys.executable).parent
    if words[0] == "imagelab":
        return [sys.executable, "-m", "imagelab", *words[1:]]
    return [str(bin_dir / words[0]), *words[1:]]


def _error_lines(output: str, stderr: str, kernel: bool) -> int:
    """Lines of the error: after papermill's 'Exception encountered' banner, or imagelab's stderr."""
    if kernel:
        tail = output.split("Exception encountered at", 1)[-1].splitlines()[1:]
        return sum(1 for line in tail if line.strip() and not set(line.strip()) <= {"-"})
    return sum(1 for line in stderr.splitlines() if line.strip())


def _in_process(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run ``imagelab ARGS`` by calling its main() here: what the tests do for speed (one
    import of the package instead of one per case); the exit status and output are the same."""
    import contextlib

    from imagelab import cli, data

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stdout, stderr = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    data.load_raw.cache_clear()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = cli.main(argv[3:])  # after: python -m imagelab
            except SystemExit as stop:  # argparse's usage errors
                status = stop.code
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        data.load_raw.cache_clear()
        for number, handler in saved_signals.items():
            signal.signal(number, handler)
    return status, stdout.getvalue(), stderr.getvalue()


def in_process_possible(case: Case) -> bool:
    """Whether a case can run in this process: an imagelab command that writes no results of
    the project (those need the project copy's own code) and needs no signal."""
    return (
        case.command.startswith("imagelab ")
        and case.interrupt_after is None
        and case.needs != "store"
    )


def run_case(case: Case, layout: Layout, in_process: bool = False) -> Outcome:
    """Plant the case's bad input in ``layout``, run its command, and compare the folders.

    ``in_process`` runs an imagelab command by calling its main() in this process (see
    ``in_process_possible``), as the tests do; otherwise it runs as its own process.
    """
    env = os.environ | {
        "PYTHONPATH": str(layout.project / "src"),
        "IMAGELAB_DATA": str(layout.data),
    }
    env |= {key: _fill(value, layout) for key, value in case.env.items()}
    planted = case.setup(layout) if case.setup else None
    env |= planted if isinstance(planted, dict) else {}
    env.pop("IMAGELAB_THREADS", None)
    data_folders = sorted({layout.data, Path(env["IMAGELAB_DATA"])})
    results = [layout.project / name for name in RESULTS]

    def digests() -> dict[str, str]:
        return {"data": tree_sha256(*data_folders), "results": tree_sha256(*results)}

    before = digests()
    started = time.perf_counter()
    if in_process and in_process_possible(case):
        status, stdout, stderr = _in_process(_argv(case.command, layout), env, layout.project)
        return _outcome(case, layout, status, stdout, stderr, started, before, digests)
    process = subprocess.Popen(
        _argv(case.command, layout),
        cwd=layout.project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so a stray kernel cannot outlive it
    )
    try:
        if case.interrupt_after is not None:
            time.sleep(case.interrupt_after)
            process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    return _outcome(case, layout, process.returncode, stdout, stderr, started, before, digests)


def _outcome(
    case: Case,
    layout: Layout,
    status: int,
    stdout: str,
    stderr: str,
    started: float,
    before: dict[str, str],
    digests: Callable[[], dict[str, str]],
) -> Outcome:
    seconds = time.perf_counter() - started
    output = stdout + stderr
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    matched = [line for line in lines if re.search(case.expect, line)]
    message = matched[0] if matched else (lines[-1] if lines else "")
    absent = {path: not Path(_fill(path, layout)).exists() for path in case.absent}
    return Outcome(
        status,
        output,
        message,
        seconds,
        _error_lines(output, stderr, case.kernel),
        before,
        digests(),
        absent,
    )


def canonical_data(folder: Path) -> bool:
    """Whether the data folder holds the verified MNIST (cases marked 'canonical' need it)."""
    sys.path.insert(0, str(ROOT / "src"))
    from imagelab import data

    try:
        arrays = arrays_in(folder)
    except OSError:
        return False
    table = data.KNOWN_CHECKSUMS["mnist"]
    return all(data.array_sha256(arrays[key]) == table[key] for key in data.ARRAYS)


def skip_reason(case: Case, data_folder: Path) -> str | None:
    """Why a case cannot run here, or None."""
    if case.needs == "canonical" and not canonical_data(data_folder):
        return "needs the full verified MNIST in the data folder"
    return None


# --- the table ---------------------------------------------------------------------------


def _short(text: str, width: int = 110) -> str:
    text = text.replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def _shown(case: Case) -> str:
    env = "".join(f"{key}={value} " for key, value in case.env.items())
    stop = f" + Ctrl-C after {case.interrupt_after:g} s" if case.interrupt_after else ""
    return f"`{env}{case.command}`{stop}"


def table(rows: list[tuple[Case, Outcome | str]]) -> str:
    """The markdown table: one row per case."""
    lines = [
        "| # | case (issue) | command | exit | message (first line) | s | lines | data before = after | results before = after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for number, (case, outcome) in enumerate(rows, start=1):
        name = case.name + (f" ({case.issue})" if case.issue else "")
        if isinstance(outcome, str):
            lines.append(f"| {number} | {name} | {_shown(case)} | skipped | {outcome} | | | | |")
            continue
        ok = outcome.status == case.status and re.search(case.expect, outcome.message)
        proof = {
            key: f"{outcome.before[key][:8]} {'=' if outcome.before[key] == outcome.after[key] else '≠'} {outcome.after[key][:8]}"
            for key in ("data", "results")
        }
        mark = "" if ok and outcome.unchanged else " **unexpected**"
        lines.append(
            f"| {number} | {name} | {_shown(case)} | {outcome.status}{mark} | {_short(outcome.message)} "
            f"| {outcome.seconds:.1f} | {outcome.error_lines} | {proof['data']} | {proof['results']} |"
        )
    return "\n".join(lines)

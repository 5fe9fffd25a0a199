"""Bad input, refused: is every mistake a user can make stopped before any work, in one
paragraph that names the problem and the fix, with nothing overwritten? (issue 17)

Each case plants one bad input (a damaged file, a misspelt parameter, a wrong argument) in a
temporary copy of the project (code, notebooks, committed results) and of the data folder, runs
the command a user would type there, and records the exit status, the first line of the message,
the seconds until the command ended, how many lines the error took, and the sha256 of the data
folder and of histories/ scores/ figures/ before and after. Prints a markdown table.

    IMAGELAB_DATA=../shared/datasets .venv/bin/python studies/bad_inputs.py [--only NAME ...]

``tests/test_bad_inputs.py`` runs the same CASES on the small fixture data (the cases that start
a Jupyter kernel are in the slow tier).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ("histories", "scores", "figures")
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


# --- what a case plants ------------------------------------------------------------------


def _arrays(folder: Path, name: str = "mnist") -> dict[str, np.ndarray]:
    with np.load(folder / f"{name}.npz") as npz:
        return {key: npz[key] for key in ("x_train", "y_train", "x_test", "y_test")}


def _idx_files(folder: Path, arrays: dict[str, np.ndarray], limit: int | None = None) -> Path:
    """The four MNIST IDX files of these arrays (the first ``limit`` images of each split)."""
    files = {
        "x_train": ("train-images-idx3-ubyte", 2051),
        "y_train": ("train-labels-idx1-ubyte", 2049),
        "x_test": ("t10k-images-idx3-ubyte", 2051),
        "y_test": ("t10k-labels-idx1-ubyte", 2049),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, (stem, magic) in files.items():
        array = arrays[key][:limit].reshape(len(arrays[key][:limit]), *arrays[key].shape[1:])
        if key.startswith("y"):
            array = array.reshape(-1)
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
        (folder / stem).write_bytes(header + array.astype(np.uint8).tobytes())
    return folder


def _tarball(path: Path, batch: Callable[[int], object], truncate: bool = False) -> Path:
    """A cifar-10-python.tar.gz whose six batches are ``batch(i)``, pickled."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for i, member in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
            blob = pickle.dumps(batch(i))
            info = tarfile.TarInfo(f"cifar-10-batches-py/{member}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    blob = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob[: len(blob) // 2] if truncate else blob)
    return path


class _Hostile:
    """Pickles to a call of os.system: what a malicious archive would carry."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return (os.system, (self.command,))


def _data_copy(layout: Layout, name: str, change: Callable[[dict], dict] | None = None) -> dict:
    """A data folder beside the real one holding a changed copy of its mnist.npz."""
    folder = layout.work / name
    folder.mkdir()
    for extra in ("checksums.json",):
        if (layout.data / extra).is_file():
            shutil.copy(layout.data / extra, folder)
    if change is not None:
        np.savez(folder / "mnist.npz", **change(_arrays(layout.data)))
    return {"IMAGELAB_DATA": str(folder)}


def _sweep_file(layout: Layout, spec: dict) -> None:
    spec = {"notebook": "notebooks/01_dense_mnist.ipynb", "seeds": [1]} | spec
    (layout.work / "bad.yaml").write_text(json.dumps(spec))  # JSON is YAML


def _cut(path: Path, size: int | None = None) -> None:
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2 if size is None else size])


def _flip_pixel(arrays: dict) -> dict:
    arrays = {key: value.copy() for key, value in arrays.items()}
    arrays["x_test"][3, 10, 10] ^= 0xFF
    return arrays


def _corrupt_npz(layout: Layout) -> dict:
    env = _data_copy(layout, "corrupt")
    (layout.work / "corrupt" / "mnist.npz").write_bytes(b"not an npz archive at all\n" * 40)
    return env


def _truncated_npz(layout: Layout) -> dict:
    env = _data_copy(layout, "truncated")
    shutil.copy(layout.data / "mnist.npz", layout.work / "truncated")
    _cut(layout.work / "truncated" / "mnist.npz")
    return env


def _damaged_manifest(layout: Layout) -> dict:
    # Imported data that is not the verified copy (one pixel changed), so only its manifest can
    # vouch for it (the verified copy needs none); the manifest is cut short.
    env = _data_copy(layout, "manifest", _flip_pixel)
    (layout.work / "manifest" / "checksums.json").write_text('{"mnist": {"x_tr')
    return env


def _truncated_idx(layout: Layout) -> None:
    folder = _idx_files(layout.work / "idx", _arrays(layout.data), limit=100)
    _cut(folder / "train-images-idx3-ubyte")


def _random_batch(i: int) -> dict:
    rng = np.random.default_rng(i)
    return {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [1, 2, 3, 4]}


# --- the cases ---------------------------------------------------------------------------


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


CIFAR = "cifar-10-python.tar.gz"
# The fix named: `git checkout -- FILE` in a clone, retraining in a copy outside git (as here).
DAMAGED_HISTORY = (
    r"relu_mnist: results damaged \(histories/relu_mnist\.csv .*(git checkout|imagelab lab)"
)
PM = "papermill notebooks/01_dense_mnist.ipynb $WORK/out.ipynb"
SAFE = "-p run_name try1 -p data_limit 64"  # should a refusal fail, the run is tiny

CASES = [
    # --- the seven of issue 17 -------------------------------------------------------------
    Case(
        "import-over-verified-data",
        "17.1",
        "imagelab data import $WORK/idx",
        r"already holds mnist\.npz.*--force",
        setup=lambda lay: _idx_files(lay.work / "idx", _arrays(lay.data), limit=1000),
    ),
    Case(
        "history-cut-mid-file",
        "17.2",
        "imagelab report",
        DAMAGED_HISTORY,
        setup=lambda lay: _cut(lay.project / "histories" / "relu_mnist.csv"),
        needs="store",
    ),
    Case(
        "history-cut-to-15-bytes",
        "17.2",
        "imagelab report",
        DAMAGED_HISTORY,
        setup=lambda lay: _cut(lay.project / "histories" / "relu_mnist.csv", 15),
        needs="store",
    ),
    Case(
        "misspelt-papermill-parameter",
        "17.3",
        f"{PM} {SAFE} -p epoch 2",
        r"epoch.*did you mean 'epochs'",
        status=1,
        kernel=True,
        needs="store",
    ),
    Case(
        "missing-result",
        "17.4",
        "imagelab report",
        r"cnn_mnist.*missing.*make lab",
        setup=lambda lay: (lay.project / "scores" / "cnn_mnist.csv").unlink(),
        needs="store",
    ),
    Case(
        "genuine-mnist-imported-offline",
        "17.5",
        "imagelab data import $WORK/idx --out $WORK/imported",
        r"mnist: imported from MNIST IDX files; identical to the verified copy",
        status=0,
        setup=lambda lay: _idx_files(lay.work / "idx", _arrays(lay.data)),
        needs="canonical",
    ),
    Case(
        "negative-epochs-under-papermill",
        "17.6",
        f"{PM} -p epochs -1",
        r"^UserError: epochs must be an integer >= 1; got -1",
        status=1,
        kernel=True,
    ),
    Case(
        "ctrl-c",
        "17.7",
        "imagelab sweep $WORK/bad.yaml --executor dask --scheduler tcp://127.0.0.1:9",
        r"^imagelab: stopped by Ctrl-C \(SIGINT\); finished runs are kept",
        status=130,
        setup=lambda lay: _sweep_file(lay, {"grid": {"units": [16]}}),
        interrupt_after=2.0,
    ),
    # --- parameters and run names ----------------------------------------------------------
    Case(
        "unknown-exercise",
        "",
        "imagelab lab dense_mnsit",
        r"exercise must be one of .*; got 'dense_mnsit' \(did you mean 'dense_mnist'\?\)",
    ),
    Case(
        "unknown-optimizer",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"parameters\.optimizer: optimizer must be one of .*; got 'adagrad'",
        setup=lambda lay: _sweep_file(
            lay, {"parameters": {"optimizer": "adagrad"}, "grid": {"units": [16]}}
        ),
    ),
    Case(
        "fractional-epochs",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"parameters\.epochs: epochs must be an integer >= 1; got 2\.5",
        setup=lambda lay: _sweep_file(
            lay, {"parameters": {"epochs": 2.5}, "grid": {"units": [16]}}
        ),
    ),
    Case(
        "seed-as-text-under-papermill",
        "",
        f"{PM} {SAFE} -p seed '\"x\"'",
        r"^UserError: seed must be an integer >= 0; got",
        status=1,
        kernel=True,
    ),
    Case(
        "run-name-with-a-path",
        "",
        f"{PM} -p run_name ../x",
        r"^UserError: run_name must be a plain slug .*got '\.\./x'",
        status=1,
        kernel=True,
        absent=("$PROJECT/x.csv", "$PROJECT/histories/../x.csv"),
    ),
    Case(
        "run-name-with-capitals",
        "",
        f"{PM} -p run_name Relu",
        r"^UserError: run_name must be a plain slug .*got 'Relu', for example 'relu'",
        status=1,
        kernel=True,
    ),
    Case(
        "canonical-name-with-changed-settings",
        "",
        "papermill notebooks/02_relu_mnist.ipynb $WORK/out.ipynb -p epochs 2",
        r"^UserError: run_name 'relu_mnist' is reserved .*run_name='relu_mnist_epochs2'",
        status=1,
        kernel=True,
        needs="store",
    ),
    # --- data ------------------------------------------------------------------------------
    Case(
        "missing-data-file",
        "",
        "imagelab data info",
        r"mnist data at .*mnist\.npz: file not found",
        status=1,
        setup=lambda lay: _data_copy(lay, "empty"),
    ),
    Case(
        "missing-data-folder",
        "",
        "imagelab data info",
        r"the folder IMAGELAB_DATA names does not exist",
        status=1,
        env={"IMAGELAB_DATA": "$WORK/nowhere"},
    ),
    Case(
        "corrupt-npz",
        "17.6",
        "imagelab data info",
        r"mnist\.npz: cannot be read as \.npz: it is not an npz archive.*--force",
        status=1,
        setup=_corrupt_npz,
    ),
    Case(
        "truncated-npz",
        "",
        "imagelab data info",
        r"mnist\.npz: cannot be read as \.npz.*Restore the file",
        status=1,
        setup=_truncated_npz,
    ),
    Case(
        "wrong-shape-arrays",
        "",
        "imagelab data info",
        r"x_train images have shape \(14, 56\), expected \(28, 28\)",
        status=1,
        setup=lambda lay: _data_copy(
            lay, "shape", lambda a: a | {"x_train": a["x_train"].reshape(-1, 14, 56)}
        ),
    ),
    Case(
        "checksum-mismatch",
        "",
        "imagelab data info",
        r"content check failed for x_test \(sha256 differs from",
        status=1,
        setup=lambda lay: _data_copy(lay, "flipped", _flip_pixel),
    ),
    Case(
        "damaged-import-manifest",
        "",
        "imagelab data info",
        r"import manifest is damaged",
        status=1,
        setup=_damaged_manifest,
    ),
    # --- data import -----------------------------------------------------------------------
    Case(
        "import-from-an-empty-folder",
        "",
        "imagelab data import $WORK/empty",
        r"found neither the four MNIST IDX files",
        setup=lambda lay: (lay.work / "empty").mkdir(),
    ),
    Case(
        "import-of-a-truncated-idx-file",
        "",
        "imagelab data import $WORK/idx --out $WORK/new",
        r"train-images-idx3-ubyte: header announces 100 items .* truncated",
        setup=_truncated_idx,
        absent=("$WORK/new",),
    ),
    Case(
        "import-of-a-truncated-cifar-archive",
        "",
        "imagelab data import $WORK/cifar-10-python.tar.gz --out $WORK/new",
        r"archive is truncated or damaged",
        setup=lambda lay: _tarball(lay.work / CIFAR, _random_batch, truncate=True),
        absent=("$WORK/new",),
    ),
    Case(
        "hostile-pickle-in-a-cifar-archive",
        "",
        "imagelab data import $WORK/cifar-10-python.tar.gz --out $WORK/new",
        r"not plain data \(refusing to load (posix|os)\.system\)",
        setup=lambda lay: _tarball(
            lay.work / CIFAR, lambda i: {b"data": _Hostile(f"touch {lay.work}/pwned")}
        ),
        absent=("$WORK/new", "$WORK/pwned"),
    ),
    # --- sweep files and the command line --------------------------------------------------
    Case(
        "sweep-file-with-an-unknown-key",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"grdi: unknown key",
        setup=lambda lay: _sweep_file(lay, {"grid": {"units": [16]}, "grdi": {}}),
    ),
    Case(
        "sweep-file-with-an-unknown-parameter",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"grid\.dropuot: .*did you mean 'dropout'",
        setup=lambda lay: _sweep_file(
            lay, {"notebook": "notebooks/03_cnn_mnist.ipynb", "grid": {"dropuot": [0.5]}}
        ),
    ),
    Case(
        "sweep-file-with-an-empty-grid",
        "",
        "imagelab sweep $WORK/bad.yaml",
        r"grid: must be a mapping of at least one parameter",
        setup=lambda lay: _sweep_file(lay, {"grid": {}}),
    ),
    Case(
        "sweep-file-missing",
        "",
        "imagelab sweep sweeps/relu_seed.yaml",
        r"sweep file sweeps/relu_seed\.yaml does not exist",
    ),
    Case(
        "unknown-subcommand",
        "",
        "imagelab trian",
        r"invalid choice: 'trian'",
    ),
    Case(
        "jobs-0",
        "",
        "imagelab sweep sweeps/relu_seeds.yaml --jobs 0",
        r"argument --jobs: must be an integer >= 1; got '0'",
    ),
    Case(
        "scheduler-without-dask",
        "",
        "imagelab sweep sweeps/relu_seeds.yaml --scheduler tcp://127.0.0.1:8786",
        r"^imagelab: error: --scheduler needs --executor dask",
    ),
    Case(
        "unknown-executor",
        "",
        "imagelab sweep sweeps/relu_seeds.yaml --executor slurm",
        r"argument --executor: invalid choice: 'slurm'",
    ),
]


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
        arrays = _arrays(folder)
    except OSError:
        return False
    table = data.KNOWN_CHECKSUMS["mnist"]
    return all(data.array_sha256(arrays[key]) == table[key] for key in data.ARRAYS)


def _store_landed() -> bool:
    return (ROOT / "src" / "imagelab" / "store.py").is_file()


def skip_reason(case: Case, data_folder: Path) -> str | None:
    """Why a case cannot run here, or None."""
    if case.needs == "store" and not _store_landed():
        return "needs the stored-run layer (imagelab.store, issue 16), not landed yet"
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default=os.environ.get("IMAGELAB_DATA") or ROOT.parent / "shared" / "datasets"
    )
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--no-kernels", action="store_true", help="leave out the papermill cases")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or c.name in args.only]
    cases = [c for c in cases if not (args.no_kernels and c.kernel)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bad_inputs-") as base:
        shared = make_layout(Path(base) / "first", Path(args.data)).data  # one copy of the data
        for number, case in enumerate(cases, start=1):
            reason = skip_reason(case, shared)
            if reason:
                rows.append((case, reason))
                continue
            layout = make_layout(Path(base) / f"case{number}", Path(args.data), data=shared)
            outcome = run_case(case, layout)
            rows.append((case, outcome))
            print(f"{case.name}: exit {outcome.status} in {outcome.seconds:.1f} s", file=sys.stderr)
            shutil.rmtree(layout.project)
            shutil.rmtree(layout.work)
    print(table(rows))
    ran = [(c, o) for c, o in rows if not isinstance(o, str)]
    bad = [
        c.name
        for c, o in ran
        if not (o.status == c.status and re.search(c.expect, o.message) and o.unchanged)
    ]
    print(
        f"\n{len(ran)} cases ran, {len(rows) - len(ran)} skipped; "
        f"{len(ran) - len(bad)} refused as expected with nothing changed"
        + (f"; unexpected: {', '.join(bad)}" if bad else "")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

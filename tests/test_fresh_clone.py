"""The documented commands, walked as a new user walks them on a fresh clone (issue 38): each
must leave `git status` clean and the fast tier green.

The walk: `make matrix` on one Python before any setup, then `make setup`, `make all`, each
exercise notebook with its defaults through papermill, `make report`. After each command the
clone's `git status --porcelain` must be empty, and the fast tier must pass (after the matrix,
the matrix's own run of it in its venv; after the others, `.venv`'s).

It is slow and opt-in: two environments installed (about 3 min each here), the matrix's
verify retrains two networks, and the fast tier runs eight times (2-3 min each on this 2-core
machine): the better part of an hour, far beyond the 10 minutes a slow test may take in `make
test`. So it runs only with ``IMAGELAB_WALK=1`` (``IMAGELAB_WALK_PYTHON=3.12`` picks the
matrix's Python, default the first supported one found). It clones the committed HEAD, not the
working tree, and gives the clone this project's data folder as ``IMAGELAB_DATA`` (a clone in a
temporary folder has no ``../shared/datasets``). Logs: ``<tmp>/logs/<step>.log``.

The harness itself (a clone, a step, its check of `git status`) has fast tests below, so a walk
that could not see a dirty tree cannot pass unnoticed.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import matrix  # noqa: E402
import pythons  # noqa: E402

WALK = os.environ.get("IMAGELAB_WALK") == "1"
HOUR = 3600
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("0*.ipynb"))
# What the walk must not inherit from the process running it: another venv, another checkout's
# sources, the make that may have started pytest.
NOT_INHERITED = (*matrix.NOT_INHERITED, "IMAGELAB_THREADS")


def fresh_clone(where: Path) -> Path:
    """A clone of this project's committed HEAD in ``where``/imagelab, as a new user gets it."""
    head = _git(ROOT, "rev-parse", "HEAD").strip()
    clone = where / "imagelab"
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True)
    _git(clone, "checkout", "--quiet", head)
    return clone


def dirty(clone: Path) -> str:
    """What `git status` lists in the clone (untracked and ignored-by-nobody files included)."""
    return _git(clone, "status", "--porcelain", "--untracked-files=all")


def step(clone: Path, name: str, command: list[str], env: dict, logs: Path) -> str:
    """Run one documented command in the clone (output to ``logs/<name>.log``); its output.
    Fails when it exits non-zero or leaves the tree otherwise than clean."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("w") as out:
        done = subprocess.run(
            command, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=HOUR
        )
    output = log.read_text()
    assert done.returncode == 0, f"{name}: exit {done.returncode}, see {log}\n{output[-3000:]}"
    left = dirty(clone)
    assert not left, f"{name} left the tree changed:\n{left}"
    return output


def fast_tier(clone: Path, python: Path, name: str, env: dict, logs: Path) -> dict[str, int]:
    """The fast tier in the clone with ``python``; its counts, after checking none failed."""
    command = [str(python), "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider"]
    output = step(clone, f"{name}-fast-tier", command, env, logs)
    counts = matrix.pytest_counts(output)
    assert counts.get("passed") and not counts.get("failed") and not counts.get("error"), counts
    return counts


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, check=True
    ).stdout


def _environment(data_folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return env | {"IMAGELAB_DATA": str(data_folder)}


def _walk_python() -> str:
    found = pythons.found(pythons.requires_python())
    wanted = os.environ.get("IMAGELAB_WALK_PYTHON")
    chosen = [v for v, _ in found if not wanted or v == wanted or v.startswith(wanted + ".")]
    if not chosen:
        pytest.skip(f"no supported Python matches {wanted!r} here: {[v for v, _ in found]}")
    return chosen[0]


@pytest.mark.slow
@pytest.mark.skipif(not WALK, reason="the fresh-clone walk takes about an hour: IMAGELAB_WALK=1")
def test_every_documented_command_leaves_the_tree_clean_and_the_tests_green(tmp_path):
    from imagelab import data

    folder = data.data_dir()
    if folder is None:
        pytest.skip("the walk trains on this project's data folder, and there is none here")
    clone, logs, env = fresh_clone(tmp_path), tmp_path / "logs", _environment(folder)
    make = ["make", "--no-print-directory"]
    version = _walk_python()

    # 1. The matrix on one Python, before any setup: it installs its own venv, runs the fast
    #    tier there, and verifies two runs, recording outside what the tests read.
    output = step(clone, "make-matrix", [*make, "matrix", f"PYTHONS={version}"], env, logs)
    assert not (clone / ".venv").exists()
    tested = matrix.pytest_counts((clone / "build" / "matrix" / version / "tests.log").read_text())
    assert tested.get("passed") and not tested.get("failed") and not tested.get("error"), tested
    assert f"verify --merge build/matrix/{version}/verify.csv" in output

    # 2. Setup, then every documented command a student meets, each followed by the fast tier.
    venv_python = clone / ".venv" / "bin" / "python"
    step(clone, "make-setup", [*make, "setup"], env, logs)
    fast_tier(clone, venv_python, "after-setup", env, logs)
    output = step(clone, "make-all", [*make, "all"], env, logs)
    assert "ran nothing" in output  # the committed results are up to date: nothing trains
    fast_tier(clone, venv_python, "after-make-all", env, logs)
    papermill = str(clone / ".venv" / "bin" / "papermill")
    for notebook in NOTEBOOKS:
        executed = f"build/walk/{notebook}"  # git ignores build/
        output = step(clone, notebook, [papermill, f"notebooks/{notebook}", executed], env, logs)
        fast_tier(clone, venv_python, f"after-{notebook}", env, logs)
    step(clone, "make-report", [*make, "report"], env, logs)
    fast_tier(clone, venv_python, "after-make-report", env, logs)


# --- the harness, quickly: it sees what a step leaves behind --------------------------------


def test_a_fresh_clone_is_clean(tmp_path):
    clone = fresh_clone(tmp_path)
    assert dirty(clone) == ""
    assert _git(clone, "rev-parse", "HEAD") == _git(ROOT, "rev-parse", "HEAD")


def test_a_step_that_leaves_a_file_behind_fails_the_walk(tmp_path):
    clone = fresh_clone(tmp_path)
    env = _environment(tmp_path)
    step(clone, "clean", ["git", "status"], env, tmp_path / "logs")
    with pytest.raises(AssertionError, match=r"left the tree changed:\s+\?\? figures/x\.png"):
        step(clone, "dirty", ["touch", "figures/x.png"], env, tmp_path / "logs")
    (clone / "figures" / "x.png").unlink()
    with pytest.raises(AssertionError, match=r"left the tree changed:\s+M README\.md"):
        step(clone, "edit", ["sh", "-c", "echo >> README.md"], env, tmp_path / "logs")
    with pytest.raises(AssertionError, match="exit 3"):
        step(clone, "fails", ["sh", "-c", "exit 3"], env, tmp_path / "logs")

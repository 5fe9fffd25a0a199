"""Bad input is refused before any work, in one paragraph, with nothing overwritten (issue 17).

The cases are those of ``studies/bad_inputs.py``, each run as the command a user types, in a
temporary copy of the project and of the fixture data; the ones that start a kernel (papermill)
are slow. Below them, the command line's own rules: which errors print a paragraph, which keep
their traceback, and what a stop by Ctrl-C or SIGTERM says.
"""

import errno
import importlib.util
import os
import re
import shutil
import sys

import pytest

from imagelab import cli
from imagelab.errors import UserError

from .conftest import FIXTURES, ROOT

_spec = importlib.util.spec_from_file_location("bad_inputs", ROOT / "studies" / "bad_inputs.py")
bad_inputs = importlib.util.module_from_spec(_spec)
sys.modules["bad_inputs"] = bad_inputs  # dataclasses look their module up here
_spec.loader.exec_module(bad_inputs)


# A case that starts a kernel, or runs imagelab as its own process in a copy of the project
# (one that reads or writes its results), is slow; the readers and checks those cases reach
# have their own fast tests (test_side_tables, test_provenance_schema, test_run_checks).
CASES = [
    pytest.param(
        case,
        id=case.name,
        marks=[pytest.mark.slow]
        if case.kernel or not sys.modules["bad_input_kit"].in_process_possible(case)
        else [],
    )
    for case in bad_inputs.CASES
]


def _data_for(case, tmp_path):
    """The data folder a case runs on: the fixtures, or for a case that needs the full verified
    MNIST, a folder holding the project data folder's copy when that is the verified one (the
    fixtures are not); None when neither holds it."""
    if case.needs != "canonical" or sys.modules["bad_input_kit"].canonical_data(FIXTURES):
        return None
    from imagelab import data

    folder = data.data_dir()
    if folder is None or not sys.modules["bad_input_kit"].canonical_data(folder):
        pytest.skip(
            "needs the full verified MNIST: neither tests/fixtures nor the data folder "
            f"({folder or 'none: IMAGELAB_DATA unset and no ../shared/datasets'}) holds it"
        )
    copy = tmp_path / "data"
    copy.mkdir()
    shutil.copy(folder / "mnist.npz", copy / "mnist.npz")
    return copy


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_in_one_paragraph_and_nothing_changes(case, tmp_path):
    data = _data_for(case, tmp_path)
    reason = bad_inputs.skip_reason(case, data or FIXTURES)
    if reason:
        pytest.skip(reason)
    layout = bad_inputs.make_layout(tmp_path, FIXTURES, data=data)
    outcome = bad_inputs.run_case(case, layout, in_process=True)
    assert outcome.status == case.status, outcome.output
    assert re.search(case.expect, outcome.message), outcome.output
    assert outcome.before == outcome.after, "the data or results folders changed"
    assert all(outcome.absent.values()), outcome.absent
    if case.kernel or outcome.output.startswith("imagelab: error:"):
        assert outcome.error_lines == 1, outcome.output  # one paragraph, no traceback
    if not case.kernel:  # papermill's own command prints its traceback; ours never
        assert "Traceback" not in outcome.output, outcome.output
    assert "allow_pickle" not in outcome.output


def test_there_are_at_least_25_cases_with_the_seven_of_issue_17():
    issues = {case.issue for case in bad_inputs.CASES}
    assert len(bad_inputs.CASES) >= 25
    assert {f"17.{n}" for n in range(1, 8)} <= issues
    assert len({case.name for case in bad_inputs.CASES}) == len(bad_inputs.CASES)


# --- the command line's rules ----------------------------------------------------------------


def _handler_raising(monkeypatch, error):
    """Make `imagelab seeds` raise ``error`` (its handler is looked up when main builds the
    parser)."""

    def handler(args):
        raise error

    monkeypatch.setattr(cli, "_seeds", handler)


@pytest.mark.parametrize(
    ("stop", "message"),
    [
        (KeyboardInterrupt(), "imagelab: stopped by Ctrl-C (SIGINT); finished runs are kept"),
        (KeyboardInterrupt("SIGINT"), "imagelab: stopped by Ctrl-C (SIGINT); finished runs are"),
        (KeyboardInterrupt("SIGTERM"), "imagelab: stopped by SIGTERM; finished runs are kept"),
    ],
)
def test_a_stop_says_which_signal_and_exits_130(monkeypatch, capsys, stop, message):
    _handler_raising(monkeypatch, stop)
    assert cli.main(["seeds"]) == 130
    err = capsys.readouterr().err
    assert message in err and "()" not in err


def test_a_user_error_prints_one_paragraph_and_exits_2(monkeypatch, capsys):
    _handler_raising(monkeypatch, UserError("epochs must be an integer >= 1; got -1"))
    assert cli.main(["seeds"]) == 2
    assert capsys.readouterr().err == "imagelab: error: epochs must be an integer >= 1; got -1\n"


@pytest.mark.parametrize("bug", [ValueError("bug"), RuntimeError("bug"), KeyError("bug")])
def test_a_bug_keeps_its_traceback(monkeypatch, bug):
    # Only UserError is the user's to fix; any other exception is ours and must show where.
    _handler_raising(monkeypatch, bug)
    with pytest.raises(type(bug)):
        cli.main(["seeds"])


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_a_disk_that_refuses_a_write_is_one_paragraph(monkeypatch, capsys, code, words):
    _handler_raising(monkeypatch, OSError(code, os.strerror(code), "scores/seeds.csv"))
    assert cli.main(["seeds"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"imagelab: error: could not write scores/seeds.csv: {words}. ")
    assert "Free space" in err and err.count("\n") == 1


def test_another_os_error_keeps_its_traceback(monkeypatch):
    _handler_raising(monkeypatch, OSError(errno.EIO, "Input/output error", "scores/seeds.csv"))
    with pytest.raises(OSError):
        cli.main(["seeds"])


def test_a_notebook_stopped_by_a_user_error_prints_its_paragraph(monkeypatch, capsys):
    from papermill.exceptions import PapermillExecutionError

    failed = PapermillExecutionError(
        cell_index=3,
        exec_count=3,
        source="run = lab.start_run(...)",
        ename="DataError",
        evalue="mnist data at x: file not found",
        traceback=["DataError: mnist data at x: file not found"],  # its _render_traceback_
    )
    _handler_raising(monkeypatch, failed)
    assert cli.main(["seeds"]) == 2
    err = capsys.readouterr().err
    assert (
        err == "imagelab: error: DataError: mnist data at x: file not found (in notebook cell 3)\n"
    )


def test_a_notebook_stopped_by_a_bug_keeps_its_traceback(monkeypatch):
    from papermill.exceptions import PapermillExecutionError

    failed = PapermillExecutionError(
        3, 3, "x = 1 / 0", "ZeroDivisionError", "division by zero", ["-----", "Cell In[3]", "..."]
    )
    _handler_raising(monkeypatch, failed)
    with pytest.raises(PapermillExecutionError):
        cli.main(["seeds"])


def test_parameter_checks_raise_user_errors_with_a_suggestion():
    from imagelab import params

    with pytest.raises(UserError, match=r"unknown parameter 'epoch' \(did you mean 'epochs'\?\)"):
        params.check_parameter("epoch", 2)
    with pytest.raises(UserError, match=r"got 'Relu', for example 'relu'"):
        params.check_run_name("Relu")
    with pytest.raises(UserError, match=r"got 'adagrd' \(did you mean 'adagrad'\?\)"):
        params.check_choice("optimizer", "adagrd", ("adagrad", "adam"))

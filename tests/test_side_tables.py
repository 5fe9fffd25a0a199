"""Every side table the report reads is refused when damaged, or gives clean text (issue 26).

Each committed side input is copied to a temporary folder, damaged in several ways (cut at a
few offsets and at a line's end, a string in a number column, a value out of range, emptied),
and read the way the report reads it: the reader or the report's section function itself, no
kernel. The outcome is either a ``DamagedTable`` (or the verify record's UserError) naming the
file, or text with no "nan", "inf" or verdict cut short.
"""

from __future__ import annotations

import csv
import errno
import importlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from imagelab import cli
from imagelab.errors import UserError
from imagelab.judging import reproductions
from imagelab.report import extras, inputs, results, studies
from imagelab.results import store, tables
from imagelab.running import runs
from imagelab.running.sweeps import summary_schema
from imagelab.running.sweeps.summary import SWEEP_MEASURES

from .conftest import ROOT

render = importlib.import_module("imagelab.report.render")  # the package exports its function
BAD_WORDS = re.compile(r"\bnan\b|\binf\b", re.IGNORECASE)
FIX = re.compile(r"rebuilds it|measures it again|writes it again|runs the search again|record it "
                 r"again|restores the committed file|the 2019 lab's own history|retrains the run")  # fmt: skip


def _show_text(monkeypatch, module, call) -> str:
    shown: list[str] = []
    monkeypatch.setattr(module, "_show", shown.append)
    value = call()
    return "\n".join(shown) + ("" if value is None else str(value))


# Each input: where it is committed, the column to put a string in, a value out of range for
# that column, and how the report reads it (given the damaged copy, returns text to check).
def _seeds(path: Path, monkeypatch) -> str:
    return str(results.seed_spread("relu_mnist", path.parents[1]))


def _benchmark(path: Path, monkeypatch) -> str:
    return _show_text(monkeypatch, extras, lambda: extras.show_benchmarks(path, path.parent))


def _epochs(path: Path, monkeypatch) -> str:
    return tables.read(path, tables.BENCHMARK_EPOCHS).to_string()


def _verify(path: Path, monkeypatch) -> str:
    table = reproductions.read(path)
    return " ".join(str(reproductions.latest_verdict(table, run)) for run in reproductions.RUNS)


def _summary(path: Path, monkeypatch) -> str:
    spec = path.parent.with_suffix(".yaml")
    summary = tables.read(path, summary_schema(spec))
    return summary[["run_id", "seed", "status", *SWEEP_MEASURES]].to_string()


def _study(path: Path, monkeypatch) -> str:
    if path.name == extras.PROFILE_STUDY:
        return extras._steps_per_call(path.parent)
    monkeypatch.setattr(studies, "load_run", lambda *args: None)  # no figure drawn
    return _show_text(monkeypatch, studies, lambda: studies.show_reproduction_checks(path.parent))


def _history_2019(path: Path, monkeypatch) -> str:
    monkeypatch.setattr(studies, "HISTORY_2019", path)
    return studies.validation_movement(ROOT / "studies")


def _search(path: Path, monkeypatch) -> str:
    from imagelab.running import playground_search

    shutil.copy(ROOT / "scores" / "playground_search.json", path.parent)
    return playground_search.load(path.parents[1])[0].to_string()


INPUTS = {
    "seeds": ("scores/seeds.csv", "acc", "5.0", _seeds),
    "benchmark": ("benchmarks/results.csv", "value", "-3", _benchmark),
    "benchmark epochs": ("benchmarks/epochs.csv", "seconds", "-1.5", _epochs),
    "verify record": ("reproductions/verify.csv", "seconds", "-80", _verify),
    "sweep summary": ("sweeps/relu_seeds/summary.csv", "test_acc", "1.5", _summary),
    "keras3 shuffle study": ("studies/keras3_shuffle.csv", "test_acc", "97.8", _study),
    "keras2 loss study": ("studies/keras2_loss.csv", "test_acc", "-0.1", _study),
    "keras2 rmsprop study": ("studies/keras2_rmsprop.csv", "seed", "4294967296", _study),
    "epoch profile study": ("studies/epoch_profile.csv", "seconds", "-1", _study),
    "2019 history": ("histories/lab2019/history.csv", "epoch", "0", _history_2019),
    "playground search": ("scores/playground_search.csv", "test_acc", "5.0", _search),
}


def _edit_cell(path: Path, column: str, value: str, row: int = 2) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(), newline="")))
    rows[row][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue())


def _damage(path: Path, how: str, column: str, out_of_range: str) -> None:
    blob = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how.startswith("cut at "):
        path.write_bytes(blob[: int(len(blob) * float(how.split()[-1]))])
    elif how == "cut mid-row":
        path.write_bytes(blob[:-3])
    elif how == "last line cut off":  # at a line's end: a shorter file that is still CSV
        path.write_bytes(blob[: blob.rstrip(b"\n").rfind(b"\n") + 1])
    elif how == "string in a number column":
        _edit_cell(path, column, "abc")
    elif how == "value out of range":
        _edit_cell(path, column, out_of_range)
    elif how == "nan":
        _edit_cell(path, column, "nan")


REFUSED = ("empty", "cut mid-row", "string in a number column", "value out of range", "nan")
DAMAGES = (*REFUSED, "cut at 0.3", "cut at 0.5", "cut at 0.8", "last line cut off")


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("name", INPUTS)
def test_a_damaged_side_table_is_refused_naming_the_file_or_gives_clean_text(
    name, how, tmp_path, monkeypatch
):
    committed, column, out_of_range, read = INPUTS[name]
    path = tmp_path / committed
    path.parent.mkdir(parents=True)
    shutil.copy(ROOT / committed, path)
    if name == "sweep summary":
        shutil.copy(ROOT / "sweeps" / "relu_seeds.yaml", path.parent.with_suffix(".yaml"))
    _damage(path, how, column, out_of_range)
    try:
        text = read(path, monkeypatch)
    except UserError as error:  # DamagedTable, or the verify record's own reader
        message = str(error)
        assert path.name in message and "\n" not in message, message
        assert FIX.search(message), message  # and says how to get the file back
        return
    assert how not in REFUSED, f"{committed} {how} was read without complaint: {text[:300]}"
    assert not BAD_WORDS.search(text), text


def test_a_value_out_of_range_is_named_with_its_line_column_and_the_fix(tmp_path):
    path = tmp_path / "scores" / "seeds.csv"
    path.parent.mkdir()
    shutil.copy(ROOT / "scores" / "seeds.csv", path)
    _edit_cell(path, "acc", "5.0", row=3)
    with pytest.raises(tables.DamagedTable, match=r"has 5.0, out of range \(0 to 1\), on line 4, "
                       r"column acc\. `make seeds` rebuilds it"):  # fmt: skip
        tables.read(path, tables.SEEDS)
    _edit_cell(path, "acc", "0.9", row=3)
    _edit_cell(path, "seed", str(2**32), row=3)
    with pytest.raises(tables.DamagedTable, match=r"4294967296, out of range \(0 to 4294967295"):
        tables.read(path, tables.SEEDS)


# Issue 35.7: a seeds.csv row whose source did not exist became "mean 0.9798 over 11 seeds".
# Row 1 (line 2) is cifar10_cnn's seed 1 from sweeps/cifar10_seeds.
@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("source", "sweeps/relu_seeds/scores/epochs-12_seed99-00000000.json",
         r"has on line 2 the source sweeps/relu_seeds/scores/epochs-12_seed99-00000000\.json, "
         r"which is no stored run's provenance \(no such file\)"),
        ("source", "scores/seeds.csv", r"which is no stored run's provenance"),
        ("source", "scores/relu_mnist.json", r"has on line 2 the source scores/relu_mnist\.json, "
                                             r"which is not a run of cifar10_cnn's canonical"),
        ("acc", "0.9", r"says acc 0\.9 on line 2, where its source sweeps/cifar10_seeds/scores/"
                       r"epochs-20_seed1-d289a508\.json holds 0\.630999982357"),
        ("seed", "77", r"says seed 77 on line 2, where its source .* holds 1\b"),
    ],
    ids=["source-gone", "source-not-a-run", "source-of-another-exercise", "other-acc", "other-seed"],
)  # fmt: skip
def test_a_seeds_row_is_checked_against_the_run_it_names(tmp_path, column, value, problem):
    path = tmp_path / "scores" / "seeds.csv"
    path.parent.mkdir()
    shutil.copy(ROOT / "scores" / "seeds.csv", path)
    _edit_cell(path, column, value, row=1)
    with pytest.raises(tables.DamagedTable, match=problem + r".*`make seeds` rebuilds it"):
        tables.read(path, tables.SEEDS)


def test_a_seeds_row_whose_run_is_damaged_is_refused(tmp_path):
    sweep = tmp_path / "sweeps" / "relu_seeds"
    shutil.copytree(ROOT / "sweeps" / "relu_seeds", sweep)
    (sweep / "figures" / "epochs-12_seed4-80f0bcb5_confusion.png").unlink()
    path = tmp_path / "seeds.csv"
    path.write_text(
        "run,seed,loss,acc,source\n"
        + "".join(line.replace("sweeps/", f"{tmp_path}/sweeps/") + "\n"
                  for line in (ROOT / "scores" / "seeds.csv").read_text().splitlines()
                  if "relu_seeds/" in line)
    )  # fmt: skip
    with pytest.raises(tables.DamagedTable, match=r"a damaged run \(.*epochs-12_seed4-80f0bcb5_"
                                                  r"confusion\.png is missing, while"):  # fmt: skip
        tables.read(path, tables.SEEDS)


def test_a_committed_side_table_names_git_checkout_as_its_fix():
    assert "`git checkout -- scores/seeds.csv` restores the committed file, or `make seeds`" in str(
        tables.refusal(ROOT / "scores" / "seeds.csv", "is empty", "`make seeds` rebuilds it")
    )


def test_a_sweep_summary_with_fewer_rows_than_its_plan_is_damaged(tmp_path):
    folder = tmp_path / "relu_seeds"
    folder.mkdir()
    shutil.copy(ROOT / "sweeps" / "relu_seeds.yaml", tmp_path)
    lines = (ROOT / "sweeps" / "relu_seeds" / "summary.csv").read_text().splitlines(keepends=True)
    (folder / "summary.csv").write_text("".join(lines[:-1]))  # 5 of 6 seeds, a valid CSV
    with pytest.raises(tables.DamagedTable, match=r"has 5 runs where .*relu_seeds\.yaml plans 6"):
        tables.read(folder / "summary.csv", summary_schema(tmp_path / "relu_seeds.yaml"))


@pytest.mark.parametrize("how", ["empty", "cut at 0.5", "text"])
def test_a_figure_that_does_not_decode_is_refused_with_the_runs_fix(how, tmp_path):
    shutil.copytree(ROOT / "histories", tmp_path / "histories", dirs_exist_ok=True)
    for folder in ("scores", "figures"):
        (tmp_path / folder).mkdir(exist_ok=True)
        for path in (ROOT / folder).glob("cnn_mnist*"):
            shutil.copy(path, tmp_path / folder)
    stored = store.load_run("cnn_mnist", tmp_path)
    tables.check_run_figures(stored)  # as committed: fine
    figure = stored.files.figure("history")
    blob = figure.read_bytes()
    figure.write_bytes({"empty": b"", "cut at 0.5": blob[: len(blob) // 2], "text": b"x,y\n"}[how])
    with pytest.raises(store.DamagedResult, match=r"cnn_mnist_history\.png is not a figure that "
                       r"decodes .*retrains the run"):  # fmt: skip
        tables.check_run_figures(stored)
    assert results.load_run("cnn_mnist", tmp_path) is None  # the report leaves it out


def test_the_committed_side_inputs_pass_the_reports_check():
    assert inputs.check() == []


def test_allow_missing_goes_on_past_a_damaged_run_and_says_which(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "EXTRA_RUNS", ("damaged_run",))
    for folder in ("histories", "scores"):
        (tmp_path / folder).mkdir()
    (tmp_path / "histories" / "damaged_run.csv").write_text("epoch,value\n1,")
    (tmp_path / "scores" / "damaged_run.csv").write_text("loss,acc\n0.1,0.9\n")
    (tmp_path / "scores" / "damaged_run.json").write_text("{}")
    with pytest.raises(store.DamagedResult, match="damaged_run"):
        inputs.check(results_dir=tmp_path)
    left_out = inputs.check(results_dir=tmp_path, allow_missing=True)
    assert len(left_out) == 1 and left_out[0].startswith("damaged_run: ")
    assert results.load_run("damaged_run", tmp_path) is None


def test_lab_dry_run_exits_2_when_a_result_is_damaged(monkeypatch, capsys):
    def state(name, number_format="float32"):
        return ("damaged", " (histories/relu_mnist.csv is cut)") if name == "relu_mnist" else (
            "up-to-date", "")  # fmt: skip

    monkeypatch.setattr(runs, "describe_state", state)
    assert cli.main(["lab", "--dry-run", "relu_mnist", "cnn_mnist"]) == 2
    captured = capsys.readouterr()
    assert "relu_mnist: results damaged (histories/relu_mnist.csv is cut), would run" in (
        captured.out
    )
    assert captured.err.startswith("imagelab: error: damaged results: relu_mnist")
    assert cli.main(["lab", "--dry-run", "cnn_mnist"]) == 0


# --- report writes ------------------------------------------------------------------------


@pytest.fixture
def old_report(tmp_path, monkeypatch):
    """An output folder holding a report, and the notebook's execution faked (no kernel)."""
    import nbformat

    out = tmp_path / "report"
    out.mkdir()
    (out / "report.pdf").write_bytes(b"%PDF- the old one")
    (out / "report.html").write_text("<html>the old one</html>")
    monkeypatch.setattr(runs, "BUILD", tmp_path / "build")
    executed = []

    def execute(notebook, output, parameters, log_output=True):
        executed.append(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        cell = nbformat.v4.new_markdown_cell("# A report")
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), output)

    monkeypatch.setattr(runs, "execute", execute)
    return out, executed


def _unchanged(out: Path) -> bool:
    return sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf"] and (
        (out / "report.pdf").read_bytes() == b"%PDF- the old one"
    )


def test_a_read_only_report_folder_stops_before_rendering_in_one_paragraph(old_report, monkeypatch):
    out, executed = old_report
    real = render.tempfile.TemporaryFile

    def read_only(dir=None, **kwargs):
        if Path(dir) == out:
            raise OSError(errno.EROFS, "Read-only file system", str(out / "tmpabc"))
        return real(dir=dir, **kwargs)

    monkeypatch.setattr(render.tempfile, "TemporaryFile", read_only)
    with pytest.raises(render.ReportNotWritten, match=r"cannot write to .*report: the file system "
                       r"is read-only\. The report was not updated: .*report\.pdf and report\.html "
                       r"are as they were\. Make .*report writable"):  # fmt: skip
        render.render(out, quiet=True)
    assert executed == [] and _unchanged(out)


def test_a_full_disk_while_writing_the_pdf_keeps_the_old_report(old_report, monkeypatch):
    out, executed = old_report

    def full(notebook, path, digest, work):
        path.write_bytes(b"%PDF- half")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(render, "write_pdf", full)
    with pytest.raises(render.ReportNotWritten, match=r"the disk is full"):
        render.render(out, quiet=True)
    assert len(executed) == 1 and _unchanged(out)  # the new HTML was not renamed in either


def test_a_bug_while_writing_keeps_its_traceback(old_report, monkeypatch):
    out, _ = old_report
    monkeypatch.setattr(render, "write_pdf", lambda *a: (_ for _ in ()).throw(OSError(errno.EIO)))
    with pytest.raises(OSError) as raised:
        render.render(out, quiet=True)
    assert not isinstance(raised.value, UserError)


def test_make_clean_keeps_the_committed_report(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path)
    for path in ("report/report.pdf", "report/report.html", "build/notebooks/x.ipynb"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "report" / "report.pdf").is_file()
    assert (tmp_path / "report" / "report.html").is_file()
    assert not (tmp_path / "build").exists()


def test_allow_missing_goes_on_past_a_damaged_sweep_run(tmp_path):
    shutil.copy(ROOT / "sweeps" / "relu_seeds.yaml", tmp_path)
    shutil.copytree(ROOT / "sweeps" / "relu_seeds", tmp_path / "relu_seeds")
    history = next(iter(sorted((tmp_path / "relu_seeds" / "histories").glob("*.csv"))))
    history.write_bytes(history.read_bytes()[:100])
    with pytest.raises(store.DamagedResult, match=re.escape(history.name)):
        inputs.check(sweeps_dir=tmp_path)
    left_out = inputs.check(sweeps_dir=tmp_path, allow_missing=True)
    assert len(left_out) == 1 and f"{history.stem} of sweep relu_seeds: " in left_out[0]

"""Documented commands leave the tree as it was (issue 38): `make matrix` records its verdicts
outside what the tests and the report read, and gives its tests the git filter `make setup`
installs, so it passes on a fresh clone before any setup and `make test` passes after it."""

import logging
import shutil
import subprocess
import sys

import nbformat
import pytest

from imagelab import cli, records
from imagelab.judging import reproductions
from imagelab.judging import verify as verify_module
from imagelab.results import exercises, outputs
from imagelab.running import runs
from imagelab.running.sweeps import summary_schema

from .conftest import ROOT
from .test_interactive import NOTEBOOKS, _as_run_and_saved

sys.path.insert(0, str(ROOT / "tools"))
import matrix  # noqa: E402


def _git(folder, *args, env=None, text=None):
    return subprocess.run(
        ["git", *args], cwd=folder, env=env, input=text, capture_output=True, text=True, check=True
    ).stdout


def test_matrix_gives_its_tests_the_git_filter_make_setup_installs(tmp_path):
    # A clone where `make setup` never ran: no filter in .git/config. With the environment the
    # matrix gives its tests, git stores a notebook run and saved elsewhere as committed, and
    # nbstripout finds the committed notebooks already stripped: the two tests of
    # test_interactive.py that need the filter pass there.
    _git(tmp_path, "init", "--quiet")
    shutil.copy(ROOT / ".gitattributes", tmp_path / ".gitattributes")
    (tmp_path / "notebooks").mkdir()
    committed = ROOT / "notebooks" / "02_relu_mnist.ipynb"
    shutil.copy(committed, tmp_path / "notebooks" / committed.name)
    saved = nbformat.writes(_as_run_and_saved(committed))
    where = ["hash-object", "--stdin", "--path", f"notebooks/{committed.name}"]
    bare = {k: v for k, v in matrix._environment().items() if not k.startswith("GIT_CONFIG")}
    stored = _git(tmp_path, *where, env=bare, text=saved)
    assert stored != _git(tmp_path, "hash-object", "--no-filters", str(committed))  # no filter
    env = bare | matrix.git_filter(sys.executable)
    assert _git(tmp_path, "config", "--get", "filter.nbstripout.extrakeys", env=env) == (
        "metadata.language_info.version\n"
    )
    stored = _git(tmp_path, *where, env=env, text=saved)
    assert stored == _git(tmp_path, "hash-object", "--no-filters", str(committed))
    strip = [sys.executable, "-m", "nbstripout", "--verify", f"notebooks/{committed.name}"]
    assert subprocess.run(strip, cwd=tmp_path, env=env).returncode == 0
    assert not (tmp_path / ".git" / "config").read_text().count("nbstripout")  # nothing written


def test_the_git_filter_settings_come_after_those_the_caller_gave():
    given = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_VALUE_0": "c"}
    added = matrix.git_filter(sys.executable, given)
    assert added["GIT_CONFIG_KEY_1"] == "filter.nbstripout.clean"
    assert int(added["GIT_CONFIG_COUNT"]) == 1 + sum(k.startswith("GIT_CONFIG_KEY_") for k in added)


def test_matrix_records_its_verdicts_outside_what_the_tests_read(monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(matrix, "OUT", tmp_path / "matrix")
    monkeypatch.setattr(matrix, "ROOT", tmp_path)
    (tmp_path / "matrix" / "3.12.1").mkdir(parents=True)
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text())

    def run(command, log, env):
        ran.append(command)
        log.write_text("== verify dense_mnist: identical (23s)\n")
        return 0, 1.0

    monkeypatch.setattr(matrix, "_run", run)
    result = matrix.Result("3.12.1", "/usr/bin/python3.12", installed=True)
    matrix.verify(result)
    [command] = ran
    assert "--record" not in command
    assert command[command.index("--record-to") + 1] == "matrix/3.12.1/verify.csv"
    assert result.verdicts == {"dense_mnist": "identical (23 s)"}


def test_verify_record_to_appends_there_and_says_how_to_merge(monkeypatch, tmp_path, capsys):
    given = []
    monkeypatch.setattr(
        verify_module, "main", lambda names, record=None, **options: given.append(record) or 0
    )
    record = tmp_path / "verify.csv"
    assert cli.main(["verify", "dense_mnist", "--record-to", str(record)]) == 0
    assert given == [record]
    said = capsys.readouterr().out
    assert f"`imagelab verify --merge {record}` adds its rows to reproductions/verify.csv" in said
    assert cli.main(["verify", "dense_mnist", "--record"]) == 0
    assert given[-1] == reproductions.RECORD
    assert "`make report` renders it again" in capsys.readouterr().out


def test_merge_takes_no_record_to(capsys):
    assert cli.main(["verify", "--merge", "x.csv", "--record-to", "y.csv"]) == 2
    assert "without run names, --all or --record, nor --record-to" in capsys.readouterr().err


def test_papermill_log_lines_carry_no_colour_codes(capsys):
    logger = logging.getLogger("papermill")
    kept = logger.handlers[:], logger.level, logger.propagate
    try:
        runs.show_progress()
        logger.info('\x1b[1mModel: \x1b[38;5;33m"dense"\x1b[0m')
    finally:
        logger.handlers[:], logger.level, logger.propagate = kept
    assert capsys.readouterr().err == 'Model: "dense"\n'


@pytest.mark.parametrize("path", ["build/matrix/3.12.1/verify.csv", "runs/scores/mine.json"])
def test_git_ignores_what_the_commands_write_for_the_user_to_keep_or_not(path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert subprocess.run(["git", "check-ignore", "--quiet", path], cwd=ROOT).returncode == 0
    assert records.PROJECT_ROOT == ROOT


# --- a student's runs stay out of git's way, and a run names every file it wrote -----------


def _own_run(monkeypatch, tmp_path, **overrides):
    """Run All of notebook 01 under a name of one's own, results_dir left at None."""
    from imagelab.running.run import start_run

    monkeypatch.setattr(outputs, "OWN_RUNS", tmp_path / "runs")
    params = exercises.notebook_defaults("dense_mnist") | {"run_name": "mine", "epochs": 1}
    run = start_run("dense_mnist", params | overrides)
    run.fit(run.build_model())
    for draw in (run.plot_history, run.plot_confusion, run.plot_misclassified):
        draw()
    return run


def test_a_run_of_ones_own_goes_to_runs_and_names_every_file_it_wrote(
    fixture_data, monkeypatch, tmp_path
):
    run = _own_run(monkeypatch, tmp_path)
    files = (tmp_path / "runs").rglob("*")  # but the publishing lock, .staging/.lock
    written = sorted(p for p in files if p.is_file() and ".staging" not in p.parts)
    assert len(written) == 7 and sorted(run.written) == written
    assert not records.run_files("mine").provenance.exists()  # nothing in the project's folders
    said = run.wrote().splitlines()
    assert (
        said[0]
        == "[mine] wrote 7 files under runs/, which git ignores (`git add -f` keeps a run on purpose):"
    )
    assert sorted(line.strip() for line in said[1:]) == sorted(map(str, written))
    shown = _own_run(monkeypatch, tmp_path)
    assert shown.cached and shown.wrote() == "[mine] showed the stored results; wrote no file"


def test_a_run_in_runs_finds_the_projects_canonical_runs_beside_it(monkeypatch, tmp_path):
    monkeypatch.setattr(outputs, "OWN_RUNS", tmp_path / "runs")
    own = str(tmp_path / "runs")
    assert outputs.results_dir_for("mine", None) == own
    assert outputs.results_dir_for("dense_mnist", None) is None
    assert outputs.results_dir_for("mine", "/elsewhere") == "/elsewhere"
    assert outputs.beside("dense_mnist", own) is None  # the project's
    assert outputs.beside("playground_search", own) is None
    assert outputs.beside("other_try", own) == own
    assert outputs.beside("dense_mnist", "/elsewhere") == "/elsewhere"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name[:2].isdigit()], ids=str)
def test_every_exercise_notebook_ends_by_naming_what_its_run_wrote(path):
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "code" and last.source == "print(run.wrote())"


def test_make_report_names_the_pdfs_own_sha256_and_the_inputs_digest(monkeypatch, tmp_path, capsys):
    import hashlib
    import importlib

    from imagelab.report import inputs

    render = importlib.import_module("imagelab.report.render")  # the module, not its function

    def execute(notebook, output, parameters, log_output=True):
        nbformat.write(nbformat.v4.new_notebook(), output)

    monkeypatch.setattr(runs, "BUILD", tmp_path / "build")
    monkeypatch.setattr(runs, "execute", execute)
    monkeypatch.setattr(render, "write_html", lambda notebook, path: path.write_text("<html/>"))
    monkeypatch.setattr(render, "write_pdf", lambda nb, path, digest, work: path.write_bytes(b"%P"))
    pdf = render.render(out_dir=tmp_path)
    said = capsys.readouterr().out
    own = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert (
        f"(its sha256 {own[:12]}...; the digest of the inputs it shows, in its keywords: " in said
    )
    assert f"{inputs.digest()[:19]}...)" in said


# --- what a target needs, it names in one line -----------------------------------------------


def test_lab_and_verify_name_the_data_they_train_on(monkeypatch, tmp_path):
    from imagelab import data

    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert runs.data_line() == f"== data: {tmp_path} (IMAGELAB_DATA={tmp_path})"
    monkeypatch.delenv(data.DATA_ENV)
    monkeypatch.setattr(data, "PYPROJECT", tmp_path / "pyproject.toml")  # no default folder
    line = runs.data_line()
    assert line.startswith("== data: keras.datasets, downloaded once into ~/.keras/datasets")
    assert "IMAGELAB_DATA is unset" in line and "\n" not in line


def test_the_advice_to_unset_imagelab_data_comes_only_when_it_is_set(monkeypatch):
    from imagelab import data

    monkeypatch.delenv(data.DATA_ENV, raising=False)
    unset = str(data._fail("mnist", "keras.datasets", "download failed (no network)"))
    assert "unset IMAGELAB_DATA" not in unset and "IMAGELAB_DATA is unset" in unset
    monkeypatch.setenv(data.DATA_ENV, "/somewhere")
    assert "unset IMAGELAB_DATA to download" in str(data._fail("mnist", "x", "file not found"))


# --- results derived from results are what today's code derives: rewriting them changes nothing


@pytest.mark.parametrize("spec", sorted((ROOT / "sweeps").glob("*.yaml")), ids=lambda p: p.stem)
def test_a_sweeps_committed_summary_is_what_imagelab_sweep_writes_again(spec, tmp_path):
    # `make sweep` on a finished sweep trains nothing and rewrites summary.csv: it must come out
    # as committed, or the command dirties the tree (the summaries once lacked the gap column).
    from imagelab.results import tables
    from imagelab.running import sweeps

    sweep = sweeps.load(spec)
    committed = sweep.folder / "summary.csv"
    if not committed.is_file():
        pytest.skip(f"{sweep.name} has not run")
    try:
        tables.read(committed, summary_schema(spec))
    except tables.DamagedTable as error:  # its file plans runs still to come
        pytest.skip(f"{sweep.name} is still to run: {error}")
    today = records.write_csv(sweeps.summary_table(sweep), tmp_path / "summary.csv")
    assert today.read_bytes() == committed.read_bytes(), (
        f"`imagelab sweep {records.relative(spec)}` would rewrite {records.relative(committed)}"
    )

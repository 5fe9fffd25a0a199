"""The reproductions record (reproductions/verify.csv): `imagelab verify --merge` adds another
machine's rows only when every row checks out, never twice, and the report reads the record
through the same checks, one column per machine (CPU and Python)."""

import csv
import hashlib

import pytest

from imagelab import cli, records, report
from imagelab.errors import UserError
from imagelab.judging import reproductions

from .conftest import ROOT

HEAD = records.git_state()["commit"]
needs_git = pytest.mark.skipif(HEAD is None, reason="merging checks commits against git")


def row(**cells):
    """One verification as `imagelab verify --record` writes it, at the project's HEAD."""
    return {
        "date": "2026-12-01T14:06:58+00:00", "commit": (HEAD or "0" * 12)[:12],
        "cpu": "AMD EPYC (family 26 model 2)", "isa": "sse4_2 avx avx2", "onednn": "on",
        "threads": "all", "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6",
        "python": "3.11.7", "run": "dense_mnist", "verdict": "identical", "d_acc": "0.0",
        "d_loss": "0.0", "max_d_history": "0.0", "seconds": "25.2", "rule": "1.3 x farthest seed pair",
        "d_history": "0.0", "ratio_acc": "0.0", "ratio_loss": "0.0", "ratio_history": "0.0",
        "closer": "0.0", "conclusions": "same",
    } | cells  # fmt: skip


def write(path, rows, columns=reproductions.COLUMNS):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


RUNS = ["dense_mnist", "relu_mnist", "cnn_mnist"]


@pytest.fixture
def record(tmp_path, monkeypatch):
    """A record holding one verification, where `imagelab verify --merge` writes."""
    path = write(tmp_path / "verify.csv", [row(cpu="AMD EPYC (family 25 model 17)")])
    monkeypatch.setattr(reproductions, "RECORD", path)
    return path


@pytest.fixture
def contributed(tmp_path):
    """Another machine's verify.csv: three runs."""
    return write(tmp_path / "other.csv", [row(run=run) for run in RUNS])


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_git
def test_merge_of_a_good_file_appends_its_rows_and_says_so(record, contributed, capsys):
    assert cli.main(["verify", "--merge", str(contributed)]) == 0
    assert f"merged 3 rows from {contributed} (0 duplicates skipped)" in capsys.readouterr().out
    table = reproductions.read(record)
    assert list(table["run"]) == ["dense_mnist", *RUNS]
    assert list(table["cpu"].unique()) == ["AMD EPYC (family 25 model 17)", row()["cpu"]]
    assert [p.name for p in record.parent.iterdir() if p.name.startswith(".")] == []


@needs_git
def test_merging_the_same_rows_again_adds_nothing(record, contributed, capsys):
    cli.main(["verify", "--merge", str(contributed)])
    before = digest(record)
    assert cli.main(["verify", "--merge", str(contributed), str(contributed)]) == 0
    out = capsys.readouterr().out
    assert out.count(f"merged 0 rows from {contributed} (3 duplicates skipped)") == 2
    assert "unchanged: no new rows" in out
    assert digest(record) == before


@needs_git
def test_a_file_from_before_the_python_column_needs_python_named(record, tmp_path, capsys):
    old = write(tmp_path / "old.csv", [row(run="relu_mnist")], reproductions.BEFORE_PYTHON)
    before = digest(record)
    assert cli.main(["verify", "--merge", str(old)]) == 2
    assert "before the record had a `python` column" in capsys.readouterr().err
    assert digest(record) == before
    assert cli.main(["verify", "--merge", str(old), "--python", "3.11.7"]) == 0
    merged = reproductions.read(record).iloc[-1]
    assert (merged["run"], merged["python"]) == ("relu_mnist", "3.11.7")


@needs_git
def test_python_option_is_refused_for_a_file_with_its_own_python_column(record, contributed):
    with pytest.raises(UserError, match="has its own `python` column"):
        reproductions.merge([contributed], record, python="3.12.1")


def cut_mid_row(path):
    text = path.read_text()
    path.write_text(text[: text.rindex("identical") + len("withi")] + "\n")
    return path


def cut_without_newline(path):
    path.write_text(path.read_text()[:-3])


BAD_FILES = {
    "columns": (
        lambda p: write(p, [row()], [c for c in reproductions.COLUMNS if c != "isa"]),
        "not a verification record (missing isa)",
    ),
    "verdict": (lambda p: write(p, [row(verdict="same")]), "line 2, column verdict: 'same'"),
    "run": (lambda p: write(p, [row(run="mlp")]), "line 2, column run: 'mlp' is not a run"),
    "commit": (
        lambda p: write(p, [row(), row(run="relu_mnist", commit="0123456789ab")]),
        "line 3, column commit: '0123456789ab' is not a commit of this project",
    ),
    "short commit": (lambda p: write(p, [row(commit="4f4e068")]), "12 hexadecimal characters"),
    "nan": (lambda p: write(p, [row(d_acc="nan")]), "column d_acc: 'nan' is not a finite number"),
    "version": (lambda p: write(p, [row(keras="")]), "line 2, column keras: the cell is empty"),
    "date": (lambda p: write(p, [row(date="2026-12-01")]), "is not a time with its UTC offset"),
    "rule": (lambda p: write(p, [row(rule="2 sd")]), "column rule: '2 sd' is not a rule"),
    "conclusions": (
        lambda p: write(p, [row(conclusions="maybe")]),
        "column conclusions: 'maybe' is not a conclusions verdict",
    ),
    "share": (lambda p: write(p, [row(closer="1.5")]), "closer: 1.5 is out of range"),
    "ratio": (lambda p: write(p, [row(ratio_acc="-1")]), "ratio_acc: -1 is out of range"),
    "cut mid-row": (
        lambda p: cut_mid_row(write(p, [row(), row(run="relu_mnist")])),
        "line 3: 12 cells where the header has 23: the row was cut",
    ),
    "cut at the end": (
        lambda p: cut_without_newline(write(p, [row()])),
        "the last line ends without a newline",
    ),
}


@needs_git
@pytest.mark.parametrize("damage", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_is_refused_naming_the_place_and_nothing_is_written(
    damage, record, tmp_path, capsys
):
    make, message = BAD_FILES[damage]
    bad = tmp_path / "bad.csv"
    make(bad)
    before = digest(record)
    assert cli.main(["verify", "--merge", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"imagelab: error: {bad}") and message in err
    assert "Nothing was written" in err and err.count("\n") == 1  # one paragraph
    assert digest(record) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "verify.csv"]


@needs_git
def test_one_bad_file_among_several_stops_the_whole_merge(record, contributed, tmp_path):
    bad = write(tmp_path / "bad.csv", [row(verdict="withi")])
    before = digest(record)
    with pytest.raises(UserError, match="bad.csv, line 2, column verdict"):
        reproductions.merge([contributed, bad], record)
    assert digest(record) == before


@needs_git
def test_a_known_verification_with_other_numbers_is_refused(record, tmp_path):
    edited = write(tmp_path / "edited.csv", [row(cpu="AMD EPYC (family 25 model 17)", d_acc="1")])
    with pytest.raises(UserError, match="already in .*verify.csv \\(line 2\\) .* in d_acc"):
        reproductions.merge([edited], record)
    same = write(tmp_path / "same.csv", [row(cpu="AMD EPYC (family 25 model 17)", d_acc="0")])
    assert reproductions.merge([same], record)[0].duplicates == 1  # 0 and 0.0 are one number


def test_merge_flags_go_without_run_names_and_python_goes_with_merge(capsys):
    assert cli.main(["verify", "--all", "--merge", "x.csv"]) == 2
    assert cli.main(["verify", "--python", "3.11.7"]) == 2
    err = capsys.readouterr().err
    assert "without run names, --all or --record" in err and "--python goes with --merge" in err


def test_the_report_reader_refuses_a_cut_record(tmp_path):
    path = cut_mid_row(write(tmp_path / "verify.csv", [row(), row(run="relu_mnist")]))
    with pytest.raises(UserError, match="verify.csv, line 3: 12 cells .* the row was cut"):
        report.show_reproducibility(path)


def test_the_committed_record_passes_the_records_checks():
    table = reproductions.read(ROOT / "reproductions" / "verify.csv")
    assert table is not None and table["python"].ne("").all()


def test_the_section_has_one_column_per_cpu_and_python(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(report.reproducibility, "_show", shown.append)
    report.show_reproducibility(tmp_path / "verify.csv")
    assert shown == []  # no record, no section
    intel = "Intel Xeon (family 6 model 207)"
    rows = [
        row(cpu="AMD EPYC (family 25 model 17)", date="2026-11-26T10:00:00+00:00"),
        row(cpu="AMD EPYC (family 25 model 17)", run="relu_mnist", verdict="outside",
            d_acc="0.25", date="2026-11-26T10:00:00+00:00"),
        row(cpu="AMD EPYC (family 25 model 17)", run="relu_mnist",  # the latest counts
            date="2026-11-27T10:00:00+00:00"),
        row(cpu=intel, run="relu_mnist", verdict="within seed noise", d_acc="-0.0004",
            date="2026-11-28T10:00:00+00:00"),
        row(cpu=intel, run="relu_mnist", python="3.12.1", date="2026-11-29T10:00:00+00:00"),
        row(cpu=intel, date="2026-11-25T10:00:00+00:00", commit=(HEAD or "0" * 12)[:12] + "-dirty",
            rule="2 sd per point", d_history="", ratio_acc="", ratio_loss="",
            ratio_history="", closer="", conclusions=""),  # the old rule, from uncommitted code
    ]  # fmt: skip
    report.show_reproducibility(write(tmp_path / "verify.csv", rows), tmp_path)
    text = shown[0]
    assert text.startswith("# Reproducibility")
    assert "6 verification(s) on 2 CPU(s) with 2 Python version(s)" in text
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["machine", "run", "numbers", "conclusions", "note"]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert rows == [
        ["Xeon f6 m207, Py 3.11.7", "dense_mnist", "identical", "-", "old rule, uncommitted code"],
        ["Xeon f6 m207, Py 3.11.7", "relu_mnist", "within seed noise (-0.0004)", "same", ""],
        ["EPYC f25 m17, Py 3.11.7", "dense_mnist", "identical", "same", ""],
        ["EPYC f25 m17, Py 3.11.7", "relu_mnist", "identical", "same", ""],  # the latest
        ["Xeon f6 m207, Py 3.12.1", "relu_mnist", "identical", "same", ""],
    ]
    assert f"- **Xeon f6 m207, Py 3.12.1**: {intel}, Python 3.12.1, tensorflow 2.21.0;" in text
    assert "3 verification(s) from 2026-11-26 to 2026-11-27" in text


def test_verify_help_says_how_long_all_runs_last_took(record, capsys):
    # Never typed: the help sums each run's last recorded time (a newer row replaces an older).
    from imagelab.judging.verify import ALL_RUNS

    rows = [row(run=run, seconds="60.0") for run in ALL_RUNS]
    rows.append(row(run="dense_mnist", seconds="600.0", date="2026-11-30T10:00:00+00:00"))
    write(record, rows)
    with pytest.raises(SystemExit):
        cli.main(["verify", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"({len(ALL_RUNS)} min, each run's last time in reproductions/verify.csv)" in shown
    write(record, [r for r in rows if r["run"] != "playground_spiral"])  # one never recorded
    with pytest.raises(SystemExit):
        cli.main(["verify", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "(no time readable from reproductions/verify.csv)" in shown


def test_rows_of_the_old_rule_are_read_as_recorded_and_marked_so(tmp_path):
    """A record written before issue 34 has no judged columns: its rows keep their verdicts and
    read as judged by the old rule, with the new columns empty."""
    path = write(tmp_path / "verify.csv", [row()], columns=reproductions.BEFORE_RULE)
    table = reproductions.read(path)
    assert table.loc[0, "rule"] == reproductions.OLD_RULE
    assert table.loc[0, "verdict"] == "identical"
    assert table.loc[0, "conclusions"] == ""
    with pytest.raises(UserError, match="column conclusions: the cell is empty"):
        reproductions.append(row(conclusions=""), path)

"""Stored runs: validated when read, one freshness rule, one provenance builder, and a
fingerprint that follows what the code means, not how it is written."""

import datetime as dt
import json

import pandas as pd
import pytest

from imagelab import errors, records
from imagelab.results import exercises, fingerprint, store
from imagelab.results.freshness import freshness, stale_reasons

from .conftest import ROOT, copy_committed_run

RUN = "relu_mnist"


@pytest.fixture
def stored(tmp_path):
    """The committed relu_mnist run, copied into a results folder of its own."""
    return copy_committed_run(RUN, tmp_path)


def _params(folder, **changes):
    return exercises.notebook_defaults(RUN) | {"results_dir": str(folder)} | changes


def _edit_provenance(files, **changes):
    provenance = json.loads(files.provenance.read_text())
    records.write_json(provenance | changes, files.provenance)


def test_a_good_run_loads_with_every_piece(stored):
    run = store.load_run(RUN, stored.results_dir)
    assert run.score["acc"] == pd.read_csv(stored.score)["acc"].iloc[0] > 0.97  # as committed
    assert len(run.history) == 12 * 4 and len(run.epoch_seconds) == 12
    assert len(run.predictions) == 10000 and run.provenance["run_name"] == RUN


def test_a_run_without_files_is_none(tmp_path):
    assert store.load_run("never_ran", tmp_path) is None


def _cut_mid_file(path):
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])


def _cut_to_15_bytes(path):
    path.write_bytes(path.read_bytes()[:15])


def _value_on_line_6(path, value):
    lines = path.read_text().splitlines(keepends=True)
    fields = lines[5].split(",")
    lines[5] = ",".join([fields[0], value, *fields[2:]])
    path.write_text("".join(lines))


def _nan_value(path):
    _value_on_line_6(path, "nan")


def _inf_value(path):
    _value_on_line_6(path, "inf")


def _duplicate_row(path):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines, lines[3]]))


def _drop_last_epoch(path):  # cut exactly at a row boundary: still a well-formed CSV
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("12,")))


@pytest.mark.parametrize(
    ("kind", "damage", "problem"),
    [
        ("history", _cut_mid_file, "ends in the middle of a row"),
        ("history", _cut_to_15_bytes, "ends in the middle of a row"),
        ("history", _nan_value, "has a missing value on line 6"),
        ("history", _inf_value, "has inf in column value on line 6, not a finite number"),
        ("history", _duplicate_row, "has more than one row for epoch 3, loss, training"),
        ("history", _drop_last_epoch, "has 11 epochs where the run trained 12"),
        ("score", _cut_to_15_bytes, "ends in the middle of a row"),
        ("score", lambda p: p.write_text("loss,acc\n0.1,\n"), "has a missing value on line 2"),
        ("score", lambda p: p.write_text("loss,acc\n0.1,1.5\n"), "impossible score"),
        ("score", lambda p: p.unlink(), "is missing, while the run's other files are present"),
        ("provenance", _cut_mid_file, "is not valid JSON"),
        ("predictions", _cut_mid_file, "ends in the middle of a row"),
    ],
)
def test_a_damaged_file_is_named_with_its_problem_and_fix(stored, kind, damage, problem):
    path = getattr(stored, kind)
    damage(path)
    with pytest.raises(store.DamagedResult) as error:
        store.load_run(RUN, stored.results_dir)
    message = str(error.value)
    assert str(path) in message and problem in message
    assert message.endswith("Rerunning its notebook with force=True retrains the run.")
    assert "nan" not in message.replace("'nan'", "") and "Traceback" not in message
    assert isinstance(error.value, errors.UserError)


def test_a_damaged_committed_file_names_git_checkout_and_make_lab(stored, monkeypatch):
    monkeypatch.setattr(records, "PROJECT_ROOT", stored.results_dir)  # as if in the project
    monkeypatch.setattr(store, "committed", lambda path: path == stored.history)
    _cut_to_15_bytes(stored.history)
    with pytest.raises(store.DamagedResult) as error:
        store.load_run(RUN)
    assert str(error.value) == (
        "histories/relu_mnist.csv ends in the middle of a row (the file was cut short). "
        "`git checkout -- histories/relu_mnist.csv` restores the committed file; "
        "`imagelab lab relu_mnist` (or `make lab`) retrains the run."
    )


def test_freshness_missing_and_up_to_date(stored, tmp_path):
    assert freshness(RUN, _params(tmp_path / "empty")) == ("missing", None, ())
    checksums = json.loads(stored.provenance.read_text())["data"]["checksums"]
    state, run, why = freshness(RUN, _params(stored.results_dir), data_checksums=checksums)
    assert state == "up-to-date" and run.name == RUN and why == ()


def test_freshness_different_settings(stored):
    state = freshness(RUN, _params(stored.results_dir, units=128)).state
    assert state == "different"


def test_freshness_stale_on_changed_data_checksums(stored):
    params = _params(stored.results_dir)
    checksums = json.loads(stored.provenance.read_text())["data"]["checksums"]
    fresh = freshness(RUN, params, data_checksums=checksums | {"x_train": "0" * 64})
    assert fresh.state == "stale"
    assert fresh.why == ("the data's checksums differ from those it was trained on",)
    assert fresh.because() == " (the data's checksums differ from those it was trained on)"
    assert stale_reasons(fresh.stored.provenance, checksums) == []  # the run in hand, as trained


def test_freshness_stale_on_another_pinned_library_version(stored):
    provenance = json.loads(stored.provenance.read_text())
    old = provenance["fingerprint"] | {"libraries": {"keras": "3.0.0", "numpy": "2.4.6"}}
    _edit_provenance(stored, fingerprint=old | {"libraries": old["libraries"] | {
        "tensorflow": "2.20.0"}})  # fmt: skip
    fresh = freshness(RUN, _params(stored.results_dir))
    assert fresh.state == "stale"
    pinned = fingerprint.pinned_versions()
    assert f"tensorflow is pinned at {pinned['tensorflow']} now, it was 2.20.0" in fresh.why


def test_freshness_stale_on_changed_code(stored):
    provenance = json.loads(stored.provenance.read_text())
    _edit_provenance(stored, fingerprint=provenance["fingerprint"] | {"code_sha256": "0" * 64})
    assert freshness(RUN, _params(stored.results_dir)).why == (
        "the training code has changed since",
    )


# --- the set: a manifest the store checks (issue 35) -----------------------------------------


def _another_png(path):
    from PIL import Image

    Image.new("RGB", (2, 2), "red").save(path, format="PNG")


def _history_of_another_seed(path):
    path.write_bytes(
        (ROOT / "sweeps/relu_seeds/histories/epochs-12_seed4-80f0bcb5.csv").read_bytes()
    )


def _manifest(**changes):
    def edit(files):
        provenance = json.loads(files.provenance.read_text())
        files_entry = provenance["files"]
        for name, entry in changes.items():
            if entry is None:
                del files_entry[name]
            else:
                files_entry[name] = entry
        records.write_json(provenance, files.provenance)

    return edit


def _set_manifest(files, value):
    provenance = json.loads(files.provenance.read_text())
    records.write_json(provenance | {"files": value}, files.provenance)


SCORE = "scores/relu_mnist.csv"


@pytest.mark.parametrize(
    ("damage", "named", "problem"),
    [
        (lambda f: f.figure("confusion").unlink(), "figures/relu_mnist_confusion.png",
         "is missing, while {provenance} lists it among the run's files"),
        (lambda f: _another_png(f.figure("history")), "figures/relu_mnist_history.png",
         "is not the file {provenance} recorded (79 bytes where it recorded {figure_bytes}: cut short, "
         "or another attempt's file, or one changed since)"),
        (lambda f: _history_of_another_seed(f.history), "histories/relu_mnist.csv",
         "is not the file {provenance} recorded (2652 bytes where it recorded 2666: cut short"),
        (lambda f: _value_on_line_6(f.history, "0.05958717688918115"), "histories/relu_mnist.csv",
         "is not the file {provenance} recorded (sha256 "),
        (lambda f: _another_png(f.figure("loss")), "figures/relu_mnist_loss.png",
         "is not one of the run's files ({provenance} lists "),
        (lambda f: _set_manifest(f, None), "scores/relu_mnist.json",
         "holds files = None, which must be an object"),
        (_manifest(**{SCORE: None}), "scores/relu_mnist.json",
         "does not list scores/relu_mnist.csv among the run's files"),
        (_manifest(**{"../../etc/passwd": {"bytes": 1, "sha256": "0" * 64}}),
         "scores/relu_mnist.json", "lists ../../etc/passwd among the run's files, which is not"),
        (_manifest(**{SCORE: {"bytes": -1, "sha256": "x"}}), "scores/relu_mnist.json",
         "holds files.scores/relu_mnist.csv = "),
    ],
    ids=["figure-missing", "figure-of-another-attempt", "history-of-another-run",
         "history-changed-since", "extra-figure",
         "manifest-null", "manifest-lacks-a-file", "manifest-lists-a-stranger",
         "manifest-entry-malformed"],
)  # fmt: skip
def test_files_that_are_not_the_set_the_manifest_records_are_damage(stored, damage, named, problem):
    damage(stored)
    with pytest.raises(store.DamagedResult) as error:
        store.load_run(RUN, stored.results_dir)
    message = str(error.value)
    figure_bytes = records.run_files(RUN).figure("history").stat().st_size  # as committed
    expected = f"{stored.results_dir / named} " + problem.format(
        provenance=stored.provenance, figure_bytes=figure_bytes
    )
    assert message.startswith(expected), message
    assert "\n" not in message and message.endswith("retrains the run.")


def test_a_run_without_a_manifest_names_the_tool_that_records_it(stored):
    provenance = json.loads(stored.provenance.read_text())
    del provenance["files"]
    records.write_json(provenance, stored.provenance)
    with pytest.raises(store.DamagedResult, match=r"has no manifest of the run's files .*"
                                                  r"`python tools/manifests.py FOLDER`"):  # fmt: skip
        store.load_run(RUN, stored.results_dir)


def test_the_manifest_tool_records_a_whole_set_once_and_refuses_a_broken_one(stored, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("manifests", ROOT / "tools" / "manifests.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    committed = json.loads(stored.provenance.read_text())
    provenance = json.loads(stored.provenance.read_text())
    del provenance["files"]
    records.write_json(provenance, stored.provenance)
    assert tool.main([str(stored.results_dir)]) == 0
    assert json.loads(stored.provenance.read_text()) == committed  # the same files recorded
    again = stored.provenance.read_bytes()
    assert tool.main([str(stored.results_dir)]) == 0  # idempotent: checked, not rewritten
    assert stored.provenance.read_bytes() == again
    assert "0 manifests recorded, 1 runs had theirs (checked), 0 refused" in capsys.readouterr().out
    records.write_json(provenance, stored.provenance)  # no manifest again, and a figure gone
    stored.figure("misclassified").unlink()
    assert tool.main([str(stored.results_dir)]) == 1
    assert "relu_mnist_misclassified.png missing: its set is not whole" in capsys.readouterr().out
    assert json.loads(stored.provenance.read_text()) == provenance  # left as it was


def _reader(**replacements):
    """Read project files as now, with some texts edited."""

    def read(path):
        text = fingerprint.read_worktree(path)
        for old, new in replacements.get(path.replace("/", "_").replace(".", "_"), []):
            assert old in text, (path, old)
            text = text.replace(old, new)
        return text

    return read


NOTEBOOK = "notebooks/02_relu_mnist.ipynb"
MODELS = "src_imagelab_models_py"


@pytest.mark.parametrize(
    "edit",
    [
        [('"""Exercise one:', '"""Documented differently. Exercise one:')],  # a docstring
        [("import keras\n", "import keras  # the deep-learning API\n")],  # a comment
        [("from __future__ import annotations\n", "from __future__ import annotations\n\n\n")],
    ],
    ids=["docstring", "comment", "formatting"],
)
def test_fingerprint_ignores_docstrings_comments_and_formatting(edit):
    assert fingerprint.fingerprint(NOTEBOOK, read=_reader(**{MODELS: edit})) == (
        fingerprint.fingerprint(NOTEBOOK)
    )


# The normal form is ours, not ast.dump's: these exact texts hold on every supported Python
# (`make matrix` runs this test on each), which is what keeps a stored run up to date there.
# 3.12 adds `type_params=[]` to functions and classes and 3.13 drops empty fields in ast.dump.
@pytest.mark.parametrize(
    "source, expected",
    [
        (
            "def f(x, *, y=1):\n    return g(x)[0]",
            "Module(body=[FunctionDef(name='f', args=arguments(args=[arg(arg='x')], "
            "kwonlyargs=[arg(arg='y')], kw_defaults=[Constant(value=1)]), "
            "body=[Return(value=Subscript(value=Call(func=Name(id='g', ctx=Load()), "
            "args=[Name(id='x', ctx=Load())]), slice=Constant(value=0), ctx=Load()))])])",
        ),
        (
            "class A(B):\n    x: int = 2\nf'{a!r:>4} b'",
            "Module(body=[ClassDef(name='A', bases=[Name(id='B', ctx=Load())], "
            "body=[AnnAssign(target=Name(id='x', ctx=Store()), "
            "annotation=Name(id='int', ctx=Load()), value=Constant(value=2), simple=1)]), "
            "Expr(value=JoinedStr(values=[FormattedValue(value=Name(id='a', ctx=Load()), "
            "conversion=114, format_spec=JoinedStr(values=[Constant(value='>4')])), "
            "Constant(value=' b')]))])",
        ),
    ],
    ids=["function", "class-and-f-string"],
)
def test_normal_form_is_the_same_text_on_every_python(source, expected):
    assert fingerprint.normal_form(source) == expected


def test_fingerprint_changes_with_the_code_and_the_pinned_versions():
    today = fingerprint.fingerprint(NOTEBOOK)
    source = fingerprint.read_worktree("src/imagelab/models.py")
    assert '"learning_rate": 1.0' in source
    edited = fingerprint.fingerprint(
        NOTEBOOK, read=_reader(**{MODELS: [('"learning_rate": 1.0', '"learning_rate": 1.5')]})
    )  # Adadelta's Keras 2 learning rate
    assert edited["code_sha256"] != today["code_sha256"]
    lock = {"requirements_lock": [("tensorflow==", "tensorflow==0.0.0+")]}
    assert (
        fingerprint.fingerprint(NOTEBOOK, read=_reader(**lock))["libraries"] != today["libraries"]
    )


def test_a_change_declared_speed_only_keeps_stored_runs_up_to_date(monkeypatch):
    today = fingerprint.fingerprint(NOTEBOOK)
    stored = today | {"code_sha256": "before"}
    assert fingerprint.differences(stored, today) == ["the training code has changed since"]
    chain = {"before": {"now": "between"}, "between": {"now": today["code_sha256"]}}
    monkeypatch.setattr(fingerprint, "SAME_NUMBERS", chain)
    assert fingerprint.differences(stored, today) == []
    loop = {"before": {"now": "between"}, "between": {"now": "before"}}
    monkeypatch.setattr(fingerprint, "SAME_NUMBERS", loop)
    assert fingerprint.differences(stored, today) == ["the training code has changed since"]


def test_every_speed_only_change_was_verified_identical_on_every_exercise():
    """Each SAME_NUMBERS entry carries its proof: `make verify --all` at its commit found every
    exercise identical to the committed runs (reproductions/verify.csv), or, where those were
    trained on another CPU, its ``evidence`` (studies/same_numbers.py) found every exercise
    retrained by the older and the newer code on one machine identical, value for value."""
    record = pd.read_csv(ROOT / "reproductions" / "verify.csv", dtype={"commit": str})
    assert fingerprint.SAME_NUMBERS
    for before, entry in fingerprint.SAME_NUMBERS.items():
        if "evidence" not in entry:
            rows = record[record["commit"].str.startswith(entry["verified_at"])]
            verdicts = rows.groupby("run")["verdict"].last()
            assert all(verdicts.get(name) == "identical" for name in exercises.EXERCISES), entry
            continue
        table = pd.read_csv(ROOT / entry["evidence"], dtype=str)
        rows = table[table["old_code"] == before[:12]]
        assert sorted(rows["run"].str.replace("_bf16", "")) == sorted(exercises.EXERCISES), entry
        assert (rows["new_code"] == entry["now"][:12]).all(), entry
        same = rows[["history_same", "score_same", "predictions_same"]]
        assert (same == "True").all(axis=None), entry


def test_fingerprint_of_a_notebook_stops_at_run_fit(tmp_path):
    cells = json.loads((ROOT / NOTEBOOK).read_text())["cells"]
    forms = fingerprint.notebook_form(NOTEBOOK)
    code = [c for c in cells if c["cell_type"] == "code"]
    fit = next(i for i, c in enumerate(code) if "run.fit(" in "".join(c["source"]))
    assert len(forms) == fit  # the parameters cell left out, the fit cell included


def test_provenance_names_the_float_path_and_cpu_seconds():
    provenance = store.build_provenance(
        run_name="x",
        exercise=RUN,
        notebook=NOTEBOOK,
        parameters={"seed": 1},
        data={},
        score={"loss": 0.1, "acc": 0.9},
        started=dt.datetime.now(dt.UTC),
        epoch_seconds=[1.0],
        train_seconds=1.0,
        cpu_seconds=1.8,
    )
    machine = provenance["machine"]
    for key in ("cpu", "cpu_vendor", "isa_flags", "cores", "onednn", "tf_enable_onednn_opts"):
        assert key in machine, key
    assert provenance["cpu_seconds"] == 1.8 and provenance["seed"] == 1

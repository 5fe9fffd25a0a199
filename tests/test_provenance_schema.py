"""A stored run is read through one schema: every key the code reads has a type and a range,
a canonical run name keeps its name only on the verified data (by content), and a history's
values stay in their ranges. Anything else is a damaged file, in one paragraph (issue 26)."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from imagelab import data, records
from imagelab.errors import UserError
from imagelab.results import exercises, provenance_schema, store
from imagelab.results.freshness import freshness
from imagelab.running import runs

from .conftest import ROOT, copy_committed_run, seal_run

RUN = "dense_mnist"


@pytest.fixture
def stored(tmp_path):
    """The committed dense_mnist run, copied into a results folder of its own."""
    return copy_committed_run(RUN, tmp_path)


def _set(files, dotted, value):
    """Set one (dotted) key of the run's provenance; ``...`` deletes it."""
    provenance = json.loads(files.provenance.read_text())
    *parents, key = dotted.split(".")
    holder = provenance
    for parent in parents:
        holder = holder[parent]
    if value is ...:
        del holder[key]
    else:
        holder[key] = value
    records.write_json(provenance, files.provenance)


OTHER_SHA = "0" * 64


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("fingerprint", "garbage", "holds fingerprint = 'garbage', which must be null or an obj"),
        ("data", "x", "holds data = 'x', which must be an object"),
        ("score.loss", "abc", "holds score.loss = 'abc', which must be a finite loss >= 0"),
        ("score.acc", 1.5, "holds score.acc = 1.5, which must be an accuracy in [0, 1]"),
        ("train_seconds", "13", "holds train_seconds = '13', which must be a finite number"),
        ("wall_seconds", -1.0, "holds wall_seconds = -1.0"),
        ("git", "abc", "holds git = 'abc', which must be an object"),
        ("git.dirty", "no", "holds git.dirty = 'no'"),
        ("versions", ["2.21"], "holds versions = ['2.21'], which must be an object"),
        ("parameters.epochs", "twelve", "holds parameters.epochs = 'twelve': epochs must be"),
        ("parameters.learning_rate", -1, "parameters.learning_rate = -1: learning_rate must be"),
        ("parameters", [], "holds parameters = [], which must be an object"),
        ("seed", 2**32, "holds seed = 4294967296, which must be null or an integer in [0, 4"),
        ("epoch_seconds", [1.0, "x"], "holds epoch_seconds = [1.0, 'x'], which must be a list"),
        ("machine.cores", "2", "holds machine.cores = '2', which must be an integer >= 1"),
        ("fingerprint.libraries", "tf", "holds fingerprint.libraries = 'tf'"),
        ("fingerprint.version", "3", "holds fingerprint.version = '3'"),
        (
            "data.checksums.x_train",
            "zz",
            "holds data.checksums.x_train = 'zz', which must be a sha",
        ),
        ("exercise", "nope", "holds exercise = 'nope', which must be one of dense_mnist"),
        ("exercise", ["dense_mnist"], "holds exercise = ['dense_mnist'], which must be one of"),
        ("score", ..., "lacks the keys score"),
        ("data.dataset", ..., "lacks the key data.dataset"),
        ("machine", ..., "lacks the key machine"),  # a canonical run's: the report reads them
        ("data.verified_against", ..., "lacks the key data.verified_against"),
        ("train_seconds", ..., "lacks the key train_seconds"),
        ("data.dataset", "cifar10", "says the dense_mnist run trained on 'cifar10', not 'mnist'"),
        ("run_name", "relu_mnist", "belongs to the run 'relu_mnist'"),
    ],
)
def test_a_provenance_breaking_the_schema_is_a_damaged_file(stored, key, value, problem):
    _set(stored, key, value)
    with pytest.raises(store.DamagedResult) as error:
        store.load_run(RUN, stored.results_dir)
    message = str(error.value)
    assert str(stored.provenance) in message and problem in message, message
    assert message.endswith("retrains the run.")


# Issue 35: facts that cannot be true, printed by the report or ending in a traceback, and
# unknown keys accepted everywhere but under parameters. The committed dense_mnist run started
# at 2026-11-26T15:10:17 and finished 14 s later, with 13.7 wall seconds on 2 cores.
@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("train_seconds", 1e12, "says train_seconds is 1e+12 s, more than the run's own wall"),
        ("cpu_seconds", 1e4, "says cpu_seconds is 10000 s, more than the run's own wall time on "
                             "its 2 cores"),
        ("epoch_seconds", [9.0] * 12, "says the sum of epoch_seconds is 108 s, more than the"),
        ("wall_seconds", 1e6, "says wall_seconds 1e+06 where it started at 2026-"),
        ("finished", "yesterday", "holds finished = 'yesterday', which must be a date and time"),
        ("finished", "2026-11-26", "holds finished = '2026-11-26', which must be a date and time"),
        ("finished", "2026-02-30T00:00:00+00:00", "holds finished = '2026-02-30T00:00:00+00:00'"),
        ("finished", "1900-01-01T00:00:00+00:00", "finished at 1900-01-01T00:00:00+00:00, before "
                                                  "Keras 3 existed (2023-11-28)"),
        ("finished", "2999-01-01T00:00:00+00:00", "finished at 2999-01-01T00:00:00+00:00, in the "
                                                  "future"),
        ("started", "2026-12-01T00:00:00+00:00", "finished at 2026-11-26T15:10:31+00:00, before "
                                                 "it started (2026-12-01T00:00:00+00:00)"),
        ("git.commit", "zzz", "holds git.commit = 'zzz', which must be null or a full commit hash"),
        ("seed", 7, "says seed 7 where its parameters say seed 2019; a run has one seed"),
        ("seed", None, "says seed None where its parameters say seed 2019"),
        ("exercise", "cnn_mnist", "says the canonical run 'dense_mnist' ran the cnn_mnist exercise"),
        ("parameters.precision", "mixed_bfloat16", "says the canonical run 'dense_mnist' trained in "
                                                    "'mixed_bfloat16'; that name holds the run in float32"),
        ("score.accuracy", 0.9, "holds the key score.accuracy, which no run's provenance has "
                                "(score holds acc, train_acc, test_acc, loss,"),
        ("data.colour", "red", "holds the key data.colour, which no run's provenance has"),
        ("machine.gpu", "none", "holds the key machine.gpu, which no run's provenance has"),
        ("git.branch", "main", "holds the key git.branch, which no run's provenance has"),
        ("versions.torch", "2.5", "holds the key versions.torch, which no run's provenance has"),
        ("data.checksums.x_val", OTHER_SHA, "holds the key data.checksums.x_val, which no run"),
        ("surprise", 1, "holds the key surprise, which no run's provenance has (a provenance "
                        "holds run_name, exercise,"),
    ],
)  # fmt: skip
def test_a_provenance_whose_facts_cannot_be_true_is_a_damaged_file(stored, key, value, problem):
    _set(stored, key, value)
    with pytest.raises(store.DamagedResult) as error:
        store.load_run(RUN, stored.results_dir)
    message = str(error.value)
    assert str(stored.provenance) in message and problem in message, message
    assert "\n" not in message and message.endswith("retrains the run.")


def test_another_exercise_named_over_a_runs_parameters_is_refused(stored, tmp_path):
    # Issue 35: a relu_mnist run saying it was cnn_mnist ended in KeyError: 'filters'.
    other = records.run_files("mislabelled", tmp_path / "other")
    for kind in ("history", "score", "predictions", "provenance"):
        getattr(other, kind).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(getattr(stored, kind), getattr(other, kind))
    _set(other, "run_name", "mislabelled")
    _set(other, "exercise", "cnn_mnist")
    with pytest.raises(store.DamagedResult) as error:
        store.load_run("mislabelled", other.results_dir)
    assert (
        "says it ran the cnn_mnist exercise, but its parameters are not that notebook's (it has "
        "activation, units, which notebooks/03_cnn_mnist.ipynb has not; it lacks dense_units, "
        "dropout, filters): another exercise's run, or a mislabelled one"
    ) in str(error.value)


def test_a_fresh_provenance_from_the_builder_holds_to_the_schema_and_its_facts():
    import datetime as dt

    parameters = exercises.settings_of(exercises.notebook_defaults("relu_mnist"))
    provenance = store.build_provenance(
        run_name="fresh", exercise="relu_mnist", notebook="notebooks/02_relu_mnist.ipynb",
        parameters=parameters, data={"dataset": "mnist"}, score={"loss": 0.1, "acc": 0.9},
        started=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5), epoch_seconds=[1.0, 1.5],
        train_seconds=3.0, cpu_seconds=4.0, git={"commit": "0" * 40, "dirty": False},
        attempt="host-1-abcdef",
    )  # fmt: skip
    assert provenance_schema.problem(json.loads(json.dumps(provenance)), "fresh") is None


def test_a_commit_git_does_not_know_is_marked_where_it_is_shown():
    head = records.git_state()["commit"]
    assert records.shown_commit(head) == head[:10]
    assert records.shown_commit("0123456789" * 4) == "0123456789 (unknown to git)"
    assert records.shown_commit(None) == "unknown (not recorded)"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("data.checksums.x_train", OTHER_SHA, "x_train's sha256 is not the verified one"),
        ("data.n_train", 100, "n_train is 100, the verified copy has 60000"),
        ("data.n_test", 9999, "n_test is 9999, the verified copy has 10000"),
        ("data.checksums", {}, "x_train's sha256 is not the verified one"),
    ],
)
def test_a_canonical_run_keeps_its_name_only_on_the_verified_data(stored, key, value, problem):
    # Issue 26.1: made-up data in a folder named keras.datasets took over dense_mnist.
    _set(stored, key, value)
    _set(stored, "data.verified_against", "keras.datasets/checksums.json (imported)")
    with pytest.raises(store.DamagedResult) as error:
        store.load_run(RUN, stored.results_dir)
    message = str(error.value)
    assert "holds the canonical run 'dense_mnist', but its data is not the verified copy" in message
    assert problem in message


def test_the_same_data_under_another_name_is_no_canonical_run_and_loads(stored, tmp_path):
    other = records.run_files("dense_other_data", tmp_path / "other")
    for kind in ("history", "score", "predictions", "provenance"):
        getattr(other, kind).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(getattr(stored, kind), getattr(other, kind))
    _set(other, "run_name", "dense_other_data")
    _set(other, "data.n_train", 100)
    seal_run(other)  # its own set, under its own name
    assert (
        store.load_run("dense_other_data", other.results_dir).provenance["data"]["n_train"] == 100
    )


def test_every_committed_provenance_holds_to_the_schema():
    paths = sorted((ROOT / "scores").glob("*.json")) + sorted(ROOT.glob("sweeps/*/scores/*.json"))
    assert len(paths) > 12
    for path in paths:
        problem = provenance_schema.problem(json.loads(path.read_text()), path.stem)
        assert problem is None, f"{path}: {problem}"


def test_every_key_the_report_reads_is_in_the_schema():
    # The keys the issue found unchecked, and those the report's sentences are built from.
    for key in ("fingerprint", "data", "score.loss", "score.acc", "train_seconds", "git",
                "wall_seconds", "epoch_seconds", "machine.cores", "seed", "parameters"):  # fmt: skip
        assert key in provenance_schema.SCHEMA


def _history_with(path: Path, metric: str, value: str, column: str = "value") -> None:
    history = pd.read_csv(path)
    row = history.index[history["metric"] == metric][2]
    history[column] = history[column].astype(object)
    history.loc[row, column] = value
    history.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("metric", "column", "value", "problem"),
    [
        ("acc", "value", "5.0", "has acc 5.0 on line"),
        ("acc", "value", "-0.1", "has acc -0.1 on line"),
        ("loss", "value", "-2", "has loss -2.0 on line"),
        ("loss", "seconds", "-1.5", "has negative seconds on line"),
    ],
)
def test_a_history_value_out_of_its_range_is_refused(stored, metric, column, value, problem):
    _history_with(stored.history, metric, value, column)
    with pytest.raises(store.DamagedResult) as error:
        store.load_run(RUN, stored.results_dir)
    assert problem in str(error.value) and str(stored.history) in str(error.value)


def test_seed_spread_leaves_out_runs_not_on_the_verified_data(tmp_path, capsys):
    from .test_report import _fake_run

    sweep = tmp_path / "sweeps" / "s"
    for seed in (1, 2):
        _fake_run(sweep, f"run{seed}", 0.99, 0.98, 0.97, exercise="relu_mnist", seed=seed)
    _set(records.run_files("run2", sweep), "data.checksums.x_test", OTHER_SHA)
    table = pd.read_csv(runs.collect_seeds(tmp_path / "sweeps", tmp_path / "no_canonical_runs"))
    assert list(table["seed"]) == [1]
    assert "left out 1 run(s) not on the verified data" in capsys.readouterr().out


def test_canonical_differences_is_by_content_not_by_name():
    verified = {key: data.KNOWN_CHECKSUMS["mnist"][key] for key in data.ARRAYS}
    assert data.canonical_differences("mnist", verified, data.KNOWN_SIZES["mnist"]) == []
    fewer = data.KNOWN_SIZES["mnist"] | {"n_test": 100}
    assert data.canonical_differences("mnist", verified, fewer) == [
        "n_test is 100, the verified copy has 10000"
    ]
    assert data.canonical_differences("mnist", verified | {"y_test": OTHER_SHA}, fewer)[0] == (
        "y_test's sha256 is not the verified one"
    )
    assert data.canonical_differences("keras.datasets", verified, data.KNOWN_SIZES["mnist"])


def test_schema_problems_are_user_errors_in_one_paragraph(stored):
    _set(stored, "fingerprint", "garbage")
    with pytest.raises(UserError) as error:
        freshness(RUN, exercises.notebook_defaults(RUN), stored.results_dir)
    assert "\n" not in str(error.value) and "AttributeError" not in str(error.value)


def test_the_playground_runs_go_through_the_same_schema():
    spiral = json.loads((ROOT / "scores" / "playground_spiral.json").read_text())
    assert provenance_schema.problem(spiral, "playground_spiral") is None
    spiral["weights"][0][0] = "x"  # what playground_run hands to model.set_weights
    assert provenance_schema.problem(spiral, "playground_spiral").startswith("holds weights = ")
    search = json.loads((ROOT / "scores" / "playground_search.json").read_text())
    assert provenance_schema.problem(search, "playground_search") is None
    assert "holds runs = '280'" in provenance_schema.problem(
        search | {"runs": "280"}, "playground_search"
    )
    bad_epochs = search | {"parameters": search["parameters"] | {"epochs": 0}}
    assert "parameters.epochs = 0: epochs must be" in provenance_schema.problem(
        bad_epochs, "playground_search"
    )


def _paths(value, prefix=()):
    """Every (nested) key path of a JSON object."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))


@pytest.mark.parametrize("run", ["dense_mnist", "playground_spiral", "playground_search"])
def test_any_value_anywhere_is_judged_never_raised(run):
    committed = json.loads((ROOT / "scores" / f"{run}.json").read_text())
    for path in _paths(committed):
        for garbage in ("x", [], {}, None, -1, 2**70, [["x"]], True):
            provenance = json.loads(json.dumps(committed))
            holder = provenance
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = garbage
            result = provenance_schema.problem(provenance, run)  # a string or None, never raises
            assert result is None or isinstance(result, str)

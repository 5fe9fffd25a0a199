"""imagelab verify: the verdicts (identical, within seed noise, outside), the exit status, the
record row, and that a rerun never writes into the folders of the runs it checks."""

import hashlib
import platform
import re
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from imagelab import cli, data, machine, records
from imagelab.errors import UserError
from imagelab.judging import reproductions, verify
from imagelab.results import exercises, manifest, store

from .conftest import ROOT, seal_run

# --- verdicts on hand-made results (no training) ----------------------------------------------


def write_run(folder, name="run", acc=0.9, loss=0.3, shift=0.0, seconds=1.0, seed=1):
    """A two-epoch run under ``folder``, as ``store.load_run`` reads it; ``shift`` moves every
    history value."""
    files = records.run_files(name, folder)
    rows = [
        (epoch, value + shift, metric, data, seconds)
        for epoch in (1, 2)
        for metric, data, value in (
            ("loss", "training", 0.5 / epoch),
            ("acc", "training", 0.8 + epoch / 100),
            ("loss", "validation", 0.6 / epoch),
            ("acc", "validation", 0.7 + epoch / 100),
        )
    ]
    records.write_csv(pd.DataFrame(rows, columns=records.HISTORY_COLUMNS), files.history)
    records.write_csv(pd.DataFrame([{"loss": loss, "acc": acc}]), files.score)
    true = np.arange(data.KNOWN_SIZES["mnist"]["n_test"]) % 10  # every test image, as recorded
    predictions = pd.DataFrame({"index": np.arange(len(true)), "true": true, "predicted": true})
    records.write_csv(predictions, files.predictions)
    settings = exercises.settings_of(exercises.notebook_defaults("relu_mnist")) | {"seed": seed}
    if name.endswith("_bf16"):  # a canonical bfloat16 name holds a bfloat16 run
        settings["precision"] = "mixed_bfloat16"
    provenance = {"run_name": name, "exercise": "relu_mnist", "parameters": settings, "seed": seed}
    verified = {k: v for k, v in data.KNOWN_CHECKSUMS["mnist"].items() if k in data.ARRAYS}
    mnist = {"dataset": "mnist", "checksums": verified, "verified_against": "test"}
    provenance |= {"data": mnist | data.KNOWN_SIZES["mnist"], "versions": {}}  # as canonical
    provenance |= {"git": {"commit": None}, "machine": {"cores": 2}}
    provenance |= {"finished": "2026-01-01T00:00:00+00:00"}
    provenance |= {"epoch_seconds": [seconds, seconds], "train_seconds": 2 * seconds}
    provenance |= {"score": {"loss": loss, "acc": acc}}
    records.write_json(provenance, files.provenance)
    seal_run(files)
    return store.load_run(name, folder)


def seed_runs(tmp_path, shifts, accs=None):
    """Seed runs keyed by seed: each ``shift`` moves the whole history, ``accs`` the scores."""
    accs = accs or [0.9 + s for s in shifts]
    return {
        seed: write_run(tmp_path / f"seed{seed}", acc=acc, loss=0.3 - shift, shift=shift)
        for seed, (shift, acc) in enumerate(zip(shifts, accs, strict=True), start=1)
    }


SHIFTS = [-0.002, -0.001, 0.0, 0.001, 0.002, 0.0005, -0.0015]  # 7 seeds, 21 pairs


def test_rerun_with_the_same_numbers_is_identical_though_its_seconds_differ(tmp_path):
    committed = write_run(tmp_path / "committed")
    rerun = write_run(tmp_path / "rerun", seconds=7.5)
    result = verify.compare("relu_mnist", committed, rerun, {})
    assert result.verdict == "identical"
    assert result.d_acc == result.d_loss == result.max_d_history == 0


def test_other_predictions_are_not_identical(tmp_path):
    committed = write_run(tmp_path / "committed")
    rerun = write_run(tmp_path / "rerun")
    predictions = rerun.predictions.copy()
    predictions.loc[1, "predicted"] = (predictions.loc[1, "true"] + 1) % 10
    records.write_csv(predictions, rerun.files.predictions)
    seal_run(rerun.files)  # the rerun's own set
    rerun = store.load_run("run", tmp_path / "rerun")
    assert verify.compare("relu_mnist", committed, rerun, {}).verdict == "outside"


def test_a_rerun_as_close_as_most_seed_pairs_is_within_seed_noise(tmp_path):
    committed = write_run(tmp_path / "committed")
    rerun = write_run(tmp_path / "rerun", acc=0.9012, loss=0.2988, shift=0.0012)
    result = verify.compare("relu_mnist", committed, rerun, seed_runs(tmp_path, SHIFTS))
    assert result.verdict == "within seed noise"
    assert result.d_acc == pytest.approx(0.0012)
    assert result.standing.pairs == 21
    # seed pairs closer together than 0.0012 on every distance: 0.0005 apart (4), 0.001 (4);
    # the nearest seed pair distances, 0.001 and 0.0015, are far from it in the last bits
    assert result.standing.closer == pytest.approx(
        dict.fromkeys(("acc", "loss", "history"), 8 / 21)
    )
    # the farthest seed pair lies 0.004 apart: 0.0012 is 0.3 of it (within: up to 1.3)
    assert result.standing.ratio == pytest.approx(0.3)
    assert result.standing.words().startswith("0.30 x the farthest of 21 seed pairs")
    assert result.standing.words().endswith("farther apart than 38% of them")


def test_a_score_farther_than_every_seed_pair_is_outside(tmp_path):
    committed = write_run(tmp_path / "committed")
    rerun = write_run(tmp_path / "rerun", acc=0.91)
    result = verify.compare("relu_mnist", committed, rerun, seed_runs(tmp_path, SHIFTS))
    assert result.verdict == "outside"
    assert result.standing.closer["acc"] == 1.0
    assert result.standing.closer["history"] == 0.0  # the same history: only the score moved
    assert verify.exit_status([result]) == 1


def test_a_history_farther_than_the_seed_pairs_is_outside_even_with_the_same_score(tmp_path):
    committed = write_run(tmp_path / "committed")
    rerun = write_run(tmp_path / "rerun", shift=0.006)  # 1.5 x the farthest pair's 0.004
    result = verify.compare("relu_mnist", committed, rerun, seed_runs(tmp_path, SHIFTS))
    assert result.verdict == "outside"
    assert result.standing.ratios["history"] == pytest.approx(1.5)
    assert result.standing.closer["acc"] == 0.0
    nearer = write_run(tmp_path / "nearer", shift=0.005)  # 1.25 x: within the margin
    assert verify.compare("relu_mnist", committed, nearer, seed_runs(tmp_path, SHIFTS)).verdict == (
        "within seed noise"
    )


def test_with_fewer_than_two_seed_runs_only_identical_passes(tmp_path):
    committed = write_run(tmp_path / "committed")
    rerun = write_run(tmp_path / "rerun", acc=0.90001)
    result = verify.compare("relu_mnist", committed, rerun, seed_runs(tmp_path, [0.0]))
    assert result.verdict == "outside"
    assert result.standing is None
    assert any("fewer than two seed runs" in note for note in result.notes)


def test_seed_runs_reads_seeds_csv_and_loads_each_seed_run(tmp_path):
    sources = []
    for seed in (1, 2):
        stored = write_run(tmp_path / "sweep", name=f"seed{seed}", acc=0.9 + seed / 1000, seed=seed)
        sources.append(str(stored.files.provenance))
    seeds = records.run_files("seeds", tmp_path).score
    table = {"run": "relu_mnist", "seed": [1, 2], "loss": 0.3, "acc": [0.901, 0.902]}
    records.write_csv(pd.DataFrame(table | {"source": sources}), seeds)
    runs = verify.seed_runs("relu_mnist", tmp_path)
    assert sorted(runs) == [1, 2]
    assert runs[2].score["acc"] == pytest.approx(0.902)
    assert len(runs[1].history) == 8
    assert verify.seed_runs("relu_mnist_bf16", tmp_path).keys() == runs.keys()  # float32 seeds
    assert verify.seed_runs("cnn_mnist", tmp_path) == {}


def test_record_appends_one_well_formed_row_per_run(tmp_path):
    committed = write_run(tmp_path / "committed")
    seeds = seed_runs(tmp_path, SHIFTS[:3])
    result = verify.compare("relu_mnist", committed, committed, seeds, 12.34, "differ: Q10")
    result = replace(result, versions={"tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6"})
    path = tmp_path / "reproductions" / "verify.csv"
    verify.append_record(result, path)
    verify.append_record(result, path)
    table = pd.read_csv(path, dtype={"python": str})
    assert list(table.columns) == reproductions.COLUMNS
    assert len(table) == 2
    row = table.iloc[-1]
    assert row["run"] == "relu_mnist" and row["verdict"] == "identical"
    assert row["rule"] == "1.3 x farthest seed pair" and row["conclusions"] == "differ: Q10"
    assert row["ratio_acc"] == 0 and row["d_history"] == 0 and row["closer"] == 0
    assert row["seconds"] == 12.3 and row["d_acc"] == 0
    assert row["python"] == platform.python_version()
    assert row["cpu"] and pd.Timestamp(row["date"]).tzinfo is not None
    assert [p.name for p in path.parent.iterdir()] == ["verify.csv"]  # no temp file left
    assert len(reproductions.read(path)) == 2  # what verify writes, the record's reader accepts


def test_record_refuses_a_row_without_versions_and_writes_nothing(tmp_path):
    committed = write_run(tmp_path / "committed")
    result = verify.compare("relu_mnist", committed, committed, {}, seconds=1.0)
    path = tmp_path / "verify.csv"
    with pytest.raises(UserError, match="column tensorflow: the cell is empty"):
        verify.append_record(result, path)
    assert list(tmp_path.glob("*.csv")) == []


def test_verify_with_a_damaged_record_stops_before_training(tmp_path):
    record = tmp_path / "verify.csv"
    record.write_text(",".join(reproductions.COLUMNS) + "\n2026-11-26T12:23:41+00:00,4cb8\n")
    with pytest.raises(UserError, match="line 2: 2 cells where the header has 23"):
        verify.verify(["relu_mnist"], committed_dir=tmp_path, scratch=tmp_path / "s", record=record)
    assert not (tmp_path / "s").exists()


def test_cpu_facts_name_the_model_and_only_known_isa_flags():
    facts = verify.cpu_facts()
    assert facts["cpu"]
    assert set(facts["isa"].split()) <= set(machine.ISA_FLAGS) | {"none"}


def test_verify_stops_before_training_when_there_is_no_committed_run(tmp_path):
    with pytest.raises(ValueError, match="relu_mnist: no stored run under .*make lab"):
        verify.verify(["relu_mnist"], committed_dir=tmp_path, scratch=tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "relu"], "run must be one of 'dense_mnist', 'relu_mnist'"),
        (["verify", "relu_mnist", "--all"], "run names or --all, not both"),
        (["verify", "cnn_mnist_bf16", "--record"], "not recorded beside those verdicts"),
    ],
)
def test_verify_refuses_bad_run_names_before_training(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


# --- end to end: papermill reruns of a run trained on the fixture data --------------------------

FIXTURE_RUN = {"run_names": {"relu_mnist": "fixture_relu"}, "parameters": {"epochs": 2}}


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    """A relu_mnist run on the 300 fixture images, 2 epochs, as the 'committed' run."""
    from imagelab.data import DATA_ENV
    from imagelab.running import runs

    folder = tmp_path_factory.mktemp("committed")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DATA_ENV, str(ROOT / "tests" / "fixtures"))
        runs.execute(
            runs.PROJECT_ROOT / "notebooks" / "02_relu_mnist.ipynb",
            folder / "committed.ipynb",
            {"run_name": "fixture_relu", "results_dir": str(folder), "epochs": 2},
        )
    (folder / "committed.ipynb").unlink()  # no seeds.csv: only 'identical' can pass
    return folder


def checksums(*folders):
    return {
        path: hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
def test_rerun_of_a_fixture_run_is_identical_and_writes_only_to_scratch(
    committed, fixture_data, tmp_path, capsys
):
    results = [ROOT / name for name in ("histories", "scores", "figures")]
    before = checksums(committed, *results)
    record = tmp_path / "verify.csv"
    status = verify.main(
        ["relu_mnist"],
        record=record,
        committed_dir=committed,
        scratch=tmp_path / "scratch",
        **FIXTURE_RUN,
    )
    assert status == 0
    assert checksums(committed, *results) == before
    assert records.run_files("fixture_relu", tmp_path / "scratch" / "relu_mnist").score.is_file()
    # Identical, byte for byte: the `committed` fixture was trained on this machine too.
    assert re.search(r"\nrelu_mnist +identical ", capsys.readouterr().out)
    row = pd.read_csv(record).iloc[0]
    assert (row["run"], row["verdict"], row["d_acc"]) == ("relu_mnist", "identical", 0)
    assert row["tensorflow"] and row["keras"] and row["numpy"]


@pytest.mark.slow
def test_committed_score_nudged_beyond_the_noise_is_outside_and_exits_1(
    committed, fixture_data, tmp_path, capsys
):
    nudged = tmp_path / "nudged"
    shutil.copytree(committed, nudged)
    stored = store.load_run("fixture_relu", nudged)  # score and provenance nudged alike
    score = stored.score | {"acc": stored.score["acc"] + 0.05}
    records.write_csv(pd.DataFrame([score]), stored.files.score)
    records.write_json(stored.provenance | {"score": score}, stored.files.provenance)
    manifest.refresh(stored.files, stored.files.score)  # the nudged score, as its set records
    status = verify.main(
        ["relu_mnist"],
        committed_dir=nudged,
        scratch=tmp_path / "scratch",
        **FIXTURE_RUN,
    )
    assert status == 1
    out = capsys.readouterr().out
    assert "outside" in out and "-0.0500" in out

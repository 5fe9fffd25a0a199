"""The numbers rule of `make verify`, shown on the committed runs before it judges anything:
it passes the seed runs themselves (at least 90 % of each exercise's) and calls runs of another
setting *outside*; and its arithmetic on hand-made runs."""

from types import SimpleNamespace

import pandas as pd
import pytest

from imagelab.judging import seed_noise
from imagelab.records import run_files
from imagelab.results import tables
from imagelab.results.exercises import EXERCISES


def run(shift: float, acc: float = 0.9, loss: float = 0.3, epochs: int = 2) -> SimpleNamespace:
    """A run whose every history value is moved by ``shift``."""
    rows = [
        (epoch, base + shift, metric, data)
        for epoch in range(1, epochs + 1)
        for metric, data, base in (("loss", "training", 0.5), ("acc", "validation", 0.8))
    ]
    history = pd.DataFrame(rows, columns=["epoch", "value", "metric", "data"])
    return SimpleNamespace(history=history, score={"acc": acc, "loss": loss})


def test_the_three_distances_are_plain_differences():
    found = seed_noise.distances(run(0.003, acc=0.91, loss=0.28), run(0.0))
    assert found == pytest.approx({"acc": 0.01, "loss": 0.02, "history": 0.003})
    validation_only = run(0.0)
    validation_only.history.loc[validation_only.history["data"] == "validation", "value"] += 0.5
    assert seed_noise.distances(validation_only, run(0.0))["history"] == 0.0  # training loss
    longer = seed_noise.distances(run(0.0, epochs=3), run(0.0))
    assert longer["history"] == float("inf")  # runs of different lengths are not two seeds


def test_within_means_no_farther_than_1_3_times_the_farthest_seed_pair():
    reference = pd.DataFrame({"acc": range(1, 21), "loss": 0.0, "history": 0.0})  # 20 pairs
    beyond_all = seed_noise.standing({"acc": 25, "loss": 0.0, "history": 0.0}, reference)
    assert beyond_all.worst == 1.0 and beyond_all.ratio == 1.25 and beyond_all.within
    assert beyond_all.words() == (
        "1.25 x the farthest of 20 seed pairs (acc), farther apart than 100% of them"
    )
    too_far = seed_noise.standing({"acc": 27, "loss": 0.0, "history": 0.0}, reference)
    assert too_far.ratio == pytest.approx(1.35) and not too_far.within
    moved = seed_noise.standing({"acc": 1, "loss": 0.001, "history": 0.0}, reference)
    assert moved.ratios["loss"] == float("inf") and not moved.within  # seeds never moved it
    assert not seed_noise.standing({"acc": 0.0}, reference.iloc[:0]).within  # no pairs: no pass


def test_a_seed_run_is_not_judged_against_its_own_distance():
    runs = {seed: run(shift) for seed, shift in ((1, 0.0), (2, 0.001), (3, 0.002), (9, 0.01))}
    table = seed_noise.calibration(runs, canonical_seed=1)
    assert list(table["seed"]) == [2, 3, 9]
    # seed 9 lies 0.01 from the canonical run; left out, the farthest pair is 0.009 (2 and 9)
    assert table.set_index("seed").loc[9, "closer_history"] == 1.0


# --- on the committed runs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def calibration():
    return seed_noise.calibration_table()


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_keras_exercise_has_ten_float32_seed_runs(exercise):
    table = tables.read(run_files("seeds").score, tables.SEEDS)
    assert table.loc[table["run"] == exercise, "seed"].nunique() >= 10


def test_the_rule_passes_at_least_90_percent_of_each_exercises_seed_runs(calibration):
    seeds = calibration[calibration["case"] == "seed run"]
    rates = seeds.groupby("exercise")["within"].mean()
    assert set(rates.index) == set(EXERCISES)
    assert (rates >= 0.9).all(), rates.to_dict()


def test_the_rule_calls_runs_of_another_setting_outside(calibration):
    other = calibration[calibration["expected"] == "outside"]
    assert {"activation relu", "activation linear", "dropout 0.5", "dropout 0.0"} <= set(
        other["case"]
    )
    assert not other["within"].any(), other.loc[other["within"], ["exercise", "judged"]]


def test_verify_shows_the_calibration_without_retraining(capsys):
    from imagelab import cli

    assert cli.main(["verify", "--calibration"]) == 0
    out = capsys.readouterr().out
    assert "relu_mnist         within seed noise:" in out
    assert "dropout 0.5          against cnn_mnist          outside:" in out

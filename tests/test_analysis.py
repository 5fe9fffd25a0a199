"""Each judgement in `analysis`, tested directly on small hand-made histories and tables."""

import numpy as np
import pandas as pd
import pytest

from imagelab import analysis


def _history(train_acc, val_acc):
    """A history with the given per-epoch training and validation accuracies (loss 1 - acc)."""
    rows = [
        (epoch, value, metric, data, 1.0)
        for data, accs in (("training", train_acc), ("validation", val_acc))
        for epoch, acc in enumerate(accs, start=1)
        for metric, value in (("acc", acc), ("loss", 1 - acc))
    ]
    return pd.DataFrame(rows, columns=["epoch", "value", "metric", "data", "seconds"])


def test_gap_is_the_mean_of_the_last_three_epochs_not_the_last_one():
    history = _history([0.5, 0.9, 0.9, 0.9, 0.99], [0.5, 0.9, 0.9, 0.9, 0.90])
    final = analysis.final_accuracy(history)
    assert final["train_acc"] == pytest.approx(0.93)
    assert final["val_acc"] == pytest.approx(0.90)
    assert final["gap"] == pytest.approx(0.03)  # the last epoch alone would say 0.09


def test_generalisation_names_overfitting_by_the_gap():
    assert "overfits" in analysis.generalisation(_history([0.99] * 3, [0.95] * 3))
    assert "generalises well" in analysis.generalisation(_history([0.95] * 3, [0.948] * 3))
    assert "No sign of overfitting" in analysis.generalisation(_history([0.90] * 3, [0.95] * 3))


def test_steady_epoch_is_the_median_after_the_first_and_the_first_for_one_epoch():
    assert analysis.steady_epoch_seconds([30.0, 10.0, 12.0, 11.0]) == 11.0
    assert analysis.steady_epoch_seconds([30.0]) == 30.0  # not NaN


def test_epoch_time_sentence_reads_right_for_one_two_and_more_epochs():
    one = analysis.epoch_time_sentence([30.0])
    assert one.startswith("The one epoch took 30.0 s, graph tracing included")
    assert "median" not in one and "range" not in one and "nan" not in one
    two = analysis.epoch_time_sentence([30.0, 10.0])
    assert two == "An epoch took 10.0 s (epoch 2; the first took 30.0 s)."
    many = analysis.epoch_time_sentence([30.0, 10.0, 12.0, 11.0], seconds_2019=120)
    assert "11.0 s (median of epochs 2-4; range 10.0-12.0 s" in many
    assert "10.9x as long" in many


@pytest.mark.parametrize(
    ("epochs", "said", "unsaid"),
    [
        (1, "in its only epoch, training accuracy was 0.9000", "last"),
        (2, "over both epochs, training accuracy averaged", "last"),
        (3, "over all 3 epochs, training accuracy averaged", "last"),
        (12, "over the last 3 epochs, training accuracy averaged", "all"),
    ],
)
def test_generalisation_names_the_epochs_it_averaged_for_any_run_length(epochs, said, unsaid):
    text = analysis.generalisation(_history([0.9] * epochs, [0.9] * epochs))
    assert said in text and unsaid not in text.split("(gap")[0]


def test_plateau_sentence_reads_right_for_short_runs():
    one = analysis.plateau_sentence(_history([0.5], [0.4]))
    assert "0.4000 after the only epoch" in one and "epoch 1 to" not in one
    assert "plateaued" not in one  # one point shows no trend either way
    two = analysis.plateau_sentence(_history([0.5, 0.6], [0.4, 0.5]))
    assert "after epoch 2" in two and "over both epochs it was still rising" in two
    long = analysis.plateau_sentence(_history([0.5] * 20, [0.4] * 20))
    assert "over the last 5 epochs it was flat" in long


def test_accuracies_compare_at_their_stored_precision():
    stored = float(np.float32(0.9801))  # 0.98009998...
    # Exact on any CPU: np.round is a multiply, rint and divide, each correctly rounded.
    assert analysis.exact_accuracy(stored) == 0.9801
    assert analysis.accuracy_difference(stored, 0.9801) == 0.0
    assert f"{analysis.accuracy_difference(stored, 0.9801):+.4f}" == "+0.0000"
    assert analysis.accuracy_difference(0.9776, 0.9187) == pytest.approx(0.0589)


def test_score_sentence_does_not_print_minus_zero_for_2019s_own_number():
    class Exercise:
        result_2019 = {"loss": 0.0701, "acc": 0.9801}

    text = analysis.score_sentence({"loss": 0.07, "acc": float(np.float32(0.9801))}, Exercise)
    assert "(+0.0000 now)" in text and "-0.0000" not in text


def test_accuracy_versus_says_what_2019_expected_and_whether_it_held():
    text = analysis.accuracy_versus(0.9776, 0.9187, "dense_mnist", expected="worse")
    assert "better (+0.0589)" in text
    assert "2019 expected it to do worse than dense_mnist; that did not hold." in text
    held = analysis.accuracy_versus(0.99, 0.98, "cnn_mnist", expected="better")
    assert "that held" in held and "did not" not in held
    assert "the same (+0.0000)" in analysis.accuracy_versus(0.9801, 0.98009998, "x")


def test_gap_versus_compares_the_size_of_the_gaps():
    small, large = _history([0.9] * 3, [0.89] * 3), _history([0.99] * 3, [0.9] * 3)
    assert "(+0.0100) is smaller than that of other (+0.0900)" in analysis.gap_versus(
        small, large, "other"
    )
    assert "is larger" in analysis.gap_versus(large, small, "other")


def test_plateau_tells_rising_from_flat():
    # The slope is a least-squares fit (np.polyfit), whose last bits differ between CPUs, so no
    # series sits on PLATEAU_SLOPE: 0.70 then four 0.71s is exactly 0.002 per epoch, which
    # polyfit put a hair below it on one CPU and a hair above on another (AMD Zen 5).
    rising = _history([0.5] * 6, [0.50, 0.55, 0.60, 0.65, 0.70, 0.75])
    assert analysis.plateau(rising)["rising"]
    assert "had not plateaued yet" in analysis.plateau_sentence(rising)
    flat = _history([0.5] * 6, [0.50, 0.705, 0.71, 0.71, 0.71, 0.71])  # 0.001 per epoch
    p = analysis.plateau(flat)
    assert p["slope"] == pytest.approx(0.001, abs=1e-12)  # polyfit is off by ~1e-16 here
    assert not p["rising"] and p["best_epoch"] == 3  # the first of the equal best
    assert "it had plateaued" in analysis.plateau_sentence(flat)
    # Just either side of the threshold, by a quarter of it: far beyond any rounding.
    for factor, rises in ((1.25, True), (0.75, False)):
        slope = factor * analysis.PLATEAU_SLOPE
        near = analysis.plateau(_history([0.5] * 5, [0.9 + slope * e for e in range(5)]))
        assert near["slope"] == pytest.approx(slope, rel=1e-9)  # the series is what we meant
        assert near["rising"] == rises, (factor, near["slope"])


def test_sweep_digest_uses_the_three_epoch_gap_and_names_the_best_setting():
    summary = pd.DataFrame(
        {
            "run_id": ["a1", "a2", "b1", "b2", "c1"],
            "dropout": [0.0, 0.0, 0.5, 0.5, 0.5],
            "seed": [1, 2, 1, 2, 3],
            "status": ["complete"] * 4 + ["failed"],
            "train_acc": [0.99] * 4 + [np.nan],  # last epoch: a gap of 0.09 for b
            "val_acc": [0.98, 0.98, 0.90, 0.90, np.nan],
            "test_acc": [0.980, 0.982, 0.990, 0.986, np.nan],
            "wall_seconds": [60.0, 62.0, 70.0, 72.0, np.nan],
        }
    )
    histories = {
        "a1": _history([0.99] * 3, [0.97] * 3),
        "a2": _history([0.99] * 3, [0.97] * 3),
        "b1": _history([0.99] * 3, [0.985] * 3),
        "b2": _history([0.99] * 3, [0.985] * 3),
    }
    table, text = analysis.sweep_digest(summary, ["dropout"], histories)
    assert table["runs"].tolist() == [2, 2]
    assert table["gap_mean"].tolist() == pytest.approx([0.02, 0.005])
    assert "Highest mean test accuracy: dropout=0.5 (0.9880 over 2 seeds)" in text
    _, by_epochs = analysis.sweep_digest(summary.assign(dropout=20), ["dropout"], histories)
    assert "dropout=20 (" in by_epochs  # an integer setting prints as one
    assert (
        "Smallest train-validation gap (each run's last 3 epochs, all of a shorter run's): dropout=0.5 (+0.0050)"
        in text
    )
    assert "1 run(s) failed: c1." in text
    _, without = analysis.sweep_digest(summary, ["dropout"])
    assert "gap" not in without  # no histories: no gap claimed
    with_column = summary.assign(gap=[0.02, 0.02, 0.005, 0.005, np.nan])  # as sweeps write it
    assert analysis.sweep_digest(with_column, ["dropout"])[0]["gap_mean"].tolist() == pytest.approx(
        [0.02, 0.005]
    )


def test_sweep_digest_says_when_the_seeds_do_not_separate_the_best_setting():
    summary = pd.DataFrame(
        {
            "run_id": ["a1", "a2", "a3", "b1", "b2", "b3"],
            "dropout": [0.0] * 3 + [0.25] * 3,
            "seed": [1, 2, 3] * 2,
            "status": ["complete"] * 6,
            "test_acc": [0.9887, 0.9888, 0.9906, 0.9893, 0.9894, 0.9898],  # the committed sweep
            "wall_seconds": [60.0] * 6,
        }
    )
    _, close = analysis.sweep_digest(summary, ["dropout"])
    assert "dropout=0.25 (0.9895 over 3 seeds)" in close
    assert "lead over the next best, dropout=0.0, is 0.0001 and their seed ranges overlap" in close
    assert "(0.9893-0.9898 against 0.9887-0.9906): the seeds do not tell them apart" in close
    apart = summary.assign(test_acc=[0.980, 0.981, 0.982, 0.990, 0.991, 0.992])
    _, clear = analysis.sweep_digest(apart, ["dropout"])
    assert "is 0.0100: every seed of it lies above every seed of the other" in clear
    one_seed = summary[summary["seed"] == 1]
    assert "lead" not in analysis.sweep_digest(one_seed, ["dropout"])[1]  # no spread, no verdict


def test_playground_glossary_reads_the_learning_rate_switch_and_the_search():
    epochs = np.arange(1, 401)
    loss = np.where(epochs < 301, 1 / epochs + 0.01 * (epochs % 2), 0.003 + 0.0001 * (epochs % 2))
    history = pd.DataFrame(
        {"epoch": epochs, "value": loss, "metric": "loss", "data": "training", "seconds": 0.1}
    )
    params = {
        "learning_rate": 0.1, "later_learning_rate": 0.01, "switch_epoch": 301,
        "activation": "tanh", "regularization": None, "regularization_rate": 0.0,
        "train_ratio": 0.5, "noise": 0, "batch_size": 10,
    }  # fmt: skip
    search = pd.DataFrame(
        {
            "feature_set": ["all"] * 4 + ["raw"] * 2,
            "hidden": ["2", "2", "3", "3", "8-8", "8-8"],
            "neurons": [2, 2, 3, 3, 16, 16],
            "seed": [1, 2, 1, 2, 1, 2],
            "test_loss": [0.3, 0.2, 0.05, 0.2, 0.08, 0.09],
            "success": [False, False, True, False, True, True],
        }
    )
    glossary = analysis.playground_glossary(history, params, search).set_index("setting")
    shown = glossary["what our runs show"]
    assert "0.1 until epoch 300, then 0.01" in shown["Learning rate"]
    assert "calmer after, as 2019 intended" in shown["Learning rate"]
    assert shown["Input features"] == "best success rate all: 50 %, raw: 100 %"
    smallest = shown["Hidden layers, neurons"]  # Q23's criterion first, then any one seed
    assert "on at least half its seeds, all features, hidden layers 3 (3 neurons)" in smallest
    assert "on any one seed, all features, hidden layers 3 (3 neurons)" in smallest
    assert shown["Ratio training:test"] == "50 % training (not varied)"


def _provenance(load_1min=None, cores=2, epoch_seconds=(30.0, 10.0, 12.0, 11.0), **extra):
    load = {"start": [load_1min, 1, 1], "end": [load_1min, 1, 1]} if load_1min else None
    return {"machine": {"cores": cores}, "load_average": load,
            "epoch_seconds": list(epoch_seconds), **extra}  # fmt: skip


def test_a_run_is_contended_when_the_load_exceeds_the_cores_or_it_got_little_cpu():
    assert analysis.contention(_provenance(2.5))["contended"] is False  # the run alone: load ~2
    assert analysis.contention(_provenance(3.7))["contended"] is True
    assert analysis.contention(_provenance())["contended"] is None  # no load recorded
    starved = _provenance(2.4, cpu_seconds=40.0, train_seconds=100.0)  # 20 % of 2 cores
    assert analysis.contention(starved) == {
        "contended": True, "load": 2.4, "cores": 2, "cpu_share": 0.2,
    }  # fmt: skip
    assert "1-minute load up to 3.7 on 2 cores" in analysis.contention_note(_provenance(3.7))


def test_timing_answers_from_the_benchmark_where_it_covers_the_network():
    # Idle or contended, the benchmark's number is the answer; the run's own is beside it.
    for load in (1.0, 5.0):
        assert analysis.epoch_timing(_provenance(load), 9.0) == {
            "seconds": 9.0, "source": "benchmark", "run_seconds": 11.0,
        }  # fmt: skip
        said = analysis.timing_sentence(_provenance(load), 9.0, seconds_2019=120)
        assert said.startswith("An epoch takes 9.0 s by the benchmark's idle measurement")
        assert "13.3x as long" in said  # 120 / 9.0: the 2019 ratio from the benchmark's number
        beside = said.split("For comparison, ")[1]
        assert beside.startswith("the run's own epochs, on the CPU that trained it (slow spells")
        assert "11.0 s (median of epochs 2-4" in beside
        assert ("shared the cores" in beside) == (load > 3)


def test_timing_without_a_benchmark_uses_the_run_only_when_it_had_the_cores():
    assert analysis.epoch_timing(_provenance(1.0)) == {
        "seconds": 11.0, "source": "run", "run_seconds": 11.0,
    }  # fmt: skip
    idle = analysis.timing_sentence(_provenance(1.0), seconds_2019=120)
    assert "An epoch took 11.0 s" in idle and "run's own epochs (no benchmark" in idle
    assert "10.9x" in idle
    assert analysis.epoch_timing(_provenance(5.0))["seconds"] is None
    busy = analysis.timing_sentence(_provenance(5.0))
    assert "11.0" not in busy and "draw no conclusion" in busy and "No idle measurement" in busy


def test_time_versus_answers_from_the_benchmark_with_the_runs_own_beside_it():
    fast, slow = _provenance(1.0), _provenance(1.0, epoch_seconds=(30.0, 20.0, 21.0))
    busy = _provenance(5.0, epoch_seconds=(30.0, 40.0, 41.0))
    for ours in (fast, busy):
        paired = analysis.time_versus(ours, slow, "b", idle=(64.4, 62.4))
        answer, beside = paired.split("For comparison, ")
        assert answer.startswith("A training epoch takes 64.4 s against 62.4 s for b (+2.0 s)")
        assert "by the benchmark's idle measurement" in answer and "20.5" not in answer
        assert beside.startswith("the run's own epochs, on the CPU that trained it")
        assert "against 20.5 s" in beside
    assert "40.5 s against 20.5 s (+20.0 s); they shared the cores (this run 1-minute" in (
        analysis.time_versus(busy, slow, "b", idle=(64.4, 62.4))
    )


def test_time_versus_without_a_benchmark_compares_only_uncontended_runs():
    fast, slow = _provenance(1.0), _provenance(1.0, epoch_seconds=(30.0, 20.0, 21.0))
    assert "11.0 s against 20.5 s for b (-9.5 s), the runs' own epochs" in analysis.time_versus(
        fast, slow, "b"
    )
    busy = _provenance(5.0, epoch_seconds=(30.0, 40.0, 41.0))
    assert analysis.time_versus(busy, slow, "b").startswith("No timing conclusion")


def test_compare_with_and_dropout_effect_read_the_other_run_from_the_store(tmp_path):
    from types import SimpleNamespace

    from imagelab.results import store
    from tests.test_report import _fake_run

    _fake_run(tmp_path, "cnn_mnist", 0.999, 0.80, 0.8123)
    with_dropout = SimpleNamespace(
        name="cnn_dropout_mnist",
        params={"results_dir": str(tmp_path)},
        result=SimpleNamespace(score={"acc": 0.9861}, history=_history([0.985] * 3, [0.984] * 3)),
        stored_beside=lambda other: store.load_run(other, tmp_path),  # as run.Run finds it
    )
    assert "0.9861 on the test set against 0.8123 for cnn_mnist: better" in (
        analysis.compare_with(with_dropout, "cnn_mnist")
    )
    effect = analysis.dropout_effect(with_dropout, "cnn_mnist")
    assert "end closer together (gap +0.0010 against +0.1990 without)" in effect
    assert "No stored results of 'relu_mnist'" in analysis.compare_with(with_dropout, "relu_mnist")


def test_matmul_share_is_against_the_runs_best_matmul():
    bench = pd.Series({"matmul_fp32": 200.0, "dense_mnist/gflops": 90.0, "cnn_mnist/gflops": 150.0})
    assert analysis.matmul_shares(bench, ["dense_mnist", "cnn_mnist"]) == [45.0, 75.0]


@pytest.mark.parametrize("epochs", [1, 2, 3, 12])
def test_history_plot_spans_whole_epochs_for_any_run_length(epochs):
    # A 1-epoch run's axis once ran 0.96-1.04 with ticks at 0.6, 0.8, ...: every tick is a
    # whole epoch of the run, and the axis holds epochs 1 to n with half an epoch either side.
    from imagelab import plots

    history = _history([0.5] * epochs, [0.4] * epochs)
    for figure in (plots.history(history), plots.histories_compared({"a": history})):
        axis = figure.axes[-1]
        assert axis.get_xlim() == (0.5, epochs + 0.5)
        ticks = [t for t in axis.get_xticks() if 0.5 <= t <= epochs + 0.5]
        assert ticks and all(float(t).is_integer() and 1 <= t <= epochs for t in ticks)
        assert 1 in ticks or epochs > 3
        plots.close(figure)


def test_time_versus_shows_the_difference_of_the_numbers_it_shows():
    paired = analysis.time_versus(_provenance(1.0), _provenance(1.0), "b", idle=(26.84, 23.27))
    assert "26.8 s against 23.3 s for b (+3.5 s)" in paired  # not +3.6, from unrounded values


@pytest.mark.parametrize("epochs", [1, 2, 2000])
def test_playground_loss_curves_show_any_run_length(epochs):
    from imagelab import playground_plots, plots

    rows = [(e, 0.5 / e, "loss", d) for d in ("training", "test") for e in range(1, epochs + 1)]
    figure = playground_plots.loss_curves(
        pd.DataFrame(rows, columns=["epoch", "value", "metric", "data"])
    )
    axis = figure.axes[0]
    assert axis.get_xlim() == (0.5, epochs + 0.5)
    # A 1-epoch run is one point per split: drawn as a marker, since a line of one point is not.
    assert all((line.get_marker() == "o") == (epochs <= playground_plots.POINTS_UP_TO)
               for line in axis.get_lines()[:2])  # fmt: skip
    plots.close(figure)

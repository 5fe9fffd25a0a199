"""Exercise three: the Playground's spiral, loss, settings and training, the search and its
success rates, and the notebook end to end."""

import inspect
import json

import numpy as np
import pandas as pd
import papermill
import pytest

from imagelab import analysis
from imagelab import playground as pg
from imagelab.records import PROJECT_ROOT
from imagelab.results.freshness import current_fingerprint
from imagelab.running import playground_run, playground_search

CANONICAL = {
    "features": list(pg.FEATURES), "hidden": [3], "activation": "tanh", "learning_rate": 0.1,
    "later_learning_rate": 0.01, "switch_epoch": 1501, "regularization": None,
    "regularization_rate": 0.0, "noise": 0, "batch_size": 10, "train_ratio": 0.5,
    "epochs": 2000, "seed": 2019,
}  # fmt: skip


def test_spiral_has_250_points_per_class_split_by_the_training_ratio():
    data = pg.spiral(noise=0, train_ratio=0.5, seed=1)
    labels = np.concatenate([data.y_train, data.y_test])
    assert (len(data.x_train), len(data.x_test)) == (250, 250)
    assert sorted(set(labels)) == [-1.0, 1.0]
    assert (labels == 1).sum() == (labels == -1).sum() == 250
    assert len(pg.spiral(train_ratio=0.3, seed=1).x_train) == 150


def test_noise_zero_puts_every_point_exactly_on_its_spiral():
    points, labels = pg.spiral_points(noise=0)
    n = 250
    radius = np.hypot(points[:, 0], points[:, 1])
    assert radius.min() == 0 and radius.max() == pytest.approx(5 * (n - 1) / n)
    i = radius * n / 5  # r = 5 i / n, so each radius gives back the point's index
    # Tolerances: np.sin, np.cos and np.hypot may differ by a few ulp between CPUs (SIMD or libm
    # paths); at radius 5 that is ~1e-15, far inside both.
    np.testing.assert_allclose(i, np.round(i), atol=1e-9)
    t = 1.75 * 2 * np.pi * np.round(i) / n + np.where(labels == 1, 0, np.pi)
    expected = np.column_stack([radius * np.sin(t), radius * np.cos(t)])
    np.testing.assert_allclose(points, expected, atol=1e-12)


def test_noise_moves_each_coordinate_by_at_most_noise_over_100():
    clean, _ = pg.spiral_points(noise=0)
    noisy, _ = pg.spiral_points(noise=50, rng=np.random.default_rng(3))
    shift = np.abs(noisy - clean)
    assert shift.max() <= 0.5 and shift.max() > 0.4


def test_features_are_the_playgrounds_seven():
    points = np.array([[1.0, 2.0]])
    row = pg.feature_matrix(points, list(pg.FEATURES))[0]
    np.testing.assert_allclose(row, [1, 2, 1, 4, 2, np.sin(1), np.sin(2)], rtol=1e-6)


def test_loss_is_half_the_mean_squared_error_against_minus_one_plus_one_labels():
    output = np.array([0.5, -1.0, 0.0], dtype="float32")
    labels = np.array([1.0, -1.0, -1.0], dtype="float32")
    # 0.5 * ((0.5 - 1)^2 + 0^2 + (0 + 1)^2) / 3 = 0.5 * 1.25 / 3, in float32 (~1e-7 relative)
    assert float(pg.playground_loss(output, labels)) == pytest.approx(0.5 * 1.25 / 3, rel=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": ["x1", "x3"]}, "features must be one of"),
        ({"features": []}, "features must be a non-empty list"),
        ({"hidden": [0]}, "hidden must be a list"),
        ({"hidden": [9]}, "hidden must be a list"),
        ({"hidden": "3"}, "hidden must be a list"),
        ({"train_ratio": 1.0}, "train_ratio must be a number strictly between 0 and 1"),
        ({"train_ratio": 0}, "train_ratio must be"),
        ({"noise": 60}, "noise must be a number from 0 to 50"),
        ({"activation": "rellu"}, "activation must be one of"),
        ({"regularization": "L3"}, "regularization must be one of"),
        ({"learning_rate": 0}, "learning_rate must be a number > 0"),
        ({"switch_epoch": None}, "later_learning_rate and switch_epoch go together"),
        ({"switch_epoch": 2001}, "switch_epoch must be an integer from 2 to epochs"),
        ({"batch_size": 251}, "batch_size must be from 1 to the number of training points"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        playground_run.check_settings(**(CANONICAL | change))


def test_canonical_settings_name_every_setting_and_are_accepted():
    assert set(CANONICAL) == set(inspect.signature(playground_run.check_settings).parameters)
    assert (
        playground_run.check_settings(**CANONICAL) is None
    )  # raises for any setting it does not allow


# --- training: several seeds side by side are the same as one by one ---------------------

TINY = CANONICAL | {"epochs": 12, "switch_epoch": 8}


def _histories(results):
    return [r.history["value"].to_numpy() for r in results]


@pytest.mark.parametrize(
    "change",
    [{}, {"features": ["x1", "x2"], "hidden": [4, 2], "regularization": "L2",
          "regularization_rate": 0.03}],
    ids=["all-3", "raw-4-2-L2"],
)  # fmt: skip
def test_seeds_trained_together_match_each_seed_trained_alone(change):
    settings = TINY | change
    _, _, together = pg.train_seeds(settings, [1, 2])
    alone = [pg.train_seeds(settings, [seed])[2][0] for seed in (1, 2)]
    # Bit for bit on one machine, both trained in this process (train_seeds' claim); not a
    # comparison with numbers trained on another CPU.
    for a, b in zip(_histories(together), _histories(alone), strict=True):
        np.testing.assert_array_equal(a, b)
    assert {r.trained_together for r in together} == {2}
    assert together[0].score != together[1].score  # each seed its own data and weights


def test_a_seed_decides_the_data_split_and_the_initial_weights():
    (m1, m1b), (d1, d1b), _ = pg.train_seeds(TINY | {"epochs": 1, "switch_epoch": None,
                                                      "later_learning_rate": None}, [1, 1])  # fmt: skip
    # Exact: one seed's data and weights twice, computed alike in this process.
    np.testing.assert_array_equal(d1.x_train, d1b.x_train)
    for w, wb in zip(m1.get_weights(), m1b.get_weights(), strict=True):
        np.testing.assert_array_equal(w, wb)
    assert not np.array_equal(d1.x_train, pg.spiral(seed=2).x_train)


def test_one_epoch_of_one_batch_is_one_gradient_step_of_the_playground_loss():
    import keras
    import tensorflow as tf

    from imagelab import training

    settings = CANONICAL | {"epochs": 1, "batch_size": 250, "later_learning_rate": None,
                            "switch_epoch": None, "seed": 5}  # fmt: skip
    training.set_seed(5)
    reference = pg.build_model(7, [3])
    data = pg.spiral(seed=5)
    x = pg.feature_matrix(data.x_train, list(pg.FEATURES))
    with tf.GradientTape() as tape:
        loss = pg.playground_loss(
            keras.ops.reshape(reference(x), (-1,)), data.y_train.astype("float32")
        )
    gradients = tape.gradient(loss, reference.trainable_variables)
    expected = [
        w.numpy() - 0.1 * g.numpy()
        for w, g in zip(reference.trainable_variables, gradients, strict=True)
    ]
    [model], _, [result] = pg.train_seeds(settings, [5])
    # Two float32 computations of one gradient, summed in different orders: 1e-6 is ~30 ulp of
    # these weights (< 0.5); the two agree to 1 ulp here.
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert result.history["epoch"].max() == 1


# --- the search and its success rates ------------------------------------------------------


GRID = {
    "search_feature_sets": ["raw", "all"],
    "search_hidden": [[1], [2, 2]],
    "search_seeds": [1, 2],
}


def test_search_on_a_tiny_grid_writes_one_row_per_network_and_its_provenance(tmp_path):
    settings = TINY | {"epochs": 3, "switch_epoch": None, "later_learning_rate": None}
    table = playground_search.search(settings, GRID, tmp_path)
    playground_search.seal(tmp_path)  # as PlaygroundRun.search does: table and provenance, one set
    stored = playground_search.read_search(tmp_path)
    assert len(table) == len(stored) == 8 and list(stored.columns) == playground_search.COLUMNS
    assert list(stored["hidden"].unique()) == ["1", "2-2"]
    assert set(stored["trained_together"]) == {2}
    provenance = json.loads((tmp_path / "scores" / "playground_search.json").read_text())
    assert provenance["parameters"]["search_seeds"] == [1, 2] and provenance["runs"] == 8
    assert "features" not in provenance["parameters"] and provenance["parameters"]["epochs"] == 3
    assert provenance["fingerprint"] == playground_search.current_fingerprint()


def test_a_stored_search_is_fresh_until_its_grid_code_or_rows_change(tmp_path):
    settings = TINY | {"epochs": 2, "switch_epoch": None, "later_learning_rate": None}
    grid = GRID | {"search_hidden": [[1]], "search_seeds": [1]}
    assert playground_search.freshness(settings, grid, tmp_path) == ("missing", "")
    playground_search.search(settings, grid, tmp_path)
    playground_search.seal(tmp_path)
    figure = tmp_path / "figures" / "playground_search_success.png"
    figure.parent.mkdir()
    figure.touch()
    assert playground_search.freshness(settings, grid, tmp_path) == ("up-to-date", "")
    assert playground_search.freshness(settings, grid | {"search_seeds": [1, 2]}, tmp_path)[0] == (
        "different"
    )
    path = tmp_path / "scores" / "playground_search.json"
    provenance = json.loads(path.read_text())
    path.write_text(json.dumps(provenance | {"fingerprint": provenance["fingerprint"] | {
        "code_sha256": "0"}}))  # fmt: skip
    state, why = playground_search.freshness(settings, grid, tmp_path)
    assert state == "stale" and "training code has changed" in why
    (tmp_path / "scores" / "playground_search.csv").write_text("feature_set,hidden\nraw,1")
    assert playground_search.freshness(settings, grid, tmp_path)[0] == "damaged"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"search_feature_sets": ["everything"]}, "search_feature_sets must be one of"),
        ({"search_hidden": [[9]]}, "hidden must be a list"),
        ({"search_seeds": []}, "search_seeds must be a non-empty list"),
        ({"search": "yes"}, "search must be True or False"),
        ({"epochs": 20, "switch_epoch": 15}, "reserved for the canonical 2019 settings"),
        ({"run_name": "playground_search"}, "holds the search"),
    ],
)
def test_the_notebook_refuses_bad_parameters_before_any_training(change, message, tmp_path):
    from imagelab.errors import UserError
    from imagelab.results.exercises import notebook_defaults

    params = notebook_defaults("playground_spiral") | {"results_dir": str(tmp_path)} | change
    with pytest.raises(UserError, match=message):
        playground_run.start(params)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (8, 10, 0.4902, 0.9433), (1, 3, 0.0615, 0.7923)],
)
def test_wilson_interval_matches_the_textbook_values(successes, n, low, high):
    from statsmodels.stats.proportion import proportion_confint

    got = analysis.wilson_interval(successes, n)
    assert got == pytest.approx((low, high), abs=1e-4)  # the textbook prints four decimals
    # Two float64 evaluations of one formula, in different algebra: they agree to a few ulp.
    assert got == pytest.approx(proportion_confint(successes, n, method="wilson"), abs=1e-12)


@pytest.mark.parametrize(("successes", "n"), [(3, 2), (-1, 5), (0, 0)])
def test_wilson_interval_refuses_impossible_counts(successes, n):
    with pytest.raises(ValueError, match="successes <= n"):
        analysis.wilson_interval(successes, n)


def _search_table(counts):
    """A search table with ``counts[(feature_set, hidden)]`` successes out of 10 seeds."""
    rows = []
    for (feature_set, hidden), k in counts.items():
        for seed in range(1, 11):
            rows.append({"feature_set": feature_set, "hidden": hidden, "seed": seed,
                         "neurons": sum(map(int, hidden.split("-"))),
                         "test_loss": 0.05 if seed <= k else 0.3, "success": seed <= k})  # fmt: skip
    return pd.DataFrame(rows)


def test_success_rates_come_with_wilson_intervals_in_size_order():
    table = _search_table({("all", "8"): 8, ("all", "3"): 0, ("all", "2-2"): 1, ("raw", "8-8"): 6})
    summary = analysis.playground_success(table)
    assert list(summary["hidden"]) == ["3", "8", "2-2", "8-8"]
    row = summary.set_index("hidden").loc["8"]
    assert (row["successes"], row["seeds"], row["success_rate"]) == (8, 10, 0.8)
    assert (row["rate_low"], row["rate_high"]) == analysis.wilson_interval(8, 10)
    rates = analysis.playground_rate_table(table)
    assert list(rates.columns) == ["hidden layers", "all", "raw"]
    assert rates.set_index("hidden layers").loc["8", "all"] == "8/10 (49-94 %)"


def test_the_2019_claim_states_each_rate_with_its_interval():
    table = _search_table({("all", "3"): 0, ("all", "4"): 1, ("all", "6"): 8, ("raw", "8-8"): 6})
    claim = analysis.playground_claim(table)
    assert (
        "all features: the smallest network reaching test loss < 0.1 on any seed has hidden layers 4 (4 neurons), 1 of 10 seeds (95 % interval 2-40 %); on at least half its seeds, hidden layers 6 (6 neurons), 8 of 10 seeds (95 % interval 49-94 %)."
        in claim
    )
    assert (
        "raw features: the smallest network reaching test loss < 0.1 on any seed has hidden layers 8-8 (16 neurons), 6 of 10 seeds (95 % interval 31-83 %)."
        in claim
    )
    assert claim.endswith(
        "one hidden layer of 3 neurons) reached test loss < 0.1 for 0 of 10 seeds (95 % interval 0-28 %); median test loss 0.300, best 0.300."
    )


# --- the notebook --------------------------------------------------------------------------


@pytest.mark.slow
def test_notebook_runs_a_small_setting_into_its_results_dir(tmp_path):
    project_search = PROJECT_ROOT / "scores" / "playground_search.csv"
    before = project_search.stat().st_mtime if project_search.exists() else None

    def execute(output: str, **parameters):
        small = {"results_dir": str(tmp_path), "run_name": "pg_test", "epochs": 20,
                 "switch_epoch": 15}  # fmt: skip
        return papermill.execute_notebook(
            str(PROJECT_ROOT / "notebooks" / "06_playground_spiral.ipynb"),
            str(tmp_path / output),
            parameters=small | parameters,
            kernel_name="imagelab",
            progress_bar=False,
        )

    execute("out.ipynb", search=True, search_hidden=[[1], [2, 2]], search_seeds=[1])
    history = pd.read_csv(tmp_path / "histories" / "pg_test.csv")
    assert set(history["data"]) == {"training", "test"} and history["epoch"].max() == 20
    assert list(pd.read_csv(tmp_path / "scores" / "pg_test.csv").columns) == ["loss", "acc"]
    search = pd.read_csv(tmp_path / "scores" / "playground_search.csv")
    assert len(search) == 4 and {"features", "hidden", "test_loss", "success"} <= set(search)
    for name in ("pg_test_surface", "pg_test_loss", "playground_search_success"):
        assert (tmp_path / "figures" / f"{name}.png").is_file()
    after = project_search.stat().st_mtime if project_search.exists() else None
    assert before == after
    provenance = json.loads((tmp_path / "scores" / "pg_test.json").read_text())
    assert provenance["fingerprint"] == current_fingerprint("playground_spiral")
    assert provenance["exercise"] == "playground_spiral" and "cpu_seconds" in provenance
    # Staged and published as every run (imagelab.results.staging): no attempt's folder is left behind.
    assert provenance["attempt"]
    assert not [p for p in (tmp_path / ".staging").iterdir() if p.is_dir()]
    again = execute("again.ipynb")
    printed = "".join(
        output.get("text", "") for cell in again["cells"] for output in cell.get("outputs", [])
    )
    assert "showing the stored results, which are up to date" in printed
    assert "To retrain, set force = True in the parameters cell" in printed  # as the notebook says
    assert json.loads((tmp_path / "scores" / "pg_test.json").read_text()) == provenance


def test_reading_a_search_that_was_never_run_says_how_to_run_it(tmp_path):
    from imagelab.errors import UserError

    with pytest.raises(UserError, match="run the notebook with search=True"):
        playground_search.read_search(tmp_path)

"""Exercise three: the Playground's spiral, loss and settings, and the notebook end to end."""

import inspect

import numpy as np
import pandas as pd
import papermill
import pytest

from imagelab import playground as pg
from imagelab.records import PROJECT_ROOT

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
    # 0.5 * ((0.5 - 1)^2 + 0^2 + (0 + 1)^2) / 3 = 0.5 * 1.25 / 3
    assert float(pg.playground_loss(output, labels)) == pytest.approx(0.5 * 1.25 / 3)


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
        pg.check_settings(**(CANONICAL | change))


def test_canonical_settings_name_every_setting_and_are_accepted():
    assert set(CANONICAL) == set(inspect.signature(pg.check_settings).parameters)
    assert pg.check_settings(**CANONICAL) is None  # raises for any setting it does not allow


@pytest.mark.slow
def test_notebook_runs_a_small_setting_into_its_results_dir(tmp_path):
    project_search = PROJECT_ROOT / "scores" / "playground_search.csv"
    before = project_search.stat().st_mtime if project_search.exists() else None
    papermill.execute_notebook(
        str(PROJECT_ROOT / "notebooks" / "06_playground_spiral.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters={
            "results_dir": str(tmp_path),
            "run_name": "pg_test",
            "epochs": 20,
            "switch_epoch": 15,
            "search": True,
            "search_hidden": [[1], [2, 2]],
            "search_seeds": [1],
        },  # fmt: skip
        kernel_name="imagelab",
        progress_bar=False,
    )
    history = pd.read_csv(tmp_path / "histories" / "pg_test.csv")
    assert set(history["data"]) == {"training", "test"} and history["epoch"].max() == 20
    assert list(pd.read_csv(tmp_path / "scores" / "pg_test.csv").columns) == ["loss", "acc"]
    search = pd.read_csv(tmp_path / "scores" / "playground_search.csv")
    assert len(search) == 4 and {"features", "hidden", "test_loss", "success"} <= set(search)
    for name in ("pg_test_surface", "pg_test_loss", "playground_search_success"):
        assert (tmp_path / "figures" / f"{name}.png").is_file()
    after = project_search.stat().st_mtime if project_search.exists() else None
    assert before == after

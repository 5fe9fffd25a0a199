"""The 2019 architectures and the Keras 2 optimizer defaults."""

import keras
import numpy as np
import pytest

from imagelab import models


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (lambda: models.dense(), 203_530),
        (lambda: models.dense(activation="relu"), 203_530),
        (lambda: models.mnist_cnn(), 1_199_882),
        (lambda: models.mnist_cnn(dropout=0.5), 1_199_882),
        (lambda: models.cifar10_cnn(), 443_882),
    ],
)
def test_parameter_counts_equal_the_2019_models(model, params):
    assert model().count_params() == params


def test_cifar10_convolutions_are_unpadded_as_in_2019():
    shapes = [tuple(layer.output.shape[1:3]) for layer in models.cifar10_cnn().layers[:8]]
    assert shapes == [(30, 30), (28, 28), (14, 14), (14, 14), (12, 12), (10, 10), (5, 5), (5, 5)]


def test_dense_default_has_no_activation():
    assert models.dense().layers[0].activation is keras.activations.linear


def test_dropout_layer_sits_after_pooling():
    kinds = [type(layer).__name__ for layer in models.mnist_cnn(dropout=0.5).layers]
    assert kinds[kinds.index("MaxPooling2D") + 1] == "Dropout"
    assert "Dropout" not in [type(layer).__name__ for layer in models.mnist_cnn().layers]


def test_builders_take_what_a_sweep_varies():
    assert models.dense(units=32).layers[0].units == 32
    assert models.mnist_cnn(filters=8).layers[1].filters == 16
    assert models.cifar10_cnn(dense_units=64).layers[-2].units == 64


def test_adadelta_has_the_keras2_learning_rate():
    assert float(models.make_optimizer("adadelta").learning_rate) == pytest.approx(1.0)
    assert float(models.make_optimizer("rmsprop").learning_rate) == pytest.approx(0.001)
    assert float(models.make_optimizer("rmsprop", 0.01).learning_rate) == pytest.approx(0.01)


def test_decay_follows_keras2_inverse_time_formula():
    schedule = models.make_optimizer("rmsprop", 1e-4, decay=1e-6)._learning_rate
    for step in (0, 1, 1000, 31_260):
        assert float(schedule(step)) == pytest.approx(1e-4 / (1 + 1e-6 * step), rel=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: models.make_optimizer("adagrad"),
            r"optimizer must be one of 'rmsprop', 'adadelta'",
        ),
        (
            lambda: models.dense(activation="rellu"),
            r"activation must be one of 'linear', 'relu'.*got 'rellu'",
        ),
    ],
)
def test_unknown_names_list_the_valid_ones(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_layer_table_lists_shapes_and_parameters():
    table = models.layer_table(models.dense())
    assert [row["params"] for row in table] == [200_960, 2_570]
    assert table[0]["output_shape"] == "(None, 256)"
    assert np.sum([row["params"] for row in table]) == 203_530

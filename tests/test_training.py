"""Seeded, timed training that writes history, score and provenance (in-process, fixture data)."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from imagelab import data, models, training
from imagelab.results import exercises
from imagelab.running.run import start_run


def _run(results_dir, exercise="dense_mnist", **overrides):
    params = (
        exercises.notebook_defaults(exercise)
        | {"run_name": "t", "results_dir": str(results_dir), "epochs": 1}
        | overrides
    )
    run = start_run(exercise, params)
    run.fit(run.build_model())
    return run


def _history_without_time(run):
    return pd.read_csv(run.files.history).drop(columns="seconds").to_csv(index=False)


def test_one_epoch_fit_writes_history_score_and_provenance(fixture_data, tmp_path):
    run = _run(tmp_path, epochs=2)
    history = pd.read_csv(run.files.history)
    assert len(history) == 2 * 4 and (history["seconds"] > 0).all()
    assert list(pd.read_csv(run.files.score).columns) == ["loss", "acc"]
    provenance = json.loads(run.files.provenance.read_text())
    assert provenance["parameters"]["epochs"] == 2 and provenance["seed"] == 2019
    assert provenance["data"]["checksums"]["x_train"] == data.array_sha256(
        data.load_raw("mnist", str(fixture_data))[0]["x_train"]
    )
    for key in ("git", "versions", "machine", "wall_seconds", "started", "finished", "fingerprint"):
        assert provenance[key], key
    assert provenance["versions"]["keras"].startswith("3.")


def test_same_seed_gives_identical_results_and_another_seed_does_not(fixture_data, tmp_path):
    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    other = _run(tmp_path / "c", seed=7)
    # Byte for byte on one machine (all three trained here); across CPUs, `imagelab verify`.
    assert _history_without_time(first) == _history_without_time(second)
    assert first.files.score.read_bytes() == second.files.score.read_bytes()
    assert _history_without_time(first) != _history_without_time(other)
    assert first.files.score.read_bytes() != other.files.score.read_bytes()


def test_steps_per_execution_changes_speed_not_numbers(fixture_data):
    # Dropout draws from its random stream and the decay schedule counts iterations: both must
    # see the same steps whether Keras runs them one call at a time or many per call. 30 batches
    # of 8 per epoch: 7 calls of 4 steps and a remainder of 2.
    mnist = data.load("mnist")

    def train(steps_per_execution):
        training.set_seed(3)
        model = models.mnist_cnn(filters=4, dense_units=8, dropout=0.5)
        result = training.fit(
            model, mnist, optimizer="adadelta", learning_rate=None, decay=1e-3, epochs=2,
            batch_size=8, validation_split=0.2, seed=3, steps_per_execution=steps_per_execution,
        )  # fmt: skip
        weights = b"".join(w.tobytes() for w in model.get_weights())
        return weights, result.history.drop(columns="seconds"), result.score, result.predictions

    one_at_a_time, batched = train(1), train(4)
    assert training.STEPS_PER_EXECUTION > 1
    # Byte for byte: both trained in this process, on this machine's float path.
    assert one_at_a_time[0] == batched[0]
    pd.testing.assert_frame_equal(one_at_a_time[1], batched[1], check_exact=True)
    assert one_at_a_time[2] == batched[2]
    pd.testing.assert_frame_equal(one_at_a_time[3], batched[3], check_exact=True)


def test_cifar_validates_on_the_test_set_as_in_2019(fixture_data, tmp_path):
    run = _run(tmp_path, "cifar10_cnn", data_limit=64, batch_size=32)
    history = pd.read_csv(run.files.history)
    final_val_acc = history.query("metric == 'acc' and data == 'validation'")["value"].iloc[-1]
    # Both count hits over the same 64 test images (steps of 1/64): 1e-6 allows float32 rounding.
    assert final_val_acc == pytest.approx(pd.read_csv(run.files.score)["acc"].iloc[0], abs=1e-6)


def test_up_to_date_results_are_shown_not_retrained(fixture_data, tmp_path, capsys):
    first = _run(tmp_path)  # its figures are published with it, one set (issue 35)
    stamp = first.files.provenance.stat().st_mtime_ns
    again = _run(tmp_path)
    printed = capsys.readouterr().out
    assert again.cached and "showing the stored results, which are up to date" in printed
    assert "To retrain, set force = True in the parameters cell" in printed  # as the notebook says
    assert again.result.score == first.result.score
    assert first.files.provenance.stat().st_mtime_ns == stamp
    forced = _run(tmp_path, force=True)
    assert not forced.cached and first.files.provenance.stat().st_mtime_ns != stamp


def test_a_run_name_holding_other_settings_is_not_overwritten(fixture_data, tmp_path):
    _run(tmp_path)
    with pytest.raises(
        ValueError, match=r"already holds the results of a run with other settings.*epochs"
    ):
        _run(tmp_path, epochs=2)


class _SeenBatches(keras.layers.Layer):
    """Passes its input through and remembers it: which samples trained, in which order."""

    def __init__(self, record) -> None:
        super().__init__()
        self.record = record  # a callable: Keras would copy a list into a tracked one

    def call(self, x):
        self.record(np.rint(np.asarray(x)[:, 0] * 255).astype(int).tolist())
        return x


def _training_order(seed: int, epochs: int = 3, shuffle: bool = True) -> list[list[int]]:
    """The sample indices each epoch of ``training.fit`` trained on, in order."""
    n, classes = 64, np.arange(64) % 10
    x = np.repeat(np.arange(n, dtype="uint8")[:, None], 2, axis=1)  # pixel value = sample index
    y = np.eye(10, dtype="float32")[classes]
    dataset = data.Dataset(
        "toy", x, y, x[56:], y[56:], list("0123456789"), "test", {}, "none"
    )  # fmt: skip
    seen = []
    training.set_seed(seed)
    model = keras.Sequential(
        [keras.Input((2,)), _SeenBatches(seen.append), keras.layers.Dense(10, activation="softmax")]
    )
    tf.config.run_functions_eagerly(True)  # so the layer sees real batches
    try:
        training.fit(
            model, dataset, optimizer="sgd", learning_rate=None, decay=0.0, epochs=epochs,
            batch_size=16, validation_split=0.25, seed=seed, shuffle=shuffle,
        )  # fmt: skip
    finally:
        tf.config.run_functions_eagerly(False)
    trained = [batch for batch in seen if max(batch) < 48]  # validation and test: 48-63
    per_epoch = len(trained) // epochs
    return [sum(trained[e * per_epoch : (e + 1) * per_epoch], []) for e in range(epochs)]


@pytest.mark.filterwarnings("ignore:Even though the `tf.config.experimental_run_functions_eagerly`")
def test_training_set_is_reshuffled_every_epoch_as_in_keras_2():
    # Keras 3's own fit, once a global seed is set, replays one permutation every epoch.
    first = _training_order(seed=1)
    assert all(sorted(epoch) == list(range(48)) for epoch in first)  # the last 25% never trains
    assert first[0] != first[1] and first[1] != first[2] and first[0] != first[2]
    assert _training_order(seed=1) == first
    assert _training_order(seed=2) != first
    assert _training_order(seed=1, shuffle=False) == [list(range(48))] * 3


def test_every_pixel_value_scales_to_the_bits_2019s_whole_array_division_gave():
    # All 256 uint8 values, through tf.data as training gathers them, against NumPy's x / 255
    # of the whole array (what data.load did before issue 39): equal bit for bit, so every batch is.
    values = np.arange(256, dtype=np.uint8)
    gathered = next(iter(training.batches(values, None, 256)))
    before = values.astype(np.float32) / 255.0
    assert gathered.dtype == tf.float32
    assert gathered.numpy().tobytes() == before.tobytes()


def _batches_before_issue_39(x, y, batch_size, seed):
    """training.epoch_batches as it was: the whole data set scaled to float32 up front."""
    order = tf.data.Dataset.range(len(x)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    arrays = tf.data.Dataset.from_tensors((x.astype(np.float32) / 255.0, y)).repeat()
    return tf.data.Dataset.zip(order.batch(batch_size), arrays).map(
        lambda index, xy: (tf.gather(xy[0], index), tf.gather(xy[1], index))
    )


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_two_epochs_of_batches_hold_the_bits_of_the_whole_array_scaled(fixture_data, name):
    loaded = data.load(name)
    assert loaded.x_train.dtype == np.uint8 and loaded.x_test.dtype == np.uint8
    x, y = loaded.x_train, loaded.y_train
    now = training.epoch_batches(x, y, 32, shuffle=True, seed=5)
    before = _batches_before_issue_39(x, y, 32, seed=5)
    orders = []
    for _epoch in range(2):  # each pass over the data set is an epoch, in a new order
        pairs = list(zip(now, before, strict=True))
        assert len(pairs) == -(-len(x) // 32)
        for (x_now, y_now), (x_before, y_before) in pairs:
            assert x_now.dtype == x_before.dtype == tf.float32
            assert x_now.numpy().tobytes() == x_before.numpy().tobytes()
            assert y_now.numpy().tobytes() == y_before.numpy().tobytes()
        orders.append(b"".join(pair[0][0].numpy().tobytes() for pair in pairs))
    assert orders[0] != orders[1]


def test_fit_refuses_images_that_are_not_uint8_pixels(fixture_data):
    mnist = data.load("mnist")
    scaled = data.Dataset(**{**vars(mnist), "x_train": mnist.x_train / 255.0})
    with pytest.raises(TypeError, match="uint8 pixels"):
        training.fit(
            models.dense(), scaled, optimizer="sgd", learning_rate=None, decay=0.0,
            epochs=1, batch_size=8, validation_split=0.2, seed=1,
        )  # fmt: skip


@pytest.mark.parametrize("number_format", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("build, shape", [(models.mnist_cnn, (28, 28, 1)), (models.cifar10_cnn, (32, 32, 3))])  # fmt: skip
def test_predicted_classes_are_model_predict_s_one_batch_at_a_time(build, shape, number_format):
    # model.predict at 32 steps per call runs a graph of many forward passes at once (more memory);
    # training.predicted_classes runs one batch per call. 1,100 images: batches of 512, 512, 76.
    x = np.random.default_rng(39).integers(0, 256, (1100, *shape), dtype=np.uint8)
    keras.mixed_precision.set_global_policy(number_format)
    try:
        training.set_seed(39)
        model = build()
        model.compile(loss="categorical_crossentropy", steps_per_execution=32)
        together = model.predict(training.batches(x, None, 512), verbose=0)
        apart = [model.predict_on_batch(images) for images in training.batches(x, None, 512)]
        classes = training.predicted_classes(model, x)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.concatenate(apart).tobytes() == together.tobytes()  # every probability, bit for bit
    assert classes.tolist() == together.argmax(axis=1).tolist()
    assert len(set(classes.tolist())) > 1  # not a model that answers one class to everything

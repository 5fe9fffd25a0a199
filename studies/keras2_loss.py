"""Does Keras 2's cross-entropy explain 2019's higher ReLU MNIST test accuracy?

Keras 2.2 (the 2019 R lab's backend) computed categorical cross-entropy from the softmax
probabilities, clipped to [1e-7, 1 - 1e-7]: a sample predicted with p > 1 - 1e-7 gives no
gradient at all. Keras 3 (TensorFlow backend) takes the logits behind a softmax output and
computes the unclipped cross-entropy from them (keras/src/backend/tensorflow/nn.py,
_get_logits), so confident samples keep pulling the weights. This trains the ReLU network of
exercise one with the Keras 2 loss on the canonical seed and the three further seeds and
writes studies/keras2_loss.csv; the Keras 3 runs with the same seeds are the canonical
relu_mnist run and sweeps/dense_activation (scores/seeds.csv).

    IMAGELAB_DATA=../shared/datasets .venv/bin/python studies/keras2_loss.py
"""

import sys
import time

import pandas as pd
from keras import ops

from imagelab import data, models, records, training

EPSILON = 1e-7  # keras.backend.epsilon(), then and now


def keras2_categorical_crossentropy(y_true, y_pred):
    """Keras 2.2's categorical_crossentropy(from_logits=False): clipped probabilities."""
    y_pred = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    y_pred = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -ops.sum(y_true * ops.log(y_pred), axis=-1)


def main(seeds: list[int]) -> None:
    mnist = data.load_mnist(flatten=True)
    rows = []
    for seed in seeds:
        training.set_seed(seed)
        model = models.dense(256, "relu")
        model.compile(
            loss=keras2_categorical_crossentropy,
            optimizer=models.make_optimizer("rmsprop", None, 0.0),
            metrics=["accuracy"],
        )
        started = time.perf_counter()
        x_train, x_test = training.float_images(mnist.x_train), training.float_images(mnist.x_test)
        model.fit(
            x_train, mnist.y_train, batch_size=128, epochs=12, validation_split=0.2, verbose=0
        )
        # Scored with Keras 3's loss, as the canonical runs are, so the two losses compare.
        model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
        loss, acc = model.evaluate(x_test, mnist.y_test, batch_size=512, verbose=0)
        rows.append(
            {
                "loss_rule": "keras2_clipped",
                "seed": seed,
                "test_loss": loss,
                "test_acc": acc,
                "seconds": time.perf_counter() - started,
                "commit": records.git_state()["commit"],
                "x_train_sha256": mnist.checksums["x_train"],
            }
        )
        print(rows[-1], flush=True)
        records.write_csv(pd.DataFrame(rows), records.PROJECT_ROOT / "studies" / "keras2_loss.csv")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [2019, 1, 2, 3])

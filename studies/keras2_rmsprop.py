"""Does Keras 2's RMSprop explain 2019's higher ReLU MNIST test accuracy?

Keras 2 (the 2019 R lab) updated p -= lr * g / (sqrt(v) + eps); Keras 3 updates
p -= lr * g / sqrt(v + eps). With eps = 1e-7 the two differ where v is tiny: rarely active
inputs (MNIST's border pixels) get much larger steps under Keras 2. This trains the ReLU
network of exercise one with both rules, same seeds, and writes studies/keras2_rmsprop.csv.

    IMAGELAB_DATA=../shared/datasets .venv/bin/python studies/keras2_rmsprop.py
"""

import sys
import time

import keras
import pandas as pd
from keras import ops

from imagelab import data, models, records, training


class Keras2RMSprop(keras.optimizers.RMSprop):
    """RMSprop with Keras 2's update: epsilon added outside the square root."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self._velocities[self._get_variable_index(variable)]
        self.assign(velocity, self.rho * velocity + (1 - self.rho) * ops.square(gradient))
        self.assign_sub(variable, lr * gradient / (ops.sqrt(velocity) + self.epsilon))


def main(seeds: list[int]) -> None:
    mnist = data.load_mnist(flatten=True)
    rows = []
    for seed in seeds:
        for rule, optimizer in (("keras3", keras.optimizers.RMSprop), ("keras2", Keras2RMSprop)):
            training.set_seed(seed)
            model = models.dense(256, "relu")
            model.compile(
                loss="categorical_crossentropy",
                optimizer=optimizer(learning_rate=0.001, rho=0.9),
                metrics=["accuracy"],
            )
            started = time.perf_counter()
            model.fit(
                training.float_images(mnist.x_train),
                mnist.y_train,
                batch_size=128,
                epochs=12,
                validation_split=0.2,
                verbose=0,
            )
            x_test = training.float_images(mnist.x_test)
            loss, acc = model.evaluate(x_test, mnist.y_test, batch_size=512, verbose=0)
            rows.append(
                {
                    "rule": rule,
                    "seed": seed,
                    "test_loss": loss,
                    "test_acc": acc,
                    "seconds": time.perf_counter() - started,
                    "commit": records.git_state()["commit"],
                    "x_train_sha256": mnist.checksums["x_train"],
                }
            )
            print(rows[-1], flush=True)
            records.write_csv(
                pd.DataFrame(rows), records.PROJECT_ROOT / "studies" / "keras2_rmsprop.csv"
            )


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [2019, 1, 2, 3])

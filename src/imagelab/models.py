"""The 2019 lab's architectures and its Keras 2 optimizer defaults, rebuilt in Keras 3.

Keras 3 changed three defaults the 2019 R lab relied on, so they are reproduced explicitly:

- ``optimizer_adadelta()`` had learning rate 1.0 in Keras 2; Keras 3's default is 0.001.
- Keras 2 optimizers took ``decay``: lr_t = lr / (1 + decay * iterations). Keras 3 dropped the
  argument; the same curve is ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``.
- The history metric was called ``acc``; Keras 3 says ``accuracy`` (renamed in ``records``).
"""

from __future__ import annotations

import keras
from keras import layers

from imagelab.params import ACTIVATIONS, OPTIMIZERS, check_choice

# Keras 2.2 defaults (the 2019 R keras), per optimizer. Epsilon was K.epsilon() = 1e-7, as now.
KERAS2_DEFAULTS = {
    "rmsprop": {"learning_rate": 0.001, "rho": 0.9},
    "adadelta": {"learning_rate": 1.0, "rho": 0.95},
    "sgd": {"learning_rate": 0.01},
    "adam": {"learning_rate": 0.001},
}


def make_optimizer(
    name: str, learning_rate: float | None = None, decay: float = 0.0
) -> keras.optimizers.Optimizer:
    """An optimizer with the 2019 (Keras 2) defaults: ``learning_rate=None`` means Keras 2's rate."""
    check_choice("optimizer", name, OPTIMIZERS)
    settings = dict(KERAS2_DEFAULTS[name])
    if learning_rate is not None:
        settings["learning_rate"] = learning_rate
    if decay:
        # Keras 2's `decay`: lr / (1 + decay * iterations), one step per batch.
        settings["learning_rate"] = keras.optimizers.schedules.InverseTimeDecay(
            settings["learning_rate"], decay_steps=1, decay_rate=decay
        )
    classes = {
        "rmsprop": keras.optimizers.RMSprop,
        "adadelta": keras.optimizers.Adadelta,
        "sgd": keras.optimizers.SGD,
        "adam": keras.optimizers.Adam,
    }
    return classes[name](**settings)


def dense(units: int = 256, activation: str = "linear") -> keras.Model:
    """Exercise one: 784 pixels, one dense hidden layer, softmax over 10 digits.

    2019 left the hidden layer's activation at Keras's default, which is linear.
    """
    check_choice("activation", activation, ACTIVATIONS)
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            layers.Dense(units, activation=activation),
            layers.Dense(10, activation="softmax"),
        ],
        name=f"dense_{activation}",
    )


def mnist_cnn(filters: int = 32, dense_units: int = 128, dropout: float = 0.0) -> keras.Model:
    """The MNIST CNN: conv(filters) - conv(2*filters) - maxpool - [dropout] - dense - softmax.

    2019's dropout variant put one dropout layer (rate 0.5) after the pooling layer.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(filters, (3, 3), activation="relu"),
            layers.Conv2D(2 * filters, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            *([layers.Dropout(dropout)] if dropout else []),
            layers.Flatten(),
            layers.Dense(dense_units, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_cnn_dropout" if dropout else "mnist_cnn",
    )


def cifar10_cnn(filters: int = 32, dense_units: int = 512, dropout: float = 0.5) -> keras.Model:
    """The CIFAR-10 CNN: two blocks of two unpadded 3x3 convolutions, pooling and dropout."""

    def block() -> list[layers.Layer]:
        return [
            layers.Conv2D(filters, (3, 3), activation="relu"),  # padding "valid", as in 2019
            layers.Conv2D(filters, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            *([layers.Dropout(dropout)] if dropout else []),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            *block(),
            *block(),
            layers.Flatten(),
            layers.Dense(dense_units, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="cifar10_cnn",
    )


def layer_table(model: keras.Model) -> list[dict[str, object]]:
    """One row per layer: name, type, output shape and parameter count (the 2019 summary)."""
    return [
        {
            "layer": layer.name,
            "type": type(layer).__name__,
            "output_shape": str(tuple(layer.output.shape)),
            "params": layer.count_params(),
        }
        for layer in model.layers
    ]

"""Keyword models as Keras Functional builders: build(input_shape, num_classes, batch_size) -> keras.Model."""

from __future__ import annotations

from collections.abc import Callable

import keras

DROPOUT_RATE = 0.5  # TF speech_commands trains tiny_conv with keep_prob 0.5


def build_tiny_conv(input_shape: tuple[int, int], num_classes: int,
                    batch_size: int | None = None) -> keras.Model:
    """micro_speech's tiny_conv: one 10×8 convolution (8 filters, stride 2), ReLU, dropout, dense, softmax."""
    features = keras.Input(shape=input_shape, batch_size=batch_size, name="features")
    x = keras.layers.Reshape((*input_shape, 1), name="as_image")(features)
    x = keras.layers.Conv2D(8, (10, 8), strides=(2, 2), padding="same", activation="relu", name="conv")(x)
    x = keras.layers.Dropout(DROPOUT_RATE, name="dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    # Softmax inside the model: the device thresholds int8 scores (score + 128 >= 200 of 255).
    scores = keras.layers.Dense(num_classes, activation="softmax", name="scores")(x)
    return keras.Model(features, scores, name="tiny_conv")


MODELS: dict[str, Callable[..., keras.Model]] = {
    "tiny_conv": build_tiny_conv,
}


def build_model(name: str, input_shape: tuple[int, int], num_classes: int,
                batch_size: int | None = None) -> keras.Model:
    """Build a registered model by name, or raise ValueError naming the known ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name](input_shape, num_classes, batch_size=batch_size)

"""Keyword models as Keras Functional builders: build(input_shape, num_classes, batch_size) -> keras.Model."""

from __future__ import annotations

import importlib

import keras

from training.architectures import ARCHITECTURES

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


def build_model(name: str, input_shape: tuple[int, int], num_classes: int,
                batch_size: int | None = None) -> keras.Model:
    """Build a registered architecture (training.architectures) by name, or raise ValueError naming them."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(ARCHITECTURES)}")
    module_name, function = ARCHITECTURES[name].split(":")
    return getattr(importlib.import_module(module_name), function)(input_shape, num_classes,
                                                                   batch_size=batch_size)

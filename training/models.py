"""Keyword models: one registry (name → builder), each a Keras Functional builder(input_shape, num_classes).

Keras loads inside the builders, so the CLI can list the names without importing TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from training.architectures import ARCHITECTURES

if TYPE_CHECKING:
    import keras

DROPOUT_RATE = 0.5  # TF speech_commands trains tiny_conv with keep_prob 0.5
# Batch norm's moving statistics must settle within a few hundred steps (small releases, early stopping);
# Keras' 0.99 lags so far behind the weights that inference collapses to one class on short runs.
BATCH_NORM_MOMENTUM = 0.9
HEAD_LAYER = "scores"  # every model ends in this Dense softmax layer; transfer replaces it


def build_tiny_conv(input_shape: tuple[int, int], num_classes: int,
                    batch_size: int | None = None) -> keras.Model:
    """micro_speech's tiny_conv: one 10×8 convolution (8 filters, stride 2), ReLU, dropout, dense, softmax."""
    import keras

    features = keras.Input(shape=input_shape, batch_size=batch_size, name="features")
    x = keras.layers.Reshape((*input_shape, 1), name="as_image")(features)
    x = keras.layers.Conv2D(8, (10, 8), strides=(2, 2), padding="same", activation="relu", name="conv")(x)
    x = keras.layers.Dropout(DROPOUT_RATE, name="dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    # Softmax inside the model: the device thresholds int8 scores (score + 128 >= 200 of 255).
    scores = keras.layers.Dense(num_classes, activation="softmax", name=HEAD_LAYER)(x)
    return keras.Model(features, scores, name="tiny_conv")


def _conv_bn_relu(x, layer, name: str):
    import keras

    x = layer(x)
    x = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def _ds_block(x, filters: int, name: str, strides: tuple[int, int] = (1, 1), residual: bool = False):
    """Depthwise 3×3 then pointwise 1×1, each with batch norm and ReLU; optionally with a skip connection."""
    import keras

    shortcut = x
    x = _conv_bn_relu(x, keras.layers.DepthwiseConv2D((3, 3), strides=strides, padding="same",
                                                       use_bias=False, name=f"{name}_dw"), f"{name}_dw")
    x = keras.layers.Conv2D(filters, (1, 1), use_bias=False, name=f"{name}_pw")(x)
    x = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{name}_pw_bn")(x)
    if residual and strides == (1, 1) and shortcut.shape[-1] == filters:
        x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
    return keras.layers.ReLU(name=f"{name}_pw_relu")(x)


def build_ds_cnn(input_shape: tuple[int, int], num_classes: int, batch_size: int | None = None,
                 filters: int = 64, blocks: int = 4, residual: bool = False,
                 name: str = "ds_cnn") -> keras.Model:
    """MLPerf Tiny's DS-CNN: a 10×4 stride-2 convolution, depthwise-separable blocks, average pool, dense.

    With residual=True the blocks add skip connections and the second one halves time and frequency
    (a MobileNet-style block net: deeper for the same bytes, most blocks on a quarter of the activations).
    """
    import keras

    features = keras.Input(shape=input_shape, batch_size=batch_size, name="features")
    x = keras.layers.Reshape((*input_shape, 1), name="as_image")(features)
    x = _conv_bn_relu(x, keras.layers.Conv2D(filters, (10, 4), strides=(2, 2), padding="same",
                                             use_bias=False, name="stem"), "stem")
    x = keras.layers.Dropout(0.2, name="stem_dropout")(x)
    for index in range(blocks):
        strides = (2, 2) if residual and index == 1 else (1, 1)
        x = _ds_block(x, filters, f"block{index + 1}", strides, residual)
    x = keras.layers.Dropout(0.4, name="dropout")(x)
    # a full-size average pool (AVERAGE_POOL_2D on device) rather than a global mean (MEAN)
    x = keras.layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    scores = keras.layers.Dense(num_classes, activation="softmax", name=HEAD_LAYER)(x)
    return keras.Model(features, scores, name=name)


def build_ds_cnn_tiny(input_shape: tuple[int, int], num_classes: int,
                      batch_size: int | None = None) -> keras.Model:
    """DS-CNN with 16 filters and 2 blocks: the 10 KB point of the accuracy/size curve."""
    return build_ds_cnn(input_shape, num_classes, batch_size, filters=16, blocks=2, name="ds_cnn_tiny")


def build_ds_cnn_small(input_shape: tuple[int, int], num_classes: int,
                       batch_size: int | None = None) -> keras.Model:
    """DS-CNN with 32 filters and 3 blocks: the 20 KB point of the accuracy/size curve."""
    return build_ds_cnn(input_shape, num_classes, batch_size, filters=32, blocks=3, name="ds_cnn_small")


def build_res_ds_cnn(input_shape: tuple[int, int], num_classes: int,
                     batch_size: int | None = None) -> keras.Model:
    """The recommended block net: 46 filters, 6 residual depthwise-separable blocks, the second strided.

    46 rather than 48 filters keeps the int8 model under 50,000 bytes for 12 classes (48 made 50,184).
    """
    return build_ds_cnn(input_shape, num_classes, batch_size, filters=46, blocks=6, residual=True,
                        name="res_ds_cnn")


def build_model(name: str, input_shape: tuple[int, int], num_classes: int,
                batch_size: int | None = None) -> keras.Model:
    """Build a registered architecture (training.architectures) by name, or raise ValueError naming them."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(ARCHITECTURES)}")
    module_name, function = ARCHITECTURES[name].builder.split(":")
    return getattr(importlib.import_module(module_name), function)(input_shape, num_classes,
                                                                   batch_size=batch_size)

"""Quantization-aware fine-tuning with fake-quant layers of our own (tfmot needs tf_keras, not Keras 3).

A copy of the trained model is fine-tuned with int8 simulated where TFLite quantizes: convolution and dense
kernels rounded to 8 bits (per output channel for convolutions, per tensor for dense layers), and the
outputs of ReLU, Add, pooling and the logits rounded to 8 bits over moving min/max ranges. Rounding uses
tf.quantization.fake_quant_* (straight-through gradients). The fine-tuned weights go back into the plain
model, kernels snapped to their 8-bit grid, and the converter quantizes it as before (calibrated on
training features). Batch norm is folded into the kernels only at conversion, so for the DS-CNNs the kernel
rounding is approximate; tiny_conv has no batch norm.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

ACTIVATION_MOMENTUM = 0.95  # moving min/max of activation ranges over training batches


def _fake_quant_per_channel(kernel: tf.Tensor) -> tf.Tensor:
    """Round a kernel to symmetric int8 per output channel (the last axis), as the converter does."""
    flat = tf.reshape(kernel, (-1, kernel.shape[-1]))
    bound = tf.maximum(tf.reduce_max(tf.abs(flat), axis=0), 1e-8)
    return tf.quantization.fake_quant_with_min_max_vars_per_channel(
        kernel, -bound, bound, num_bits=8, narrow_range=True)


def _fake_quant_tensor(kernel: tf.Tensor) -> tf.Tensor:
    """Round a kernel to symmetric int8 with one scale for the whole tensor."""
    bound = tf.maximum(tf.reduce_max(tf.abs(kernel)), 1e-8)
    return tf.quantization.fake_quant_with_min_max_vars(kernel, -bound, bound, num_bits=8, narrow_range=True)


def _depthwise_fake_quant(kernel: tf.Tensor) -> tf.Tensor:
    """Depthwise kernels (h, w, in, multiplier): one scale per output channel (in × multiplier)."""
    shape = tf.shape(kernel)
    channels = kernel.shape[2] * kernel.shape[3]
    flat = tf.reshape(kernel, (kernel.shape[0], kernel.shape[1], channels))
    return tf.reshape(_fake_quant_per_channel(flat), shape)


class ActivationRange(keras.layers.Layer):
    """Moving min/max of a tensor in training; the tensor rounded to 8 bits over that range."""

    def build(self, input_shape) -> None:
        self.low = self.add_weight(name="low", shape=(), initializer="zeros", trainable=False)
        self.high = self.add_weight(name="high", shape=(), initializer="zeros", trainable=False)
        self.seen = self.add_weight(name="seen", shape=(), initializer="zeros", trainable=False)

    def call(self, x, training=None):
        if training:
            low, high = tf.minimum(tf.reduce_min(x), 0.0), tf.maximum(tf.reduce_max(x), 0.0)
            first = tf.equal(self.seen, 0.0)
            keep = tf.where(first, 0.0, ACTIVATION_MOMENTUM)
            self.low.assign(keep * self.low + (1 - keep) * low)
            self.high.assign(keep * self.high + (1 - keep) * high)
            self.seen.assign(1.0)
        high = tf.maximum(self.high, self.low + 1e-6)
        return tf.quantization.fake_quant_with_min_max_vars(x, self.low, high, num_bits=8)


class QuantConv2D(keras.layers.Conv2D):
    """Conv2D with its kernel rounded per output channel, and its output when it has an activation."""

    def build(self, input_shape) -> None:
        super().build(input_shape)
        self.output_range = ActivationRange(name=f"{self.name}_range")
        self.output_range.build(None)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, _fake_quant_per_channel(kernel))

    def call(self, inputs, training=None):
        outputs = super().call(inputs)
        if self.activation is keras.activations.linear:  # batch norm follows: folded in at conversion
            return outputs
        return self.output_range(outputs, training=training)


class QuantDepthwiseConv2D(keras.layers.DepthwiseConv2D):
    """DepthwiseConv2D with its kernel rounded per output channel."""

    def call(self, inputs):
        outputs = keras.ops.depthwise_conv(inputs, _depthwise_fake_quant(self.kernel), strides=self.strides,
                                           padding=self.padding, dilation_rate=self.dilation_rate,
                                           data_format=self.data_format)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs


class QuantDense(keras.layers.Dense):
    """Dense with its kernel rounded per tensor and its logits rounded before the activation."""

    def build(self, input_shape) -> None:
        super().build(input_shape)
        self.logits = ActivationRange(name=f"{self.name}_logits")
        self.logits.build(None)

    def call(self, inputs, training=None):
        outputs = keras.ops.matmul(inputs, _fake_quant_tensor(self.kernel))
        if self.use_bias:
            outputs = outputs + self.bias
        outputs = self.logits(outputs, training=training)
        return self.activation(outputs) if self.activation is not None else outputs


def _with_output_range(base: type) -> type:
    """A subclass of a layer whose output is rounded to 8 bits over a moving range."""

    class Quantized(base):
        def build(self, input_shape) -> None:
            super().build(input_shape)
            self.output_range = ActivationRange(name=f"{self.name}_range")
            self.output_range.build(None)

        def call(self, inputs, training=None):
            return self.output_range(super().call(inputs), training=training)

        def compute_output_shape(self, input_shape):
            return super().compute_output_shape(input_shape)

    Quantized.__name__ = f"Quant{base.__name__}"
    return Quantized


QUANTIZED = {keras.layers.Conv2D: QuantConv2D, keras.layers.DepthwiseConv2D: QuantDepthwiseConv2D,
             keras.layers.Dense: QuantDense, keras.layers.ReLU: _with_output_range(keras.layers.ReLU),
             keras.layers.Add: _with_output_range(keras.layers.Add),
             keras.layers.AveragePooling2D: _with_output_range(keras.layers.AveragePooling2D)}


def fake_quant_model(model: keras.Model) -> keras.Model:
    """A copy of the model with int8 simulated where TFLite quantizes; the trained weights copied in."""

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        quantized = QUANTIZED.get(type(layer))
        return quantized.from_config(layer.get_config()) if quantized else layer.__class__.from_config(
            layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            target = copy.get_layer(layer.name)
            target.set_weights(weights + target.get_weights()[len(weights):])
    return copy


def copy_back(quantized: keras.Model, model: keras.Model) -> None:
    """Put the fine-tuned weights into the plain model, convolution and dense kernels on their 8-bit grid."""
    for layer in model.layers:
        count = len(layer.get_weights())
        if not count:
            continue
        source = quantized.get_layer(layer.name)
        weights = [keras.ops.convert_to_numpy(w) for w in source.weights[:count]]
        if isinstance(source, QuantDepthwiseConv2D):
            weights[0] = _depthwise_fake_quant(tf.constant(weights[0])).numpy()
        elif isinstance(source, QuantDense):
            weights[0] = _fake_quant_tensor(tf.constant(weights[0])).numpy()
        elif isinstance(source, QuantConv2D):
            weights[0] = _fake_quant_per_channel(tf.constant(weights[0])).numpy()
        layer.set_weights(weights)


QAT_THRESHOLD = 0.01  # fine-tune when post-training quantization loses more than a point on validation


def int8_accuracy(model: keras.Model, int8_tflite: bytes, features: np.ndarray,
                  labels: np.ndarray) -> tuple[float, float]:
    """(float, int8 TFLite) accuracy on int8 device features."""
    from training.features import dequantize_features
    from training.quantize import tflite_scores

    float_scores = model.predict(dequantize_features(features), verbose=0, batch_size=256)
    int8_scores = tflite_scores(int8_tflite, features)
    return (float(np.mean(np.argmax(float_scores, axis=1) == labels)),
            float(np.mean(np.argmax(int8_scores, axis=1) == labels)))


def quantize_aware(model: keras.Model, int8_tflite: bytes, validation: tuple[np.ndarray, np.ndarray],
                   fit: Callable[[keras.Model], None], convert: Callable[[keras.Model], bytes],
                   mode: bool | None = None) -> tuple[bytes, dict]:
    """Keep post-training quantization, or fine-tune quantization-aware when it loses > QAT_THRESHOLD.

    mode None decides by the validation loss, True always fine-tunes, False never does. The fine-tuned
    model is kept only when its int8 validation accuracy is at least post-training's (or mode is True);
    otherwise the model's weights are restored.
    """
    float_accuracy, ptq_accuracy = int8_accuracy(model, int8_tflite, *validation)
    facts = {"method": "full-integer post-training quantization, calibrated on training features",
             "validation_float": float_accuracy, "validation_int8_post_training": ptq_accuracy,
             "quantization_aware": False}
    if mode is False or (mode is None and float_accuracy - ptq_accuracy <= QAT_THRESHOLD):
        return int8_tflite, facts
    saved = model.get_weights()
    quantized = fake_quant_model(model)
    fit(quantized)
    copy_back(quantized, model)
    qat_tflite = convert(model)
    qat_float, qat_accuracy = int8_accuracy(model, qat_tflite, *validation)
    facts |= {"validation_float_after_qat": qat_float, "validation_int8_after_qat": qat_accuracy,
              "qat_method": "fake-quant layers of our own (training.qat), then post-training conversion"}
    if mode is True or qat_accuracy >= ptq_accuracy:
        facts["quantization_aware"] = True
        return qat_tflite, facts
    model.set_weights(saved)
    facts["qat_discarded"] = "its int8 validation accuracy was below post-training quantization's"
    return int8_tflite, facts

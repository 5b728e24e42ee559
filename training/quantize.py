"""TFLite conversion: float and full-integer int8 models, and running them with TFLite's reference kernels."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf

from training.features import INPUT_MAX, INPUT_SCALE, INPUT_ZERO_POINT
from training.native_output import captured_output

REPRESENTATIVE_EXAMPLES = 300


class QuantizationError(RuntimeError):
    """The converter produced a model that does not match the device's int8 input mapping."""


def fixed_batch(model: keras.Model) -> keras.Model:
    """Clone a model with batch size 1, so the converted graph has no dynamic-shape ops for TFLM."""
    fixed_input = keras.Input(batch_shape=(1, *model.input_shape[1:]))
    clone = keras.models.clone_model(model, input_tensors=fixed_input)
    clone.set_weights(model.get_weights())
    return clone


def to_float_tflite(model: keras.Model) -> bytes:
    """Convert a Keras model to a float32 .tflite flatbuffer."""
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed_batch(model))
    return _convert(converter)


def to_int8_tflite(model: keras.Model, representative: np.ndarray, seed: int = 0) -> bytes:
    """Full-integer post-training quantization with int8 input and output, calibrated on training features."""
    rng = np.random.default_rng(seed)
    chosen = representative[rng.permutation(len(representative))[:REPRESENTATIVE_EXAMPLES]]
    # Calibration picks the input range from the data's min and max; one anchor example spanning exactly
    # [0, INPUT_MAX] makes the input quantization (INPUT_SCALE, -128), i.e. the device's own mapping.
    anchor = chosen[:1].copy()
    anchor[0, 0, 0], anchor[0, 0, 1] = 0.0, INPUT_MAX

    def examples():
        yield [anchor.astype(np.float32)]
        for example in chosen:
            yield [example[np.newaxis].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(fixed_batch(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = examples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    flatbuffer = _convert(converter)
    scale, zero_point = input_quantization(flatbuffer)
    if not (np.isclose(scale, INPUT_SCALE, rtol=1e-6) and zero_point == INPUT_ZERO_POINT):
        raise QuantizationError(f"int8 input quantization is ({scale}, {zero_point}), "
                                f"the device maps features with ({INPUT_SCALE}, {INPUT_ZERO_POINT})")
    return flatbuffer


def _convert(converter: tf.lite.TFLiteConverter) -> bytes:
    with captured_output(), warnings.catch_warnings():
        # int8 input statistics come from calibration, which the converter warns about needlessly
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs", category=UserWarning)
        return converter.convert()


def _interpreter(flatbuffer: bytes) -> tf.lite.Interpreter:
    """A TFLite interpreter on the reference kernels (closest to TFLM), without the deprecation notice."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated", category=UserWarning)
        interpreter = tf.lite.Interpreter(
            model_content=flatbuffer,
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    return interpreter


def input_quantization(flatbuffer: bytes) -> tuple[float, int]:
    """Return the (scale, zero_point) of a model's input tensor."""
    scale, zero_point = _interpreter(flatbuffer).get_input_details()[0]["quantization"]
    return float(scale), int(zero_point)


def tflite_scores(flatbuffer: bytes, inputs: np.ndarray) -> np.ndarray:
    """Run a .tflite model on a batch of inputs (int8 or float, per the model) one example at a time."""
    interpreter = _interpreter(flatbuffer)
    input_detail = interpreter.get_input_details()[0]
    output_detail = interpreter.get_output_details()[0]
    scores = []
    for example in inputs:
        interpreter.set_tensor(input_detail["index"], example[np.newaxis].astype(input_detail["dtype"]))
        interpreter.invoke()
        scores.append(interpreter.get_tensor(output_detail["index"])[0].copy())
    return np.stack(scores) if scores else np.zeros((0, output_detail["shape"][-1]), output_detail["dtype"])

"""Quantization-aware fine-tuning (training.qat): fake-quant copies, and int8 closer to float than PTQ."""

from __future__ import annotations

import numpy as np
import pytest

from training.features import FeatureParams, dequantize_features, quantize_features

PARAMS = FeatureParams()


def _tiny_case():
    """Three weakly separated classes and a tiny_conv fitted for one epoch (scores far from 0 and 1)."""
    import keras

    from training.models import build_model

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 64)
    features = rng.uniform(0, 4, (len(labels), *PARAMS.shape)).astype(np.float32)
    for label in range(3):
        features[labels == label, :, label * 12:label * 12 + 12] += rng.uniform(0.2, 1.0, (64, 1, 1))
    device = quantize_features(features)
    features = dequantize_features(device)
    keras.utils.set_random_seed(0)
    model = build_model("tiny_conv", PARAMS.shape, 3)
    model.compile(optimizer=keras.optimizers.Adam(0.002), loss="sparse_categorical_crossentropy")
    model.fit(features, labels, epochs=1, batch_size=32, verbose=0)
    # one large dense weight widens the per-tensor range, so post-training rounding costs accuracy
    dense = model.get_layer("scores")
    kernel, bias = dense.get_weights()
    kernel[np.argmax(np.abs(kernel[:, 0])), 0] *= 30
    dense.set_weights([kernel, bias])
    return model, features, device, labels


def _disagreement(model, int8_tflite: bytes, features: np.ndarray, device: np.ndarray) -> tuple[float, float]:
    """Mean absolute score difference between float and int8, and their top-1 agreement."""
    from training.quantize import tflite_scores

    floats = model.predict(features, verbose=0)
    int8 = (tflite_scores(int8_tflite, device).astype(np.float32) + 128) / 256
    return float(np.mean(np.abs(floats - int8))), float(np.mean(np.argmax(floats, 1) == np.argmax(int8, 1)))


def test_fake_quant_copy_keeps_the_weights_and_simulates_int8():
    from training.models import build_model
    from training.qat import fake_quant_model

    model = build_model("res_ds_cnn", PARAMS.shape, 4)
    copy = fake_quant_model(model)
    assert [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]
    assert type(copy.get_layer("block1_dw")).__name__ == "QuantDepthwiseConv2D"
    assert "QuantAdd" in {type(layer).__name__ for layer in copy.layers}
    for layer in model.layers:
        for before, after in zip(layer.get_weights(), copy.get_layer(layer.name).get_weights(), strict=False):
            assert np.array_equal(before, after)
    tiny = build_model("tiny_conv", PARAMS.shape, 4)
    copy = fake_quant_model(tiny)
    features = np.random.default_rng(1).uniform(0, 20, (8, *PARAMS.shape)).astype(np.float32)
    copy(features, training=True)  # activation ranges are learnt in training
    plain, simulated = tiny.predict(features, verbose=0), copy.predict(features, verbose=0)
    assert not np.array_equal(plain, simulated) and np.allclose(plain, simulated, atol=0.05)


@pytest.mark.slow
def test_quantization_aware_int8_agrees_with_float_better_than_post_training():
    import keras

    from training.qat import quantize_aware
    from training.quantize import to_int8_tflite

    model, features, device, labels = _tiny_case()
    post_training = to_int8_tflite(model, features)
    ptq_error, ptq_agreement = _disagreement(model, post_training, features, device)

    def fit(quantized):
        quantized.compile(optimizer=keras.optimizers.Adam(0.0002), loss="sparse_categorical_crossentropy")
        quantized.fit(features, labels, epochs=2, batch_size=32, verbose=0)

    aware, facts = quantize_aware(model, post_training, (device, labels), fit,
                                  lambda chosen: to_int8_tflite(chosen, features), mode=True)
    qat_error, qat_agreement = _disagreement(model, aware, features, device)
    assert facts["quantization_aware"] and "validation_int8_after_qat" in facts
    assert qat_error < ptq_error / 2 and qat_agreement > ptq_agreement


def test_post_training_is_kept_when_it_loses_at_most_a_point():
    import keras

    from training.models import build_model
    from training.qat import quantize_aware
    from training.quantize import to_int8_tflite

    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(2), 16)
    features = rng.uniform(0, 4, (32, *PARAMS.shape)).astype(np.float32)
    features[labels == 1, :, :20] += 10.0
    device = quantize_features(features)
    keras.utils.set_random_seed(0)
    model = build_model("tiny_conv", PARAMS.shape, 2)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(dequantize_features(device), labels, epochs=5, verbose=0)
    int8 = to_int8_tflite(model, dequantize_features(device))

    def fit(quantized):
        raise AssertionError("no fine-tuning expected")

    kept, facts = quantize_aware(model, int8, (device, labels), fit, lambda chosen: b"")
    assert kept == int8 and facts["quantization_aware"] is False
    assert facts["validation_float"] - facts["validation_int8_post_training"] <= 0.01

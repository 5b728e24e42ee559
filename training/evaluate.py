"""Accuracy of a model three ways on one split: Keras float, TFLite int8 and the TFLM interpreter."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from training.dataset import Examples, ReleaseError
from training.features import quantize_features
from training.quantize import tflite_scores
from training.tflm import tflm_scores, top1_agreement


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Top-1 accuracy, or None without examples."""
    if len(labels) == 0:
        return None
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def evaluate(model: keras.Model, int8_tflite: bytes, labels: list[str],
             split: tuple[str, Examples, np.ndarray]) -> dict:
    """Score one split with all three runtimes; accuracy overall and per class, and TFLM/TFLite agreement."""
    name, examples, features = split
    quantized = quantize_features(features)
    scores = {
        "float": model.predict(features, verbose=0, batch_size=256),
        "int8_tflite": tflite_scores(int8_tflite, quantized),
        "tflm": tflm_scores(int8_tflite, quantized),
    }
    per_class = {}
    for index, label in enumerate(labels):
        chosen = examples.labels == index
        truth = examples.labels[chosen]
        per_class[label] = {"examples": int(chosen.sum()),
                            **{kind: accuracy(values[chosen], truth) for kind, values in scores.items()}}
    return {
        "evaluation_split": name,
        "evaluation_examples": len(examples),
        "accuracy": {kind: accuracy(s, examples.labels) for kind, s in scores.items()},
        "per_class": per_class,
        "tflm_tflite_agreement": top1_agreement(scores["tflm"], scores["int8_tflite"]),
    }


def evaluate_model_dir(model_dir: Path | str, release_dir: Path | str, split: str = "testing",
                       seed: int = 0) -> dict:
    """Evaluate a model directory on one split of a release (its keywords must be in the release)."""
    from training.dataset import build_split, choose_labels, read_release
    from training.features import device_features
    from training.model_dir import read_model_dir

    model_dir = read_model_dir(model_dir)
    release = read_release(release_dir)
    labels = choose_labels(release, model_dir.labels[2:])
    examples = build_split(release, labels, split, np.random.default_rng(seed), model_dir.feature_params)
    if len(examples) == 0:
        raise ReleaseError(f"the release has no {split} clips for {', '.join(labels[2:])}")
    model = keras.models.load_model(model_dir.root / "model.keras")
    features = device_features(examples.samples, model_dir.feature_params)
    return evaluate(model, model_dir.int8_tflite(), labels, (split, examples, features))

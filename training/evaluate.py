"""Accuracy of a model three ways on one split: Keras float, TFLite int8 and the TFLM interpreter."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from training.dataset import Examples
from training.features import quantize_features
from training.quantize import tflite_scores
from training.tflm import tflm_scores, top1_agreement

# Below this many examples an accuracy near 0.9 has a 95 % interval of about ±9 points or wider
# (1.96·sqrt(0.9·0.1/40) ≈ 0.093), too wide to compare two models or to trust a release.
MIN_EVALUATION_EXAMPLES = 40


def evaluation_warnings(split: str, examples: int) -> list[str]:
    """Say when an accuracy figure is not the held-out one, or rests on too few examples to trust."""
    warnings = []
    if split == "training":
        warnings.append("accuracy is measured on the training split, which the model learnt from: "
                        "it says nothing about new speakers")
    elif split == "validation":
        warnings.append("accuracy is measured on the validation split, which training watched, "
                        "not on the held-out testing split")
    if examples < MIN_EVALUATION_EXAMPLES:
        warnings.append(f"accuracy is measured on only {examples} examples (one moves it by "
                        f"{100 / max(examples, 1):.1f} points); collect more speakers before trusting it")
    return warnings


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
        "warnings": evaluation_warnings(name, len(examples)),
    }


def evaluate_model_dir(model_dir: Path | str, release_dir: Path | str, split: str = "testing",
                       seed: int = 0) -> dict:
    """Evaluate a model directory on one split of a release (its keywords must be in the release)."""
    from training.dataset import build_split
    from training.features import device_features
    from training.inputs import evaluation_inputs

    model_dir, release, labels = evaluation_inputs(model_dir, release_dir, split)
    examples = build_split(release, labels, split, np.random.default_rng(seed), model_dir.feature_params)
    model = keras.models.load_model(model_dir.root / "model.keras")
    features = device_features(examples.samples, model_dir.feature_params)
    return evaluate(model, model_dir.int8_tflite(), labels, (split, examples, features))

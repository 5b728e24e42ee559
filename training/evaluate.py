"""Accuracy of a model three ways on one split: Keras float, TFLite int8 and the TFLM interpreter."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from training.dataset import SILENCE_LABEL, Examples, ReleaseDir
from training.features import FeatureParams, quantize_features
from training.quantize import tflite_scores
from training.recognizer import Recognition
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


@dataclass(frozen=True)
class ReleaseViews:
    """What the views beyond accuracy need: the release, the features, where plots go, the operating point.

    Without an operating point one is chosen on the validation streams for the false-accept budget.
    """

    release: ReleaseDir
    params: FeatureParams
    plots_dir: Path | None = None
    operating_point: Recognition | None = None
    budget_per_hour: float | None = None
    seed: int = 0


def classification(scores: np.ndarray, truth: np.ndarray, labels: list[str]) -> dict:
    """Confusion matrix (rows true, columns predicted) and per-class precision and recall."""
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    if len(truth):
        np.add.at(matrix, (truth, np.argmax(scores, axis=1)), 1)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    return {"matrix": matrix.tolist(), "per_class": {
        label: {"precision": float(matrix[i, i] / predicted[i]) if predicted[i] else None,
                "recall": float(matrix[i, i] / actual[i]) if actual[i] else None}
        for i, label in enumerate(labels)}}


def evaluate(model: keras.Model, int8_tflite: bytes, labels: list[str],
             split: tuple[str, Examples, np.ndarray], views: ReleaseViews | None = None) -> dict:
    """Score one split with all three runtimes; accuracy overall and per class, and TFLM/TFLite agreement.

    With views, also the detection view, operating point, fairness, compute cost and plots (training.views).
    """
    name, examples, features = split
    quantized = quantize_features(features)
    scores = {
        "float": model.predict(features, verbose=0, batch_size=256),
        "int8_tflite": tflite_scores(int8_tflite, quantized),
        "tflm": tflm_scores(int8_tflite, quantized),
    }
    confusion = classification(scores["tflm"], examples.labels, labels)
    per_class = {}
    for index, label in enumerate(labels):
        chosen = examples.labels == index
        truth = examples.labels[chosen]
        per_class[label] = {"examples": int(chosen.sum()),
                            **{kind: accuracy(values[chosen], truth) for kind, values in scores.items()},
                            **confusion["per_class"][label]}
    metrics = {
        "evaluation_split": name,
        "evaluation_examples": len(examples),
        "accuracy": {kind: accuracy(s, examples.labels) for kind, s in scores.items()},
        "per_class": per_class,
        "confusion_matrix": {"runtime": "tflm", "labels": list(labels), "matrix": confusion["matrix"]},
        "tflm_tflite_agreement": top1_agreement(scores["tflm"], scores["int8_tflite"]),
        "agreement": {"float_int8_tflite": top1_agreement(scores["float"], scores["int8_tflite"]),
                      "float_tflm": top1_agreement(scores["float"], scores["tflm"]),
                      "int8_tflite_tflm": top1_agreement(scores["int8_tflite"], scores["tflm"])},
        "warnings": evaluation_warnings(name, len(examples)),
    }
    if views is not None:
        from training.views import release_views

        correct = np.argmax(scores["tflm"], axis=1) == examples.labels
        clip_outcomes = [(path, float(ok)) for path, ok in zip(examples.paths, correct, strict=True)
                         if path != SILENCE_LABEL]
        metrics.update(release_views(int8_tflite, labels, name, clip_outcomes, metrics, views))
    return metrics


def evaluate_model_dir(model_dir: Path | str, release_dir: Path | str, split: str = "testing",
                       seed: int = 0) -> dict:
    """Evaluate a model directory on one split of a release (its keywords must be in the release).

    The split's examples (unknown words, silence) are drawn as training draws its clean rows for the seed,
    so a model re-scored on its own release and seed sees the examples its metrics.json was scored on.
    """
    from training.inputs import evaluation_inputs
    from training.operating_point import recorded_recognition
    from training.pipeline import build_cache, release_noises

    model_dir, release, labels = evaluation_inputs(model_dir, release_dir, split)
    noises, _ = release_noises(release, model_dir.feature_params, seed)
    with tempfile.TemporaryDirectory(prefix="wordcrowd-evaluate.") as folder:
        cache = build_cache(release, labels, split, model_dir.feature_params, noises, Path(folder), seed)
        examples, features = cache.clean_examples()
    model = keras.models.load_model(model_dir.root / "model.keras")
    views = ReleaseViews(release, model_dir.feature_params,
                         operating_point=recorded_recognition(model_dir.metrics), seed=seed)
    metrics = evaluate(model, model_dir.int8_tflite(), labels, (split, examples, features), views)
    if isinstance(model_dir.metrics.get("sizes"), dict):  # bytes and arena as measured at training
        metrics["sizes"] = model_dir.metrics["sizes"]
    return metrics

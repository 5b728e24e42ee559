"""Transfer for the long tail: a base model's feature layers (frozen, then fine-tuned) under a new head."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import keras

from training.features import FeatureParams
from training.model_dir import ModelDirError, read_model_dir
from training.models import HEAD_LAYER, build_model

if TYPE_CHECKING:
    from training.fit import TrainConfig


def build_for_training(model_name: str, base: Path | None, params: FeatureParams,
                       num_classes: int) -> tuple[keras.Model, dict | None]:
    """A fresh registered model, or the base's feature layers (frozen) with a new head, and its lineage."""
    if base is None:
        return build_model(model_name, params.shape, num_classes), None
    base_dir = read_model_dir(base)
    if base_dir.feature_params != params:
        raise ModelDirError(f"{base} was trained on other features ({base_dir.feature_params}); "
                            f"transfer needs {params}")
    base_model = keras.models.load_model(base_dir.root / "model.keras")
    for layer in base_model.layers:
        layer.trainable = False  # frozen batch norm also runs in inference mode (Keras 3)
    features = base_model.get_layer(HEAD_LAYER).input
    scores = keras.layers.Dense(num_classes, activation="softmax", name=HEAD_LAYER)(features)
    model = keras.Model(base_model.input, scores, name=base_model.name)
    metrics = base_dir.metrics
    lineage = {"path": str(base), "model": metrics.get("model", base_model.name),
               "labels": list(base_dir.labels), "release": metrics.get("release"),
               "accuracy": metrics.get("accuracy"), "frozen_layers": len(base_model.layers) - 1}
    return model, lineage


def fine_tune(model: keras.Model, lineage: dict, config: TrainConfig,
              fit: Callable[[int], dict]) -> dict | None:
    """Unfreeze every layer and fit again (at a lower rate); record the epochs in the lineage."""
    epochs = config.fine_tune_epochs if config.fine_tune_epochs is not None else max(1, config.epochs // 2)
    lineage["fine_tune_epochs"] = epochs
    if epochs == 0:
        return None
    for layer in model.layers:
        layer.trainable = True
    return fit(epochs)

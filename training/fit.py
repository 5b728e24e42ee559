"""Train a keyword model from a release and write the model directory (DESIGN §8)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from training.architectures import DEFAULT_ARCHITECTURE
from training.dataset import (
    SPLITS,
    Examples,
    ReleaseDir,
    ReleaseError,
    build_split,
    choose_labels,
    read_release,
)
from training.detection import DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR
from training.evaluate import ReleaseViews, evaluate
from training.features import FeatureParams, device_features, quantize_features
from training.model_card import render_model_card
from training.model_dir import write_model_files
from training.models import build_model
from training.output_dir import building_dir, check_model_out_dir, publish_dir
from training.quantize import to_float_tflite, to_int8_tflite
from training.tflm import measure_arena

Report = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """Choices of one training run."""

    model: str = DEFAULT_ARCHITECTURE
    epochs: int = 20
    seed: int = 0
    keywords: tuple[str, ...] | None = None
    batch_size: int = 32
    learning_rate: float = 0.001
    false_accept_budget_per_hour: float = DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR  # for the operating point


class EpochReport(keras.callbacks.Callback):
    """Report loss and accuracy (training and validation) at the end of every epoch."""

    def __init__(self, report: Report, epochs: int) -> None:
        super().__init__()
        self.report, self.epochs = report, epochs

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = "  ".join(f"{name} {value:.3f}" for name, value in (logs or {}).items())
        self.report(f"epoch {epoch + 1}/{self.epochs}  {values}")


def train(release_dir: Path | str, out_dir: Path | str, config: TrainConfig = TrainConfig(),
          report: Report = lambda message: None, force: bool = False) -> dict:
    """Train on a release and write MODEL/ (built beside it, moved into place only when complete).

    With force, an existing model directory (one holding feature_params.json) is replaced; any other
    non-empty directory is refused (OutputDirError).
    """
    out_dir = Path(out_dir)
    check_model_out_dir(out_dir, force)
    release = read_release(release_dir)
    labels = choose_labels(release, config.keywords)
    keras.utils.set_random_seed(config.seed)
    params = FeatureParams()
    splits = _load_splits(release, labels, params, config.seed, report)
    building = building_dir(out_dir)
    try:
        metrics = _train_into(building, release, labels, params, splits, config, report)
        check_model_out_dir(out_dir, force)  # again: the directory may have changed while training
        publish_dir(building, out_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    report(f"wrote {out_dir}")
    return metrics


def _load_splits(release: ReleaseDir, labels: list[str], params: FeatureParams, seed: int,
                 report: Report) -> dict[str, tuple[Examples, np.ndarray]]:
    rng = np.random.default_rng(seed)
    splits = {split: build_split(release, labels, split, rng, params) for split in SPLITS}
    if len(splits["training"]) == 0:
        raise ReleaseError(f"{release.root} has no training clips for {', '.join(labels[2:])}")
    started, total = time.perf_counter(), sum(len(examples) for examples in splits.values())
    features = {split: device_features(examples.samples, params) for split, examples in splits.items()}
    seconds = time.perf_counter() - started
    report(f"features: {total} clips in {seconds:.2f} s ({total / max(seconds, 1e-9):.0f} clips/s); "
           + ", ".join(f"{split} {len(examples)}" for split, examples in splits.items()))
    return {split: (splits[split], features[split]) for split in SPLITS}


def _fit(model: keras.Model, splits: dict, config: TrainConfig, report: Report) -> dict:
    (train_examples, train_x), (val_examples, val_x) = splits["training"], splits["validation"]
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    validation = (val_x, val_examples.labels) if len(val_examples) else None
    if validation is None:
        report("the validation split is empty: training without validation")
    history = model.fit(train_x, train_examples.labels, batch_size=config.batch_size, epochs=config.epochs,
                        validation_data=validation, shuffle=True, verbose=0,
                        callbacks=[EpochReport(report, config.epochs)])
    return {name: float(values[-1]) for name, values in history.history.items()}


def _train_into(folder: Path, release: ReleaseDir, labels: list[str], params: FeatureParams, splits: dict,
                config: TrainConfig, report: Report) -> dict:
    model = build_model(config.model, params.shape, len(labels))
    report(f"training {config.model} ({model.count_params():,} parameters) for {config.epochs} epochs")
    started = time.perf_counter()
    final = _fit(model, splits, config, report)
    train_seconds = time.perf_counter() - started
    float_tflite, int8_tflite = _save_models(folder, model, splits["training"][1], config.seed, report)
    report("evaluating: Keras float, TFLite int8 and the TFLM interpreter; measuring the arena")
    metrics = evaluate(model, int8_tflite, labels, _evaluation_split(splits),
                       ReleaseViews(release, params, plots_dir=folder, seed=config.seed,
                                    budget_per_hour=config.false_accept_budget_per_hour))
    if metrics["evaluation_split"] != "testing":
        metrics["warnings"].insert(0, "the release's testing split has no clips of these keywords "
                                      "(too few speakers for the split rule)")
    arena = measure_arena(int8_tflite, quantize_features(splits["training"][1][0]))
    metrics["sizes"] = {
        "int8_tflite_bytes": len(int8_tflite), "float_tflite_bytes": len(float_tflite),
        "arena_bytes": arena.minimal_bytes, "arena_recorded_bytes": arena.recorded_bytes,
        "arena_measured_by": "smallest arena in which the host TFLM interpreter runs the model; "
                             "arena_recorded_bytes is print_allocations' total",
    }
    metrics = {"model": config.model, "params": model.count_params(), "labels": labels,
               "release": _release_facts(release), **metrics,
               "examples": {split: len(examples) for split, (examples, _) in splits.items()},
               "training": {"epochs": config.epochs, "seed": config.seed, "batch_size": config.batch_size,
                            "learning_rate": config.learning_rate, "seconds": round(train_seconds, 2),
                            "final": final}}
    write_model_files(folder, labels, params, metrics, render_model_card(release, metrics))
    report(f"accuracy on {metrics['evaluation_split']}: " + ", ".join(
        f"{kind} {value:.3f}" for kind, value in metrics["accuracy"].items() if value is not None))
    return metrics


def _save_models(folder: Path, model: keras.Model, train_features: np.ndarray, seed: int,
                 report: Report) -> tuple[bytes, bytes]:
    """Write model.keras, float.tflite and int8.tflite (calibrated on training features)."""
    model.save(folder / "model.keras")
    report("converting: float.tflite, int8.tflite (full-integer, calibrated on training features)")
    float_tflite = to_float_tflite(model)
    int8_tflite = to_int8_tflite(model, train_features, seed)
    (folder / "float.tflite").write_bytes(float_tflite)
    (folder / "int8.tflite").write_bytes(int8_tflite)
    return float_tflite, int8_tflite


def _evaluation_split(splits: dict) -> tuple[str, Examples, np.ndarray]:
    """The test split, or the next non-empty one when a small release leaves it empty (recorded)."""
    for split in ("testing", "validation", "training"):
        examples, features = splits[split]
        if len(examples):
            return split, examples, features
    raise ReleaseError("the release has no clips to evaluate on")


def _release_facts(release: ReleaseDir) -> dict:
    info = release.info
    campaign = info.get("campaign")  # curation writes {"slug", "title", "language"}
    if isinstance(campaign, dict):
        campaign = campaign.get("slug")
    return {"campaign": campaign, "version": info.get("version"),
            "created": info.get("created"), "format_version": info.get("format_version"),
            "sha256sums_sha256": release.checksum}

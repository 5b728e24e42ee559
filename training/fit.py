"""Train a keyword model from a release and write the model directory (DESIGN §8)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from training.architectures import DEFAULT_ARCHITECTURE, DEFAULT_EPOCHS
from training.augment import NO_AUGMENTATION, Augmentation
from training.dataset import SPLITS, Examples, ReleaseDir, ReleaseError, choose_labels, read_release
from training.detection import DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR
from training.evaluate import ReleaseViews, evaluate
from training.features import FeatureParams, dequantize_features
from training.model_card import render_model_card
from training.model_dir import write_model_files
from training.output_dir import building_dir, check_model_out_dir, publish_dir
from training.pipeline import FeatureCache, build_cache, class_weights, release_noises, training_dataset
from training.quantize import to_float_tflite, to_int8_tflite
from training.summary import summary_table
from training.tflm import measure_arena
from training.transfer import build_for_training, fine_tune

Report = Callable[[str], None]
CALIBRATION_ROWS = 1000  # clean training rows handed to calibration (it uses REPRESENTATIVE_EXAMPLES of them)


@dataclass(frozen=True)
class TrainConfig:
    """Choices of one training run; the defaults are the recommended recipe (benchmarks/RESULTS.md)."""

    model: str = DEFAULT_ARCHITECTURE
    epochs: int = DEFAULT_EPOCHS
    seed: int = 0
    keywords: tuple[str, ...] | None = None
    batch_size: int = 32
    learning_rate: float = 0.002  # the peak, reached after the warm-up; cosine decay to 2 % of it after
    warmup_epochs: int = 3  # linear warm-up from a tenth of the rate
    label_smoothing: float = 0.1
    # the validation metric that picks the kept weights and stops a run: the loss, which keeps falling
    # smoothly while accuracy on a few hundred validation examples jumps by an example at a time (the best
    # accuracy epoch was often an early plateau, 1-2 points worse on unseen speakers; benchmarks/RESULTS.md)
    monitor: str = "val_loss"
    # epochs without a better monitored value before stopping: 6 ended main's recipe at epoch 26 of 60
    # on the three-engine crowd (10 validation speakers make a noisy curve) while it was still improving
    patience: int = 10
    augmentation: Augmentation = field(default_factory=Augmentation)
    balance_classes: bool = True
    base: Path | None = None  # a model directory whose feature layers are reused (transfer)
    fine_tune_epochs: int | None = None  # after the head: unfrozen epochs at a tenth of the rate (None: half)
    false_accept_budget_per_hour: float = DEFAULT_FALSE_ACCEPT_BUDGET_PER_HOUR  # for the operating point
    quantization_aware: bool | None = None  # None: fine-tune quantization-aware when PTQ loses > 1 point
    qat_epochs: int | None = None  # None: a tenth of the epochs (at least 2), at a tenth of the rate


class EpochReport(keras.callbacks.Callback):
    """Report loss and accuracy (training and validation) at the end of every epoch."""

    def __init__(self, report: Report, epochs: int, label: str = "epoch") -> None:
        super().__init__()
        self.report, self.epochs, self.label = report, epochs, label
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = "  ".join(f"{name} {value:.3f}" for name, value in (logs or {}).items()
                           if name != "learning_rate")
        seconds = time.perf_counter() - self.started
        self.report(f"{self.label} {epoch + 1}/{self.epochs}  {values}  ({seconds:.0f} s)")


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
    building = building_dir(out_dir)
    try:
        # the feature cache is a temporary folder beside the output, gone when training ends
        with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.cache.") as cache:
            splits = _cache_splits(release, labels, params, config, Path(cache), report)
            metrics = _train_into(building, release, labels, params, splits, config, report)
        check_model_out_dir(out_dir, force)  # again: the directory may have changed while training
        publish_dir(building, out_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    report(f"wrote {out_dir}")
    return metrics


def _cache_splits(release: ReleaseDir, labels: list[str], params: FeatureParams, config: TrainConfig,
                  folder: Path, report: Report) -> dict[str, FeatureCache]:
    """Feature caches of every split: training with augmented copies, validation and testing clean."""
    noises, source = release_noises(release, params, config.seed)
    report(f"noise: {source}")
    splits = {}
    for split in SPLITS:
        augmentation = config.augmentation if split == "training" else NO_AUGMENTATION
        splits[split] = build_cache(release, labels, split, params, noises, folder, config.seed,
                                    augmentation, report)
    if splits["training"].clean == 0:
        raise ReleaseError(f"{release.root} has no training clips for {', '.join(labels[2:])}")
    return splits


def _callbacks(config: TrainConfig, has_validation: bool, report: Report, epochs: int,
               label: str = "epoch") -> list[keras.callbacks.Callback]:
    callbacks: list[keras.callbacks.Callback] = [EpochReport(report, epochs, label)]
    if has_validation:  # the best validation weights are kept and restored at the end
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=config.monitor, patience=config.patience, restore_best_weights=True, verbose=0))
    return callbacks


def _fit(model: keras.Model, splits: dict[str, FeatureCache], config: TrainConfig, report: Report,
         epochs: int, learning_rate: float, label: str = "epoch") -> dict:
    """Fit with a cosine learning-rate schedule, class weights and early stopping on validation."""
    training = splits["training"]
    weights = (class_weights(training.labels, model.output_shape[-1]) if config.balance_classes
               else np.ones(model.output_shape[-1], dtype=np.float32))
    steps = max(1, -(-training.clean // config.batch_size))  # an epoch: as many examples as clean clips
    classes = model.output_shape[-1]
    schedule = learning_rate_schedule(config, learning_rate, steps, epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  weighted_metrics=[], metrics=["accuracy"])
    validation = None
    if len(splits["validation"]):
        examples, features = splits["validation"].clean_examples()
        validation = (features, keras.utils.to_categorical(examples.labels, classes))
    else:
        report("the validation split is empty: training without validation or early stopping")
    dataset = training_dataset(training, config.batch_size, config.seed, weights, config.augmentation,
                               one_hot=classes)
    history = model.fit(dataset, epochs=epochs, steps_per_epoch=steps, validation_data=validation, verbose=0,
                        shuffle=False,  # the stream is shuffled by training_dataset
                        callbacks=_callbacks(config, validation is not None, report, epochs, label))
    values = history.history
    best = _best_epoch(values, config.monitor)
    curves = {name: [round(float(value), 5) for value in series] for name, series in values.items()
              if name != "learning_rate"}
    return {"epochs_run": len(values["loss"]), "best_epoch": best + 1,
            **{name: float(series[best]) for name, series in values.items() if name != "learning_rate"},
            "history": curves}


def _best_epoch(history: dict[str, list[float]], monitor: str) -> int:
    """Index of the epoch whose weights EarlyStopping kept (the first best); the last without validation."""
    if monitor not in history:
        return len(history["loss"]) - 1
    series = np.asarray(history[monitor])
    return int(np.argmin(series) if "loss" in monitor else np.argmax(series))


def learning_rate_schedule(config: TrainConfig, peak: float, steps: int,
                           epochs: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """Cosine decay from `peak` to 2 % of it, after a linear warm-up from a tenth (config.warmup_epochs)."""
    warmup = min(config.warmup_epochs, epochs // 2) * steps
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(peak, decay_steps=steps * epochs, alpha=0.02)
    return keras.optimizers.schedules.CosineDecay(peak / 10, decay_steps=steps * epochs - warmup, alpha=0.02,
                                                  warmup_target=peak, warmup_steps=warmup)


def _train_into(folder: Path, release: ReleaseDir, labels: list[str], params: FeatureParams,
                splits: dict[str, FeatureCache], config: TrainConfig, report: Report) -> dict:
    model, lineage = build_for_training(config.model, config.base, params, len(labels))
    name = lineage["model"] if lineage else config.model
    report(f"training {name} ({model.count_params():,} parameters) for up to {config.epochs} epochs"
           + (f", feature layers frozen from {config.base}" if lineage else ""))
    started = time.perf_counter()
    final = _fit(model, splits, config, report, config.epochs, config.learning_rate)
    if lineage:
        final = fine_tune(model, lineage, config, lambda epochs: _fit(
            model, splits, config, report, epochs, config.learning_rate / 10, "fine-tune epoch")) or final
    train_seconds = time.perf_counter() - started
    calibration = _calibration_rows(splits["training"], config.seed)
    int8_tflite, quantization = _quantize(model, splits, config, calibration, report)
    float_tflite = _save_models(folder, model, int8_tflite)
    report("evaluating: Keras float, TFLite int8 and the TFLM interpreter; measuring the arena")
    metrics = evaluate(model, int8_tflite, labels, _evaluation_split(splits),
                       ReleaseViews(release, params, plots_dir=folder, seed=config.seed,
                                    budget_per_hour=config.false_accept_budget_per_hour))
    if metrics["evaluation_split"] != "testing":
        metrics["warnings"].insert(0, "the release's testing split has no clips of these keywords "
                                      "(too few speakers for the split rule)")
    arena = measure_arena(int8_tflite, splits["training"].features[0])
    metrics["sizes"] = {
        "int8_tflite_bytes": len(int8_tflite), "float_tflite_bytes": len(float_tflite),
        "arena_bytes": arena.minimal_bytes, "arena_recorded_bytes": arena.recorded_bytes,
        "arena_measured_by": "smallest arena in which the host TFLM interpreter runs the model; "
                             "arena_recorded_bytes is print_allocations' total",
    }
    metrics = {"model": name, "params": model.count_params(), "labels": labels,
               "release": _release_facts(release), **metrics,
               "examples": {split: cache.clean for split, cache in splits.items()},
               "training": _training_facts(config, splits["training"], train_seconds, final),
               "quantization": quantization}
    if lineage:
        metrics["base"] = lineage
    write_model_files(folder, labels, params, metrics, render_model_card(release, metrics))
    for line in summary_table(metrics):
        report(line)
    return metrics


def _training_facts(config: TrainConfig, training: FeatureCache, seconds: float, final: dict) -> dict:
    augmentation = config.augmentation
    return {"epochs": config.epochs, "seed": config.seed, "batch_size": config.batch_size,
            "learning_rate": config.learning_rate,
            "learning_rate_schedule": (f"linear warm-up for {config.warmup_epochs} epochs, " if
                                       config.warmup_epochs else "") + "cosine decay to 2 %",
            "label_smoothing": config.label_smoothing,
            "early_stopping_monitor": config.monitor, "early_stopping_patience": config.patience,
            "class_weighting": config.balance_classes,
            "augmentation": {"copies": augmentation.copies, "time_shift_ms": augmentation.time_shift_ms,
                             "speed_range": list(augmentation.speed_range),
                             "gain_db_range": list(augmentation.gain_db_range),
                             "background_frequency": augmentation.background_frequency,
                             "snr_db_range": list(augmentation.snr_db_range),
                             "time_masks": augmentation.time_masks,
                             "frequency_masks": augmentation.frequency_masks,
                             "unknown_percentage": augmentation.unknown_percentage,
                             "silence_percentage": augmentation.silence_percentage},
            "cached_rows": len(training), "seconds": round(seconds, 2),
            "final": {name: value for name, value in final.items() if name != "history"},
            "history": final.get("history", {})}


def _calibration_rows(training: FeatureCache, seed: int) -> np.ndarray:
    """Clean training features for post-training quantization (calibrated on training data)."""
    chosen = np.sort(np.random.default_rng(seed).permutation(training.clean)[:CALIBRATION_ROWS])
    return dequantize_features(training.features[chosen])


def _quantize(model: keras.Model, splits: dict[str, FeatureCache], config: TrainConfig,
              calibration: np.ndarray, report: Report) -> tuple[bytes, dict]:
    """int8 by post-training quantization, fine-tuned quantization-aware when that loses > 1 point."""
    from training.qat import quantize_aware

    report("converting: int8.tflite (full-integer, calibrated on training features)")
    int8_tflite = to_int8_tflite(model, calibration, config.seed)
    source = splits["validation"] if splits["validation"].clean else splits["training"]
    validation = (np.asarray(source.features[:source.clean]), source.labels[:source.clean])
    epochs = config.qat_epochs if config.qat_epochs is not None else max(2, config.epochs // 10)

    def fit(quantized: keras.Model) -> None:
        report(f"post-training quantization loses more than a point: {epochs} quantization-aware epochs")
        _fit(quantized, splits, config, report, epochs, config.learning_rate / 10, "quantization-aware epoch")

    int8_tflite, facts = quantize_aware(model, int8_tflite, validation, fit,
                                        lambda chosen: to_int8_tflite(chosen, calibration, config.seed),
                                        config.quantization_aware)
    chosen = "quantization-aware fine-tuning" if facts["quantization_aware"] else "post-training"
    report(f"quantization: {chosen} (validation float {facts['validation_float']:.3f}, post-training int8 "
           f"{facts['validation_int8_post_training']:.3f})")
    return int8_tflite, facts


def _save_models(folder: Path, model: keras.Model, int8_tflite: bytes) -> bytes:
    """Write model.keras, float.tflite and int8.tflite; return the float flatbuffer."""
    model.save(folder / "model.keras")
    float_tflite = to_float_tflite(model)
    (folder / "float.tflite").write_bytes(float_tflite)
    (folder / "int8.tflite").write_bytes(int8_tflite)
    return float_tflite


def _evaluation_split(splits: dict[str, FeatureCache]) -> tuple[str, Examples, np.ndarray]:
    """The test split, or the next non-empty one when a small release leaves it empty (recorded)."""
    for split in ("testing", "validation", "training"):
        if splits[split].clean:
            return (split, *splits[split].clean_examples())
    raise ReleaseError("the release has no clips to evaluate on")


def _release_facts(release: ReleaseDir) -> dict:
    info = release.info
    campaign = info.get("campaign")  # curation writes {"slug", "title", "language"}
    if isinstance(campaign, dict):
        campaign = campaign.get("slug")
    return {"campaign": campaign, "version": info.get("version"),
            "created": info.get("created"), "format_version": info.get("format_version"),
            "sha256sums_sha256": release.checksum}

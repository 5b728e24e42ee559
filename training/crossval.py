"""Out-of-fold predictions: speaker-disjoint K-fold training, so every clip is scored by a model that never
trained on its speaker; written in the predictions format curation's label-issue check reads."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.dataset import (
    SILENCE_LABEL,
    SILENCE_PERCENTAGE,
    UNKNOWN_LABEL,
    UNKNOWN_PERCENTAGE,
    ReleaseDir,
    ReleaseError,
    load_clip,
    read_clips_tsv,
    silence_clips,
)
from training.features import FeatureParams, device_features

if TYPE_CHECKING:  # TensorFlow loads only when folds are trained, so the CLI checks arguments first
    import keras

    from training.fit import TrainConfig

# docs/checks.md's predictions file: first column `sha256` for a training stage that only sees releases
ID_COLUMN = "sha256"
LABEL_COLUMN = "label"
PROBABILITY_DECIMALS = 6
MIN_FOLDS = 2
Report = Callable[[str], None]


class CrossValidationError(ValueError):
    """The release cannot be split into the folds asked for."""


def speaker_folds(speakers: list[str], folds: int, seed: int) -> dict[str, int]:
    """Assign speakers to folds: most clips first, each to the fold with fewest clips (group K-fold)."""
    counts = Counter(speakers)
    if folds < MIN_FOLDS or len(counts) < folds:
        raise CrossValidationError(f"{folds}-fold cross-validation needs at least {max(folds, MIN_FOLDS)} "
                                   f"speakers and K >= {MIN_FOLDS}; the release has {len(counts)} speakers")
    shuffled = np.random.default_rng(seed).permutation(sorted(counts)).tolist()
    order = sorted(shuffled, key=lambda speaker: -counts[speaker])  # stable: ties stay shuffled
    sizes, fold_of = [0] * folds, {}
    for speaker in order:
        fold = int(np.argmin(sizes))
        fold_of[speaker] = fold
        sizes[fold] += counts[speaker]
    return fold_of


def check_folds(release: ReleaseDir, folds: int) -> None:
    """Raise unless clips.tsv gives every clip a sha256 and there are at least `folds` speakers."""
    rows = read_clips_tsv(release.root)
    if not rows or any(not row.get(ID_COLUMN) for row in rows):
        raise ReleaseError(f"{release.root} has no clips.tsv with a sha256 for every clip")
    speaker_folds([row["speaker_id"] for row in rows], folds, 0)


def out_of_fold_scores(release: ReleaseDir, labels: list[str], params: FeatureParams, config: TrainConfig,
                       folds: int, report: Report = lambda line: None) -> tuple[list[dict], np.ndarray]:
    """Train one model per fold on the other folds' speakers; score every clip of the release once."""
    import keras

    check_folds(release, folds)
    rows = sorted(read_clips_tsv(release.root), key=lambda row: row["path"])
    index = {label: i for i, label in enumerate(labels)}
    targets = np.array([index.get(row["keyword"], index[UNKNOWN_LABEL]) for row in rows])
    fold_of = speaker_folds([row["speaker_id"] for row in rows], folds, config.seed)
    fold = np.array([fold_of[row["speaker_id"]] for row in rows])
    samples = np.stack([load_clip(release.root / row["path"], params) for row in rows])
    features = device_features(samples, params)
    rng = np.random.default_rng(config.seed)
    probabilities = np.zeros((len(rows), len(labels)), dtype=np.float64)
    for held_out in range(folds):
        training = _fold_training_set(features, targets, fold != held_out, index, release, params, rng)
        keras.utils.set_random_seed(config.seed + held_out)
        model = _fit_fold(config, params, len(labels), *training)
        chosen = fold == held_out
        probabilities[chosen] = model.predict(features[chosen], verbose=0, batch_size=256)
        report(f"fold {held_out + 1}/{folds}: trained on {int((~chosen).sum())} clips, "
               f"scored {int(chosen.sum())} held-out clips")
    return rows, probabilities


def _fit_fold(config: TrainConfig, params: FeatureParams, classes: int, x: np.ndarray,
              y: np.ndarray) -> keras.Model:
    """A fresh model of the configured architecture, fitted with the configured optimiser and epochs."""
    import keras

    from training.models import build_model

    model = build_model(config.model, params.shape, classes)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, shuffle=True, verbose=0)
    return model


def _fold_training_set(features: np.ndarray, targets: np.ndarray, training: np.ndarray, index: dict,
                       release: ReleaseDir, params: FeatureParams,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The fold's keyword clips, a 10 % share of _unknown_ and of _silence_, as in a training split."""
    keyword = training & (targets != index[UNKNOWN_LABEL])
    others = np.flatnonzero(training & (targets == index[UNKNOWN_LABEL]))
    share = min(len(others), math.ceil(keyword.sum() * UNKNOWN_PERCENTAGE / 100))
    chosen = np.concatenate([np.flatnonzero(keyword), rng.choice(others, share, replace=False)]).astype(int)
    silence_count = math.ceil(keyword.sum() * SILENCE_PERCENTAGE / 100)
    silence = silence_clips(release.noise_files, silence_count, rng, params)
    silence_x = device_features(np.stack(silence), params) if silence else features[:0]
    x = np.concatenate([features[chosen], silence_x])
    y = np.concatenate([targets[chosen], np.full(len(silence_x), index[SILENCE_LABEL])])
    return x, y


def predictions_tsv(rows: list[dict], probabilities: np.ndarray, labels: list[str]) -> str:
    """The predictions file: sha256, the label trained under, one probability column per class (sum 1)."""
    lines = ["\t".join([ID_COLUMN, LABEL_COLUMN, *labels])]
    for row, values in zip(rows, probabilities, strict=True):
        values = np.clip(values, 0.0, None)
        values = values / values.sum()
        label = row["keyword"] if row["keyword"] in labels else UNKNOWN_LABEL
        lines.append("\t".join([row[ID_COLUMN], label, *(f"{v:.{PROBABILITY_DECIMALS}f}" for v in values)]))
    return "\n".join(lines) + "\n"


def write_predictions(path: Path, text: str) -> None:
    """Write the file whole: to a temporary name beside it, then renamed into place."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, "utf-8")
    partial.replace(path)


def cross_validate(release_dir: Path | str, model_dir: Path | str, config: TrainConfig, folds: int,
                   predictions: Path | None = None, report: Report = lambda line: None) -> Path:
    """Write MODEL/oof_predictions.tsv (and a copy at predictions) for the model's labels; return its path."""
    from training.dataset import read_release
    from training.model_dir import OOF_PREDICTIONS_FILE, read_model_dir

    model = read_model_dir(model_dir)
    release = read_release(release_dir)
    labels = list(model.labels)
    rows, probabilities = out_of_fold_scores(release, labels, model.feature_params, config, folds, report)
    text = predictions_tsv(rows, probabilities, labels)
    written = Path(model_dir) / OOF_PREDICTIONS_FILE
    write_predictions(written, text)
    if predictions is not None:
        write_predictions(predictions, text)
    return written

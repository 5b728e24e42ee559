"""The training input pipeline: release clips → (augmented) waveforms → device features in an int8 cache.

Features are computed once per run with tf.data parallel maps and kept as the device's int8 inputs in a
memory-mapped file: the clean split plus `copies` augmented copies (each copy with fresh augmentation and a
fresh draw of unknown words). Epochs then stream batches from that cache and only add SpecAugment masks,
so no epoch recomputes the frontend and no split's waveforms are held in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from training.augment import NO_AUGMENTATION, Augmentation, augment_clip, generated_noise, silence_clip
from training.dataset import SPLITS, Entry, Examples, ReleaseDir, load_clip, load_noises, split_entries
from training.features import (
    FeatureParams,
    clip_frontend,
    dequantize_features,
    quantize_features,
    with_room_tone,
)

CACHE_BATCH = 256
Report = Callable[[str], None]


@dataclass(frozen=True)
class FeatureCache:
    """Int8 device features of a split: rows [0, clean) un-augmented, then the augmented copies."""

    features: np.ndarray  # int8 (rows, frames, channels), memory-mapped
    labels: np.ndarray
    paths: tuple[str, ...]
    clean: int

    def __len__(self) -> int:
        return len(self.labels)

    def clean_examples(self) -> tuple[Examples, np.ndarray]:
        """The un-augmented rows as Examples (no samples kept) and float features, for validation/testing."""
        examples = Examples(None, self.labels[:self.clean], self.paths[:self.clean])
        return examples, dequantize_features(self.features[:self.clean])


def release_noises(release: ReleaseDir, params: FeatureParams, seed: int) -> tuple[list[np.ndarray], str]:
    """Background noises from the release, or generated white/pink/brown noise where it has none."""
    noises = load_noises(release, params)
    if noises:
        return noises, f"{len(noises)} background noise files from the release"
    return generated_noise(params.sample_rate_hz, seed), "generated white, pink and brown noise"


def _plan(release: ReleaseDir, labels: list[str], split: str, augmentation: Augmentation,
          rng: np.random.Generator) -> list[tuple[Entry, int]]:
    """Rows of the cache as (entry, copy): copy 0 is clean, each further copy draws its own unknown words."""
    return [(entry, copy) for copy in range(augmentation.copies + 1)
            for entry in split_entries(release, labels, split, rng, augmentation.unknown_percentage,
                                       augmentation.silence_percentage)]


def build_cache(release: ReleaseDir, labels: list[str], split: str, params: FeatureParams,
                noises: list[np.ndarray], folder: Path, seed: int,
                augmentation: Augmentation = NO_AUGMENTATION,
                report: Report = lambda line: None) -> FeatureCache:
    """Compute a split's int8 features (and augmented copies) with tf.data parallel maps into a memmap."""
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    rows = _plan(release, labels, split, augmentation, rng)
    shape = (len(rows), *params.shape)
    features = (np.lib.format.open_memmap(folder / f"{split}.npy", mode="w+", dtype=np.int8, shape=shape)
                if rows else np.zeros(shape, dtype=np.int8))  # an empty file cannot be mapped

    def waveform(row: np.int64) -> np.ndarray:
        entry, copy = rows[int(row)]
        rng = np.random.default_rng([seed, copy, int(row)])  # the same row gets the same audio every run
        if entry.path is None:
            samples = silence_clip(noises, params.clip_samples, rng)
        else:
            samples = load_clip(release.root / entry.path, params)
            if copy:
                samples = augment_clip(samples, noises, rng, augmentation, params.sample_rate_hz)
        return with_room_tone(samples, params)  # the frontend settles on the room first, as on device

    def to_features(row: tf.Tensor) -> tf.Tensor:
        samples = tf.numpy_function(waveform, [row], tf.int16, stateful=False)
        samples.set_shape((params.warmup_samples + params.clip_samples,))
        return clip_frontend(samples, params)

    started = time.perf_counter()
    dataset = (tf.data.Dataset.range(len(rows))
               .map(to_features, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
               .batch(CACHE_BATCH).prefetch(2))
    start = 0
    for batch in dataset.as_numpy_iterator():
        features[start:start + len(batch)] = quantize_features(batch)
        start += len(batch)
    if rows:
        features.flush()
    seconds = time.perf_counter() - started
    if rows:
        report(f"features: {split} {len(rows)} rows ({augmentation.copies} augmented copies) "
               f"in {seconds:.1f} s "
               f"({len(rows) / max(seconds, 1e-9):.0f} clips/s)")
    labels_array = np.asarray([entry.label for entry, _ in rows], dtype=np.int64)
    paths = tuple(entry.path or labels[0] for entry, _ in rows)
    return FeatureCache(features, labels_array, paths, clean=len(rows) // (augmentation.copies + 1))


def class_weights(labels: np.ndarray, classes: int) -> np.ndarray:
    """Balanced weights (total / (classes × count)), so rare keywords count as much as common ones."""
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    weights = np.where(counts > 0, len(labels) / (classes * np.maximum(counts, 1)), 0.0)
    return weights.astype(np.float32)


def spec_augment(features: tf.Tensor, augmentation: Augmentation, seed: tf.Tensor) -> tf.Tensor:
    """SpecAugment-style masks on a batch (batch, frames, channels): masked values become 0 (quietest).

    The masks are drawn by stateless random ops from `seed` (a pair of ints: run seed, batch number), so a
    batch gets the same masks whichever thread of the parallel map draws them.
    """
    shape = tf.shape(features)

    def bands(count: int, width: int, length: tf.Tensor, stream: int) -> tf.Tensor:
        starts = tf.random.stateless_uniform((shape[0], count, 1), _stream(seed, stream), 0, length, tf.int32)
        widths = tf.random.stateless_uniform((shape[0], count, 1), _stream(seed, stream + 1), 0, width + 1,
                                             tf.int32)
        positions = tf.range(length)[tf.newaxis, tf.newaxis, :]
        return tf.reduce_any((positions >= starts) & (positions < starts + widths), axis=1)

    masked = tf.zeros(shape, dtype=tf.bool)
    if augmentation.time_masks:
        masked |= bands(augmentation.time_masks, augmentation.time_mask_frames, shape[1], 0)[:, :, tf.newaxis]
    if augmentation.frequency_masks:
        masked |= bands(augmentation.frequency_masks, augmentation.frequency_mask_channels,
                        shape[2], 2)[:, tf.newaxis, :]
    return tf.where(masked, tf.zeros_like(features), features)


def _stream(seed: tf.Tensor, stream: int) -> tf.Tensor:
    """A stateless seed of its own for each of the four draws of a batch: (run seed × 4 + draw, batch)."""
    return tf.stack([tf.cast(seed[0], tf.int64) * 4 + stream, tf.cast(seed[1], tf.int64)])


def training_dataset(cache: FeatureCache, batch_size: int, seed: int, weights: np.ndarray,
                     augmentation: Augmentation, one_hot: int | None = None) -> tf.data.Dataset:
    """An endless stream of shuffled (features, label, weight) batches over every row of the cache.

    With one_hot=N the labels come as one-hot rows of N classes (for a label-smoothed loss).
    """
    rng = np.random.default_rng(seed)
    frames, channels = cache.features.shape[1:]

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        number = 0
        while True:
            order = rng.permutation(len(cache))
            for start in range(0, len(order) - batch_size + 1 if len(order) >= batch_size else 1, batch_size):
                chosen = np.sort(order[start:start + batch_size])  # sorted: sequential reads of the memmap
                labels = cache.labels[chosen]
                yield (dequantize_features(cache.features[chosen]), labels, weights[labels],
                       np.array([seed, number], dtype=np.int64))
                number += 1

    signature = (tf.TensorSpec((None, frames, channels), tf.float32), tf.TensorSpec((None,), tf.int64),
                 tf.TensorSpec((None,), tf.float32), tf.TensorSpec((2,), tf.int64))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    masks = augmentation.time_masks or augmentation.frequency_masks
    dataset = dataset.map(lambda x, y, w, key: (spec_augment(x, augmentation, key) if masks else x, y, w),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if one_hot:
        dataset = dataset.map(lambda x, y, w: (x, tf.one_hot(y, one_hot), w))
    return dataset.prefetch(tf.data.AUTOTUNE)

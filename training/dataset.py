"""Read a release directory (DESIGN §7) into labelled int16 clips per split, the TF speech_commands way."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

# the release directory is read through curation's one module for its format (layout, splits, versions)
from curation.release_format import SPLITS as SPLITS
from curation.release_format import ReleaseDir, ReleaseError, read_clips_tsv
from curation.release_format import read_release as read_release
from curation.release_format import which_set as which_set
from training.features import DEFAULT_PARAMS, FeatureParams

SILENCE_LABEL = "_silence_"
UNKNOWN_LABEL = "_unknown_"
# TF speech_commands' defaults: silence and unknown each add 10 % of the keyword examples of a split.
SILENCE_PERCENTAGE = 10.0
UNKNOWN_PERCENTAGE = 10.0


@dataclass(frozen=True)
class Examples:
    """The clips of one split as a batch: int16 samples (None when streamed), label indices, release paths."""

    samples: np.ndarray | None
    labels: np.ndarray
    paths: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def licence_counts(release: ReleaseDir) -> dict[str, int]:
    """Clips per licence (SPDX), from clips.tsv, else from release.json's counts."""
    try:
        rows = read_clips_tsv(release.root)
    except ReleaseError:
        rows = []
    if rows:
        return dict(sorted(Counter(row["license"] for row in rows).items()))
    counts = release.info.get("counts")
    summary = counts.get("licenses") if isinstance(counts, dict) else None
    if not isinstance(summary, dict):
        return {}
    return {str(spdx): clips for spdx, clips in sorted(summary.items()) if isinstance(clips, int)}


def choose_labels(release: ReleaseDir, keywords: Sequence[str] | None = None) -> list[str]:
    """Model output order: _silence_, _unknown_, then the chosen keywords (the release's keywords by default:
    its auxiliary words, like any word not chosen, are `_unknown_`)."""
    chosen = list(keywords) if keywords else list(release.keywords or release.words)
    unknown = [word for word in chosen if word not in release.words]
    if unknown:
        raise ReleaseError(f"keyword {unknown[0]!r} is not in the release "
                           f"(it has: {', '.join(release.words)})")
    if len(set(chosen)) != len(chosen):
        raise ReleaseError("each keyword may be chosen only once")
    return [SILENCE_LABEL, UNKNOWN_LABEL, *chosen]


def load_clip(path: Path, params: FeatureParams) -> np.ndarray:
    """Read one clip as int16 samples, zero-padded or cut to the clip length."""
    try:
        samples, rate = sf.read(path, dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise ReleaseError(f"{path} is not a readable WAV file: {error}") from None
    if rate != params.sample_rate_hz or samples.shape[1] != 1:
        raise ReleaseError(f"{path} is {rate} Hz with {samples.shape[1]} channels; "
                           f"clips must be {params.sample_rate_hz} Hz mono")
    clip = np.zeros(params.clip_samples, dtype=np.int16)
    length = min(len(samples), params.clip_samples)
    clip[:length] = samples[:length, 0]
    return clip


@dataclass(frozen=True)
class Entry:
    """One example of a split before loading: a clip's release path (None for silence) and its label index."""

    path: str | None
    label: int


def split_entries(release: ReleaseDir, labels: Sequence[str], split: str, rng: np.random.Generator,
                  unknown_percentage: float = UNKNOWN_PERCENTAGE,
                  silence_percentage: float = SILENCE_PERCENTAGE) -> list[Entry]:
    """A split's examples: keyword clips, a share of other words as unknown (10 %), then silence (10 %)."""
    index = {label: i for i, label in enumerate(labels)}
    in_split = [clip for clip in release.clips if clip.split == split]
    wanted = [clip for clip in in_split if clip.word in index]
    others = [clip for clip in in_split if clip.word not in index]
    unknown_count = min(len(others), math.ceil(len(wanted) * unknown_percentage / 100))
    unknown = [others[i] for i in sorted(rng.choice(len(others), unknown_count, replace=False))]
    entries = [Entry(clip.path, index.get(clip.word, index[UNKNOWN_LABEL])) for clip in wanted + unknown]
    silence_count = math.ceil(len(wanted) * silence_percentage / 100)
    return entries + [Entry(None, index[SILENCE_LABEL])] * silence_count


def build_split(release: ReleaseDir, labels: Sequence[str], split: str, rng: np.random.Generator,
                params: FeatureParams = DEFAULT_PARAMS) -> Examples:
    """Load one split into memory: keyword clips, 10 % unknown words and 10 % silence (noise or zeros)."""
    entries = split_entries(release, labels, split, rng)
    clips = [entry for entry in entries if entry.path is not None]
    samples = [load_clip(release.root / entry.path, params) for entry in clips]
    samples.extend(silence_clips(release.noise_files, len(entries) - len(clips), rng, params))
    paths = tuple(entry.path or SILENCE_LABEL for entry in entries)
    batch = np.stack(samples) if samples else np.zeros((0, params.clip_samples), dtype=np.int16)
    return Examples(batch, np.asarray([entry.label for entry in entries], dtype=np.int64), paths)


def silence_clips(noise_files: Sequence[Path], count: int, rng: np.random.Generator,
                  params: FeatureParams) -> list[np.ndarray]:
    """Silence examples: random 1 s crops of background noise at a random volume, or zeros without noise."""
    if not noise_files:
        return [np.zeros(params.clip_samples, dtype=np.int16) for _ in range(count)]
    noises = [_load_noise(path, params) for path in noise_files]
    clips = []
    for _ in range(count):
        noise = noises[rng.integers(len(noises))]
        start = rng.integers(len(noise) - params.clip_samples + 1)
        volume = rng.uniform(0.0, 1.0)  # TF speech_commands draws silence volume from [0, 1]
        clips.append(np.round(noise[start:start + params.clip_samples] * volume).astype(np.int16))
    return clips


def load_noises(release: ReleaseDir, params: FeatureParams) -> list[np.ndarray]:
    """The release's background noises as float32 sample arrays (int16 scale)."""
    return [_load_noise(path, params) for path in release.noise_files]


def _load_noise(path: Path, params: FeatureParams) -> np.ndarray:
    samples, rate = sf.read(path, dtype="int16", always_2d=True)
    if rate != params.sample_rate_hz or len(samples) < params.clip_samples:
        raise ReleaseError(f"{path} must be {params.sample_rate_hz} Hz and at least {params.clip_ms} ms long")
    return samples[:, 0].astype(np.float32)

"""The map step of the corpus-level checks: fingerprints and word embeddings of a chunk of clips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from collector.canonical import CANONICAL_SAMPLES
from curation.checks.features import fingerprint, log_mel, word_embedding
from curation.checks.records import CheckContext, ClipRecord, load_audio

MEL_BATCH = 32  # clips per FFT call: fewer calls, temporaries still small enough for the caches


@dataclass(frozen=True)
class FeatureBlock:
    """Per-clip vectors of one chunk, rows in the chunk's order."""

    clip_ids: list[str]
    fingerprints: np.ndarray  # n × FINGERPRINT_DIM, unit rows
    embeddings: np.ndarray  # n × (WORD_CEPSTRA · WORD_STEPS), unit rows


def feature_chunk(records: Sequence[ClipRecord], context: CheckContext) -> FeatureBlock:
    """Decode each clip's canonical audio once and compute both vectors from one log-mel (batched)."""
    audio = np.zeros((len(records), CANONICAL_SAMPLES), dtype=np.int16)
    for row, record in enumerate(records):
        samples = load_audio(record, context)[:CANONICAL_SAMPLES]
        audio[row, :len(samples)] = samples
    mels = np.concatenate([log_mel(audio[start:start + MEL_BATCH])
                           for start in range(0, len(audio), MEL_BATCH)])
    embeddings = np.array([word_embedding(mel) for mel in mels], dtype=np.float32)
    return FeatureBlock([r.clip_id for r in records], fingerprint(mels).astype(np.float32), embeddings)


def stack(blocks: Sequence[FeatureBlock]) -> FeatureBlock:
    """Reduce: concatenate chunk blocks (in chunk order) into one block for the whole campaign."""
    if not blocks:
        return FeatureBlock([], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
    return FeatureBlock([cid for block in blocks for cid in block.clip_ids],
                        np.concatenate([b.fingerprints for b in blocks]),
                        np.concatenate([b.embeddings for b in blocks]))

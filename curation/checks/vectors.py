"""The map step of the corpus-level checks: fingerprints and word embeddings of a chunk of clips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from curation.checks.features import fingerprint, log_mel, word_embedding
from curation.checks.records import CheckContext, ClipRecord, load_audio


@dataclass(frozen=True)
class FeatureBlock:
    """Per-clip vectors of one chunk, rows in the chunk's order."""

    clip_ids: list[str]
    fingerprints: np.ndarray  # n × FINGERPRINT_DIM, unit rows
    embeddings: np.ndarray  # n × (WORD_CEPSTRA · WORD_STEPS), unit rows


def feature_chunk(records: Sequence[ClipRecord], context: CheckContext) -> FeatureBlock:
    """Decode each clip's canonical audio once and compute both vectors from one log-mel."""
    prints, embeddings = [], []
    for record in records:
        mel = log_mel(load_audio(record, context))
        prints.append(fingerprint(mel))
        embeddings.append(word_embedding(mel))
    return FeatureBlock([r.clip_id for r in records], np.array(prints, dtype=np.float32),
                        np.array(embeddings, dtype=np.float32))


def stack(blocks: Sequence[FeatureBlock]) -> FeatureBlock:
    """Reduce: concatenate chunk blocks (in chunk order) into one block for the whole campaign."""
    if not blocks:
        return FeatureBlock([], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32))
    return FeatureBlock([cid for block in blocks for cid in block.clip_ids],
                        np.concatenate([b.fingerprints for b in blocks]),
                        np.concatenate([b.embeddings for b in blocks]))

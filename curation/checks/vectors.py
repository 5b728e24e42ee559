"""The map step of the corpus-level checks: fingerprints and word embeddings of a chunk of clips, and the
ambience clips' fingerprints and audio findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from collector.canonical import CANONICAL_SAMPLES
from curation.checks import ambience
from curation.checks.features import (
    FINGERPRINT_DIM,
    WORD_CEPSTRA,
    WORD_STEPS,
    fingerprint,
    log_mel,
    word_embedding,
)
from curation.checks.records import CheckContext, ClipRecord, Finding, load_audio

# clips per FFT call: 8 keeps the temporaries (~1.3 MB) in the caches; 32 (5 MB) cost 2.4× the CPU a clip
MEL_BATCH = 8


def _empty() -> np.ndarray:
    return np.zeros((0, FINGERPRINT_DIM), np.float32)


@dataclass(frozen=True)
class FeatureBlock:
    """Per-clip vectors of one chunk, rows in the chunk's order: spoken clips, then ambience clips apart."""

    clip_ids: list[str]  # spoken clips (keywords and auxiliary words)
    fingerprints: np.ndarray  # n × FINGERPRINT_DIM, unit rows
    embeddings: np.ndarray  # n × (WORD_CEPSTRA · WORD_STEPS), unit rows
    ambience_ids: list[str] = field(default_factory=list)
    ambience_prints: np.ndarray = field(default_factory=_empty)  # m × FINGERPRINT_DIM, unit rows
    ambience_findings: list[Finding] = field(default_factory=list)  # the ambience check's, from the audio


def feature_chunk(records: Sequence[ClipRecord], context: CheckContext) -> FeatureBlock:
    """Decode each clip's canonical audio once: spoken clips give both vectors from one log-mel (MEL_BATCH
    clips at a time, so the log-mels stay in the caches), ambience clips a fingerprint and their audio
    findings."""
    spoken, rooms = ambience.ambience_records(records)
    prints = np.zeros((len(spoken), FINGERPRINT_DIM), np.float32)
    embeddings = np.zeros((len(spoken), WORD_CEPSTRA * WORD_STEPS), np.float32)
    audio = np.zeros((MEL_BATCH, CANONICAL_SAMPLES), dtype=np.int16)
    for start in range(0, len(spoken), MEL_BATCH):
        batch = spoken[start:start + MEL_BATCH]
        audio[:] = 0
        for row, record in enumerate(batch):
            samples = load_audio(record, context)[:CANONICAL_SAMPLES]
            audio[row, :len(samples)] = samples
        mels = log_mel(audio[:len(batch)])
        prints[start:start + len(batch)] = fingerprint(mels)
        embeddings[start:start + len(batch)] = word_embedding(mels)
    room_prints, found = [], []
    for record in rooms:
        samples = load_audio(record, context)
        room_prints.append(ambience.ambience_print(samples))
        found.extend(ambience.audio_findings(record, samples))
    return FeatureBlock([r.clip_id for r in spoken], prints,
                        embeddings if spoken else np.zeros((0, 0), np.float32),
                        [r.clip_id for r in rooms],
                        np.array(room_prints, np.float32).reshape(-1, FINGERPRINT_DIM), found)


def stack(blocks: Sequence[FeatureBlock]) -> FeatureBlock:
    """Reduce: concatenate chunk blocks (in chunk order) into one block for the whole campaign."""
    if not blocks:
        return FeatureBlock([], _empty(), np.zeros((0, 0), np.float32))
    spoken = [b.embeddings for b in blocks if b.clip_ids]
    return FeatureBlock([cid for block in blocks for cid in block.clip_ids],
                        np.concatenate([b.fingerprints for b in blocks]),
                        np.concatenate(spoken) if spoken else np.zeros((0, 0), np.float32),
                        [cid for block in blocks for cid in block.ambience_ids],
                        np.concatenate([b.ambience_prints for b in blocks]),
                        [f for block in blocks for f in block.ambience_findings])

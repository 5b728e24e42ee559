"""Ambience clips for the checks' tests and benchmark: 10–30 s of generated room sound, with defects.

A room is a noise bed (white, pink, brown or mains hum over pink) whose level drifts slowly (a fan, traffic),
with knocks and clatter on top. Defects: a dead input, dropouts, clipping, someone talking through it, and
replays of an earlier room. Clips are stored as the collector stores ambience (issue 15): the whole
recording as the canonical 16 kHz blob, its metrics measured over all of it.
"""

from __future__ import annotations

import hashlib

import numpy as np

from collector.canonical import CanonicalWindow, to_pcm16, wav_bytes
from collector.ingest import IngestedClip
from collector.metrics import Quality
from collector.models import AMBIENCE_WORD
from collector.quality import detect_speech, measure_levels
from simulation.synth import noise
from tests.speech import espeak_samples
from tests.speech import wav_bytes as encode_wav

RATE = 16000
ROOM_DEFECTS = ("silence", "dropouts", "clipping", "speech", "duplicate", "near_duplicate")
NOISES = ("white", "pink", "brown", "hum")
SENTENCES = ("could you pass me the salt please", "I think we should leave at seven tonight",
             "the meeting moved to Thursday afternoon", "have you seen my keys anywhere")
VOICES = ("en", "en-us+f3", "en-gb-scotland+m3", "en-029+f2")


def room(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Return a room's sound: a drifting noise bed with a few knocks, RMS −65…−30 dBFS."""
    length = int(seconds * RATE)
    bed = noise(NOISES[int(rng.integers(len(NOISES)))], length, RATE, rng)
    drift = 1 + 0.3 * np.sin(2 * np.pi * np.arange(length) / length * rng.uniform(0.5, 3) + rng.uniform(0, 6))
    samples = bed * drift * 10 ** (rng.uniform(-65, -30) / 20)
    level = float(np.sqrt(np.mean(samples ** 2)))
    for _ in range(int(rng.integers(0, 6))):  # knocks: decaying bursts 10–25 dB over the bed
        size = int(rng.uniform(0.02, 0.2) * RATE)
        start = int(rng.integers(0, length - size))
        burst = rng.standard_normal(size) * np.exp(-np.arange(size) / (size / 5))
        samples[start:start + size] += burst * level * 10 ** (rng.uniform(10, 25) / 20)
    return np.clip(samples, -1, 1).astype(np.float32)


def talking(samples: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Return the room with someone talking (espeak-ng sentences) through about `share` of it."""
    out = samples.copy()
    level = max(float(np.sqrt(np.mean(samples ** 2))), 1e-4) * 10 ** (rng.uniform(10, 25) / 20)
    start, goal = int(rng.integers(0, RATE)), int(share * len(samples))
    said = 0
    while said < goal and start < len(out) - RATE:
        line = espeak_samples(SENTENCES[int(rng.integers(len(SENTENCES)))], RATE,
                              voice=VOICES[int(rng.integers(len(VOICES)))])[RATE // 4:-RATE // 4]
        line = line[:len(out) - start] / max(float(np.abs(line).max()), 1e-6) * level * 3
        out[start:start + len(line)] += line
        said += len(line)
        start += len(line) + int(rng.uniform(0.2, 1.0) * RATE)
    return np.clip(out, -1, 1).astype(np.float32)


def room_defect(kind: str, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return an ambience upload with one defect (duplicates and replays are made by the caller)."""
    if kind == "silence":
        return np.zeros_like(clean) if rng.random() < 0.5 else rng.normal(0, 10 ** (-100 / 20), clean.shape)
    if kind == "dropouts":
        out = clean.copy()
        block = RATE // 20
        for start in range(0, len(out) - block, block):
            if rng.random() < 0.3:
                out[start:start + block] = 0
        return out
    if kind == "clipping":
        return np.clip(clean / max(float(np.abs(clean).max()), 1e-6) * rng.uniform(2, 6), -1, 1)
    if kind == "speech":
        return talking(clean, rng.uniform(0.4, 0.8), rng)
    raise ValueError(kind)


def replay(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same recording again with another gain (±1…6 dB) and faint fresh noise 20–35 dB under it."""
    level = float(np.sqrt(np.mean(samples ** 2)))
    gain = 10 ** (rng.uniform(1, 6) * rng.choice([-1, 1]) / 20)
    fresh = rng.normal(0, level * gain * 10 ** (-rng.uniform(20, 35) / 20), samples.shape)
    return np.clip(samples * gain + fresh, -1, 1).astype(np.float32)


def ingest_room(samples: np.ndarray) -> IngestedClip:
    """Measure 16 kHz room samples and keep the whole recording as the canonical blob (as ambience is
    stored), whatever the rules would say."""
    samples = np.clip(samples, -1, 1).astype(np.float32)
    data = encode_wav(samples, RATE)
    pcm = to_pcm16(samples)
    levels = measure_levels(samples[:, None], float(samples.mean(dtype="float64")))
    speech = detect_speech(CanonicalWindow(pcm, 0, len(pcm)))
    quality = Quality(len(samples) * 1000 // RATE, RATE, 1, levels.peak_dbfs, levels.rms_dbfs,
                      levels.clipped_fraction, levels.dc_offset, speech.snr_db, speech.speech_ms,
                      speech.segments, speech.at_edge, levels.silent_fraction)
    return IngestedClip(wav_bytes(pcm), hashlib.sha256(pcm.tobytes()).hexdigest(), data, "wav",
                        hashlib.sha256(data).hexdigest(), quality, "accept", [])


def build_rooms(builder, speakers: int, rooms: int, per_defect: int, seed: int = 0) -> dict[str, str | None]:
    """Store `rooms` clean ambience clips and `per_defect` of each room defect under the campaign's
    AMBIENCE_WORD; return public id → defect (None: clean) of the checked campaign's ambience clips."""
    rng = np.random.default_rng([seed, 17])
    truth: dict[str, str | None] = {}
    clean: list[np.ndarray] = []
    for n in range(rooms):
        samples = room(rng.uniform(10, 30), rng)
        truth[builder.put(ingest_room(samples), AMBIENCE_WORD, n % speakers, None)] = None
        clean.append(samples)
    for kind in ROOM_DEFECTS:
        for n in range(per_defect):
            speaker = (n * 7 + 5) % speakers
            samples = room(rng.uniform(10, 30), rng)
            if kind == "duplicate":
                builder.put(ingest_room(samples), AMBIENCE_WORD, speaker, None, builder.other)
                upload = samples
            elif kind == "near_duplicate":
                upload = replay(clean[int(rng.integers(len(clean)))], rng)
            else:
                upload = room_defect(kind, samples, rng)
            truth[builder.put(ingest_room(upload), AMBIENCE_WORD, speaker, kind)] = kind
    return truth

"""The canonical clip: mono, 16 kHz, the loudest second (padded evenly when shorter), PCM16 WAV."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import soxr

CANONICAL_RATE_HZ = 16000
CANONICAL_SAMPLES = 16000  # exactly 1 000 ms
RESAMPLE_QUALITY = "HQ"  # soxr's default: 0.15 ms per second of 48 kHz audio here; VHQ costs 4×
# Windows within this fraction of the loudest one count as equally loud; the middle of that plateau is
# chosen, so a short word lands in the centre instead of against an edge (extract_loudest_section takes
# the first of equals, which pushes words in quiet recordings towards the end of the window).
LOUDEST_TOLERANCE = 0.01


@dataclass(frozen=True)
class CanonicalWindow:
    """The canonical PCM16 samples and where the upload's own audio lies in them (the rest is padding)."""

    pcm: np.ndarray  # int16, little-endian, CANONICAL_SAMPLES long
    content_start: int
    content_end: int

    @property
    def content(self) -> np.ndarray:
        """Return the samples that came from the upload."""
        return self.pcm[self.content_start:self.content_end]


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average frames × channels into one channel."""
    if samples.shape[1] == 1:
        return samples[:, 0]
    return samples.mean(axis=1, dtype=np.float32)


def resample(mono: np.ndarray, rate_hz: int) -> np.ndarray:
    """Resample mono float samples to the canonical rate with soxr."""
    if rate_hz == CANONICAL_RATE_HZ:
        return mono
    return soxr.resample(mono, rate_hz, CANONICAL_RATE_HZ, quality=RESAMPLE_QUALITY)


def loudest_start(signal: np.ndarray, length: int = CANONICAL_SAMPLES) -> int:
    """Return where the window of `length` samples with the largest sum of magnitudes starts."""
    if len(signal) <= length:
        return 0
    sums = np.cumsum(np.abs(signal), dtype=np.float64)
    sums = sums[length - 1:] - np.concatenate(([0.0], sums[:-length]))
    best = int(np.argmax(sums))
    quieter = np.flatnonzero(sums < sums[best] * (1.0 - LOUDEST_TOLERANCE))
    # the run of near-loudest windows around `best` lies between its nearest quieter neighbours
    cut = int(np.searchsorted(quieter, best))
    first = int(quieter[cut - 1]) + 1 if cut > 0 else 0
    last = int(quieter[cut]) - 1 if cut < len(quieter) else len(sums) - 1
    return (first + last) // 2


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Convert float samples to little-endian int16 (scale 32768, so PCM16 input round-trips exactly)."""
    return np.clip(np.rint(samples * 32768.0), -32768, 32767).astype("<i2")


def canonical_window(signal: np.ndarray) -> CanonicalWindow:
    """Cut the loudest canonical window from 16 kHz mono samples, or centre them in padding when shorter."""
    if len(signal) >= CANONICAL_SAMPLES:
        start = loudest_start(signal)
        return CanonicalWindow(to_pcm16(signal[start:start + CANONICAL_SAMPLES]), 0, CANONICAL_SAMPLES)
    left = (CANONICAL_SAMPLES - len(signal)) // 2
    pcm = np.zeros(CANONICAL_SAMPLES, dtype="<i2")
    pcm[left:left + len(signal)] = to_pcm16(signal)
    return CanonicalWindow(pcm, left, left + len(signal))


def wav_bytes(pcm: np.ndarray, rate_hz: int = CANONICAL_RATE_HZ) -> bytes:
    """Wrap mono int16 samples in a 44-byte PCM WAV header."""
    data = pcm.astype("<i2", copy=False).tobytes()
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1, rate_hz,
                         rate_hz * 2, 2, 16, b"data", len(data))
    return header + data

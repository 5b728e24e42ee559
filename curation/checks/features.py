"""Audio features computed inside curation with numpy alone: log-mel frames, a near-duplicate fingerprint
and a word embedding (no TensorFlow, no training package, nothing downloaded)."""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from collector.canonical import CANONICAL_RATE_HZ

FRAME_SAMPLES = 400  # 25 ms
HOP_SAMPLES = 160  # 10 ms
FFT_SIZE = 512
MEL_BANDS = 40
MEL_LOW_HZ, MEL_HIGH_HZ = 20.0, 7600.0
POWER_FLOOR = 1e-10
# Fingerprint (near-duplicates): the log-mel's second difference across time and frequency (Haitsma and
# Kalker's audio fingerprint, kept as real numbers), on the clip's loud cells only: a gain change shifts every
# cell equally and cancels; noise added below the loud cells is masked out. A fixed Gaussian projection
# (Johnson-Lindenstrauss) shrinks it to FINGERPRINT_DIM numbers for the nearest-neighbour index: 64 found
# as many replays as 256 on 10.5k clips (74 and 75 of 80) in a third of the index time (RESULTS.md).
FINGERPRINT_RANGE_DB = 20.0
FINGERPRINT_DIM = 64
FINGERPRINT_SEED = 20261201
# Word embedding: MFCC over the voiced span, resampled to a fixed number of steps (speaking rate removed),
# cepstral mean removed (microphone and speaker colour removed), c0 dropped (gain removed).
WORD_CEPSTRA = 13
WORD_STEPS = 16
# Frames within this of the loudest frame form the voiced span. At 35 dB, background noise 20–35 dB under
# the speech joined the span and 15 of 20 noisy replays of clean takes ranked as outliers; at 25 dB, 3 of
# 20 (clean takes flagged: 1.4 % → 2.1 %; wrong words found: 19 → 18 of 20; benchmarks/RESULTS.md). At 20 dB
# the wrong-word recall on the seed-11 crowd rose from 0.66 to 0.71 at the same clean share flagged.
WORD_SPAN_DB = 20.0


def mel_matrix(bands: int = MEL_BANDS) -> np.ndarray:
    """Return the (FFT bins × bands) triangular mel filter bank (HTK mel scale)."""
    return _mel_matrix(bands)


@functools.lru_cache(maxsize=4)
def _mel_matrix(bands: int) -> np.ndarray:
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges_mel = np.linspace(to_mel(np.array(MEL_LOW_HZ)), to_mel(np.array(MEL_HIGH_HZ)), bands + 2)
    edges_hz = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(FFT_SIZE, 1.0 / CANONICAL_RATE_HZ)
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).T.astype(np.float32)


@functools.lru_cache(maxsize=2)
def _window(scale: float) -> np.ndarray:
    return (np.hanning(FRAME_SAMPLES) * scale).astype(np.float32)


def log_mel(pcm: np.ndarray, bands: int = MEL_BANDS) -> np.ndarray:
    """Return the log-mel power (dB) of int16 or float samples: (…, frames, bands) for (…, samples ≥ a
    frame)."""
    signal = pcm.astype(np.float32)
    # the frames are a strided view of the signal, windowed (int16 full scale folded in) straight into the
    # FFT's zero padding: one copy
    view = sliding_window_view(signal, FRAME_SAMPLES, axis=-1)[..., ::HOP_SAMPLES, :]
    padded = np.zeros((*view.shape[:-1], FFT_SIZE), np.float32)
    scale = 1.0 / 32768.0 if pcm.dtype.kind == "i" else 1.0
    np.multiply(view, _window(scale), out=padded[..., :FRAME_SAMPLES])
    spectrum = scipy.fft.rfft(padded, axis=-1, overwrite_x=True)  # 4× numpy's float32 FFT here
    power = np.square(spectrum.real)  # in place from here on: temporaries cost more than the arithmetic
    power += np.square(spectrum.imag)
    mel = (power.reshape(-1, power.shape[-1]) @ mel_matrix(bands)).reshape(*power.shape[:-1], bands)
    np.maximum(mel, POWER_FLOOR, out=mel)
    np.log10(mel, out=mel)
    mel *= 10.0
    return mel


def fingerprint(mel_db: np.ndarray) -> np.ndarray:
    """Return unit vectors that stay put under gain changes and moderate added noise: one per clip of
    (clips, frames, bands) log-mels, or one vector for a single (frames, bands)."""
    batch = mel_db if mel_db.ndim == 3 else mel_db[None]
    floor = batch.max(axis=(1, 2), keepdims=True) - FINGERPRINT_RANGE_DB
    floored = np.maximum(batch, floor)
    loud = batch > floor
    second = np.diff(np.diff(floored, axis=2), axis=1) * (loud[:, 1:, 1:] & loud[:, :-1, 1:])
    flat = second.reshape(len(batch), -1)
    prints = flat @ _projection(flat.shape[1])
    prints /= np.maximum(np.linalg.norm(prints, axis=1, keepdims=True), 1e-12)
    return prints if mel_db.ndim == 3 else prints[0]


@functools.lru_cache(maxsize=2)
def _projection(size: int) -> np.ndarray:
    rng = np.random.default_rng(FINGERPRINT_SEED)
    return rng.standard_normal((size, FINGERPRINT_DIM), dtype=np.float32)


def word_embedding(mel_db: np.ndarray) -> np.ndarray:
    """Return a unit vector describing which word was said, not who said it, how loud or how fast: one per
    clip of (clips, frames, bands) log-mels, or one vector for a single (frames, bands)."""
    batch = mel_db if mel_db.ndim == 3 else mel_db[None]
    loudness = batch.max(axis=2)
    voiced = loudness >= loudness.max(axis=1, keepdims=True) - WORD_SPAN_DB
    first = np.argmax(voiced, axis=1)
    last = batch.shape[1] - 1 - np.argmax(voiced[:, ::-1], axis=1)
    # WORD_STEPS points evenly from the first to the last voiced frame: linear interpolation in time
    steps = first[:, None] + (last - first)[:, None] * np.linspace(0.0, 1.0, WORD_STEPS)[None, :]
    below = np.minimum(steps.astype(int), last[:, None])
    above = np.minimum(below + 1, last[:, None])
    weight = (steps - below)[:, :, None].astype(np.float32)
    rows = np.arange(len(batch))[:, None]
    dct = _dct_matrix(batch.shape[2])
    resampled = (batch[rows, below] @ dct) * (1 - weight) + (batch[rows, above] @ dct) * weight
    resampled -= resampled.mean(axis=1, keepdims=True)
    flat = resampled.reshape(len(batch), -1)
    flat /= np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
    return flat.astype(np.float32) if mel_db.ndim == 3 else flat[0].astype(np.float32)


@functools.lru_cache(maxsize=4)
def _dct_matrix(bands: int) -> np.ndarray:
    """DCT-II basis (bands × cepstra), without c0."""
    n = np.arange(bands)[:, None]
    k = np.arange(1, WORD_CEPSTRA + 1)[None, :]
    return np.cos(np.pi * k * (2 * n + 1) / (2 * bands)).astype(np.float32)

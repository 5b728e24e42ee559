"""Generated background noise for a release: white and pink noise, deterministic, as Speech Commands ships."""

from __future__ import annotations

import hashlib
import io
import math
import wave
from dataclasses import dataclass

import numpy as np

RATE = 16000
SECONDS = 60  # Speech Commands' white_noise.wav and pink_noise.wav last a minute
RMS = 0.1  # −20 dBFS: loud enough to hear, far from clipping (TF train.py scales it by --background_volume)
_SEEDS = {"white_noise.wav": 20170801, "pink_noise.wav": 20170802}  # fixed: same bytes in every release
GENERATED_NOISE = tuple(_SEEDS)


def white_noise(samples: int, seed: int) -> np.ndarray:
    """Return Gaussian white noise of the given length at RMS, as floats in [-1, 1]."""
    noise = np.random.default_rng(seed).standard_normal(samples)
    return _level(noise)


def pink_noise(samples: int, seed: int) -> np.ndarray:
    """Return pink (1/f power) noise: white noise shaped by 1/sqrt(f) in the frequency domain, at RMS."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(samples))
    frequencies = np.fft.rfftfreq(samples, d=1.0 / RATE)
    gain = np.zeros_like(frequencies)
    gain[1:] = 1.0 / np.sqrt(frequencies[1:])  # no DC
    return _level(np.fft.irfft(spectrum * gain, n=samples))


def _level(noise: np.ndarray) -> np.ndarray:
    noise = noise - noise.mean()
    return np.clip(noise * (RMS / np.sqrt(np.mean(noise**2))), -1.0, 1.0)


def wav_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    """Return a 16-bit mono PCM WAV of float samples in [-1, 1]."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


@dataclass(frozen=True)
class GeneratedNoise:
    """One generated noise file: its name, WAV bytes, SHA-256 of its PCM samples, level and length."""

    name: str
    wav: bytes
    sha256: str
    rms_dbfs: float
    duration_ms: int


def _generated(name: str, samples: np.ndarray) -> GeneratedNoise:
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    rms = math.sqrt(float(np.mean((pcm / 32768.0) ** 2)))
    return GeneratedNoise(name, wav_bytes(samples), hashlib.sha256(pcm.tobytes()).hexdigest(),
                          round(20 * math.log10(max(rms, 1e-9)), 1), len(pcm) * 1000 // RATE)


def generated_noise(seconds: int = SECONDS) -> list[GeneratedNoise]:
    """Return the generated noise files of every release (white, pink): the same bytes every time."""
    samples = seconds * RATE
    return [_generated("white_noise.wav", white_noise(samples, _SEEDS["white_noise.wav"])),
            _generated("pink_noise.wav", pink_noise(samples, _SEEDS["pink_noise.wav"]))]

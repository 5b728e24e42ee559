"""Test audio made here: words spoken by espeak-ng, tones, noise and silence, as WAV bytes."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess

import numpy as np
import soundfile as sf

ESPEAK = shutil.which("espeak-ng")


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    """Encode float samples in [-1, 1] (frames × channels or 1-D) as a WAV file."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


@functools.lru_cache(maxsize=256)
def espeak_wav(word: str, voice: str = "en", pitch: int = 50, speed: int = 150,
               amplitude: int = 150) -> bytes:
    """Speak a word with espeak-ng and return its WAV (22.05 kHz mono PCM16)."""
    if ESPEAK is None:
        raise RuntimeError("espeak-ng is not installed (make test installs it)")
    result = subprocess.run(
        [ESPEAK, "--stdout", "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(amplitude), word],
        check=True, capture_output=True, timeout=30,
    )
    return result.stdout


def espeak_samples(word: str, rate: int = 16000, **voice: object) -> np.ndarray:
    """Speak a word and return float32 mono samples at `rate`, padded with 250 ms of quiet each side."""
    import soxr

    data, source_rate = sf.read(io.BytesIO(espeak_wav(word, **voice)), dtype="float32")
    data = soxr.resample(data, source_rate, rate)
    pad = np.zeros(rate // 4, dtype=np.float32)
    return np.concatenate([pad, data, pad])


def speech_wav(word: str, rate: int = 48000, channels: int = 1, noise_db: float = -60.0, seed: int = 0,
               subtype: str = "PCM_16", **voice: object) -> bytes:
    """A spoken word as an upload would arrive: resampled, light noise (unique per seed), WAV encoded."""
    samples = espeak_samples(word, rate, **voice)
    rng = np.random.default_rng(seed)
    samples = samples + rng.normal(0.0, 10 ** (noise_db / 20), samples.shape).astype(np.float32)
    if channels > 1:
        samples = np.repeat(samples[:, None], channels, axis=1)
    return wav_bytes(np.clip(samples, -1, 1), rate, subtype)


def tone_wav(seconds: float, rate: int = 16000, freq: float = 440.0, level: float = 0.5) -> bytes:
    """A sine tone: loud, but not speech."""
    t = np.arange(int(seconds * rate)) / rate
    return wav_bytes(level * np.sin(2 * np.pi * freq * t), rate)


def silence_wav(seconds: float, rate: int = 16000) -> bytes:
    """Digital silence."""
    return wav_bytes(np.zeros(int(seconds * rate)), rate)


def noise_wav(seconds: float, rate: int = 16000, level: float = 0.1, seed: int = 0) -> bytes:
    """White noise."""
    rng = np.random.default_rng(seed)
    return wav_bytes(rng.normal(0, level, int(seconds * rate)).clip(-1, 1), rate)


def room_samples(seconds: float, rate: int = 16000, level: float = 0.01, seed: int = 0) -> np.ndarray:
    """Room-like noise: pink (1/f power) noise at RMS `level`, float32 mono."""
    rng = np.random.default_rng(seed)
    count = int(seconds * rate)
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, count))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    spectrum[0] = 0.0
    samples = np.fft.irfft(spectrum, count)
    return (samples * (level / max(float(np.std(samples)), 1e-12))).astype(np.float32)


def room_wav(seconds: float = 15.0, rate: int = 48000, level: float = 0.01, seed: int = 0,
             words: tuple[str, ...] = (), channels: int = 1, subtype: str = "PCM_16") -> bytes:
    """A recording of a room (pink noise), with `words` spoken in it three seconds apart, as WAV."""
    samples = room_samples(seconds, rate, level, seed)
    for index, word in enumerate(words):
        spoken = espeak_samples(word, rate) * 0.3
        start = rate * (1 + 3 * index)
        samples[start:start + len(spoken)] += spoken[: len(samples) - start]
    if channels > 1:
        samples = np.repeat(samples[:, None], channels, axis=1)
    return wav_bytes(np.clip(samples, -1, 1), rate, subtype)

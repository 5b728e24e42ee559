"""Speech and noise as float samples: espeak-ng words, coloured noise, and levels in dB."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess

import numpy as np
import soundfile as sf
import soxr

ESPEAK_TIMEOUT_S = 30
TRIM_LEVEL = 0.01  # of the word's peak: what espeak-ng puts before and after a word is no part of it
HUM_HZ = 50.0
HIGH_PASS_HZ = 30.0  # microphones and browsers remove the rumble below this (and with it any DC)


class SynthesisError(RuntimeError):
    """espeak-ng is missing or failed."""


def espeak_path() -> str:
    """Return the espeak-ng executable, or raise SynthesisError."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise SynthesisError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    return path


@functools.lru_cache(maxsize=4096)
def _espeak(word: str, voice: str, pitch: int, speed: int) -> tuple[bytes, int]:
    """Speak a word with espeak-ng; return its float32 samples as bytes and its sample rate."""
    command = [espeak_path(), "--stdout", "-v", voice, "-p", str(pitch), "-s", str(speed), "--", word]
    try:
        result = subprocess.run(command, check=True, capture_output=True, timeout=ESPEAK_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise SynthesisError(f"espeak-ng failed on voice {voice!r}: {exc}") from None
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32")
    return samples.tobytes(), rate


def spoken_word(word: str, voice: str, pitch: int, speed: int, rate_hz: int) -> np.ndarray:
    """Return a spoken word at `rate_hz`, trimmed to where it is audible, peak 1.0."""
    raw, source_rate = _espeak(word, voice, pitch, speed)
    samples = np.frombuffer(raw, dtype=np.float32)
    if rate_hz != source_rate:
        samples = soxr.resample(samples, source_rate, rate_hz)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak <= 0.0:
        raise SynthesisError(f"espeak-ng said nothing for {word!r} with voice {voice!r}")
    loud = np.flatnonzero(np.abs(samples) > TRIM_LEVEL * peak)
    return (samples[loud[0]:loud[-1] + 1] / peak).astype(np.float32)


def rms(samples: np.ndarray) -> float:
    """Return the root mean square of samples."""
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def gain(db: float) -> float:
    """Return the amplitude factor of a gain in dB."""
    return float(10 ** (db / 20))


def _coloured(white: np.ndarray, exponent: float, rate_hz: int) -> np.ndarray:
    """Shape white noise to a 1/f**exponent power spectrum above HIGH_PASS_HZ."""
    spectrum = np.fft.rfft(white)
    frequencies = np.fft.rfftfreq(len(white), 1 / rate_hz)
    shaped = spectrum / np.maximum(frequencies, HIGH_PASS_HZ) ** (exponent / 2)
    shaped[frequencies < HIGH_PASS_HZ] = 0.0
    return np.fft.irfft(shaped, n=len(white))


def noise(kind: str, length: int, rate_hz: int, rng: np.random.Generator) -> np.ndarray:
    """Return noise of a kind (white, pink, brown, hum: mains hum over pink) with RMS 1."""
    white = rng.standard_normal(length)
    if kind == "white":
        shaped = white
    elif kind == "pink":
        shaped = _coloured(white, 1.0, rate_hz)
    elif kind == "brown":
        shaped = _coloured(white, 2.0, rate_hz)
    elif kind == "hum":
        t = np.arange(length) / rate_hz
        phase = rng.uniform(0, 2 * np.pi)
        hum = sum(np.sin(2 * np.pi * HUM_HZ * h * t + phase) / h for h in (1, 2, 3, 5))
        pink = _coloured(white, 1.0, rate_hz)
        shaped = hum / max(rms(hum), 1e-12) + pink / max(rms(pink), 1e-12)
    else:
        raise ValueError(f"unknown noise kind {kind!r}")
    return (shaped / max(rms(shaped), 1e-12)).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate_hz: int) -> bytes:
    """Encode float samples in [-1, 1] as a mono PCM16 WAV file."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), rate_hz, subtype="PCM_16", format="WAV")
    return buffer.getvalue()

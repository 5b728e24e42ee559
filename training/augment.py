"""Waveform augmentation for training clips (numpy, no TensorFlow): speed, shift, gain and background noise.

The reference recipe is TF speech_commands' (time shift ±100 ms, background noise in 80 % of clips);
noise here is mixed at a signal-to-noise ratio drawn per clip rather than at a raw volume, so quiet and
loud speakers get the same range of difficulty. Masking (SpecAugment) happens later, on features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

INT16_MAX = 32767
GENERATED_NOISE_SECONDS = 10.0


@dataclass(frozen=True)
class Augmentation:
    """How training clips are varied; copies is the number of augmented copies kept in the feature cache."""

    copies: int = 8  # caching costs seconds; more copies, more variety per epoch (4 before)
    time_shift_ms: int = 100  # TF speech_commands' default
    speed_range: tuple[float, float] = (0.85, 1.15)  # sox `speed`: tempo and pitch together (±10 % before)
    gain_db_range: tuple[float, float] = (-6.0, 6.0)
    background_frequency: float = 0.8  # TF speech_commands' default share of clips with noise
    snr_db_range: tuple[float, float] = (0.0, 25.0)
    time_masks: int = 2  # SpecAugment on features: masks of up to this many frames ...
    time_mask_frames: int = 5
    frequency_masks: int = 2  # ... and of up to this many channels
    frequency_mask_channels: int = 4
    # the training split's shares of other words (as _unknown_) and of silence, in % of its keyword clips
    # (TF speech_commands' 10 %); validation and testing keep 10 % so that scores stay comparable
    unknown_percentage: float = 10.0
    silence_percentage: float = 10.0

    def __post_init__(self) -> None:
        if self.copies < 0:
            raise ValueError("copies must be zero or more")
        if not 0.0 <= self.background_frequency <= 1.0:
            raise ValueError("background_frequency must be between 0 and 1")
        if self.unknown_percentage < 0 or self.silence_percentage < 0:
            raise ValueError("unknown_percentage and silence_percentage must be zero or more")


NO_AUGMENTATION = Augmentation(copies=0, time_shift_ms=0, speed_range=(1.0, 1.0), gain_db_range=(0.0, 0.0),
                               background_frequency=0.0, time_masks=0, frequency_masks=0)


def change_speed(samples: np.ndarray, factor: float) -> np.ndarray:
    """Play the clip `factor` times faster (linear interpolation), keeping its length."""
    if factor == 1.0:
        return samples.astype(np.float32)
    length = len(samples)
    positions = (np.arange(length) - length / 2) * factor + length / 2  # stretch about the centre
    return np.interp(positions, np.arange(length), samples.astype(np.float32), left=0.0, right=0.0)


def time_shift(samples: np.ndarray, shift: int) -> np.ndarray:
    """Shift the clip by `shift` samples (positive: later), filling with silence."""
    shifted = np.zeros_like(samples)
    if shift >= 0:
        shifted[shift:] = samples[:len(samples) - shift]
    else:
        shifted[:shift] = samples[-shift:]
    return shifted


def mix_noise(samples: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add noise scaled to the given signal-to-noise ratio (by mean power over the clip)."""
    signal_power = float(np.mean(np.square(samples, dtype=np.float64)))
    noise_power = float(np.mean(np.square(noise, dtype=np.float64)))
    if signal_power == 0.0 or noise_power == 0.0:
        return samples
    scale = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return samples + noise * scale


def noise_crop(noises: Sequence[np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of one of the background noises."""
    noise = noises[rng.integers(len(noises))]
    start = rng.integers(len(noise) - length + 1)
    return noise[start:start + length]


def augment_clip(samples: np.ndarray, noises: Sequence[np.ndarray], rng: np.random.Generator,
                 augmentation: Augmentation, sample_rate_hz: int) -> np.ndarray:
    """Speed, shift, gain, then background noise at a random SNR; int16 out (clipped as a device would)."""
    x = change_speed(samples, rng.uniform(*augmentation.speed_range))
    max_shift = sample_rate_hz * augmentation.time_shift_ms // 1000
    if max_shift:
        x = time_shift(x, int(rng.integers(-max_shift, max_shift + 1)))
    x = x * 10 ** (rng.uniform(*augmentation.gain_db_range) / 20)
    if noises and rng.uniform() < augmentation.background_frequency:
        x = mix_noise(x, noise_crop(noises, len(x), rng), rng.uniform(*augmentation.snr_db_range))
    return np.clip(np.round(x), -INT16_MAX - 1, INT16_MAX).astype(np.int16)


def silence_clip(noises: Sequence[np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
    """A silence example: a noise crop at a volume drawn from [0, 1] (TF speech_commands), or zeros."""
    if not noises:
        return np.zeros(length, dtype=np.int16)
    return np.round(noise_crop(noises, length, rng) * rng.uniform(0.0, 1.0)).astype(np.int16)


def generated_noise(sample_rate_hz: int, seed: int = 0) -> list[np.ndarray]:
    """White, pink and brown noise (int16 scale), for a release without _background_noise_/."""
    rng = np.random.default_rng(seed)
    length = int(GENERATED_NOISE_SECONDS * sample_rate_hz)
    white = rng.normal(0.0, 1.0, length)
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, length))
    pink = np.fft.irfft(spectrum / np.sqrt(np.maximum(np.arange(len(spectrum)), 1)), length)
    brown = np.cumsum(rng.normal(0.0, 1.0, length))
    noises = []
    for noise in (white, pink, brown - np.linspace(brown[0], brown[-1], length)):
        noises.append((noise / np.max(np.abs(noise)) * 0.3 * INT16_MAX).astype(np.float32))
    return noises

"""Synthetic speakers: an espeak-ng voice and variant, pitch, speed, a microphone and a room each."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# espeak-ng voice -> (accent a contributor would declare, native language as BCP-47)
ACCENTS: dict[str, tuple[str, str]] = {
    "en-us": ("United States English", "en"),
    "en-gb": ("England English", "en"),
    "en-gb-scotland": ("Scottish English", "en"),
    "en-029": ("Caribbean English", "en"),
    "de": ("German accent", "de"),
    "es": ("Spanish accent", "es"),
    "en-gb-x-rp": ("Received Pronunciation", "en"),
    "en-gb-x-gbclan": ("Lancashire English", "en"),
    "en-gb-x-gbcwmd": ("West Midlands English", "en"),
    "en-us-nyc": ("New York English", "en"),
    "fr-fr": ("French accent", "fr"),
    "hi": ("Indian English", "hi"),
}
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
# Disjoint pools, so rules tuned on one crowd are reported on voices they never heard.
VOICE_POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "tune": (("en-us", "en-gb", "en-gb-scotland", "en-029", "de", "es"),
             ("m1", "m2", "m3", "m4", "f1", "f2")),
    "holdout": (("en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc", "fr-fr", "hi"),
                ("m5", "m6", "m7", "f3", "f4", "f5")),
}
VOICE_POOLS["all"] = (tuple(ACCENTS), MALE_VARIANTS + FEMALE_VARIANTS)
AGES = ("teens", "twenties", "thirties", "fourties", "fifties", "sixties", "seventies")
NOISE_KINDS = ("white", "pink", "brown", "hum")
SAMPLE_RATES_HZ = (16000, 22050, 44100, 48000)
PITCH_RANGE = (25, 75)  # espeak-ng -p, 0-99 around the variant's own pitch
SPEED_RANGE = (120, 200)  # espeak-ng -s, words per minute
PEAK_RANGE_DBFS = (-30.0, -3.0)  # where a microphone's gain puts the word's peak


@dataclass(frozen=True)
class Speaker:
    """One synthetic contributor: how they sound, what they declare, and their microphone and room."""

    index: int
    accent_voice: str  # espeak-ng voice name
    variant: str  # espeak-ng variant (m1-m7, f1-f5)
    pitch: int
    speed: int
    gender: str  # Common Voice code, following the variant
    age: str
    accent: str
    native_language: str
    rate_hz: int  # the sample rate of their device
    peak_dbfs: float  # their microphone level
    noise: str  # their room's noise kind

    @property
    def voice(self) -> str:
        """Return the espeak-ng voice argument, e.g. 'en-us+f3'."""
        return f"{self.accent_voice}+{self.variant}"

    def profile(self) -> dict[str, str]:
        """Return the demographics this speaker declares (Common Voice codes)."""
        return {"age": self.age, "gender": self.gender, "accent": self.accent,
                "native_language": self.native_language}

    def as_dict(self) -> dict:
        """Return the speaker as a JSON-safe dict."""
        return {**asdict(self), "voice": self.voice}


def make_speaker(index: int, rng: np.random.Generator, pool: str = "all",
                 gender: str | None = None) -> Speaker:
    """Draw a speaker from a voice pool (optionally of one gender: 'male' or 'female')."""
    accents, variants = VOICE_POOLS[pool]
    if gender is not None:
        prefix = gender[0]
        variants = tuple(v for v in variants if v.startswith(prefix)) or variants
    variant = str(rng.choice(variants))
    accent_voice = str(rng.choice(accents))
    accent, language = ACCENTS[accent_voice]
    return Speaker(
        index=index, accent_voice=accent_voice, variant=variant,
        pitch=int(rng.integers(*PITCH_RANGE)), speed=int(rng.integers(*SPEED_RANGE)),
        gender="female_feminine" if variant.startswith("f") else "male_masculine",
        age=str(rng.choice(AGES)), accent=accent, native_language=language,
        rate_hz=int(rng.choice(SAMPLE_RATES_HZ)), peak_dbfs=round(float(rng.uniform(*PEAK_RANGE_DBFS)), 1),
        noise=str(rng.choice(NOISE_KINDS)))


def make_crowd(count: int, seed: int, pool: str = "all") -> list[Speaker]:
    """Draw `count` speakers, half of them female, reproducibly from a seed."""
    rng = np.random.default_rng([seed, 1])
    return [make_speaker(i, rng, pool, "female" if i % 2 else "male") for i in range(count)]

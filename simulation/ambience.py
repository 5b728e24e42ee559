"""Room ambience of a synthetic crowd: which speakers send 10-30 s of their room, and its audio.

A speaker's room sounds as their takes do (their noise kind, their device rate); a share of the recordings
(the crowd's defect rate) has someone speaking in the room, which the collector flags speech_in_ambience.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.synth import gain, noise, spoken_word, wav_bytes
from simulation.takes import STRAY_WORDS
from simulation.voices import Speaker

SECONDS_RANGE = (10.5, 29.5)  # inside the collector's 10-30 s, with a margin for rounding
LEVEL_RANGE_DBFS = (-60.0, -30.0)  # RMS of a room: a quiet bedroom to a busy kitchen
SPEECH_WORDS = (2, 4)  # words said in a room recording that has speech (from, to inclusive)
# a word said in the room peaks this far over the room's RMS (its own RMS about 10-18 dB over the room):
# plainly speech, as a person talking nearby is; the collector should flag it every time
SPEECH_OVER_ROOM_DB = (22.0, 30.0)


@dataclass(frozen=True)
class AmbiencePlan:
    """One speaker's room recording: how long, how loud, which words are said in it (none for most)."""

    speaker: Speaker
    seconds: float
    level_dbfs: float
    spoken: tuple[str, ...] = ()
    speech_over_room_db: float = 0.0  # peak of the words said over the room's RMS


def plan_ambience(speakers: list[Speaker], rate: float, speech_rate: float, seed: int) -> list[AmbiencePlan]:
    """Plan the room recordings: each speaker sends one with probability `rate`, some with speech in it."""
    plans = []
    for speaker in speakers:
        rng = np.random.default_rng([seed, 6, speaker.index])
        if rng.random() >= rate:
            continue
        seconds = round(float(rng.uniform(*SECONDS_RANGE)), 1)
        level = round(float(rng.uniform(*LEVEL_RANGE_DBFS)), 1)
        spoken: tuple[str, ...] = ()
        over = 0.0
        if rng.random() < speech_rate:
            count = int(rng.integers(SPEECH_WORDS[0], SPEECH_WORDS[1] + 1))
            spoken = tuple(str(word) for word in rng.choice(STRAY_WORDS, size=count))
            over = round(float(rng.uniform(*SPEECH_OVER_ROOM_DB)), 1)
        plans.append(AmbiencePlan(speaker, seconds, level, spoken, over))
    return plans


def render_ambience(plan: AmbiencePlan, seed: int) -> bytes:
    """Render a room recording as the WAV file its speaker uploads."""
    rng = np.random.default_rng([seed, 7, plan.speaker.index])
    s = plan.speaker
    samples = gain(plan.level_dbfs) * noise(s.noise, int(plan.seconds * s.rate_hz), s.rate_hz, rng)
    for index, word in enumerate(plan.spoken):
        said = spoken_word(word, s.voice, s.pitch, s.speed, s.rate_hz) * gain(
            min(-1.0, plan.level_dbfs + plan.speech_over_room_db))
        start = int((1.0 + 2.5 * index) * s.rate_hz)
        samples[start:start + len(said)] += said[: max(0, len(samples) - start)]
    return wav_bytes(np.clip(samples, -1.0, 1.0), s.rate_hz)

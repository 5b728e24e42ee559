"""Takes of a synthetic crowd: what each speaker records (the plan) and the audio of it (the render).

A take is a word placed anywhere in a recording with room noise at a chosen SNR; a share of takes carry
a defect. Every take is rendered from its own seed, so a plan renders the same bytes in any order, in
any thread, in `wordcrowd simulate` and in benchmarks/ingest_rules.py alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.synth import gain, noise, rms, spoken_word, wav_bytes
from simulation.voices import Speaker

CLEAN = "clean"
# silence: a muted microphone; noise_only: the room without a word; clipping: gain far past full scale;
# truncation: the recording starts or stops inside the word; wrong_word: another word than the keyword;
# duplicate: the same file again; near_duplicate: an earlier take replayed with another gain and noise
DEFECTS = ("silence", "noise_only", "clipping", "truncation", "wrong_word", "duplicate", "near_duplicate")
REPLAYS = ("duplicate", "near_duplicate")
# words spoken by mistake besides the campaign's other keywords
STRAY_WORDS = ("maybe", "seven", "house", "hello", "bird", "tree")
LEAD_RANGE_S = (0.05, 0.6)  # quiet before and after the word: the word lands anywhere in the recording
MIN_RECORDING_S = 0.5  # a recorder's shortest take (the collector's default limit is 0.4 s)
PEAK_JITTER_DB = 3.0  # take-to-take level change of one speaker
SILENCE_RANGE_DBFS = (-85.0, -65.0)  # RMS of a muted microphone's self-noise
NOISE_ONLY_RANGE_DBFS = (-50.0, -20.0)  # RMS of a room recorded without a word
CLIP_OVERDRIVE_DB = (6.0, 18.0)  # peak past full scale of a clipped take
TRUNCATE_KEEP = (0.35, 0.65)  # share of the word a truncated take keeps
REPLAY_GAIN_DB = (1.0, 6.0)  # level change of a near-duplicate (either sign)
REPLAY_NOISE_DBFS = (-70.0, -55.0)  # fresh noise under a near-duplicate


@dataclass(frozen=True)
class TakePlan:
    """One planned upload: who, which keyword is declared, what is said, how noisy, which defect."""

    index: int
    speaker: Speaker
    keyword: str  # the keyword the upload declares
    spoken: str  # the word actually said ("" for silence and noise only)
    snr_db: float  # of the word against the room noise (clean and most defects)
    defect: str  # CLEAN or one of DEFECTS
    source: int | None = None  # the take a duplicate or near-duplicate replays


def take_rng(seed: int, index: int) -> np.random.Generator:
    """Return the random generator of one take (independent of order and thread)."""
    return np.random.default_rng([seed, 2, index])


def _word_samples(plan: TakePlan, rng: np.random.Generator) -> np.ndarray:
    """Return the spoken word at the speaker's rate and level for this take."""
    s = plan.speaker
    word = spoken_word(plan.spoken, s.voice, s.pitch, s.speed, s.rate_hz)
    return word * gain(s.peak_dbfs + rng.uniform(-PEAK_JITTER_DB, PEAK_JITTER_DB))


def _place(word: np.ndarray, rate_hz: int, rng: np.random.Generator) -> tuple[np.ndarray, slice]:
    """Put the word at a random place in a recording; return the recording and where the word is."""
    lead, tail = (int(rng.uniform(*LEAD_RANGE_S) * rate_hz) for _ in range(2))
    tail = max(tail, int(MIN_RECORDING_S * rate_hz) - lead - len(word))
    samples = np.zeros(lead + len(word) + tail, dtype=np.float32)
    samples[lead:lead + len(word)] = word
    return samples, slice(lead, lead + len(word))


def _add_noise(samples: np.ndarray, level_rms: float, kind: str, rate_hz: int,
               rng: np.random.Generator) -> np.ndarray:
    """Add room noise of a kind at an RMS level."""
    return samples + level_rms * noise(kind, len(samples), rate_hz, rng)


def _truncate(samples: np.ndarray, where: slice, rng: np.random.Generator) -> np.ndarray:
    """Start or stop the recording inside the word."""
    cut = where.start + int((where.stop - where.start) * rng.uniform(*TRUNCATE_KEEP))
    return samples[:cut] if rng.random() < 0.5 else samples[cut:]


def render_samples(plan: TakePlan, seed: int) -> np.ndarray:
    """Render a take (not a replay) as float samples at the speaker's rate."""
    rng = take_rng(seed, plan.index)
    s = plan.speaker
    if plan.defect in ("silence", "noise_only"):
        length = int(rng.uniform(0.6, 1.6) * s.rate_hz)
        low, high = SILENCE_RANGE_DBFS if plan.defect == "silence" else NOISE_ONLY_RANGE_DBFS
        kind = "white" if plan.defect == "silence" else s.noise
        return gain(rng.uniform(low, high)) * noise(kind, length, s.rate_hz, rng)
    word = _word_samples(plan, rng)
    if plan.defect == "clipping":
        word = word / np.abs(word).max() * gain(rng.uniform(*CLIP_OVERDRIVE_DB))
    samples, where = _place(word, s.rate_hz, rng)
    speech_rms = rms(samples[where])
    samples = _add_noise(samples, speech_rms * gain(-plan.snr_db), s.noise, s.rate_hz, rng)
    if plan.defect == "truncation":
        samples = _truncate(samples, where, rng)
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


def render(plan: TakePlan, seed: int, plans: dict[int, TakePlan] | None = None) -> bytes:
    """Render a take as the WAV file its speaker uploads; replays need the plans they replay."""
    if plan.defect not in REPLAYS:
        return wav_bytes(render_samples(plan, seed), plan.speaker.rate_hz)
    if plans is None or plan.source not in plans:
        raise ValueError(f"take {plan.index} replays take {plan.source}, which is not in the plan")
    original = render_samples(plans[plan.source], seed)
    if plan.defect == "duplicate":
        return wav_bytes(original, plan.speaker.rate_hz)
    rng = take_rng(seed, plan.index)
    change = rng.uniform(*REPLAY_GAIN_DB) * rng.choice([-1.0, 1.0])
    replay = _add_noise(original * gain(change), gain(rng.uniform(*REPLAY_NOISE_DBFS)), "white",
                        plan.speaker.rate_hz, rng)
    return wav_bytes(replay, plan.speaker.rate_hz)

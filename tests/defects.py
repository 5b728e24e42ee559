"""A campaign of real stored clips with known defects, for the automatic checks' tests and benchmark.

Clean takes are espeak-ng words (voice, pitch and speed vary per speaker and take); defects are silence,
noise only, clipping, truncation, exact duplicates (the same upload in another campaign first),
near-duplicates (a clean take replayed with another gain and added noise) and wrong words. Every clip goes
through collector.ingest and collector.clips.store_clip; silence and noise, which today's ingest refuses,
are measured by the same collector functions and stored as an older, laxer ingest would have stored them.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from collector.canonical import canonical_window, wav_bytes
from collector.clips import store_clip
from collector.ingest import IngestedClip, ingest, review_flags
from collector.models import Campaign, Consent, Contributor
from collector.quality import Quality, detect_speech, measure_levels
from licenses import consent_sha256
from tests.speech import espeak_samples
from tests.speech import wav_bytes as encode_wav

RATE = 16000
# espeak-ng voices whose outputs for one word, pitch and speed correlate below 0.7 ("en-gb-x-rp" is "en"
# again: 0.95, which made distinct speakers' takes near-duplicates)
VOICES = ("en", "en-us", "en-gb-x-gbcwmd", "en-gb-scotland", "en-029", "en+f3", "en+m3", "en-us+f2", "en+m5",
          "en-gb-x-gbclan", "en+f4", "en-us+m2")
OTHER_WORDS = ("banana", "seven", "house", "marvin")
DEFECTS = ("silence", "noise_only", "clipping", "truncation", "duplicate", "near_duplicate", "wrong_word")


@dataclass
class Corpus:
    """Public clip id → defect (None: clean) and → the word it is stored under, of the checked campaign."""

    truth: dict[str, str | None] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)

    def of(self, defect: str | None) -> list[str]:
        """Return the clip ids carrying this defect (None: the clean ones)."""
        return [clip for clip, kind in self.truth.items() if kind == defect]


@functools.lru_cache(maxsize=2048)
def _voice(word: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    return espeak_samples(word, RATE, voice=voice, pitch=pitch, speed=speed)


def take(word: str, speaker: int, number: int, rng: np.random.Generator) -> np.ndarray:
    """One spoken word in a speaker's voice: espeak-ng's voice, pitch and speed vary per speaker and take,
    so takes are distinct syntheses (a resampled copy of one synthesis would be a near-duplicate); unique
    gain and noise. Voice, pitch and speed combinations repeat only after 1248 speakers."""
    voice = VOICES[speaker % len(VOICES)]
    pitch = 25 + 7 * (speaker // len(VOICES) % 8)
    speed = 120 + 6 * ((speaker * 7 + number * 3) % 13)  # words per minute
    samples = _voice(word, voice, pitch, speed)
    gain = 10 ** (rng.uniform(-8, 0) / 20)
    return (samples * gain + rng.normal(0, 10 ** (-62 / 20), samples.shape)).astype(np.float32)


def ingest_unchecked(samples: np.ndarray) -> IngestedClip:
    """Measure 16 kHz samples as ingest does and keep them even when today's rules would refuse them."""
    samples = np.clip(samples, -1, 1).astype(np.float32)
    data = encode_wav(samples, RATE)
    levels = measure_levels(samples[:, None], float(samples.mean(dtype="float64")))
    window = canonical_window(samples)
    speech = detect_speech(window)
    quality = Quality(len(samples) * 1000 // RATE, RATE, 1, levels.peak_dbfs, levels.rms_dbfs,
                      levels.clipped_fraction, levels.dc_offset, speech.snr_db, speech.speech_ms,
                      speech.segments, speech.at_edge, levels.silent_fraction)
    flags = review_flags(quality)
    return IngestedClip(wav_bytes(window.pcm), hashlib.sha256(window.pcm.tobytes()).hexdigest(), data, "wav",
                        hashlib.sha256(data).hexdigest(), quality, "review" if flags else "accept", flags)


def defect_samples(kind: str, clean: np.ndarray, keywords: tuple[str, ...], word: str, speaker: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Return the upload of one defect (duplicates are made by the caller from stored uploads)."""
    if kind == "silence":
        return rng.normal(0, 10 ** (rng.uniform(-80, -60) / 20), RATE).astype(np.float32)  # a muted mic
    if kind == "noise_only":
        return rng.normal(0, rng.uniform(0.01, 0.2), RATE).astype(np.float32)
    if kind == "clipping":
        return np.clip(clean * (0.99 / max(float(np.abs(clean).max()), 1e-6)) * rng.uniform(3, 8), -1, 1)
    if kind == "truncation":
        loud = np.flatnonzero(np.abs(clean) > 0.05 * np.abs(clean).max())
        cut = loud[0] + int((loud[-1] - loud[0]) * rng.uniform(0.35, 0.6))
        return clean[cut:] if rng.random() < 0.5 else clean[:cut]
    if kind == "wrong_word":
        others = [w for w in keywords if w != word] + list(OTHER_WORDS)
        return take(others[int(rng.integers(len(others)))], speaker, int(rng.integers(100)), rng)
    raise ValueError(kind)


def replay(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same recording again: another gain (−10…+4 dB) and added noise 20–35 dB below the speech."""
    gain = 10 ** (rng.uniform(-10, 4) / 20)
    loud = samples[np.abs(samples) > 0.05 * np.abs(samples).max()]
    level = float(np.sqrt(np.mean(loud ** 2))) * gain
    noise = rng.normal(0, level * 10 ** (-rng.uniform(20, 35) / 20), samples.shape)
    return np.clip(samples * gain + noise, -1, 1).astype(np.float32)


class Builder:
    """Stores clips into a campaign (and a second one for cross-campaign duplicates) with ground truth."""

    def __init__(self, session, store, campaign: Campaign, other: Campaign) -> None:
        self.session, self.store, self.campaign, self.other = session, store, campaign, other
        self.words = {c.slug: {k.word: k for k in c.keywords} for c in (campaign, other)}
        self.people: dict[int, tuple[Contributor, dict[str, Consent]]] = {}
        self.corpus = Corpus()

    def person(self, speaker: int, campaign: Campaign) -> tuple[Contributor, Consent]:
        """Return the speaker's contributor and consent for the campaign, creating them once."""
        if speaker not in self.people:
            contributor = Contributor()
            self.session.add(contributor)
            self.session.flush()
            self.people[speaker] = (contributor, {})
        contributor, consents = self.people[speaker]
        if campaign.slug not in consents:
            consents[campaign.slug] = Consent(
                contributor_id=contributor.id, campaign_id=campaign.id, consent_version="1",
                consent_sha256=consent_sha256("1"), license="CC0-1.0", age_confirmed=True)
            self.session.add(consents[campaign.slug])
            self.session.commit()
        return contributor, consents[campaign.slug]

    def put(self, ingested: IngestedClip, word: str, speaker: int, defect: str | None,
            campaign: Campaign | None = None) -> str:
        """Store one ingested upload; record its defect when it lands in the checked campaign."""
        campaign = campaign or self.campaign
        contributor, consent = self.person(speaker, campaign)
        keyword = self.words[campaign.slug][word]
        clip = store_clip(self.session, self.store, campaign=campaign, keyword=keyword,
                          contributor=contributor, consent=consent, ingested=ingested)
        if campaign is self.campaign:
            self.corpus.truth[clip.public_id] = defect
            self.corpus.words[clip.public_id] = word
        return clip.public_id


def plan(keywords: tuple[str, ...], speakers: int, per_defect: int, seed: int) -> Iterator[tuple]:
    """Yield (word, speaker, take, defect) for every clean take, then the defects spread over speakers."""
    rng = np.random.default_rng(seed)
    for speaker in range(speakers):
        for number, word in enumerate(keywords):
            yield word, speaker, number, None
    for kind in DEFECTS:
        for n in range(per_defect):
            yield keywords[int(rng.integers(len(keywords)))], (n * 5 + 3) % speakers, 50 + n, kind


def build(builder: Builder, keywords: tuple[str, ...], speakers: int, per_defect: int,
          seed: int = 0) -> Corpus:
    """Store the whole planned corpus; near-duplicates replay an earlier clean take of another speaker."""
    rng = np.random.default_rng(seed)
    clean_uploads: list[tuple[np.ndarray, str]] = []
    for word, speaker, number, kind in plan(keywords, speakers, per_defect, seed):
        samples = take(word, speaker, number, rng)
        if kind is None:
            builder.put(ingest(encode_wav(samples, RATE)), word, speaker, None)
            clean_uploads.append((samples, word))
        elif kind == "duplicate":
            data = encode_wav(samples, RATE)
            builder.put(ingest(data), word, speaker, None, builder.other)
            builder.put(ingest(data), word, (speaker + 1) % speakers, kind)
        elif kind == "near_duplicate":
            original, original_word = clean_uploads[int(rng.integers(len(clean_uploads)))]
            builder.put(ingest(encode_wav(replay(original, rng), RATE)), original_word,
                        (speaker + 2) % speakers, kind)
        else:
            upload = defect_samples(kind, samples, keywords, word, speaker, rng)
            builder.put(ingest_unchecked(upload), word, speaker, kind)
    return builder.corpus


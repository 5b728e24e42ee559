"""The one entry point from an uploaded file to a canonical clip with its metrics and verdict (pure)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from collector.audio import (
    DEFAULT_LIMITS,
    DecodedAudio,
    IngestError,
    IngestLimits,
    check_declared,
    decode,
    sniff_format,
)
from collector.canonical import CanonicalWindow, canonical_window, resample, to_mono, to_pcm16, wav_bytes
from collector.quality import (
    Levels,
    Quality,
    Speech,
    ambience_flags,
    ambience_reject_reason,
    detect_speech,
    measure_levels,
    reject_reason,
    review_flags,
)

__all__ = [
    "AMBIENCE_LIMITS", "IngestError", "IngestLimits", "IngestedClip", "Quality", "ambience_limits", "ingest",
    "ingest_ambience", "reject_reason", "review_flags",
]

# Room ambience (docs/ambience-and-auxiliary-words.md): the 10-30 s, the whole recording kept.
AMBIENCE_MIN_SECONDS = 10.0
AMBIENCE_MAX_SECONDS = 30.0
# Imports of existing background recordings (Speech Commands' _background_noise_ holds 60-95 s files) may
# pass ambience_limits(max_seconds=...) up to this: ten minutes of 16 kHz PCM16 is 19 MB canonical.
AMBIENCE_IMPORT_MAX_SECONDS = 600.0


@dataclass(frozen=True)
class IngestedClip:
    """An accepted upload: the canonical clip, the original, their checksums, metrics and verdict."""

    canonical_wav: bytes  # 16 kHz mono PCM16 WAV: exactly 16000 samples (ambience: the whole recording)
    sha256: str  # of the canonical PCM samples (the int16 array's bytes)
    original: bytes  # the upload as received
    original_format: str  # "wav" | "flac" | "ogg" | "webm" | "mp3" | "m4a"
    original_sha256: str
    quality: Quality
    verdict: str  # "accept" | "review"
    flags: list[str]  # review reason codes (empty when accepted)


def _check_size(data: bytes, limits: IngestLimits) -> None:
    """Raise for an empty or oversized upload."""
    if not data:
        raise IngestError("empty", "The upload is empty; please record again.", 422)
    if len(data) > limits.max_bytes:
        raise IngestError(
            "too_large", f"The upload is larger than {limits.max_bytes // 1024} KiB; please send a shorter "
            "recording.", 413)


def _sniff(data: bytes, filename: str | None, mimetype: str | None) -> str:
    """Return the container format, raising when it is unknown or contradicts what was declared."""
    fmt = sniff_format(data)
    if fmt is None:
        raise IngestError(
            "unsupported_media_type", "The upload is not audio in a known format (WAV, FLAC, Ogg, WebM, MP3 "
            "or M4A).", 415)
    check_declared(fmt, filename, mimetype)
    return fmt


def _decoded(data: bytes, filename: str | None, mimetype: str | None,
             limits: IngestLimits) -> tuple[str, DecodedAudio, Levels]:
    """Check size and format, decode, and measure the levels; raise IngestError."""
    _check_size(data, limits)
    fmt = _sniff(data, filename, mimetype)
    decoded = decode(data, fmt, limits)
    # the mean doubles as the DC offset and, in float64, as the check for NaN and inf samples
    dc_offset = float(decoded.samples.mean(dtype="float64"))
    if not abs(dc_offset) < float("inf"):
        raise IngestError("invalid_samples", "The audio holds invalid samples (NaN or infinity).", 422)
    return fmt, decoded, measure_levels(decoded.samples, dc_offset)


def _quality(decoded: DecodedAudio, levels: Levels, speech: Speech) -> Quality:
    """Return the stored metrics of a decoded upload."""
    return Quality(
        duration_ms=decoded.duration_ms, sample_rate_hz=decoded.sample_rate_hz, channels=decoded.channels,
        peak_dbfs=levels.peak_dbfs, rms_dbfs=levels.rms_dbfs, clipped_fraction=levels.clipped_fraction,
        dc_offset=levels.dc_offset, snr_db=speech.snr_db, speech_ms=speech.speech_ms,
        speech_segments=speech.segments, speech_at_edge=speech.at_edge,
        silent_fraction=round(levels.silent_fraction, 6))


def _accepted(data: bytes, fmt: str, pcm: np.ndarray, quality: Quality, flags: list[str]) -> IngestedClip:
    """Return the accepted clip: canonical WAV of pcm, checksums, metrics and the verdict its flags give."""
    return IngestedClip(
        canonical_wav=wav_bytes(pcm), sha256=hashlib.sha256(pcm.tobytes()).hexdigest(),
        original=data, original_format=fmt, original_sha256=hashlib.sha256(data).hexdigest(),
        quality=quality, verdict="review" if flags else "accept", flags=flags)


def ambience_limits(max_bytes: int = DEFAULT_LIMITS.max_bytes,
                    max_seconds: float = AMBIENCE_MAX_SECONDS) -> IngestLimits:
    """Return the bounds of a room recording: 10 s to max_seconds (imports: ≤ AMBIENCE_IMPORT_MAX_SECONDS)."""
    if not AMBIENCE_MIN_SECONDS <= max_seconds <= AMBIENCE_IMPORT_MAX_SECONDS:
        raise ValueError(f"ambience may last at most {AMBIENCE_IMPORT_MAX_SECONDS:g} s, not {max_seconds:g}")
    return IngestLimits(max_bytes=max_bytes, min_seconds=AMBIENCE_MIN_SECONDS, max_seconds=max_seconds)


AMBIENCE_LIMITS = ambience_limits()


def ingest_ambience(data: bytes, filename: str | None = None, mimetype: str | None = None,
                    limits: IngestLimits = AMBIENCE_LIMITS) -> IngestedClip:
    """Check, decode and measure a room recording; return the whole of it as canonical audio or raise.

    Every second is kept (no 1-s window): 16 kHz mono PCM16. Speech is measured over the whole recording,
    and much of it flags the clip for review (speech_in_ambience); only dead input is refused as silent.
    """
    fmt, decoded, levels = _decoded(data, filename, mimetype, limits)
    pcm = to_pcm16(resample(to_mono(decoded.samples), decoded.sample_rate_hz))
    quality = _quality(decoded, levels, detect_speech(CanonicalWindow(pcm, 0, len(pcm))))
    error = ambience_reject_reason(quality, limits)
    if error:
        raise error
    return _accepted(data, fmt, pcm, quality, ambience_flags(quality))


def ingest(data: bytes, filename: str | None = None, mimetype: str | None = None,
           limits: IngestLimits = DEFAULT_LIMITS) -> IngestedClip:
    """Check, decode and measure an upload; return its canonical clip or raise IngestError."""
    fmt, decoded, levels = _decoded(data, filename, mimetype, limits)
    window = canonical_window(resample(to_mono(decoded.samples), decoded.sample_rate_hz))
    quality = _quality(decoded, levels, detect_speech(window))
    error = reject_reason(quality, limits)
    if error:
        raise error
    return _accepted(data, fmt, window.pcm, quality, review_flags(quality))

"""The one entry point from an uploaded file to a canonical clip with its metrics and verdict (pure)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from collector.audio import DEFAULT_LIMITS, IngestError, IngestLimits, check_declared, decode, sniff_format
from collector.canonical import canonical_window, resample, to_mono, wav_bytes
from collector.quality import (
    Quality,
    detect_speech,
    measure_levels,
    reject_reason,
    review_flags,
)

__all__ = [
    "IngestError", "IngestLimits", "IngestedClip", "Quality", "ingest", "reject_reason", "review_flags",
]


@dataclass(frozen=True)
class IngestedClip:
    """An accepted upload: the canonical clip, the original, their checksums, metrics and verdict."""

    canonical_wav: bytes  # 16 kHz mono PCM16 WAV, exactly 16000 samples
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


def ingest(data: bytes, filename: str | None = None, mimetype: str | None = None,
           limits: IngestLimits = DEFAULT_LIMITS) -> IngestedClip:
    """Check, decode and measure an upload; return its canonical clip or raise IngestError."""
    _check_size(data, limits)
    fmt = _sniff(data, filename, mimetype)
    decoded = decode(data, fmt, limits)
    # the mean doubles as the DC offset and, in float64, as the check for NaN and inf samples
    dc_offset = float(decoded.samples.mean(dtype="float64"))
    if not abs(dc_offset) < float("inf"):
        raise IngestError("invalid_samples", "The audio holds invalid samples (NaN or infinity).", 422)
    levels = measure_levels(decoded.samples, dc_offset)
    window = canonical_window(resample(to_mono(decoded.samples), decoded.sample_rate_hz))
    speech = detect_speech(window)
    quality = Quality(
        duration_ms=decoded.duration_ms, sample_rate_hz=decoded.sample_rate_hz, channels=decoded.channels,
        peak_dbfs=levels.peak_dbfs, rms_dbfs=levels.rms_dbfs, clipped_fraction=levels.clipped_fraction,
        dc_offset=levels.dc_offset, snr_db=speech.snr_db, speech_ms=speech.speech_ms,
        speech_segments=speech.segments, speech_at_edge=speech.at_edge,
        silent_fraction=round(levels.silent_fraction, 6))
    error = reject_reason(quality, limits)
    if error:
        raise error
    flags = review_flags(quality)
    return IngestedClip(
        canonical_wav=wav_bytes(window.pcm), sha256=hashlib.sha256(window.pcm.tobytes()).hexdigest(),
        original=data, original_format=fmt, original_sha256=hashlib.sha256(data).hexdigest(),
        quality=quality, verdict="review" if flags else "accept", flags=flags)

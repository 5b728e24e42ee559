"""Checks of ambience clips: 10–30 s of a contributor's room, stored whole at 16 kHz, that hold no word.

Speech rules (no speech, cut-off, extra speech, SNR) and the word checks make no sense for room sound. What
does: a dead input (digital silence, or long stretches of it: dropouts), clipping and a DC offset (stored
metrics, re-thresholdable), exact and near duplicates, and someone talking through it (room sound with a
voice in front is no background for a keyword model, and it may be a person who did not consent).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import scipy.fft
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

from collector.canonical import CANONICAL_RATE_HZ
from collector.ingest import AMBIENCE_MAX_SECONDS as MAX_SECONDS
from collector.ingest import AMBIENCE_MIN_SECONDS as MIN_SECONDS
from collector.quality import MAX_CLIPPED_FRACTION, MAX_DC_OFFSET
from curation.checks.features import fingerprint, log_mel
from curation.checks.records import ClipRecord, Finding

CHECK = "ambience"  # the audio half; the stored-metric half reports under "quality" (rules.py)
QUALITY = "quality"
# How long room sound should last is the collector's rule (MIN_SECONDS, MAX_SECONDS); a second of slack
# either way keeps a recorder's rounding from flagging a take.
LENGTH_SLACK_S = 1.0
# A real microphone in the quietest room still hisses above −80 dBFS (about 3 LSB of 16-bit audio); a peak
# below it is a muted or dead input, not a quiet room. The speech rule's −40 dBFS would refuse quiet rooms.
DEAD_PEAK_DBFS = -80.0
# Dropouts: blocks in which every sample is the same (digital zero, or a held value) are no room sound.
# A recording with more than this share of such blocks has a dead or interrupted input.
DROPOUT_BLOCK_MS = 50
MAX_DROPOUT_SHARE = 0.1
# Someone talking: the share of voiced frames (a clear pitch between VOICE_LOW_HZ and VOICE_HIGH_HZ in the
# 250–3500 Hz band: normalised autocorrelation ≥ VOICING, Boersma's window correction, as Praat measures
# it). The collector's speech detector (webrtcvad, gated against the quietest frames) is built for one
# second with one word: on generated rooms whose level drifts a few dB (a fan, traffic) it called 0–73 % of
# them speech. Voicing at 0.6 found at most 0.4 % of any generated room voiced (hum's 250 Hz harmonic
# reaches 3 % at 0.5), and 18–45 % of rooms with someone talking through 40–80 % of them.
VOICE_LOW_HZ, VOICE_HIGH_HZ = 70.0, 400.0
VOICE_BAND_HZ = (250.0, 3500.0)
VOICING = 0.6
VOICE_FRAME, VOICE_HOP = 640, 320  # 40 ms frames every 20 ms
VOICE_ABOVE_FLOOR_DB = 3.0  # a voiced frame also stands out of the room's quietest tenth
MAX_VOICED_SHARE = 0.1
FINGERPRINT_SECONDS = 10  # the fingerprint covers the first MIN_SECONDS: every ambience clip has them
# The waveform check of two ambience clips: any alignment of the two recordings (a re-upload may start
# later), the same correlation threshold as spoken clips.
SCORES = {"silent": 1.0, "dropouts": 0.9, "clipping": 0.7, "speech_in_ambience": 0.6, "too_short": 0.5,
          "too_long": 0.5, "dc_offset": 0.3}


def metric_findings(record: ClipRecord) -> list[Finding]:
    """Return the stored-metric findings of one ambience clip (its length, a dead input, clipping, DC)."""
    quality = record.quality
    found = []
    seconds = quality.duration_ms / 1000
    if seconds < MIN_SECONDS - LENGTH_SLACK_S:
        found.append(("too_short", f"{seconds:.1f} s of ambience; {MIN_SECONDS:.0f} s at least are asked"))
    elif seconds > MAX_SECONDS + LENGTH_SLACK_S:
        found.append(("too_long", f"{seconds:.1f} s of ambience; {MAX_SECONDS:.0f} s at most are asked"))
    if quality.peak_dbfs < DEAD_PEAK_DBFS:
        found.append(("silent", f"peak {quality.peak_dbfs:.0f} dBFS: a muted or dead input, no quiet room"))
    if quality.clipped_fraction > MAX_CLIPPED_FRACTION:
        found.append(("clipping", f"{quality.clipped_fraction:.2%} of the samples at full scale"))
    if abs(quality.dc_offset) > MAX_DC_OFFSET:
        found.append(("dc_offset", f"a DC offset of {quality.dc_offset:+.3f} of full scale"))
    return [Finding(record.clip_id, QUALITY, reason, SCORES[reason], detail) for reason, detail in found]


def dropout_share(samples: np.ndarray) -> float:
    """Return the share of DROPOUT_BLOCK_MS blocks in which every sample has the same value."""
    size = DROPOUT_BLOCK_MS * CANONICAL_RATE_HZ // 1000
    count = len(samples) // size
    if count == 0:
        return 1.0
    blocks = samples[:count * size].reshape(count, size)
    return float(np.mean(blocks.min(axis=1) == blocks.max(axis=1)))


@functools.lru_cache(maxsize=1)
def _voice_filter() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the band-pass (second-order sections), the Hann window and its normalised autocorrelation."""
    band = scipy.signal.butter(4, VOICE_BAND_HZ, btype="bandpass", fs=CANONICAL_RATE_HZ, output="sos")
    window = np.hanning(VOICE_FRAME)
    own = scipy.fft.irfft(np.abs(scipy.fft.rfft(window, _VOICE_FFT)) ** 2, _VOICE_FFT)[:VOICE_FRAME]
    return band, window.astype(np.float32), (own / own[0]).astype(np.float32)


_VOICE_FFT = 1024  # ≥ VOICE_FRAME + the longest lag: no wrap-around in the autocorrelation
_LAGS = slice(int(CANONICAL_RATE_HZ / VOICE_HIGH_HZ), int(CANONICAL_RATE_HZ / VOICE_LOW_HZ) + 1)


def voiced_share(samples: np.ndarray) -> float:
    """Return the share of a recording's frames that carry a voice (a clear pitch over the room)."""
    band, window, window_lags = _voice_filter()
    if len(samples) < VOICE_FRAME:
        return 0.0
    signal = scipy.signal.sosfilt(band, samples.astype(np.float32) * (1 / 32768)).astype(np.float32)
    view = sliding_window_view(signal, VOICE_FRAME)[::VOICE_HOP]  # frames as a view of the signal
    padded = np.zeros((len(view), _VOICE_FFT), np.float32)  # windowed straight into the FFT's zero padding
    frames = np.multiply(view, window, out=padded[:, :VOICE_FRAME])
    frames -= frames.mean(axis=1, keepdims=True)
    spectrum = scipy.fft.rfft(padded, axis=1, overwrite_x=True)
    power_spectrum = np.square(spectrum.real)
    power_spectrum += np.square(spectrum.imag)
    lags = scipy.fft.irfft(power_spectrum, _VOICE_FFT, axis=1, overwrite_x=True)
    power = np.maximum(lags[:, 0], 1e-20)
    pitch = (lags[:, _LAGS] / power[:, None] / window_lags[_LAGS]).max(axis=1)
    level = 10 * np.log10(power)
    floor = float(np.percentile(level, 10))
    return float(np.mean((pitch >= VOICING) & (level > floor + VOICE_ABOVE_FLOOR_DB)))


def audio_findings(record: ClipRecord, samples: np.ndarray) -> list[Finding]:
    """Return the findings that need the recording: dropouts and someone talking."""
    found = []
    dropouts = dropout_share(samples)
    if dropouts > MAX_DROPOUT_SHARE:
        found.append(Finding(record.clip_id, CHECK, "dropouts", SCORES["dropouts"],
                             f"{dropouts:.0%} of the recording is digital silence: a dead or broken input"))
    voiced = voiced_share(samples) if dropouts < 1.0 else 0.0
    if voiced > MAX_VOICED_SHARE:
        found.append(Finding(record.clip_id, CHECK, "speech_in_ambience", SCORES["speech_in_ambience"],
                             f"ambience should be room sound: {voiced:.0%} of it is voiced (a voice?)"))
    return found


def ambience_print(samples: np.ndarray) -> np.ndarray:
    """Return a unit fingerprint of a recording's first FINGERPRINT_SECONDS: the sum of its per-second
    fingerprints (the spoken clips' fingerprint, which a gain change and faint added noise leave alone)."""
    seconds = max(1, min(FINGERPRINT_SECONDS, len(samples) // CANONICAL_RATE_HZ))
    padded = np.zeros(seconds * CANONICAL_RATE_HZ, dtype=np.int16)
    head = samples[:len(padded)]
    padded[:len(head)] = head
    total = fingerprint(log_mel(padded.reshape(seconds, CANONICAL_RATE_HZ))).sum(axis=0)
    return (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32)


def ambience_records(records: Sequence[ClipRecord]) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """Split records into (spoken words, ambience)."""
    return [r for r in records if not r.ambience], [r for r in records if r.ambience]

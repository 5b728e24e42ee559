"""Quality metrics of an upload, speech detection on its canonical window, and the rules built on them.

Every threshold is a module constant and the rules read only a `Quality` (the metrics stored with each
clip), so curation can re-threshold stored clips later without decoding anything again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import webrtcvad

from collector.audio import DEFAULT_LIMITS, IngestError, IngestLimits, stream_error
from collector.canonical import CANONICAL_RATE_HZ, CanonicalWindow
from collector.metrics import Quality  # the metrics record; the rules below read only it

# Hard rejects (DESIGN §5; tuned on a simulated crowd, docs/quality.md)
SILENT_PEAK_DBFS = -40.0  # a peak below this is silence [senselab]
SILENT_FRACTION = 0.99  # this share of samples below SILENT_SAMPLE_LEVEL is silence [senselab]
SILENT_SAMPLE_LEVEL = 0.01  # relative to the peak, as senselab measures it on peak-normalised audio
# less speech than this in the canonical window is no word: three 30 ms frames. Short words said fast
# ("up", "off", "stop") are 90-150 ms of voiced speech; 150 ms [Silero: 250 ms] rejected them, while noise
# and tones are kept out by STRONG_SPEECH_DB instead.
MIN_SPEECH_MS = 90
# Ambience (room sound, docs/ambience-and-auxiliary-words.md): 10-30 s, every second kept. Quiet rooms are
# the point, so the keyword rules' silence test (peak < -40 dBFS, 99 % of samples under 1 % of the peak: a
# quiet room with one door knock) does not apply; only dead input is refused: an RMS below this is digital
# silence or a muted input (an open microphone's own noise lies 20-30 dB above it).
AMBIENCE_DEAD_RMS_DBFS = -85.0
# Speech in room sound would teach a model that words are background (a keyword mixed into its _silence_):
# a word's worth is flagged. espeak's "yes" measures 360 ms; white, pink and brown noise 0-90 ms.
AMBIENCE_MAX_SPEECH_MS = 250
# Review flags (DESIGN §5; docs/quality.md)
CLIP_LEVEL = 0.999  # a sample this close to full scale counts as clipped
MAX_CLIPPED_FRACTION = 1e-4  # [senselab]
# A keyword dataset wants noisy takes: speech 10 dB over the room is plainly intelligible, so only speech
# hardly above the noise is flagged. The estimate is taken in the speech band (above SPEECH_BAND_HZ) and
# reads 5-8 dB above the broadband SNR of a noisy take, so these flag takes below about 3 dB and -2 dB
# broadband. [senselab's 20 / 10 dB, on the broadband estimate, flagged 34 % of clean takes at 10-40 dB.]
LOW_SNR_DB = 10.0
VERY_LOW_SNR_DB = 6.0
MAX_DC_OFFSET = 0.01  # of full scale
# Speech detection
# webrtcvad's aggressiveness. Mode 3 missed whole words of some voices (a French "on" at 30 dB SNR); mode 2
# finds them, and the tones and noise it also calls speech are kept out by STRONG_SPEECH_DB.
VAD_MODE = 2
VAD_FRAME = CANONICAL_RATE_HZ * 30 // 1000  # 30 ms frames of 16 kHz int16
# webrtcvad judges absolute level: a clean word peaking at -30 dBFS lost half its frames. Its input is
# peak-normalised (gain at most VAD_MAX_GAIN_DB), which makes detection level-independent down to the
# silence threshold.
VAD_PEAK = 0.9
VAD_MAX_GAIN_DB = 40.0
# webrtcvad calls the first ~3 frames of a fresh detector speech; it is primed with this many frames of the
# window's start played backwards, which adapts it to the recording without a click at the seam.
VAD_PRIMING_FRAMES = 5
# webrtcvad takes white noise at -25 dBFS for speech; a speech frame must also be this much louder than the
# noise floor (the mean power of the quietest tenth of the frames).
SPEECH_GATE_DB = 3.0
NOISE_FLOOR_SHARE = 0.10
# Noise that webrtcvad takes for speech (pink, brown, hum) wanders a few dB around its floor; a word at
# 5 dB SNR has vowels 10 dB and more above it. A run of speech frames counts only when one of its frames
# is this much louder than the floor, and speech at an edge means a cut-off word only when the edge frame
# is (a word's quiet onset or fading tail under the noise is no cut).
STRONG_SPEECH_DB = 7.0
# Frame powers (gate, strong frames, SNR) are measured above this frequency: rumble, mains hum and wind
# below it wander from frame to frame like syllables, but carry no speech a keyword model listens to (the
# micro frontend's filterbank starts at 125 Hz).
SPEECH_BAND_HZ = 200.0
# A word is cut off when speech at an edge of the recording (or of the canonical window cut from it) is
# loud: strong, and within this of the word's loudest frame. A faded onset or tail 20-35 dB under the
# vowel, left outside the loudest second, flagged 1.2 % of clean held-out takes without it.
CUT_OFF_DB = 15.0
MERGE_GAP_MS = 150  # speech separated by less is one segment (stop closures inside a word, clipped peaks)
DBFS_FLOOR = -120.0  # stands for -inf (digital silence) so every metric stays JSON-safe
SNR_CAP_DB = 100.0  # stands for +inf (speech over digital silence)


@dataclass(frozen=True)
class Levels:
    """Level metrics of an upload's samples."""

    peak_dbfs: float
    rms_dbfs: float
    clipped_fraction: float
    dc_offset: float
    silent_fraction: float


@dataclass(frozen=True)
class Speech:
    """What the voice-activity detector found in a canonical window."""

    speech_ms: int
    segments: int
    at_edge: bool
    snr_db: float


def dbfs(amplitude: float) -> float:
    """Convert an amplitude (full scale = 1) to dBFS, floored at DBFS_FLOOR."""
    if amplitude <= 10 ** (DBFS_FLOOR / 20):
        return DBFS_FLOOR
    return round(20 * math.log10(amplitude), 2)


def measure_levels(samples: np.ndarray, dc_offset: float) -> Levels:
    """Measure peak, RMS, clipping and silence over every sample of every channel (finite samples only)."""
    flat = samples.reshape(-1)
    magnitude = np.abs(flat)
    peak = float(magnitude.max()) if flat.size else 0.0
    power = float(np.dot(flat, flat)) / max(flat.size, 1)
    clipped = np.count_nonzero(magnitude >= CLIP_LEVEL) / max(flat.size, 1)
    silent = np.count_nonzero(magnitude < peak * SILENT_SAMPLE_LEVEL) / max(flat.size, 1)
    return Levels(dbfs(peak), dbfs(math.sqrt(power)), float(clipped), round(dc_offset, 6), float(silent))


def _frame_starts(length: int) -> np.ndarray:
    """Return 30 ms frame starts covering `length` samples; a last frame ends exactly at the end."""
    starts = np.arange(0, length - VAD_FRAME + 1, VAD_FRAME)
    if length % VAD_FRAME and length >= VAD_FRAME:
        starts = np.append(starts, length - VAD_FRAME)
    return starts


def _normalised(content: np.ndarray) -> np.ndarray:
    """Scale int16 samples so their peak is VAD_PEAK of full scale (never by more than VAD_MAX_GAIN_DB)."""
    peak = max(int(content.max()), -int(content.min()), 1)
    gain = min(VAD_PEAK * 32767 / peak, 10 ** (VAD_MAX_GAIN_DB / 20))
    return np.clip(np.rint(content * np.float32(gain)), -32768, 32767).astype("<i2")


def _vad_decisions(content: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Run webrtcvad over the frames of peak-normalised content, primed on its reversed start."""
    content = _normalised(content)
    vad = webrtcvad.Vad(VAD_MODE)
    primer = content[:VAD_PRIMING_FRAMES * VAD_FRAME][::-1].tobytes()
    for offset in range(0, len(primer) - 2 * VAD_FRAME + 1, 2 * VAD_FRAME):
        vad.is_speech(primer[offset:offset + 2 * VAD_FRAME], CANONICAL_RATE_HZ)
    buffer = memoryview(content.tobytes())
    return np.array([vad.is_speech(buffer[2 * s:2 * (s + VAD_FRAME)], CANONICAL_RATE_HZ) for s in starts])


def _snr_db(power: np.ndarray, speech: np.ndarray, floor: float) -> float:
    """Compare the mean power of speech frames with that of the other frames (or the noise floor)."""
    if not speech.any():
        return 0.0
    signal = float(power[speech].mean())
    noise = float(power[~speech].mean()) if not speech.all() else floor
    if noise <= 0.0:
        return SNR_CAP_DB
    return round(max(-SNR_CAP_DB, min(SNR_CAP_DB, 10 * math.log10(max(signal, 1e-12) / noise))), 2)


def _fill_gaps(speech: np.ndarray) -> np.ndarray:
    """Turn pauses shorter than MERGE_GAP_MS between speech frames into speech (the hangover)."""
    spoken = np.flatnonzero(speech)
    filled = speech.copy()
    for before, after in zip(spoken[:-1], spoken[1:], strict=True):
        if 1 < after - before and (after - before - 1) * VAD_FRAME * 1000 < MERGE_GAP_MS * CANONICAL_RATE_HZ:
            filled[before + 1:after] = True
    return filled


def _speech_samples(starts: np.ndarray, speech: np.ndarray) -> int:
    """Count the samples covered by speech frames (the last frame may overlap the one before)."""
    spoken = starts[speech]
    if not len(spoken):
        return 0
    return int(np.minimum(np.diff(spoken), VAD_FRAME).sum()) + VAD_FRAME


# the frame spectrum's bins from SPEECH_BAND_HZ up (33 Hz apart). No window: a Hann window halves the
# samples a frame's power rests on, and brown noise alone then reached 8.9 dB over its floor (7 of 800
# noise-only takes passed as speech); unwindowed it stays under 6.7 dB, like a filter over the whole clip.
_BAND_BINS = slice(int(np.ceil(SPEECH_BAND_HZ * VAD_FRAME / CANONICAL_RATE_HZ)), None)


def _frame_powers(content: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Return each frame's power in the speech band (above SPEECH_BAND_HZ), in relative units."""
    frames = content[starts[:, None] + np.arange(VAD_FRAME)].astype(np.float32) * (1 / 32768)
    spectrum = np.fft.rfft(frames, axis=1)[:, _BAND_BINS]
    return np.einsum("ij,ij->i", spectrum.real, spectrum.real) + np.einsum("ij,ij->i", spectrum.imag,
                                                                             spectrum.imag)


def _runs(speech: np.ndarray) -> list[tuple[int, int]]:
    """Return the (start, stop) frame indices of each run of speech frames."""
    edges = np.diff(np.concatenate(([0], speech.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _strong_runs(speech: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """Keep only the runs of speech frames that hold at least one strong frame."""
    kept = np.zeros_like(speech)
    for start, stop in _runs(speech):
        if strong[start:stop].any():
            kept[start:stop] = True
    return kept


def detect_speech(window: CanonicalWindow) -> Speech:
    """Find speech in the upload's audio inside the canonical window: amount, segments, edges, SNR."""
    content = window.content
    starts = _frame_starts(len(content))
    if not len(starts):
        return Speech(0, 0, False, 0.0)
    power = _frame_powers(content, starts)
    floor = float(np.sort(power)[: max(1, int(len(power) * NOISE_FLOOR_SHARE))].mean())
    voiced = _vad_decisions(content, starts) & (power > floor * 10 ** (SPEECH_GATE_DB / 10))
    strong = power > floor * 10 ** (STRONG_SPEECH_DB / 10)
    speech = _strong_runs(_fill_gaps(voiced), strong)
    loud = strong & (power >= power[speech].max(initial=0.0) * 10 ** (-CUT_OFF_DB / 10))
    at_edge = bool(speech[0] and loud[0] or speech[-1] and loud[-1])
    return Speech(_speech_samples(starts, speech) * 1000 // CANONICAL_RATE_HZ, len(_runs(speech)),
                  at_edge, _snr_db(power, speech, floor))


def _silent() -> IngestError:
    return IngestError("silent", "The recording is silent; please check the microphone and try again.", 422)


def reject_reason(quality: Quality, limits: IngestLimits = DEFAULT_LIMITS) -> IngestError | None:
    """Return why metrics make a clip unusable (the first hard rule it breaks), or None."""
    error = stream_error(quality.sample_rate_hz, quality.duration_ms / 1000, limits)
    if error:
        return error
    if quality.peak_dbfs < SILENT_PEAK_DBFS or quality.silent_fraction >= SILENT_FRACTION:
        return _silent()
    if quality.speech_ms < MIN_SPEECH_MS:
        return IngestError("no_speech", "No speech was heard in the recording; please say the word clearly.",
                           422)
    return None


def review_flags(quality: Quality) -> list[str]:
    """Return the reason codes for which a person should review an accepted clip (empty: none)."""
    flags = []
    if quality.clipped_fraction > MAX_CLIPPED_FRACTION:
        flags.append("clipping")
    if quality.snr_db < VERY_LOW_SNR_DB:
        flags.append("very_low_snr")
    elif quality.snr_db < LOW_SNR_DB:
        flags.append("low_snr")
    if quality.speech_at_edge:
        flags.append("cut_off")
    if quality.speech_segments > 1:
        flags.append("extra_speech")
    if abs(quality.dc_offset) > MAX_DC_OFFSET:
        flags.append("dc_offset")
    return flags


def ambience_reject_reason(quality: Quality, limits: IngestLimits) -> IngestError | None:
    """Return why metrics make a room recording unusable (duration out of bounds, dead input), or None."""
    error = stream_error(quality.sample_rate_hz, quality.duration_ms / 1000, limits)
    if error:
        return error
    if quality.rms_dbfs < AMBIENCE_DEAD_RMS_DBFS:
        return IngestError("silent", "The recording holds no sound at all (is the microphone muted?); please "
                           "check it and try again.", 422)
    return None


def ambience_flags(quality: Quality) -> list[str]:
    """Return the reason codes for which a person should review a room recording (empty: none)."""
    flags = []
    if quality.clipped_fraction > MAX_CLIPPED_FRACTION:
        flags.append("clipping")
    if quality.speech_ms > AMBIENCE_MAX_SPEECH_MS:
        flags.append("speech_in_ambience")
    if abs(quality.dc_offset) > MAX_DC_OFFSET:
        flags.append("dc_offset")
    return flags

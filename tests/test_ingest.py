"""Ingestion: every accepted format becomes the canonical clip; every bad upload gets its exact error."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from speech import espeak_samples, noise_wav, silence_wav, speech_wav, tone_wav, wav_bytes

from collector import audio
from collector.ingest import IngestedClip, IngestError, IngestLimits, ingest

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None and not os.environ.get("CI"),
                                  reason="ffmpeg is not installed (make test installs it)")


def rejected(data: bytes, **kwargs: object) -> IngestError:
    """Ingest an upload that must fail and return its error."""
    with pytest.raises(IngestError) as caught:
        ingest(data, **kwargs)
    return caught.value


def assert_error(error: IngestError, code: str, status: int) -> None:
    """Check an error's code and status, and that its message is a sentence for a person."""
    assert (error.code, error.status) == (code, status), repr(error)
    assert error.message.endswith(".") and len(error.message) > 20


def assert_canonical(clip: IngestedClip) -> np.ndarray:
    """Check the canonical clip is 16 kHz mono PCM16 of exactly 16000 samples; return its samples."""
    info = sf.info(io.BytesIO(clip.canonical_wav))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 16000, "PCM_16")
    samples, _ = sf.read(io.BytesIO(clip.canonical_wav), dtype="int16")
    assert clip.sha256 == hashlib.sha256(samples.astype("<i2").tobytes()).hexdigest()
    assert clip.original_sha256 == hashlib.sha256(clip.original).hexdigest()
    return samples


def encode(wav: bytes, tmp_path: Path, name: str, *codec: str) -> bytes:
    """Encode a WAV with the real ffmpeg into the container its name says."""
    source, target = tmp_path / "source.wav", tmp_path / name
    source.write_bytes(wav)
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", "-i", str(source), *codec, str(target)],
                   check=True, timeout=60)
    return target.read_bytes()


# --- hard rejects before decoding ---------------------------------------------------------------------------

def test_empty_upload_is_rejected() -> None:
    assert_error(rejected(b""), "empty", 422)


def test_upload_over_the_size_limit_is_rejected() -> None:
    wav = speech_wav("yes")
    assert_error(rejected(wav, limits=IngestLimits(max_bytes=len(wav) - 1)), "too_large", 413)
    assert ingest(wav, limits=IngestLimits(max_bytes=len(wav))).verdict == "accept"


def test_random_bytes_are_not_audio() -> None:
    data = np.random.default_rng(3).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    assert audio.sniff_format(data) is None
    assert_error(rejected(data), "unsupported_media_type", 415)


@pytest.mark.parametrize("data, filename", [
    (b"\x89PNG\r\n\x1a\n" + bytes(2000), "picture.png"),
    (b"wordcrowd: nothing to hear here\n" * 40, "notes.txt"),
    (b"\x00\x00\x00\x18ftypheic" + bytes(2000), "photo.heic"),
])
def test_other_files_are_not_audio(data: bytes, filename: str) -> None:
    assert_error(rejected(data, filename=filename), "unsupported_media_type", 415)


@pytest.mark.parametrize("filename, mimetype", [
    ("clip.mp3", None), ("clip.wav", "audio/mpeg"), (None, "audio/webm;codecs=opus"), ("clip.png", None),
    ("clip.wav", "text/plain"),
])
def test_declared_type_naming_another_format_is_a_mismatch(filename: str | None,
                                                           mimetype: str | None) -> None:
    error = rejected(speech_wav("yes"), filename=filename, mimetype=mimetype)
    assert_error(error, "type_mismatch", 415)
    assert "WAV" in error.message


@pytest.mark.parametrize("filename, mimetype", [
    ("clip.wav", "audio/wav"), ("clip.WAV", "audio/x-wav"), ("clip.wave", "audio/wave"),
    ("blob", "audio/vnd.wave; codecs=1"), (None, "application/octet-stream"), ("", ""), (None, None),
    ("recording.tmp", "AUDIO/WAV"),
])
def test_declared_types_that_agree_or_name_nothing_are_accepted(filename: str | None,
                                                                 mimetype: str | None) -> None:
    assert ingest(speech_wav("yes"), filename=filename, mimetype=mimetype).original_format == "wav"


# --- content that looks like audio but does not decode ------------------------------------------------------

def test_truncated_wav_is_undecodable() -> None:
    wav = speech_wav("yes")
    assert_error(rejected(wav[: len(wav) // 2]), "undecodable", 422)
    assert_error(rejected(wav[:30]), "undecodable", 422)


def test_wav_header_claiming_more_data_than_present_is_undecodable() -> None:
    wav = bytearray(speech_wav("yes"))
    data_at = wav.index(b"data")
    size = struct.unpack_from("<I", wav, data_at + 4)[0]
    struct.pack_into("<I", wav, data_at + 4, size + 48000)
    error = rejected(bytes(wav))
    assert_error(error, "undecodable", 422)
    assert "header" in error.message


def test_streamed_wav_with_unknown_length_is_accepted() -> None:
    wav = bytearray(speech_wav("yes"))
    struct.pack_into("<I", wav, wav.index(b"data") + 4, 0xFFFFFFFF)
    assert ingest(bytes(wav)).verdict == "accept"


def test_wav_of_endless_empty_chunks_is_undecodable() -> None:
    wav = speech_wav("yes")
    padded = wav[:4] + struct.pack("<I", len(wav) - 8 + 8000) + wav[8:12] + b"JUNK\0\0\0\0" * 1000 + wav[12:]
    assert_error(rejected(padded), "undecodable", 422)


def test_damaged_wav_format_chunk_is_undecodable() -> None:
    wav = bytearray(speech_wav("yes"))
    struct.pack_into("<H", wav, wav.index(b"fmt ") + 8, 0x7777)  # no such codec
    assert_error(rejected(bytes(wav)), "undecodable", 422)


def test_truncated_flac_is_undecodable(tmp_path: Path) -> None:
    flac = io.BytesIO()
    sf.write(flac, espeak_samples("yes", 16000), 16000, format="FLAC")
    assert_error(rejected(flac.getvalue()[: len(flac.getvalue()) // 2]), "undecodable", 422)


@needs_ffmpeg
def test_garbage_in_an_mp4_box_is_undecodable() -> None:
    data = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isomiso2" + bytes(range(256)) * 40
    assert_error(rejected(data, filename="clip.m4a"), "undecodable", 422)


@needs_ffmpeg
def test_ffmpeg_is_stopped_by_its_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    webm = encode(speech_wav("yes"), tmp_path, "yes.webm", "-c:a", "libopus")  # MP3 may not need ffmpeg
    monkeypatch.setattr(audio, "FFMPEG_TIMEOUT_S", 0.001)
    error = rejected(webm)
    assert_error(error, "undecodable", 422)
    assert "too long" in error.message


@needs_ffmpeg
@pytest.mark.skipif(not audio.SOUNDFILE_MP3, reason="this libsndfile does not read MP3")
def test_mp3_decodes_in_process_as_ffmpeg_decodes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """libsndfile's MP3 (no ffmpeg child) gives ffmpeg's clip, and a cut MP3 keeps what it holds."""
    mp3 = encode(speech_wav("yes", 48000), tmp_path, "yes.mp3", "-c:a", "libmp3lame")
    in_process = ingest(mp3, filename="yes.mp3")
    assert ingest(mp3[: len(mp3) * 3 // 4], filename="yes.mp3").quality.duration_ms < \
        in_process.quality.duration_ms
    monkeypatch.setattr(audio, "SOUNDFILE_MP3", False)
    by_ffmpeg = ingest(mp3, filename="yes.mp3")
    assert in_process.quality.duration_ms == by_ffmpeg.quality.duration_ms
    ours, theirs = (sf.read(io.BytesIO(clip.canonical_wav), dtype="int16")[0]
                    for clip in (in_process, by_ffmpeg))
    assert np.abs(ours.astype(int) - theirs).max() <= 1  # one least significant bit of rounding


# --- duration, rate, samples --------------------------------------------------------------------------------

def test_sixty_second_recording_is_too_long() -> None:
    assert_error(rejected(noise_wav(60.0)), "too_long", 422)


def test_too_long_is_decided_from_the_header_before_decoding() -> None:
    wav = bytearray(speech_wav("yes", 16000))
    data_at = wav.index(b"data")
    struct.pack_into("<I", wav, data_at + 4, 0xFFFFFFFF)
    # a streamed header with 20 s of audio behind it: the frame count alone decides
    assert_error(rejected(bytes(wav) + bytes(20 * 32000)), "too_long", 422)


@needs_ffmpeg
def test_long_mp3_is_too_long(tmp_path: Path) -> None:
    mp3 = encode(noise_wav(17.0, level=0.05), tmp_path, "long.mp3", "-c:a", "libmp3lame")
    assert_error(rejected(mp3, mimetype="audio/mpeg"), "too_long", 422)


def test_tenth_of_a_second_is_too_short() -> None:
    assert_error(rejected(tone_wav(0.1)), "too_short", 422)


def test_limits_are_taken_from_the_caller() -> None:
    wav = speech_wav("yes")  # 1.27 s
    assert_error(rejected(wav, limits=IngestLimits(max_seconds=1.0)), "too_long", 422)
    assert_error(rejected(wav, limits=IngestLimits(min_seconds=2.0)), "too_short", 422)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_float_samples_are_invalid(bad: float) -> None:
    samples = espeak_samples("yes", 16000)
    samples[9000] = bad
    assert_error(rejected(wav_bytes(samples, 16000, "FLOAT")), "invalid_samples", 422)


@pytest.mark.parametrize("rate", [4000, 96000])
def test_sample_rate_outside_8_to_48_khz_is_rejected(rate: int) -> None:
    assert_error(rejected(speech_wav("yes", rate)), "unsupported_sample_rate", 422)


# --- accepted formats ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate, channels, subtype", [
    (48000, 1, "PCM_16"), (8000, 1, "PCM_16"), (44100, 2, "PCM_16"), (16000, 1, "PCM_U8"),
    (22050, 1, "PCM_24"), (48000, 2, "FLOAT"), (32000, 1, "PCM_32"), (12000, 1, "DOUBLE"),
])
def test_wav_variants_become_the_canonical_clip(rate: int, channels: int, subtype: str) -> None:
    wav = speech_wav("yes", rate, channels=channels, subtype=subtype)
    clip = ingest(wav, filename="yes.wav", mimetype="audio/wav")
    samples = assert_canonical(clip)
    quality = clip.quality
    assert (quality.sample_rate_hz, quality.channels, clip.original_format) == (rate, channels, "wav")
    assert abs(quality.duration_ms - 1270) < 5
    assert 250 <= quality.speech_ms <= 600 and quality.speech_segments == 1
    assert clip.verdict == "accept" and clip.flags == []
    assert np.abs(samples).max() > 20000  # the word is there, at its own level
    assert clip.original == wav


CODECS = {
    "flac": ("yes.flac", "audio/flac", ("-c:a", "flac")),
    "ogg-opus": ("yes.opus", "audio/ogg; codecs=opus", ("-c:a", "libopus", "-f", "ogg")),
    "ogg-vorbis": ("yes.ogg", "audio/ogg", ("-c:a", "libvorbis")),
    "webm": ("yes.webm", "audio/webm;codecs=opus", ("-c:a", "libopus")),
    "mp3": ("yes.mp3", "audio/mpeg", ("-c:a", "libmp3lame")),
    "m4a": ("yes.m4a", "audio/mp4", ("-c:a", "aac")),
}


@needs_ffmpeg
@pytest.mark.parametrize("kind", list(CODECS))
def test_compressed_formats_become_the_canonical_clip(kind: str, tmp_path: Path) -> None:
    name, mimetype, codec = CODECS[kind]
    data = encode(speech_wav("yes", 48000, amplitude=100), tmp_path, name, *codec)
    clip = ingest(data, filename=name, mimetype=mimetype)
    assert_canonical(clip)
    assert clip.original_format == {"ogg-opus": "ogg", "ogg-vorbis": "ogg"}.get(kind, kind)
    assert abs(clip.quality.duration_ms - 1270) < 80  # codecs add priming samples
    assert clip.quality.speech_ms >= 250 and clip.verdict == "accept", clip.flags


def test_sixteen_khz_pcm16_second_passes_through_unchanged() -> None:
    samples = espeak_samples("no", 16000)[:16000]
    pcm = np.clip(np.rint(samples * 32768), -32768, 32767).astype("<i2")
    wav = io.BytesIO()
    sf.write(wav, pcm, 16000, subtype="PCM_16", format="WAV")
    canonical = assert_canonical(ingest(wav.getvalue()))
    assert np.array_equal(canonical, pcm)


def test_short_upload_is_centred_in_padding() -> None:
    samples = np.full(9600, 0.01, dtype=np.float32)  # 0.6 s of a faint constant under the word
    samples[2400:2400 + 4800] += espeak_samples("yes", 16000)[4000:8800]
    canonical = assert_canonical(ingest(wav_bytes(samples, 16000)))
    occupied = np.flatnonzero(canonical)
    assert (occupied[0], occupied[-1]) == (3200, 3200 + 9600 - 1)


def test_canonical_window_holds_the_loudest_second_of_a_long_upload() -> None:
    rng = np.random.default_rng(5)
    word = espeak_samples("seven", 16000)
    upload = rng.normal(0, 0.002, 16000 * 4).astype(np.float32)
    upload[16000 * 2:16000 * 2 + len(word)] += word  # the word starts 2 s in
    clip = ingest(wav_bytes(upload, 16000))
    canonical = assert_canonical(clip).astype(np.float64) / 32768
    # the loudest 1 s region of the input, found by brute force every 10 ms
    energies = [np.abs(upload[s:s + 16000]).sum() for s in range(0, len(upload) - 16000 + 1, 160)]
    assert np.abs(canonical).sum() >= 0.99 * max(energies)
    word_energy = np.square(word).sum()
    assert np.square(canonical).sum() >= 0.99 * word_energy
    assert not clip.quality.speech_at_edge and clip.verdict == "accept"


def test_identical_uploads_share_a_checksum_and_different_ones_do_not() -> None:
    first, again = ingest(speech_wav("yes", seed=1)), ingest(speech_wav("yes", seed=1))
    other = ingest(speech_wav("yes", seed=2))
    assert first.sha256 == again.sha256 != other.sha256
    assert first.canonical_wav == again.canonical_wav


def test_quality_is_json_safe_even_over_digital_silence() -> None:
    samples = np.concatenate([np.zeros(8000), espeak_samples("yes", 16000), np.zeros(8000)])
    as_dict = ingest(wav_bytes(samples, 16000)).quality.as_dict()
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert set(as_dict) == {
        "duration_ms", "sample_rate_hz", "channels", "peak_dbfs", "rms_dbfs", "clipped_fraction", "dc_offset",
        "snr_db", "speech_ms", "speech_segments", "speech_at_edge", "silent_fraction"}


# --- silence and non-speech --------------------------------------------------------------------------------

def test_digital_silence_is_silent() -> None:
    assert_error(rejected(silence_wav(1.0)), "silent", 422)


def test_low_level_noise_only_is_silent() -> None:
    assert_error(rejected(noise_wav(1.5, level=0.002)), "silent", 422)  # peak about -46 dBFS


def test_a_single_click_in_silence_is_silent() -> None:
    samples = np.zeros(16000, dtype=np.float32)
    samples[8000:8003] = [0.8, -0.8, 0.4]
    assert_error(rejected(wav_bytes(samples, 16000)), "silent", 422)


def test_loud_tone_is_no_speech() -> None:
    assert_error(rejected(tone_wav(1.0, rate=48000)), "no_speech", 422)


def test_loud_noise_is_no_speech() -> None:
    assert_error(rejected(noise_wav(1.0, level=0.1)), "no_speech", 422)

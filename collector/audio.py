"""Recognise and decode uploads: container sniffing, declared-type checks, soundfile and ffmpeg decoding."""

from __future__ import annotations

import io
import mimetypes
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import soundfile as sf

from collector.errors import shorten
from collector.settings import setting_default

FORMATS = ("wav", "flac", "ogg", "webm", "mp3", "m4a")
FORMAT_NAMES = {"wav": "WAV", "flac": "FLAC", "ogg": "Ogg", "webm": "WebM", "mp3": "MP3", "m4a": "M4A/MP4"}
MIN_SAMPLE_RATE_HZ = 8000
MAX_SAMPLE_RATE_HZ = 48000
# A recording has at most 7.1 surround; a header claiming more (Vorbis and Opus allow 255) is refused
# before decoding, since decoded memory grows with channels × rate × duration.
MAX_CHANNELS = 8
# libsndfile formats are decoded this many frames at a time, so memory follows the audio that is really
# there (and stops at the duration limit), never a frame count a header claims.
DECODE_BLOCK_FRAMES = 1 << 16
# A hostile file must not hold a worker: ffmpeg is killed after this long.
FFMPEG_TIMEOUT_S = 10.0
# Compressed formats go through ffmpeg with a forced demuxer (never its own guess).
FFMPEG_DEMUXERS = {"webm": "matroska", "mp3": "mp3", "m4a": "mov"}
# ... except MP3 where libsndfile reads it (1.1+, through mpg123): in-process and block by block, it costs
# 2 ms of CPU a clip where an ffmpeg child costs 170 (a Common Voice import is all MP3; RESULTS.md)
SOUNDFILE_MP3 = "MP3" in sf.available_formats()
# ffmpeg decodes a frame of every stream while probing, a 16000×16000 PNG "video" included (~1 GB):
# the smallest probe reads only the container headers, which name the audio codec for every accepted
# format; the selected audio stream alone is decoded afterwards.
FFMPEG_PROBE_BYTES = 32
# Address space of the ffmpeg child (RLIMIT_AS through util-linux prlimit, set before exec): Debian's
# ffmpeg maps 260–380 MB of shared libraries and decodes an accepted upload in ~55 MB resident.
FFMPEG_MAX_ADDRESS_SPACE_BYTES = 768 * 1024 * 1024

MIME_FORMATS = {
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/x-pn-wav": "wav",
    "audio/flac": "flac", "audio/x-flac": "flac",
    "audio/ogg": "ogg", "application/ogg": "ogg", "audio/opus": "ogg", "audio/vorbis": "ogg",
    "audio/x-opus+ogg": "ogg", "audio/x-vorbis+ogg": "ogg",
    "audio/webm": "webm", "video/webm": "webm", "audio/x-matroska": "webm", "video/x-matroska": "webm",
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mpeg3": "mp3", "audio/x-mpeg-3": "mp3",
    "audio/x-mp3": "mp3", "audio/x-mpeg": "mp3",
    # Safari records audio/mp4; Android apps often label the same M4A files audio/aac.
    "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/m4a": "m4a", "video/mp4": "m4a", "audio/aac": "m4a",
    "audio/x-aac": "m4a", "video/quicktime": "m4a",
}
EXTENSION_FORMATS = {
    ".wav": "wav", ".wave": "wav", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg", ".opus": "ogg",
    ".webm": "webm", ".weba": "webm", ".mka": "webm", ".mkv": "webm", ".mp3": "mp3",
    ".m4a": "m4a", ".mp4": "m4a", ".aac": "m4a", ".mov": "m4a",
}
# Types that say "some bytes" and so name no format.
GENERIC_MIME_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
# ISO base-media brands of still images, which share the `ftyp` box with M4A.
IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
_BUILTIN_TYPES = mimetypes.MimeTypes()  # Python's own table, not the host's /etc/mime.types
_STREAMING_SIZES = (0, 0xFFFFFFFF)  # data sizes written by recorders that could not seek back
# Real WAV files hold a handful of chunks (fmt, fact, LIST, bext, data); a file of thousands of empty
# chunks would only cost time to walk.
MAX_WAV_CHUNKS = 64


class IngestError(Exception):
    """An upload that cannot become a clip: a snake_case code, a sentence for a person, an HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"IngestError({self.code!r}, {self.message!r}, {self.status})"


@dataclass(frozen=True)
class IngestLimits:
    """Size and duration bounds of an upload; the defaults are those of the settings, never a copy."""

    max_bytes: int = int(setting_default("MAX_UPLOAD_BYTES"))
    min_seconds: float = float(setting_default("MIN_CLIP_SECONDS"))
    max_seconds: float = float(setting_default("MAX_CLIP_SECONDS"))

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> IngestLimits:
        """Return the bounds an app's settings (MAX_UPLOAD_BYTES, MIN/MAX_CLIP_SECONDS) give."""
        return cls(max_bytes=settings["MAX_UPLOAD_BYTES"], min_seconds=settings["MIN_CLIP_SECONDS"],
                   max_seconds=settings["MAX_CLIP_SECONDS"])


DEFAULT_LIMITS = IngestLimits()  # frozen, so one shared default argument is safe


@dataclass(frozen=True)
class DecodedAudio:
    """Samples of an upload as float32 frames × channels at the upload's own rate."""

    samples: np.ndarray
    sample_rate_hz: int

    @property
    def channels(self) -> int:
        """Return the number of channels."""
        return int(self.samples.shape[1])

    @property
    def duration_ms(self) -> int:
        """Return the duration in whole milliseconds."""
        return round(len(self.samples) * 1000 / self.sample_rate_hz)


def undecodable(detail: str) -> IngestError:
    """Return the error for content that looks like audio but does not decode."""
    return IngestError("undecodable", f"The audio could not be decoded: {detail}.", 422)


def stream_error(sample_rate_hz: int, seconds: float, limits: IngestLimits) -> IngestError | None:
    """Return the error for a sample rate or duration out of bounds, else None."""
    if not MIN_SAMPLE_RATE_HZ <= sample_rate_hz <= MAX_SAMPLE_RATE_HZ:
        return IngestError(
            "unsupported_sample_rate",
            f"The sample rate is {sample_rate_hz} Hz; it must be between {MIN_SAMPLE_RATE_HZ} and "
            f"{MAX_SAMPLE_RATE_HZ} Hz.", 422)
    if seconds < limits.min_seconds:
        return IngestError("too_short", f"The recording is {seconds:.2f} s long; it must last at least "
                           f"{limits.min_seconds:g} s.", 422)
    if seconds > limits.max_seconds:
        return too_long(limits)
    return None


def too_long(limits: IngestLimits) -> IngestError:
    """Return the error for a recording past the duration limit."""
    return IngestError("too_long", f"The recording is longer than {limits.max_seconds:g} s; please keep it "
                       "shorter.", 422)


def _is_mpeg_frame(head: bytes) -> bool:
    """Tell whether bytes start with a plausible MPEG audio frame header (layer I–III, not ADTS)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def sniff_format(data: bytes) -> str | None:
    """Return the container format named by the magic bytes, or None when it is no known audio."""
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp" and head[8:12] not in IMAGE_BRANDS:
        return "m4a"
    if head[:3] == b"ID3" or _is_mpeg_frame(head):
        return "mp3"
    return None


def _mime_names(mimetype: str | None) -> str | None:
    """Return the format a MIME type names, "" for a non-audio type, None when it names nothing."""
    base = (mimetype or "").split(";", 1)[0].strip().lower()
    if base in GENERIC_MIME_TYPES:
        return None
    return MIME_FORMATS.get(base, "")


def _extension_names(filename: str | None) -> tuple[str, str | None]:
    """Return (extension, format it names): "" for a known other type, None when it names nothing."""
    extension = os.path.splitext(filename or "")[1].lower()
    if not extension:
        return "", None
    if extension in EXTENSION_FORMATS:
        return extension, EXTENSION_FORMATS[extension]
    # A known type of something else (.png, .txt) is a claim; an unknown extension (.tmp, .blob) is not.
    return extension, "" if _BUILTIN_TYPES.guess_type("x" + extension)[0] else None


def check_declared(fmt: str, filename: str | None, mimetype: str | None) -> None:
    """Raise type_mismatch when the declared MIME type or file extension names another format."""
    content = FORMAT_NAMES[fmt]
    named = _mime_names(mimetype)
    if named is not None and named != fmt:
        base = shorten((mimetype or "").split(";", 1)[0].strip())
        raise IngestError(
            "type_mismatch", f"The upload was sent as {base} but its content is {content} audio.", 415)
    extension, named = _extension_names(filename)
    if named is not None and named != fmt:
        raise IngestError("type_mismatch",
                          f"The file is named {shorten(extension)} but its content is {content} audio.", 415)


def check_wav_chunks(data: bytes) -> None:
    """Raise undecodable when the RIFF chunks are cut short or claim more audio than arrived."""
    offset = 12
    for _ in range(MAX_WAV_CHUNKS):
        if offset + 8 > len(data):
            break
        chunk, size = struct.unpack_from("<4sI", data, offset)
        if chunk == b"data":
            available = len(data) - offset - 8
            if size not in _STREAMING_SIZES and size > available:
                raise undecodable(f"the WAV header promises {size} bytes of audio but only {available} "
                                  "arrived")
            return
        offset += 8 + size + (size & 1)
    raise undecodable("no audio data chunk was found in the WAV file")


def channels_error(channels: int) -> IngestError | None:
    """Return the error for more channels than a recording has (or none at all), else None."""
    if 1 <= channels <= MAX_CHANNELS:
        return None
    return IngestError("too_many_channels", f"The audio has {channels} channels; a recording has 1 to "
                       f"{MAX_CHANNELS}.", 422)


def _read_blocks(stream: sf.SoundFile, limits: IngestLimits) -> np.ndarray:
    """Read frames × channels float32 block by block, raising too_long past the duration limit."""
    max_frames = int(limits.max_seconds * stream.samplerate)
    blocks: list[np.ndarray] = []
    total = 0
    while True:
        block = stream.read(DECODE_BLOCK_FRAMES, dtype="float32", always_2d=True)
        if not len(block):
            break
        total += len(block)
        if total > max_frames:
            raise too_long(limits)
        blocks.append(block)
    if not blocks:
        return np.zeros((0, stream.channels), dtype=np.float32)
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]


def _decode_soundfile(data: bytes, fmt: str, limits: IngestLimits) -> DecodedAudio:
    """Decode WAV, FLAC or Ogg with libsndfile, checking channels, rate and duration from the header first."""
    if fmt == "wav":
        check_wav_chunks(data)
    try:
        with sf.SoundFile(io.BytesIO(data)) as stream:
            rate, frames = stream.samplerate, stream.frames
            error = channels_error(stream.channels) or stream_error(rate, frames / rate if rate else 0.0,
                                                                    limits)
            if error:
                raise error
            samples = _read_blocks(stream, limits)
    except (sf.SoundFileError, RuntimeError) as exc:
        raise undecodable(f"{FORMAT_NAMES[fmt]} data is damaged") from exc
    # MP3 has no frame count, only mpg123's estimate (encoder delay and padding included): a short MP3
    # decodes to what it holds, as with ffmpeg
    if len(samples) < frames and fmt != "mp3":
        raise undecodable(f"the {FORMAT_NAMES[fmt]} stream ends early (truncated upload?)")
    return DecodedAudio(samples, rate)


def _ffmpeg_command(binary: str, fmt: str, path: str, limits: IngestLimits) -> list[str]:
    """Build an ffmpeg call that reads one local file with a forced demuxer and writes bounded float WAV."""
    seconds = limits.max_seconds + 1.0
    max_bytes = int(seconds * MAX_SAMPLE_RATE_HZ * MAX_CHANNELS * 4) + 4096
    prlimit = shutil.which("prlimit")
    limit = [prlimit, f"--as={FFMPEG_MAX_ADDRESS_SPACE_BYTES}", "--"] if prlimit else []
    return [
        *limit, binary, "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
        "-protocol_whitelist", "file", "-probesize", str(FFMPEG_PROBE_BYTES), "-analyzeduration", "0",
        "-vn", "-sn", "-dn", "-f", FFMPEG_DEMUXERS[fmt], "-i", path,
        "-map", "0:a:0", "-vn", "-t", f"{seconds:g}", "-fs", str(max_bytes),
        "-c:a", "pcm_f32le", "-f", "wav", "pipe:1",
    ]


def _decode_ffmpeg(data: bytes, fmt: str, limits: IngestLimits) -> DecodedAudio:
    """Decode WebM, MP3 or M4A with ffmpeg under a timeout; check rate and duration of what came out."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise IngestError("unsupported_media_type", f"This server cannot decode {FORMAT_NAMES[fmt]}; please "
                          "send WAV, FLAC or Ogg.", 415)
    # A file, not a pipe: MP4 keeps its index (moov) at the end, which a pipe cannot seek to.
    with tempfile.NamedTemporaryFile(suffix="." + fmt) as source:
        source.write(data)
        source.flush()
        try:
            result = subprocess.run(_ffmpeg_command(binary, fmt, source.name, limits),
                                    capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise undecodable(f"decoding the {FORMAT_NAMES[fmt]} file took too long") from exc
    if result.returncode != 0 or len(result.stdout) <= 44:
        raise undecodable(f"the {FORMAT_NAMES[fmt]} file is damaged or holds no audio")
    try:
        samples, rate = sf.read(io.BytesIO(result.stdout), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as exc:
        raise undecodable(f"the {FORMAT_NAMES[fmt]} file decoded to nothing usable") from exc
    error = channels_error(samples.shape[1]) or stream_error(rate, len(samples) / rate, limits)
    if error:
        raise error
    return DecodedAudio(samples, rate)


def decode(data: bytes, fmt: str, limits: IngestLimits) -> DecodedAudio:
    """Decode an upload of a sniffed format, rejecting bad rates and durations as early as possible."""
    if fmt in FFMPEG_DEMUXERS and not (fmt == "mp3" and SOUNDFILE_MP3):
        return _decode_ffmpeg(data, fmt, limits)
    return _decode_soundfile(data, fmt, limits)

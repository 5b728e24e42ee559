"""Hostile uploads for tests and benchmarks: small files that claim or hide a lot of memory."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf
from speech import speech_wav

PNG_SIDE = 16000  # 16000 × 16000 grey pixels: 256 MB once decoded, ~1 MB compressed


def channel_bomb(seconds: float = 3.0, channels: int = 255, rate_hz: int = 48000) -> bytes:
    """An Ogg Vorbis of silence with (by default) 255 channels: a few KB that decode to ~150 MB a second."""
    data = io.BytesIO()
    block = np.zeros((rate_hz // 4, channels), dtype=np.float32)
    with sf.SoundFile(data, "w", samplerate=rate_hz, channels=channels, format="OGG",
                      subtype="VORBIS") as out:
        for _ in range(round(seconds * 4)):
            out.write(block)
    return data.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def huge_png(side: int = PNG_SIDE) -> bytes:
    """A black 8-bit greyscale PNG of side × side pixels (deflate keeps it near 1 MB)."""
    rows = (b"\x00" * (side + 1)) * 100  # filter byte + pixels, 100 rows at a time
    packer = zlib.compressobj(1)
    idat = b"".join(packer.compress(rows) for _ in range(side // 100)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    chunks = _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def webm_with_huge_frame(workdir: Path) -> bytes:
    """A Matroska (WebM magic) file: one spoken "yes" in Opus and a 16000 × 16000 PNG video frame."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is not installed")
    picture, voice, target = workdir / "frame.png", workdir / "yes.wav", workdir / "hostile.webm"
    picture.write_bytes(huge_png())
    voice.write_bytes(speech_wav("yes", 48000))
    subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "png_pipe", "-i", str(picture),
                    "-i", str(voice), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "libopus",
                    "-f", "matroska", str(target)], check=True, timeout=120)
    return target.read_bytes()

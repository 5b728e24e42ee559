"""Hostile uploads: decoding is bounded in memory before and while it runs (libsndfile and ffmpeg)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hostile_media import channel_bomb, webm_with_huge_frame
from speech import wav_bytes

from collector import audio
from collector.ingest import IngestError, ingest

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
# ffmpeg decoding a second of Opus takes ~55 MB resident here; the PNG frame alone would add 256 MB
FFMPEG_RSS_BOUND = 150 * MB


def rejected(data: bytes, **kwargs: object) -> IngestError:
    """Ingest an upload that must fail and return its error."""
    with pytest.raises(IngestError) as caught:
        ingest(data, **kwargs)
    return caught.value


@pytest.fixture(scope="module")
def hostile_webm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WebM holding one spoken word and a 16000 × 16000 PNG video frame, written once per module."""
    workdir = tmp_path_factory.mktemp("hostile")
    path = workdir / "upload.webm"
    path.write_bytes(webm_with_huge_frame(workdir))
    return path


def ingest_in_child(path: Path, **constants: int) -> dict:
    """Ingest a file in a fresh interpreter with audio constants overridden; return verdict and child RSS."""
    code = (
        "import json, resource, sys\n"
        "from collector import audio\n"
        "from collector.ingest import IngestError, ingest\n"
        f"for name, value in {constants!r}.items(): setattr(audio, name, value)\n"
        "try:\n"
        "    verdict = ingest(open(sys.argv[1], 'rb').read(), 'take.webm', 'audio/webm').verdict\n"
        "except IngestError as exc:\n"
        "    verdict = exc.code\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "print(json.dumps({'verdict': verdict, 'child_rss': rss}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=True)
    return json.loads(result.stdout)


def test_255_channel_vorbis_is_refused_from_its_header() -> None:
    error = rejected(channel_bomb(seconds=0.5), filename="take.ogg", mimetype="audio/ogg")
    assert (error.code, error.status) == ("too_many_channels", 422)
    assert "255 channels" in error.message


def test_nine_channel_wav_is_refused_and_eight_are_decoded() -> None:
    speech = np.random.default_rng(0).normal(0, 0.01, (16000, 9)).astype(np.float32)
    error = rejected(wav_bytes(speech, 16000))
    assert error.code == "too_many_channels"
    decoded = audio.decode(wav_bytes(speech[:, :8], 16000), "wav", audio.DEFAULT_LIMITS)
    assert decoded.channels == 8


def test_blocks_stop_at_the_duration_limit_whatever_the_header_says() -> None:
    """A streamed WAV (data size unknown) longer than the limit stops decoding at the limit."""
    wav = bytearray(wav_bytes(np.zeros((16000 * 3, 1), dtype=np.float32), 16000))
    wav[40:44] = b"\xff\xff\xff\xff"  # a recorder that could not seek back to write the size
    limits = audio.IngestLimits(max_seconds=2.0)
    with pytest.raises(IngestError) as caught:
        audio.decode(bytes(wav), "wav", limits)
    assert caught.value.code == "too_long"


def test_ffmpeg_probe_does_not_decode_a_video_frame(hostile_webm: Path) -> None:
    """Only the mapped audio stream is decoded: the 256 MB picture never is, not even while probing."""
    outcome = ingest_in_child(hostile_webm)
    assert outcome["verdict"] in ("accept", "review"), outcome
    assert outcome["child_rss"] < FFMPEG_RSS_BOUND, outcome


def test_ffmpeg_runs_under_an_address_space_limit(hostile_webm: Path) -> None:
    """Were the probe to decode the frame anyway, the child's RLIMIT_AS stops the allocation."""
    outcome = ingest_in_child(hostile_webm, FFMPEG_PROBE_BYTES=5 * MB,
                              FFMPEG_MAX_ADDRESS_SPACE_BYTES=400 * MB)
    assert outcome["child_rss"] < FFMPEG_RSS_BOUND, outcome

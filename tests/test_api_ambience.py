"""Auxiliary words and room ambience through the API (SQLite and PostgreSQL), and ingest_ambience itself."""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from api_helpers import (
    SLUG,
    assert_error,
    assert_nothing_stored,
    blob_keys,
    contributor,
    upload,
    uploaded,
)
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from collector.audio import IngestError
from collector.blobs import get_blob_store
from collector.campaigns import create_campaign
from collector.db import get_session
from collector.ingest import AMBIENCE_IMPORT_MAX_SECONDS, ambience_limits, ingest_ambience
from collector.models import AMBIENCE_WORD, Clip
from tests.speech import room_samples, room_wav, wav_bytes

AUXILIARY = ("bird", "house")


@pytest.fixture
def campaign(app):
    with app.app_context():
        create_campaign(get_session(), SLUG, ["yes", "no"], title="Test", auxiliary_words=list(AUXILIARY),
                        ambience=True)
    return SLUG


def upload_room(client, auth, audio: bytes, filename: str = "room.wav"):
    """Upload room sound; the body is encoded in memory (the test client spools large bodies to a temp
    file it never closes, a ResourceWarning)."""
    fields = {"keyword": AMBIENCE_WORD, "audio": FileStorage(io.BytesIO(audio), filename)}
    boundary, body = encode_multipart(fields)
    return client.post(f"/api/v1/campaigns/{SLUG}/clips", headers=auth, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_campaign_list_and_stats_keep_keywords_apart_from_auxiliary_words_and_ambience(client, campaign):
    listed = client.get("/api/v1/campaigns").json["campaigns"][0]
    assert listed["keywords"] == ["yes", "no"] and listed["auxiliary_words"] == list(AUXILIARY)
    assert listed["ambience"] is True
    auth = contributor(client)
    uploaded(client, auth, "bird", seed=1)
    uploaded(client, auth, "yes", seed=2)
    assert upload_room(client, auth, room_wav(12)).status_code == 201
    stats = client.get(f"/api/v1/campaigns/{SLUG}/stats").json
    assert [(k["keyword"], k["clips"]) for k in stats["keywords"]] == [("yes", 1), ("no", 0)]
    assert [(k["keyword"], k["clips"]) for k in stats["auxiliary_words"]] == [("bird", 1), ("house", 0)]
    assert stats["ambience"]["keyword"] == AMBIENCE_WORD and stats["ambience"]["clips"] == 1
    assert stats["clips"] == 3 and stats["speakers"] == 1


def test_prompts_mix_auxiliary_words_in_by_need_and_never_ask_for_ambience(client, campaign):
    auth = contributor(client)
    for seed, word in enumerate(("yes", "no", "bird")):
        uploaded(client, auth, word, seed=seed)
    prompts = client.get(f"/api/v1/campaigns/{SLUG}/prompts?count=4", headers=contributor(client)).json
    assert prompts["prompts"][0] == {"keyword": "house", "kind": "auxiliary"}
    words = [p["keyword"] for p in prompts["prompts"]]
    assert sorted(words) == ["bird", "house", "no", "yes"] and AMBIENCE_WORD not in words


def test_ambience_is_stored_whole_as_16_khz_mono_with_its_metrics(app, client, campaign):
    auth = contributor(client)
    answer = upload_room(client, auth, room_wav(15, rate=48000, channels=2))
    assert answer.status_code == 201, answer.json
    assert answer.json["verdict"] == "accept" and answer.json["flags"] == []
    quality = answer.json["quality"]
    assert quality["duration_ms"] == 15000 and quality["channels"] == 2 and quality["speech_ms"] < 250
    assert -50 < quality["rms_dbfs"] < -30
    with app.app_context():
        clip = get_session().scalar(select(Clip).where(Clip.public_id == answer.json["clip_id"]))
        assert clip.keyword.kind == "ambience"
        samples, rate = sf.read(io.BytesIO(get_blob_store().get(clip.canonical_key)), dtype="int16")
    assert rate == 16000 and samples.ndim == 1 and len(samples) == 15 * 16000
    mine = client.get("/api/v1/contributors/me/clips", headers=auth).json["clips"]
    assert [(c["keyword"], c["kind"]) for c in mine] == [(AMBIENCE_WORD, "ambience")]
    audio = client.get(f"/api/v1/clips/{answer.json['clip_id']}/audio", headers=auth)
    assert audio.status_code == 200 and len(audio.data) == 44 + 2 * 15 * 16000


def test_speech_in_ambience_is_accepted_for_review(client, campaign):
    answer = upload_room(client, contributor(client), room_wav(15, words=("stop",)))
    assert answer.status_code == 201, answer.json
    assert answer.json["verdict"] == "review" and answer.json["flags"] == ["speech_in_ambience"]


@pytest.mark.parametrize(("audio", "code"), [
    (room_wav(5), "too_short"),
    (room_wav(31, rate=16000), "too_long"),
    (wav_bytes(np.zeros(16000 * 12), 16000), "silent"),
])
def test_unusable_ambience_is_422_and_nothing_is_stored(app, client, campaign, audio, code):
    assert_error(upload_room(client, contributor(client), audio), 422, code)
    assert_nothing_stored(app)


def test_30_s_of_48_khz_24_bit_stereo_wav_fits_the_upload_limit(client, campaign):
    audio = room_wav(30, rate=48000, channels=2, subtype="PCM_24")
    assert len(audio) > 8_000_000
    answer = upload_room(client, contributor(client), audio)
    assert answer.status_code == 201, answer.json
    assert answer.json["quality"]["duration_ms"] == 30000


def test_ambience_only_where_the_campaign_asks_for_it(app, client):
    with app.app_context():
        create_campaign(get_session(), SLUG, ["yes", "no"], title="Test")
    answer = upload_room(client, contributor(client), room_wav(12))
    assert_error(answer, 400, "unknown_keyword")
    assert AMBIENCE_WORD not in answer.json["error"]["message"] and not blob_keys(app)
    assert client.get("/api/v1/campaigns").json["campaigns"][0]["ambience"] is False


def test_a_word_upload_is_judged_as_a_word_not_as_ambience(client, campaign):
    """Room sound sent as an auxiliary word is a word with no speech (422), not ambience."""
    answer = upload(client, contributor(client), "bird", audio=room_wav(12, rate=16000))
    assert_error(answer, 422, "no_speech")


def _encoded(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    if fmt in ("flac", "ogg"):
        buffer = io.BytesIO()
        sf.write(buffer, samples, rate, format=fmt.upper())
        return buffer.getvalue()
    result = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "wav", "-i", "pipe:0",
                             "-c:a", "libopus", "-f", "webm", "pipe:1"], input=wav_bytes(samples, rate),
                            capture_output=True, check=True, timeout=60)
    return result.stdout


@pytest.mark.parametrize("fmt", ["flac", "ogg", "webm"])
def test_ingest_ambience_decodes_every_accepted_format(fmt):
    if fmt == "webm" and shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    made = ingest_ambience(_encoded(room_samples(11, 48000, seed=3), 48000, fmt), f"room.{fmt}")
    assert made.original_format == fmt and abs(made.quality.duration_ms - 11000) < 100
    samples, rate = sf.read(io.BytesIO(made.canonical_wav), dtype="int16")
    assert rate == 16000 and abs(len(samples) - 11 * 16000) < 1600


def test_long_imports_pass_a_longer_limit_up_to_the_documented_maximum():
    long_room = room_wav(45, rate=16000)
    with pytest.raises(IngestError) as refused:
        ingest_ambience(long_room)
    assert refused.value.code == "too_long"
    made = ingest_ambience(long_room, limits=ambience_limits(max_bytes=len(long_room), max_seconds=60))
    assert made.quality.duration_ms == 45000 and len(made.canonical_wav) == 44 + 2 * 45 * 16000
    with pytest.raises(ValueError, match="at most"):
        ambience_limits(max_seconds=AMBIENCE_IMPORT_MAX_SECONDS + 1)


def test_listen_queue_offers_auxiliary_words_and_leaves_ambience_to_curators(client, campaign):
    recorder = contributor(client)
    uploaded(client, recorder, "house", seed=4)
    assert upload_room(client, recorder, room_wav(12)).status_code == 201
    queue = client.get(f"/api/v1/campaigns/{SLUG}/review", headers=contributor(client)).json["clips"]
    assert [(c["keyword"], c["kind"]) for c in queue] == [("house", "auxiliary")]

"""API v1 uploads: the happy path, every bad input (nothing stored), all-or-nothing storage, orphan sweep."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import soundfile as sf
from api_helpers import (
    SLUG,
    assert_error,
    assert_nothing_stored,
    blob_keys,
    consent,
    contributor,
    count,
    enrol,
    make_campaign,
    recording,
    upload,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from collector.blobs import get_blob_store
from collector.campaigns import get_campaign
from collector.clips import clip_id_time, store_clip, sweep_orphans
from collector.db import get_engine, get_session
from collector.errors import ApiError
from collector.ingest import ingest
from collector.models import Clip, Consent, Contributor
from tests.conftest import make_test_app
from tests.speech import noise_wav, silence_wav, speech_wav, tone_wav

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def campaign(app):
    make_campaign(app)
    return SLUG


def test_upload_stores_the_row_and_both_blobs(app, client, campaign):
    auth = contributor(client)
    answer = upload(client, auth, "no", seed=7)
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["status"] == "pending" and body["verdict"] in ("accept", "review")
    assert isinstance(body["flags"], list) and body["quality"]["sample_rate_hz"] == 48000
    clip_id = body["clip_id"]
    assert blob_keys(app) == [f"clips/{SLUG}/{clip_id}.wav", f"originals/{SLUG}/{clip_id}.wav"]
    with app.app_context():
        clip = get_session().scalar(select(Clip).where(Clip.public_id == clip_id))
        assert clip.keyword.word == "no" and clip.consent.active and clip.source == "web"
        assert clip.sha256 and clip.original_bytes == len(recording("no", 7))
        assert get_blob_store().get(clip.original_key) == recording("no", 7)
    audio = client.get(f"/api/v1/clips/{clip_id}/audio", headers=auth)
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    samples, rate = sf.read(io.BytesIO(audio.data), dtype="int16")
    assert rate == 16000 and samples.shape == (16000,)


def test_clip_is_tied_to_the_consent_in_force(app, client, campaign):
    auth = contributor(client)
    first = upload(client, auth, "yes", seed=1).json["clip_id"]
    newer = consent(client, auth, license="CC-BY-4.0").json["consent_id"]
    second = upload(client, auth, "yes", seed=2).json["clip_id"]
    with app.app_context():
        session = get_session()
        licences = {clip.public_id: (clip.consent.public_id, clip.consent.license)
                    for clip in session.scalars(select(Clip))}
    assert licences[second] == (newer, "CC-BY-4.0") and licences[first][1] == "CC0-1.0"


def test_missing_token_stores_nothing(app, client, campaign):
    assert_error(upload(client, {}), 401, "unauthorized")
    assert_nothing_stored(app)


def test_forged_token_stores_nothing(app, client, campaign):
    assert_error(upload(client, {"Authorization": "Bearer forged-token"}), 401, "invalid_token")
    assert_nothing_stored(app)


def test_upload_before_consent_is_403(app, client, campaign):
    assert_error(upload(client, enrol(client)), 403, "consent_required")
    assert_nothing_stored(app)


def test_upload_after_consent_to_another_campaign_is_403(app, client, campaign):
    make_campaign(app, "other")
    auth = contributor(client, "other")
    assert_error(upload(client, auth), 403, "consent_required")
    assert_nothing_stored(app)


def test_unknown_campaign_is_404(app, client, campaign):
    assert_error(upload(client, contributor(client), slug="nope"), 404, "campaign_not_found")
    assert_nothing_stored(app)


@pytest.mark.parametrize("word", ["maybe", ""])
def test_unknown_keyword_is_400(app, client, campaign, word):
    assert_error(upload(client, contributor(client), word), 400, "unknown_keyword")
    assert_nothing_stored(app)


def test_missing_audio_is_400(app, client, campaign):
    auth = contributor(client)
    answer = client.post(f"/api/v1/campaigns/{SLUG}/clips", headers=auth, data={"keyword": "yes"})
    assert_error(answer, 400, "missing_audio")
    assert_error(upload(client, auth, audio=b""), 400, "missing_audio")
    assert_nothing_stored(app)


def test_duplicate_is_409(app, client, campaign):
    auth = contributor(client)
    assert upload(client, auth, "yes", seed=3).status_code == 201
    keys = blob_keys(app)
    assert_error(upload(client, contributor(client), "yes", seed=3, filename="again.wav"), 409, "duplicate")
    assert count(app, Clip) == 1 and blob_keys(app) == keys


@pytest.mark.parametrize(("audio", "status", "code"), [
    (silence_wav(2.0), 422, "silent"),
    (b"this is not audio at all" * 40, 415, "unsupported_media_type"),
    (speech_wav("yes")[:2000], 422, "undecodable"),  # a truncated WAV
    (noise_wav(0.2), 422, "too_short"),
    (tone_wav(1.5), 422, "no_speech"),
])
def test_audio_errors_pass_through(app, client, campaign, audio, status, code):
    answer = upload(client, contributor(client), audio=audio)
    assert_error(answer, status, code)
    assert_nothing_stored(app)


def test_oversized_upload_is_413(tmp_path, db_url):
    small = make_test_app(tmp_path, db_url, MAX_UPLOAD_BYTES=20_000)
    try:
        make_campaign(small)
        client = small.test_client()
        assert_error(upload(client, contributor(client), "yes", seed=9), 413, "too_large")
        assert_nothing_stored(small)
    finally:
        with small.app_context():
            get_engine().dispose()


# --- all or nothing -------------------------------------------------------------------------------------

class FailingStore:
    """The app's real store, with one operation made to fail (a full disk, an S3 outage)."""

    def __init__(self, store, fail_put_on: str = "", before_put=None) -> None:
        self.store, self.fail_put_on, self.before_put = store, fail_put_on, before_put

    def put(self, key, data, content_type="application/octet-stream"):
        if self.before_put:
            self.before_put(key)
        if self.fail_put_on and key.startswith(self.fail_put_on):
            raise OSError("no space left on device")
        self.store.put(key, data, content_type)

    def __getattr__(self, name):
        return getattr(self.store, name)


def _parties(session):
    """Return the campaign, its first keyword, the one contributor and its consent."""
    campaign = get_campaign(session, SLUG)
    consent_row = session.scalars(select(Consent)).one()
    return campaign, campaign.keywords[0], session.get(Contributor, consent_row.contributor_id), consent_row


def _store(session, store, ingested, consent_row=None):
    campaign, keyword, who, given = _parties(session)
    return store_clip(session, store, campaign=campaign, keyword=keyword, contributor=who,
                      consent=consent_row or given, ingested=ingested)


def test_failed_blob_write_leaves_nothing(app, client, campaign):
    contributor(client)
    with app.app_context():
        store = FailingStore(get_blob_store(), fail_put_on="originals/")
        with pytest.raises(OSError):
            _store(get_session(), store, ingest(recording("yes", 11)))
    assert_nothing_stored(app)


def test_failed_commit_removes_the_blobs(app, client, campaign):
    contributor(client)
    with app.app_context():
        session = get_session()
        ghost = Consent(id=999_999)  # no such row: the foreign key fails at commit
        with pytest.raises(IntegrityError):
            _store(session, get_blob_store(), ingest(recording("yes", 12)), consent_row=ghost)
    assert_nothing_stored(app)


def test_concurrent_duplicate_is_409_and_removes_the_blobs(app, client, campaign):
    auth = contributor(client)
    wav = recording("yes", 13)

    def rival_commits_first(key):  # the same recording lands through another worker mid-upload
        if key.startswith("originals/") and count(app, Clip) == 0:
            with app.app_context():  # its own request context, session and connection
                assert upload(app.test_client(), auth, "yes", audio=wav).status_code == 201

    with app.app_context():
        store = FailingStore(get_blob_store(), before_put=rival_commits_first)
        with pytest.raises(ApiError) as raised:
            _store(get_session(), store, ingest(wav))
    assert (raised.value.status, raised.value.code) == (409, "duplicate")
    assert count(app, Clip) == 1 and len(blob_keys(app)) == 2  # only the rival's


CRASH = textwrap.dedent("""
    import os, sys
    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from collector.blobs import open_blob_store
    from collector.campaigns import get_campaign
    from collector.clips import store_clip
    from collector.db import make_engine
    from collector.ingest import ingest
    from collector.models import Consent, Contributor

    class CrashingSession(Session):
        def commit(self):
            self.flush()  # the row reaches the database, then the process dies before COMMIT
            os._exit(17)

    database_url, storage_url, wav = sys.argv[1:]
    session = CrashingSession(bind=make_engine(database_url))
    campaign = get_campaign(session, "kws")
    consent = session.scalars(select(Consent)).one()
    store_clip(session, open_blob_store(storage_url), campaign=campaign, keyword=campaign.keywords[0],
               contributor=session.get(Contributor, consent.contributor_id), consent=consent,
               ingested=ingest(open(wav, "rb").read()))
""")


def test_sweep_removes_the_blobs_of_a_crashed_upload(app, client, campaign, tmp_path):
    auth = contributor(client)
    kept = upload(client, auth, "no", seed=14).json["clip_id"]
    wav = tmp_path / "take.wav"
    wav.write_bytes(recording("yes", 15))
    command = [sys.executable, "-c", CRASH, app.config["DATABASE_URL"], app.config["STORAGE_URL"], str(wav)]
    crashed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert crashed.returncode == 17, crashed.stderr
    orphans = [key for key in blob_keys(app) if kept not in key]
    assert len(orphans) == 2 and count(app, Clip) == 1
    assert all(clip_id_time(Path(key).stem) is not None for key in orphans)
    with app.app_context():
        assert sweep_orphans(get_session(), get_blob_store(), older_than_s=3600) == []  # may still commit
        assert sorted(sweep_orphans(get_session(), get_blob_store(), older_than_s=0)) == orphans
    assert blob_keys(app) == [f"clips/{SLUG}/{kept}.wav", f"originals/{SLUG}/{kept}.wav"]

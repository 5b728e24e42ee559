"""API v1 privacy: erasure, deleting clips, who may hear a clip, logs without personal data, S3 round trip."""

from __future__ import annotations

import logging

import boto3
import pytest
from api_helpers import (
    SLUG,
    assert_error,
    blob_keys,
    consent,
    contributor,
    count,
    enrol,
    make_campaign,
    upload,
    uploaded,
)
from sqlalchemy import select

from collector.db import get_engine, get_session
from collector.models import Clip, Consent, Contributor, Curator, Demographics, Erasure, Vote
from collector.privacy import pseudonym_key, speaker_id
from tests.conftest import make_test_app

PROFILE = {"age": "sixties", "gender": "female_feminine", "accent": "Lilting Tipperary 4711",
           "native_language": "ga-IE"}


@pytest.fixture
def campaign(app):
    make_campaign(app)
    return SLUG


def public_id_of(client, auth) -> str:
    """Return the contributor id behind a token, as its own clip list cannot show it."""
    clip_id = uploaded(client, auth, "stop", seed=99)
    with client.application.app_context():
        clip = get_session().scalar(select(Clip).where(Clip.public_id == clip_id))
        return clip.contributor.public_id


def test_erasure_removes_everything_personal_and_the_votes_cast(app, client, campaign):
    leaver, stayer, third = contributor(client), contributor(client), contributor(client)
    assert client.put("/api/v1/contributors/me/profile", headers=leaver, json=PROFILE).status_code == 200
    assert consent(client, leaver, license="CC-BY-4.0").status_code == 201  # two consents, one superseded
    own = [uploaded(client, leaver, "yes", 1), uploaded(client, leaver, "no", 2)]
    theirs = uploaded(client, stayer, "yes", 3)
    public_id = public_id_of(client, leaver)
    for voter in (leaver, third):  # two up votes validate the stayer's clip
        answer = client.post(f"/api/v1/clips/{theirs}/votes", headers=voter, json={"valid": True})
        assert answer.status_code == 201
    client.post(f"/api/v1/clips/{own[0]}/votes", headers=stayer, json={"valid": True})

    assert client.delete("/api/v1/contributors/me", headers=leaver).status_code == 204

    assert_error(client.get("/api/v1/contributors/me/clips", headers=leaver), 401, "invalid_token")
    assert blob_keys(app) == [f"clips/{SLUG}/{theirs}.wav", f"originals/{SLUG}/{theirs}.wav"]
    with app.app_context():
        session = get_session()
        gone = session.scalar(select(Contributor).where(Contributor.public_id == public_id))
        assert gone.token_hash is None and gone.erased_at is not None
        assert session.scalars(select(Clip.public_id)).all() == [theirs]
        consents = session.scalars(select(Consent).where(Consent.contributor_id == gone.id)).all()
        assert len(consents) == 2 and all(c.withdrawn_at is not None for c in consents)
        assert session.get(Demographics, gone.id) is None
        [erasure] = session.scalars(select(Erasure)).all()
        assert erasure.speaker_id == speaker_id(pseudonym_key(session), public_id)
        assert erasure.clips_erased == 3
        # the leaver's vote is gone and the clip recounted: one up vote left, pending again
        votes = session.scalars(select(Vote)).all()
        assert [v.voter_id for v in votes] != [] and gone.id not in [v.voter_id for v in votes]
        clip = session.scalar(select(Clip).where(Clip.public_id == theirs))
        assert (clip.up_votes, clip.down_votes, clip.status) == (1, 0, "pending")
    assert client.get(f"/api/v1/campaigns/{SLUG}/stats").json["clips"] == 1


def test_erasure_needs_a_valid_token(app, client, campaign):
    assert_error(client.delete("/api/v1/contributors/me"), 401, "unauthorized")
    assert_error(client.delete("/api/v1/contributors/me", headers={"Authorization": "Bearer x"}),
                 401, "invalid_token")
    assert count(app, Erasure) == 0


def test_delete_own_clip_removes_row_and_blobs(app, client, campaign):
    auth = contributor(client)
    keep, drop = uploaded(client, auth, "yes", 4), uploaded(client, auth, "no", 5)
    assert client.delete(f"/api/v1/clips/{drop}", headers=auth).status_code == 204
    assert blob_keys(app) == [f"clips/{SLUG}/{keep}.wav", f"originals/{SLUG}/{keep}.wav"]
    assert_error(client.delete(f"/api/v1/clips/{drop}", headers=auth), 404, "not_found")
    listed = client.get("/api/v1/contributors/me/clips", headers=auth).json["clips"]
    assert [clip["clip_id"] for clip in listed] == [keep]


def test_deleting_another_contributors_clip_is_404_and_keeps_it(app, client, campaign):
    owner, intruder = contributor(client), contributor(client)
    clip_id = uploaded(client, owner, "yes", 6)
    keys = blob_keys(app)
    assert_error(client.delete(f"/api/v1/clips/{clip_id}", headers=intruder), 404, "not_found")
    assert_error(client.delete(f"/api/v1/clips/{'f' * 32}", headers=intruder), 404, "not_found")
    assert count(app, Clip) == 1 and blob_keys(app) == keys


def test_reading_another_contributors_clip_audio_is_404_once_it_left_review(app, client, campaign):
    owner, stranger = contributor(client), contributor(client)
    voters = [contributor(client), contributor(client)]
    clip_id = uploaded(client, owner, "yes", 7)
    url = f"/api/v1/clips/{clip_id}/audio"
    assert client.get(url, headers=stranger).status_code == 200  # pending: in the review queue
    for voter in voters:
        client.post(f"/api/v1/clips/{clip_id}/votes", headers=voter, json={"valid": True})
    assert_error(client.get(url, headers=stranger), 404, "not_found")
    assert_error(client.get(url), 401, "unauthorized")
    assert_error(client.get(url, headers={"Authorization": "Bearer forged"}), 401, "invalid_token")
    assert_error(client.get(f"/api/v1/clips/{'e' * 32}/audio", headers=stranger), 404, "not_found")
    assert client.get(url, headers=owner).status_code == 200


def test_curators_hear_any_clip_through_their_session(app, client, campaign):
    owner, voters = contributor(client), [contributor(client), contributor(client)]
    clip_id = uploaded(client, owner, "no", 8)
    for voter in voters:
        client.post(f"/api/v1/clips/{clip_id}/votes", headers=voter, json={"valid": False, "reason": "noise"})
    with app.app_context():
        session = get_session()
        curator = Curator(username="cura", password_hash="not-used-here")
        session.add(curator)
        session.commit()
        curator_id = curator.id
    curator_client = app.test_client()
    assert_error(curator_client.get(f"/api/v1/clips/{clip_id}/audio"), 401, "unauthorized")
    with curator_client.session_transaction() as cookie:
        cookie["curator_id"] = curator_id
    answer = curator_client.get(f"/api/v1/clips/{clip_id}/audio")
    assert answer.status_code == 200 and answer.mimetype == "audio/wav"


def test_logs_carry_no_token_address_or_demographics(app, campaign, caplog):
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    auth, other = contributor(client), contributor(client)
    client.put("/api/v1/contributors/me/profile", headers=auth, json=PROFILE)
    clip_id = uploaded(client, auth, "yes", 9)
    upload(client, auth, "yes", 9)  # a duplicate: an error path
    upload(client, auth, "maybe", 10)
    client.get(f"/api/v1/campaigns/{SLUG}/review", headers=other)
    client.post(f"/api/v1/clips/{clip_id}/votes", headers=other, json={"valid": False, "reason": "noise"})
    client.put("/api/v1/contributors/me/profile", headers=auth, json={"age": "sixty-ish"})
    client.delete("/api/v1/contributors/me", headers=auth)
    client.get("/api/v1/contributors/me/clips", headers=auth)
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    secrets = [auth["Authorization"].split()[1], other["Authorization"].split()[1], "203.0.113.77",
               *PROFILE.values(), "sixty-ish"]
    assert not [secret for secret in secrets if secret in logged]


def test_s3_backed_upload_and_erasure_round_trip(tmp_path, db_url, s3_url, s3_endpoint):
    app = make_test_app(tmp_path, db_url, storage_url=s3_url, S3_ENDPOINT_URL=s3_endpoint)
    try:
        make_campaign(app)
        client = app.test_client()
        auth = contributor(client)
        clip_id = uploaded(client, auth, "yes", 12)
        bucket, prefix = s3_url.removeprefix("s3://").split("/", 1)
        s3 = boto3.client("s3", endpoint_url=s3_endpoint)

        def objects():
            return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))

        assert objects() == [f"{prefix}/{kind}/{SLUG}/{clip_id}.wav" for kind in ("clips", "originals")]
        assert client.get(f"/api/v1/clips/{clip_id}/audio", headers=auth).data[:4] == b"RIFF"
        assert client.delete("/api/v1/contributors/me", headers=auth).status_code == 204
        assert objects() == [] and count(app, Clip) == 0
        assert_error(upload(client, enrol(client)), 403, "consent_required")
    finally:
        with app.app_context():
            get_engine().dispose()

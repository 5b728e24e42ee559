"""Deleting clips and erasing contributors: failure-safe at every step, and erasure wins over uploads."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import (
    SLUG,
    assert_error,
    blob_keys,
    contributor,
    count,
    make_campaign,
    upload,
    uploaded,
)
from sqlalchemy import select, text

import collector.api
from collector.blobs import get_blob_store
from collector.campaigns import get_campaign
from collector.clips import sweep
from collector.db import get_session, session_scope
from collector.models import Clip, Contributor, Vote
from curation.release import build_release

PROFILE = {"age": "sixties", "gender": "female_feminine", "accent": "Lilting Tipperary 4711"}
BLOCK_DELETE = {
    "sqlite": ["CREATE TRIGGER block_delete BEFORE DELETE ON clips "
               "BEGIN SELECT RAISE(ABORT, 'injected'); END"],
    "postgresql": [
        "CREATE FUNCTION block_delete() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER block_delete BEFORE DELETE ON clips FOR EACH ROW EXECUTE FUNCTION block_delete()",
    ],
}
UNBLOCK_DELETE = {"sqlite": ["DROP TRIGGER block_delete"],
                  "postgresql": ["DROP TRIGGER block_delete ON clips"]}


@pytest.fixture
def campaign(app):
    make_campaign(app)
    return SLUG


def run_sql(app, statements: dict[str, list[str]]) -> None:
    """Run the statements for the app's database dialect and commit."""
    with session_scope(app.config["DATABASE_URL"]) as session:
        for statement in statements[session.get_bind().dialect.name]:
            session.execute(text(statement))


def rows(app, *where) -> list[Clip]:
    """Return the clip rows (marked ones too) matching `where`, detached."""
    with session_scope(app.config["DATABASE_URL"]) as session:
        return list(session.scalars(select(Clip).where(*where)))


def release_ids(app, out: Path) -> list[str]:
    """Build a release of the campaign into out; return the clip ids it holds (from its lineage)."""
    with session_scope(app.config["DATABASE_URL"]) as session, app.app_context():
        summary = build_release(session, get_blob_store(), get_campaign(session, SLUG), out, progress=False)
        assert summary.clip_count == len(list(out.glob("[!_]*/*.wav")))
    with session_scope(app.config["DATABASE_URL"]) as session:
        return sorted(session.scalars(select(Clip.public_id).where(Clip.id.in_(
            text("SELECT clip_id FROM release_clips")))))


def run_sweep(app) -> int:
    """Run `db sweep`'s library call on the app's store; return the deletions it finished."""
    with app.app_context():
        return sweep(get_session(), get_blob_store(), older_than_s=3600).deletions_finished


class FailingDeletes:
    """The app's real blob store whose deletes fail (an S3 outage, a read-only disk)."""

    def __init__(self, store) -> None:
        self.store = store

    def delete(self, key: str) -> None:
        raise OSError("read-only file system")

    def __getattr__(self, name):
        return getattr(self.store, name)


def assert_hidden(client, auth, other, clip_id: str) -> None:
    """The clip is nowhere to be seen: own list, review queue, audio, stats."""
    assert client.get("/api/v1/contributors/me/clips", headers=auth).json["clips"] == []
    queue = client.get(f"/api/v1/campaigns/{SLUG}/review", headers=other).json["clips"]
    assert clip_id not in [clip["clip_id"] for clip in queue]
    assert_error(client.get(f"/api/v1/clips/{clip_id}/audio", headers=other), 404, "not_found")


def test_a_failed_row_removal_still_deletes_the_audio_and_hides_it(app, client, campaign, tmp_path):
    """204 means the audio is gone; the row left behind is hidden, releases skip it, and sweep removes it."""
    auth, other = contributor(client), contributor(client)
    drop, keep = uploaded(client, auth, "yes", 1), uploaded(client, other, "no", 2)
    run_sql(app, BLOCK_DELETE)
    assert client.delete(f"/api/v1/clips/{drop}", headers=auth).status_code == 204
    assert [key for key in blob_keys(app) if drop in key] == []
    [left] = rows(app, Clip.public_id == drop)
    assert left.deleting_at is not None
    assert_hidden(client, auth, other, drop)
    assert client.get(f"/api/v1/campaigns/{SLUG}/stats").json["clips"] == 1
    assert release_ids(app, tmp_path / "release") == [keep]  # no abort on the missing audio
    run_sql(app, UNBLOCK_DELETE)
    assert run_sweep(app) == 1
    assert rows(app, Clip.public_id == drop) == []


def test_a_failed_blob_delete_is_503_and_a_retry_finishes(app, client, campaign):
    """The blob store fails: 503 with Retry-After, the clip hidden at once; the same DELETE later is 204."""
    auth, other = contributor(client), contributor(client)
    clip_id = uploaded(client, auth, "yes", 3)
    real = app.extensions["wordcrowd.blobs"]
    app.extensions["wordcrowd.blobs"] = FailingDeletes(real)
    answer = client.delete(f"/api/v1/clips/{clip_id}", headers=auth)
    assert_error(answer, 503, "unavailable")
    assert answer.headers["Retry-After"].isdigit()
    assert_hidden(client, auth, other, clip_id)
    app.extensions["wordcrowd.blobs"] = real
    assert client.delete(f"/api/v1/clips/{clip_id}", headers=auth).status_code == 204
    assert blob_keys(app) == [] and count(app, Clip) == 0


def test_a_failed_erasure_after_its_commit_is_finished_by_sweep(app, client, campaign, tmp_path):
    """Erased and hidden at the first commit; rows a failure left behind go with `db sweep`."""
    leaver, other = contributor(client), contributor(client)
    gone = [uploaded(client, leaver, "yes", 4), uploaded(client, leaver, "no", 5)]
    keep = uploaded(client, other, "stop", 6)
    run_sql(app, BLOCK_DELETE)
    assert client.delete("/api/v1/contributors/me", headers=leaver).status_code == 204
    assert blob_keys(app) == [f"clips/{SLUG}/{keep}.wav", f"originals/{SLUG}/{keep}.wav"]
    assert all(clip.deleting_at is not None for clip in rows(app, Clip.public_id.in_(gone)))
    assert client.get(f"/api/v1/campaigns/{SLUG}/stats").json["clips"] == 1
    assert release_ids(app, tmp_path / "release") == [keep]
    run_sql(app, UNBLOCK_DELETE)
    assert run_sweep(app) == 2 and count(app, Clip) == 1


def test_erasure_wins_over_an_upload_in_flight(app, client, campaign, monkeypatch):
    """The contributor erases while an upload is being ingested: that upload is refused, nothing stays."""
    auth, other = contributor(client), contributor(client)
    real_ingest = collector.api.ingest

    def ingest_while_erasing(*args, **kwargs):
        ingested = real_ingest(*args, **kwargs)
        with app.app_context():  # the erasure runs as another request, to the end, mid-upload
            assert app.test_client().delete("/api/v1/contributors/me", headers=auth).status_code == 204
        return ingested

    monkeypatch.setattr(collector.api, "ingest", ingest_while_erasing)
    assert_error(upload(client, auth, "yes", 7), 401, "invalid_token")
    assert blob_keys(app) == [] and count(app, Clip) == 0
    assert client.get(f"/api/v1/campaigns/{SLUG}/review", headers=other).json["clips"] == []


def test_erasure_wins_over_a_vote_in_flight(app, client, campaign, monkeypatch):
    """The voter erases while their vote is on its way: the vote is refused, and the clip keeps no trace."""
    import collector.votes

    owner, voter = contributor(client), contributor(client)
    clip_id = uploaded(client, owner, "yes", 10)
    real_counts = collector.votes.vote_counts

    def count_while_erasing(*args, **kwargs):  # after the voter's consent was checked, before the insert
        with app.app_context():
            assert app.test_client().delete("/api/v1/contributors/me", headers=voter).status_code == 204
        return real_counts(*args, **kwargs)

    monkeypatch.setattr(collector.votes, "vote_counts", count_while_erasing)
    answer = client.post(f"/api/v1/clips/{clip_id}/votes", headers=voter, json={"valid": True})
    assert_error(answer, 401, "invalid_token")
    assert count(app, Vote) == 0
    [clip] = rows(app, Clip.public_id == clip_id)
    assert (clip.up_votes, clip.down_votes, clip.status) == (0, 0, "pending")


def test_a_withdrawn_consent_refuses_the_upload_in_flight(app, client, campaign, monkeypatch):
    """A consent withdrawn while the upload is ingested: 403, and its blobs are removed."""
    auth = contributor(client)
    real_ingest = collector.api.ingest

    def ingest_while_withdrawing(*args, **kwargs):
        ingested = real_ingest(*args, **kwargs)
        run_sql(app, {dialect: ["UPDATE consents SET withdrawn_at = CURRENT_TIMESTAMP"]
                      for dialect in ("sqlite", "postgresql")})
        return ingested

    monkeypatch.setattr(collector.api, "ingest", ingest_while_withdrawing)
    assert_error(upload(client, auth, "yes", 8), 403, "consent_required")
    assert blob_keys(app) == [] and count(app, Clip) == 0


def test_erasure_leaves_no_erased_value_in_the_sqlite_files(tmp_path, client, campaign, app):
    """secure_delete and a WAL checkpoint: the erased accent and token hash are not on disk any more."""
    url = app.config["DATABASE_URL"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's files only")
    auth, other = contributor(client), contributor(client)
    assert client.put("/api/v1/contributors/me/profile", headers=auth, json=PROFILE).status_code == 200
    clip_id = uploaded(client, other, "no", 9)
    client.post(f"/api/v1/clips/{clip_id}/votes", headers=auth, json={"valid": True})
    with session_scope(url) as session:
        token_hash = session.scalar(select(Contributor.token_hash).where(Contributor.demographics.has()))
    database = Path(url.removeprefix("sqlite:///"))

    def on_disk() -> bytes:
        return b"".join(path.read_bytes() for path in database.parent.glob(f"{database.name}*"))

    assert PROFILE["accent"].encode() in on_disk() and token_hash.encode() in on_disk()
    assert client.delete("/api/v1/contributors/me", headers=auth).status_code == 204
    assert PROFILE["accent"].encode() not in on_disk()
    assert token_hash.encode() not in on_disk()
    assert count(app, Vote) == 0

"""API v1 review queue and votes: who may vote, the reasons, and the status votes give (DESIGN §6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import SLUG, assert_error, contributor, count, enrol, make_campaign, uploaded
from sqlalchemy import select

from collector.db import get_engine, get_session
from collector.models import Clip, Contributor, Curator, Vote, utcnow
from collector.privacy import token_hash
from collector.settings import setting_default
from collector.votes import decide, recount_status, status_from_votes
from tests.conftest import make_test_app


@pytest.fixture
def campaign(app):
    make_campaign(app)
    return SLUG


def vote(client, auth, clip_id, valid=True, reason=None):
    body = {"valid": valid} if reason is None else {"valid": valid, "reason": reason}
    return client.post(f"/api/v1/clips/{clip_id}/votes", headers=auth, json=body)


def queue(client, auth, count=10):
    answer = client.get(f"/api/v1/campaigns/{SLUG}/review?count={count}", headers=auth)
    assert answer.status_code == 200, answer.json
    return answer.json["clips"]


def stored_clip(app, clip_id):
    with app.app_context():
        clip = get_session().scalar(select(Clip).where(Clip.public_id == clip_id))
        return clip.status, clip.up_votes, clip.down_votes


@pytest.mark.parametrize(("up", "down", "status"), [
    (0, 0, "pending"), (1, 0, "pending"), (0, 1, "pending"), (1, 1, "pending"), (2, 0, "validated"),
    (2, 1, "validated"), (0, 2, "invalidated"), (1, 2, "invalidated"), (2, 2, "invalidated"),
    (3, 3, "invalidated"),
])
def test_status_from_votes(up, down, status):
    assert status_from_votes(up, down) == status


def test_review_queue_skips_own_and_voted_and_puts_fewest_votes_first(client, campaign):
    owner, reviewer, other = contributor(client), contributor(client), contributor(client)
    words = ("yes", "no", "stop")
    first, second, third = (uploaded(client, owner, word, seed) for seed, word in enumerate(words))
    assert queue(client, owner) == []
    assert vote(client, other, first).status_code == 201
    listed = queue(client, reviewer)
    assert [clip["clip_id"] for clip in listed] == [second, third, first]
    assert [clip["keyword"] for clip in listed] == ["no", "stop", "yes"]
    assert client.get(listed[0]["audio_url"], headers=reviewer).status_code == 200
    assert vote(client, reviewer, second).status_code == 201
    assert [clip["clip_id"] for clip in queue(client, reviewer, count=1)] == [third]
    assert_error(client.get(f"/api/v1/campaigns/{SLUG}/review?count=99", headers=reviewer), 400,
                 "validation_error")
    assert_error(client.get("/api/v1/campaigns/nope/review", headers=reviewer), 404, "campaign_not_found")


def test_votes_decide_the_status(app, client, campaign):
    owner = contributor(client)
    voters = [contributor(client) for _ in range(3)]
    liked, disliked, split = (uploaded(client, owner, "yes", seed) for seed in (20, 21, 22))
    for voter in voters[:2]:
        assert vote(client, voter, liked).status_code == 201
        assert vote(client, voter, disliked, False, "noise").status_code == 201
    assert stored_clip(app, liked) == ("validated", 2, 0)
    assert stored_clip(app, disliked) == ("invalidated", 0, 2)
    vote(client, voters[0], split)
    vote(client, voters[1], split, False, "cut_off")
    assert stored_clip(app, split) == ("pending", 1, 1)
    vote(client, voters[2], split, False, "wrong_word")
    assert stored_clip(app, split) == ("invalidated", 1, 2)
    assert queue(client, voters[2]) == []  # nothing pending is left


def test_curator_decision_overrides_votes(app, client, campaign):
    owner, first, second = contributor(client), contributor(client), contributor(client)
    clip_id = uploaded(client, owner, "no", seed=23)
    with app.app_context():
        session = get_session()
        clip = session.scalar(select(Clip).where(Clip.public_id == clip_id))
        clip.curator_decision, clip.curator_reason = "reject", "speaker said 'know'"
        session.commit()
    vote(client, first, clip_id)
    vote(client, second, clip_id)
    assert stored_clip(app, clip_id) == ("invalidated", 2, 0)


def test_second_vote_is_409(app, client, campaign):
    owner, voter = contributor(client), contributor(client)
    clip_id = uploaded(client, owner, "yes", seed=24)
    assert vote(client, voter, clip_id).status_code == 201
    assert_error(vote(client, voter, clip_id, False, "other"), 409, "already_voted")
    assert count(app, Vote) == 1 and stored_clip(app, clip_id) == ("pending", 1, 0)


def test_vote_on_own_clip_is_403(app, client, campaign):
    owner = contributor(client)
    clip_id = uploaded(client, owner, "yes", seed=25)
    assert_error(vote(client, owner, clip_id), 403, "own_clip")
    assert count(app, Vote) == 0


def test_vote_on_unknown_clip_is_404(app, client, campaign):
    assert_error(vote(client, contributor(client), "0" * 32), 404, "not_found")
    assert count(app, Vote) == 0


@pytest.mark.parametrize("body", [
    {"valid": False}, {"valid": False, "reason": "boring"}, {"valid": True, "reason": "boring"},
    {"valid": "yes"}, {}, {"valid": 1},
])
def test_vote_body_rules(app, client, campaign, body):
    owner, voter = contributor(client), contributor(client)
    clip_id = uploaded(client, owner, "yes", seed=26)
    answer = client.post(f"/api/v1/clips/{clip_id}/votes", headers=voter, json=body)
    assert_error(answer, 400, "validation_error")
    assert count(app, Vote) == 0


def test_vote_requires_a_token_and_json(app, client, campaign):
    owner, voter = contributor(client), contributor(client)
    clip_id = uploaded(client, owner, "yes", seed=27)
    assert_error(client.post(f"/api/v1/clips/{clip_id}/votes", json={"valid": True}), 401, "unauthorized")
    answer = client.post(f"/api/v1/clips/{clip_id}/votes", headers=voter, data="valid=true")
    assert_error(answer, 400, "invalid_json")
    assert count(app, Vote) == 0


def test_vote_reason_is_stored(app, client, campaign):
    owner, voter = contributor(client), contributor(client)
    clip_id = uploaded(client, owner, "stop", seed=28)
    answer = vote(client, voter, clip_id, False, "not_speech")
    assert answer.status_code == 201
    assert answer.json == {"clip_id": clip_id, "valid": False, "reason": "not_speech"}
    with app.app_context():
        stored = get_session().scalars(select(Vote)).one()
        assert (stored.valid, stored.reason) == (False, "not_speech")


def test_voting_needs_a_consent_in_force_for_the_clips_campaign(app, client, campaign):
    make_campaign(app, "other", ("up", "down"))
    owner, outsider, elsewhere = contributor(client), enrol(client), contributor(client, "other")
    clip_id = uploaded(client, owner, "yes", seed=29)
    assert_error(vote(client, outsider, clip_id, False, "noise"), 403, "consent_required")
    assert_error(vote(client, elsewhere, clip_id, False, "noise"), 403, "consent_required")
    assert count(app, Vote) == 0 and stored_clip(app, clip_id) == ("pending", 0, 0)


@pytest.fixture
def voter_rule_app(tmp_path, db_url):
    """An app with the voter rule's production thresholds (the settings' defaults)."""
    app = make_test_app(tmp_path, db_url, VOTER_MIN_AGE_HOURS=setting_default("VOTER_MIN_AGE_HOURS"),
                        VOTER_MIN_CLIPS=setting_default("VOTER_MIN_CLIPS"))
    make_campaign(app)
    yield app
    with app.app_context():
        get_engine().dispose()


def _age(app, auth, hours: float) -> None:
    """Make the contributor with this token look enrolled `hours` ago."""
    with app.app_context():
        session = get_session()
        token = auth["Authorization"].split()[1]
        voter = session.scalar(select(Contributor).where(Contributor.token_hash == token_hash(token)))
        voter.created_at = utcnow() - timedelta(hours=hours)
        session.commit()


def test_fresh_voters_cannot_flip_a_status_but_established_ones_can(voter_rule_app):
    app, client = voter_rule_app, voter_rule_app.test_client()
    owner, fresh = contributor(client), [contributor(client), contributor(client)]
    target, other = uploaded(client, owner, "yes", seed=30), uploaded(client, owner, "no", seed=31)
    for voter in fresh:  # two brand-new tokens say "no": stored, but the clip stays pending
        assert vote(client, voter, target, False, "noise").status_code == 201
    assert stored_clip(app, target) == ("pending", 0, 0) and count(app, Vote) == 2
    established = [contributor(client), contributor(client)]
    for index, voter in enumerate(established):
        for seed in range(3):
            uploaded(client, voter, "stop", seed=40 + 3 * index + seed)
    old_but_idle = contributor(client)
    for voter in [*established, old_but_idle]:
        _age(app, voter, 25)
    assert vote(client, old_but_idle, other, False, "noise").status_code == 201  # old, but no clips
    assert stored_clip(app, other) == ("pending", 0, 0)
    for voter in established:
        assert vote(client, voter, target).status_code == 201
    assert stored_clip(app, target) == ("validated", 2, 0)
    with app.app_context():
        assert sorted(v.counted for v in get_session().scalars(select(Vote))) == [False] * 3 + [True] * 2


def test_a_curators_decision_is_final_and_recount_follows_removed_votes(app, client, campaign):
    owner, voters = contributor(client), [contributor(client) for _ in range(3)]
    clip_id = uploaded(client, owner, "yes", seed=32)
    for voter in voters[:2]:
        vote(client, voter, clip_id, False, "noise")
    assert stored_clip(app, clip_id) == ("invalidated", 0, 2)
    with app.app_context():  # what erasing a voter does: their votes go, the status is recounted
        session = get_session()
        clip = session.scalar(select(Clip).where(Clip.public_id == clip_id))
        session.delete(session.scalars(select(Vote).where(Vote.clip_id == clip.id)).first())
        session.flush()
        assert recount_status(session, clip) == "pending"
        curator = Curator(username="cura", password_hash="not-used-here")
        session.add(curator)
        session.flush()
        assert decide(session, clip, curator, "approve", "clear 'yes'") == "validated"
        session.commit()
    vote(client, voters[2], clip_id, False, "noise")
    assert stored_clip(app, clip_id) == ("validated", 0, 2)

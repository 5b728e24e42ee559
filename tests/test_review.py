"""Curator review over HTTP: login and lock-out, the blind suspicion queue, decisions, undo, per speaker."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from collector.models import Clip, Contributor, Curator, CuratorDecision, Demographics, utcnow
from tests.api_helpers import contributor, make_campaign, uploaded
from tests.conftest import make_test_app

PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path, db_url):
    """The composed app (collector + review pages) on a fresh database, with a campaign and a curator."""
    app = make_test_app(tmp_path, db_url, composed=True)
    make_campaign(app)
    with app.app_context():
        from collector.cli import add_curator
        from collector.db import get_session

        add_curator(get_session(), "ada", PASSWORD)
        get_session().commit()
    yield app
    with app.app_context():
        from collector.db import get_engine

        get_engine().dispose()


def csrf(client, path: str = "/review/login") -> str:
    """Return the CSRF token the page at `path` carries."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client, password: str = PASSWORD, username: str = "ada"):
    """Post the login form; return the answer."""
    return client.post("/review/login", data={"username": username, "password": password,
                                              "csrf_token": csrf(client), "next": "/review/"})


def logged_in(client) -> dict[str, str]:
    """Log the curator in; return the headers a review page's script sends (its CSRF token)."""
    assert log_in(client).status_code == 303
    return {"X-CSRFToken": csrf(client, "/review/")}


def clip_row(app, clip_id: str) -> Clip:
    """Return the stored clip with this public id."""
    from collector.db import get_session

    with app.app_context():
        session = get_session()
        clip = session.scalars(select(Clip).where(Clip.public_id == clip_id)).one()
        session.expunge(clip)
        return clip


def change(app, clip_id: str, **values) -> None:
    """Set columns of a stored clip directly (flags, votes) to build a queue."""
    from collector.db import get_session

    with app.app_context():
        session = get_session()
        clip = session.scalars(select(Clip).where(Clip.public_id == clip_id)).one()
        for name, value in values.items():
            setattr(clip, name, value)
        session.commit()


def test_pages_need_a_login_and_a_good_login_opens_them(client) -> None:
    """Review pages send strangers to the login; a right password opens them and logout closes them."""
    answer = client.get("/review/")
    assert answer.status_code == 303 and "/review/login" in answer.headers["Location"]
    assert log_in(client).status_code == 303
    assert client.get("/review/").status_code == 200
    client.post("/review/logout", data={"csrf_token": csrf(client, "/review/")})
    assert client.get("/review/").status_code == 303


def test_repeated_wrong_passwords_lock_the_account(app, client) -> None:
    """Five wrong passwords lock the account: even the right one is refused until the lock ends."""
    for _ in range(4):
        answer = log_in(client, "wrong password")
        assert answer.status_code == 401 and "Wrong name or password" in answer.get_data(as_text=True)
    answer = log_in(client, "wrong password")
    assert "locked" in answer.get_data(as_text=True)
    answer = log_in(client)
    assert answer.status_code == 401 and "locked" in answer.get_data(as_text=True)
    from collector.db import get_session

    with app.app_context():  # the lock runs out
        session = get_session()
        curator = session.scalars(select(Curator)).one()
        curator.locked_until = utcnow() - timedelta(seconds=1)
        session.commit()
    assert log_in(client).status_code == 303


def test_an_unknown_name_is_refused_like_a_wrong_password(client) -> None:
    """The answer does not tell whether a curator name exists."""
    unknown = log_in(client, username="nobody").get_data(as_text=True)
    wrong = log_in(client, password="not it at all").get_data(as_text=True)
    assert "Wrong name or password." in unknown and "Wrong name or password." in wrong


def test_queue_puts_suspicious_clips_first_and_shows_no_identity(app, client) -> None:
    """Split votes and automatic flags come first; the cards carry no contributor or demographic data."""
    auth = contributor(client)
    client.put("/api/v1/contributors/me/profile", headers=auth,
               json={"age": "thirties", "gender": "female_feminine", "accent": "Lancashire"})
    clean, flagged, split = (uploaded(client, auth, word, seed)
                             for seed, word in enumerate(("yes", "no", "stop")))
    change(app, clean, auto_verdict="accept", flags=[])
    change(app, flagged, auto_verdict="review", flags=["low_snr"])
    change(app, split, auto_verdict="accept", flags=[], up_votes=1, down_votes=1)
    headers = logged_in(client)
    answer = client.get("/review/api/c/kws/queue?count=10", headers=headers)
    assert answer.status_code == 200
    cards = answer.json["clips"]
    assert [card["clip_id"] for card in cards] == [split, flagged, clean]
    assert cards[0]["reasons"] == ["split_votes"] and cards[1]["reasons"] == ["low_snr"]
    from collector.db import get_session

    with app.app_context():
        public_id = get_session().scalars(select(Contributor.public_id)).one()
    text = answer.get_data(as_text=True)
    for secret in (public_id, "thirties", "female_feminine", "Lancashire", "CC0-1.0"):
        assert secret not in text
    skipped = client.get(f"/review/api/c/kws/queue?count=10&skip={split}", headers=headers).json["clips"]
    assert [card["clip_id"] for card in skipped] == [flagged, clean]


def test_a_decision_overrides_votes_is_recorded_and_can_be_undone(app, client) -> None:
    """Rejecting a validated clip invalidates it, records who, when and why; undo restores it."""
    clip_id = uploaded(client, contributor(client))
    for _ in range(2):  # two peers validate it (the test app counts fresh voters' votes)
        vote = client.post(f"/api/v1/clips/{clip_id}/votes", headers=contributor(client),
                           json={"valid": True})
        assert vote.status_code == 201
    assert clip_row(app, clip_id).status == "validated"
    headers = logged_in(client)
    answer = client.post(f"/review/api/clips/{clip_id}/decision", headers=headers,
                         json={"decision": "reject", "reason": "wrong_word"})
    assert answer.status_code == 201
    stored = clip_row(app, clip_id)
    assert (stored.status, stored.curator_decision, stored.curator_reason) == ("invalidated", "reject",
                                                                              "wrong_word")
    from collector.db import get_session

    with app.app_context():
        record = get_session().scalars(select(CuratorDecision)).one()
        assert record.decision == "reject" and record.reason == "wrong_word" and record.curator_id
        assert record.created_at is not None
    undone = client.post("/review/api/undo", headers=headers, json={})
    assert [card["clip_id"] for card in undone.json["restored"]] == [clip_id]
    stored = clip_row(app, clip_id)
    assert (stored.status, stored.curator_decision) == ("validated", None)
    assert client.post("/review/api/undo", headers=headers, json={}).json["restored"] == []


def test_a_rejection_needs_a_known_reason(client) -> None:
    """A reject without a reason, or with an unknown decision, is a 400 naming the field."""
    clip_id = uploaded(client, contributor(client))
    headers = logged_in(client)
    url = f"/review/api/clips/{clip_id}/decision"
    answer = client.post(url, headers=headers, json={"decision": "reject"})
    assert answer.status_code == 400 and answer.json["error"]["message"].startswith("reason")
    answer = client.post(url, headers=headers, json={"decision": "maybe"})
    assert answer.status_code == 400 and answer.json["error"]["message"].startswith("decision")


def test_reject_all_of_a_speaker_in_one_step(app, client) -> None:
    """All of one speaker's clips are rejected at once when the count shown still holds; undo is one step."""
    spammer, other = contributor(client), contributor(client)
    spam = [uploaded(client, spammer, word, seed) for seed, word in enumerate(("yes", "no", "stop"))]
    kept = uploaded(client, other, "yes", 10)
    headers = logged_in(client)
    page = client.get(f"/review/clips/{spam[0]}/speaker")
    assert page.status_code == 200 and "Reject all 3 clips" in page.get_data(as_text=True)
    url = f"/review/api/clips/{spam[1]}/speaker-decision"
    stale = client.post(url, headers=headers, json={"decision": "reject", "reason": "spam", "count": 2})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "count_changed"
    assert all(clip_row(app, c).curator_decision is None for c in spam)
    answer = client.post(url, headers=headers, json={"decision": "reject", "reason": "spam", "count": 3})
    assert answer.status_code == 201 and answer.json["decided"] == 3
    assert all(clip_row(app, c).status == "invalidated" for c in spam)
    assert clip_row(app, kept).curator_decision is None
    assert len(client.post("/review/api/undo", headers=headers, json={}).json["restored"]) == 3
    assert all(clip_row(app, c).curator_decision is None for c in spam)


def test_review_refuses_contributor_tokens_and_cross_site_posts(client) -> None:
    """A contributor's bearer token opens nothing; a post without the page's CSRF token is refused."""
    auth = contributor(client)
    clip_id = uploaded(client, auth)
    assert client.get("/review/api/c/kws/queue", headers=auth).status_code == 401
    answer = client.post(f"/review/api/clips/{clip_id}/decision", headers=auth, json={"decision": "approve"})
    assert answer.status_code in (400, 401)
    logged_in(client)
    forged = client.post(f"/review/api/clips/{clip_id}/decision", json={"decision": "approve"})
    assert forged.status_code == 400 and forged.json["error"]["code"] == "csrf_failed"
    assert client.post("/review/login", data={"username": "ada", "password": PASSWORD}).status_code == 400


def test_demographics_never_reach_a_review_page(app, client) -> None:
    """The per-speaker page shows clips, not who made them."""
    auth = contributor(client)
    client.put("/api/v1/contributors/me/profile", headers=auth, json={"accent": "Yorkshire"})
    clip_id = uploaded(client, auth)
    logged_in(client)
    page = client.get(f"/review/clips/{clip_id}/speaker").get_data(as_text=True)
    from collector.db import get_session

    with app.app_context():
        assert get_session().scalars(select(Demographics.accent)).one() == "Yorkshire"
    assert "Yorkshire" not in page


def test_the_report_page_shows_the_campaigns_balance(client) -> None:
    """Curators read the bias and balance report on a page; strangers are sent to the login."""
    uploaded(client, contributor(client))
    assert client.get("/review/c/kws/report").status_code == 303
    logged_in(client)
    page = client.get("/review/c/kws/report")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Bias and balance" in text and "data:image/png;base64," in text
    assert "<style>" not in text  # the page's CSP allows no inline style


def test_check_findings_lead_the_queue_and_show_on_the_card(app, client) -> None:
    """A clip `curate check` found a duplicate of comes before flagged clips, with the finding on its card."""
    from collector.db import get_session
    from collector.models import ClipFinding

    auth = contributor(client)
    flagged, found = uploaded(client, auth, "yes", 0), uploaded(client, auth, "no", 1)
    change(app, flagged, auto_verdict="review", flags=["low_snr"])
    change(app, found, auto_verdict="accept", flags=[])
    with app.app_context():
        session = get_session()
        row = session.scalars(select(Clip).where(Clip.public_id == found)).one()
        session.add(ClipFinding(clip_id=row.id, check_name="duplicate", reason="same_audio", score=1.0,
                                detail="same canonical audio as an earlier clip"))
        session.commit()
    cards = client.get("/review/api/c/kws/queue", headers=logged_in(client)).json["clips"]
    assert [card["clip_id"] for card in cards] == [found, flagged]
    assert cards[0]["reasons"] == ["same_audio"] and cards[0]["findings"][0]["check"] == "duplicate"

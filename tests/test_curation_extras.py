"""Auxiliary words and room ambience in curation: the review queue and pages, and the report."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from collector.campaigns import create_campaign
from collector.models import AMBIENCE_WORD, Clip
from tests.api_helpers import contributor, upload, uploaded
from tests.conftest import make_test_app
from tests.speech import room_wav
from tests.test_review import PASSWORD, change, logged_in

SLUG = "kws"


@pytest.fixture
def app(tmp_path, db_url):
    """The composed app with a campaign of two keywords, two auxiliary words and ambience, and a curator."""
    app = make_test_app(tmp_path, db_url, composed=True)
    with app.app_context():
        from collector.cli import add_curator
        from collector.db import get_session

        create_campaign(get_session(), SLUG, ["yes", "no"], title="Extras", auxiliary_words=["bird", "house"],
                        ambience=True, target_count=4)
        add_curator(get_session(), "ada", PASSWORD)
        get_session().commit()
    yield app
    with app.app_context():
        from collector.db import get_engine

        get_engine().dispose()


def room(client, auth, seconds: float = 12, seed: int = 0, words: tuple[str, ...] = ()) -> str:
    """Upload room sound (16 kHz keeps the body small); return its clip id."""
    answer = upload(client, auth, AMBIENCE_WORD, audio=room_wav(seconds, rate=16000, seed=seed, words=words))
    assert answer.status_code == 201, answer.json
    return answer.json["clip_id"]


def test_review_queue_labels_each_kind_and_takes_decisions_on_room_sound(app, client) -> None:
    auth = contributor(client)
    word, extra = uploaded(client, auth, "yes", 1), uploaded(client, auth, "bird", 2)
    ambience = room(client, auth)
    for clip_id in (word, extra, ambience):
        change(app, clip_id, auto_verdict="accept", flags=[])
    headers = logged_in(client)
    cards = client.get(f"/review/api/c/{SLUG}/queue?count=10", headers=headers).json["clips"]
    kinds = {card["clip_id"]: (card["kind"], card["kind_label"]) for card in cards}
    assert kinds == {word: ("keyword", "Keyword"), extra: ("auxiliary", "Auxiliary word"),
                     ambience: ("ambience", "Room sound")}
    room_card = next(card for card in cards if card["clip_id"] == ambience)
    assert room_card["quality"]["duration_ms"] == 12000
    audio = client.get(room_card["audio_url"])
    assert audio.status_code == 200 and len(audio.data) == 44 + 2 * 12 * 16000  # the whole recording
    answer = client.post(f"/review/api/clips/{ambience}/decision", headers=headers,
                         json={"decision": "reject", "reason": "speech"})
    assert answer.status_code == 201, answer.json
    page = client.get(f"/review/clips/{word}/speaker").get_data(as_text=True)
    assert all(label in page for label in ("Room sound", "Auxiliary word", "<td>Keyword</td>"))
    queue_page = client.get(f"/review/c/{SLUG}/").get_data(as_text=True)
    assert 'id="review-kind"' in queue_page


def test_report_counts_auxiliary_words_and_ambience_apart_from_keywords(app, client, tmp_path,
                                                                        monkeypatch) -> None:
    first, second = contributor(client), contributor(client)
    uploaded(client, first, "yes", 1)
    uploaded(client, second, "no", 2)
    uploaded(client, first, "bird", 3)
    uploaded(client, second, "bird", 4)
    room(client, first, 12, seed=1)
    flagged = room(client, second, 15, seed=2, words=("stop", "go"))
    rejected = room(client, second, 10, seed=3)
    change(app, rejected, curator_decision="reject", status="invalidated")
    monkeypatch.setenv("WORDCROWD_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("WORDCROWD_SECRET_KEY", "report-test")
    from wordcrowd.cli import main

    result = CliRunner().invoke(main, ["curate", "report", SLUG, "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "kws: 2 usable of 2 clips from 2 speakers, 2 keywords" in result.output
    assert "auxiliary words: bird 2/4, house 0/4" in result.output
    assert "room ambience: 0.5 min from 2 contributors" in result.output
    assert "usable room ambience comes from only 2 contributors (flagged under 5)" in result.output
    assert "33 % of the room recordings have speech in them" in result.output
    made = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [row["keyword"] for row in made["keywords"]["rows"]] == ["yes", "no"]
    kinds = made["kinds"]
    assert (kinds["keyword"]["clips"], kinds["auxiliary"]["clips"], kinds["ambience"]["clips"]) == (2, 2, 3)
    assert [(r["keyword"], r["clips"], r["speakers"]) for r in kinds["auxiliary"]["words"]] == [
        ("bird", 2, 2), ("house", 0, 0)]
    assert kinds["ambience"]["usable_clips"] == 2 and kinds["ambience"]["speakers"] == 2
    assert kinds["ambience"]["minutes"] == pytest.approx(27 / 60, abs=0.01)
    assert kinds["ambience"]["flags"] == {"speech_in_ambience": 1} and kinds["ambience"]["target"] == 4
    # room sound's 10-30 s stays out of the words' duration distribution
    assert made["quality"]["metrics"]["duration_ms"]["max"] < 5000
    html = (tmp_path / "report" / "report.html").read_text()
    assert "Auxiliary words and room ambience" in html and "<td>bird</td>" in html
    assert "0.5 usable minutes from\n2 contributors" in html
    with app.app_context():
        from collector.db import get_session

        assert get_session().scalar(select(Clip.flags).where(Clip.public_id == flagged)) == [
            "speech_in_ambience"]


def test_curate_check_runs_on_a_campaign_with_room_sound(app, client, tmp_path, monkeypatch) -> None:
    """Room sound is 10-30 s long: the batch checks must take it beside 1-s words."""
    first, second = contributor(client), contributor(client)
    for seed, word in enumerate(("yes", "no", "bird", "yes", "no", "house")):
        uploaded(client, first if seed % 2 else second, word, seed)
    room(client, first, 12, seed=1)
    room(client, second, 15, seed=2)  # larger bodies the test client spools to a file it never closes
    monkeypatch.setenv("WORDCROWD_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("WORDCROWD_STORAGE_URL", app.config["STORAGE_URL"])
    monkeypatch.setenv("WORDCROWD_SECRET_KEY", "check-test")
    from wordcrowd.cli import main

    result = CliRunner().invoke(main, ["curate", "check", SLUG, "--findings", str(tmp_path / "f.jsonl")])
    assert result.exit_code == 0, result.output

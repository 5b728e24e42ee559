"""`wordcrowd simulate` with auxiliary words and room ambience: the plan, and a crowd through a server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from simulation.ambience import SECONDS_RANGE, plan_ambience, render_ambience
from simulation.client import SimulationError
from simulation.crowd import campaign_words
from simulation.plan import CrowdSpec, PlanError, plan_takes
from simulation.voices import make_crowd
from wordcrowd.cli import main

CAMPAIGN = {"slug": "kws", "keywords": ["yes", "no"], "auxiliary_words": ["bird", "house"], "ambience": True}


def test_takes_draw_from_keywords_and_auxiliary_words_and_rooms_are_planned_reproducibly() -> None:
    spec = CrowdSpec(speakers=6, takes=60, keywords=("yes", "no"), auxiliary_words=("bird",), seed=3)
    words = {plan.keyword for plan in plan_takes(spec)}
    assert words == {"yes", "no", "bird"}
    crowd = make_crowd(6, 3, "all")
    plans = plan_ambience(crowd, 0.5, 0.5, seed=3)
    assert plans == plan_ambience(crowd, 0.5, 0.5, seed=3) and 0 < len(plans) < 6
    assert all(SECONDS_RANGE[0] <= plan.seconds <= SECONDS_RANGE[1] for plan in plans)
    audio = render_ambience(plans[0], seed=3)
    info = sf.info(io.BytesIO(audio))
    assert abs(info.duration - plans[0].seconds) < 0.01 and info.samplerate == plans[0].speaker.rate_hz
    with pytest.raises(PlanError, match="both a keyword and an auxiliary word"):
        CrowdSpec(speakers=1, takes=1, keywords=("yes",), auxiliary_words=("yes",)).check()


def test_the_campaign_must_offer_the_words_and_ambience_asked_for() -> None:
    assert campaign_words(CAMPAIGN, None, 0.0) == ("bird", "house")
    assert campaign_words(CAMPAIGN, ("house",), 1.0) == ("house",)
    with pytest.raises(SimulationError, match="'tree' is not an auxiliary word"):
        campaign_words(CAMPAIGN, ("tree",), 0.0)
    with pytest.raises(SimulationError, match="does not ask for room ambience"):
        campaign_words({**CAMPAIGN, "ambience": False}, None, 0.5)


def test_a_crowd_records_auxiliary_words_and_room_sound_through_a_served_collector(tmp_path: Path,
                                                                                   db_url: str) -> None:
    truth = tmp_path / "truth.jsonl"
    result = CliRunner().invoke(main, [
        "simulate", "--serve", "--data-dir", str(tmp_path / "data"), "--serve-env",
        f"WORDCROWD_DATABASE_URL={db_url}", "--speakers", "4", "--takes", "4", "--seed", "5",
        "--auxiliary-words", "bird,house", "--ambience-rate", "1", "--defect-rate", "0.5", "--votes", "3",
        "--truth", str(truth), "--quiet", "--workers", "4"])
    assert result.exit_code == 0, result.output
    assert "campaign 'crowd'" in result.output
    records = [json.loads(line) for line in truth.read_text().splitlines()]
    rooms = [r for r in records if r["kind"] == "ambience"]
    assert sorted(r["speaker"] for r in rooms) == [0, 1, 2, 3]
    assert all(r["http_status"] == 201 for r in rooms), [r["answer"] for r in rooms]
    assert any(r["spoken"] for r in rooms) and any(not r["spoken"] for r in rooms)
    for room in rooms:
        flagged = "speech_in_ambience" in room["answer"]["flags"]
        assert flagged == bool(room["spoken"]), room
    said = {r["keyword"] for r in records if r["kind"] == "upload"}
    assert said & {"bird", "house"} and said - {"bird", "house"}
    from collector.models import Clip, Keyword

    engine = create_engine(db_url)
    with Session(engine) as session:
        kinds = dict(session.execute(select(Clip.public_id, Keyword.kind).join(Keyword)).all())
    engine.dispose()
    assert {kinds[r["clip_id"]] for r in rooms} == {"ambience"}
    voted = {r["clip_id"] for r in records if r["kind"] == "vote"}
    assert voted and not voted & {r["clip_id"] for r in rooms}  # Listen leaves room sound to curators

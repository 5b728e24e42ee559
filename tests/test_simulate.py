"""`wordcrowd simulate`: a synthetic crowd through a real `wordcrowd serve`; its plan, takes and truth."""

from __future__ import annotations

import collections
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from conftest import free_port
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from simulation.plan import CrowdSpec, PlanError, parse_skew, plan_takes
from simulation.takes import DEFECTS, render
from wordcrowd.cli import main

KEYWORDS = ("yes", "no", "stop", "go")


def samples_of(wav: bytes) -> np.ndarray:
    """Decode a WAV file to float samples."""
    return sf.read(io.BytesIO(wav), dtype="float32")[0]


# --- the plan and the takes (pure) --------------------------------------------------------------------------

def test_the_same_seed_renders_the_same_bytes_and_another_seed_does_not() -> None:
    spec = CrowdSpec(speakers=3, takes=6, keywords=KEYWORDS, seed=7, defect_rate=0.5)
    first, again = plan_takes(spec), plan_takes(spec)
    assert first == again
    by_index = {plan.index: plan for plan in first}
    assert [render(p, 7, by_index) for p in first] == [render(p, 7, by_index) for p in reversed(first)][::-1]
    other = plan_takes(CrowdSpec(speakers=3, takes=6, keywords=KEYWORDS, seed=8, defect_rate=0.5))
    assert [p.speaker for p in other] != [p.speaker for p in first]


def test_each_defect_is_in_the_audio() -> None:
    spec = CrowdSpec(speakers=2, takes=80, keywords=KEYWORDS, seed=1, defect_rate=1.0)
    plans = plan_takes(spec)
    by_index = {plan.index: plan for plan in plans}
    seen = {}
    for plan in plans:
        seen.setdefault(plan.defect, (plan, render(plan, 1, by_index)))
    assert set(seen) >= set(DEFECTS) - {"near_duplicate"} or set(seen) >= set(DEFECTS) - {"duplicate"}
    silence = samples_of(seen["silence"][1])
    assert np.abs(silence).max() < 10 ** (-40 / 20) and seen["silence"][0].spoken == ""
    assert np.mean(np.abs(samples_of(seen["clipping"][1])) >= 0.999) > 1e-3
    wrong = seen["wrong_word"][0]
    assert wrong.spoken != wrong.keyword
    for kind in ("duplicate", "near_duplicate"):
        if kind in seen:
            plan, audio = seen[kind]
            original = render(by_index[plan.source], 1, by_index)
            assert (audio == original) == (kind == "duplicate")
            source = by_index[plan.source]
            assert plan.speaker == source.speaker and plan.keyword == source.keyword


def test_skews_plant_a_gender_imbalance_and_a_dominant_speaker() -> None:
    skews = (parse_skew("stop:female:0.9"), parse_skew("speaker:0.3"))
    plans = plan_takes(CrowdSpec(speakers=10, takes=3000, keywords=KEYWORDS, seed=2, skews=skews))
    stops = [p for p in plans if p.keyword == "stop" and p.speaker.index != 0]
    female = sum(p.speaker.gender == "female_feminine" for p in stops) / len(stops)
    assert 0.85 < female < 0.95
    share = collections.Counter(p.speaker.index for p in plans)[0] / len(plans)
    assert 0.3 < share < 0.4  # 30 % planted, plus its ordinary share of the rest


@pytest.mark.parametrize("text", ["stop:female", "stop:robot:0.5", "speaker:1.5", "speaker:x", ":female:0.5"])
def test_a_bad_skew_is_a_clear_error(text: str) -> None:
    with pytest.raises(PlanError, match="skew"):
        parse_skew(text)


# --- the command ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--speakers", "2"], "either --server URL or --serve"),
    (["--speakers", "2", "--serve", "--server", "http://127.0.0.1:1"], "either --server URL or --serve"),
    (["--speakers", "2", "--server", "http://x", "--data-dir", "d"], "go with --serve"),
    (["--speakers", "2", "--serve", "--serve-env", "FOO=1"], "WORDCROWD_NAME=VALUE"),
    (["--speakers", "2", "--serve", "--snr", "40:5"], "LOW must not be above HIGH"),
    (["--speakers", "2", "--serve", "--defects", "silence,hiss"], "unknown defect 'hiss'"),
])
def test_bad_options_are_one_line_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["simulate", *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_every_option_is_in_the_readme_and_in_docs() -> None:
    from simulation.cli import simulate

    root = Path(__file__).resolve().parent.parent
    lines = (root / "README.md").read_text().splitlines()
    row = next(line for line in lines if "`wordcrowd simulate" in line)
    guide = (root / "docs" / "simulate.md").read_text()
    for option in (opt for param in simulate.params for opt in param.opts if opt != "--help"):
        assert f"`{option}`" in row and f"`{option}" in guide, option


def test_an_unreachable_server_is_a_one_line_error() -> None:
    result = CliRunner().invoke(main, ["simulate", "--speakers", "1", "--server",
                                       f"http://127.0.0.1:{free_port()}", "--quiet"])
    assert result.exit_code == 1 and "cannot reach the collector" in result.output
    assert "Traceback" not in result.output


# --- a crowd against a real served collector --------------------------------------------------------------

def stored(db_url: str) -> dict:
    """Read back what the collector stored: clips by public id, votes, and declared profiles."""
    from collector.models import Clip, Contributor, Keyword, Vote

    engine = create_engine(db_url)
    with Session(engine) as session:
        clips = {c.public_id: (c, word, who) for c, word, who in session.execute(
            select(Clip, Keyword.word, Contributor.public_id).join(Keyword).join(
                Contributor, Clip.contributor_id == Contributor.id))}
        clips = {cid: {"keyword": word, "contributor_id": who, "status": c.status, "flags": list(c.flags),
                       "verdict": c.auto_verdict} for cid, (c, word, who) in clips.items()}
        votes = len(session.scalars(select(Vote.id)).all())
        profiles = {who.public_id: who.demographics.gender if who.demographics else None
                    for who in session.scalars(select(Contributor))}
    engine.dispose()
    return {"clips": clips, "votes": votes, "profiles": profiles}


def test_a_crowd_through_a_served_collector_matches_its_ground_truth(tmp_path: Path, db_url: str) -> None:
    truth = tmp_path / "truth.jsonl"
    result = CliRunner().invoke(main, [
        "simulate", "--serve", "--data-dir", str(tmp_path / "data"), "--serve-env",
        f"WORDCROWD_DATABASE_URL={db_url}", "--speakers", "3", "--takes", "4", "--seed", "11",
        "--defect-rate", "0.5", "--votes", "4", "--voter-error", "0", "--profile-share", "0.5",
        "--truth", str(truth), "--quiet", "--workers", "4"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in truth.read_text().splitlines()]
    uploads = [r for r in records if r["kind"] == "upload"]
    votes = [r for r in records if r["kind"] == "vote"]
    assert sorted(r["take"] for r in uploads) == list(range(12))  # originals first, then replays
    assert len({r["defect"] for r in uploads}) >= 3, "the seed should give a crowd with several defects"
    store = stored(db_url)
    accepted = [r for r in uploads if r["http_status"] == 201]
    assert sorted(store["clips"]) == sorted(r["clip_id"] for r in accepted)
    for record in accepted:
        clip = store["clips"][record["clip_id"]]
        assert clip["keyword"] == record["keyword"] and clip["contributor_id"] == record["contributor_id"]
        assert clip["flags"] == record["answer"]["flags"] and clip["verdict"] == record["answer"]["verdict"]
        declared = store["profiles"][record["contributor_id"]]
        assert declared == (record["declared"] or {}).get("gender")
    for record in uploads:
        if record["http_status"] != 201:
            assert record["clip_id"] is None and record["answer"]["error"]["code"]
        if record["defect"] in ("silence", "noise_only"):
            assert record["http_status"] == 422
        if record["defect"] == "duplicate":
            assert record["http_status"] == 409 and record["source_clip_id"] in store["clips"]
    assert votes and store["votes"] == sum(v["http_status"] == 201 for v in votes)
    for vote in votes:
        assert vote["valid"] == (vote["defect"] in ("clean", "duplicate", "near_duplicate"))


def test_a_server_with_production_limits_ends_the_run_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "simulate", "--serve", "--data-dir", str(tmp_path / "data"), "--serve-env",
        "WORDCROWD_RATELIMIT_CONTRIBUTORS=2 per hour", "--speakers", "3", "--takes", "1", "--quiet"])
    assert result.exit_code == 1 and "rate-limits POST /contributors" in result.output
    assert "docs/simulate.md" in result.output and "Traceback" not in result.output

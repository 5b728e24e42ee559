"""The bias and balance report: measures, flags on balanced and skewed crowds, and the command."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from curation.report import build_report
from curation.report.measures import effective_number, evenness, gini, independence, top_share
from curation.report.records import METRICS, ReportClip
from curation.splits import clip_filename, which_set
from tests.api_helpers import contributor, make_campaign, uploaded

KEYWORDS = ("yes", "no", "up", "down", "stop")
GENDERS = ("female_feminine", "male_masculine")
AGES = ("twenties", "thirties", "fourties", "fifties")


def crowd(speakers: int = 40, takes: int = 3, seed: int = 0) -> list[ReportClip]:
    """A balanced crowd: every speaker says every keyword `takes` times; genders and ages evenly spread."""
    rng = random.Random(seed)
    clips = []
    for n in range(speakers):
        speaker = f"{n:08x}"
        profile = {"age": AGES[n // 2 % len(AGES)], "gender": GENDERS[n % 2], "accent": f"accent {n}",
                   "native_language": "en"}
        for word in KEYWORDS:
            for _ in range(takes):
                clips.append(record(word, speaker, profile, rng))
    return clips


def record(word: str, speaker: str, profile: dict, rng: random.Random) -> ReportClip:
    """One clip with plausible metrics."""
    metrics = {name: rng.uniform(10, 40) for name in METRICS}
    return ReportClip(keyword=word, speaker=speaker, split=which_set(clip_filename(speaker, 0)),
                      status="pending", decision=None, up_votes=0, down_votes=0, flags=(), metrics=metrics,
                      demographics=profile)


def report(clips: list[ReportClip], **kwargs) -> dict:
    """Build a report of the test campaign."""
    campaign = {"slug": "kws", "title": "Test", "language": "en", "targets": dict.fromkeys(KEYWORDS, 100)}
    return build_report(clips, campaign=campaign, **kwargs)


def codes(made: dict) -> list[str]:
    """The codes of a report's flags."""
    return [flag["code"] for flag in made["flags"]]


def test_measures_match_their_definitions() -> None:
    """Gini, top shares, effective number, evenness and the independence test on known inputs."""
    assert gini([5, 5, 5, 5]) == pytest.approx(0)
    assert gini([0, 0, 0, 12]) == pytest.approx(0.75)
    assert top_share([50, 10, 10, 10, 10, 10], 0.10) == pytest.approx(0.5)
    assert effective_number([1, 1, 1, 1]) == pytest.approx(4)
    assert effective_number([97, 1, 1, 1]) == pytest.approx(1 / (0.97**2 + 3 * 0.01**2))
    assert evenness([3, 3, 3]) == pytest.approx(1) and evenness([9, 1, 0]) < 0.5
    assert independence([[50, 50], [50, 50]])["p_value"] == pytest.approx(1)
    # scipy.stats.chi2_contingency([[30, 10], [10, 30]], correction=False): chi2 20.0, p 7.74e-06
    assert independence([[30, 10], [10, 30]])["chi2"] == pytest.approx(20.0)
    assert independence([[30, 10], [10, 30]])["p_value"] == pytest.approx(7.744e-06, rel=1e-3)
    assert independence([[90, 10], [10, 90]])["p_value"] < 1e-6
    assert independence([[10, 0], [20, 0]]) is None  # one column: nothing to test


def test_a_balanced_crowd_is_not_flagged() -> None:
    """Every keyword alike, groups alike, no dominant speaker: no flag at all."""
    made = report(crowd())
    assert made["flags"] == []
    assert made["keywords"]["imbalance_ratio"] == 1.0 and made["keywords"]["evenness"] == pytest.approx(1)
    assert made["concentration"]["all"]["gini"] == pytest.approx(0)


def test_a_keyword_skewed_to_one_gender_is_flagged_in_plain_words() -> None:
    """'stop' said 90 % by women while other keywords are even: flagged with its share."""
    rng = random.Random(1)
    clips = [c for c in crowd() if c.keyword != "stop"]
    women = list({c.speaker: c for c in clips if c.demographics["gender"] == "female_feminine"}.values())
    men = list({c.speaker: c for c in clips if c.demographics["gender"] == "male_masculine"}.values())
    for n in range(60):
        source = women[n % len(women)] if n % 10 else men[n // 10]
        clips.append(record("stop", source.speaker, source.demographics, rng))
    made = report(clips)
    skews = [flag for flag in made["flags"] if flag["code"] == "keyword_group_skew"]
    assert len(skews) == 1 and "'stop' is 90 % female_feminine" in skews[0]["message"]


def test_a_dominant_speaker_is_flagged() -> None:
    """One speaker making 30 % of everything is named as such (without saying who)."""
    clips = crowd()
    rng = random.Random(2)
    heavy = clips[0]
    extra = int(0.3 * len(clips) / 0.7)
    clips += [record(KEYWORDS[n % len(KEYWORDS)], heavy.speaker, heavy.demographics, rng)
              for n in range(extra)]
    made = report(clips)
    dominant = [flag for flag in made["flags"] if flag["code"] == "dominant_speaker"]
    assert dominant and "one speaker made 3" in dominant[0]["message"]
    assert heavy.speaker not in json.dumps(made)


def test_small_groups_are_suppressed_and_free_text_never_shown() -> None:
    """A group of fewer than 5 speakers is not shown; one-person accents never appear."""
    clips = crowd()
    rare = {"age": "nineties", "gender": "intersex", "accent": "only me", "native_language": "en"}
    rng = random.Random(3)
    clips += [record("yes", f"f{n:07x}", rare, rng) for n in range(3)]
    made = report(clips)
    ages = [group["group"] for group in made["demographics"]["age"]["groups"]]
    assert "nineties" not in ages and made["demographics"]["age"]["suppressed_speakers"] == 3
    assert made["demographics"]["accent"]["groups"] == []
    assert "only me" not in json.dumps(made) and "accent 7" not in json.dumps(made)


def test_representation_against_a_reference_is_flagged() -> None:
    """Against a reference of 80 % men, an even crowd has women over-represented."""
    made = report(crowd(), reference={"gender": {"male_masculine": 0.8, "female_feminine": 0.2}})
    ratios = made["demographics"]["gender"]["representation"]
    assert ratios == {"male_masculine": 0.625, "female_feminine": 2.5}
    assert codes(made) == ["representation"]


def test_curate_report_writes_json_html_and_a_summary(app, client, tmp_path, monkeypatch) -> None:
    """From a real store: report.json and report.html with charts; the terminal names totals and flags."""
    make_campaign(app)
    for n in range(3):
        auth = contributor(client)
        uploaded(client, auth, "yes", seed=n)
    monkeypatch.setenv("WORDCROWD_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("WORDCROWD_SECRET_KEY", "report-test")
    from wordcrowd.cli import main

    result = CliRunner().invoke(main, ["curate", "report", "kws", "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "kws: 3 usable of 3 clips from 3 speakers" in result.output
    assert "few_speakers" not in result.output and "'yes' has clips from only 3 speakers" in result.output
    made = json.loads((tmp_path / "report" / "report.json").read_text())
    assert made["format_version"] == 1 and made["totals"]["clips"] == 3
    html = (tmp_path / "report" / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "Bias and balance" in html
    missing = CliRunner().invoke(main, ["curate", "report", "nope", "--out", str(tmp_path / "r2")])
    assert missing.exit_code == 1 and "no campaign 'nope'" in missing.output
    (tmp_path / "ref.json").write_text('{"height": {"tall": 1}}')
    bad = CliRunner().invoke(main, ["curate", "report", "kws", "--out", str(tmp_path / "r3"),
                                    "--reference", str(tmp_path / "ref.json")])
    assert bad.exit_code == 1 and "'height' is not a demographic field" in bad.output
    assert "Traceback" not in bad.output

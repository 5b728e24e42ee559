"""`wordcrowd curate import`: Speech Commands and Common Voice folders into a real store, and back out."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from collector.blobs import open_blob_store
from collector.campaigns import create_campaign
from collector.db import session_scope
from collector.migrate import upgrade
from collector.models import Clip, Consent, Contributor, Demographics, Erasure, Keyword
from collector.privacy import import_ref, pseudonym_key, speaker_id
from tests.conftest import SECRET
from tests.import_sources import (
    cv_client,
    sc_speaker,
    write_common_voice,
    write_speech_commands,
)
from wordcrowd.cli import main

SC_WORDS = ("yes", "no", "cat", "stop")  # "stop" is no word of the campaign: passed over
SC_SPEAKERS = 4
NOISE_SECONDS = (12.0, 70.0, 4.0)  # room sound is kept whole up to minutes; 4 s is too short for ambience
SC_CLIPS = 3 * SC_SPEAKERS + 2  # yes, no, cat by every speaker, and two noise files
# a .wav that is not audio and one cut short after its header: rejected, reported, not fatal
NOT_AUDIO, TRUNCATED = "0badf11e_nohash_0.wav", "5badf11e_nohash_0.wav"
CV_ROWS = (
    {"speaker": "0", "sentence": "Yes.", "age": "twenties", "gender": "male", "accents": "Scottish English"},
    {"speaker": "0", "sentence": "no!", "age": "twenties", "gender": "male", "accents": "Scottish English"},
    {"speaker": "1", "sentence": "No", "age": "fourties", "gender": "female", "accents": "India|South Asia"},
    {"speaker": "2", "sentence": "yes", "age": "", "gender": "other", "accents": ""},
    {"speaker": "3", "sentence": "Cat?", "age": "thirties", "gender": "non-binary", "accents": ""},
    {"speaker": "4", "sentence": "Hello there.", "age": "teens", "gender": "female"},  # no campaign word
    {"speaker": "5", "sentence": "yes", "locale": "de"},  # another language
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """A Speech Commands folder (with a broken file and background noise) and a Common Voice folder."""
    root = tmp_path_factory.mktemp("sources")
    sc = write_speech_commands(root / "sc", SC_WORDS, SC_SPEAKERS, noise_seconds=NOISE_SECONDS)
    (sc / "yes" / NOT_AUDIO).write_bytes(b"this is not audio at all" * 40)
    header = (sc / "no" / f"{sc_speaker(0)}_nohash_0.wav").read_bytes()[:44]
    (sc / "no" / TRUNCATED).write_bytes(header + bytes(10))
    cv = write_common_voice(root / "cv", CV_ROWS)
    return {"sc": sc, "cv": cv}


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> dict[str, str]:
    """A migrated store with campaign "kws" (keywords yes, no; auxiliary word cat; ambience) and CLI env."""
    upgrade(db_url)
    with session_scope(db_url) as session:
        create_campaign(session, "kws", ["yes", "no"], auxiliary_words=["cat"], ambience=True,
                        licenses=["CC0-1.0", "CC-BY-4.0"])
    return {"WORDCROWD_DATA_DIR": str(tmp_path), "WORDCROWD_DATABASE_URL": db_url,
            "WORDCROWD_STORAGE_URL": f"file://{tmp_path / 'blobs'}", "WORDCROWD_SECRET_KEY": SECRET}


def run(env: dict[str, str], *args: str) -> Result:
    """Run the wordcrowd CLI in the store's environment."""
    return CliRunner().invoke(main, list(args), env=env)


def import_sc(env: dict[str, str], src: Path, *extra: str) -> Result:
    return run(env, "curate", "import", str(src), "--format", "speech-commands", "--campaign", "kws",
               "--license", "CC-BY-4.0", "--no-progress", *extra)


def import_cv(env: dict[str, str], src: Path, *extra: str) -> Result:
    return run(env, "curate", "import", str(src), "--format", "common-voice", "--campaign", "kws",
               "--license", "CC0-1.0", "--no-progress", *extra)


def counts(db_url: str) -> tuple[int, int, int]:
    """Clips, contributors and consents in the store."""
    with session_scope(db_url) as session:
        return tuple(session.scalar(select(func.count()).select_from(table))  # type: ignore[return-value]
                     for table in (Clip, Contributor, Consent))


def test_speech_commands_import_is_idempotent_and_records_source_and_consent(store, sources, db_url):
    result = import_sc(store, sources["sc"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    n = SC_SPEAKERS  # and the source's room recordings, held under one speaker of their own
    assert lines[0] == f"imported {SC_CLIPS} clip(s) from speech-commands by {n + 1} speaker(s) ({n + 1} new)"
    assert lines[2].startswith("rejected 3 file(s): ")
    assert sorted(lines[2].split(": ")[1].split(", ")) == ["too_short 1", "undecodable 1",
                                                           "unsupported_media_type 1"]
    assert f"passed over {n} file(s) not for this campaign: not_a_campaign_word {n}" in lines
    assert counts(db_url) == (SC_CLIPS, n + 1, n + 1)
    with session_scope(db_url) as session:
        clips = session.scalars(select(Clip)).all()
        assert {clip.source for clip in clips} == {"speech-commands"}
        assert Counter((clip.keyword.word, clip.keyword.kind) for clip in clips) == {
            ("yes", "keyword"): n, ("no", "keyword"): n, ("cat", "auxiliary"): n,
            ("_ambience_", "ambience"): 2}
        ambience = sorted(clip.duration_ms for clip in clips if clip.keyword.kind == "ambience")
        assert ambience == [12000, 70000]  # whole, not a 1 s window
        blobs = open_blob_store(store["WORDCROWD_STORAGE_URL"])
        longest = next(clip for clip in clips if clip.duration_ms == 70000)
        assert len(blobs.get(longest.canonical_key)) == 44 + 70 * 16000 * 2
        consents = session.scalars(select(Consent)).all()
        assert {(c.kind, c.source, c.license, c.terms_url, c.consent_version, c.demographics_opt_in)
                for c in consents} == {("imported", "speech-commands", "CC-BY-4.0",
                                        "https://arxiv.org/abs/1804.03209", "imported", False)}
        contributors = session.scalars(select(Contributor)).all()
        # pseudonymous: no token, and the source's speaker id is kept only as a keyed hash
        assert all(c.token_hash is None and len(c.import_ref) == 64 for c in contributors)
        stored = {value for c in contributors for value in (c.public_id, c.import_ref)}
        assert not stored & {sc_speaker(n) for n in range(SC_SPEAKERS)}

    again = import_sc(store, sources["sc"], "--workers", "2")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[:2] == [
        "imported 0 clip(s) from speech-commands by 0 speaker(s) (0 new)",
        f"skipped {SC_CLIPS} file(s) already imported"]
    assert counts(db_url) == (SC_CLIPS, n + 1, n + 1)


def test_common_voice_import_maps_words_and_demographics(store, sources, db_url):
    result = import_cv(store, sources["cv"], "--workers", "2")  # decoded in worker processes
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "imported 5 clip(s) from common-voice by 4 speaker(s) (4 new)"
    passed = "passed over 2 file(s) not for this campaign: not_a_campaign_word 1, other_language 1"
    assert passed in result.stdout
    with session_scope(db_url) as session:
        rows = session.execute(
            select(Contributor.import_ref, Demographics.age, Demographics.gender, Demographics.accent)
            .outerjoin(Demographics, Demographics.contributor_id == Contributor.id)).all()
        key = pseudonym_key(session)
        by_speaker = {n: row[1:] for n in range(6) for row in rows
                      if row[0] == import_ref(key, "common-voice", cv_client(n))}
        assert by_speaker == {
            0: ("twenties", "male_masculine", "Scottish English"),
            1: ("fourties", "female_feminine", "India, South Asia"),
            2: (None, None, None),  # "other" says no newer code: undeclared, and no row at all
            3: ("thirties", "non-binary", None),
        }
        opted_in = dict(session.execute(select(Consent.contributor_id, Consent.demographics_opt_in)).all())
        assert sorted(opted_in.values()) == [False, True, True, True]
        words = session.scalars(select(Keyword.word).join(Clip, Clip.keyword_id == Keyword.id)).all()
        assert sorted(words) == ["cat", "no", "no", "yes", "yes"]
        assert {c.original_format for c in session.scalars(select(Clip))} == {"mp3"}

    again = import_cv(store, sources["cv"])
    assert again.exit_code == 0 and "skipped 5 file(s) already imported" in again.stdout
    assert counts(db_url) == (5, 4, 4)


def test_erasing_an_imported_speaker_removes_clips_and_blobs_and_keeps_them_out(store, sources, db_url,
                                                                                tmp_path):
    assert import_sc(store, sources["sc"]).exit_code == 0
    blobs = tmp_path / "blobs"
    before = sorted(path for path in blobs.rglob("*") if path.is_file())
    assert len(before) == 2 * SC_CLIPS  # canonical and original of every clip

    result = run(store, "contributor", "erase", "--source", "speech-commands", "--speaker", sc_speaker(0))
    assert result.exit_code == 0, result.output
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == SC_CLIPS - 3
        erased = session.scalars(select(Contributor).where(Contributor.erased_at.is_not(None))).one()
        key = pseudonym_key(session)
        assert session.scalar(select(Erasure.speaker_id)) == speaker_id(key, erased.public_id)
        assert all(c.withdrawn_at is not None for c in session.scalars(
            select(Consent).where(Consent.contributor_id == erased.id)))
        other = session.scalars(select(Contributor).join(Clip, Clip.contributor_id == Contributor.id)
                                .where(Contributor.erased_at.is_(None), Clip.keyword.has(word="yes"))).first()
        other_speaker = speaker_id(pseudonym_key(session), other.public_id)
    assert result.stdout == f"erased speaker {speaker_id_of(db_url, erased)}: 3 clip(s)\n"
    after = sorted(path for path in blobs.rglob("*") if path.is_file())
    assert len(after) == 2 * (SC_CLIPS - 3) and set(after) < set(before)

    again = import_sc(store, sources["sc"])  # an erased speaker is never imported again
    assert "skipped 3 file(s) of speakers erased since an earlier import" in again.stdout
    assert counts(db_url)[0] == SC_CLIPS - 3

    by_release_id = run(store, "contributor", "erase", "--speaker-id", other_speaker)
    assert by_release_id.exit_code == 0 and by_release_id.stdout.endswith(": 3 clip(s)\n")
    for args in (["--source", "speech-commands", "--speaker", sc_speaker(0)],  # already erased
                 ["--source", "speech-commands"], ["--speaker-id", "00000000"]):
        refused = run(store, "contributor", "erase", *args)
        assert refused.exit_code == 1 and refused.stderr.count("\n") == 1, refused.output


def speaker_id_of(db_url: str, contributor: Contributor) -> str:
    with session_scope(db_url) as session:
        return speaker_id(pseudonym_key(session), contributor.public_id)


def test_imported_clips_are_checked_and_released_with_source_and_licence(store, sources, db_url, tmp_path):
    assert import_sc(store, sources["sc"], "--keywords", "yes,no").exit_code == 0
    terms = ("--source", "cv-en-test", "--terms", "https://example.org/t")
    assert import_cv(store, sources["cv"], *terms).exit_code == 0
    checked = run(store, "curate", "check", "kws", "--only", "quality,duplicate", "--no-progress")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith(f"checked {2 * SC_SPEAKERS + 5} clips of kws")

    out = tmp_path / "release"
    released = run(store, "curate", "release", "kws", "--out", str(out), "--no-progress")
    assert released.exit_code == 0, released.output
    with (out / "clips.tsv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t"))
    assert sorted({(row["source"], row["license"], row["keyword"]) for row in rows}) == [
        ("cv-en-test", "CC0-1.0", "cat"), ("cv-en-test", "CC0-1.0", "no"), ("cv-en-test", "CC0-1.0", "yes"),
        ("speech-commands", "CC-BY-4.0", "no"), ("speech-commands", "CC-BY-4.0", "yes")]
    assert len(rows) == 2 * SC_SPEAKERS + 5
    # every source speaker is one release speaker, in one split: splits stay speaker-disjoint
    splits: dict[str, set[str]] = {}
    for row in rows:
        splits.setdefault(row["speaker_id"], set()).add(row["split"])
    assert len(splits) == SC_SPEAKERS + 4 and all(len(split) == 1 for split in splits.values())
    assert (out / "LICENSES" / "CC-BY-4.0.txt").is_file() and (out / "LICENSES" / "CC0-1.0.txt").is_file()
    credits = (out / "ATTRIBUTION.md").read_text(encoding="utf-8")  # CC BY asks to credit the dataset
    assert f"- `speech-commands`: {2 * SC_SPEAKERS} file(s) under CC-BY-4.0, terms " \
           "<https://arxiv.org/abs/1804.03209>" in credits
    assert "- `cv-en-test`: 5 file(s) under CC0-1.0, terms <https://example.org/t>" in credits
    with session_scope(db_url) as session:
        assert session.scalar(select(Consent.terms_url).where(Consent.source == "cv-en-test").limit(1)) == \
            "https://example.org/t"


def test_a_release_of_one_cc_by_source_credits_it(store, sources, tmp_path):
    """Word clips all CC-BY-4.0 beside CC0 generated noise (the datasheet's licence table failed on CC0)."""
    assert import_sc(store, sources["sc"], "--keywords", "yes,no").exit_code == 0
    out = tmp_path / "release"
    released = run(store, "curate", "release", "kws", "--out", str(out), "--no-progress")
    assert released.exit_code == 0, released.output
    assert f"| CC-BY-4.0 | {2 * SC_SPEAKERS} |" in (out / "datasheet.md").read_text(encoding="utf-8")
    credits = (out / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert f"- `speech-commands`: {2 * SC_SPEAKERS} file(s) under CC-BY-4.0" in credits


def test_bad_sources_and_requests_are_one_line_errors(tmp_path, sources):
    db_url = f"sqlite:///{tmp_path / 'wordcrowd.db'}"
    upgrade(db_url)
    with session_scope(db_url) as session:
        create_campaign(session, "kws", ["yes", "no"], licenses=["CC0-1.0"])
    env = {"WORDCROWD_DATA_DIR": str(tmp_path), "WORDCROWD_DATABASE_URL": db_url,
           "WORDCROWD_STORAGE_URL": f"file://{tmp_path / 'blobs'}", "WORDCROWD_SECRET_KEY": SECRET}
    bad_tsv = tmp_path / "bad"
    (bad_tsv / "clips").mkdir(parents=True)
    (bad_tsv / "validated.tsv").write_text("client_id\tsentence\nabc\tyes\n", encoding="utf-8")
    sc, cv, nowhere = str(sources["sc"]), str(sources["cv"]), str(tmp_path / "nowhere")
    base = ["curate", "import", "--campaign", "kws", "--no-progress"]
    for args, message in (
        ([str(bad_tsv), "--format", "common-voice", "--license", "CC0-1.0"], "lacks the column(s) path"),
        ([sc, "--format", "wav-folder", "--license", "CC0-1.0"], "unknown format 'wav-folder'"),
        ([nowhere, "--format", "speech-commands", "--license", "CC0-1.0"], "does not exist"),
        ([sc, "--format", "speech-commands", "--license", "CC-BY-4.0"], "does not allow licence 'CC-BY-4.0'"),
        ([sc, "--format", "speech-commands", "--license", "MIT"], "unknown licence 'MIT'"),
        ([sc, "--format", "speech-commands", "--license", "CC0-1.0", "--keywords", "up"], "'up' is not a"),
        ([sc, "--format", "speech-commands", "--license", "CC0-1.0", "--source", "web"], "source name 'web'"),
        ([cv, "--format", "speech-commands", "--license", "CC0-1.0"], "no <word>/*.wav files"),
        ([cv, "--format", "common-voice", "--license", "CC0-1.0", "--terms", "ftp://x"], "http(s) URL"),
    ):
        result = run(env, *base, *args)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    missing_campaign = run(env, "curate", "import", sc, "--format", "speech-commands", "--campaign", "nope",
                           "--license", "CC0-1.0")
    assert missing_campaign.exit_code == 1 and "no campaign 'nope'" in missing_campaign.stderr
    assert counts(db_url) == (0, 0, 0)


def test_import_and_erase_have_help():
    for command in (["curate", "import"], ["contributor", "erase"]):
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
    assert "speech-commands|common-voice" in CliRunner().invoke(main, ["curate", "import", "--help"]).output

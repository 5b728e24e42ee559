"""What a release carries beyond the keyword clips: background noise, auxiliary words, the per-speaker cap,
croissant.json and the datasheet's balance figures (real SQLite and PostgreSQL stores, real files)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from collector.blobs import open_blob_store
from collector.campaigns import create_campaign, get_campaign
from collector.db import session_scope
from collector.migrate import upgrade
from collector.models import AMBIENCE_WORD, Clip, ClipFinding, Consent, Contributor, Demographics
from collector.privacy import pseudonym_key, speaker_id
from curation.noise import generated_noise
from curation.release import build_release
from curation.release_format import read_background_tsv, read_clips_tsv, read_release
from curation.selection import cap_rank
from licenses import consent_sha256
from tests.speech import wav_bytes
from tests.test_release import T0, canonical_wav, pcm_sha256, populate, read_tsv, release, sid
from training.dataset import choose_labels
from wordcrowd.cli import main

GENERATED = ("_background_noise_/pink_noise.wav", "_background_noise_/white_noise.wav")
SPEAKERS = 6
# ambience recordings: (speaker, status, curator decision, seconds); 0 and 1 pass review, 2 and 3 do not
AMBIENCE = ((0, "validated", None, 12.0), (1, "pending", None, 20.0), (2, "invalidated", None, 15.0),
            (3, "pending", "reject", 10.0), (4, "invalidated", "approve", 11.0))


def ambience_wav(seconds: float, seed: int) -> bytes:
    """A canonical ambience recording: the whole 10-30 s of room sound, 16 kHz mono PCM16."""
    rng = np.random.default_rng(seed)
    hum = 0.02 * np.sin(2 * np.pi * 50 * np.arange(int(seconds * 16000)) / 16000)
    return wav_bytes(np.clip(hum + rng.normal(0, 0.01, len(hum)), -1, 1), 16000)


def store_clip(session, store, campaign, consent, word_id: int, wav: bytes, index: int, *,
               status: str = "pending", decision: str | None = None, up: int = 0, down: int = 0) -> Clip:
    """Store a clip and its canonical blob as the collector would (metrics made up but plausible)."""
    samples, _ = sf.read(io.BytesIO(wav), dtype="int16")
    clip = Clip(campaign_id=campaign.id, keyword_id=word_id, contributor_id=consent.contributor_id,
                consent_id=consent.id, canonical_key=f"clips/{campaign.slug}/c{index}.wav",
                original_key=f"originals/{campaign.slug}/c{index}.wav", original_format="wav",
                original_bytes=len(wav), original_sha256="0" * 64,
                sha256=hashlib.sha256(samples.astype("<i2").tobytes()).hexdigest(),
                duration_ms=len(samples) * 1000 // 16000, sample_rate_hz=16000, channels=1, peak_dbfs=-3.0,
                rms_dbfs=-20.0 - index % 7, clipped_fraction=0.0, dc_offset=0.0, snr_db=25.0 + index % 11,
                speech_ms=500, speech_segments=1, speech_at_edge=False, auto_verdict="accept", status=status,
                up_votes=up, down_votes=down, curator_decision=decision,
                created_at=T0 + timedelta(minutes=index))
    store.put(clip.canonical_key, wav)
    session.add(clip)
    return clip


def populate_kinds(db_url: str, store_url: str) -> dict:
    """A campaign with keywords yes/no, the auxiliary word 'cat' and ambience; six consenting speakers."""
    upgrade(db_url)
    store = open_blob_store(store_url)
    ids = []
    with session_scope(db_url) as session:
        campaign = create_campaign(session, "kinds", ["yes", "no"], title="Kinds", language="en",
                                   licenses=["CC0-1.0", "CC-BY-4.0"], auxiliary_words=["cat"], ambience=True)
        words = {k.word: k.id for k in campaign.keywords}
        index = 0
        consents = []
        for number in range(SPEAKERS):
            contributor = Contributor(created_at=T0)
            contributor.demographics = Demographics(age="twenties", gender="female_feminine")
            session.add(contributor)
            session.flush()
            ids.append(contributor.public_id)
            licence = ("CC0-1.0", "CC-BY-4.0")[number % 2]
            consent = Consent(contributor_id=contributor.id, campaign_id=campaign.id, consent_version="1",
                              consent_sha256=consent_sha256("1"), license=licence, age_confirmed=True,
                              demographics_opt_in=True)
            session.add(consent)
            session.flush()
            consents.append(consent)
            for word in ("yes", "no", "cat"):
                store_clip(session, store, campaign, consent, words[word], canonical_wav(word, index), index,
                           status="validated", up=2)
                index += 1
        for speaker, status, decision, seconds in AMBIENCE:
            store_clip(session, store, campaign, consents[speaker], words[AMBIENCE_WORD],
                       ambience_wav(seconds, index), index, status=status, decision=decision)
            index += 1
        key = pseudonym_key(session)
    return {"store": store, "ids": ids, "key": key, "db_url": db_url}


def kinds_release(world: dict, out: Path, **options):
    """Release the kinds campaign."""
    with session_scope(world["db_url"]) as session:
        return build_release(session, world["store"], get_campaign(session, "kinds"), out, progress=False,
                             **options)


@pytest.fixture
def world(db_url, tmp_path):
    """test_release's store (keywords only, demographics, votes, decisions), on SQLite then PostgreSQL."""
    return {**populate(db_url, f"file://{tmp_path / 'blobs'}"), "db_url": db_url}


@pytest.fixture
def kinds(db_url, tmp_path):
    """The campaign of every keyword kind, on SQLite then PostgreSQL."""
    return populate_kinds(db_url, f"file://{tmp_path / 'blobs'}")


def speaker(world: dict, number: int) -> str:
    """Speaker id of the kinds campaign's n-th contributor."""
    return speaker_id(world["key"], world["ids"][number])


def test_release_carries_reviewed_ambience_and_generated_noise(kinds, tmp_path):
    """_background_noise_/ holds the ambience that passed review (whole recordings) and white/pink noise."""
    out = tmp_path / "release"
    summary = kinds_release(kinds, out)
    noise = sorted(p.relative_to(out).as_posix() for p in (out / "_background_noise_").iterdir())
    passed = [f"_background_noise_/{speaker(kinds, n)}_ambience_0.wav" for n in (0, 1, 4)]
    assert noise == sorted([*passed, *GENERATED]) and summary.noise_files == 5
    for path in noise:  # TF train.py cuts 1 s windows out of each: every file is longer than 1 s at 16 kHz
        info = sf.info(out / path)
        assert info.samplerate == 16000 and info.channels == 1 and info.duration > 1.0
    assert sf.info(out / passed[1]).duration == pytest.approx(20.0)  # the whole recording, not a 1 s cut
    for name in GENERATED:
        assert sf.info(out / name).duration == 60.0

    rows = {row["path"]: row for row in read_background_tsv(out)}
    assert sorted(rows) == noise
    assert rows[passed[0]]["keyword"] == "_background_noise_" and rows[passed[0]]["license"] == "CC0-1.0"
    assert rows[passed[1]]["license"] == "CC-BY-4.0" and rows[passed[0]]["age"] == ""  # no demographics
    assert rows[GENERATED[1]]["source"] == "generated" and rows[GENERATED[1]]["speaker_id"] == ""
    assert not any(row["path"].startswith("_background_noise_") for row in read_clips_tsv(out))
    meta = json.loads((out / "release.json").read_text())
    assert meta["background_noise"] == {
        "directory": "_background_noise_", "files": 5, "recorded": 3,
        "generated": ["pink_noise.wav", "white_noise.wav"], "recorded_seconds": 43.0, "speakers": 3,
        "licenses": {"CC-BY-4.0": 1, "CC0-1.0": 4}}
    assert meta["clips"] == SPEAKERS * 3 and summary.clip_count == SPEAKERS * 3
    listed = [line.split("  ", 1)[1] for line in (out / "SHA256SUMS").read_text().splitlines()]
    assert set(noise) | {"background_noise.tsv", "croissant.json"} <= set(listed)
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, check=True)
    assert "## Background noise" in (out / "datasheet.md").read_text()

    strict = tmp_path / "validated"
    kinds_release(kinds, strict, validated_only=True)
    kept = sorted(p.name for p in (strict / "_background_noise_").iterdir())
    recorded = [f"{speaker(kinds, n)}_ambience_0.wav" for n in (0, 4)]
    assert kept == sorted(recorded + [g.split("/")[1] for g in GENERATED])
    assert (strict / GENERATED[0]).read_bytes() == (out / GENERATED[0]).read_bytes()  # deterministic


def test_generated_noise_is_white_and_pink():
    """White noise has a flat spectrum, pink noise falls ~3 dB per octave; the same bytes every call."""
    first, again = generated_noise(seconds=4), generated_noise(seconds=4)
    assert [n.wav for n in first] == [n.wav for n in again]
    for noise in first:
        samples, rate = sf.read(io.BytesIO(noise.wav))
        power = np.abs(np.fft.rfft(samples)) ** 2
        freqs = np.fft.rfftfreq(len(samples), 1 / rate)
        low, high = (power[(freqs >= f) & (freqs < 2 * f)].mean() for f in (250, 2000))
        drop = 10 * np.log10(low / high) / 3  # dB per octave over three octaves
        expected = 3.0 if noise.name == "pink_noise.wav" else 0.0
        assert abs(drop - expected) < 0.5, (noise.name, drop)
        assert noise.rms_dbfs == pytest.approx(-20.0, abs=0.2)


def test_auxiliary_words_are_folders_and_training_reads_them_as_unknown(kinds, tmp_path):
    """Auxiliary words are word folders; release.json lists them apart; training's labels leave them out."""
    out = tmp_path / "release"
    kinds_release(kinds, out)
    assert {p.name for p in out.iterdir() if p.is_dir()} == {"yes", "no", "cat", "_background_noise_",
                                                             "LICENSES"}
    meta = json.loads((out / "release.json").read_text())
    assert meta["keywords"] == ["yes", "no"] and meta["auxiliary_words"] == ["cat"]
    assert meta["format_version"] == 1 and meta["format_minor"] == 1
    assert meta["counts"]["keywords"] == {"cat": SPEAKERS, "no": SPEAKERS, "yes": SPEAKERS}
    indexed = read_release(out)
    assert indexed.words == ("cat", "no", "yes") and indexed.keywords == ("no", "yes")
    assert indexed.auxiliary_words == ("cat",) and len(indexed.noise_files) == 5
    assert choose_labels(indexed) == ["_silence_", "_unknown_", "no", "yes"]
    assert choose_labels(indexed, ["cat"]) == ["_silence_", "_unknown_", "cat"]  # still choosable
    datasheet = (out / "datasheet.md").read_text()
    assert "Auxiliary words (other words, the `_unknown_` class): `cat`." in datasheet


def test_cap_keeps_the_lowest_hashed_clips_per_speaker_and_word(world, tmp_path):
    """--max-per-speaker 1 keeps p0's 'yes' with the lowest hash of its id; reported in json and datasheet."""
    with session_scope(world["db_url"]) as session:
        p0 = [clip for clip in session.query(Clip).all()
              if clip.contributor.public_id == world["ids"]["p0"] and clip.keyword.word == "yes"]
        chosen = min(p0, key=cap_rank)
        chosen_key = chosen.canonical_key
        expected = pcm_sha256(world["store"].get(chosen_key))
    out = tmp_path / "capped"
    summary = release(world["db_url"], world["store"], out, max_per_speaker=1)
    _, rows = read_tsv(out / "clips.tsv")
    mine = [row for row in rows if row["speaker_id"] == sid(world, "p0") and row["keyword"] == "yes"]
    assert [row["sha256"] for row in mine] == [expected] and mine[0]["path"].endswith("_nohash_0.wav")
    meta = json.loads((out / "release.json").read_text())
    assert meta["filters"]["max_per_speaker"] == 1 and meta["capped"] == {"yes": 1}
    assert summary.clip_count == len(rows) == 18
    datasheet = (out / "datasheet.md").read_text()
    assert "at most 1 clips per speaker per word" in datasheet and "cap: yes 1 clips" in datasheet
    again = tmp_path / "again"  # the choice is stable: the same clip again
    release(world["db_url"], world["store"], again, max_per_speaker=1)
    assert (again / mine[0]["path"]).read_bytes() == (out / mine[0]["path"]).read_bytes()

    # as data grows, a new take ranked after the kept one changes nothing; one ranked before replaces it
    with session_scope(world["db_url"]) as session:
        kept = session.query(Clip).filter_by(canonical_key=chosen_key).one()
        ids = (f"{n:032x}" for n in range(10_000))
        later = next(i for i in ids if hashlib.sha256(i.encode()).hexdigest() > cap_rank(kept))
        earlier = next(i for i in ids if hashlib.sha256(i.encode()).hexdigest() < cap_rank(kept))
        add_take(session, world["store"], kept, later, 90)
    grown = tmp_path / "grown"
    release(world["db_url"], world["store"], grown, max_per_speaker=1)
    assert (grown / mine[0]["path"]).read_bytes() == (out / mine[0]["path"]).read_bytes()
    with session_scope(world["db_url"]) as session:
        kept = session.query(Clip).filter_by(canonical_key=chosen_key).one()
        newer = add_take(session, world["store"], kept, earlier, 91)
    replaced = tmp_path / "replaced"
    release(world["db_url"], world["store"], replaced, max_per_speaker=1)
    assert (replaced / mine[0]["path"]).read_bytes() == newer


def add_take(session, store, like: Clip, public_id: str, seed: int) -> bytes:
    """Store another take of `like`'s word by the same speaker, with a chosen public id; return its WAV."""
    wav = canonical_wav(like.keyword.word, seed)
    clip = Clip(public_id=public_id, campaign_id=like.campaign_id, keyword_id=like.keyword_id,
                contributor_id=like.contributor_id, consent_id=like.consent_id,
                canonical_key=f"clips/kws/extra{seed}.wav", original_key=f"originals/kws/extra{seed}.wav",
                original_format="wav", original_bytes=len(wav), original_sha256="0" * 64,
                sha256=pcm_sha256(wav), duration_ms=1000, sample_rate_hz=16000, channels=1, peak_dbfs=-3.0,
                rms_dbfs=-20.0, clipped_fraction=0.0, dc_offset=0.0, snr_db=30.0, speech_ms=500,
                speech_segments=1, speech_at_edge=False, auto_verdict="accept", status="pending",
                created_at=like.created_at + timedelta(days=1))
    store.put(clip.canonical_key, wav)
    session.add(clip)
    return wav


def test_cli_refuses_a_cap_below_one(tmp_path):
    """--max-per-speaker 0 is a one-line usage error."""
    result = CliRunner().invoke(main, ["curate", "release", "kws", "--out", str(tmp_path / "r"),
                                       "--max-per-speaker", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--max-per-speaker" in result.output and "0" in result.output


def test_datasheet_reports_balance_concentration_demographics_and_quality(world, tmp_path):
    """The datasheet carries the report's figures for the released clips, small cells suppressed."""
    out = tmp_path / "release"
    release(world["db_url"], world["store"], out)
    text = (out / "datasheet.md").read_text()
    section = text.split("## Balance and quality", 1)[1].split("## Licences", 1)[0]
    assert "| yes | 11 | 10 |" in section and "| no | 8 | 8 |" in section
    assert "Imbalance ratio (most over fewest clips per word) 1.375" in section
    # 10 speakers, p0 two clips of 'yes': 19 clips; concentration row of all clips
    assert "| all | 10 | 19 |" in section
    assert "| age | twenties | 5 | 50 % | 9 |" in section and "sixties" not in section  # 1 speaker: withheld
    assert "| gender | female_feminine | 5 | 50 % | 11 |" in section
    assert "| age | (undeclared) |  | 20 % |  |" in section  # p6 did not opt in, p10 gave no age
    assert "| snr_db | 31.26 | 31.26 | 31.26 | 31.26 | 31.26 |" in section
    assert "- one speaker made 16 % of the clips (flagged from 10 %)" in section  # p0: 3 of 19


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's, inside mlcroissant
def test_croissant_validates_and_loads_its_records(world, tmp_path):
    """croissant.json is valid Croissant 1.0 for mlcroissant, and its records are clips.tsv's rows."""
    mlc = pytest.importorskip("mlcroissant")
    out = tmp_path / "release"
    release(world["db_url"], world["store"], out)
    document = json.loads((out / "croissant.json").read_text())
    assert document["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    tsv = next(d for d in document["distribution"] if d["@id"] == "clips.tsv")
    assert tsv["sha256"] == hashlib.sha256((out / "clips.tsv").read_bytes()).hexdigest()
    assert {lic for lic in document["license"]} == {"https://creativecommons.org/licenses/by/4.0/",
                                                    "https://creativecommons.org/publicdomain/zero/1.0/"}
    dataset = mlc.Dataset(jsonld=out / "croissant.json")
    assert not dataset.metadata.ctx.issues.errors
    records = list(dataset.records("clips"))
    _, rows = read_tsv(out / "clips.tsv")

    def text(value) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    assert sorted(text(r["clips/path"]) for r in records) == sorted(row["path"] for row in rows)
    by_path = {text(r["clips/path"]): r for r in records}
    for row in rows:
        record = by_path[row["path"]]
        assert text(record["clips/keyword"]) == row["keyword"] and text(record["clips/split"]) == row["split"]
        assert text(record["clips/license"]) == row["license"]
        assert record["clips/up_votes"] == int(row["up_votes"])
    noise = list(dataset.records("background_noise"))
    assert sorted(text(r["background_noise/path"]) for r in noise) == [f"_background_noise_/{n}" for n in
                                                                        ("pink_noise.wav", "white_noise.wav")]


def test_ambience_not_longer_than_a_second_is_left_out_with_a_warning(kinds, tmp_path):
    """TF's train.py fails on a background file of 1 s or less: such a recording is left out and named."""
    with session_scope(kinds["db_url"]) as session:
        campaign = get_campaign(session, "kinds")
        word = next(k.id for k in campaign.keywords if k.word == AMBIENCE_WORD)
        consent = session.query(Consent).filter_by(campaign_id=campaign.id).order_by(Consent.id).all()[5]
        short = store_clip(session, kinds["store"], campaign, consent, word, ambience_wav(0.8, 99), 99,
                           status="validated", up=2)
        session.flush()
        short_id = short.public_id
    out = tmp_path / "release"
    summary = kinds_release(kinds, out)
    assert not (out / f"_background_noise_/{speaker(kinds, 5)}_ambience_0.wav").exists()
    assert summary.noise_files == 5 and any(short_id in warning for warning in summary.warnings)
    meta = json.loads((out / "release.json").read_text())
    assert meta["background_noise"]["recorded"] == 3
    assert any("not longer than 1 s" in warning for warning in meta["warnings"])
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, check=True)


def test_flagged_room_sound_waits_for_a_curator(kinds, tmp_path):
    """Room sound flagged at ingestion or by a check stays out of a release until a curator approves it."""
    with session_scope(kinds["db_url"]) as session:
        campaign = get_campaign(session, "kinds")
        word = next(k.id for k in campaign.keywords if k.word == AMBIENCE_WORD)
        consents = session.query(Consent).filter_by(campaign_id=campaign.id).order_by(Consent.id).all()
        talking = store_clip(session, kinds["store"], campaign, consents[5], word, ambience_wav(14, 97), 97)
        talking.auto_verdict, talking.flags = "review", ["speech_in_ambience"]
        found = store_clip(session, kinds["store"], campaign, consents[5], word, ambience_wav(16, 98), 98)
        approved = store_clip(session, kinds["store"], campaign, consents[5], word, ambience_wav(18, 96), 96,
                              decision="approve")
        approved.auto_verdict, approved.flags = "review", ["speech_in_ambience"]
        session.flush()
        session.add(ClipFinding(clip_id=found.id, check_name="quality", reason="talking", score=1.0))
    summary = kinds_release(kinds, tmp_path / "release")
    recorded = json.loads((tmp_path / "release" / "release.json").read_text())["background_noise"]["recorded"]
    assert summary.noise_files == 6 and recorded == 4  # the three of before and the approved one

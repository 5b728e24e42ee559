"""Release directories from a real store: layout, clip choice, splits, clips.tsv, licences, lineage."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from sqlalchemy import func, select

from collector.blobs import open_blob_store
from collector.campaigns import create_campaign, get_campaign
from collector.db import session_scope
from collector.migrate import upgrade
from collector.models import Clip, Consent, Contributor, Demographics, Erasure, Release, ReleaseClip
from collector.privacy import pseudonym_key, speaker_id
from curation.release import build_release
from curation.release_format import TSV_COLUMNS, ReleaseError
from curation.splits import hash_name, percentage_hash, split_warnings, which_set
from licenses import consent_sha256, get_license
from tests.conftest import SECRET
from tests.speech import espeak_samples, wav_bytes
from wordcrowd.cli import main

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
VOICES = ("en", "en-us", "en-gb-scotland")


@dataclass(frozen=True)
class Person:
    """A contributor of the test store and what they consented to."""

    name: str
    license: str
    opt_in: bool
    age: str | None
    gender: str | None
    accent: str | None = None
    withdrawn: bool = False


# Age "twenties" and gender "female_feminine" are carried by 5 released speakers (kept); every other value by
# fewer (blanked). p7's withdrawn male would make "male_masculine" reach 5 if it were wrongly counted.
PEOPLE = (
    Person("p0", "CC0-1.0", True, "twenties", "female_feminine", "scottish"),
    Person("p1", "CC-BY-4.0", True, "twenties", "male_masculine"),
    Person("p2", "CC-BY-4.0", True, "twenties", "male_masculine"),
    Person("p3", "CC0-1.0", True, "twenties", "male_masculine"),
    Person("p4", "CC0-1.0", True, "twenties", "male_masculine"),
    Person("p5", "CC0-1.0", True, "sixties", "female_feminine"),
    Person("p6", "CC0-1.0", False, "thirties", "female_feminine", "irish"),  # did not opt in
    Person("p7", "CC0-1.0", True, "twenties", "male_masculine", withdrawn=True),
    Person("p8", "CC0-1.0", True, "fifties", "female_feminine"),
    Person("p9", "CC0-1.0", True, "fifties", "female_feminine"),
    Person("p10", "CC0-1.0", True, None, "female_feminine"),
)
# (person, keyword, status, up, down, curator decision); listed in recording order
CLIPS = (
    *((p.name, "yes", "pending", 0, 0, None) for p in PEOPLE),
    *((p.name, "no", "pending", 1, 0, None) for p in PEOPLE if p.name not in ("p1", "p2", "p3", "p5")),
    ("p0", "yes", "validated", 2, 0, None),  # p0's second "yes": yes/<p0>_nohash_1.wav
    ("p1", "no", "invalidated", 0, 2, None),  # out: the votes invalidated it
    ("p2", "no", "pending", 1, 0, "reject"),  # out: a curator rejected it
    ("p3", "no", "validated", 3, 1, None),
    ("p5", "no", "invalidated", 1, 2, "approve"),  # in, as validated: the curator overrides the votes
)
RELEASED = len(CLIPS) - 2 - 2  # minus p7's two clips, the invalidated and the rejected one


def canonical_wav(word: str, seed: int) -> bytes:
    """A canonical clip: a spoken word, 16 kHz mono PCM16, exactly 1 s, with light noise unique per seed."""
    samples = espeak_samples(word, 16000, voice=VOICES[seed % len(VOICES)])[:16000]
    pad = 16000 - len(samples)
    samples = np.pad(samples, (pad // 2, pad - pad // 2))
    samples = samples + np.random.default_rng(seed).normal(0, 1e-3, 16000)
    return wav_bytes(np.clip(samples, -1, 1), 16000)


def pcm_sha256(wav: bytes) -> str:
    """Return the SHA-256 of a WAV's PCM16 samples (what the store keeps as a clip's sha256)."""
    samples, rate = sf.read(io.BytesIO(wav), dtype="int16")
    assert rate == 16000 and samples.shape == (16000,)
    return hashlib.sha256(samples.astype("<i2").tobytes()).hexdigest()


def populate(db_url: str, store_url: str, endpoint: str | None = None) -> dict[str, object]:
    """Build a campaign with consents, demographics, clips and blobs; return names → public ids and clips."""
    upgrade(db_url)
    store = open_blob_store(store_url, endpoint)
    ids: dict[str, str] = {}
    blobs: dict[str, bytes] = {}
    with session_scope(db_url) as session:
        campaign = create_campaign(session, "kws", ["yes", "no"], title="Test words", language="en",
                                   licenses=["CC0-1.0", "CC-BY-4.0"])
        words = {k.word: k for k in campaign.keywords}
        consents = {}
        for person in PEOPLE:
            contributor = Contributor(created_at=T0)
            if person.age or person.gender:
                contributor.demographics = Demographics(age=person.age, gender=person.gender,
                                                        accent=person.accent)
            session.add(contributor)
            session.flush()
            ids[person.name] = contributor.public_id
            consents[person.name] = Consent(
                contributor_id=contributor.id, campaign_id=campaign.id, consent_version="1",
                consent_sha256=consent_sha256("1"), license=person.license, age_confirmed=True,
                demographics_opt_in=person.opt_in, withdrawn_at=T0 if person.withdrawn else None)
            session.add(consents[person.name])
        session.flush()
        for index, (name, word, status, up, down, decision) in enumerate(CLIPS):
            wav = canonical_wav(word, index)
            clip = Clip(campaign_id=campaign.id, keyword_id=words[word].id,
                        contributor_id=consents[name].contributor_id, consent_id=consents[name].id,
                        canonical_key=f"clips/kws/c{index}.wav", original_key=f"originals/kws/c{index}.wav",
                        original_format="wav", original_bytes=len(wav), original_sha256="0" * 64,
                        sha256=pcm_sha256(wav), duration_ms=1000 + index,
                        sample_rate_hz=16000, channels=1, peak_dbfs=-3.0, rms_dbfs=-20.04,
                        clipped_fraction=0.0, dc_offset=0.0, snr_db=31.26, speech_ms=500, speech_segments=1,
                        speech_at_edge=False,
                        auto_verdict="accept", status=status, up_votes=up, down_votes=down,
                        curator_decision=decision, created_at=T0 + timedelta(minutes=index))
            store.put(clip.canonical_key, wav)
            blobs[clip.canonical_key] = wav
            session.add(clip)
        key = pseudonym_key(session)
        session.add(Erasure(speaker_id=speaker_id(key, ids["p7"]), clips_erased=0, erased_at=T0))
    return {"ids": ids, "blobs": blobs, "store": store, "key": key}


def release(db_url: str, store, out: Path, **options) -> object:
    """Build a release of the test campaign in its own transaction."""
    with session_scope(db_url) as session:
        return build_release(session, store, get_campaign(session, "kws"), out, progress=False, **options)


def read_tsv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Return clips.tsv's header and rows."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        return list(reader.fieldnames or []), list(reader)


def sid(world: dict, name: str) -> str:
    """Return a test person's speaker id."""
    return speaker_id(world["key"], world["ids"][name])


@pytest.fixture
def world(db_url, tmp_path):
    """The populated test store: SQLite, then PostgreSQL; blobs in a local directory."""
    return {**populate(db_url, f"file://{tmp_path / 'blobs'}"), "db_url": db_url}


def test_split_rule_matches_tensorflow_which_set():
    """Names from Speech Commands v0.02's own lists land where TF put them; the formula is TF's, by hand."""
    published = {"cat/2aa787cf_nohash_0.wav": "testing", "go/0ea0e2f4_nohash_1.wav": "testing",
                 "cat/8b775397_nohash_0.wav": "validation", "four/605ed0ff_nohash_0.wav": "validation"}
    for name, split in published.items():
        assert which_set(name) == split
    for name in ("yes/3cfc6b3a_nohash_2.wav", "no/8b775397_nohash_17.wav", "stop/00f0204f_nohash_0.wav"):
        speaker = name.split("/")[1].split("_nohash_")[0]
        by_hand = (int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 2**27) * (100.0 / (2**27 - 1))
        assert hash_name(name) == speaker and percentage_hash(name) == by_hand
        expected = "validation" if by_hand < 10 else "testing" if by_hand < 20 else "training"
        assert which_set(name) == expected


def test_release_holds_the_right_clips_in_the_speech_commands_layout(world, tmp_path):
    """Only consented, allowed, not invalidated or rejected clips; names, bytes, splits and clips.tsv rows."""
    out = tmp_path / "release"
    summary = release(world["db_url"], world["store"], out)
    assert summary.version == "1" and summary.clip_count == RELEASED and summary.speaker_count == 10
    wavs = sorted(p.relative_to(out).as_posix() for p in out.glob("[!_]*/*.wav"))
    assert len(wavs) == RELEASED
    assert {f"yes/{sid(world, 'p0')}_nohash_0.wav", f"yes/{sid(world, 'p0')}_nohash_1.wav"} <= set(wavs)
    assert not any(sid(world, "p7") in w for w in wavs)  # withdrawn consent
    assert f"no/{sid(world, 'p1')}_nohash_0.wav" not in wavs  # invalidated by votes
    assert f"no/{sid(world, 'p2')}_nohash_0.wav" not in wavs  # rejected by a curator
    # n counts in recording order: p0's first "yes" is clip 0 in CLIPS, the second is the later one
    first = (out / "yes" / f"{sid(world, 'p0')}_nohash_0.wav").read_bytes()
    assert first == world["blobs"]["clips/kws/c0.wav"]

    header, rows = read_tsv(out / "clips.tsv")
    assert header[: len(TSV_COLUMNS)] == list(TSV_COLUMNS) == (
        "path keyword speaker_id split license consent_version age gender accent language up_votes "
        "down_votes status duration_ms snr_db rms_dbfs sha256 source").split()
    assert sorted(r["path"] for r in rows) == wavs
    by_path = {r["path"]: r for r in rows}
    for path, row in by_path.items():
        assert row["split"] == which_set(path) and row["language"] == "en" and row["consent_version"] == "1"
        assert row["sha256"] == pcm_sha256((out / path).read_bytes())
    approved = by_path[f"no/{sid(world, 'p5')}_nohash_0.wav"]
    assert (approved["status"], approved["up_votes"], approved["down_votes"]) == ("validated", "1", "2")
    assert by_path[f"yes/{sid(world, 'p1')}_nohash_0.wav"]["license"] == "CC-BY-4.0"
    assert (approved["snr_db"], approved["rms_dbfs"], approved["source"]) == ("31.3", "-20.0", "web")

    for split in ("validation", "testing"):
        listed = set((out / f"{split}_list.txt").read_text().split())
        assert listed == {p for p, r in by_path.items() if r["split"] == split}
    speakers_per_split = {}
    for row in rows:
        speakers_per_split.setdefault(row["speaker_id"], set()).add(row["split"])
    assert all(len(s) == 1 for s in speakers_per_split.values())  # speaker-disjoint


def test_release_suppresses_small_demographic_cells(world, tmp_path):
    """Demographics only with an opt-in; age, gender, accent values of under 5 speakers are blanked."""
    out = tmp_path / "release"
    release(world["db_url"], world["store"], out)
    _, rows = read_tsv(out / "clips.tsv")
    person = {row["speaker_id"]: row for row in rows}
    row = {p.name: person[sid(world, p.name)] for p in PEOPLE if not p.withdrawn}
    assert {row[n]["age"] for n in ("p0", "p1", "p2", "p3", "p4")} == {"twenties"}
    assert {row[n]["age"] for n in ("p5", "p6", "p8", "p9", "p10")} == {""}  # 1, opted out, 2, 2, none
    assert {row[n]["gender"] for n in ("p0", "p5", "p8", "p9", "p10")} == {"female_feminine"}
    assert {row[n]["gender"] for n in ("p1", "p2", "p3", "p4")} == {""}  # 4 released men; p7 withdrew
    # one speaker's free-text accent would single them out: blanked like a rare age or gender
    assert row["p0"]["accent"] == "" and row["p6"]["accent"] == "" and row["p6"]["gender"] == ""


def test_release_documents_licences_deletions_checksums_and_lineage(world, tmp_path):
    """LICENSES, ATTRIBUTION, deletions.txt, release.json, datasheet, SHA256SUMS, Release rows."""
    out = tmp_path / "release"
    summary = release(world["db_url"], world["store"], out)
    assert sorted(p.name for p in (out / "LICENSES").iterdir()) == ["CC-BY-4.0.txt", "CC0-1.0.txt"]
    assert (out / "LICENSES" / "CC-BY-4.0.txt").read_text() == get_license("CC-BY-4.0").text()
    attribution = (out / "ATTRIBUTION.md").read_text()
    assert "wordcrowd campaign Test words, speakers listed by pseudonymous id in clips.tsv" in attribution
    assert get_license("CC-BY-4.0").url in attribution and "Attribution 4.0 International" in attribution
    assert (out / "deletions.txt").read_text() == f"{sid(world, 'p7')}\n"

    meta = json.loads((out / "release.json").read_text())
    assert meta["format_version"] == 1 and meta["version"] == "1"
    assert meta["campaign"] == {"slug": "kws", "title": "Test words", "language": "en"}
    assert meta["counts"]["keywords"] == {"no": 8, "yes": 11}
    assert meta["counts"]["licenses"] == {"CC-BY-4.0": 2, "CC0-1.0": 17}
    assert sum(meta["counts"]["splits"].values()) == RELEASED and meta["speakers"] == 10
    assert [lic["spdx"] for lic in meta["licenses"]] == ["CC-BY-4.0", "CC0-1.0"]
    assert datetime.fromisoformat(meta["created"]).tzinfo is not None
    datasheet = (out / "datasheet.md").read_text()
    assert "## Composition" in datasheet and f"{RELEASED} one-second clips" in datasheet
    assert "| twenties | 5 |" in datasheet

    sums = (out / "SHA256SUMS").read_text().splitlines()
    listed = [line.split("  ", 1)[1] for line in sums]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert listed == sorted(listed) == [f for f in files if f != "SHA256SUMS"]
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, check=True)
    assert not list(tmp_path.glob(".release.*"))  # the temp dir was renamed, not left behind

    with session_scope(world["db_url"]) as session:
        row = session.scalars(select(Release)).one()
        assert (row.version, row.clip_count, row.path) == ("1", RELEASED, str(out.resolve()))
        assert row.checksum == summary.checksum
        assert row.checksum == hashlib.sha256((out / "SHA256SUMS").read_bytes()).hexdigest()
        lineage = session.execute(select(ReleaseClip.path, Clip.canonical_key).join(Clip)).all()
    generated = {"_background_noise_/white_noise.wav", "_background_noise_/pink_noise.wav"}
    wavs = [f for f in listed if f.endswith(".wav") and f not in generated]
    assert sorted(path for path, _ in lineage) == wavs
    for path, key in lineage:
        assert (out / path).read_bytes() == world["blobs"][key]


def test_later_releases_number_on_and_filter(world, tmp_path):
    """A second release is "2" and lists only new erasures; CC0-only and validated-only filters hold."""
    db_url, store = world["db_url"], world["store"]
    release(db_url, store, tmp_path / "r1")
    with session_scope(db_url) as session:
        session.add(Erasure(speaker_id="0badf00d", clips_erased=3, erased_at=datetime.now(UTC)))
    second = release(db_url, store, tmp_path / "r2", licenses=["CC0-1.0"])
    assert second.version == "2" and second.licenses == ["CC0-1.0"] and second.clip_count == RELEASED - 2
    r2 = tmp_path / "r2"
    assert (r2 / "deletions.txt").read_text() == "0badf00d\n"
    assert not (r2 / "ATTRIBUTION.md").exists() and not (r2 / "LICENSES" / "CC-BY-4.0.txt").exists()
    assert {row["license"] for row in read_tsv(r2 / "clips.tsv")[1]} == {"CC0-1.0"}
    assert json.loads((r2 / "release.json").read_text())["previous_version"] == "1"

    third = release(db_url, store, tmp_path / "r3", validated_only=True, version="2026.03-validated")
    _, rows = read_tsv(tmp_path / "r3" / "clips.tsv")
    assert third.version == "2026.03-validated" and len(rows) == 3  # two validated, one curator-approved
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 3


def test_failures_leave_no_half_release(world, tmp_path):
    """A missing blob, a used out dir, a taken version or a foreign licence: an error, and nothing written."""
    db_url, store = world["db_url"], world["store"]
    store.delete("clips/kws/c5.wav")
    with pytest.raises(ReleaseError, match="missing from the blob store"):
        release(db_url, store, tmp_path / "broken")
    assert not (tmp_path / "broken").exists() and not list(tmp_path.glob(".broken*"))  # nor a temp dir
    store.put("clips/kws/c5.wav", world["blobs"]["clips/kws/c5.wav"])

    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    with pytest.raises(ReleaseError, match="is not empty"):
        release(db_url, store, tmp_path / "used")
    assert [p.name for p in (tmp_path / "used").iterdir()] == ["keep.txt"]
    with pytest.raises(ReleaseError, match="unknown licence"):
        release(db_url, store, tmp_path / "r", licenses=["GPL-3.0"])
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 0
    (tmp_path / "empty").mkdir()  # an existing empty directory is fine
    assert release(db_url, store, tmp_path / "empty").version == "1"
    with pytest.raises(ReleaseError, match="already has a release '1'"):
        release(db_url, store, tmp_path / "again", version="1")


def cli_env(tmp_path: Path, db_url: str, storage_url: str, endpoint: str | None = None) -> dict[str, str]:
    """Environment for the CLI on the test store."""
    env = {"WORDCROWD_DATA_DIR": str(tmp_path / "instance"), "WORDCROWD_DATABASE_URL": db_url,
           "WORDCROWD_STORAGE_URL": storage_url, "WORDCROWD_SECRET_KEY": SECRET}
    if endpoint:
        env["WORDCROWD_S3_ENDPOINT_URL"] = endpoint
    return env


def test_cli_releases_from_s3_and_answers_mistakes_in_one_line(tmp_path, s3_url, s3_endpoint):
    """`wordcrowd curate release` over blobs on the S3 server; unknown campaign and used dir exit 1."""
    db_url = f"sqlite:///{tmp_path / 'wordcrowd.db'}"
    world = populate(db_url, s3_url, s3_endpoint)
    env = cli_env(tmp_path, db_url, s3_url, s3_endpoint)
    runner = CliRunner()
    out = tmp_path / "release"
    args = ["curate", "release", "kws", "--out", str(out), "--license", "CC0-1.0,CC-BY-4.0", "--no-progress"]
    result = runner.invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert f"release 1 of kws: {RELEASED} clips from 10 speakers" in result.stdout
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, check=True)
    key = "clips/kws/c0.wav"
    assert (out / "yes" / f"{sid(world, 'p0')}_nohash_0.wav").read_bytes() == world["blobs"][key]

    for args, message in (
        (["curate", "release", "nope", "--out", str(tmp_path / "x")], "no campaign 'nope'"),
        (["curate", "release", "kws", "--out", str(out)], "is not empty"),
        (["curate", "release", "kws", "--out", str(tmp_path / "y"), "--license", "MIT"], "unknown licence"),
    ):
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def training_public_ids(count: int, key: str) -> list[str]:
    """Contributor ids whose speaker ids (under the store's key) the split rule all sends to training."""
    found, number = [], 0
    while len(found) < count:
        candidate = f"{number:032x}"
        if which_set(f"{speaker_id(key, candidate)}_nohash_0.wav") == "training":
            found.append(candidate)
        number += 1
    return found


def test_split_warnings_name_the_counts_and_the_reason():
    assert split_warnings([("a", "training"), ("b", "validation"), ("c", "testing")]) == []
    only_training = split_warnings([("a", "training"), ("a", "training"), ("b", "training")])
    assert len(only_training) == 2 and only_training[0].startswith("the validation split is empty")
    assert "none of the 2 speakers" in only_training[1]
    assert "training 3 clips of 2 speakers" in only_training[1]
    assert "--split validation" in only_training[1]


def test_release_with_an_empty_testing_split_warns(world, tmp_path):
    """Too few speakers for the split rule: release.json lists warnings with the counts; the CLI says so."""
    db_url = world["db_url"]
    with session_scope(db_url) as session:
        contributors = session.scalars(select(Contributor).order_by(Contributor.id)).all()
        chosen = training_public_ids(len(contributors), pseudonym_key(session))
        for contributor, public_id in zip(contributors, chosen, strict=True):
            contributor.public_id = public_id
    env, out = cli_env(tmp_path, db_url, f"file://{tmp_path / 'blobs'}"), tmp_path / "release"
    args = ["curate", "release", "kws", "--out", str(out), "--no-progress"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "release.json").read_text())
    assert meta["counts"]["splits"] == {"training": RELEASED, "validation": 0, "testing": 0}
    assert [w.split(":")[0] for w in meta["warnings"]] == ["the validation split is empty",
                                                           "the testing split is empty"]
    assert f"training {RELEASED} clips of 10 speakers" in meta["warnings"][1]
    assert all(f"Warning: {warning}." in result.stderr for warning in meta["warnings"])


def test_cli_release_on_a_database_never_migrated_names_db_upgrade(tmp_path):
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}", f"file://{tmp_path / 'blobs'}")
    result = CliRunner().invoke(main, ["curate", "release", "kws", "--out", str(tmp_path / "r")], env=env)
    assert result.exit_code == 1 and "never migrated" in result.stderr
    assert "`wordcrowd db upgrade`" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "r").exists()


def test_cli_help_lists_the_release_options():
    """`wordcrowd curate release --help` documents every option."""
    result = CliRunner().invoke(main, ["curate", "release", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--validated-only", "--license", "--version"):
        assert option in result.output


def test_speaker_ids_do_not_depend_on_the_working_directory_or_session_secret(tmp_path, monkeypatch):
    """Two releases from two directories with two session secrets: the same speakers and the same splits."""
    db_url = f"sqlite:///{tmp_path / 'wordcrowd.db'}"
    world = populate(db_url, f"file://{tmp_path / 'blobs'}")
    env = {"WORDCROWD_DATABASE_URL": db_url, "WORDCROWD_STORAGE_URL": f"file://{tmp_path / 'blobs'}"}
    for variable in ("WORDCROWD_DATA_DIR", "WORDCROWD_SECRET_KEY"):
        monkeypatch.delenv(variable, raising=False)
    made = []
    for name, secret in (("one", "first-secret"), ("two", None)):  # "two" gets a ./instance/secret_key
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        out = tmp_path / f"release-{name}"
        secrets = {"WORDCROWD_SECRET_KEY": secret} if secret else {}
        args = ["curate", "release", "kws", "--out", str(out), "--version", name, "--no-progress"]
        result = CliRunner().invoke(main, args, env={**env, **secrets})
        assert result.exit_code == 0, result.output
        made.append(out)
    assert (tmp_path / "two" / "instance" / "secret_key").read_text() != "first-secret"
    first, second = ([(row["path"], row["speaker_id"], row["split"]) for row in rows]
                     for rows in (read_tsv(out / "clips.tsv")[1] for out in made))
    assert first == second and {speaker for _, speaker, _ in first} >= {sid(world, "p0"), sid(world, "p1")}
    for split in ("validation_list.txt", "testing_list.txt"):
        assert (made[0] / split).read_text() == (made[1] / split).read_text()


class StoreWithHook:
    """The real blob store; `before_get(key, reads)` runs before each read (a deletion racing the release)."""

    def __init__(self, store, before_get) -> None:
        self.store, self.before_get, self.reads = store, before_get, []

    def get(self, key: str) -> bytes:
        self.reads.append(key)
        self.before_get(key, self.reads)
        return self.store.get(key)

    def __getattr__(self, name):
        return getattr(self.store, name)


def start_deletion(db_url: str, store, key: str, *, remove_blob: bool) -> str:
    """Do what DELETE /clips does first: mark the clip with this blob (then remove the blob); its id."""
    with session_scope(db_url) as session:
        clip = session.scalars(select(Clip).where(Clip.canonical_key == key)).one()
        clip.deleting_at = datetime.now(UTC)
        public_id = clip.public_id
    if remove_blob:
        store.delete(key)
    return public_id


def released_keys(db_url: str) -> set[str]:
    """Return the blob keys of the clips the (only) recorded release holds."""
    with session_scope(db_url) as session:
        return set(session.scalars(select(Clip.canonical_key).join(ReleaseClip)))


@pytest.mark.parametrize("when", ["before_its_copy", "after_its_copy"])
def test_a_clip_deleted_while_the_release_runs_is_skipped_and_reported(world, tmp_path, when):
    """Deleted before its audio is read, or after: left out of files, lists and lineage, and reported."""
    db_url, store, deleted = world["db_url"], world["store"], {}

    def delete_one(key, reads):
        if when == "before_its_copy" and len(reads) == 1:
            deleted["key"] = "clips/kws/c5.wav" if key != "clips/kws/c5.wav" else "clips/kws/c4.wav"
            deleted["id"] = start_deletion(db_url, store, deleted["key"], remove_blob=True)
        if when == "after_its_copy" and len(reads) == RELEASED:
            deleted["key"] = reads[0]
            deleted["id"] = start_deletion(db_url, store, deleted["key"], remove_blob=False)

    out = tmp_path / "release"
    summary = release(db_url, StoreWithHook(store, delete_one), out)
    assert summary.skipped == [deleted["id"]] and summary.clip_count == RELEASED - 1
    assert len(list(out.glob("[!_]*/*.wav"))) == RELEASED - 1 == len(read_tsv(out / "clips.tsv")[1])
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, check=True)
    assert deleted["key"] not in released_keys(db_url) and len(released_keys(db_url)) == RELEASED - 1


def test_audio_missing_with_no_deletion_fails_naming_the_clips(world, tmp_path):
    """A blob gone while its clip is not being deleted is data loss: the release fails and names it."""
    with session_scope(world["db_url"]) as session:
        lost = session.scalars(select(Clip.public_id).where(Clip.canonical_key == "clips/kws/c3.wav")).one()
    world["store"].delete("clips/kws/c3.wav")
    with pytest.raises(ReleaseError, match=f"clip\\(s\\) {lost} is missing"):
        release(world["db_url"], world["store"], tmp_path / "release")


def test_a_failed_commit_publishes_nothing(world, tmp_path, monkeypatch):
    """The release's record cannot be committed: no directory is left at OUT, and no record either."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    def failing_commit(self):
        raise OperationalError("COMMIT", {}, Exception("the database went away"))

    out = tmp_path / "release"
    monkeypatch.setattr(Session, "commit", failing_commit)
    with pytest.raises(OperationalError):
        release(world["db_url"], world["store"], out)
    monkeypatch.undo()
    assert not out.exists() and not list(tmp_path.glob(".release*"))
    with session_scope(world["db_url"]) as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 0


def test_a_failed_publish_records_nothing(world, tmp_path, monkeypatch):
    """The directory cannot be moved into place: the store records no release."""
    import curation.release

    def failing_publish(tmp, out):
        raise ReleaseError(f"cannot move the release into {out}: injected")

    monkeypatch.setattr(curation.release, "_publish", failing_publish)
    with pytest.raises(ReleaseError, match="injected"):
        release(world["db_url"], world["store"], tmp_path / "release")
    monkeypatch.undo()
    assert not list(tmp_path.glob(".release*"))
    with session_scope(world["db_url"]) as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 0

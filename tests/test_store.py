"""The store on real SQLite and PostgreSQL: migrations, constraints, cascades, sessions, campaigns."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from collector import db
from collector.campaigns import (
    DEFAULT_KEYWORDS,
    CampaignError,
    create_campaign,
    ensure_default_campaign,
    get_campaign,
    list_campaigns,
)
from collector.db import make_engine, session_scope
from collector.migrate import current_revision, head_revision, upgrade
from collector.models import Base, Campaign, Clip, Consent, Contributor, Vote
from collector.privacy import pseudonym_key
from licenses import CATALOGUE, CURRENT_CONSENT_VERSION


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a freshly migrated database."""
    upgrade(db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def add_clip(session: Session, campaign: Campaign, contributor: Contributor, sha256: str) -> Clip:
    """Add a consented clip with plausible metrics, flushed."""
    consent = Consent(contributor_id=contributor.id, campaign_id=campaign.id, consent_version="1",
                      consent_sha256="0" * 64, license="CC0-1.0", age_confirmed=True)
    session.add(consent)
    session.flush()
    clip = Clip(campaign_id=campaign.id, keyword_id=campaign.keywords[0].id, contributor_id=contributor.id,
                consent_id=consent.id, canonical_key=f"clips/{sha256}.wav", original_key=f"orig/{sha256}.wav",
                original_format="wav", original_bytes=32044, original_sha256=sha256, sha256=sha256,
                duration_ms=1000, sample_rate_hz=16000, channels=1, peak_dbfs=-3.0, rms_dbfs=-20.0,
                clipped_fraction=0.0, dc_offset=0.0, snr_db=30.0, speech_ms=400, speech_segments=1,
                speech_at_edge=False, auto_verdict="accept")
    session.add(clip)
    session.flush()
    return clip


def test_upgrade_is_idempotent_and_reaches_head(db_url: str) -> None:
    assert current_revision(db_url) is None
    upgrade(db_url)
    upgrade(db_url)
    assert current_revision(db_url) == head_revision() is not None
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the migration creates exactly models.py's schema."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_engine_pragmas_and_parent_dir(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'store.db'}")
    try:
        with engine.connect() as connection:
            values = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                      for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")]
    finally:
        engine.dispose()
    assert values == ["wal", 1, 30000, 1]  # synchronous 1 = NORMAL
    assert (tmp_path / "deep" / "er" / "store.db").is_file()


def test_bare_postgresql_urls_use_psycopg_3() -> None:
    for url in ("postgresql://u@127.0.0.1/db", "postgres://u@127.0.0.1/db"):
        engine = make_engine(url)  # no connection is opened here
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        engine.dispose()


def test_clip_sha256_is_unique_per_campaign(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = create_campaign(session, "first", ["yes"])
        second = create_campaign(session, "second", ["yes"])
        contributor = Contributor()
        session.add(contributor)
        session.flush()
        add_clip(session, first, contributor, "a" * 64)
        add_clip(session, second, contributor, "a" * 64)  # the same audio in another campaign is fine
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        add_clip(session, session.get(Campaign, first.id), session.get(Contributor, contributor.id), "a" * 64)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == 2


def test_one_vote_per_voter_and_votes_go_with_their_clip(engine: Engine) -> None:
    with session_scope(engine) as session:
        campaign = create_campaign(session, "votes", ["yes"])
        author, voter = Contributor(), Contributor()
        session.add_all([author, voter])
        session.flush()
        clip = add_clip(session, campaign, author, "b" * 64)
        session.add(Vote(clip_id=clip.id, voter_id=voter.id, valid=True))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Vote(clip_id=clip.id, voter_id=voter.id, valid=False, reason="wrong_word"))
        session.flush()
    with session_scope(engine) as session:
        session.delete(session.get(Clip, clip.id))  # the database, not the ORM, cascades to the votes
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Vote)) == 0


def test_slug_is_unique_in_the_database(engine: Engine) -> None:
    with session_scope(engine) as session:
        create_campaign(session, "taken", ["yes"])
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Campaign(slug="taken", title="t", language="en", licenses=[], consent_version="1"))
        session.flush()


def test_session_scope_commits_or_rolls_back(db_url: str) -> None:
    upgrade(db_url)
    with pytest.raises(RuntimeError), session_scope(db_url) as session:
        session.add(Campaign(slug="lost", title="lost", language="en", licenses=["CC0-1.0"],
                             consent_version="1"))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(db_url) as session:
        made = create_campaign(session, "kept", ["yes"])
    assert made.slug == "kept"  # still readable after the commit
    with session_scope(db_url) as session:
        assert [c.slug for c in list_campaigns(session)] == ["kept"]


def test_request_session_is_shared_and_closed_on_teardown(db_url: str) -> None:
    upgrade(db_url)
    app = Flask(__name__)
    app.config["DATABASE_URL"] = db_url
    db.init_app(app)
    with app.app_context():
        session = db.get_session()
        assert db.get_session() is session
        session.add(Campaign(slug="uncommitted", title="u", language="en", licenses=["CC0-1.0"],
                             consent_version="1"))
        session.flush()
    with app.app_context():
        assert get_campaign(db.get_session(), "uncommitted") is None  # teardown rolled it back
    with app.app_context():
        db.get_engine().dispose()  # after teardown gave the connection back


def test_create_campaign_normalises_and_defaults(engine: Engine) -> None:
    with session_scope(engine) as session:
        made = create_campaign(session, "mixed-1", [" Yes", "NO", "Ça va", "don't", "ok google", "八"],
                               title=" Mixed ", language="zh-hant-tw", target_count=50)
    with session_scope(engine) as session:
        campaign = get_campaign(session, made.slug)
        assert [k.word for k in campaign.keywords] == ["yes", "no", "ça va", "don't", "ok google", "八"]
        assert [k.target_count for k in campaign.keywords] == [50] * 6
        assert (campaign.title, campaign.language) == ("Mixed", "zh-Hant-TW")
        assert campaign.licenses == list(CATALOGUE)
        assert campaign.consent_version == CURRENT_CONSENT_VERSION


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "x" * 65}, "slug"),
        ({"keywords": []}, "at least one keyword"),
        ({"keywords": ["yes", "YES"]}, "twice"),
        ({"keywords": ["_silence_"]}, "keyword"),
        ({"keywords": ["semi;colon"]}, "keyword"),
        ({"keywords": ["x" * 65]}, "keyword"),
        ({"language": "english"}, "BCP-47"),
        ({"language": "en_US"}, "BCP-47"),
        ({"licenses": ["GPL-3.0-only"]}, "unknown licence"),
        ({"licenses": []}, "at least one licence"),
        ({"target_count": 0}, "target count"),
        ({"title": "   "}, "title"),
    ],
)
def test_create_campaign_rejects_bad_input(arguments: dict, message: str, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"  # validation is the same on every database
    upgrade(url)
    call = {"slug": "ok", "keywords": ["yes"], **arguments}
    with pytest.raises(CampaignError, match=message), session_scope(url) as session:
        create_campaign(session, call.pop("slug"), call.pop("keywords"), **call)


def test_duplicate_slug_is_a_campaign_error(engine: Engine) -> None:
    with session_scope(engine) as session:
        create_campaign(session, "twice", ["yes"])
    with pytest.raises(CampaignError, match="already exists"), session_scope(engine) as session:
        create_campaign(session, "twice", ["no"])


def test_default_campaign_is_seeded_once(engine: Engine) -> None:
    for _ in range(2):
        with session_scope(engine) as session:
            ensure_default_campaign(session, "yes-no")
    with session_scope(engine) as session:
        campaigns = list_campaigns(session)
        assert [c.slug for c in campaigns] == ["yes-no"]
        assert tuple(k.word for k in campaigns[0].keywords) == DEFAULT_KEYWORDS
        assert campaigns[0].language == "en"


def test_concurrent_upgrades_serialise(db_url: str) -> None:
    """Several processes starting at once on a fresh database all succeed (the migration runs once)."""
    code = "import sys; from collector.migrate import upgrade; upgrade(sys.argv[1])"
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-c", code, db_url]
    procs = [subprocess.Popen(command, cwd=root, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [proc.communicate(timeout=60)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    assert current_revision(db_url) == head_revision()


@pytest.mark.postgres
def test_app_engine_closes_its_connections_when_the_app_goes(postgres_url: str) -> None:
    """No 'connection deleted while open' warning (an error here) when a test's app is collected."""
    upgrade(postgres_url)
    app = Flask(__name__)
    app.config["DATABASE_URL"] = postgres_url
    db.init_app(app)
    with app.app_context():
        assert list_campaigns(db.get_session()) == []
    del app
    gc.collect()


def _store_with_a_contributor(db_url: str) -> None:
    """A store at revision 0001 (before the key moved into it) that has published speaker ids."""
    upgrade(db_url, "0001")
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO contributors (public_id, created_at) VALUES ('c1', :now)"),
                           {"now": datetime.now(UTC)})
    engine.dispose()


def _pseudonym_key(db_url: str) -> str:
    with session_scope(db_url) as session:
        return pseudonym_key(session)


@pytest.mark.parametrize("source", ["environment", "data_dir"])
def test_an_existing_store_keeps_its_speaker_ids(db_url: str, tmp_path, monkeypatch, source: str) -> None:
    """The migration seeds the store's key from the session secret in use, so published ids stay."""
    _store_with_a_contributor(db_url)
    monkeypatch.setenv("WORDCROWD_DATA_DIR", str(tmp_path / "instance"))
    if source == "environment":
        monkeypatch.setenv("WORDCROWD_SECRET_KEY", "the-old-secret")
    else:
        monkeypatch.delenv("WORDCROWD_SECRET_KEY", raising=False)
        (tmp_path / "instance").mkdir()
        (tmp_path / "instance" / "secret_key").write_text("the-old-secret\n")
    upgrade(db_url)
    assert _pseudonym_key(db_url) == "the-old-secret"


def test_a_new_store_gets_a_fresh_key_and_no_file_anywhere(db_url: str, tmp_path, monkeypatch) -> None:
    """A store with no contributors published nothing: a random key; no secret_key file is created."""
    monkeypatch.setenv("WORDCROWD_SECRET_KEY", "session-secret")
    monkeypatch.setenv("WORDCROWD_DATA_DIR", str(tmp_path / "instance"))
    upgrade(db_url)
    key = _pseudonym_key(db_url)
    assert len(key) == 64 and key != "session-secret" and not (tmp_path / "instance").exists()
    upgrade(db_url)
    assert _pseudonym_key(db_url) == key

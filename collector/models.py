"""The store's schema: campaigns, contributors, consents, clips, votes, curators, releases, store keys."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

from collector.metrics import METRIC_TYPES, METRICS

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CLIP_STATUSES = ("pending", "validated", "invalidated")
AUTO_VERDICTS = ("accept", "review")
CURATOR_DECISIONS = ("approve", "reject")
# what a campaign prompts for: its keywords, auxiliary words (the release's `_unknown_` material) and
# room ambience (the release's `_background_noise_`), one Keyword row each (docs/formats.md)
KEYWORD_KINDS = ("keyword", "auxiliary", "ambience")
AMBIENCE_WORD = "_ambience_"  # the one Keyword row of kind "ambience"; no user keyword starts with "_"
# how a consent came about: given by the contributor here, or imported with an existing dataset's speaker
# under that dataset's licence and terms (curation.imports, docs/import.md)
CONSENT_KINDS = ("given", "imported")


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Return a stored time as aware UTC (SQLite gives back naive UTC datetimes, PostgreSQL aware ones)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_public_id() -> str:
    """Return a random, unguessable public identifier (32 hex characters)."""
    return uuid.uuid4().hex


SQL_TYPES: dict[type, type[TypeEngine]] = {int: Integer, float: Float, bool: Boolean}


def _metric_columns() -> type:
    """Return a mixin with one NOT NULL column per field of metrics.Quality (its name, type, default)."""
    columns: dict[str, object] = {"__annotations__": {}}
    for metric in METRICS:
        kind = METRIC_TYPES[metric.name]
        default = {} if metric.default is dataclasses.MISSING else {"default": metric.default}
        columns["__annotations__"][metric.name] = Mapped[kind]
        columns[metric.name] = mapped_column(SQL_TYPES[kind], nullable=False, **default)
    return type("QualityColumns", (), columns)


QualityColumns = _metric_columns()


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (Alembic needs them)."""

    metadata = MetaData(naming_convention=NAMING)


class Campaign(Base):
    """A collection drive: keywords in one language under a consent text and allowed licences."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(35))  # BCP-47
    licenses: Mapped[list[str]] = mapped_column(JSON)  # allowed SPDX ids
    consent_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    keywords: Mapped[list[Keyword]] = relationship(
        back_populates="campaign", order_by="Keyword.position", cascade="all, delete-orphan"
    )


class Keyword(Base):
    """A word a campaign asks for, with the number of clips it aims at."""

    __tablename__ = "keywords"
    __table_args__ = (UniqueConstraint("campaign_id", "word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    word: Mapped[str] = mapped_column(String(64))
    target_count: Mapped[int] = mapped_column(Integer, default=1000)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # one of KEYWORD_KINDS
    kind: Mapped[str] = mapped_column(String(16), default="keyword", server_default="keyword")

    campaign: Mapped[Campaign] = relationship(back_populates="keywords")


class Contributor(Base):
    """An anonymous contributor: a public pseudonymous id and the SHA-256 of its bearer token."""

    __tablename__ = "contributors"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # an imported speaker: HMAC of (source, the source's speaker id) under the pseudonymisation key, so a
    # re-import finds them again (and an erased one stays erased) without storing the source's id
    import_ref: Mapped[str | None] = mapped_column(String(64), unique=True)

    demographics: Mapped[Demographics | None] = relationship(
        back_populates="contributor", cascade="all, delete-orphan", uselist=False
    )


class Demographics(Base):
    """Optional, self-declared demographics in Common Voice codes; empty means undeclared."""

    __tablename__ = "demographics"

    contributor_id: Mapped[int] = mapped_column(
        ForeignKey("contributors.id", ondelete="CASCADE"), primary_key=True
    )
    age: Mapped[str | None] = mapped_column(String(16))
    gender: Mapped[str | None] = mapped_column(String(32))
    accent: Mapped[str | None] = mapped_column(String(100))
    native_language: Mapped[str | None] = mapped_column(String(35))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    contributor: Mapped[Contributor] = relationship(back_populates="demographics")


class Consent(Base):
    """One explicit consent: which text (version, language, SHA-256), licence, when given and withdrawn."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    contributor_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    consent_version: Mapped[str] = mapped_column(String(32))
    consent_sha256: Mapped[str] = mapped_column(String(64))  # of the text in consent_language
    # BCP-47 tag of the text agreed to; consents given before texts were translated were to the English one
    consent_language: Mapped[str] = mapped_column(String(35), server_default="en")
    license: Mapped[str] = mapped_column(String(32))  # SPDX id
    age_confirmed: Mapped[bool] = mapped_column(Boolean)
    demographics_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16), default="given", server_default="given")  # CONSENT_KINDS
    source: Mapped[str | None] = mapped_column(String(64))  # imported: the dataset's name (clips.source)
    terms_url: Mapped[str | None] = mapped_column(String(500))  # imported: where the dataset's terms are

    @property
    def active(self) -> bool:
        """True while neither withdrawn nor replaced by a newer consent."""
        return self.withdrawn_at is None and self.superseded_at is None


class Clip(QualityColumns, Base):
    """One recording: blobs (canonical and original), quality metrics, automatic verdict, votes and status.

    The quality metrics (DESIGN §5) are columns derived from collector.metrics.Quality, kept so rules can be
    re-thresholded without re-processing.
    """

    __tablename__ = "clips"
    __table_args__ = (UniqueConstraint("campaign_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    keyword_id: Mapped[int] = mapped_column(ForeignKey("keywords.id"), index=True)
    contributor_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"), index=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    source: Mapped[str] = mapped_column(String(64), default="web")
    canonical_key: Mapped[str] = mapped_column(String(255))
    original_key: Mapped[str] = mapped_column(String(255))
    original_format: Mapped[str] = mapped_column(String(16))
    original_bytes: Mapped[int] = mapped_column(Integer)
    original_sha256: Mapped[str] = mapped_column(String(64), index=True)  # imports skip files held
    sha256: Mapped[str] = mapped_column(String(64))  # of the canonical PCM samples
    auto_verdict: Mapped[str] = mapped_column(String(16))  # AUTO_VERDICTS
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)  # reason codes
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # CLIP_STATUSES
    up_votes: Mapped[int] = mapped_column(Integer, default=0)
    down_votes: Mapped[int] = mapped_column(Integer, default=0)
    curator_decision: Mapped[str | None] = mapped_column(String(16))  # CURATOR_DECISIONS
    curator_id: Mapped[int | None] = mapped_column(ForeignKey("curators.id"))
    curator_reason: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # set when a deletion starts: the clip is hidden at once, then its blobs and its row are removed
    # (`wordcrowd db sweep` finishes a deletion a crash or failure interrupted)
    deleting_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    keyword: Mapped[Keyword] = relationship()
    contributor: Mapped[Contributor] = relationship()
    consent: Mapped[Consent] = relationship()
    campaign: Mapped[Campaign] = relationship()


class Vote(Base):
    """A peer's judgement of one clip: valid or not, with a reason for 'not'."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("clip_id", "voter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    voter_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"), index=True)
    valid: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))
    # whether the vote counts towards the clip's status: its voter met the voter rule when voting (votes.py)
    counted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Curator(Base):
    """A person who reviews clips and publishes releases; password stored as a salted hash."""

    __tablename__ = "curators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # consecutive
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CuratorDecision(Base):
    """One curator decision on one clip, with what it replaced, so it can be audited and undone."""

    __tablename__ = "curator_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    curator_id: Mapped[int] = mapped_column(ForeignKey("curators.id"), index=True)
    batch: Mapped[str] = mapped_column(String(32), index=True)  # decisions taken in one step share it
    decision: Mapped[str] = mapped_column(String(16))  # CURATOR_DECISIONS
    reason: Mapped[str | None] = mapped_column(String(200))
    previous_decision: Mapped[str | None] = mapped_column(String(16))
    previous_curator_id: Mapped[int | None] = mapped_column(ForeignKey("curators.id"))
    previous_reason: Mapped[str | None] = mapped_column(String(200))
    previous_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Erasure(Base):
    """A withdrawal: the pseudonymous speaker id that later releases list in deletions.txt."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    speaker_id: Mapped[str] = mapped_column(String(16), index=True)
    clips_erased: Mapped[int] = mapped_column(Integer, default=0)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoreKey(Base):
    """A secret kept with the data it protects (the pseudonymisation key of speaker ids), made once."""

    __tablename__ = "store_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Release(Base):
    """A published release of a campaign: where it went and which clips it holds (lineage)."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    clip_count: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))  # SHA-256 of SHA256SUMS
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReleaseClip(Base):
    """Which clip went into which release, under which file name."""

    __tablename__ = "release_clips"

    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(255))


class ClipFinding(Base):
    """One automatic check's finding on a clip (curation's `curate check`), replaced per run of that check."""

    __tablename__ = "clip_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    check_name: Mapped[str] = mapped_column(String(32), index=True)  # curation.checks.CHECKS
    reason: Mapped[str] = mapped_column(String(64))  # a snake_case code
    score: Mapped[float] = mapped_column(Float)  # higher is more suspicious; the review queue orders by it
    detail: Mapped[str] = mapped_column(String(300), default="")
    related_clip: Mapped[str | None] = mapped_column(String(32))  # public id of the clip it resembles
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

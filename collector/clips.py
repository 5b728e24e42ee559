"""Clips: store all-or-nothing, read, list, delete crash-safely, the review queue, prompts and the sweep."""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload

from collector.blobs import BlobStore
from collector.campaigns import SPOKEN_KINDS
from collector.consents import refuse_if_withdrawn
from collector.errors import ApiError, Conflict, NotFound
from collector.metrics import METRIC_NAMES
from collector.models import Campaign, Clip, Consent, Contributor, Curator, Keyword, Vote, as_utc, utcnow

log = logging.getLogger(__name__)

# the quality metrics stored per clip (DESIGN §5): the clip's columns of the same names (collector.metrics)
METRIC_COLUMNS = METRIC_NAMES
CONTENT_TYPES = {
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg", "webm": "audio/webm",
    "mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac",
}
BLOB_PREFIXES = ("clips/", "originals/")
SWEEP_BATCH = 500
# A clip whose deletion has started is gone for every reader: lists, queues, audio, stats, releases.
LIVE = Clip.deleting_at.is_(None)
RETRY_AFTER_S = 60


class DeletionIncomplete(ApiError):
    """503: the clip is hidden, but its audio could not be removed yet; a retry or `db sweep` finishes."""

    status = 503

    def __init__(self) -> None:
        super().__init__("unavailable", "The audio could not be removed yet; it is hidden from everyone "
                         "now and will be removed shortly (deleting a clip again confirms it).",
                         headers={"Retry-After": str(RETRY_AFTER_S)})


# The upload path's statements, built once with bound parameters: building and hashing a statement per
# request cost more CPU than running it (0.1 ms of SQLAlchemy each; benchmarks/RESULTS.md).
_KEYWORD = select(Keyword).where(Keyword.campaign_id == bindparam("campaign_id"),
                                 Keyword.word == bindparam("word"))
_INSERT_CLIP = insert(Clip.__table__)
_DUPLICATE = select(Clip.id).where(Clip.campaign_id == bindparam("campaign_id"),
                                   Clip.sha256 == bindparam("sha256"))


def new_clip_id() -> str:
    """Return a clip id in the UUIDv7 layout: 48 bits of milliseconds, then 74 random bits (32 hex)."""
    # the time inside lets sweep_orphans date a blob from its key alone; 74 random bits keep it unguessable
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | secrets.randbits(12) << 64
    value |= 0b10 << 62 | secrets.randbits(62)
    return f"{value:032x}"


def clip_id_time(clip_id: str) -> float | None:
    """Return the creation time (Unix seconds) inside a new_clip_id(), or None for any other name."""
    if len(clip_id) != 32 or clip_id[12] != "7":
        return None
    try:
        return int(clip_id[:12], 16) / 1000
    except ValueError:
        return None


def clip_quality(clip: Clip) -> dict[str, Any]:
    """Return the clip's stored quality metrics."""
    return {name: getattr(clip, name) for name in METRIC_COLUMNS}


def clip_summary(clip: Clip) -> dict[str, Any]:
    """Return what a contributor sees of one of their clips."""
    return {
        "clip_id": clip.public_id,
        "campaign": clip.campaign.slug,
        "keyword": clip.keyword.word,
        "kind": clip.keyword.kind,
        "status": clip.status,
        "verdict": clip.auto_verdict,
        "flags": list(clip.flags or []),
        "quality": clip_quality(clip),
        "created_at": as_utc(clip.created_at).isoformat(),
    }


def keyword_named(session: Session, campaign: Campaign, word: object) -> Keyword | None:
    """Return the campaign's keyword spelled `word` (case and surrounding spaces ignored), or None."""
    if not isinstance(word, str):
        return None
    return session.scalar(_KEYWORD, {"campaign_id": campaign.id, "word": word.strip().lower()})


def live_clip_ids(session: Session, ids: Sequence[int], *, lock: bool = False) -> set[int]:
    """Return which of these clip row ids exist and are not being deleted; lock=True share-locks them."""
    live: set[int] = set()
    for batch in _batches(iter(ids), SWEEP_BATCH):  # bounded IN lists: databases cap bound parameters
        query = select(Clip.id).where(Clip.id.in_(batch), LIVE)
        live.update(session.scalars(query.with_for_update(read=True) if lock else query))
    return live


def find_clip(session: Session, clip_id: str, *, lock: bool = False) -> Clip | None:
    """Return the clip with this public id, or None; lock=True holds its row until commit (votes)."""
    query = select(Clip).where(Clip.public_id == clip_id)
    return session.scalar(query.with_for_update() if lock else query)


def _duplicate(session: Session, campaign: Campaign, sha256: str) -> Conflict | None:
    if session.scalar(_DUPLICATE, {"campaign_id": campaign.id, "sha256": sha256}) is None:
        return None
    return Conflict("duplicate", "This recording is already in the campaign.")


def _delete_blobs(store: BlobStore, keys: Iterable[str]) -> None:
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # the answer stands; sweep_orphans removes what is left behind
            log.exception("could not delete blob %s; sweep_orphans will", key)


def store_clip(session: Session, store: BlobStore, *, campaign: Campaign, keyword: Keyword,
               contributor: Contributor, consent: Consent, ingested: Any, source: str = "web") -> Clip:
    """Write both blobs, insert the row, commit if consent still holds; on any failure remove the blobs."""
    duplicate = _duplicate(session, campaign, ingested.sha256)
    if duplicate is not None:
        raise duplicate
    clip_id = new_clip_id()
    fmt = ingested.original_format
    keys = (f"clips/{campaign.slug}/{clip_id}.wav", f"originals/{campaign.slug}/{clip_id}.{fmt}")
    written: list[str] = []
    try:
        blobs = (ingested.canonical_wav, ingested.original)
        for key, data, content_type in zip(keys, blobs, ("audio/wav", CONTENT_TYPES.get(fmt)), strict=True):
            written.append(key)  # before put: a put that fails half-way may still leave an object
            store.put(key, data, content_type or "application/octet-stream")
        clip = _insert_clip(session, dict(
            public_id=clip_id, campaign_id=campaign.id, keyword_id=keyword.id, contributor_id=contributor.id,
            consent_id=consent.id, source=source, canonical_key=keys[0], original_key=keys[1],
            original_format=fmt, original_bytes=len(ingested.original),
            original_sha256=ingested.original_sha256, sha256=ingested.sha256,
            auto_verdict=ingested.verdict, flags=list(ingested.flags), status="pending",
            up_votes=0, down_votes=0, curator_decision=None, curator_id=None, curator_reason=None,
            decided_at=None, created_at=utcnow(),
            **{name: getattr(ingested.quality, name) for name in METRIC_COLUMNS},
        ))
        # Read after the INSERT, inside its transaction: SQLite's write lock, or on PostgreSQL the key-share
        # lock the insert takes on the contributor row (erasure locks it FOR UPDATE first), orders this
        # upload before or after an erasure, never across it.
        refuse_if_withdrawn(session, consent)
        _commit_keeping_loaded(session)
    except IntegrityError:
        session.rollback()
        _delete_blobs(store, written)
        # the unique (campaign, sha256) constraint caught a concurrent upload of the same recording
        duplicate = _duplicate(session, campaign, ingested.sha256)
        if duplicate is not None:
            raise duplicate from None
        raise
    except BaseException:
        session.rollback()
        _delete_blobs(store, written)
        raise
    return clip


def _insert_clip(session: Session, values: dict[str, Any]) -> Clip:
    # A Core INSERT, then the row as a persistent Clip in the session: the same outcome as session.add()
    # and a flush, without the unit of work's bookkeeping (0.15 ms a clip; benchmarks/RESULTS.md).
    # Every column is in `values`, so the object is fully loaded and reading it needs no SELECT.
    row_id = session.execute(_INSERT_CLIP, values).inserted_primary_key[0]
    clip = Clip(id=row_id, **values)
    make_transient_to_detached(clip)
    session.add(clip)
    return clip


def _commit_keeping_loaded(session: Session) -> None:
    # the caller answers from the clip it just wrote: expiring it would cost a SELECT of the same row
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def delete_clip(session: Session, store: BlobStore, clip: Clip) -> None:
    """Delete one clip: mark it (hidden at once) and commit, remove its blobs, then its row; commits."""
    mark_deleting(session, Clip.id == clip.id)
    session.commit()
    finish_deletions(session, store, Clip.id == clip.id)


def mark_deleting(session: Session, where: ColumnElement[bool]) -> None:
    """Mark the live clips matching `where` as being deleted; no commit (the caller's unit of work does)."""
    session.execute(update(Clip).where(where, LIVE).values(deleting_at=utcnow()),
                    execution_options={"synchronize_session": False})


def finish_deletions(session: Session, store: BlobStore, where: ColumnElement[bool] | None = None) -> int:
    """Remove the blobs, then the rows, of marked clips (those matching `where`); commit; return rows removed.

    A blob that cannot be deleted raises DeletionIncomplete (503); rows that cannot be removed once their
    audio is gone stay marked, hidden from every reader, for `wordcrowd db sweep`.
    """
    marked = select(Clip.id, Clip.canonical_key, Clip.original_key).where(Clip.deleting_at.is_not(None))
    rows = session.execute(marked if where is None else marked.where(where)).all()
    session.rollback()  # no read transaction held open while the blob store works
    removed = 0
    for batch in _batches(iter(rows), SWEEP_BATCH):
        for row in batch:
            try:
                store.delete(row.canonical_key)
                store.delete(row.original_key)
            except Exception as exc:  # the row stays marked (hidden); a retry or `db sweep` finishes
                log.warning("could not delete the blobs of a clip being deleted: %s", type(exc).__name__)
                raise DeletionIncomplete() from exc
        try:  # votes on the clips and their release entries go with them (ON DELETE CASCADE)
            session.execute(delete(Clip).where(Clip.id.in_([row.id for row in batch])),
                            execution_options={"synchronize_session": False})
            session.commit()
        except SQLAlchemyError as exc:  # the audio is gone and the rows hidden: `db sweep` removes them
            session.rollback()
            log.warning("could not remove the rows of deleted clips: %s", type(exc).__name__)
            return removed
        removed += len(batch)
    return removed


def contributor_clips(session: Session, contributor: Contributor) -> list[Clip]:
    """Return the contributor's clips, newest first."""
    query = (
        select(Clip)
        .options(selectinload(Clip.keyword), selectinload(Clip.campaign))
        .where(Clip.contributor_id == contributor.id, LIVE)
        .order_by(Clip.created_at.desc(), Clip.id.desc())
    )
    return list(session.scalars(query))


def readable_clip(session: Session, clip_id: str, contributor: Contributor | None,
                  curator: Curator | None) -> Clip:
    """Return the clip if the caller may hear it (own, in a review queue, or a curator), else raise 404."""
    clip = find_clip(session, clip_id)
    if clip is not None and clip.deleting_at is None:
        if curator is not None:
            return clip
        if contributor is not None and (clip.contributor_id == contributor.id or clip.status == "pending"):
            return clip
    raise NotFound("not_found", "There is no such clip, or it is not yours to hear.")


def review_queue(session: Session, campaign: Campaign, voter: Contributor, count: int) -> list[Clip]:
    """Return the campaign's pending word clips the voter may judge (not own, not voted), fewest votes first.

    Room ambience is left to curators (docs/ambience-and-auxiliary-words.md): half a minute of room sound is
    no question of the right word, and peers would only hear it to the end to say "no speech".
    """
    voted = select(Vote.clip_id).where(Vote.voter_id == voter.id)
    spoken = select(Keyword.id).where(Keyword.campaign_id == campaign.id, Keyword.kind.in_(SPOKEN_KINDS))
    query = (
        select(Clip)
        .options(selectinload(Clip.keyword))
        .where(Clip.campaign_id == campaign.id, Clip.status == "pending", Clip.contributor_id != voter.id,
               Clip.id.not_in(voted), Clip.keyword_id.in_(spoken), LIVE)
        .order_by(Clip.up_votes + Clip.down_votes, Clip.created_at, Clip.id)
        .limit(count)
    )
    return list(session.scalars(query))


def _clip_counts(session: Session, campaign: Campaign, contributor: Contributor | None) -> dict[int, int]:
    query = select(Clip.keyword_id, func.count()).where(
        Clip.campaign_id == campaign.id, Clip.status != "invalidated", LIVE
    ).group_by(Clip.keyword_id)
    if contributor is not None:
        query = query.where(Clip.contributor_id == contributor.id)
    return dict(session.execute(query).all())


def prompts(session: Session, campaign: Campaign, contributor: Contributor, count: int,
            rng: random.Random | None = None) -> list[Keyword]:
    """Return `count` words to record (keywords and auxiliary words): furthest from target, then fewest mine.

    Need is the share of a word's target already accepted, so auxiliary words with a smaller target than the
    keywords come up less often; ambience is never a prompt (the recorder asks for it as its own step).
    """
    rng = rng or random.Random()
    everyone = _clip_counts(session, campaign, None)
    mine = _clip_counts(session, campaign, contributor)
    spoken = {kw.id: kw for kw in campaign.keywords if kw.kind in SPOKEN_KINDS}
    # each pick counts as one more clip, so asking for more prompts than words goes round them all
    ranks = {kid: [everyone.get(kid, 0) / max(kw.target_count, 1), mine.get(kid, 0), rng.random(), kid]
             for kid, kw in spoken.items()}
    chosen = []
    for _ in range(count if ranks else 0):
        rank = min(ranks.values())
        kw = spoken[rank[3]]
        chosen.append(kw)
        rank[0], rank[1], rank[2] = rank[0] + 1 / max(kw.target_count, 1), rank[1] + 1, rng.random()
    return chosen


def _batches(keys: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(keys, size)):
        yield batch


def sweep_orphans(session: Session, store: BlobStore, older_than_s: float = 3600) -> list[str]:
    """Delete blobs under clips/ and originals/ that no clip row names (a crash between write and commit)."""
    cutoff = time.time() - older_than_s
    deleted: list[str] = []
    for prefix in BLOB_PREFIXES:
        column = Clip.canonical_key if prefix == "clips/" else Clip.original_key
        for batch in _batches(iter(store.keys(prefix)), SWEEP_BATCH):
            # only keys dated by their clip id and old enough: a younger blob may belong to an upload
            # whose row is about to be committed, and an undated one was not written by store_clip
            dated = [key for key in batch if (clip_id_time(_stem(key)) or cutoff) < cutoff]
            known = set(session.scalars(select(column).where(column.in_(dated)))) if dated else set()
            for key in dated:
                if key not in known:
                    store.delete(key)
                    deleted.append(key)
    return deleted


@dataclass(frozen=True)
class SweepReport:
    """What `db sweep` did: deletions finished, orphan blobs and stale temporary files removed."""

    deletions_finished: int
    orphans: list[str]
    temp_files: list[str]


def sweep(session: Session, store: BlobStore, older_than_s: float = 3600) -> SweepReport:
    """Finish interrupted deletions, then remove orphan blobs and temporary files older than the cutoff."""
    finished = finish_deletions(session, store)
    orphans = sweep_orphans(session, store, older_than_s)
    temp_files = store.remove_temp_files(time.time() - older_than_s)
    return SweepReport(finished, orphans, temp_files)


def _stem(key: str) -> str:
    return key.rsplit("/", 1)[-1].split(".", 1)[0]

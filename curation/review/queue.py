"""The review queue: a campaign's undecided clips, most suspicious first, shown blind to who made them."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import ColumnElement, and_, case, select
from sqlalchemy.orm import Session, selectinload

from collector.clips import LIVE, clip_quality
from collector.models import Campaign, Clip

MAX_SKIPPED = 500  # ids a client may ask to leave out (the clips it skipped this session)


def suspicion() -> ColumnElement[int]:
    """Return the SQL score clips are queued by: automatic flags, split votes, down votes."""
    flagged = case((Clip.auto_verdict == "review", 2), else_=0)
    split = case((and_(Clip.up_votes > 0, Clip.down_votes > 0), 2), else_=0)
    return flagged + split + Clip.down_votes


def review_queue(session: Session, campaign: Campaign, count: int, skipped: list[str]) -> list[Clip]:
    """Return up to `count` of the campaign's clips no curator decided yet, most suspicious first."""
    query = (
        select(Clip)
        .options(selectinload(Clip.keyword))
        .where(Clip.campaign_id == campaign.id, Clip.curator_decision.is_(None), LIVE,
               Clip.public_id.not_in(skipped[:MAX_SKIPPED]))
        .order_by(suspicion().desc(), Clip.created_at, Clip.id)
        .limit(count)
    )
    return list(session.scalars(query))


def speaker_clips(session: Session, clip: Clip) -> list[Clip]:
    """Return every clip, in the clip's campaign, of the person who made `clip` (oldest first)."""
    query = (
        select(Clip)
        .options(selectinload(Clip.keyword))
        .where(Clip.campaign_id == clip.campaign_id, Clip.contributor_id == clip.contributor_id, LIVE)
        .order_by(Clip.created_at, Clip.id)
    )
    return list(session.scalars(query))


def reasons(clip: Clip) -> list[str]:
    """Say in short words why a clip is suspicious (empty: nothing known against it)."""
    said = list(clip.flags or [])
    if clip.up_votes and clip.down_votes:
        said.append("split_votes")
    elif clip.down_votes:
        said.append("down_votes")
    return said


def clip_card(clip: Clip) -> dict[str, Any]:
    """Return what a curator sees of a clip: no contributor, consent or demographic field."""
    return {
        "clip_id": clip.public_id,
        "keyword": clip.keyword.word,
        "status": clip.status,
        "verdict": clip.auto_verdict,
        "reasons": reasons(clip),
        "flags": list(clip.flags or []),
        "quality": clip_quality(clip),
        "up_votes": clip.up_votes,
        "down_votes": clip.down_votes,
        "decision": clip.curator_decision,
        "decision_reason": clip.curator_reason,
        "audio_url": url_for("api.clip_audio", clip_id=clip.public_id),
        "speaker_url": url_for("review.speaker", clip_id=clip.public_id),
    }

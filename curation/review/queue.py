"""The review queue: a campaign's undecided clips, most suspicious first, shown blind to who made them."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from collector.clips import LIVE, clip_quality
from collector.models import Campaign, Clip, ClipFinding

MAX_SKIPPED = 500  # ids a client may ask to leave out (the clips it skipped this session)


KIND_LABELS = {"keyword": "Keyword", "auxiliary": "Auxiliary word", "ambience": "Room sound"}
FINDING_WEIGHT = 4  # a finding scored 1 (a hard rule, an exact duplicate) outranks flags and votes


def suspicion() -> ColumnElement[float]:
    """Return the SQL score clips are queued by: check findings, automatic flags, split and down votes."""
    worst = (select(func.coalesce(func.max(ClipFinding.score), 0.0))
             .where(ClipFinding.clip_id == Clip.id).scalar_subquery())
    flagged = case((Clip.auto_verdict == "review", 2), else_=0)
    split = case((and_(Clip.up_votes > 0, Clip.down_votes > 0), 2), else_=0)
    return FINDING_WEIGHT * worst + flagged + split + Clip.down_votes


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


def findings_of(session: Session, clips: list[Clip]) -> dict[int, list[dict[str, Any]]]:
    """Return the stored check findings of these clips, by clip row id, highest score first."""
    query = (select(ClipFinding).where(ClipFinding.clip_id.in_([clip.id for clip in clips]))
             .order_by(ClipFinding.score.desc(), ClipFinding.id))
    found: dict[int, list[dict[str, Any]]] = {}
    for row in session.scalars(query):
        found.setdefault(row.clip_id, []).append({"check": row.check_name, "reason": row.reason,
                                                  "score": round(row.score, 3), "detail": row.detail})
    return found


def reasons(clip: Clip, findings: list[dict[str, Any]] = ()) -> list[str]:
    """Say in short words why a clip is suspicious (empty: nothing known against it)."""
    said = [finding["reason"] for finding in findings]
    said += [flag for flag in clip.flags or [] if flag not in said]
    if clip.up_votes and clip.down_votes:
        said.append("split_votes")
    elif clip.down_votes:
        said.append("down_votes")
    return said


def clip_cards(session: Session, clips: list[Clip]) -> list[dict[str, Any]]:
    """Return the cards of these clips, each with its check findings."""
    found = findings_of(session, clips) if clips else {}
    return [clip_card(clip, found.get(clip.id, [])) for clip in clips]


def clip_card(clip: Clip, findings: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """Return what a curator sees of a clip: no contributor, consent or demographic field."""
    return {
        "clip_id": clip.public_id,
        "keyword": clip.keyword.word,
        "kind": clip.keyword.kind,  # keyword, auxiliary or ambience (room sound, the whole recording)
        "kind_label": KIND_LABELS[clip.keyword.kind],
        "status": clip.status,
        "verdict": clip.auto_verdict,
        "reasons": reasons(clip, findings),
        "findings": list(findings),
        "flags": list(clip.flags or []),
        "quality": clip_quality(clip),
        "up_votes": clip.up_votes,
        "down_votes": clip.down_votes,
        "decision": clip.curator_decision,
        "decision_reason": clip.curator_reason,
        "audio_url": url_for("api.clip_audio", clip_id=clip.public_id),
        "speaker_url": url_for("review.speaker", clip_id=clip.public_id),
    }

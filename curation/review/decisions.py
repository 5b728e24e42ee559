"""Curator decisions: approve or reject clips (one, or all of a speaker's), recorded and undoable."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.errors import validation_error
from collector.models import CURATOR_DECISIONS, Clip, Curator, CuratorDecision, utcnow
from collector.votes import VOTE_REASONS, recount_status

# a peer's reasons, and those only a curator sees across clips
# ("speech": someone speaks in room sound, which must hold none; docs/ambience-and-auxiliary-words.md)
REJECT_REASONS = (*VOTE_REASONS, "duplicate", "replay", "spam", "not_own_voice", "speech")


def check_decision(decision: object, reason: object) -> tuple[str, str | None]:
    """Validate a decision body: approve, or reject with one of REJECT_REASONS."""
    if decision not in CURATOR_DECISIONS:
        raise validation_error("decision", f"must be one of {', '.join(CURATOR_DECISIONS)}.")
    if decision == "approve":
        return "approve", None
    if reason not in REJECT_REASONS:
        raise validation_error("reason", f"is required to reject: one of {', '.join(REJECT_REASONS)}.")
    return "reject", str(reason)


def decide(session: Session, clips: list[Clip], curator: Curator, decision: str,
           reason: str | None) -> str:
    """Record one decision on each clip (overriding votes), as one undoable step; return its batch id."""
    batch, now = uuid.uuid4().hex, utcnow()
    for clip in clips:
        session.add(CuratorDecision(
            clip_id=clip.id, curator_id=curator.id, batch=batch, decision=decision, reason=reason,
            previous_decision=clip.curator_decision, previous_curator_id=clip.curator_id,
            previous_reason=clip.curator_reason, previous_decided_at=clip.decided_at, created_at=now,
        ))
        clip.curator_decision, clip.curator_id, clip.curator_reason = decision, curator.id, reason
        clip.decided_at = now
        recount_status(session, clip)  # the decision is final; votes count again once it is undone
    session.commit()
    return batch


def undo_last(session: Session, curator: Curator) -> list[Clip]:
    """Undo the curator's latest step still in force; return the clips it restored; commit."""
    latest = select(CuratorDecision.batch).where(
        CuratorDecision.curator_id == curator.id, CuratorDecision.undone_at.is_(None)
    ).order_by(CuratorDecision.created_at.desc(), CuratorDecision.id.desc()).limit(1)
    batch = session.scalar(latest)
    if batch is None:
        return []
    rows = session.scalars(select(CuratorDecision).where(CuratorDecision.batch == batch)).all()
    restored, now = [], utcnow()
    for row in rows:
        row.undone_at = now
        clip = session.get(Clip, row.clip_id)
        # a later decision by someone else stands: undo never overwrites another curator's work
        if clip is None or clip.curator_id != curator.id or clip.curator_decision != row.decision:
            continue
        clip.curator_decision, clip.curator_id = row.previous_decision, row.previous_curator_id
        clip.curator_reason, clip.decided_at = row.previous_reason, row.previous_decided_at
        recount_status(session, clip)  # the decision is final; votes count again once it is undone
        restored.append(clip)
    session.commit()
    return restored

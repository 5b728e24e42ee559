"""Peer votes on clips and the status they give a clip (DESIGN §6, after Common Voice)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from collector.consents import refuse_if_erased
from collector.errors import Conflict, Forbidden, Unauthorized, validation_error
from collector.models import Clip, Contributor, Vote

VOTE_REASONS = ("wrong_word", "noise", "cut_off", "not_speech", "other")
DECISION_STATUS = {"approve": "validated", "reject": "invalidated"}


def status_from_votes(up: int, down: int) -> str:
    """Return a clip's status from its votes: ≥ 2 votes and a majority decide; 3 tied votes invalidate."""
    total = up + down
    if total >= 2 and up > down:
        return "validated"
    if total >= 2 and down > up:
        return "invalidated"
    if total >= 3:
        return "invalidated"  # tied after three or more votes: too doubtful to train on
    return "pending"


def clip_status(clip: Clip) -> str:
    """Return the clip's status: a curator's decision when there is one, else its votes'."""
    if clip.curator_decision in DECISION_STATUS:
        return DECISION_STATUS[clip.curator_decision]
    return status_from_votes(clip.up_votes, clip.down_votes)


def check_vote(valid: object, reason: object) -> tuple[bool, str | None]:
    """Validate a vote body: valid is a boolean; a 'not valid' vote names one of VOTE_REASONS."""
    if not isinstance(valid, bool):
        raise validation_error("valid", "must be true or false.")
    if valid:
        if reason is not None and reason not in VOTE_REASONS:
            raise validation_error("reason", f"must be one of {', '.join(VOTE_REASONS)}.")
        return True, None
    if reason not in VOTE_REASONS:
        raise validation_error("reason", f"is required when valid is false: one of {', '.join(VOTE_REASONS)}")
    return False, str(reason)


def cast_vote(session: Session, clip: Clip, voter: Contributor, valid: bool, reason: str | None) -> Vote:
    """Record one vote, recount the clip's votes and update its status; commit."""
    if clip.contributor_id == voter.id:
        raise Forbidden("own_clip", "Contributors cannot vote on their own clips.")
    already = session.scalar(select(Vote.id).where(Vote.clip_id == clip.id, Vote.voter_id == voter.id))
    if already is not None:
        raise Conflict("already_voted", "You have already voted on this clip.")
    vote = Vote(clip_id=clip.id, voter_id=voter.id, valid=valid, reason=reason)
    session.add(vote)
    try:
        session.flush()
    except IntegrityError:  # the same voter twice at once: the unique (clip, voter) constraint decides
        session.rollback()
        raise Conflict("already_voted", "You have already voted on this clip.") from None
    try:
        refuse_if_erased(session, voter)  # an erasure removes the votes cast: none may land after it
    except Unauthorized:
        session.rollback()
        raise
    recount(session, clip)
    session.commit()
    return vote


def recount(session: Session, clip: Clip) -> None:
    """Recount the clip's votes from the votes table and set its status; no commit (the caller's)."""
    # recount rather than increment, so concurrent voters (or an erased voter) cannot lose an update
    counts = dict(session.execute(
        select(Vote.valid, func.count()).where(Vote.clip_id == clip.id).group_by(Vote.valid)
    ).all())
    clip.up_votes, clip.down_votes = counts.get(True, 0), counts.get(False, 0)
    clip.status = clip_status(clip)

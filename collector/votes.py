"""Peer votes on clips and the status they give (DESIGN §6, after Common Voice); a curator decides last.

Who may vote: a contributor with a consent in force for the clip's campaign, never on their own clip.
Whose votes count towards the status: a voter who, when voting, had been enrolled for VOTER_MIN_AGE_HOURS
and had VOTER_MIN_CLIPS clips of their own in the campaign that were not invalidated. Other votes are kept
but move nothing, so a handful of fresh tokens cannot validate or invalidate anyone's clip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from collector.consents import IN_FORCE, refuse_if_erased
from collector.errors import Conflict, Forbidden, Unauthorized, validation_error
from collector.models import Clip, Consent, Contributor, Curator, Vote, as_utc, utcnow

VOTE_REASONS = ("wrong_word", "noise", "cut_off", "not_speech", "other")
DECISION_STATUS = {"approve": "validated", "reject": "invalidated"}
# A clip's status as it stands, in SQL: the curator's decision, else what its votes gave (clip_status)
STATUS = case(DECISION_STATUS, value=Clip.curator_decision, else_=Clip.status)


@dataclass(frozen=True)
class VoterRule:
    """When a vote counts: its voter's time since enrolment and own clips in the campaign, when voting."""

    min_age_hours: float
    min_clips: int

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> VoterRule:
        """Return the rule an app's settings (VOTER_MIN_AGE_HOURS, VOTER_MIN_CLIPS) give."""
        return cls(float(settings["VOTER_MIN_AGE_HOURS"]), int(settings["VOTER_MIN_CLIPS"]))


def status_from_votes(up: int, down: int) -> str:
    """Return a status from counted votes: ≥ 2 votes and a majority decide; 3 tied votes invalidate."""
    total = up + down
    if total >= 2 and up > down:
        return "validated"
    if total >= 2 and down > up:
        return "invalidated"
    if total >= 3:
        return "invalidated"  # tied after three or more votes: too doubtful to train on
    return "pending"


def decided_status(curator_decision: str | None, vote_status: str) -> str:
    """Return the status a curator's decision gives (always final), else the votes' status."""
    return DECISION_STATUS.get(curator_decision or "", vote_status)


def clip_status(clip: Clip) -> str:
    """Return the clip's status as it stands: a curator's decision, else its stored vote status."""
    return decided_status(clip.curator_decision, clip.status)


def recount_status(session: Session, clip: Clip) -> str:
    """Recompute a clip's vote counts and status from its counted votes and curator decision; no commit."""
    # from the votes table rather than increments, so concurrent voters and erasures cannot lose an update
    counts = dict(session.execute(
        select(Vote.valid, func.count()).where(Vote.clip_id == clip.id, Vote.counted).group_by(Vote.valid)
    ).all())
    clip.up_votes, clip.down_votes = counts.get(True, 0), counts.get(False, 0)
    clip.status = decided_status(clip.curator_decision, status_from_votes(clip.up_votes, clip.down_votes))
    return clip.status


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


def _check_voter(session: Session, clip: Clip, voter: Contributor) -> None:
    """Raise 403 unless the voter took part in the clip's campaign (consent in force) and it is not theirs."""
    if clip.contributor_id == voter.id:
        raise Forbidden("own_clip", "Contributors cannot vote on their own clips.")
    consent = session.scalar(select(Consent.id).where(
        Consent.contributor_id == voter.id, Consent.campaign_id == clip.campaign_id, IN_FORCE).limit(1))
    if consent is None:
        raise Forbidden("consent_required", "Give your consent to this campaign before voting on its clips.")


def vote_counts(session: Session, clip: Clip, voter: Contributor, rule: VoterRule) -> bool:
    """Return whether the voter's vote on this clip counts now (enrolled long enough, enough own clips)."""
    if utcnow() - as_utc(voter.created_at) < timedelta(hours=rule.min_age_hours):
        return False
    if rule.min_clips <= 0:
        return True
    own = session.scalar(select(func.count()).select_from(Clip).where(
        Clip.contributor_id == voter.id, Clip.campaign_id == clip.campaign_id, STATUS != "invalidated"))
    return int(own or 0) >= rule.min_clips


def cast_vote(session: Session, clip: Clip, voter: Contributor, valid: bool, reason: str | None,
              rule: VoterRule) -> Vote:
    """Record one vote (counted or not, by the rule), recount the clip's status; commit."""
    _check_voter(session, clip, voter)
    already = session.scalar(select(Vote.id).where(Vote.clip_id == clip.id, Vote.voter_id == voter.id))
    if already is not None:
        raise Conflict("already_voted", "You have already voted on this clip.")
    vote = Vote(clip_id=clip.id, voter_id=voter.id, valid=valid, reason=reason,
                counted=vote_counts(session, clip, voter, rule))
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
    recount_status(session, clip)
    session.commit()
    return vote


def decide(session: Session, clip: Clip, curator: Curator, decision: str, reason: str) -> str:
    """Record a curator's decision ("approve" or "reject"), final over any votes; return the status."""
    if decision not in DECISION_STATUS:
        raise ValueError(f"decision must be one of {', '.join(DECISION_STATUS)}, not {decision!r}")
    clip.curator_decision, clip.curator_id = decision, curator.id
    clip.curator_reason, clip.decided_at = reason, utcnow()
    return recount_status(session, clip)

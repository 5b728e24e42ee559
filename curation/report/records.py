"""What the report needs of each clip, read from the store in one query: no names, no ids, no audio."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from collector.models import Campaign, Clip, Contributor, Vote
from curation.splits import clip_filename, which_set

DEMOGRAPHIC_FIELDS = ("age", "gender", "accent", "native_language")
METRICS = ("duration_ms", "peak_dbfs", "rms_dbfs", "snr_db", "speech_ms", "clipped_fraction", "dc_offset")


@dataclass(frozen=True)
class ReportClip:
    """One stored clip as the report sees it; `speaker` is the release's pseudonymous speaker id."""

    keyword: str
    speaker: str
    split: str
    status: str
    decision: str | None
    up_votes: int
    down_votes: int
    flags: tuple[str, ...]
    metrics: dict[str, float]
    demographics: dict[str, str | None] = field(default_factory=dict)
    findings: tuple[str, ...] = ()  # the checks that found something (curate check)

    @property
    def usable(self) -> bool:
        """True when the clip would go into a release: not rejected by a curator nor by the votes."""
        return self.decision != "reject" and (self.decision == "approve" or self.status != "invalidated")


def _demographics(clip: Clip) -> dict[str, str | None]:
    profile = clip.contributor.demographics if clip.consent.demographics_opt_in else None
    return {name: getattr(profile, name, None) or None for name in DEMOGRAPHIC_FIELDS}


def load_clips(session: Session, campaign: Campaign, pseudonym: Callable[[str], str]) -> list[ReportClip]:
    """Return every stored clip of the campaign as a ReportClip (pseudonym: contributor id → speaker id)."""
    query = (
        select(Clip)
        .join(Contributor, Clip.contributor_id == Contributor.id)
        .where(Clip.campaign_id == campaign.id, Contributor.erased_at.is_(None))
        .options(joinedload(Clip.keyword), joinedload(Clip.consent),
                 joinedload(Clip.contributor).joinedload(Contributor.demographics))
        .order_by(Clip.id)
    )
    speakers: dict[int, str] = {}
    records = []
    for clip in session.scalars(query).unique():
        if clip.contributor_id not in speakers:
            speakers[clip.contributor_id] = pseudonym(clip.contributor.public_id)
        speaker = speakers[clip.contributor_id]
        records.append(ReportClip(
            keyword=clip.keyword.word, speaker=speaker, split=which_set(clip_filename(speaker, 0)),
            status=clip.status, decision=clip.curator_decision, up_votes=clip.up_votes,
            down_votes=clip.down_votes, flags=tuple(clip.flags or ()),
            metrics={name: float(getattr(clip, name)) for name in METRICS},
            demographics=_demographics(clip),
        ))
    return records


def vote_count(session: Session, campaign: Campaign) -> int:
    """Return how many peer votes the campaign's clips received."""
    from sqlalchemy import func

    query = select(func.count()).select_from(Vote).join(Clip, Vote.clip_id == Clip.id)
    return int(session.scalar(query.where(Clip.campaign_id == campaign.id)) or 0)

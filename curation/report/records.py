"""What the report needs of each clip, read from the store in one query: no names, no ids, no audio."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.clips import LIVE
from collector.models import Campaign, Clip, Consent, Contributor, Demographics, Keyword, Vote
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
    kind: str = "keyword"  # collector.models.KEYWORD_KINDS: keyword, auxiliary word or room ambience

    @property
    def usable(self) -> bool:
        """True when the clip would go into a release: not rejected by a curator nor by the votes."""
        return self.decision != "reject" and (self.decision == "approve" or self.status != "invalidated")


def _columns() -> tuple:
    return (Keyword.word, Keyword.kind, Contributor.public_id, Clip.status, Clip.curator_decision,
            Clip.up_votes, Clip.down_votes, Clip.flags, Consent.demographics_opt_in,
            *(getattr(Demographics, name) for name in DEMOGRAPHIC_FIELDS),
            *(getattr(Clip, name) for name in METRICS))


def load_clips(session: Session, campaign: Campaign, pseudonym: Callable[[str], str]) -> list[ReportClip]:
    """Return every stored clip of the campaign as a ReportClip (pseudonym: contributor id → speaker id)."""
    # plain rows, not ORM objects: the report reads 100,000 clips in a few seconds this way
    query = (
        select(*_columns())
        .join(Keyword, Clip.keyword_id == Keyword.id)
        .join(Contributor, Clip.contributor_id == Contributor.id)
        .join(Consent, Clip.consent_id == Consent.id)
        .outerjoin(Demographics, Demographics.contributor_id == Contributor.id)
        .where(Clip.campaign_id == campaign.id, Contributor.erased_at.is_(None), LIVE)
        .order_by(Clip.id)
    )
    speakers: dict[str, tuple[str, str]] = {}
    records, fields = [], len(DEMOGRAPHIC_FIELDS)
    for word, kind, public_id, status, decision, up, down, flags, opt_in, *rest in session.execute(query):
        if public_id not in speakers:
            speaker = pseudonym(public_id)
            speakers[public_id] = (speaker, which_set(clip_filename(speaker, 0)))
        speaker, split = speakers[public_id]
        declared = rest[:fields] if opt_in else (None,) * fields
        records.append(ReportClip(
            keyword=word, kind=kind, speaker=speaker, split=split, status=status, decision=decision,
            up_votes=up, down_votes=down, flags=tuple(flags or ()),
            metrics=dict(zip(METRICS, map(float, rest[fields:]), strict=True)),
            demographics={name: value or None
                          for name, value in zip(DEMOGRAPHIC_FIELDS, declared, strict=True)},
        ))
    return records


def vote_count(session: Session, campaign: Campaign) -> int:
    """Return how many peer votes the campaign's clips received."""
    from sqlalchemy import func

    query = select(func.count()).select_from(Vote).join(Clip, Vote.clip_id == Clip.id)
    return int(session.scalar(query.where(Clip.campaign_id == campaign.id)) or 0)

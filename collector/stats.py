"""Public campaign statistics: counts only, never anything about a person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from collector.clips import LIVE
from collector.models import KEYWORD_KINDS, Campaign, Clip
from collector.votes import STATUS


def campaign_stats(session: Session, campaign: Campaign) -> dict[str, Any]:
    """Return clip, validated and target counts per keyword, auxiliary word and ambience; speakers, hours."""
    validated = func.sum(case((STATUS == "validated", 1), else_=0))
    per_keyword = {
        keyword_id: (clips, int(valid or 0))
        for keyword_id, clips, valid in session.execute(
            select(Clip.keyword_id, func.count(), validated)
            .where(Clip.campaign_id == campaign.id, LIVE)
            .group_by(Clip.keyword_id)
        )
    }
    speakers, milliseconds = session.execute(
        select(func.count(func.distinct(Clip.contributor_id)), func.coalesce(func.sum(Clip.duration_ms), 0))
        .where(Clip.campaign_id == campaign.id, LIVE)
    ).one()
    rows = {kind: [
        {"keyword": kw.word, "clips": per_keyword.get(kw.id, (0, 0))[0],
         "validated": per_keyword.get(kw.id, (0, 0))[1], "target": kw.target_count}
        for kw in campaign.keywords if kw.kind == kind
    ] for kind in KEYWORD_KINDS}
    everything = [row for kind in KEYWORD_KINDS for row in rows[kind]]
    return {
        "campaign": campaign.slug,
        "keywords": rows["keyword"],
        "auxiliary_words": rows["auxiliary"],
        "ambience": rows["ambience"][0] if rows["ambience"] else None,
        "clips": sum(k["clips"] for k in everything),
        "validated": sum(k["validated"] for k in everything),
        "speakers": int(speakers),
        "hours": round(int(milliseconds) / 3_600_000, 4),  # of recordings as uploaded, every kind
    }

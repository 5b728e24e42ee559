"""The bias-and-balance report's figures for the clips of a release, for its datasheet (curation.report's
measures and flags, applied to what was released rather than to everything stored)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from collector.models import Clip
from curation.report.build import concentration_section, demographic_section, keyword_section, quality_section
from curation.report.flags import concentration_flags, demographic_flags, keyword_flags
from curation.report.records import DEMOGRAPHIC_FIELDS, METRICS, ReportClip


def report_clip(clip: Clip, speaker: str, split: str, status: str) -> ReportClip:
    """Return a released clip as the report sees it; demographics only where its consent opted in."""
    demographics = clip.contributor.demographics if clip.consent.demographics_opt_in else None
    return ReportClip(
        keyword=clip.keyword.word, speaker=speaker, split=split, status=status,
        decision=clip.curator_decision, up_votes=clip.up_votes, down_votes=clip.down_votes,
        flags=tuple(clip.flags or ()), metrics={name: float(getattr(clip, name)) for name in METRICS},
        demographics={name: (getattr(demographics, name, None) or None) for name in DEMOGRAPHIC_FIELDS},
    )


def balance_figures(clips: Sequence[ReportClip], words: Sequence[str]) -> dict[str, Any]:
    """Keywords (clips, speakers, imbalance), demographics (small cells suppressed), speaker concentration,
    quality metrics and the report's flags, over the released clips of `words`."""
    section = {
        "keywords": keyword_section(clips, dict.fromkeys(words, 0)),
        "demographics": {name: demographic_section(clips, name, None) for name in DEMOGRAPHIC_FIELDS},
        "concentration": concentration_section(clips),
        "quality": quality_section(clips, {}),
    }
    section["flags"] = (keyword_flags(section["keywords"]) + concentration_flags(section["concentration"])
                        + demographic_flags(section["demographics"]))
    return section

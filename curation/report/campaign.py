"""A campaign's report straight from the store, and the reference distribution a curator may give."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.models import KEYWORD_KINDS, Campaign, Clip, ClipFinding
from collector.privacy import pseudonym_key, speaker_id
from curation.report.build import build_report
from curation.report.records import DEMOGRAPHIC_FIELDS, load_clips, vote_count


class ReportError(Exception):
    """A report that cannot be made as asked; the message is one sentence for a person."""


def campaign_report(session: Session, campaign: Campaign,
                    reference: Mapping[str, Mapping[str, float]] | None = None,
                    findings: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Return the bias and balance report of a campaign as stored now (speakers as releases name them)."""
    findings = findings if findings is not None else findings_per_check(session, campaign)
    key = pseudonym_key(session)
    clips = load_clips(session, campaign, lambda public_id: speaker_id(key, public_id))
    targets = {kind: {row.word: row.target_count for row in campaign.keywords if row.kind == kind}
               for kind in KEYWORD_KINDS}
    details = {"slug": campaign.slug, "title": campaign.title, "language": campaign.language,
               "targets": targets["keyword"], "auxiliary_targets": targets["auxiliary"],
               "ambience_target": next(iter(targets["ambience"].values()), None)}
    return build_report(clips, campaign=details, reference=reference, findings=findings,
                        votes=vote_count(session, campaign))


def findings_per_check(session: Session, campaign: Campaign) -> dict[str, int]:
    """Count the stored findings of `curate check` on the campaign's clips, per check."""
    query = (select(ClipFinding.check_name, func.count()).join(Clip, ClipFinding.clip_id == Clip.id)
             .where(Clip.campaign_id == campaign.id).group_by(ClipFinding.check_name))
    return dict(session.execute(query).all())


def load_reference(path: Path) -> dict[str, dict[str, float]]:
    """Read a reference distribution: JSON {field: {group: share}} for fields age, gender, accent, …"""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read the reference distribution {path}: {exc}") from None
    if not isinstance(data, dict):
        example = '{"gender": {"female_feminine": 0.5}}'
        raise ReportError(f"{path}: expected a JSON object such as {example}")
    for field, groups in data.items():
        if field not in DEMOGRAPHIC_FIELDS:
            known = ", ".join(DEMOGRAPHIC_FIELDS)
            raise ReportError(f"{path}: {field!r} is not a demographic field ({known})")
        if not isinstance(groups, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
            for v in groups.values()
        ):
            raise ReportError(f"{path}: {field!r} must map each group to a share (a number ≥ 0)")
    return data

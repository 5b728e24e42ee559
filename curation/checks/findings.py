"""Findings kept: stored per clip (replaced per run of a check), written as JSON lines, ranked for review."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from collector.models import Campaign, Clip, ClipFinding, utcnow
from curation.checks.records import CheckError, ClipRecord, Finding

DETAIL_CHARS = 300  # ClipFinding.detail's length


def replace_findings(session: Session, campaign: Campaign, records: Sequence[ClipRecord],
                     checks: Iterable[str], findings: Iterable[Finding]) -> int:
    """Delete the campaign's earlier findings of these checks and insert the new ones (caller commits)."""
    checks = list(checks)
    campaign_clips = select(Clip.id).where(Clip.campaign_id == campaign.id)
    session.execute(delete(ClipFinding).where(ClipFinding.check_name.in_(checks),
                                              ClipFinding.clip_id.in_(campaign_clips)))
    row_ids = {r.clip_id: r.row_id for r in records}
    now = utcnow()
    rows = [{"clip_id": row_ids[f.clip_id], "check_name": f.check, "reason": f.reason,
             "score": float(f.score), "detail": f.detail[:DETAIL_CHARS],
             "related_clip": f.related, "created_at": now}
            for f in findings if f.check in checks]
    if rows:
        session.execute(insert(ClipFinding), rows)
    return len(rows)


def review_order(session: Session, campaign: Campaign, limit: int = 100) -> list[tuple[str, float, int]]:
    """Return (public clip id, highest finding score, number of findings), most suspicious first."""
    query = (select(Clip.public_id, func.max(ClipFinding.score), func.count(ClipFinding.id))
             .join(ClipFinding, ClipFinding.clip_id == Clip.id)
             .where(Clip.campaign_id == campaign.id)
             .group_by(Clip.public_id)
             .order_by(func.max(ClipFinding.score).desc(), Clip.public_id)
             .limit(limit))
    return [(row[0], float(row[1]), int(row[2])) for row in session.execute(query)]


def write_findings(path: Path, findings: Iterable[Finding]) -> None:
    """Write one JSON object per finding and line, atomically (a temp file beside it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for finding in findings:
                out.write(json.dumps(finding.as_json(), ensure_ascii=False) + "\n")
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise CheckError(f"cannot write the findings to {path}: {exc.strerror or exc}") from None

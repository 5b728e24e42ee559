"""Build the report from ReportClip records: keywords, demographics, concentration, quality, votes, flags."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from curation.report import measures
from curation.report.flags import report_flags
from curation.report.records import DEMOGRAPHIC_FIELDS, METRICS, ReportClip
from curation.splits import SPLITS

FORMAT_VERSION = 1
MIN_CELL_SPEAKERS = 5  # a group or table cell with fewer speakers is not shown [Common Voice]
SUPPRESSED = "(fewer than 5 speakers)"
UNDECLARED = "(undeclared)"
HISTOGRAM_BINS = 20
LORENZ_POINTS = 21


def build_report(clips: Sequence[ReportClip], *, campaign: Mapping[str, Any],
                 reference: Mapping[str, Mapping[str, float]] | None = None,
                 findings: Mapping[str, int] | None = None, votes: int | None = None) -> dict[str, Any]:
    """Return the whole report as JSON-safe data; `campaign` carries slug, title, language and targets.

    Balance, demographics and concentration are about the keywords; quality and votes cover every spoken
    word (keywords and auxiliary words); `kinds` counts auxiliary words and room ambience on their own
    (campaign's optional "auxiliary_targets" {word: target} and "ambience_target").
    """
    kinds = kinds_section(clips, campaign.get("auxiliary_targets") or {}, campaign.get("ambience_target"))
    spoken = [clip for clip in clips if clip.kind != "ambience"]
    clips = [clip for clip in clips if clip.kind == "keyword"]
    usable = [clip for clip in clips if clip.usable]
    report = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "campaign": {key: campaign[key] for key in ("slug", "title", "language")},
        "totals": {"clips": len(clips), "usable_clips": len(usable),
                   "speakers": len({c.speaker for c in usable}), "keywords": len(campaign["targets"])},
        "keywords": keyword_section(usable, campaign["targets"]),
        "demographics": {name: demographic_section(usable, name, (reference or {}).get(name))
                         for name in DEMOGRAPHIC_FIELDS},
        "concentration": concentration_section(usable),
        "kinds": kinds,
        "quality": quality_section(spoken, findings or {}),
        "votes": vote_section(spoken, votes),
    }
    report["flags"] = report_flags(report)
    return report


def keyword_section(clips: Sequence[ReportClip], targets: Mapping[str, int]) -> dict[str, Any]:
    """Clips and speakers per keyword against its target, with imbalance ratio and evenness."""
    by_clips = Counter(c.keyword for c in clips)
    speakers = defaultdict(set)
    for clip in clips:
        speakers[clip.keyword].add(clip.speaker)
    by_speakers = {word: len(speakers[word]) for word in targets}
    rows = [{"keyword": word, "clips": by_clips.get(word, 0), "speakers": by_speakers[word],
             "target": target, "progress": round(by_clips.get(word, 0) / target, 3) if target else None}
            for word, target in targets.items()]
    counts = [row["clips"] for row in rows]
    ratio = measures.imbalance_ratio(counts)
    return {"rows": rows, "imbalance_ratio": None if ratio == float("inf") else round(ratio, 3),
            "evenness": round(measures.evenness(counts), 3)}


def kinds_section(clips: Sequence[ReportClip], auxiliary_targets: Mapping[str, int],
                  ambience_target: int | None) -> dict[str, Any]:
    """Count clips, usable clips and speakers per kind and auxiliary word; usable ambience minutes."""
    by_kind = {kind: [c for c in clips if c.kind == kind] for kind in ("keyword", "auxiliary", "ambience")}
    section: dict[str, Any] = {
        kind: {"clips": len(found), "usable_clips": sum(c.usable for c in found),
               "speakers": len({c.speaker for c in found if c.usable})}
        for kind, found in by_kind.items()
    }
    usable_auxiliary = [c for c in by_kind["auxiliary"] if c.usable]
    section["auxiliary"]["words"] = keyword_section(usable_auxiliary, auxiliary_targets)["rows"]
    ambience = [c for c in by_kind["ambience"] if c.usable]
    section["ambience"].update({
        "asked": ambience_target is not None, "target": ambience_target,
        "minutes": round(sum(c.metrics["duration_ms"] for c in ambience) / 60000, 2),
        "flags": dict(Counter(flag for c in by_kind["ambience"] for flag in c.flags).most_common()),
    })
    return section


def _groups(clips: Sequence[ReportClip], field: str) -> dict[str, str]:
    """Map each speaker to their declared value of `field` (UNDECLARED when none)."""
    return {c.speaker: c.demographics.get(field) or UNDECLARED for c in clips}


def _shown(speakers_per_group: Mapping[str, int]) -> set[str]:
    return {g for g, n in speakers_per_group.items() if n >= MIN_CELL_SPEAKERS and g != UNDECLARED}


def demographic_section(clips: Sequence[ReportClip], field: str,
                        reference: Mapping[str, float] | None) -> dict[str, Any]:
    """One demographic field: clips and speakers per group, undeclared share, keyword × group, test."""
    groups = _groups(clips, field)
    speakers = Counter(groups.values())
    clip_counts = Counter(groups[c.speaker] for c in clips)
    shown = _shown(speakers)
    keywords = sorted({c.keyword for c in clips})
    table = defaultdict(Counter)  # keyword -> group -> clips, declared and shown groups only
    for clip in clips:
        if groups[clip.speaker] in shown:
            table[clip.keyword][groups[clip.speaker]] += 1
    columns = sorted(shown)
    section = {
        "groups": [{"group": g, "speakers": speakers[g], "clips": clip_counts[g]} for g in columns],
        "suppressed_speakers": sum(n for g, n in speakers.items() if g not in shown and g != UNDECLARED),
        "undeclared_share": round(speakers[UNDECLARED] / max(1, len(groups)), 3),
        "keyword_by_group": {"columns": columns, "rows": [
            {"keyword": k, "clips": [table[k][g] for g in columns],
             "shares": _shares([table[k][g] for g in columns])} for k in keywords]},
        "independence": measures.independence([[table[k][g] for g in columns] for k in keywords]),
    }
    if reference:
        section["representation"] = measures.representation(
            {g: speakers[g] for g in speakers if g != UNDECLARED}, reference)
    return section


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [round(c / total, 3) if total else 0.0 for c in counts]


def _concentration(counts: Sequence[int]) -> dict[str, Any]:
    ordered = np.sort(np.asarray(counts, dtype=float))
    cumulative = np.concatenate([[0.0], np.cumsum(ordered)]) / max(1.0, ordered.sum())
    points = np.interp(np.linspace(0, len(ordered), LORENZ_POINTS), np.arange(len(ordered) + 1), cumulative)
    return {"speakers": len(counts), "clips": int(sum(counts)), "gini": round(measures.gini(counts), 3),
            "top_1pct_share": round(measures.top_share(counts, 0.01), 3),
            "top_10pct_share": round(measures.top_share(counts, 0.10), 3),
            "effective_speakers": round(measures.effective_number(counts), 2),
            "largest_share": round(max(counts) / sum(counts), 3) if counts else 0.0,
            "lorenz": [round(float(p), 4) for p in points]}


def concentration_section(clips: Sequence[ReportClip]) -> dict[str, Any]:
    """Speaker concentration over all usable clips and per split."""
    per_speaker = Counter(c.speaker for c in clips)
    section = {"all": _concentration(list(per_speaker.values()))}
    for split in SPLITS:
        counts = Counter(c.speaker for c in clips if c.split == split)
        section[split] = _concentration(list(counts.values()))
    return section


def _distribution(values: np.ndarray) -> dict[str, Any]:
    if not len(values):
        return {"count": 0}
    low, p5, p50, p95, high = np.percentile(values, [0, 5, 50, 95, 100])
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return {"count": int(len(values)), "min": round(float(low), 4), "p5": round(float(p5), 4),
            "median": round(float(p50), 4), "p95": round(float(p95), 4), "max": round(float(high), 4),
            "histogram": {"edges": [round(float(e), 4) for e in edges], "counts": counts.tolist()}}


def quality_section(clips: Sequence[ReportClip], findings: Mapping[str, int]) -> dict[str, Any]:
    """Every metric's distribution, review flags per rule, statuses, curator decisions, findings per check."""
    return {
        "metrics": {name: _distribution(np.array([c.metrics[name] for c in clips], dtype=float))
                    for name in METRICS},
        "flags": dict(Counter(flag for c in clips for flag in c.flags).most_common()),
        "statuses": dict(Counter(c.status for c in clips).most_common()),
        "decisions": dict(Counter(c.decision or "none" for c in clips).most_common()),
        "findings": dict(findings),
    }


def vote_section(clips: Sequence[ReportClip], votes: int | None) -> dict[str, Any]:
    """Votes per clip and how often voters agree."""
    totals = [c.up_votes + c.down_votes for c in clips]
    judged = [c for c in clips if c.up_votes + c.down_votes >= 2]
    unanimous = sum(1 for c in judged if not (c.up_votes and c.down_votes))
    return {"votes": votes if votes is not None else int(sum(totals)),
            "clips_with_votes": sum(1 for t in totals if t),
            "mean_votes_per_clip": round(float(np.mean(totals)), 3) if totals else 0.0,
            "unanimous_share": round(unanimous / len(judged), 3) if judged else None}

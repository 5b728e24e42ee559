"""The ingestion rules re-run from stored metrics: collector.quality's reject_reason and review_flags for
spoken clips, the ambience rules (curation/checks/ambience.py) for room recordings."""

from __future__ import annotations

from collections.abc import Sequence

from collector.quality import reject_reason, review_flags
from curation.checks.ambience import metric_findings
from curation.checks.records import CheckContext, ClipRecord, Finding

CHECK = "quality"
REJECT_SCORE = 1.0  # a clip today's rules would refuse outright
# How much each review flag should move a clip up the review queue; a flag not listed gets DEFAULT_FLAG_SCORE.
FLAG_SCORES = {"very_low_snr": 0.8, "clipping": 0.7, "cut_off": 0.6, "extra_speech": 0.5, "low_snr": 0.4,
               "dc_offset": 0.3}
DEFAULT_FLAG_SCORE = 0.5


def check_chunk(records: Sequence[ClipRecord], context: CheckContext) -> list[Finding]:
    """Return one finding per rule each clip breaks: a hard reject, else each review flag."""
    findings = []
    for record in records:
        if record.ambience:  # room sound: no word to find, cut or measure against the noise
            findings.extend(metric_findings(record))
            continue
        error = reject_reason(record.quality, context.limits)
        if error is not None:
            findings.append(Finding(record.clip_id, CHECK, error.code, REJECT_SCORE, error.message))
            continue
        for flag in review_flags(record.quality):
            findings.append(Finding(record.clip_id, CHECK, flag, FLAG_SCORES.get(flag, DEFAULT_FLAG_SCORE)))
    return findings

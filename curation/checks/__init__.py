"""Automatic checks over a campaign's stored clips (`wordcrowd curate check`), as pure functions over chunks.

Each check turns ClipRecords into Findings (a reason code and a score, higher = more suspicious):
`quality` re-runs the collector's ingestion rules from stored metrics; `duplicate` finds the same upload or
canonical audio stored before; `near_duplicate` finds replays (fingerprints, a faiss index, a waveform
check); `wrong_word` and `outlier` compare a clip with its keyword's typical clips; `label_issue` runs
cleanlab over out-of-fold predictions. docs/checks.md documents scores, thresholds and file formats.
"""

from curation.checks.findings import replace_findings, review_order, write_findings
from curation.checks.records import CheckContext, CheckError, ClipRecord, Finding, load_records
from curation.checks.runner import CHECKS, CheckRun, choose_checks, run_checks

__all__ = [
    "CHECKS", "CheckContext", "CheckError", "CheckRun", "ClipRecord", "Finding", "choose_checks",
    "load_records", "replace_findings", "review_order", "run_checks", "write_findings",
]

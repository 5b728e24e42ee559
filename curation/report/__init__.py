"""The bias and balance report of a campaign: who is and is not represented, and how good the clips are.

`load_clips` reads the store once; everything after it is pure functions over `ReportClip` records
(`build_report`), so the same code can summarise a chunk or a whole corpus; `render` turns a report into
report.json, report.html (charts embedded) and a terminal summary.
"""

from __future__ import annotations

from curation.report.build import build_report
from curation.report.records import ReportClip, load_clips
from curation.report.render import html_report, terminal_summary, write_report

__all__ = ["ReportClip", "build_report", "html_report", "load_clips", "terminal_summary", "write_report"]

"""What an import's worker processes run: one file's bytes through the collector's ingest (light imports)."""

from __future__ import annotations

from collector.audio import IngestLimits
from collector.ingest import IngestedClip, IngestError, ingest, ingest_ambience


def ingest_file(job: tuple[bytes, str, IngestLimits, bool]) -> IngestedClip | str:
    """Ingest one file's bytes (a word, or room ambience kept whole); return the clip or why it failed."""
    data, name, limits, ambience = job
    try:
        return (ingest_ambience if ambience else ingest)(data, name, limits=limits)
    except IngestError as exc:
        return exc.code

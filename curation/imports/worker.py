"""What an import's worker processes run: one file's bytes through the collector's ingest (light imports)."""

from __future__ import annotations

from collector.audio import IngestLimits
from collector.ingest import IngestedClip, IngestError, ingest


def ingest_file(job: tuple[bytes, str, IngestLimits]) -> IngestedClip | str:
    """Ingest one file's bytes; return the clip or the reason code it was refused."""
    data, name, limits = job
    try:
        return ingest(data, name, limits=limits)
    except IngestError as exc:
        return exc.code

"""The quality metrics kept with every clip (DESIGN §5), declared once: the `Quality` record.

Everything else is derived from it: the clip table's columns (collector.models), the names the store
copies (METRIC_NAMES), the OpenAPI schema (collector.openapi). Migrations already written are history.
This module imports nothing heavy, so the schema does not pull in the signal processing.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any


def metric(meaning: str, **options: Any) -> Any:
    """Declare one metric field with its one-line meaning (the OpenAPI description)."""
    return field(metadata={"help": meaning}, **options)


@dataclass(frozen=True)
class Quality:
    """DESIGN §5 metrics of one upload; each field is also a column of the clips table."""

    duration_ms: int = metric("length of the upload")
    sample_rate_hz: int = metric("sample rate of the upload")
    channels: int = metric("channels of the upload")
    peak_dbfs: float = metric("peak level of the upload, all channels")
    rms_dbfs: float = metric("RMS level of the upload, all channels")
    clipped_fraction: float = metric("share of the upload's samples at full scale")
    dc_offset: float = metric("mean sample of the upload, in full scale (signed)")
    snr_db: float = metric("speech frames against non-speech frames of the canonical window")
    speech_ms: int = metric("speech in the canonical window")
    speech_segments: int = metric("separate stretches of speech in the canonical window")
    speech_at_edge: bool = metric("speech touches the first or last frame of the audio in the window")
    silent_fraction: float = metric("share of the upload's samples below 1 % of its peak", default=0.0)

    def as_dict(self) -> dict:
        """Return the metrics as a JSON-safe dict (finite numbers only)."""
        return dataclasses.asdict(self)


METRIC_TYPES: dict[str, type] = typing.get_type_hints(Quality)
METRICS: tuple[dataclasses.Field, ...] = dataclasses.fields(Quality)
METRIC_NAMES: tuple[str, ...] = tuple(f.name for f in METRICS)

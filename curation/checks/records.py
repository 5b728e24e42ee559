"""What a check sees of a clip (ClipRecord), what it reports (Finding), how records come from the store."""

from __future__ import annotations

import contextlib
import functools
import io
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import soundfile as sf
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from collector.audio import DEFAULT_LIMITS, IngestLimits
from collector.blobs import BlobNotFound, open_blob_store
from collector.canonical import CANONICAL_RATE_HZ
from collector.clips import LIVE, METRIC_COLUMNS
from collector.models import KEYWORD_KINDS, Campaign, Clip, Contributor, Keyword, as_utc
from collector.quality import Quality

AMBIENCE = KEYWORD_KINDS[2]  # "ambience": room sound, judged by its own rules (curation/checks/ambience.py)
CHUNK_SIZE = 512  # clips per unit of work handed to a worker


Stage = Callable[[str], contextlib.AbstractContextManager]  # CheckRun.stage: accounts a step's time


@contextlib.contextmanager
def unmeasured(_name: str) -> Iterator[None]:
    """A Stage that measures nothing."""
    yield


class CheckError(Exception):
    """A check that cannot run as asked; the message is one sentence for a person."""


@dataclass(frozen=True)
class ClipRecord:
    """One stored clip as the checks see it: ids, label, pseudonymous contributor, metrics, audio key."""

    row_id: int  # the store's primary key (findings refer to it)
    clip_id: str  # the public id the API returns
    campaign: str  # slug
    keyword: str  # the word it was recorded under (a keyword, an auxiliary word, or AMBIENCE_WORD)
    contributor: str  # the contributor's random public id (a pseudonym, never a name)
    created_at: datetime
    sha256: str  # of the canonical PCM
    original_sha256: str  # of the upload as received
    canonical_key: str
    quality: Quality
    kind: str = "keyword"  # of its word: collector.models.KEYWORD_KINDS

    @property
    def ambience(self) -> bool:
        """Say whether this is a room recording (10–30 s, no word) rather than a spoken word."""
        return self.kind == AMBIENCE


@dataclass(frozen=True)
class Finding:
    """One thing a check found on one clip: a reason code, a score (higher = more suspicious), details."""

    clip_id: str  # public id
    check: str
    reason: str
    score: float
    detail: str = ""
    related: str | None = None  # public id of the clip it duplicates or resembles

    def as_json(self) -> dict:
        """Return the JSON-lines form (docs/checks.md)."""
        data = {"clip_id": self.clip_id, "check": self.check, "reason": self.reason,
                "score": round(float(self.score), 6), "detail": self.detail}
        if self.related:
            data["related"] = self.related
        return data


@dataclass(frozen=True)
class CheckContext:
    """What a worker needs besides its chunk of records: where audio lives and the ingest limits."""

    storage_url: str
    s3_endpoint_url: str | None = None
    limits: IngestLimits = DEFAULT_LIMITS


_COLUMNS = (Clip.id, Clip.public_id, Campaign.slug, Keyword.word, Contributor.public_id, Clip.created_at,
            Clip.sha256, Clip.original_sha256, Clip.canonical_key, Keyword.kind,
            *(getattr(Clip, name) for name in METRIC_COLUMNS))


def record_from_row(row: Sequence) -> ClipRecord:
    """Build a ClipRecord from one row of _COLUMNS."""
    metrics = dict(zip(METRIC_COLUMNS, row[10:], strict=True))
    return ClipRecord(row[0], row[1], row[2], row[3], row[4], as_utc(row[5]), row[6], row[7], row[8],
                      Quality(**metrics), row[9])


def count_records(session: Session, campaign: Campaign) -> int:
    """Return how many stored clips the campaign has (what load_records would return)."""
    query = select(func.count()).select_from(Clip).where(Clip.campaign_id == campaign.id, LIVE)
    return int(session.execute(query).scalar_one())


def load_records(session: Session, campaign: Campaign) -> list[ClipRecord]:
    """Return every stored clip of the campaign, oldest first."""
    query = (select(*_COLUMNS)
             .join(Keyword, Clip.keyword_id == Keyword.id)
             .join(Contributor, Clip.contributor_id == Contributor.id)
             .join(Campaign, Clip.campaign_id == Campaign.id)
             .where(Clip.campaign_id == campaign.id, LIVE)  # a clip being deleted is gone already
             .order_by(Clip.created_at, Clip.id))
    return [record_from_row(row) for row in session.execute(query)]


def chunks(records: Sequence[ClipRecord], size: int = CHUNK_SIZE) -> Iterator[list[ClipRecord]]:
    """Split records into lists of at most `size`."""
    for start in range(0, len(records), size):
        yield list(records[start:start + size])


@functools.lru_cache(maxsize=4)
def _blob_store(url: str, endpoint: str | None):
    return open_blob_store(url, endpoint)  # one per process: workers open their own


def load_audio(record: ClipRecord, context: CheckContext) -> np.ndarray:
    """Return the clip's canonical samples as int16 (the canonical audio loader)."""
    try:
        data = _blob_store(context.storage_url, context.s3_endpoint_url).get(record.canonical_key)
    except BlobNotFound as exc:
        raise CheckError(f"the audio of clip {record.clip_id} is missing from the blob store") from exc
    return decode_canonical(data)


# The header collector.canonical.wav_bytes writes: RIFF/WAVE, a 16-byte fmt chunk (PCM, mono, 16 kHz, 16 bit),
# then the data chunk at byte 36. Such a file is read without soundfile (0.6 ms a clip under load, 30× this).
_CANONICAL_FMT = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, CANONICAL_RATE_HZ, CANONICAL_RATE_HZ * 2, 2, 16)


def decode_canonical(data: bytes) -> np.ndarray:
    """Return the int16 samples of a canonical WAV (any other WAV layout goes through soundfile)."""
    canonical = data[:4] == b"RIFF" and data[8:12] == b"WAVE" and data[12:36] == _CANONICAL_FMT
    if canonical and data[36:40] == b"data":
        size = struct.unpack_from("<I", data, 40)[0]
        return np.frombuffer(data, dtype="<i2", count=min(size, len(data) - 44) // 2, offset=44)
    samples, _rate = sf.read(io.BytesIO(data), dtype="int16")
    return samples if samples.ndim == 1 else samples[:, 0]

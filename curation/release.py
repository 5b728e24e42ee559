"""Build a release directory (DESIGN §7) from the collector's store, and record which clips went where."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload
from tqdm import tqdm

from collector.blobs import BlobNotFound, BlobStore
from collector.models import Campaign, Clip, Consent, Contributor, Erasure, Release, ReleaseClip
from collector.privacy import speaker_id
from collector.text import escape_unsafe
from collector.votes import DECISION_STATUS
from curation.datasheet import attribution_markdown, datasheet_markdown
from curation.splits import SPLITS, clip_filename, which_set
from licenses import UnknownLicense, get_license

FORMAT_VERSION = "1"
TSV_COLUMNS = (
    "path", "keyword", "speaker_id", "split", "license", "consent_version", "age", "gender", "accent",
    "language", "up_votes", "down_votes", "status", "duration_ms", "snr_db", "rms_dbfs", "sha256", "source",
)
# Common Voice publishes age and gender only for values at least this many speakers share; accent is free
# text, so a rare accent could single a speaker out just as well and is suppressed by the same rule.
MIN_SPEAKERS_PER_VALUE = 5
SUPPRESSED_FIELDS = ("age", "gender", "accent")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_KEYWORD_DIR = re.compile(r"^[^/\\\x00]+$")


class ReleaseError(Exception):
    """A release that cannot be built as asked; the message is one sentence for a person."""


@dataclass
class Entry:
    """One clip as it appears in the release: its file, speaker, split and clips.tsv row."""

    clip: Clip
    path: str
    keyword: str
    speaker: str
    split: str
    row: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReleaseSummary:
    """What a finished release holds; `checksum` is the SHA-256 of its SHA256SUMS."""

    out_dir: Path
    version: str
    release_id: int
    clip_count: int
    speaker_count: int
    counts: dict[str, dict[str, int]]
    licenses: list[str]
    deletions: int
    checksum: str


def build_release(
    session: Session,
    store: BlobStore,
    campaign: Campaign,
    out_dir: str | os.PathLike[str],
    *,
    secret_key: str,
    validated_only: bool = False,
    licenses: Iterable[str] | None = None,
    version: str | None = None,
    progress: bool = True,
) -> ReleaseSummary:
    """Write a complete release of a campaign into out_dir (atomically) and record it in the store."""
    out = Path(out_dir)
    _check_out_dir(out)
    allowed = allowed_licenses(campaign, licenses)
    version = choose_version(session, campaign, version)
    entries = plan_entries(select_clips(session, campaign, allowed, validated_only), campaign, secret_key)
    if not entries:
        raise ReleaseError(f"campaign {campaign.slug!r} has no clips that can be released with these filters")
    previous = latest_release(session, campaign)
    deletions = deleted_speakers(session, previous)
    created = datetime.now(UTC)
    filters = {"validated_only": validated_only, "licenses": sorted(allowed)}
    out.parent.mkdir(parents=True, exist_ok=True)
    # Everything is written beside OUT and renamed at the end, so a crash never leaves a half release.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        copy_clips(store, entries, tmp, progress=progress)
        meta = write_metadata(tmp, campaign, entries, version, created, deletions, filters, previous)
        checksum = write_checksums(tmp)
        release = record_release(session, campaign, entries, version, out, checksum, created)
        tmp.chmod(0o755)
        _publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReleaseSummary(out, version, release.id, len(entries), meta["speakers"], meta["counts"],
                          [lic["spdx"] for lic in meta["licenses"]], len(deletions), checksum)


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        raise ReleaseError(f"{out} is not empty; choose a new directory for the release")


def _publish(tmp: Path, out: Path) -> None:
    _check_out_dir(out)
    try:
        os.rename(tmp, out)  # replaces an empty directory atomically on POSIX
    except OSError as exc:
        raise ReleaseError(f"cannot move the release into {out}: {exc.strerror}") from exc


def allowed_licenses(campaign: Campaign, requested: Iterable[str] | None) -> set[str]:
    """Return the SPDX ids a release may carry: the campaign's, narrowed to the requested ones."""
    allowed = set(campaign.licenses)
    if not requested:
        return allowed
    chosen = set()
    for spdx in requested:
        try:
            get_license(spdx)
        except UnknownLicense as exc:
            raise ReleaseError(f"{exc}.") from None
        if spdx not in allowed:
            raise ReleaseError(f"campaign {campaign.slug!r} does not allow licence {spdx!r} "
                               f"(it allows {', '.join(sorted(allowed))})")
        chosen.add(spdx)
    return chosen


def latest_release(session: Session, campaign: Campaign) -> Release | None:
    """Return the campaign's most recent release, if any."""
    query = select(Release).where(Release.campaign_id == campaign.id)
    return session.scalars(query.order_by(Release.created_at.desc(), Release.id.desc()).limit(1)).first()


def choose_version(session: Session, campaign: Campaign, version: str | None) -> str:
    """Return the release version: the one asked for if free, else the next integer ("1", "2", …)."""
    taken = set(session.scalars(select(Release.version).where(Release.campaign_id == campaign.id)))
    if version is None:
        return str(max((int(v) for v in taken if v.isdigit()), default=0) + 1)
    if not _VERSION.match(version):
        raise ReleaseError(f"version {version!r} must be 1-32 letters, digits, dots, dashes or underscores")
    if version in taken:
        raise ReleaseError(f"campaign {campaign.slug!r} already has a release {version!r}")
    return version


def select_clips(
    session: Session, campaign: Campaign, licenses: set[str], validated_only: bool
) -> list[Clip]:
    """Return the releasable clips in a stable order: consent not withdrawn, licence allowed, not rejected."""
    # A curator's decision overrides the votes (DESIGN §6): "reject" always drops a clip, "approve" keeps it.
    approved = Clip.curator_decision == "approve"
    judged = Clip.status == "validated" if validated_only else Clip.status != "invalidated"
    query = (
        select(Clip)
        .join(Consent, Clip.consent_id == Consent.id)
        .join(Contributor, Clip.contributor_id == Contributor.id)
        .where(
            Clip.campaign_id == campaign.id,
            Consent.withdrawn_at.is_(None),
            Contributor.erased_at.is_(None),
            Consent.license.in_(sorted(licenses)),
            or_(Clip.curator_decision.is_(None), Clip.curator_decision != "reject"),
            or_(approved, judged),
        )
        .options(joinedload(Clip.keyword), joinedload(Clip.consent),
                 joinedload(Clip.contributor).joinedload(Contributor.demographics))
        .order_by(Clip.created_at, Clip.public_id)
    )
    return list(session.scalars(query).unique())


def plan_entries(clips: Sequence[Clip], campaign: Campaign, secret_key: str) -> list[Entry]:
    """Name every clip `<keyword>/<speaker>_nohash_<n>.wav`, n counting a speaker's clips per keyword."""
    counters: Counter[tuple[str, str]] = Counter()
    entries = []
    for clip in clips:
        word = clip.keyword.word
        if not _KEYWORD_DIR.match(word) or word.startswith((".", "_")):
            raise ReleaseError(f"keyword {word!r} cannot be a folder name in a release")
        speaker = speaker_id(secret_key, clip.contributor.public_id)
        name = clip_filename(speaker, counters[word, speaker])
        counters[word, speaker] += 1
        entries.append(Entry(clip, f"{word}/{name}", word, speaker, which_set(name)))
    for entry in entries:
        entry.row = clip_row(entry, campaign)
    suppress_small_cells(entries)
    return sorted(entries, key=lambda e: e.path)


def clip_row(entry: Entry, campaign: Campaign) -> dict[str, str]:
    """Return the clips.tsv row of one clip; demographics only where its consent opted in."""
    clip = entry.clip
    demographics = clip.contributor.demographics if clip.consent.demographics_opt_in else None
    return {
        "path": entry.path, "keyword": entry.keyword, "speaker_id": entry.speaker, "split": entry.split,
        "license": clip.consent.license, "consent_version": clip.consent.consent_version,
        "age": _field(demographics, "age"), "gender": _field(demographics, "gender"),
        "accent": _field(demographics, "accent"), "language": campaign.language,
        "up_votes": str(clip.up_votes), "down_votes": str(clip.down_votes),
        "status": DECISION_STATUS.get(clip.curator_decision or "", clip.status),
        "duration_ms": str(clip.duration_ms), "snr_db": f"{clip.snr_db:.1f}",
        "rms_dbfs": f"{clip.rms_dbfs:.1f}", "sha256": clip.sha256, "source": clip.source,
    }


def _field(demographics: Any, name: str) -> str:
    value = getattr(demographics, name, None) or ""
    return escape_unsafe(" ".join(value.split()))  # free text must not break the TSV or reorder its text


def suppress_small_cells(entries: Sequence[Entry]) -> None:
    """Blank, in the whole release, every age, gender or accent value that fewer than 5 speakers carry."""
    for name in SUPPRESSED_FIELDS:
        speakers: dict[str, set[str]] = defaultdict(set)
        for entry in entries:
            if entry.row[name]:
                speakers[entry.row[name]].add(entry.speaker)
        rare = {value for value, who in speakers.items() if len(who) < MIN_SPEAKERS_PER_VALUE}
        for entry in entries:
            if entry.row[name] in rare:
                entry.row[name] = ""


def deleted_speakers(session: Session, previous: Release | None) -> list[str]:
    """Return the speaker ids erased since the previous release (all of them for a first release)."""
    query = select(Erasure.speaker_id)
    if previous is not None:
        query = query.where(Erasure.erased_at > previous.created_at)
    return sorted(set(session.scalars(query)))


def copy_clips(store: BlobStore, entries: Sequence[Entry], root: Path, *, progress: bool = True) -> None:
    """Copy every clip's canonical WAV from the blob store to its place in the release."""
    show = progress and sys.stderr.isatty()
    for entry in tqdm(entries, desc="copying clips", unit="clip", disable=not show, leave=False):
        target = root / entry.path
        target.parent.mkdir(exist_ok=True)
        try:
            data = store.get(entry.clip.canonical_key)
        except BlobNotFound as exc:
            clip_id = entry.clip.public_id
            raise ReleaseError(f"the audio of clip {clip_id} is missing from the blob store") from exc
        target.write_bytes(data)


def write_metadata(
    root: Path,
    campaign: Campaign,
    entries: Sequence[Entry],
    version: str,
    created: datetime,
    deletions: Sequence[str],
    filters: dict[str, Any],
    previous: Release | None,
) -> dict[str, Any]:
    """Write the split lists, clips.tsv, release.json, licences, attribution, deletions and datasheet."""
    for split in ("validation", "testing"):
        paths = [e.path for e in entries if e.split == split]
        (root / f"{split}_list.txt").write_text("".join(f"{p}\n" for p in paths), "utf-8")
    write_tsv(root / "clips.tsv", [e.row for e in entries])
    meta = release_metadata(campaign, entries, version, created, filters, previous)
    (root / "release.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")
    used = [get_license(lic["spdx"]) for lic in meta["licenses"]]
    (root / "LICENSES").mkdir()
    for lic in used:
        (root / "LICENSES" / f"{lic.spdx}.txt").write_text(lic.text(), "utf-8")
    credited = [lic for lic in used if lic.requires_attribution]
    if credited:
        (root / "ATTRIBUTION.md").write_text(attribution_markdown(campaign, version, credited), "utf-8")
    (root / "deletions.txt").write_text("".join(f"{s}\n" for s in deletions), "utf-8")
    rows = [e.row for e in entries]
    (root / "datasheet.md").write_text(datasheet_markdown(meta, rows, len(deletions)), "utf-8")
    return meta


def write_tsv(path: Path, rows: Sequence[dict[str, str]]) -> None:
    """Write clips.tsv: the binding columns in order, one row per clip."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, TSV_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def release_metadata(
    campaign: Campaign,
    entries: Sequence[Entry],
    version: str,
    created: datetime,
    filters: dict[str, Any],
    previous: Release | None,
) -> dict[str, Any]:
    """Return release.json: format, campaign, version, creation time, counts and licences."""
    by_keyword_split: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in entries:
        by_keyword_split[entry.keyword][entry.split] += 1
    licences = sorted({e.row["license"] for e in entries})
    return {
        "format_version": FORMAT_VERSION,
        "campaign": {"slug": campaign.slug, "title": campaign.title, "language": campaign.language},
        "version": version,
        "previous_version": previous.version if previous else None,
        "created": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "clips": len(entries),
        "speakers": len({e.speaker for e in entries}),
        "counts": {
            "keywords": dict(sorted(Counter(e.keyword for e in entries).items())),
            "splits": {s: sum(e.split == s for e in entries) for s in SPLITS},
            "licenses": dict(sorted(Counter(e.row["license"] for e in entries).items())),
            "consent_versions": dict(sorted(Counter(e.row["consent_version"] for e in entries).items())),
        },
        "keyword_splits": {k: {s: c[s] for s in SPLITS} for k, c in sorted(by_keyword_split.items())},
        "licenses": [{"spdx": s, "name": get_license(s).name, "url": get_license(s).url} for s in licences],
        "filters": filters,
    }


def write_checksums(root: Path) -> str:
    """Write SHA256SUMS (sha256sum format, sorted paths, every file but itself); return its SHA-256."""
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        lines.append(f"{_sha256_file(path)}  {relative}\n")
    content = "".join(lines).encode("utf-8")
    (root / "SHA256SUMS").write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_release(
    session: Session,
    campaign: Campaign,
    entries: Sequence[Entry],
    version: str,
    out: Path,
    checksum: str,
    created: datetime,
) -> Release:
    """Add the Release row and one ReleaseClip per clip (lineage); flushed, committed by the caller."""
    release = Release(campaign_id=campaign.id, version=version, path=str(out.resolve()),
                      clip_count=len(entries), checksum=checksum, created_at=created)
    session.add(release)
    session.flush()
    session.add_all(ReleaseClip(release_id=release.id, clip_id=e.clip.id, path=e.path) for e in entries)
    session.flush()
    return release

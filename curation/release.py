"""Build a release directory (DESIGN §7) from the collector's store, and record which clips went where."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
import wave
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload
from tqdm import tqdm

from collector.blobs import BlobNotFound, BlobStore
from collector.clips import LIVE, live_clip_ids
from collector.models import (
    Campaign,
    Clip,
    ClipFinding,
    Consent,
    Contributor,
    Erasure,
    Keyword,
    Release,
    ReleaseClip,
)
from collector.privacy import pseudonym_key, speaker_id
from collector.text import escape_unsafe
from collector.votes import STATUS, clip_status
from curation.croissant import write_croissant
from curation.datasheet import attribution_markdown, datasheet_markdown
from curation.noise import GeneratedNoise, generated_noise
from curation.release_balance import balance_figures, report_clip
from curation.release_format import (
    ATTRIBUTION,
    BACKGROUND_NOISE_DIR,
    DATASHEET,
    DELETIONS,
    LICENSES_DIR,
    SPLITS,
    ReleasedClip,
    ReleaseError,
    clip_path,
    noise_path,
    split_counts,
    which_set,
    write_background_tsv,
    write_checksums,
    write_clips_tsv,
    write_release_json,
    write_split_lists,
)
from curation.selection import WORD_KINDS, cap_per_speaker
from curation.splits import clip_filename, split_warnings
from licenses import UnknownLicense, get_license

# Common Voice publishes age and gender only for values at least this many speakers share; accent is free
# text, so a rare accent could single a speaker out just as well and is suppressed by the same rule.
MIN_SPEAKERS_PER_VALUE = 5
GENERATED_LICENSE = "CC0-1.0"  # generated white and pink noise: wordcrowd's own, given to the public domain
SUPPRESSED_FIELDS = ("age", "gender", "accent")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
# a release retries its record this many times when clips are deleted while it is written
PUBLISH_ATTEMPTS = 3

log = logging.getLogger(__name__)



@dataclass
class Entry:
    """One clip as it appears in the release: its file, speaker, split and clips.tsv row."""

    clip: Clip
    path: str
    keyword: str
    speaker: str
    split: str
    row: dict[str, str] = field(default_factory=dict)

    @property
    def is_noise(self) -> bool:
        """True for a recorded ambience file of `_background_noise_/`, False for a word clip."""
        return self.keyword == BACKGROUND_NOISE_DIR

    @property
    def released(self) -> ReleasedClip:
        """The clip as the release format records it."""
        return ReleasedClip(self.path, self.keyword, self.split)


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
    warnings: tuple[str, ...] = ()
    skipped: list[str] = field(default_factory=list)  # clip ids left out: deleted while the release ran
    noise_files: int = 0  # files of _background_noise_/: recorded ambience and generated noise


def build_release(
    session: Session,
    store: BlobStore,
    campaign: Campaign,
    out_dir: str | os.PathLike[str],
    *,
    validated_only: bool = False,
    licenses: Iterable[str] | None = None,
    version: str | None = None,
    progress: bool = True,
    max_per_speaker: int | None = None,
) -> ReleaseSummary:
    """Write a complete release of a campaign into out_dir (atomically), record it in the store; commit."""
    out = Path(out_dir)
    _check_out_dir(out)
    if max_per_speaker is not None and max_per_speaker < 1:
        raise ReleaseError(f"--max-per-speaker must be at least 1, not {max_per_speaker}")
    allowed = allowed_licenses(campaign, licenses)
    version = choose_version(session, campaign, version)
    entries, capped = plan_release(session, campaign, allowed, validated_only, max_per_speaker)
    previous = latest_release(session, campaign)
    deletions = deleted_speakers(session, previous)
    created = datetime.now(UTC)
    filters = {"validated_only": validated_only, "licenses": sorted(allowed),
               "max_per_speaker": max_per_speaker}
    out.parent.mkdir(parents=True, exist_ok=True)
    # Everything is written beside OUT and renamed at the end, so a crash never leaves a half release.
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        generated = write_generated_noise(tmp)
        skipped = dropping = copy_clips(session, store, entries, tmp, progress=progress)
        entries, notes = drop_short_noise(entries, tmp, campaign)
        for _attempt in range(PUBLISH_ATTEMPTS):
            entries = drop_entries(entries, dropping, tmp, campaign)
            if not any(not entry.is_noise for entry in entries):
                raise ReleaseError(f"every clip of campaign {campaign.slug!r} was deleted while releasing")
            meta = write_metadata(tmp, campaign, entries, version, created, deletions, filters, previous,
                                  extra={"capped": capped}, generated=generated, notes=notes)
            checksum = write_checksums(tmp)
            outcome = record_and_publish(session, campaign, entries, version, tmp, out, checksum, created)
            if isinstance(outcome, Release):
                break
            dropping, skipped = outcome, [*skipped, *outcome]
        else:
            raise ReleaseError("clips kept being deleted while the release was written; try again")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReleaseSummary(out, version, outcome.id, meta["clips"], meta["speakers"], meta["counts"],
                          [lic["spdx"] for lic in meta["licenses"]], len(deletions), checksum,
                          warnings=tuple(meta["warnings"]),
                          skipped=sorted(entry.clip.public_id for entry in skipped),
                          noise_files=meta["background_noise"]["files"])


def plan_release(session: Session, campaign: Campaign, allowed: set[str], validated_only: bool,
                 max_per_speaker: int | None) -> tuple[list[Entry], dict[str, int]]:
    """Choose and name a release's word clips (capped per speaker) and ambience; return them and the cap's
    left-out clips per word."""
    clips, capped = cap_per_speaker(select_clips(session, campaign, allowed, validated_only), max_per_speaker)
    key = pseudonym_key(session)
    entries = plan_entries(clips, campaign, key)
    if not entries:
        raise ReleaseError(f"campaign {campaign.slug!r} has no clips that can be released with these filters")
    ambience = select_clips(session, campaign, allowed, validated_only, kinds=("ambience",))
    return entries + plan_noise_entries(ambience, key), capped


def record_and_publish(session: Session, campaign: Campaign, entries: list[Entry], version: str, tmp: Path,
                       out: Path, checksum: str, created: datetime) -> Release | list[Entry]:
    """Record the release, publish its directory and commit; or return the entries deleted meanwhile."""
    # The Release row is written first: on SQLite that takes the write lock, and on PostgreSQL the
    # clips are share-locked, so no deletion starts between this check and the commit.
    release = Release(campaign_id=campaign.id, version=version, path=str(out.resolve()),
                      clip_count=sum(not entry.is_noise for entry in entries), checksum=checksum,
                      created_at=created)
    session.add(release)
    session.flush()
    live = live_clip_ids(session, [entry.clip.id for entry in entries], lock=True)
    gone = [entry for entry in entries if entry.clip.id not in live]
    if gone:
        # keep the planned entries as they were read (a rollback would expire them, and a refresh could
        # meet a row deleted since); then let go of the write lock while the metadata is written again
        session.expunge_all()
        session.rollback()
        return gone
    session.add_all(ReleaseClip(release_id=release.id, clip_id=e.clip.id, path=e.path) for e in entries)
    session.flush()
    tmp.chmod(0o755)
    _publish(tmp, out)
    try:
        session.commit()
    except BaseException:
        _unpublish(out, tmp)  # a release the store does not know is not published
        raise
    return release


def drop_entries(entries: list[Entry], dropped: Sequence[Entry], root: Path,
                 campaign: Campaign) -> list[Entry]:
    """Remove dropped entries and their files; recompute the rows (small-cell suppression) of the rest."""
    if not dropped:
        return entries
    ids = {entry.clip.id for entry in dropped}
    for entry in dropped:
        (root / entry.path).unlink(missing_ok=True)
        if not entry.is_noise and not any((root / entry.keyword).iterdir()):
            (root / entry.keyword).rmdir()
    kept = [entry for entry in entries if entry.clip.id not in ids]
    fill_rows(kept, campaign)
    for path in root.iterdir():  # the metadata is written again for the clips that are left
        if path.is_file():
            path.unlink()
    shutil.rmtree(root / LICENSES_DIR, ignore_errors=True)
    return kept


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


def _unpublish(out: Path, tmp: Path) -> None:
    try:
        os.rename(out, tmp)
    except OSError:
        log.exception("could not take back the release in %s after its record failed", out)


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
    session: Session, campaign: Campaign, licenses: set[str], validated_only: bool,
    kinds: Sequence[str] = WORD_KINDS,
) -> list[Clip]:
    """Return the releasable clips of these keyword kinds in a stable order: consent in force, licence
    allowed, passed review (not invalidated nor curator-rejected; validated or approved if validated_only)."""
    # the status as it stands: a curator's decision overrides the votes (DESIGN §6)
    judged = STATUS == "validated" if validated_only else STATUS != "invalidated"
    if "ambience" in kinds and not validated_only:
        judged = and_(judged, _unflagged_or_validated())
    query = (
        select(Clip)
        .join(Keyword, Clip.keyword_id == Keyword.id)
        .join(Consent, Clip.consent_id == Consent.id)
        .join(Contributor, Clip.contributor_id == Contributor.id)
        .where(
            Clip.campaign_id == campaign.id,
            Keyword.kind.in_(list(kinds)),
            LIVE,
            Consent.withdrawn_at.is_(None),
            Contributor.erased_at.is_(None),
            Consent.license.in_(sorted(licenses)),
            judged,
        )
        .options(joinedload(Clip.keyword), joinedload(Clip.consent),
                 joinedload(Clip.contributor).joinedload(Contributor.demographics))
        .order_by(Clip.created_at, Clip.public_id)
    )
    return list(session.scalars(query).unique())


def _unflagged_or_validated():
    """Room sound nobody has checked: no ingestion flag and no check finding, unless a curator approved it.

    Flagged room sound (speech in it, clipping) would teach a model's silence class the wrong thing, and peers
    never vote on it, so it waits for a curator; word clips pass this condition as they are."""
    finding = select(ClipFinding.id).where(ClipFinding.clip_id == Clip.id).exists()
    unflagged = and_(Clip.auto_verdict == "accept", ~finding)
    return or_(Keyword.kind != "ambience", STATUS == "validated", unflagged)


def plan_entries(clips: Sequence[Clip], campaign: Campaign, key: str) -> list[Entry]:
    """Name every clip `<keyword>/<speaker>_nohash_<n>.wav`, n counting a speaker's clips per keyword."""
    counters: Counter[tuple[str, str]] = Counter()
    entries = []
    for clip in clips:
        word = clip.keyword.word
        speaker = speaker_id(key, clip.contributor.public_id)
        path = clip_path(word, speaker, counters[word, speaker])
        counters[word, speaker] += 1
        entries.append(Entry(clip, path, word, speaker, which_set(path)))
    fill_rows(entries, campaign)
    return sorted(entries, key=lambda e: e.path)


def plan_noise_entries(clips: Sequence[Clip], key: str) -> list[Entry]:
    """Name every ambience recording `_background_noise_/<speaker>_ambience_<n>.wav`, n per speaker."""
    counters: Counter[str] = Counter()
    entries = []
    for clip in clips:
        speaker = speaker_id(key, clip.contributor.public_id)
        entry = Entry(clip, noise_path(speaker, counters[speaker]), BACKGROUND_NOISE_DIR, speaker,
                      which_set(clip_filename(speaker, 0)))
        counters[speaker] += 1
        entry.row = noise_row(entry)
        entries.append(entry)
    return sorted(entries, key=lambda e: e.path)


def noise_row(entry: Entry) -> dict[str, str]:
    """Return background_noise.tsv's row of a recorded ambience file: no demographics (room sound)."""
    row = clip_row(entry, None)
    row.update(age="", gender="", accent="")
    return row


def generated_row(noise: GeneratedNoise) -> dict[str, str]:
    """Return background_noise.tsv's row of a generated noise file: no speaker, licence CC0-1.0."""
    # the columns not named here are written empty
    return {"path": f"{BACKGROUND_NOISE_DIR}/{noise.name}", "keyword": BACKGROUND_NOISE_DIR, "speaker_id": "",
            "license": GENERATED_LICENSE, "duration_ms": str(noise.duration_ms),
            "rms_dbfs": f"{noise.rms_dbfs:.1f}", "sha256": noise.sha256, "source": "generated"}


def drop_short_noise(entries: list[Entry], root: Path, campaign: Campaign) -> tuple[list[Entry], list[str]]:
    """Leave out copied ambience not longer than 1 s; return the entries left and a warning naming them."""
    short = too_short_noise(entries, root)
    if not short:
        return entries, []
    ids = ", ".join(entry.clip.public_id for entry in short)
    return drop_entries(entries, short, root, campaign), [
        f"left out {len(short)} ambience recording(s) not longer than 1 s of 16 kHz mono audio ({ids})"]


def too_short_noise(entries: Sequence[Entry], root: Path) -> list[Entry]:
    """Return the copied ambience entries that are not 16 kHz mono WAV longer than 1 s (TF needs > 1 s)."""
    short = []
    for entry in entries:
        if entry.is_noise and (root / entry.path).is_file():
            try:
                with wave.open(str(root / entry.path)) as audio:
                    usable = (audio.getframerate(), audio.getnchannels()) == (16000, 1) \
                        and audio.getnframes() > 16000
            except (wave.Error, EOFError):
                usable = False
            if not usable:
                short.append(entry)
    return short


def write_generated_noise(root: Path) -> list[GeneratedNoise]:
    """Write white_noise.wav and pink_noise.wav into `_background_noise_/`; return what was written."""
    folder = root / BACKGROUND_NOISE_DIR
    folder.mkdir(exist_ok=True)
    noises = generated_noise()
    for noise in noises:
        (folder / noise.name).write_bytes(noise.wav)
    return noises


def fill_rows(entries: Sequence[Entry], campaign: Campaign) -> None:
    """Set every entry's clips.tsv row, then blank the demographic values too few speakers carry."""
    words = [entry for entry in entries if not entry.is_noise]
    for entry in words:
        entry.row = clip_row(entry, campaign)
    suppress_small_cells(words)


def clip_row(entry: Entry, campaign: Campaign | None) -> dict[str, str]:
    """Return the clips.tsv row of one clip; demographics only where its consent opted in."""
    clip = entry.clip
    opted_in = clip.consent.demographics_opt_in and campaign is not None
    demographics = clip.contributor.demographics if opted_in else None
    return {
        "path": entry.path, "keyword": entry.keyword, "speaker_id": entry.speaker, "split": entry.split,
        "license": clip.consent.license, "consent_version": clip.consent.consent_version,
        "age": _field(demographics, "age"), "gender": _field(demographics, "gender"),
        "accent": _field(demographics, "accent"), "language": campaign.language if campaign else "",
        "up_votes": str(clip.up_votes), "down_votes": str(clip.down_votes),
        "status": clip_status(clip),
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


def copy_clips(session: Session, store: BlobStore, entries: Sequence[Entry], root: Path, *,
               progress: bool = True) -> list[Entry]:
    """Copy every clip's canonical WAV into the release; return the clips skipped as being deleted."""
    show = progress and sys.stderr.isatty()
    missing = []
    for entry in tqdm(entries, desc="copying clips", unit="clip", disable=not show, leave=False):
        target = root / entry.path
        target.parent.mkdir(exist_ok=True)
        try:
            data = store.get(entry.clip.canonical_key)
        except BlobNotFound:
            missing.append(entry)
            continue
        target.write_bytes(data)
    live = live_clip_ids(session, [entry.clip.id for entry in missing])
    lost = sorted(entry.clip.public_id for entry in missing if entry.clip.id in live)
    if lost:  # audio gone with no deletion under way: data loss, which a release must not paper over
        raise ReleaseError(f"the audio of clip(s) {', '.join(lost)} is missing from the blob store "
                           "and no deletion explains it; restore it from a backup or delete the clip(s)")
    return missing


def write_metadata(
    root: Path,
    campaign: Campaign,
    entries: Sequence[Entry],
    version: str,
    created: datetime,
    deletions: Sequence[str],
    filters: dict[str, Any],
    previous: Release | None,
    extra: dict[str, Any] | None = None,
    generated: Sequence[GeneratedNoise] = (),
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Write split lists, clips.tsv, background_noise.tsv, release.json (with any extra fields), licences,
    deletions, datasheet and croissant.json."""
    words = [e for e in entries if not e.is_noise]
    noise_rows = [e.row for e in entries if e.is_noise] + [generated_row(noise) for noise in generated]
    noise_rows.sort(key=lambda row: row["path"])
    write_split_lists(root, (e.released for e in words))
    write_clips_tsv(root, (e.row for e in words))
    write_background_tsv(root, noise_rows)
    document = release_metadata(campaign, words, version, created, filters, previous, noise_rows)
    document["warnings"] += notes
    meta = write_release_json(root, document, extra)
    used = [get_license(lic["spdx"]) for lic in meta["licenses"]]
    (root / LICENSES_DIR).mkdir()
    for lic in used:
        (root / LICENSES_DIR / f"{lic.spdx}.txt").write_text(lic.text(), "utf-8")
    credited = [lic for lic in used if lic.requires_attribution]
    if credited:
        (root / ATTRIBUTION).write_text(attribution_markdown(campaign, version, credited,
                                                             imported_sources(entries)), "utf-8")
    (root / DELETIONS).write_text("".join(f"{s}\n" for s in deletions), "utf-8")
    rows = [e.row for e in words]
    balance = balance_figures([report_clip(e.clip, e.speaker, e.split, e.row["status"]) for e in words],
                              [*meta["keywords"], *meta["auxiliary_words"]])
    (root / DATASHEET).write_text(datasheet_markdown(meta, rows, len(deletions), balance), "utf-8")
    write_croissant(root, meta)
    return meta


def imported_sources(entries: Sequence[Entry]) -> Counter[tuple[str, str, str]]:
    """Count the release's imported files by (source, licence, terms URL), from their imported consents."""
    consents = (e.clip.consent for e in entries)
    return Counter((c.source or "", c.license, c.terms_url or "") for c in consents if c.kind == "imported")


def release_metadata(
    campaign: Campaign,
    entries: Sequence[Entry],
    version: str,
    created: datetime,
    filters: dict[str, Any],
    previous: Release | None,
    noise_rows: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """Return release.json's content but its format version: campaign, version, counts, licences, words,
    background noise, warnings (entries: the word clips)."""
    by_keyword_split: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in entries:
        by_keyword_split[entry.keyword][entry.split] += 1
    licences = sorted({e.row["license"] for e in entries} | {row["license"] for row in noise_rows})
    released = {entry.keyword for entry in entries}
    return {
        "campaign": {"slug": campaign.slug, "title": campaign.title, "language": campaign.language},
        "version": version,
        "previous_version": previous.version if previous else None,
        "created": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "clips": len(entries),
        "speakers": len({e.speaker for e in entries}),
        "counts": {
            "keywords": dict(sorted(Counter(e.keyword for e in entries).items())),
            "splits": split_counts([e.released for e in entries]),
            "licenses": dict(sorted(Counter(e.row["license"] for e in entries).items())),
            "consent_versions": dict(sorted(Counter(e.row["consent_version"] for e in entries).items())),
        },
        "keyword_splits": {k: {s: c[s] for s in SPLITS} for k, c in sorted(by_keyword_split.items())},
        "keywords": _words_of_kind(campaign, "keyword", released),
        "auxiliary_words": _words_of_kind(campaign, "auxiliary", released),
        "background_noise": noise_summary(noise_rows),
        "licenses": [{"spdx": s, "name": get_license(s).name, "url": get_license(s).url} for s in licences],
        "filters": filters,
        "warnings": split_warnings((e.speaker, e.split) for e in entries),
    }


def _words_of_kind(campaign: Campaign, kind: str, released: set[str]) -> list[str]:
    """The campaign's words of one kind that the release holds clips of, in the campaign's order."""
    return [word.word for word in campaign.keywords if word.kind == kind and word.word in released]


def noise_summary(rows: Sequence[dict[str, str]]) -> dict[str, Any]:
    """release.json's `background_noise`: files, recorded and generated ones, seconds, speakers, licences."""
    recorded = [row for row in rows if row["source"] != "generated"]
    return {
        "directory": BACKGROUND_NOISE_DIR,
        "files": len(rows),
        "recorded": len(recorded),
        "generated": [row["path"].split("/", 1)[1] for row in rows if row["source"] == "generated"],
        "recorded_seconds": round(sum(int(row["duration_ms"]) for row in recorded) / 1000, 1),
        "speakers": len({row["speaker_id"] for row in recorded}),
        "licenses": dict(sorted(Counter(row["license"] for row in rows).items())),
    }



"""The release directory (DESIGN §7, docs/formats.md): layout, records, and the one reader and writer of it.

curation.release writes releases through this module and training reads them through it, so a change of
the format is one edit here (and a new FORMAT_VERSION when old readers could not follow it).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curation.format_version import FORMAT_VERSION_KEY, check_format_version
from curation.splits import SPLITS, clip_filename, which_set

FORMAT_VERSION = 1  # integer major version of the release directory; additions keep it, changes bump it
# minor version: counts additions within the major (1: background noise listing, keywords and auxiliary
# words in release.json, the per-speaker cap, croissant.json); readers must not require it
FORMAT_MINOR = 1
FORMAT_MINOR_KEY = "format_minor"
READABLE_VERSIONS = (1,)
# release.json written before format versions were integers said "1": the same format, read as 1
_LEGACY_VERSIONS = {"1": 1}

RELEASE_JSON = "release.json"
CLIPS_TSV = "clips.tsv"
CHECKSUMS = "SHA256SUMS"
LICENSES_DIR = "LICENSES"
ATTRIBUTION = "ATTRIBUTION.md"
DELETIONS = "deletions.txt"
DATASHEET = "datasheet.md"
CROISSANT = "croissant.json"
BACKGROUND_NOISE_DIR = "_background_noise_"
BACKGROUND_TSV = "background_noise.tsv"  # one row per file of _background_noise_, clips.tsv's columns
LIST_FILES = {"validation": "validation_list.txt", "testing": "testing_list.txt"}
TSV_COLUMNS = (
    "path", "keyword", "speaker_id", "split", "license", "consent_version", "age", "gender", "accent",
    "language", "up_votes", "down_votes", "status", "duration_ms", "snr_db", "rms_dbfs", "sha256", "source",
)
# A word folder is any folder of the release root not starting with "_" (those are TF's: background noise)
# or "." (hidden); the word itself is the folder's name, so it must be one path component.
_WORD_FOLDER = re.compile(r"^[^/\\\x00._][^/\\\x00]*$")

__all__ = [
    "ATTRIBUTION", "BACKGROUND_NOISE_DIR", "BACKGROUND_TSV", "CHECKSUMS", "CLIPS_TSV", "CROISSANT",
    "DATASHEET", "DELETIONS", "FORMAT_MINOR", "FORMAT_VERSION", "LICENSES_DIR", "LIST_FILES",
    "READABLE_VERSIONS", "RELEASE_JSON", "ReleaseDir", "ReleaseError", "ReleasedClip", "SPLITS",
    "TSV_COLUMNS",
    "check_word", "clip_path", "noise_path", "read_background_tsv", "read_clips_tsv", "read_release",
    "read_release_json", "read_split_lists", "split_counts", "which_set", "write_background_tsv",
    "write_checksums", "write_clips_tsv", "write_release_json", "write_split_lists",
]


class ReleaseError(ValueError):
    """A release that cannot be built as asked, or a directory that is not a readable release."""


@dataclass(frozen=True)
class ReleasedClip:
    """One clip as the release places it: `<word>/<speaker>_nohash_<n>.wav`, its word and its split."""

    path: str
    word: str
    split: str


@dataclass(frozen=True)
class ReleaseDir:
    """A release directory as read from disk: release.json, its clips, words and background noise."""

    root: Path
    info: dict[str, Any]
    clips: tuple[ReleasedClip, ...]
    words: tuple[str, ...]
    noise_files: tuple[Path, ...]
    keywords: tuple[str, ...] = ()  # the words a model learns by default; the others are `_unknown_`
    auxiliary_words: tuple[str, ...] = ()  # non-keyword words collected to be `_unknown_`

    @property
    def checksum(self) -> str | None:
        """SHA-256 of SHA256SUMS: one checksum that pins every file of the release."""
        sums = self.root / CHECKSUMS
        return hashlib.sha256(sums.read_bytes()).hexdigest() if sums.is_file() else None


def check_word(word: str) -> str:
    """Return the word if it can be a word folder of a release; raise ReleaseError otherwise."""
    if not _WORD_FOLDER.match(word):
        raise ReleaseError(f"keyword {word!r} cannot be a folder name in a release")
    return word


def clip_path(word: str, speaker: str, index: int) -> str:
    """Return a clip's path in the release: `<word>/<speaker>_nohash_<index>.wav`."""
    return f"{check_word(word)}/{clip_filename(speaker, index)}"


def noise_path(speaker: str, index: int) -> str:
    """Return a recorded ambience file's path: `_background_noise_/<speaker>_ambience_<index>.wav`."""
    return f"{BACKGROUND_NOISE_DIR}/{speaker}_ambience_{index}.wav"


# --- writing ---------------------------------------------------------------------------------------------

def write_release_json(
    root: Path, document: Mapping[str, Any], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Write release.json: the format version, the document, then extra fields; return what was written."""
    if document.get(FORMAT_VERSION_KEY, FORMAT_VERSION) != FORMAT_VERSION:
        raise ValueError("release.json is written in FORMAT_VERSION only")
    extra = dict(extra or {})
    clash = sorted(set(extra) & {FORMAT_VERSION_KEY, FORMAT_MINOR_KEY, *document})
    if clash:
        raise ValueError(f"release.json extra field {clash[0]!r} would replace a field of the format")
    written = {FORMAT_VERSION_KEY: FORMAT_VERSION, FORMAT_MINOR_KEY: FORMAT_MINOR, **document, **extra}
    text = json.dumps(written, indent=2, ensure_ascii=False) + "\n"
    (root / RELEASE_JSON).write_text(text, "utf-8")
    return written


def write_clips_tsv(root: Path, rows: Iterable[Mapping[str, Any]], name: str = CLIPS_TSV) -> None:
    """Write clips.tsv (or background_noise.tsv): a header of TSV_COLUMNS in order, then one row per file."""
    with (root / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, TSV_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_background_tsv(root: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write background_noise.tsv: clips.tsv's columns, one row per file of `_background_noise_/`."""
    write_clips_tsv(root, rows, BACKGROUND_TSV)


def write_split_lists(root: Path, clips: Iterable[ReleasedClip]) -> None:
    """Write validation_list.txt and testing_list.txt: the clip paths of each split, one per line."""
    by_split: dict[str, list[str]] = {split: [] for split in LIST_FILES}
    for clip in clips:
        if clip.split in by_split:
            by_split[clip.split].append(clip.path)
    for split, name in LIST_FILES.items():
        (root / name).write_text("".join(f"{path}\n" for path in by_split[split]), "utf-8")


def write_checksums(root: Path) -> str:
    """Write SHA256SUMS (sha256sum format, sorted paths, every file but itself); return its SHA-256."""
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p != root / CHECKSUMS):
        relative = path.relative_to(root).as_posix()
        lines.append(f"{_sha256_file(path)}  {relative}\n")
    content = "".join(lines).encode("utf-8")
    (root / CHECKSUMS).write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- reading ---------------------------------------------------------------------------------------------

def read_release(root: Path | str) -> ReleaseDir:
    """Index a release: release.json (version checked), clips by word and split, background noise."""
    root = Path(root)
    if not root.is_dir():
        raise ReleaseError(f"{root} is not a directory")
    info = read_release_json(root)
    paths = sorted(path.relative_to(root).as_posix() for path in root.glob("*/*.wav")
                   if _WORD_FOLDER.match(path.parent.name))
    if not paths:
        raise ReleaseError(f"{root} holds no clips (expected <keyword>/<speaker>_nohash_<n>.wav)")
    listed = read_split_lists(root, set(paths))
    clips = tuple(ReleasedClip(path, path.split("/")[0], _split_of(path, listed)) for path in paths)
    noise = tuple(sorted((root / BACKGROUND_NOISE_DIR).glob("*.wav")))
    words = tuple(sorted({clip.word for clip in clips}))
    auxiliary = _listed_words(info, "auxiliary_words", words) or ()
    keywords = _listed_words(info, "keywords", words)
    if keywords is None:  # a release without the list: every word but the auxiliary ones
        keywords = tuple(word for word in words if word not in auxiliary)
    return ReleaseDir(root, info, clips, words, noise, keywords, auxiliary)


def _listed_words(info: Mapping[str, Any], name: str, words: Sequence[str]) -> tuple[str, ...] | None:
    """The words release.json lists under `name` that the release holds clips of (None: no such list)."""
    listed = info.get(name)
    if not isinstance(listed, list):
        return None
    return tuple(word for word in words if word in {str(item) for item in listed})


def read_release_json(root: Path) -> dict[str, Any]:
    """Read release.json; refuse a missing file, bad JSON or a format version this code does not read."""
    path = root / RELEASE_JSON
    if not path.is_file():
        raise ReleaseError(f"{root} is not a wordcrowd release: {RELEASE_JSON} is missing")
    try:
        info = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ReleaseError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(info, dict):
        raise ReleaseError(f"{path} must hold a JSON object")
    legacy = info.get(FORMAT_VERSION_KEY)
    if isinstance(legacy, str) and legacy in _LEGACY_VERSIONS:
        info[FORMAT_VERSION_KEY] = _LEGACY_VERSIONS[legacy]
    check_format_version(info, path, READABLE_VERSIONS, ReleaseError)
    return info


def read_background_tsv(root: Path) -> list[dict[str, str]]:
    """Read background_noise.tsv (one dict per noise file); [] for a release written before it existed."""
    if not (root / BACKGROUND_TSV).is_file():
        return []
    return read_clips_tsv(root, BACKGROUND_TSV)


def read_clips_tsv(root: Path, name: str = CLIPS_TSV) -> list[dict[str, str]]:
    """Read clips.tsv as one dict per clip; refuse a file whose header lacks a column of TSV_COLUMNS."""
    path = root / name
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [column for column in TSV_COLUMNS if column not in (reader.fieldnames or ())]
            if missing:
                raise ReleaseError(f"{path} lacks the column {missing[0]!r}")
            return list(reader)
    except FileNotFoundError:
        raise ReleaseError(f"{root} is not a complete release: {name} is missing") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise ReleaseError(f"{path} is not a readable TSV file: {error}") from None


def read_split_lists(root: Path, known: set[str]) -> dict[str, set[str] | None]:
    """Read each split's list file (None when the release has none: the hash rule decides)."""
    listed: dict[str, set[str] | None] = {}
    for split, name in LIST_FILES.items():
        path = root / name
        if not path.is_file():
            listed[split] = None
            continue
        paths = {line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()}
        missing = sorted(paths - known)
        if missing:
            raise ReleaseError(f"{name} names {missing[0]}, which is not in the release")
        listed[split] = paths
    return listed


def _split_of(path: str, listed: Mapping[str, set[str] | None]) -> str:
    for split, paths in listed.items():
        if paths is None:
            if which_set(path) == split:
                return split
        elif path in paths:
            return split
    return "training"


def split_counts(clips: Sequence[ReleasedClip]) -> dict[str, int]:
    """Clips per split, every split named (zero included), in SPLITS order."""
    return {split: sum(clip.split == split for clip in clips) for split in SPLITS}

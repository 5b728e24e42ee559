"""Read a Common Voice style folder: a TSV (validated.tsv) of client_id, path, sentence, … and clips/*.mp3."""

from __future__ import annotations

import csv
from pathlib import Path

from curation.imports.demographics import merge_profiles, row_profile
from curation.imports.sources import Scan, SourceError, SourceFile, normalise_word

FORMAT = "common-voice"
DEFAULT_TSV = "validated.tsv"
CLIPS_FOLDER = "clips"
REQUIRED_COLUMNS = ("client_id", "path", "sentence")
# Common Voice datasets are CC0-1.0 under these terms (among them: never try to identify a speaker)
TERMS_URL = "https://commonvoice.mozilla.org/terms"


def tsv_and_clips(source: Path, tsv_name: str) -> tuple[Path, Path]:
    """Return the TSV and the clips folder of a source given as its folder or as the TSV itself."""
    tsv = source if source.is_file() else source / tsv_name
    if not tsv.is_file():
        raise SourceError(f"{tsv} does not exist; a Common Voice source is a folder with {tsv_name} and "
                          f"{CLIPS_FOLDER}/ (or the TSV itself)")
    clips = tsv.parent / CLIPS_FOLDER
    if not clips.is_dir():
        raise SourceError(f"{clips} is not a directory; the audio files must be in {CLIPS_FOLDER}/ beside "
                          f"{tsv.name}")
    return tsv, clips


def scan(source: Path, words: set[str], language: str, tsv_name: str = DEFAULT_TSV) -> Scan:
    """Return the rows whose sentence is one of `words` in the campaign's language, with speaker profiles."""
    tsv, clips = tsv_and_clips(source, tsv_name)
    found = Scan()
    with tsv.open(encoding="utf-8", newline="") as stream:
        # Common Voice writes its TSVs unquoted: a sentence may hold quotes of its own
        rows = csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [name for name in REQUIRED_COLUMNS if name not in (rows.fieldnames or [])]
        if missing:
            raise SourceError(f"{tsv} lacks the column(s) {', '.join(missing)} "
                              f"(a Common Voice TSV has {', '.join(REQUIRED_COLUMNS)}, …)")
        for row in rows:
            _add_row(found, row, clips, words, language)
    return found


def _add_row(found: Scan, row: dict[str, str | None], clips: Path, words: set[str], language: str) -> None:
    speaker, name = (row.get("client_id") or "").strip(), (row.get("path") or "").strip()
    if not speaker or not name or "/" in name or name.startswith("."):
        found.refused["incomplete_row"] += 1
        return
    locale = (row.get("locale") or "").strip()
    if locale and locale.split("-")[0].lower() != language.split("-")[0].lower():
        found.passed_over["other_language"] += 1
        return
    word = normalise_word(row.get("sentence") or "")
    if word not in words:
        found.passed_over["not_a_campaign_word"] += 1
        return
    path = clips / name
    if not path.is_file():
        found.refused["missing_file"] += 1
        return
    found.files.append(SourceFile(path, word, speaker))
    found.profiles[speaker] = merge_profiles(found.profiles.get(speaker, {}), row_profile(row))

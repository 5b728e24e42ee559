"""The formats an import reads, and the checks of what it is asked to do (campaign words, licence, terms)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from collector.campaigns import SPOKEN_KINDS
from collector.models import AMBIENCE_WORD, Campaign
from curation.imports import common_voice, speech_commands
from curation.imports.sources import Scan, SourceError, check_source_name, normalise_word
from curation.imports.store import ImportTerms
from licenses import UnknownLicense, get_license

FORMATS = {speech_commands.FORMAT: speech_commands, common_voice.FORMAT: common_voice}
TERMS_URL = re.compile(r"https?://\S{1,490}")


def check_format(name: str) -> str:
    """Return the format name if wordcrowd reads it, else raise SourceError naming the ones it does."""
    if name not in FORMATS:
        raise SourceError(f"unknown format {name!r}; wordcrowd imports {', '.join(FORMATS)}")
    return name


def import_words(campaign: Campaign, chosen: Sequence[str] | None) -> set[str]:
    """Return the campaign words to import (keywords, auxiliary words, its ambience), or the chosen subset."""
    words = {keyword.word for keyword in campaign.keywords
             if keyword.kind in SPOKEN_KINDS or keyword.word == AMBIENCE_WORD}
    if not chosen:
        return words
    subset = {word if word == AMBIENCE_WORD else normalise_word(word) for word in chosen}
    unknown = sorted(subset - words)
    if unknown:
        raise SourceError(f"{', '.join(map(repr, unknown))} is not a word (or the {AMBIENCE_WORD}) of "
                          f"campaign {campaign.slug!r} (it has {', '.join(sorted(words))})")
    return subset


def import_terms(campaign: Campaign, fmt: str, license: str, source: str | None,
                 terms_url: str | None) -> ImportTerms:
    """Return the terms clips are imported under, checked against the campaign's allowed licences."""
    try:
        get_license(license)
    except UnknownLicense as exc:
        raise SourceError(str(exc)) from None
    if license not in campaign.licenses:
        raise SourceError(f"campaign {campaign.slug!r} does not allow licence {license!r} (it allows "
                          f"{', '.join(campaign.licenses)}); its releases could not carry these clips")
    url = terms_url or FORMATS[fmt].TERMS_URL
    if not TERMS_URL.fullmatch(url):
        raise SourceError(f"terms {url[:80]!r} must be an http(s) URL of at most 500 characters")
    return ImportTerms(check_source_name(source or fmt), license, url)


def scan_source(fmt: str, source: Path, campaign: Campaign, words: set[str], tsv: str | None = None) -> Scan:
    """Return what the source holds for these words, read in its format."""
    if not source.exists():
        raise SourceError(f"{source} does not exist")
    if fmt == common_voice.FORMAT:
        return common_voice.scan(source, words, campaign.language, tsv or common_voice.DEFAULT_TSV)
    if tsv:
        raise SourceError("--tsv applies to the common-voice format only")
    return speech_commands.scan(source, words)

"""What a scan of a source dataset finds: the files to import, their speakers, and what it passed over."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# a source's name, stored on every clip (clips.source) and on its speakers' consents; "web" is the collector's
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
COLLECTOR_SOURCE = "web"


class SourceError(ValueError):
    """A source that cannot be imported as asked; the message is one sentence for a person."""


@dataclass(frozen=True)
class SourceFile:
    """One audio file to import: where it is, the campaign word it holds and the source's speaker id."""

    path: Path
    word: str
    speaker: str


@dataclass
class Scan:
    """A source dataset as found: files to import, speaker profiles, and files passed over or refused."""

    files: list[SourceFile] = field(default_factory=list)
    # the source speaker's demographics in Common Voice codes (only sources that publish them)
    profiles: dict[str, dict[str, str | None]] = field(default_factory=dict)
    passed_over: Counter[str] = field(default_factory=Counter)  # reason -> files not meant for the campaign
    refused: Counter[str] = field(default_factory=Counter)  # reason -> files that are broken as listed

    @property
    def speakers(self) -> set[str]:
        """The source speaker ids of the files to import."""
        return {item.speaker for item in self.files}


def check_source_name(name: str) -> str:
    """Return a source name if it is 1-64 of a-z, 0-9, '.', '_' or '-' and not the collector's own."""
    if not SOURCE_NAME.fullmatch(name) or name == COLLECTOR_SOURCE:
        raise SourceError(f"source name {name!r} must be 1 to 64 lowercase letters, digits, '.', '_' or '-' "
                          f"(and not {COLLECTOR_SOURCE!r}, the collector's own)")
    return name


def normalise_word(text: str) -> str:
    """Return text as a campaign keyword is spelled: NFC, lowercase, punctuation and extra spaces gone."""
    text = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'")
    kept = "".join(char if char.isalnum() or char in "' -" else " " for char in text)
    return " ".join(kept.split()).strip("'- ")

"""Integer major format versions: the one check every reader of an on-disk format makes (docs/formats.md)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

FORMAT_VERSION_KEY = "format_version"


class FormatVersionError(ValueError):
    """A file written in a format version this wordcrowd does not read."""


def check_format_version(
    document: Mapping[str, Any],
    source: Path | str,
    understood: Collection[int],
    error: type[Exception] = FormatVersionError,
) -> int:
    """Return the document's major format version if understood; else raise `error` in one line."""
    found = document.get(FORMAT_VERSION_KEY)
    if isinstance(found, int) and not isinstance(found, bool) and found in understood:
        return found
    shown = "no format_version" if found is None else f"format_version {_short(found)}"
    readable = ", ".join(str(version) for version in sorted(understood))
    raise error(f"{source} has {shown}; this wordcrowd reads format version {readable} only")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 20 else text[:17] + "..."

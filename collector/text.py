"""Free text from contributors: the characters it may not carry (controls, bidirectional overrides)."""

from __future__ import annotations

import unicodedata

# Explicit direction marks, embeddings, overrides and isolates: in a release's TSV or a terminal they
# reorder the text around them ("Trojan Source"); the Arabic letter mark is one of them too.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_unsafe(character: str) -> bool:
    """Tell whether a character is a control (C0, DEL, C1: NUL, ESC, …) or a bidirectional control."""
    return unicodedata.category(character) == "Cc" or character in BIDI_CONTROLS


def first_unsafe(text: str) -> str | None:
    """Return the first unsafe character of a text, or None."""
    return next((character for character in text if is_unsafe(character)), None)


def escape_unsafe(text: str) -> str:
    """Write every unsafe character as a visible \\uXXXX escape (for files people and programs read)."""
    return "".join(f"\\u{ord(c):04x}" if is_unsafe(c) else c for c in text)

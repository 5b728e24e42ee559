"""Common Voice's published demographics mapped to the campaign's codes (docs/import.md has the tables)."""

from __future__ import annotations

from collections.abc import Mapping

from collector.contributors import AGES, GENDERS, MAX_ACCENT_CHARS, PROFILE_FIELDS
from collector.text import first_unsafe

# Common Voice before 2023 offered male, female and other; "other" does not say which of the newer codes
# applies, so it is kept as undeclared rather than guessed.
GENDER_CODES: dict[str, str | None] = {
    "male": "male_masculine", "female": "female_feminine", "other": None, **{code: code for code in GENDERS},
}
AGE_CODES: dict[str, str] = {**{age: age for age in AGES}, "forties": "fourties"}
# newer releases have free-text `accents` (several joined by "|"), older ones an `accent` code
ACCENT_COLUMNS = ("accents", "accent")


def age_code(value: str) -> str | None:
    """Return a Common Voice age band as the campaign codes it ("fourties" spelling kept), or None."""
    return AGE_CODES.get(value.strip().lower())


def gender_code(value: str) -> str | None:
    """Return a Common Voice gender (old or new codes) as the campaign codes it, or None."""
    return GENDER_CODES.get(value.strip().lower())


def accent_text(value: str) -> str | None:
    """Return a published accent as the profile's free text: one line, "|" as ", ", at most 100 characters."""
    text = ", ".join(" ".join(part.split()) for part in value.split("|") if part.strip())
    if not text or first_unsafe(text) is not None:
        return None
    return text[:MAX_ACCENT_CHARS].rstrip(", ")


def row_profile(row: Mapping[str, str | None]) -> dict[str, str | None]:
    """Return the profile one TSV row declares (native language is not published: left undeclared)."""
    accent = next((row[name] for name in ACCENT_COLUMNS if row.get(name)), None)
    return {
        "age": age_code(row.get("age") or ""),
        "gender": gender_code(row.get("gender") or ""),
        "accent": accent_text(accent) if accent else None,
        "native_language": None,
    }


def merge_profiles(known: dict[str, str | None], new: Mapping[str, str | None]) -> dict[str, str | None]:
    """Return a speaker's profile with each field's first declared value across their rows."""
    return {name: known.get(name) or new.get(name) for name in PROFILE_FIELDS}

"""Contributors: enrol anonymously, declare an optional profile, withdraw and erase everything."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from collector.auth import new_token
from collector.blobs import BlobStore
from collector.campaigns import CampaignError, normalise_language
from collector.consents import withdraw_all
from collector.errors import describe, validation_error
from collector.models import Clip, Contributor, Demographics, Erasure, utcnow
from collector.privacy import speaker_id, token_hash
from collector.text import first_unsafe

# Common Voice's demographic codes (DESIGN §7); "fourties" is their spelling, kept for compatibility
AGES = (
    "teens", "twenties", "thirties", "fourties", "fifties", "sixties", "seventies", "eighties", "nineties",
)
GENDERS = ("male_masculine", "female_feminine", "intersex", "transgender", "non-binary", "do_not_wish_to_say")
PROFILE_FIELDS = ("age", "gender", "accent", "native_language")
MAX_ACCENT_CHARS = 100
def create_contributor(session: Session) -> tuple[Contributor, str]:
    """Enrol an anonymous contributor; return it with its bearer token (shown once, only its hash kept)."""
    token = new_token()
    contributor = Contributor(token_hash=token_hash(token))
    session.add(contributor)
    session.commit()
    return contributor, token


def _code(field: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise validation_error(field, f"must be one of {', '.join(allowed)}, or empty.")
    return value


def _free_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation_error(field, f"must be a string, not {describe(value)}.")
    text = " ".join(value.split())  # tabs and line breaks become single spaces
    unsafe = first_unsafe(text)
    if unsafe is not None:
        raise validation_error(field, "must not contain control or text-direction characters "
                                      f"(U+{ord(unsafe):04X}).")
    if len(text) > MAX_ACCENT_CHARS:
        raise validation_error(field, f"must be at most {MAX_ACCENT_CHARS} characters.")
    return text or None


def _language(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        return normalise_language(value if isinstance(value, str) else "")
    except CampaignError:
        message = "must be a BCP-47 language tag such as en, en-GB or pt-BR, or empty."
        raise validation_error(field, message) from None


def check_profile(body: dict[str, Any]) -> dict[str, str | None]:
    """Validate a profile body into Common Voice codes; missing, null or empty means undeclared."""
    unknown = sorted(set(body) - set(PROFILE_FIELDS))
    if unknown:
        raise validation_error(unknown[0], f"is not a profile field (fields: {', '.join(PROFILE_FIELDS)}).")
    return {
        "age": _code("age", body.get("age"), AGES),
        "gender": _code("gender", body.get("gender"), GENDERS),
        "accent": _free_text("accent", body.get("accent")),
        "native_language": _language("native_language", body.get("native_language")),
    }


def set_profile(session: Session, contributor: Contributor, profile: dict[str, str | None]) -> None:
    """Replace the contributor's declared profile (all undeclared: no row at all); commit."""
    if not any(profile.values()):
        if contributor.demographics is not None:
            session.delete(contributor.demographics)
    elif contributor.demographics is None:
        session.add(Demographics(contributor_id=contributor.id, **profile))
    else:
        for field, value in profile.items():
            setattr(contributor.demographics, field, value)
    session.commit()


def erase_contributor(session: Session, store: BlobStore, contributor: Contributor,
                      secret_key: str) -> Erasure:
    """Erase every clip and blob, withdraw consents, drop demographics and token; record the speaker id."""
    clips = list(session.scalars(select(Clip).where(Clip.contributor_id == contributor.id)))
    # blobs first, so a 204 means the audio is gone; a failed commit leaves the token valid for a retry
    for clip in clips:
        store.delete(clip.canonical_key)
        store.delete(clip.original_key)
    for clip in clips:
        session.delete(clip)  # votes on these clips and their release entries cascade
    withdraw_all(session, contributor)
    if contributor.demographics is not None:
        session.delete(contributor.demographics)
    contributor.token_hash = None
    contributor.erased_at = utcnow()
    erasure = Erasure(speaker_id=speaker_id(secret_key, contributor.public_id), clips_erased=len(clips))
    session.add(erasure)
    session.commit()
    return erasure

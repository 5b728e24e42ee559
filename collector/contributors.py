"""Contributors: enrol anonymously, declare an optional profile, withdraw and erase everything."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from collector.auth import new_token
from collector.blobs import BlobStore
from collector.campaigns import CampaignError, normalise_language
from collector.clips import finish_deletions, mark_deleting
from collector.consents import withdraw_all
from collector.db import checkpoint_wal
from collector.errors import Unauthorized, describe, validation_error
from collector.models import Clip, Contributor, Demographics, Erasure, Vote, utcnow
from collector.privacy import import_ref, pseudonym_key, speaker_id, token_hash
from collector.text import first_unsafe
from collector.votes import recount_status

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


def erase_contributor(session: Session, store: BlobStore, contributor: Contributor) -> Erasure:
    """Erase a contributor: one commit forgets them and hides their clips, then blobs and rows go; commits."""
    # The first commit is the erasure: consents withdrawn, token, demographics and votes cast gone, clips
    # marked (hidden); from then on no upload of theirs is stored. Should removing blobs or rows fail
    # after it, the clips stay marked and hidden, and `wordcrowd db sweep` finishes their deletion.
    lock_for_erasure(session, contributor)
    owned = Clip.contributor_id == contributor.id
    clips = session.scalar(select(func.count()).select_from(Clip).where(owned))
    mark_deleting(session, owned)
    withdraw_all(session, contributor)
    remove_votes_cast(session, contributor)
    if contributor.demographics is not None:
        session.delete(contributor.demographics)
    pseudonym = speaker_id(pseudonym_key(session), contributor.public_id)
    erasure = Erasure(speaker_id=pseudonym, clips_erased=clips)
    session.add(erasure)
    session.commit()
    try:
        finish_deletions(session, store, owned)
    finally:
        checkpoint_wal(session)  # SQLite: erased values leave the write-ahead log too
    return erasure


def lock_for_erasure(session: Session, contributor: Contributor) -> None:
    """Lock the contributor's row and mark it erased (token gone); 401 if another erasure came first."""
    # PostgreSQL: FOR UPDATE conflicts with the key-share lock an inserted clip takes on this row, so an
    # upload commits before this point or sees the erasure; SQLite: the UPDATE starts the write transaction.
    session.execute(select(Contributor.id).where(Contributor.id == contributor.id).with_for_update())
    erased = session.execute(
        update(Contributor).where(Contributor.id == contributor.id, Contributor.erased_at.is_(None))
        .values(erased_at=utcnow(), token_hash=None)
    )
    if erased.rowcount != 1:
        session.rollback()
        raise Unauthorized("invalid_token", "This token is unknown, or its contributor was erased.")


def remove_votes_cast(session: Session, contributor: Contributor) -> None:
    """Delete the votes the contributor cast and recount the clips they were on; no commit."""
    voted = select(Vote.clip_id).where(Vote.voter_id == contributor.id)
    touched = session.scalars(select(Clip).where(Clip.id.in_(voted)).with_for_update()).all()
    session.execute(delete(Vote).where(Vote.voter_id == contributor.id),
                    execution_options={"synchronize_session": False})
    for clip in touched:
        recount_status(session, clip)


def imported_contributor(session: Session, source: str, source_speaker: str) -> Contributor | None:
    """Return the contributor imported for this speaker of this source (erased or not), or None."""
    ref = import_ref(pseudonym_key(session), source, source_speaker)
    return session.scalar(select(Contributor).where(Contributor.import_ref == ref))


def contributor_with_speaker_id(session: Session, speaker: str) -> Contributor | None:
    """Return the contributor not yet erased whose release speaker id (8 hex) this is, or None."""
    # speaker ids are keyed hashes of public ids, so finding one means hashing every live contributor's id
    key = pseudonym_key(session)
    query = select(Contributor.id, Contributor.public_id).where(Contributor.erased_at.is_(None))
    wanted = speaker.lower()
    found = next((row.id for row in session.execute(query) if speaker_id(key, row.public_id) == wanted), None)
    return None if found is None else session.get(Contributor, found)

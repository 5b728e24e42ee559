"""Pseudonymous identifiers: what a release may show of a contributor, and nothing more."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from collector.models import StoreKey

# The pseudonymisation key lives in the store, beside the data it protects: speaker ids (and so the
# speaker-disjoint splits and deletions.txt) do not depend on the session secret or a working directory.
PSEUDONYM_KEY = "pseudonym"
_KEY = select(StoreKey.value).where(StoreKey.name == PSEUDONYM_KEY)


class MissingKey(RuntimeError):
    """The store has no pseudonymisation key: it was not migrated (`wordcrowd db upgrade`)."""


def new_pseudonym_key() -> str:
    """Return a fresh pseudonymisation key: 256 random bits as hex."""
    return secrets.token_hex(32)


def pseudonym_key(session: Session | Connection) -> str:
    """Return the store's pseudonymisation key (created once by the migration that added it)."""
    key = session.scalar(_KEY)
    if not key:
        raise MissingKey("the store has no pseudonymisation key; run `wordcrowd db upgrade`")
    return key


def speaker_id(key: str, contributor_public_id: str) -> str:
    """Return the 8-hex speaker id: an HMAC of the contributor id, stable across releases (DESIGN §7)."""
    digest = hmac.new(key.encode(), contributor_public_id.encode(), hashlib.sha256).hexdigest()
    return digest[:8]


def import_ref(key: str, source: str, source_speaker: str) -> str:
    """Return the keyed reference of an imported speaker: HMAC of (source, the source's speaker id)."""
    message = f"import\0{source}\0{source_speaker}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """Return the SHA-256 of a bearer token; tokens are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()

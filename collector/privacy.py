"""Pseudonymous identifiers: what a release may show of a contributor, and nothing more."""

from __future__ import annotations

import hashlib
import hmac


def speaker_id(secret_key: str, contributor_public_id: str) -> str:
    """Return the 8-hex speaker id: an HMAC of the contributor id, stable across releases (DESIGN §7)."""
    digest = hmac.new(secret_key.encode(), contributor_public_id.encode(), hashlib.sha256).hexdigest()
    return digest[:8]


def token_hash(token: str) -> str:
    """Return the SHA-256 of a bearer token; tokens are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()

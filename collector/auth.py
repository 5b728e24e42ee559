"""Who is calling: contributors by bearer token (only its hash is stored), curators by session cookie."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import g, request, session
from sqlalchemy import select

from collector.db import get_session
from collector.errors import Unauthorized
from collector.models import Contributor, Curator
from collector.privacy import token_hash

P = ParamSpec("P")
R = TypeVar("R")

CURATOR_SESSION_KEY = "curator_id"
TOKEN_REJECTED = "token_rejected"  # on flask.g when a bearer token named nobody (counted per address)


def new_token() -> str:
    """Return a fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def bearer_token() -> str | None:
    """Return the bearer token of the current request, or None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_contributor() -> Contributor | None:
    """Return the calling contributor (None without a token); raise 401 invalid_token for a bad one."""
    if "contributor" in g:
        return g.contributor
    token = bearer_token()
    contributor = None
    if token is not None:
        # erased contributors have token_hash NULL, so their old token matches nothing
        query = select(Contributor).where(Contributor.token_hash == token_hash(token))
        contributor = get_session().scalar(query)
        if contributor is None or contributor.erased_at is not None:
            setattr(g, TOKEN_REJECTED, True)
            raise Unauthorized("invalid_token", "This token is unknown, or its contributor was erased.")
    g.contributor = contributor
    return contributor


def authenticated_contributor() -> Contributor:
    """Return the calling contributor, or raise 401 (unauthorized: no token; invalid_token: a bad one)."""
    contributor = current_contributor()
    if contributor is None:
        raise Unauthorized("unauthorized",
                           "Send 'Authorization: Bearer <token>' (POST /api/v1/contributors gives one).")
    return contributor


def require_contributor(view: Callable[P, R]) -> Callable[P, R]:
    """Decorate a view that needs a contributor; the view reads it with current_contributor()."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        authenticated_contributor()
        return view(*args, **kwargs)

    return wrapper


def current_curator() -> Curator | None:
    """Return the curator logged in through the session cookie, or None."""
    curator_id = session.get(CURATOR_SESSION_KEY)
    if not isinstance(curator_id, int):
        return None
    return get_session().get(Curator, curator_id)

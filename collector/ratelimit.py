"""Rate limits (Flask-Limiter), attached where each view is defined; counters shared by every worker.

A view names its limit with `@rate_limited("RATELIMIT_…")` (a setting, never a copy of its value); views
without one get RATELIMIT_DEFAULT. Counts are per contributor token, or per client address where the view
says so or no token is sent. Bearer tokens that name nobody are also counted per address
(RATELIMIT_BAD_TOKENS). Where the counters live: docs/rate-limits-and-votes.md.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlparse

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limit, Limiter
from limits import parse
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

import collector.ratelimit_storage  # noqa: F401  (registers the sqlite:// storage with `limits`)
from collector.auth import TOKEN_REJECTED, bearer_token
from collector.errors import error_response
from collector.privacy import token_hash
from collector.settings import SETTINGS_BY_NAME

EXTENSION = "wordcrowd.limiter"
LIMIT_ATTRIBUTE = "wordcrowd_rate_limit"
BAD_TOKEN_SCOPE = "bad-token"
STORAGE_SETTING = "WORDCROWD_RATELIMIT_STORAGE_URL"
PER_PROCESS_SCHEMES = ("memory",)  # counters that each worker keeps to itself

V = TypeVar("V", bound=Callable)


@dataclass(frozen=True)
class RateRule:
    """Which setting holds a view's limit, and whether it counts per address rather than per token."""

    setting: str
    per_address: bool = False


DEFAULT_RULE = RateRule("RATELIMIT_DEFAULT")


def rate_limited(setting: str, *, per_address: bool = False) -> Callable[[V], V]:
    """Attach the limit held in `setting` (e.g. "RATELIMIT_UPLOADS") to the decorated view."""
    if f"WORDCROWD_{setting}" not in SETTINGS_BY_NAME:
        raise ValueError(f"no setting WORDCROWD_{setting} holds a rate limit")
    rule = RateRule(setting, per_address)

    def attach(view: V) -> V:
        setattr(view, LIMIT_ATTRIBUTE, rule)  # functools.wraps carries it through other decorators
        return view

    return attach


def view_rule() -> RateRule:
    """Return the rate rule of the view answering the current request (DEFAULT_RULE without one)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, LIMIT_ATTRIBUTE, DEFAULT_RULE)


def address_key() -> str:
    """Return the current client's address as a counter key: an HMAC, never the address itself."""
    # counters (and Flask-Limiter's own log line on a breach) carry no personal data
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, (request.remote_addr or "").encode(), hashlib.sha256).hexdigest()
    return f"addr:{digest[:32]}"


def rate_limit_key() -> str:
    """Return whom the current request counts against: its token's hash, else its (hashed) address."""
    token = bearer_token()
    if token is None or view_rule().per_address:
        return address_key()
    # an unknown token gets a counter of its own here (no database read before the limit check);
    # RATELIMIT_BAD_TOKENS then counts its failure against the address
    return f"token:{token_hash(token)}"


def limit_for_request() -> str:
    """Return the limit of the current view, read from the app's settings."""
    return str(current_app.config[view_rule().setting])


def _count_rejected_token(response: Response) -> Response:
    """Count a bearer token that named nobody against the client's address; past the limit answer 429."""
    if not g.get(TOKEN_REJECTED):
        return response
    limiter: Limiter = current_app.extensions[EXTENSION]
    item, key = parse(str(current_app.config["RATELIMIT_BAD_TOKENS"])), address_key()
    if limiter.limiter.hit(item, BAD_TOKEN_SCOPE, key):
        return response
    reset_at = limiter.limiter.get_window_stats(item, BAD_TOKEN_SCOPE, key).reset_time
    retry_after = max(1, int(reset_at - time.time()) + 1)
    return error_response("rate_limited", f"Too many unknown tokens from this address (the limit is {item}); "
                          "wait as long as Retry-After says.", 429, {"Retry-After": str(retry_after)})


def storage_problem(url: str, workers: int) -> str | None:
    """Return why rate-limit counters cannot live at `url` for this many workers (one line), or None."""
    scheme = urlparse(url).scheme
    if scheme in PER_PROCESS_SCHEMES and workers > 1:
        return (f"{STORAGE_SETTING}={url!r} keeps counters in each of the {workers} workers, which would "
                f"multiply every limit by {workers}; use the default sqlite:///… or redis://HOST:PORT")
    try:
        storage = storage_from_string(url)
        reachable = storage.check()
    except ConfigurationError as exc:  # an unknown scheme, or its client library is not installed
        return f"{STORAGE_SETTING}={url!r} is not usable: {exc}"
    except (ValueError, OSError, sqlite3.Error) as exc:  # a bad path; a file that cannot be opened
        return f"{STORAGE_SETTING}={url!r} is not usable: {exc}"
    if not reachable:
        return f"{STORAGE_SETTING}={url!r} cannot be reached"
    return None


def init_app(app: Flask) -> None:
    """Attach a limiter to this app (one per app, so each test app counts on its own)."""
    limiter = Limiter(
        rate_limit_key,
        default_limits=[Limit(limit_for_request)],
        storage_uri=str(app.config["RATELIMIT_STORAGE_URL"]),
        headers_enabled=True,  # sends Retry-After with every 429
        retry_after="delta-seconds",
        # should Redis go away, each worker counts on its own until it is back, rather than failing calls
        in_memory_fallback_enabled=True,
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    app.after_request(_count_rejected_token)

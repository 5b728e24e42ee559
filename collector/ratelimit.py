"""Rate limits (Flask-Limiter): per contributor token, or per address without one; 429 as a JSON error."""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, current_app, request
from flask_limiter import Limit, Limiter

from collector.auth import bearer_token
from collector.privacy import token_hash

EXTENSION = "wordcrowd.limiter"
UPLOAD_ENDPOINT = "api.upload_clip"
ENROL_ENDPOINT = "api.create_contributor"
DEFAULT_ENROL_LIMIT = "30 per hour"


def _address_key() -> str:
    # counters (and Flask-Limiter's own log line on a breach) carry an HMAC of the address, never the address
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, (request.remote_addr or "").encode(), hashlib.sha256).hexdigest()
    return f"addr:{digest[:32]}"


def rate_limit_key() -> str:
    """Return whom the current request counts against: its token's hash, else its (hashed) address."""
    token = bearer_token()
    # enrolment is by address: a new contributor has no token yet, and tokens must not be minted in bulk
    if token is None or request.endpoint == ENROL_ENDPOINT:
        return _address_key()
    # an unknown token gets its own counter too: it costs one lookup and answers 401, so keying it needs no
    # database read before the limit check
    return f"token:{token_hash(token)}"


def limit_for_request() -> str:
    """Return the limit that applies to the current endpoint, read from the app's settings."""
    config = current_app.config
    if request.endpoint == UPLOAD_ENDPOINT:
        return str(config["RATELIMIT_UPLOADS"])
    if request.endpoint == ENROL_ENDPOINT:
        return str(config.get("RATELIMIT_CONTRIBUTORS") or DEFAULT_ENROL_LIMIT)
    return str(config["RATELIMIT_DEFAULT"])


def init_app(app: Flask) -> None:
    """Attach a limiter to this app (one per app, so each test app counts on its own)."""
    limiter = Limiter(
        rate_limit_key,
        default_limits=[Limit(limit_for_request)],
        storage_uri=str(app.config["RATELIMIT_STORAGE_URL"]),
        headers_enabled=True,  # sends Retry-After with every 429
        retry_after="delta-seconds",
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter

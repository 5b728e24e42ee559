"""API errors: a small exception hierarchy and the one translator that turns any failure into JSON."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

API_PREFIX = "/api/"
# While the database is unreachable (a restart, a failover, a full pool) the client is told to come back
# after this long; the browser's retry waits as told.
RETRY_AFTER_S = 5
# SQLite's answer while another process holds the write lock past busy_timeout: busy, not broken
SQLITE_BUSY_MESSAGES = ("database is locked", "database is busy")

log = logging.getLogger(__name__)

# werkzeug's exceptions by status, renamed to the API's snake_case codes
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """A failure the client can act on: a snake_case code, a sentence for a person, an HTTP status."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or self.status
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    """400: the request itself is wrong."""

    status = 400


class Unauthorized(ApiError):
    """401: no bearer token, or one that names nobody."""

    status = 401


class Forbidden(ApiError):
    """403: known caller, not allowed (no consent, own clip)."""

    status = 403


class NotFound(ApiError):
    """404: unknown, or not the caller's to see (the two are never told apart)."""

    status = 404


class Conflict(ApiError):
    """409: the request clashes with what is stored (duplicate clip, second vote, old consent)."""

    status = 409


ECHO_MAX_CHARS = 40  # of a client's value quoted back in an error message


def shorten(text: str) -> str:
    """Return a client-supplied text cut to ECHO_MAX_CHARS (with '…'), fit to quote in an error message."""
    return text if len(text) <= ECHO_MAX_CHARS else text[:ECHO_MAX_CHARS] + "…"


def echo(value: object) -> str:
    """Return a client-supplied value quoted for an error message, cut to ECHO_MAX_CHARS."""
    return repr(shorten(value if isinstance(value, str) else str(value)))


def validation_error(field: str, message: str) -> BadRequest:
    """Return the 400 for a body field of the wrong type or value; the message names the field."""
    return BadRequest("validation_error", f"{shorten(field)}: {message}")


def is_api_request() -> bool:
    """True when the current request is for the JSON API (its errors are JSON, the pages' are HTML)."""
    return request.path.startswith(API_PREFIX)


def error_response(code: str, message: str, status: int,
                   headers: Mapping[str, str] | None = None) -> Response:
    """Return the API's error shape: {"error": {"code", "message"}} with the status."""
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    response.headers.update(dict(headers or {}))
    return response


def _http_error(exc: HTTPException) -> Response | HTTPException:
    if not is_api_request():
        return exc  # pages keep werkzeug's (or their own) HTML
    status = exc.code or 500
    code = HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
    message = (exc.description or exc.name).strip()
    if status == 413:
        message = "The upload is larger than this server accepts."
    elif status == 429:  # werkzeug's description is only the limit ("2 per 1 minute")
        message = f"Too many requests (the limit is {message}); wait as long as Retry-After says."
    return error_response(code, message, status, headers)


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.code, exc.message, exc.status, exc.headers)


def _ingest_error(exc: Exception) -> Response:
    return error_response(exc.code, exc.message, exc.status)  # type: ignore[attr-defined]


def database_unreachable(exc: BaseException) -> bool:
    """Tell whether a database error means "down or busy, try again" rather than a bug."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if type(orig).__module__.startswith("psycopg"):
        # psycopg's OperationalError covers connection failures, admin shutdown and "cannot connect now"
        from psycopg import OperationalError

        return isinstance(orig, OperationalError)
    return any(text in str(orig).lower() for text in SQLITE_BUSY_MESSAGES)


def _database_error(exc: Exception) -> Response | HTTPException:
    if not database_unreachable(exc):
        return _unexpected(exc)
    # the cause goes to the log as one line (no statement parameters: the engine hides them)
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.warning("database unavailable on %s %s: %s", request.method, request.url_rule or "(no route)",
                lines[0] if lines else type(exc).__name__)
    if not is_api_request():
        return ServiceUnavailable(retry_after=RETRY_AFTER_S)
    return error_response("unavailable", "The service is briefly unavailable; please try again shortly.",
                          503, {"Retry-After": str(RETRY_AFTER_S)})


def _unexpected(exc: Exception) -> Response | HTTPException:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    # a bug: the traceback goes to the log (it names no person), the client gets one sentence
    log.exception("unhandled error on %s %s", request.method, request.url_rule or "(no route)")
    if not is_api_request():
        return InternalServerError()
    return error_response("internal_error", "Something went wrong on the server; please try again.", 500)


def init_app(app: Flask) -> None:
    """Register the translator: ApiError, HTTP errors, ingest errors and anything unexpected."""
    from collector.ingest import IngestError

    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(IngestError, _ingest_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(PoolTimeout, _database_error)
    app.register_error_handler(Exception, _unexpected)


JSON_TYPES = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
              dict: "an object", type(None): "null"}


def describe(value: Any) -> str:
    """Name a JSON value's type the way a client would (for validation messages)."""
    return JSON_TYPES.get(type(value), type(value).__name__)

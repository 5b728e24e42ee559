"""A `limits` storage over a small SQLite file, so every gunicorn worker on one host shares its counters.

Registered under the scheme ``sqlite`` (``sqlite:////abs/path/ratelimits.db``): Flask-Limiter finds it by
its URL like its own Redis or memcached storages. Fixed windows only (Flask-Limiter's default strategy).
Each hit is one atomic UPSERT in autocommit mode; the file is in WAL mode with synchronous=NORMAL, so
workers read while one writes and no hit waits for a disk flush (counters are not worth an fsync).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from limits.storage import Storage

SCHEME = "sqlite"
BUSY_TIMEOUT_S = 5.0  # a writer waits this long for another worker's write (each takes microseconds)
PURGE_EVERY_S = 60.0  # each process deletes expired counters this often
_SCHEMA = ("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
           "expires_at REAL NOT NULL) WITHOUT ROWID")
# one statement, so one atomic step whichever worker runs it: a live window counts on, an expired one
# starts again at `amount`
_INCR = ("INSERT INTO counters (key, count, expires_at) VALUES (:key, :amount, :expires_at) "
         "ON CONFLICT (key) DO UPDATE SET "
         "count = CASE WHEN counters.expires_at <= :now THEN excluded.count "
         "ELSE counters.count + excluded.count END, "
         "expires_at = CASE WHEN counters.expires_at <= :now THEN excluded.expires_at "
         "ELSE counters.expires_at END "
         "RETURNING count")


def sqlite_path(uri: str) -> Path:
    """Return the file a sqlite:///… storage URL names (sqlite:////abs/path, or sqlite:///relative)."""
    parsed = urlparse(uri)
    if parsed.scheme != SCHEME or parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"{uri!r} is not a sqlite:///PATH URL")
    return Path(unquote(parsed.path[1:]))


class SQLiteStorage(Storage):
    """Rate-limit counters in a SQLite file shared by the processes of one host (fixed windows)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = sqlite_path(uri)
        self._local = threading.local()
        self._purged_at = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection().execute(_SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        """What the storage raises when the file cannot be used."""
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        # one connection per thread and process: sqlite3 connections must not cross a fork
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            local.connection, local.pid = connection, os.getpid()
        return local.connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's counter (a new window of `expiry` seconds if it had none); return it."""
        now = time.time()
        connection = self._connection()
        row = connection.execute(_INCR, {"key": key, "amount": amount, "expires_at": now + expiry,
                                         "now": now}).fetchone()
        if time.monotonic() - self._purged_at > PURGE_EVERY_S:
            self._purged_at = time.monotonic()
            connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        return int(row[0])

    def get(self, key: str) -> int:
        """Return the key's count in its current window (0 without one)."""
        row = self._connection().execute(
            "SELECT count FROM counters WHERE key = ? AND expires_at > ?", (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """Return when the key's window ends (Unix seconds; now without a window)."""
        now = time.time()
        row = self._connection().execute(
            "SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", (key, now)).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        """Return True when the file can be read and written."""
        try:
            self._connection().execute("DELETE FROM counters WHERE expires_at <= ?", (time.time(),))
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Delete every counter; return how many there were."""
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        """Delete one key's counter."""
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))

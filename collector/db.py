"""Database engines and sessions: one engine per process, one session per request (or per batch)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "wordcrowd.db"
log = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Pragmas for every SQLite connection: WAL lets readers run beside the one writer; foreign_keys makes
# ON DELETE CASCADE work; NORMAL sync is durable in WAL mode except for the last commits on power loss.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA secure_delete=ON",  # deleted rows are overwritten with zeros, so erased values leave the file
)


@dataclass(frozen=True)
class _Store:
    engine: Engine
    sessions: sessionmaker[Session]


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine tuned for its backend (SQLite pragmas, or a pre-pinged PostgreSQL pool).

    Statement parameters are hidden from error messages: they can hold demographics, which logs must not.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver wordcrowd installs; a bare postgresql:// would ask for psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        # pool sized for a gthread worker (a few threads) plus batch work; pre-ping survives DB restarts
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800,
                             hide_parameters=True)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # pysqlite's own lock wait (seconds) matches busy_timeout; the legacy transaction mode is kept on
    # purpose: a transaction starts at the first write, so writers queue on busy_timeout instead of
    # failing on a stale read snapshot.
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine


def init_app(app: Flask) -> None:
    """Open the engine for app.config["DATABASE_URL"] and close each request's session on teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[EXTENSION] = _Store(engine, sessionmaker(bind=engine))
    app.teardown_appcontext(_close_session)
    # pooled connections are closed when the app goes away (tests make many apps), not left to the
    # garbage collector, where the driver would warn about connections deleted while open
    weakref.finalize(app, engine.dispose)


def get_engine() -> Engine:
    """Return the current app's engine (for batch work beside the request session)."""
    return current_app.extensions[EXTENSION].engine


def get_session() -> Session:
    """Return the current request's session, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION].sessions()
    return g.db_session


def _close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.close()  # rolls back whatever the view did not commit
    except DBAPIError as exc:
        # the server went away after the answer was made (a restart): the rollback has nothing left to undo,
        # the dead connection is closed and dropped from the pool, and the answer already given stands
        session.invalidate()
        log.warning("could not roll back a closed database connection: %s",
                    str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else exc)


def checkpoint_wal(session: Session) -> None:
    """On SQLite, copy the write-ahead log into the database file and truncate it (nothing on others)."""
    # After an erasure: with secure_delete the database file no longer holds the erased values, and the
    # truncated log drops its old copies. Waits (busy_timeout) for readers; if they outlast it, the log is
    # truncated by the next checkpoint instead.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        session.commit()


@contextmanager
def session_scope(url_or_engine: str | Engine) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on error (CLI, batch jobs)."""
    own_engine = isinstance(url_or_engine, str)
    engine = make_engine(url_or_engine) if own_engine else url_or_engine
    # objects stay readable after the commit, so a caller can report what it made
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if own_engine:
            engine.dispose()

"""Schema migrations with Alembic; the scripts ship as package data in collector/migrations."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, text

from collector.db import make_engine

SCRIPT_LOCATION = "collector:migrations"
UPGRADE_COMMAND = "wordcrowd db upgrade"
# any constant: PostgreSQL advisory lock that serialises concurrent upgrades (several hosts starting)
PG_LOCK_ID = 0x776F7264


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic config for the shipped scripts, optionally bound to an open connection."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class SchemaNotCurrent(Exception):
    """The database's schema is not the one this wordcrowd's code expects; the message says what to run."""


def head_revision() -> str:
    """Return the newest revision the shipped scripts define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "collector/migrations has no revisions"  # a packaging bug, not user input
    return head


def _lock(connection: Connection) -> None:
    # Take the database's write lock before reading the version table, so two processes starting
    # together migrate one after the other instead of both creating the same tables.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_LOCK_ID})
    elif connection.dialect.name == "sqlite":
        # pysqlite leaves DDL outside transactions; an explicit one makes the upgrade atomic as well
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at url to revision; idempotent, so it is safe on every start."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _lock(connection)
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """Return the database's schema revision, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def require_current_schema(url: str) -> None:
    """Raise SchemaNotCurrent unless the database is at the head revision (reads check, never migrate)."""
    current, head = current_revision(url), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaNotCurrent(f"the database was never migrated; run `{UPGRADE_COMMAND}` first")
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except CommandError:
        raise SchemaNotCurrent(f"the database is at schema revision {current}, which this wordcrowd does not "
                               "know (a newer wordcrowd migrated it); upgrade wordcrowd") from None
    raise SchemaNotCurrent(f"the database is at schema revision {current}, behind this wordcrowd's {head}; "
                           f"run `{UPGRADE_COMMAND}` first")

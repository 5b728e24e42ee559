"""Alembic environment: migrate the connection migrate.py hands over, or the URL in the Alembic config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from collector.db import make_engine
from collector.models import Base
from collector.settings import load_settings

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    """Run the migrations on an open connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Use the caller's connection if there is one, else connect to sqlalchemy.url or the settings' URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    # the alembic CLI (collector/alembic.ini) targets the configured database, as wordcrowd does
    url = context.config.get_main_option("sqlalchemy.url") or load_settings()["DATABASE_URL"]
    engine = make_engine(url)
    try:
        with engine.connect() as own_connection:
            run_on(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("wordcrowd migrations run online only: use `wordcrowd db upgrade`")
run_online()

"""The pseudonymisation key kept in the store, and clips marked while their deletion runs.

An existing store keeps the speaker ids it has published: the new key is seeded from the session secret
those ids were made with, as settings resolve it at upgrade time (WORDCROWD_SECRET_KEY, else
$WORDCROWD_DATA_DIR/secret_key when that file exists). A store without contributors has published nothing
and gets a fresh key; so does an old store whose secret cannot be found (its ids change once).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from collector.privacy import PSEUDONYM_KEY, new_pseudonym_key
from collector.settings import secret_key_in_use

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seed_key(connection: sa.Connection) -> str:
    """Return the key in use when the store has contributors (their ids are published), else a new one."""
    contributors = connection.scalar(sa.text("SELECT COUNT(*) FROM contributors"))
    if contributors:
        return secret_key_in_use() or new_pseudonym_key()
    return new_pseudonym_key()


def upgrade() -> None:
    """Apply this revision."""
    store_keys = op.create_table(
        "store_keys",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_keys")),
    )
    op.bulk_insert(store_keys, [{"name": PSEUDONYM_KEY, "value": _seed_key(op.get_bind()),
                                 "created_at": datetime.now(UTC)}])
    # plain ALTER TABLE on SQLite too: a batch rebuild would drop `clips`, and with foreign keys on that
    # cascades into votes and release entries
    op.add_column("clips", sa.Column("deleting_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("clips", "deleting_at")  # SQLite ≥ 3.35 drops a column in place
    op.drop_table("store_keys")

"""Votes say whether they count towards a clip's status (the voter rule, docs/rate-limits-and-votes.md).

Votes cast before this revision keep counting, as they did when cast.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("votes") as batch:
        batch.add_column(sa.Column("counted", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("counted")

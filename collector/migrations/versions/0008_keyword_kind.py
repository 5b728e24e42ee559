"""Keywords say what they are: a keyword, an auxiliary word (`_unknown_` material) or room ambience.

Every word of an existing campaign stays a keyword.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("keywords") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="keyword", nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("keywords") as batch:
        batch.drop_column("kind")

"""Consents record the language of the text agreed to (texts are translated per consent version).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision: every earlier consent was given to the English text."""
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("consent_language", sa.String(length=35), server_default="en",
                                   nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("consent_language")

"""Imported datasets: consents say their kind, source and terms; imported speakers carry a keyed reference.

Every existing consent was given here. Clips are found by the SHA-256 of their original file, so an
import skips the files it already holds.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 04:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), server_default="given", nullable=False))
        batch.add_column(sa.Column("source", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("terms_url", sa.String(length=500), nullable=True))
    with op.batch_alter_table("contributors") as batch:
        batch.add_column(sa.Column("import_ref", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f("uq_contributors_import_ref"), ["import_ref"])
    with op.batch_alter_table("clips") as batch:
        batch.create_index(batch.f("ix_clips_original_sha256"), ["original_sha256"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("clips") as batch:
        batch.drop_index(batch.f("ix_clips_original_sha256"))
    with op.batch_alter_table("contributors") as batch:
        batch.drop_constraint(batch.f("uq_contributors_import_ref"), type_="unique")
        batch.drop_column("import_ref")
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("terms_url")
        batch.drop_column("source")
        batch.drop_column("kind")

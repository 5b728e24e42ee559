"""Findings of curation's automatic checks, one row per clip, check and reason.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "clip_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("check_name", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("related_clip", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"], name=op.f("fk_clip_findings_clip_id_clips"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clip_findings")),
    )
    op.create_index(op.f("ix_clip_findings_check_name"), "clip_findings", ["check_name"])
    op.create_index(op.f("ix_clip_findings_clip_id"), "clip_findings", ["clip_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_clip_findings_clip_id"), table_name="clip_findings")
    op.drop_index(op.f("ix_clip_findings_check_name"), table_name="clip_findings")
    op.drop_table("clip_findings")

"""Curator review: login lock-out columns on curators, and the audit trail of curator decisions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 00:49:11
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "curator_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Integer(), nullable=False),
        sa.Column("curator_id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("previous_decision", sa.String(length=16), nullable=True),
        sa.Column("previous_curator_id", sa.Integer(), nullable=True),
        sa.Column("previous_reason", sa.String(length=200), nullable=True),
        sa.Column("previous_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"], name=op.f("fk_curator_decisions_clip_id_clips"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["curator_id"], ["curators.id"],
                                name=op.f("fk_curator_decisions_curator_id_curators")),
        sa.ForeignKeyConstraint(["previous_curator_id"], ["curators.id"],
                                name=op.f("fk_curator_decisions_previous_curator_id_curators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curator_decisions")),
    )
    with op.batch_alter_table("curator_decisions") as batch_op:
        batch_op.create_index(batch_op.f("ix_curator_decisions_batch"), ["batch"])
        batch_op.create_index(batch_op.f("ix_curator_decisions_clip_id"), ["clip_id"])
        batch_op.create_index(batch_op.f("ix_curator_decisions_curator_id"), ["curator_id"])
    with op.batch_alter_table("curators") as batch_op:
        # existing curators start with no failed logins
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("curators") as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
    op.drop_table("curator_decisions")

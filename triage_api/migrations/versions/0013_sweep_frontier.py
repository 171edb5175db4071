"""Sweeps shared by several processes: the frontier's key, a heartbeat, what each sweep found,
and the pages swept (URL dedup across sweeps).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(sa.Column("frontier", sa.String(200)))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True)))
        batch.add_column(
            sa.Column("trigger", sa.String(20), nullable=False, server_default="manual")
        )
    op.create_table(
        "sweep_finds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sweep_id", sa.Integer(), sa.ForeignKey("sweeps.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("category", sa.String(40)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sweep_id", "case_id"),
    )
    op.create_index("ix_sweep_finds_sweep_id", "sweep_finds", ["sweep_id"])
    op.create_index("ix_sweep_finds_case_id", "sweep_finds", ["case_id"])
    op.create_table(
        "swept_pages",
        sa.Column("url_key", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("sweep_id", sa.Integer(), sa.ForeignKey("sweeps.id"), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_swept_pages_sweep_id", "swept_pages", ["sweep_id"])
    op.create_index("ix_swept_pages_fetched_at", "swept_pages", ["fetched_at"])


def downgrade() -> None:
    op.drop_table("swept_pages")
    op.drop_table("sweep_finds")
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_column("trigger")
        batch.drop_column("heartbeat_at")
        batch.drop_column("frontier")

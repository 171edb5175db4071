"""Decisions per picture and supervisors' revisions; hashes a revision takes back.

Revision ID: 0009
Revises: 0008
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
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("media", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("revises_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_decisions_revises_id", "decisions", ["revises_id"], ["id"])
    with op.batch_alter_table("known_hashes") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("known_hashes") as batch:
        batch.drop_column("withdrawn_at")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_constraint("fk_decisions_revises_id", type_="foreignkey")
        batch.drop_column("reason")
        batch.drop_column("revises_id")
        batch.drop_column("media")

"""Enrichment: the site's characteristics on each capture, jurisdiction and country on the case.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("enrichment", sa.JSON(), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("jurisdiction", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch.create_index("ix_cases_jurisdiction", ["jurisdiction"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_jurisdiction")
        batch.drop_column("country")
        batch.drop_column("jurisdiction")
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("enrichment")

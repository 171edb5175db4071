"""Claims: the analyst holding a case and until when.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("claimed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_cases_claimed_by_users", "users", ["claimed_by"], ["id"])
        batch.create_index("ix_cases_claimed_by", ["claimed_by"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_claimed_by")
        batch.drop_constraint("fk_cases_claimed_by_users", type_="foreignkey")
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")

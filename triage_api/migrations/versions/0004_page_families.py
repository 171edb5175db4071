"""Page families: text and DOM prints on each capture, their indexed bands, the case's family.

Revision ID: 0004
Revises: 0003
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
    with op.batch_alter_table("captures") as batch:
        batch.add_column(sa.Column("text_print", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("dom_print", sa.String(length=16), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("family_id", sa.Integer(), nullable=True))
        batch.create_index("ix_cases_family_id", ["family_id"])
    op.create_table(
        "page_print_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["capture_id"], ["captures.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("capture_id", "kind", "band"),
    )
    op.create_index("ix_page_print_bands_lookup", "page_print_bands", ["kind", "band", "value"])


def downgrade() -> None:
    op.drop_index("ix_page_print_bands_lookup", table_name="page_print_bands")
    op.drop_table("page_print_bands")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_family_id")
        batch.drop_column("family_id")
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("dom_print")
        batch.drop_column("text_print")

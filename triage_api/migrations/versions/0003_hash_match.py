"""Hash and match: list kind (known material or allow-list), PDQ quality and origin of a known
hash, further hashes of a media file (frames, rotations), and what a match was found through.

Revision ID: 0003
Revises: 0002
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
    with op.batch_alter_table("hash_lists") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="known")
        )
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    with op.batch_alter_table("known_hashes") as batch:
        batch.add_column(sa.Column("quality", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("media_sha256", sa.String(length=64), nullable=True))
        batch.create_index("ix_known_hashes_media_sha256", ["media_sha256"])
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("frames", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("extra_hashes", sa.JSON(), nullable=True))
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("via", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("via")
    with op.batch_alter_table("media") as batch:
        batch.drop_column("extra_hashes")
        batch.drop_column("frames")
    with op.batch_alter_table("known_hashes") as batch:
        batch.drop_index("ix_known_hashes_media_sha256")
        batch.drop_column("media_sha256")
        batch.drop_column("quality")
    with op.batch_alter_table("hash_lists") as batch:
        batch.drop_column("note")
        batch.drop_column("kind")

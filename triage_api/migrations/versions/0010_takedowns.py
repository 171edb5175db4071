"""The takedown loop: takedowns, notices and their replies, rechecks.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "takedowns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False, unique=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40)),
        sa.Column("jurisdiction", sa.String(20)),
        sa.Column("country", sa.String(2)),
        sa.Column("provider", sa.String(200)),
        sa.Column("confirmed_at", WHEN, nullable=False),
        sa.Column("first_notice_at", WHEN),
        sa.Column("last_notice_at", WHEN),
        sa.Column("removed_at", WHEN),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("needs_supervisor", sa.Boolean(), nullable=False),
        sa.Column("next_check_at", WHEN),
        sa.Column("check_lease_until", WHEN),
        sa.Column("schedule_step", sa.Integer(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.Integer(), nullable=False),
        sa.Column("last_outcome", sa.String(20)),
        sa.Column("last_checked_at", WHEN),
    )
    op.create_index("ix_takedowns_state", "takedowns", ["state"])
    op.create_index("ix_takedowns_next_check_at", "takedowns", ["next_check_at"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("takedown_id", sa.Integer(), sa.ForeignKey("takedowns.id"), nullable=False),
        sa.Column("party", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("recipient", sa.String(320)),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message_id", sa.String(300), unique=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("queued_at", WHEN),
        sa.Column("sent_at", WHEN),
    )
    op.create_index("ix_notices_case_id", "notices", ["case_id"])
    op.create_index("ix_notices_takedown_id", "notices", ["takedown_id"])
    op.create_index("ix_notices_status", "notices", ["status"])
    op.create_table(
        "notice_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("notices.id"), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("sender", sa.String(320)),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_notice_replies_notice_id", "notice_replies", ["notice_id"])
    op.create_table(
        "rechecks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("takedown_id", sa.Integer(), sa.ForeignKey("takedowns.id"), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("capture_id", sa.Integer(), sa.ForeignKey("captures.id")),
        sa.UniqueConstraint("takedown_id", "due_at"),
    )
    op.create_index("ix_rechecks_takedown_id", "rechecks", ["takedown_id"])


def downgrade() -> None:
    op.drop_table("rechecks")
    op.drop_table("notice_replies")
    op.drop_table("notices")
    op.drop_table("takedowns")

"""weekly digest: chat channels of a team and the sends that claim each week

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 23:30:00

A channel holds its webhook URL encrypted (like shared secrets) and a masked hint to show.
A send row per (channel, kind, week) is inserted before the message goes out: the unique
constraint is what makes a week's digest go out once across workers and replicas.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("team_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hint", sa.String(255), nullable=False),
        sa.Column("day", sa.String(3), nullable=False),
        sa.Column("time", sa.String(5), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("remind_days", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("parked_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_digest_channels_site_team", "digest_channels", ["site_id", "team_key"])
    op.create_table(
        "digest_sends",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("channel_id", sa.Integer(),
                  sa.ForeignKey("digest_channels.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("channel_id", "kind", "week"),
    )
    op.create_index("ix_digest_sends_state", "digest_sends", ["state", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_digest_sends_state", table_name="digest_sends")
    op.drop_table("digest_sends")
    op.drop_index("ix_digest_channels_site_team", table_name="digest_channels")
    op.drop_table("digest_channels")

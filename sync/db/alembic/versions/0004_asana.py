"""asana: the workspace connection, project webhooks, a KR's goal and custom field

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:10:00

Tokens and webhook secrets are stored as Fernet tokens, like the installations' shared secrets.
Asana tasks themselves live in `work_items` (keys `asana:<gid>`), so they need no table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sync.db.model import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asana_connections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("auth", sa.String(16), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("user_gid", sa.String(64), nullable=False),
        sa.Column("workspace_gid", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "asana_webhooks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("subscription", sa.String(64), nullable=False, unique=True),
        sa.Column("project_gid", sa.String(64), nullable=False),
        sa.Column("webhook_gid", sa.String(64), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("site_id", "project_gid"),
    )
    with op.batch_alter_table("key_results") as batch:
        batch.add_column(sa.Column("asana_goal", sa.String(64), nullable=True))
        batch.add_column(sa.Column("asana_field", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.drop_column("asana_field")
        batch.drop_column("asana_goal")
    op.drop_table("asana_webhooks")
    op.drop_table("asana_connections")

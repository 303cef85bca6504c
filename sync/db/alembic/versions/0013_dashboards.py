"""dashboards: read-only dashboard tokens (stored hashed) and Geckoboard datasets of teams

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00

A dashboard token is kept as its SHA-256 only (shown once at creation). A Geckoboard dataset
holds its API key encrypted (like shared secrets) and a masked hint to show.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hint", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_dashboard_tokens_site_id", "dashboard_tokens", ["site_id"])
    op.create_table(
        "geckoboard_datasets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("team_key", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(255), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("key_hint", sa.String(32), nullable=False),
        sa.Column("next_push_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site_id", "team_key"),
        sa.UniqueConstraint("site_id", "dataset"),
    )


def downgrade() -> None:
    op.drop_table("geckoboard_datasets")
    op.drop_index("ix_dashboard_tokens_site_id", table_name="dashboard_tokens")
    op.drop_table("dashboard_tokens")

"""monthly scores: the score an owner gives a KR for a month, with its one-line reason

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 03:40:00

One row per KR and month (`YYYY-MM`); a month without one shows the score derived from the
KR's history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monthly_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kr_id", sa.Integer(), sa.ForeignKey("key_results.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("author", sa.String(255), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kr_id", "month"),
    )
    op.create_index("ix_monthly_scores_site_id", "monthly_scores", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_monthly_scores_site_id", table_name="monthly_scores")
    op.drop_table("monthly_scores")

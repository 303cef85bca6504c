"""the retrospective's Confluence page kept with the cycle's close

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.db.model

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycle_closes") as batch:
        batch.add_column(sa.Column("retro_space", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("retro_page_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("retro_page_url", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("retro_published_at", sync.db.model.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("cycle_closes") as batch:
        batch.drop_column("retro_published_at")
        batch.drop_column("retro_page_url")
        batch.drop_column("retro_page_id")
        batch.drop_column("retro_space")

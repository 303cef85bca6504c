"""Used OAuth states: an Asana authorization's `state` is accepted once

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.db.model

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_states",
        sa.Column("nonce", sa.String(length=64), primary_key=True),
        sa.Column("used_at", sync.db.model.UtcDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oauth_states")

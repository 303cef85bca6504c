"""outbound version: a queued write-back counts the changes queued onto it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 06:45:00

A flush sends its documents with no transaction open and deletes a row afterwards only if no
change was queued onto it meanwhile: every change queued onto a waiting row adds one to its
`version`, and the delete names the version the flush read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("outbound") as batch:
        batch.drop_column("version")

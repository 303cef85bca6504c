"""A JQL key result's author: whose browsing rights confine its query

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.add_column(sa.Column("jql_author", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.drop_column("jql_author")

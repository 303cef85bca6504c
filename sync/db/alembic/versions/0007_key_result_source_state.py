"""key results: the state of their source (connected, missing, unreachable) and what to do

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 23:30:00

A KR fed by Jira or GitHub records whether its source could be read at the last attempt, so
its pages and the API can say "not connected: do this" instead of retrying it as an error.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.add_column(sa.Column("source_state", sa.String(16), nullable=True))
        batch.add_column(sa.Column("source_message", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("key_results") as batch:
        batch.drop_column("source_message")
        batch.drop_column("source_state")

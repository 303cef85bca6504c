"""KPI definition history: a definition change may belong to no cycle (a team's KPI)

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-01 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("definition_changes") as batch:
        batch.alter_column("cycle_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM definition_changes WHERE cycle_id IS NULL")
    with op.batch_alter_table("definition_changes") as batch:
        batch.alter_column("cycle_id", existing_type=sa.Integer(), nullable=False)

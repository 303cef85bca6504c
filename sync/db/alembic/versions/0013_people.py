"""An objective's why; cycles of any length, held by a parent; people's profiles; monthly scores

Revision ID: 0013_people
Revises: 0012
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_people"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("objectives") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("objectives") as batch:
        batch.drop_column("description")

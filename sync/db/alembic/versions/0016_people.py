"""An objective's why; cycles of any length, held by a parent; people's profiles; monthly scores

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.db.model

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("objectives") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_cycles_team_id", "teams", ["team_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_foreign_key(
            "fk_cycles_parent_id", "cycles", ["parent_id"], ["id"], ondelete="SET NULL"
        )


    op.create_table(
        "people",
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("account_id", sa.String(128), primary_key=True),
        sa.Column("display_name", sa.String(255), nullable=True),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fetched_at", sync.db.model.UtcDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("people")
    with op.batch_alter_table("cycles") as batch:
        batch.drop_constraint("fk_cycles_parent_id", type_="foreignkey")
        batch.drop_constraint("fk_cycles_team_id", type_="foreignkey")
        batch.drop_column("parent_id")
        batch.drop_column("team_id")
    with op.batch_alter_table("objectives") as batch:
        batch.drop_column("description")

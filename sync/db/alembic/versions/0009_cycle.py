"""the OKR cycle: check-in confidence, definition history, closed cycles, carried KRs,
practice profiles

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sync.db.model

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("check_ins", sa.Column("confidence", sa.Float(), nullable=True))
    op.add_column(
        "objectives",
        sa.Column("state", sa.String(length=16), nullable=False, server_default="active"),
    )
    op.add_column("objectives", sa.Column("abandon_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("key_results") as batch:
        batch.add_column(sa.Column("final_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("final_score_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("carried_from_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_key_results_carried_from", "key_results", ["carried_from_id"], ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "definition_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", sync.db.model.UtcDateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_definition_changes_target", "definition_changes", ["site_id", "cycle_id", "target_key"]
    )
    op.create_table(
        "cycle_closes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("closed_at", sync.db.model.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("learned", sa.Text(), nullable=False),
        sa.Column("differently", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "team_id", "cycle_id"),
    )
    op.create_table(
        "practice_profiles",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("max_objectives", sa.Integer(), nullable=False),
        sa.Column("min_krs", sa.Integer(), nullable=False),
        sa.Column("max_krs", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id"),
    )


def downgrade() -> None:
    op.drop_table("practice_profiles")
    op.drop_table("cycle_closes")
    op.drop_index("ix_definition_changes_target", table_name="definition_changes")
    op.drop_table("definition_changes")
    with op.batch_alter_table("key_results") as batch:
        batch.drop_constraint("fk_key_results_carried_from", type_="foreignkey")
        batch.drop_column("carried_from_id")
        batch.drop_column("final_score_reason")
        batch.drop_column("final_score")
    op.drop_column("objectives", "abandon_reason")
    op.drop_column("objectives", "state")
    op.drop_column("check_ins", "confidence")

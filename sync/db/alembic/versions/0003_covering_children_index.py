"""work items: the children index covers what a KR's roll-up reads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:00:00

Re-deriving an issues KR reads every child of its linked epics. With the state columns in
the index, those rows come from the index alone instead of one table lookup per child.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CHILDREN_COLUMNS = ["site_id", "parent_key", "deleted", "key", "status_category", "story_points"]


def upgrade() -> None:
    op.drop_index("ix_work_items_parent", table_name="work_items")
    op.create_index("ix_work_items_children", "work_items", CHILDREN_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_work_items_children", table_name="work_items")
    op.create_index("ix_work_items_parent", "work_items", ["site_id", "parent_key"])

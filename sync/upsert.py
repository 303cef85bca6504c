"""Insert-or-ignore on a unique key, in one statement, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync.model import Base


def insert_ignore(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    unique: Sequence[str],
) -> int:
    """Insert rows, skipping any whose unique key exists; returns how many were inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=list(unique))
    result = session.execute(statement)
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]

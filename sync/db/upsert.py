"""Insert-or-ignore on a unique key, in one statement, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sync.db.model import Base


def dialect_insert(
    session: Session,
) -> Callable[[type[Base]], postgresql.Insert | sqlite.Insert]:
    """The INSERT construct of the session's database, which knows ON CONFLICT."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def insert_ignore(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    unique: Sequence[str],
) -> None:
    """Insert rows, skipping any whose unique key exists already."""
    if rows:
        statement = dialect_insert(session)(model).values(list(rows))
        session.execute(statement.on_conflict_do_nothing(index_elements=list(unique)))

"""A prebuilt Core statement run on the DB-API cursor, for the few statements on hot paths.

Why: SQLAlchemy's per-execution work (execution context, parameter and result processing)
costs about 0.15 ms a statement, more than a small statement itself takes on SQLite, and the
webhook intake's INSERT runs for every delivery. The statement is compiled once for the
dialect and its columns; each value goes through its column type's own bind processor, so
what is stored is exactly what SQLAlchemy would store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable


class RawStatement:
    """`statement` compiled for `engine`'s dialect and the given parameter names."""

    def __init__(self, engine: Engine, statement: Executable, names: Sequence[str]) -> None:
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        self.engine = engine
        self.sql: str = compiled.string
        self.positional = compiled.positiontup is not None
        self.order: list[str] = list(compiled.positiontup or compiled.binds)
        self.processors: dict[str, Callable[[Any], Any] | None] = {
            name: compiled.binds[name].type.bind_processor(dialect) for name in self.order
        }

    def arguments(self, values: Mapping[str, Any]) -> Any:
        processed = {}
        for name in self.order:
            processor = self.processors[name]
            processed[name] = processor(values[name]) if processor else values[name]
        return tuple(processed[name] for name in self.order) if self.positional else processed

    def first_value(self, values: Mapping[str, Any]) -> Any:
        """Execute in its own transaction; the first column of the first row, or None."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, self.arguments(values))
                row = cursor.fetchone()
            finally:
                cursor.close()
            connection.commit()
        finally:
            connection.close()
        return row[0] if row else None


class RawQuery:
    """A SELECT run on a session's DB-API connection (its transaction); rows as plain tuples.

    For queries whose columns need no result processing (integers, strings, floats,
    booleans), on the path that re-derives a KR after every change. `IN` lists of any length
    are expanded by SQLAlchemy's own `construct_expanded_state`.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, Any] = {}

    def rows(self, session: Session, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        connection = session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self.statement.compile(dialect=dialect)
        expanded = compiled.construct_expanded_state(values)
        processors = expanded.processors
        bound = {
            name: processors[name](value) if name in processors else value
            for name, value in expanded.parameters.items()
        }
        positions = expanded.positiontup
        args = tuple(bound[name] for name in positions) if positions else bound
        cursor = connection.connection.cursor()
        try:
            cursor.execute(expanded.statement, args)
            return cursor.fetchall()
        finally:
            cursor.close()

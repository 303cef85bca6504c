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

from sqlalchemy import Dialect, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


def _compile(statement: ClauseElement, dialect: Dialect, **kw: Any) -> SQLCompiler:
    """`statement` compiled for `dialect`; a SQL statement compiles to a SQLCompiler."""
    compiled = statement.compile(dialect=dialect, **kw)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"not a SQL statement: {type(statement).__name__}")
    return compiled


class RawStatement:
    """`statement` compiled for `engine`'s dialect and the given parameter names."""

    def __init__(self, engine: Engine, statement: ClauseElement, names: Sequence[str]) -> None:
        dialect = engine.dialect
        compiled = _compile(statement, dialect, column_keys=list(names))
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

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, SQLCompiler] = {}

    def rows(self, session: Session, values: Mapping[str, Any]) -> Sequence[tuple[Any, ...]]:
        connection = session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect)
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

"""How long each string field of the REST API may be: the width of the column that stores it.

One table for the views (which refuse a longer value with 422 before the database would refuse
it with an error) and for the OpenAPI document (`maxLength`), so the two cannot disagree.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ColumnElement, String

from sync.db.model import CheckIn, Cycle, KeyResult, Link, Objective, Team


def _width(column: ColumnElement[Any]) -> int:
    kind = column.type
    assert isinstance(kind, String) and kind.length is not None, column
    return kind.length


MAX_LENGTHS: Final[dict[str, int]] = {
    "key": _width(KeyResult.__table__.c.key),
    "objective": _width(Objective.__table__.c.key),
    "team": _width(Team.__table__.c.key),
    "cycle": _width(Cycle.__table__.c.name),
    "parent": _width(Objective.__table__.c.parent_key),
    "unit": _width(KeyResult.__table__.c.unit),
    "owner": _width(KeyResult.__table__.c.owner),
    "jql_field": _width(KeyResult.__table__.c.jql_field),
    "target": _width(Link.__table__.c.target_key),
    "author": _width(CheckIn.__table__.c.author),
}
"""Field name -> the most characters it may have (names mean the same in every input)."""

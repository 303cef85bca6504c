"""People on the pages: the names of the accounts a view shows (owners, check-in authors),
read through `sync.people` with this app's `People` port and clock.

Views keep account ids (the edit forms post them back as they are); each carries the names of
the ids it holds, and the templates show `person(value)`: the name, the free-text role as
written, "Unknown user" or "Former user", never an account id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from sync.people import display, is_account_id, names_for
from sync.ports import Ports


def names_in(session: Session, site_id: int, values: Iterable[str | None]) -> dict[str, str]:
    """The names of the account ids among `values`, fetched when older than a day."""
    wanted = [v for v in values if is_account_id(v)]
    if not wanted or not has_app_context():
        return {}
    # Imported here: `connect.services` imports the panels, which import this module.
    from connect.services import services_of

    ports: Ports = services_of(current_app).jobs.ports
    return names_for(session, site_id, wanted, people=ports.people, now=ports.clock.now())


def person_of(names: Mapping[str, str]) -> object:
    """The templates' `person(value)`: how an owner or an author reads."""

    def person(value: str | None) -> str | None:
        return display(value, names)

    return person

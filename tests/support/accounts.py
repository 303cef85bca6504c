"""A site whose OKRs name Atlassian accounts: owners, check-in and change authors, an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import InboxEvent, Kpi, Team
from sync.db.store import find_kr
from sync.okrs import record_check_in, update_key_result
from tests.support.app import import_example, install

CLOSED = "557058:0c0ffee0-0000-4000-8000-00000000c105"
UPDATED = "5b10ac8d82e05b22cc7d4ef5"
ACTIVE = "557058:0c0ffee0-0000-4000-8000-0000000ac71e"
AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class PeopleSite:
    site_id: int
    kr_key: str
    kpi_key: str


def people_site(app: Flask) -> PeopleSite:
    """An installed site (Connect) with the example OKRs, whose rows name the three accounts."""
    site_id = install(app)
    import_example(app, site_id, at=AT)
    store = services_of(app).store
    with store.session() as session:
        kr = find_kr(session, site_id, "PLAT-1.1")
        other = find_kr(session, site_id, "PLAT-1.2")
        assert kr is not None and other is not None
        update_key_result(session, kr, {"owner": CLOSED}, author=CLOSED, at=AT)
        update_key_result(session, other, {"owner": ACTIVE}, author=UPDATED, at=AT)
        record_check_in(session, kr, {"value": 3, "what": "moved"}, author=CLOSED, at=AT)
        record_check_in(session, other, {"value": 4, "what": "also"}, author=ACTIVE, at=AT)
        team = session.scalars(select(Team).where(Team.site_id == site_id)).one()
        session.add(
            Kpi(
                site_id=site_id,
                team_id=team.id,
                key="PLAT-PEOPLE",
                title="Reviews per person",
                owner=CLOSED,
            )
        )
        session.add(
            InboxEvent(
                source="jira",
                scope="jira:acme-client-key",
                delivery_id="d-1",
                site_id=site_id,
                event="jira:issue_updated",
                payload={"actor": CLOSED, "key": "PLAT-7"},
                state="done",
            )
        )
    return PeopleSite(site_id=site_id, kr_key="PLAT-1.1", kpi_key="PLAT-PEOPLE")

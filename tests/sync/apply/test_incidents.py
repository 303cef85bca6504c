"""Incidents judged from Jira issue events: locally for the usual queries, by Jira otherwise."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from sync.apply.incidents import apply_issue_event
from sync.apply.jira import IssueEvent
from sync.core.spec import KpiSpec
from sync.db.model import Incident
from sync.db.store import local_site
from sync.dora.keys import query_digest
from sync.errors import Transient
from sync.kpis import upsert_kpi
from tests.support.github_app import store

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
LOCAL = "project = OPS AND type = Incident"
ASKED = "project = OPS AND created >= -30d ORDER BY created DESC"  # outside the local subset


class AskedJira:
    """Jira's search for `key = X AND (<query>)`: the keys it matches, every query asked."""

    def __init__(self, matching: set[str]) -> None:
        self.matching = matching
        self.queries: list[str] = []
        self.down = False

    def search(self, site_id: int, jql: str, *, fields: Sequence[str]) -> Iterator[Mapping]:
        self.queries.append(jql)
        if self.down:
            raise Transient("HTTP 503")
        key = jql.removeprefix("key = ").split(" ", 1)[0]
        return iter([{"key": key}] if key in self.matching else [])


def event(
    key: str = "OPS-1",
    *,
    opened: datetime = NOW - timedelta(hours=5),
    resolved: datetime | None = None,
    issue_type: str = "Incident",
) -> IssueEvent:
    return IssueEvent(
        key=key,
        updated_at=resolved or opened,
        issue_id="10001",
        issue_type=issue_type,
        project=("OPS", "Operations", "10042"),
        priority=("High", "2"),
        status=("Open", "1"),
        labels=(),
        created_at=opened,
        resolved_at=resolved,
    )


def site_watching(app: Flask, jql: str) -> int:
    with store(app).session() as session:
        site_id = local_site(session).id
        spec = KpiSpec(
            key="PLAT-K1",
            title="Time to restore",
            kind="github",
            measure="time_to_restore_hours",
            incident_jql=jql,
        )
        upsert_kpi(session, site_id, "PLAT", spec, position=0, now=NOW)
    return site_id


def apply(app: Flask, site_id: int, issue: IssueEvent, jira: AskedJira | None = None) -> bool:
    with store(app).session() as session:
        return apply_issue_event(session, site_id, issue, tracker=jira, now=NOW)


def stored(app: Flask, jql: str) -> list[tuple[str, datetime, datetime | None]]:
    with store(app).session() as session:
        rows = session.scalars(select(Incident).where(Incident.query == query_digest(jql)))
        return sorted((r.key, r.opened_at, r.resolved_at) for r in rows)


def test_a_usual_query_is_judged_without_asking_jira(app: Flask) -> None:
    site_id = site_watching(app, LOCAL)
    jira = AskedJira(set())
    resolved = NOW - timedelta(hours=2)
    assert apply(app, site_id, event(resolved=resolved), jira)
    assert apply(app, site_id, event("OPS-2", issue_type="Task"), jira) is False
    assert stored(app, LOCAL) == [("OPS-1", NOW - timedelta(hours=5), resolved)]
    assert jira.queries == []
    assert apply(app, site_id, event(resolved=resolved), jira) is False  # a replay moves nothing


def test_another_query_is_asked_of_jira_for_the_one_issue(app: Flask) -> None:
    site_id = site_watching(app, ASKED)
    jira = AskedJira({"OPS-1"})
    assert apply(app, site_id, event("OPS-1"), jira)
    assert apply(app, site_id, event("OPS-2"), jira) is False
    assert jira.queries == [
        "key = OPS-1 AND (project = OPS AND created >= -30d)",
        "key = OPS-2 AND (project = OPS AND created >= -30d)",
    ]
    assert [key for key, _, _ in stored(app, ASKED)] == ["OPS-1"]


def test_an_issue_too_old_to_count_is_not_asked_about(app: Flask) -> None:
    site_id = site_watching(app, ASKED)
    jira = AskedJira({"OPS-1"})
    assert apply(app, site_id, event(opened=NOW - timedelta(days=60)), jira) is False
    assert jira.queries == []


def test_when_jira_does_not_answer_the_incident_is_left_to_the_poll(app: Flask) -> None:
    site_id = site_watching(app, ASKED)
    jira = AskedJira({"OPS-1"})
    apply(app, site_id, event(), jira)
    jira.down = True
    assert apply(app, site_id, event(resolved=NOW - timedelta(hours=1)), jira) is False
    assert stored(app, ASKED) == [("OPS-1", NOW - timedelta(hours=5), None)]
    assert apply(app, site_id, event(), None) is False  # no Jira to ask at all


def test_a_deleted_or_moved_issue_is_no_longer_an_incident(app: Flask) -> None:
    site_id = site_watching(app, LOCAL)
    apply(app, site_id, event("OPS-1"))
    apply(app, site_id, event("OPS-2"))
    assert apply(app, site_id, replace(event("OPS-1"), deleted=True))
    moved = replace(event("WEB-7"), old_key="OPS-2", project=("WEB", "Web", "10050"))
    assert apply(app, site_id, moved)
    assert stored(app, LOCAL) == []


def test_an_event_without_its_dates_changes_nothing(app: Flask) -> None:
    site_id = site_watching(app, LOCAL)
    assert apply(app, site_id, replace(event(), created_at=None)) is False
    assert stored(app, LOCAL) == []

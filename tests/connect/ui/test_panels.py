"""Loading panel values from the store: a fixed number of queries, right values, warnings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import create_engine, event, text

from connect.services import services_of
from connect.ui.panels import PanelQuery, load_panel, panel_version
from sync.core.spec import quarter
from tests.support.app import big_team, check_in, import_okrs, install, weekly_check_ins

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CYCLE = quarter("2026-Q4")


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the store runs inside the block."""
    engine = services_of(app).store.engine
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _load(app: Flask, site: int, team: str) -> tuple[int, object]:
    with counted(app) as statements, services_of(app).store.session() as session:
        view = load_panel(session, site, PanelQuery(team=team), today=NOW.date())
    return len(statements), view


def test_panel_costs_the_same_queries_for_one_kr_or_fifteen_with_history(app: Flask) -> None:
    site = install(app)
    import_okrs(app, site, big_team("SMALL", objectives=1, krs=1, cycle=CYCLE), at=NOW)
    import_okrs(app, site, big_team("BIG", objectives=3, krs=5, cycle=CYCLE), at=NOW)
    start = datetime(2026, 10, 1, 9, tzinfo=UTC)
    for o in range(1, 4):
        for k in range(1, 6):
            weekly_check_ins(
                app, site, f"BIG-{o}.{k}", [5.0 * w + o + k for w in range(8)], start=start
            )
    small_count, _small = _load(app, site, "SMALL")
    big_count, big = _load(app, site, "BIG")
    assert big_count == small_count
    # BEGIN/COMMIT are not statements here: one panel query, one history query, and one for
    # the team's KPIs (its health strip).
    assert big_count == 3
    assert sum(len(o.krs) for o in big.objectives) == 15  # type: ignore[attr-defined]
    kr = big.objectives[2].krs[4]  # type: ignore[attr-defined]
    assert kr.key == "BIG-3.5"
    assert len(kr.history) == 9  # the import's snapshot, then one per weekly check-in
    assert kr.last_checkin.value == 43.0
    assert kr.progress == 0.43


def test_version_moves_when_a_kr_changes_and_costs_one_query(app: Flask) -> None:
    site = install(app)
    import_okrs(app, site, big_team("BIG", objectives=3, krs=5, cycle=CYCLE), at=NOW)
    query = PanelQuery(team="BIG")
    with counted(app) as statements, services_of(app).store.session() as session:
        before = panel_version(session, site, query, today=NOW.date())
    assert len(statements) == 1
    check_in(app, site, "BIG-2.3", value=20, at=NOW + timedelta(hours=1))
    with services_of(app).store.session() as session:
        assert panel_version(session, site, query, today=NOW.date()) != before


def test_latest_check_in_and_alignment_and_practice_warnings(app: Flask) -> None:
    site = install(app)
    import_okrs(app, site, big_team("BIG", objectives=4, krs=2, cycle=CYCLE), at=NOW)
    check_in(app, site, "BIG-1.1", value=10, at=NOW - timedelta(days=7), what="first")
    check_in(app, site, "BIG-1.1", value=30, at=NOW, what="second", status="at_risk")
    _, view = _load(app, site, "BIG")
    kr = view.objectives[0].krs[0]  # type: ignore[attr-defined]
    assert (kr.last_checkin.what, kr.status, kr.current) == ("second", "at_risk", 30.0)
    [team_note] = view.warnings  # type: ignore[attr-defined]
    assert (team_note.message_key, team_note.params["count"]) == ("practice.too-many-objectives", 4)
    objective_notes = view.objectives[0].warnings  # type: ignore[attr-defined]
    assert {(n.message_key, n.params.get("count")) for n in objective_notes} == {
        ("practice.too-few-krs", 2),
        ("practice.no-why", None),  # the objective says no why (no description)
    }


def test_an_unknown_team_or_cycle_has_no_panel(app: Flask) -> None:
    site = install(app)
    import_okrs(app, site, big_team("BIG", objectives=1, krs=3, cycle=CYCLE), at=NOW)
    with services_of(app).store.session() as session:
        assert load_panel(session, site, PanelQuery(team="NOPE"), today=NOW.date()) is None
        assert (
            load_panel(session, site, PanelQuery(team="BIG", cycle="2027-Q1"), today=NOW.date())
            is None
        )
        other = install(app, client_key="c2", base_url="https://b.atlassian.net", secret="x" * 40)
        assert load_panel(session, other, PanelQuery(team="BIG"), today=NOW.date()) is None


def test_fast_version_agrees_with_the_orm_query(app: Flask) -> None:
    from connect.ui.versions import PanelVersions

    site = install(app)
    import_okrs(app, site, big_team("BIG", objectives=2, krs=3, cycle=CYCLE), at=NOW)
    versions = PanelVersions(services_of(app).store.engine)
    for query in (
        PanelQuery(team="BIG"),
        PanelQuery(team="BIG", cycle="2026-Q4"),
        PanelQuery(team="BIG", objective="BIG-2"),
        PanelQuery(team="NONE"),
    ):
        with services_of(app).store.session() as session:
            expected = panel_version(session, site, query, today=NOW.date())
        assert (
            versions.version(site, query, today=NOW.date()).split("/")[:3]
            == expected.split("/")[:3]
        )
    before = versions.version(site, PanelQuery(team="BIG"), today=NOW.date())
    check_in(app, site, "BIG-1.2", value=50, at=NOW + timedelta(hours=2))
    assert versions.version(site, PanelQuery(team="BIG"), today=NOW.date()) != before


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_versions_see_own_commits_at_once_and_other_processes_within_the_recheck(
    app: Flask,
) -> None:
    from connect.ui.versions import RECHECK_SECONDS, PanelVersions

    engine = services_of(app).store.engine
    site = install(app)
    import_okrs(app, site, big_team("BIG", objectives=1, krs=3, cycle=CYCLE), at=NOW)
    clock = FakeClock()
    versions = PanelVersions(engine, clock=clock)
    panel = PanelQuery(team="BIG")
    first = versions.version(site, panel, today=NOW.date())
    check_in(app, site, "BIG-1.2", value=50, at=NOW + timedelta(hours=2))  # this process
    after_own = versions.version(site, panel, today=NOW.date())
    assert after_own != first
    # Another process: an engine of its own, whose commits this one does not hear of.
    other = create_engine(engine.url)
    with other.begin() as connection:
        connection.execute(text("UPDATE key_results SET version = version + 1"))
    other.dispose()
    if engine.dialect.name == "postgresql":  # no data_version there: the query runs every load
        assert versions.version(site, panel, today=NOW.date()) != after_own
    clock.now += RECHECK_SECONDS
    assert versions.version(site, panel, today=NOW.date()) != after_own

"""Stored account ids, reported 90 a call; a closed account erased everywhere, history included."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import Text, cast, func, select

from connect.services import services_of
from sync.accounts import (
    FORMER_USER,
    AccountReporting,
    AccountStatus,
    StoredAccount,
    batches,
    is_account_id,
    stored_accounts,
)
from sync.db.model import CheckIn, DefinitionChange, InboxEvent, Installation, KeyResult, Kpi
from sync.db.store import Store
from sync.errors import RateLimited
from tests.support.accounts import ACTIVE, AT, CLOSED, UPDATED, people_site


class FakeAtlassian:
    """Answers as Atlassian does, from a fixed table of statuses; records each call."""

    def __init__(self, statuses: dict[str, str], *, fail_after: int | None = None) -> None:
        self.statuses = statuses
        self.calls: list[list[str]] = []
        self.fail_after = fail_after

    def report_accounts(
        self, site_id: int, accounts: Sequence[StoredAccount]
    ) -> Sequence[AccountStatus]:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise RateLimited("slow down", status=429, retry_after=3600)
        self.calls.append([account.account_id for account in accounts])
        return [
            AccountStatus(account.account_id, self.statuses[account.account_id])  # type: ignore[arg-type]
            for account in accounts
            if account.account_id in self.statuses
        ]


class Profiles:
    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget(self, account_id: str) -> None:
        self.forgotten.append(account_id)


def test_account_ids_are_told_from_free_text_owners() -> None:
    assert is_account_id(CLOSED) and is_account_id(UPDATED) and is_account_id("557058:f00d-cafe")
    assert is_account_id("qm:0c0ffee0-0000-4000-8000-000000000001:0c0ffee0-0000")
    for text in ("SRE lead", "okrlink import", "demo-user", FORMER_USER, "", None, "a" * 24):
        assert not is_account_id(text)


def test_the_site_reports_every_account_it_stores_and_only_those(app: Flask) -> None:
    site = people_site(app)
    store: Store = services_of(app).store
    with store.session() as session:
        session.execute(
            Installation.__table__.update().values(app_account_id="557058:0c0ffee0-a99")
        )
        session.add(
            InboxEvent(
                source="jira",
                scope="x",
                delivery_id="own",
                site_id=site.site_id,
                payload={"actor": "557058:0c0ffee0-a99"},
            )
        )
    with store.session() as session:
        found = stored_accounts(session, site.site_id)
    assert [account.account_id for account in found] == sorted([ACTIVE, CLOSED, UPDATED])
    assert all(account.updated_at >= AT for account in found)


def test_accounts_go_90_a_call() -> None:
    accounts = [StoredAccount(f"557058:{n:08x}", datetime.now(UTC)) for n in range(181)]
    assert [len(batch) for batch in batches(accounts)] == [90, 90, 1]
    assert [a for batch in batches(accounts) for a in batch] == accounts


def test_a_closed_account_is_erased_from_owners_check_ins_history_and_events(app: Flask) -> None:
    site = people_site(app)
    store: Store = services_of(app).store
    with store.session() as session:
        version_before = session.scalars(
            select(KeyResult.version).where(KeyResult.key == site.kr_key)
        ).one()
    fake, profiles = FakeAtlassian({CLOSED: "closed", UPDATED: "updated"}), Profiles()
    reporting = AccountReporting(store=store, personal_data=lambda: fake, profiles=profiles)

    [report] = reporting.report_all()

    assert fake.calls == [sorted([ACTIVE, CLOSED, UPDATED])]
    assert (report.reported, report.closed, report.updated) == (3, [CLOSED], [UPDATED])
    assert report.erased_rows >= 6
    assert profiles.forgotten == [CLOSED, UPDATED]
    with store.session() as session:
        kr = session.scalars(select(KeyResult).where(KeyResult.key == site.kr_key)).one()
        assert kr.owner == FORMER_USER and kr.version == version_before + 1
        kpi = session.scalars(select(Kpi).where(Kpi.key == site.kpi_key)).one()
        assert kpi.owner == FORMER_USER
        authors = session.scalars(select(CheckIn.author).order_by(CheckIn.id)).all()
        assert CLOSED not in authors and FORMER_USER in authors and ACTIVE in authors
        change_authors = set(session.scalars(select(DefinitionChange.author)))
        assert CLOSED not in change_authors and {FORMER_USER, UPDATED} <= change_authors
        event = session.scalars(select(InboxEvent).where(InboxEvent.delivery_id == "d-1")).one()
        assert event.payload == {"actor": FORMER_USER, "key": "PLAT-7"}
        for column in (DefinitionChange.before, DefinitionChange.after, InboxEvent.payload):
            mentions = session.scalar(
                select(func.count()).where(cast(column, Text).contains(CLOSED))
            )
            assert mentions == 0
        # The other people's rows are untouched.
        assert session.scalar(select(func.count()).where(KeyResult.owner == ACTIVE)) == 1
        remaining = {a.account_id for a in stored_accounts(session, site.site_id)}
        assert remaining == {ACTIVE, UPDATED}


def test_a_rate_limited_run_stops_keeps_what_was_answered_and_says_why(app: Flask) -> None:
    site = people_site(app)
    store: Store = services_of(app).store
    fake = FakeAtlassian({}, fail_after=0)
    reporting = AccountReporting(store=store, personal_data=lambda: fake)
    report = reporting.report_site(site.site_id, "acme")
    assert report.reported == 0 and report.error == "slow down"
    with store.session() as session:
        assert session.scalar(select(func.count()).where(KeyResult.owner == CLOSED)) == 1

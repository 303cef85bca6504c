"""Personal data: the Atlassian account ids okrlink stores, their reporting, and their erasure.

Atlassian requires apps that store personal data to report the account ids they hold to its
personal data reporting API, and to erase an account that Atlassian answers is `closed`.
okrlink stores no names, e-mails or avatars: only account ids, as KR and KPI owners (when an
owner is an account id rather than a free-text role), check-in authors, the authors of
definition changes and cycle closes, the owners inside a change's before/after, and the actor of
each recorded Jira event. `stored_accounts` reads them all; `erase_account` replaces every one of
them, history included, with `FORMER_USER`.

An `updated` account means its profile changed: okrlink keeps no profile today, so nothing is
stale; a profile cache added later registers itself as `profiles` and forgets the account.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, Protocol

from sqlalchemy import Text, cast, or_, select, update
from sqlalchemy.orm import Session

from sync.db.model import (
    CheckIn,
    CycleClose,
    DefinitionChange,
    InboxEvent,
    Installation,
    KeyResult,
    Kpi,
    Site,
)
from sync.db.store import Store
from sync.errors import OutsideError
from sync.ports import PersonalData

log = logging.getLogger(__name__)

FORMER_USER: Final = "former user"
"""What an erased account id becomes: neutral, and never mistaken for an account id."""
MAX_ACCOUNTS_PER_CALL: Final = 90
"""Atlassian's limit on the accounts of one reporting call."""
REPORT_MINUTES: Final = 24 * 60
"""The reporting job runs daily (Atlassian's default cycle is 7 days; daily never misses it)."""

# Atlassian account ids: `<number>:<uuid>` (`557058:…`), the older 24 characters, or a
# customer's `qm:…`. Free-text owners ("SRE lead") never match.
_ACCOUNT_ID = re.compile(
    r"\d{1,10}:[0-9a-fA-F][0-9a-fA-F-]{3,63}|qm:[0-9a-fA-F:-]{8,100}|(?=[a-z]*\d)[0-9a-z]{24}"
)

Status = Literal["closed", "updated"]


def is_account_id(value: object) -> bool:
    """True for a string shaped like an Atlassian account id."""
    return isinstance(value, str) and _ACCOUNT_ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class StoredAccount:
    """An account id and when okrlink last stored data about it (the `updatedAt` reported)."""

    account_id: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """Atlassian's answer for one reported account."""

    account_id: str
    status: Status


class Profiles(Protocol):
    """The hook for a cache of account profiles (names, avatars): none exists yet."""

    def forget(self, account_id: str) -> None:
        """Drop whatever is cached about `account_id` (its profile changed or it closed)."""
        ...


def _owner_values(snapshot: Any) -> Iterator[str]:
    """The account ids inside a change's before/after document, at any depth."""
    if isinstance(snapshot, dict):
        for value in snapshot.values():
            yield from _owner_values(value)
    elif isinstance(snapshot, list):
        for value in snapshot:
            yield from _owner_values(value)
    elif is_account_id(snapshot):
        yield snapshot


def stored_accounts(session: Session, site_id: int) -> list[StoredAccount]:
    """Every account id stored for the site, with the latest time data about it was written.

    The app's own accounts (each installation's app user) are not people: left out.
    """
    latest: dict[str, datetime] = {}

    def seen(account: object, at: datetime | None) -> None:
        if is_account_id(account) and at is not None:
            assert isinstance(account, str)
            if account not in latest or latest[account] < at:
                latest[account] = at

    reads: Iterable[tuple[Any, Any]] = (
        (KeyResult.owner, KeyResult.updated_at),
        (Kpi.owner, Kpi.updated_at),
        (CheckIn.author, CheckIn.at),
        (DefinitionChange.author, DefinitionChange.at),
        (CycleClose.closed_by, CycleClose.closed_at),
    )
    for column, at in reads:
        rows = session.execute(
            select(column, at).where(column.class_.site_id == site_id, column.is_not(None))
        )
        for account, when in rows:
            seen(account, when)
    changes = session.execute(
        select(DefinitionChange.before, DefinitionChange.after, DefinitionChange.at).where(
            DefinitionChange.site_id == site_id
        )
    )
    for before, after, when in changes:
        for account in (*_owner_values(before), *_owner_values(after)):
            seen(account, when)
    actor = InboxEvent.payload["actor"].as_string()
    for account, when in session.execute(
        select(actor, InboxEvent.received_at).where(
            InboxEvent.site_id == site_id, actor.is_not(None)
        )
    ):
        seen(account, when)
    apps = session.scalars(
        select(Installation.app_account_id).where(Installation.app_account_id.is_not(None))
    )
    for app_account in apps:
        latest.pop(app_account or "", None)
    return [StoredAccount(account, at) for account, at in sorted(latest.items())]


def _replaced(document: Any, account_id: str) -> Any:
    """`document` with every string equal to `account_id` replaced by `FORMER_USER`."""
    if isinstance(document, dict):
        return {key: _replaced(value, account_id) for key, value in document.items()}
    if isinstance(document, list):
        return [_replaced(value, account_id) for value in document]
    return FORMER_USER if document == account_id else document


def erase_account(session: Session, account_id: str) -> int:
    """Replace `account_id` by `FORMER_USER` wherever okrlink stores it, on every site; the
    number of rows changed. The caller commits.

    Every site, not only the one that reported it: an account id is Atlassian-wide, and a
    closed account's data must go wherever it is, including sites that can no longer report.
    """
    if not is_account_id(account_id):
        raise ValueError("not an Atlassian account id")
    changed = 0
    for column in (KeyResult.owner, Kpi.owner):
        # Panels are cached by version: a KR or KPI whose owner changed renders anew.
        model = column.class_
        result = session.execute(
            update(model)
            .where(column == account_id)
            .values({column.key: FORMER_USER, "version": model.version + 1})
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    for column in (CheckIn.author, DefinitionChange.author, CycleClose.closed_by):
        result = session.execute(
            update(column.class_)
            .where(column == account_id)
            .values({column.key: FORMER_USER})
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    needle = json.dumps(account_id)  # as it appears inside a JSON document's text
    changes = session.scalars(
        select(DefinitionChange).where(
            or_(
                cast(DefinitionChange.before, Text).contains(needle),
                cast(DefinitionChange.after, Text).contains(needle),
            )
        )
    )
    for change in changes:
        change.before = _replaced(change.before, account_id)
        change.after = _replaced(change.after, account_id)
        changed += 1
    events = session.scalars(
        select(InboxEvent).where(InboxEvent.payload["actor"].as_string() == account_id)
    )
    for event in events:
        event.payload = _replaced(event.payload, account_id)
        changed += 1
    session.flush()
    return changed


@dataclass(slots=True)
class SiteReport:
    """What one site's reporting did; `error` says why it stopped early, if it did."""

    site: str
    reported: int = 0
    closed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    erased_rows: int = 0
    error: str | None = None


def batches(accounts: Sequence[StoredAccount]) -> Iterator[Sequence[StoredAccount]]:
    """The accounts in calls of at most `MAX_ACCOUNTS_PER_CALL`, in order."""
    for start in range(0, len(accounts), MAX_ACCOUNTS_PER_CALL):
        yield accounts[start : start + MAX_ACCOUNTS_PER_CALL]


class AccountReporting:
    """Reports each Atlassian site's stored account ids and acts on the answers.

    A closed account is erased in the same transaction as the batch that reported it, so a
    failure later in the run never undoes an erasure already answered for.
    """

    def __init__(
        self,
        *,
        store: Store,
        personal_data: Callable[[], PersonalData | None],
        profiles: Profiles | None = None,
    ) -> None:
        self.store = store
        self.personal_data = personal_data
        self.profiles = profiles

    def sites(self) -> list[tuple[int, str]]:
        """The sites with an enabled Atlassian installation: those that can report."""
        with self.store.session() as session:
            rows = session.execute(
                select(Site.id, Site.name)
                .join(Installation, Installation.site_id == Site.id)
                .where(Installation.enabled.is_(True))
                .distinct()
                .order_by(Site.name)
            )
            return [(site_id, name) for site_id, name in rows]

    def report_site(self, site_id: int, name: str) -> SiteReport:
        """Report the site's accounts, 90 a call; erase the closed ones, forget the updated."""
        report = SiteReport(site=name)
        api = self.personal_data()
        if api is None:
            report.error = "no personal data reporting client is configured"
            return report
        with self.store.session() as session:
            accounts = stored_accounts(session, site_id)
        for batch in batches(accounts):
            try:
                answers = api.report_accounts(site_id, batch)
            except OutsideError as exc:
                report.error = exc.message
                log.warning("personal data reporting stopped for %s: %s", name, exc.message)
                return report
            report.reported += len(batch)
            sent = {account.account_id for account in batch}
            with self.store.session() as session:
                for answer in answers:
                    if answer.account_id not in sent:
                        continue  # only act on what this call asked about
                    if answer.status == "closed":
                        report.closed.append(answer.account_id)
                        report.erased_rows += erase_account(session, answer.account_id)
                    else:
                        report.updated.append(answer.account_id)
                    if self.profiles is not None:
                        self.profiles.forget(answer.account_id)
        log.info(
            "personal data reported for %s: %d accounts, %d closed (erased), %d updated",
            name,
            report.reported,
            len(report.closed),
            len(report.updated),
        )
        return report

    def report_all(self) -> list[SiteReport]:
        """Every site that can report, one after the other."""
        return [self.report_site(site_id, name) for site_id, name in self.sites()]

    def run(self) -> None:
        """The daily job: `report_all`, its result left to the logs (huey keeps none)."""
        self.report_all()

"""People by name: the Atlassian accounts that own KRs and write check-ins, shown by the name
Jira gives them, never by their account id.

The OKR file and the API keep account ids; everything people read (pages, digests, check
runs, the CLI) asks `names_for` for the display names. Profiles are cached per site in the
`people` table and refreshed at most daily (`PROFILE_TTL`), fetched through the `People` port
in batches (one `GET /rest/api/3/user/bulk` per batch of `BATCH` accounts). An account Jira
does not know is shown as `UNKNOWN`, a closed one as `FORMER`; when Jira cannot be reached, a
stale cached name is still shown. Personal data reporting drops a changed account's profile
with `forget_profile`, so the next reading fetches it again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.db.model import Person
from sync.errors import OutsideError
from sync.ports import People

log = logging.getLogger(__name__)

PROFILE_TTL: Final = timedelta(days=1)
BATCH: Final = 50
"""Accounts per `user/bulk` call (Jira Cloud pages the answer beyond that)."""
RETRY_AFTER_FAILURE: Final = timedelta(minutes=5)
"""When Jira could not be asked, the accounts are asked again after this long, not at once."""
UNKNOWN: Final = "Unknown user"
FORMER: Final = "Former user"

# An Atlassian account id: `557058:f58131cb-b67d-...` (with its prefix) or 24 hex digits.
_ACCOUNT_ID = re.compile(r"^(?:\d+:[0-9a-f][0-9a-f-]{7,}|[0-9a-f]{24})$", re.IGNORECASE)


def is_account_id(text: str | None) -> bool:
    """Whether `text` is an Atlassian account id (else a free-text role such as "SRE lead")."""
    return bool(text) and bool(_ACCOUNT_ID.match((text or "").strip()))


def _label(row: Person) -> str:
    if row.state == "closed":
        return FORMER
    if row.state == "active" and row.display_name:
        return row.display_name
    return UNKNOWN


def names_for(
    session: Session,
    site_id: int,
    values: Iterable[str | None],
    *,
    people: People | None,
    now: datetime,
) -> dict[str, str]:
    """The name to show for each account id among `values` (free text is left out: it is
    shown as written). Profiles older than a day, or never fetched, are fetched in batches."""
    ids = sorted({v.strip() for v in values if v and is_account_id(v)})
    if not ids:
        return {}
    rows = {
        row.account_id: row
        for row in session.scalars(
            select(Person).where(Person.site_id == site_id, Person.account_id.in_(ids))
        )
    }
    stale = [i for i in ids if i not in rows or rows[i].fetched_at < now - PROFILE_TTL]
    if stale and people is not None:
        for start in range(0, len(stale), BATCH):
            batch = stale[start : start + BATCH]
            try:
                found = {p["accountId"]: p for p in people.users(site_id, batch)}
            except OutsideError as exc:
                log.info("names of %d accounts not refreshed: %s", len(batch), exc)
                for account_id in batch:  # a stale name stays; none yet reads "Unknown user"
                    row = rows.get(account_id)
                    if row is None:
                        row = Person(site_id=site_id, account_id=account_id, state="unknown")
                        session.add(row)
                        rows[account_id] = row
                    row.fetched_at = now - PROFILE_TTL + RETRY_AFTER_FAILURE
                continue
            for account_id in batch:
                row = rows.get(account_id)
                if row is None:
                    row = Person(site_id=site_id, account_id=account_id)
                    session.add(row)
                    rows[account_id] = row
                _fill(row, found.get(account_id), now)
        session.flush()
    return {i: _label(rows[i]) if i in rows else UNKNOWN for i in ids}


def _fill(row: Person, profile: Mapping[str, object] | None, now: datetime) -> None:
    """A profile as Jira gave it (None: Jira does not know the account)."""
    row.fetched_at = now
    if profile is None:
        row.state, row.display_name, row.avatar_url = "unknown", None, None
        return
    name = profile.get("displayName")
    avatars = profile.get("avatarUrls")
    avatar = avatars.get("48x48") if isinstance(avatars, Mapping) else None
    row.display_name = name if isinstance(name, str) else None
    row.avatar_url = avatar if isinstance(avatar, str) else None
    row.state = "active" if profile.get("active", True) is not False else "closed"


def display(value: str | None, names: Mapping[str, str]) -> str | None:
    """How `value` (an owner, an author) reads: an account's name, or the free text as is."""
    if value is None or not is_account_id(value):
        return value
    return names.get(value.strip(), UNKNOWN)


def forget_profile(session: Session, site_id: int, account_id: str) -> None:
    """Drop a cached profile (personal data reporting says the account changed or closed):
    the next reading fetches it again."""
    session.execute(
        delete(Person).where(Person.site_id == site_id, Person.account_id == account_id)
    )

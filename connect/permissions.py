"""The doors' side of `sync.permissions`: who the caller is, and the layer's refusals as answers.

Every door builds a `Caller` from what it verified (the API's admin token or Connect JWT, a
page's Connect JWT, a Forge FIT) and asks the one `Permissions` service; a refusal becomes
403 `forbidden` naming the missing permission, Jira not answering 503
`permissions_unavailable`. Both are `ApiError`s, so the JSON API answers them as JSON and the
iframe pages as a page.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager

from flask import g

from connect.errors import ApiError, ForbiddenError
from connect.services import services
from sync.db.model import KeyResult
from sync.permissions import Caller, Permissions, Refused, Unavailable


class PermissionsUnavailable(ApiError):
    """Jira could not be asked who the caller is: the write is refused, never allowed."""

    http_status = 503
    default_code = "permissions_unavailable"
    default_message = "Jira could not be asked for your permissions; nothing was changed."


def permissions() -> Permissions:
    return services().permissions


@contextmanager
def answered() -> Iterator[None]:
    """The layer's refusals as HTTP answers (403 `forbidden`, 503 `permissions_unavailable`)."""
    try:
        yield
    except Refused as refused:
        raise ForbiddenError(refused.message, code="forbidden", field=None) from refused
    except Unavailable as unavailable:
        raise PermissionsUnavailable(unavailable.message) from unavailable


def request_caller() -> Caller:
    """The caller of a request the API or a Connect page verified (`g`)."""
    account = g.get("account_id")
    return Caller(
        site_id=g.site_id,
        account_id=account if isinstance(account, str) and account else None,
        operator=bool(g.get("operator")),
    )


def require_write(team: str, caller: Caller | None = None) -> None:
    """Refuse unless the caller may write the team's OKRs, KPIs and cycle."""
    with answered():
        permissions().require_write(caller or request_caller(), team)


def require_check_in(team: str, *, owner: str | None, caller: Caller | None = None) -> None:
    """Refuse unless the caller may check in on (or link work to) a KR of the team."""
    with answered():
        permissions().require_check_in(caller or request_caller(), team, owner=owner)


def require_admin(caller: Caller | None = None) -> None:
    """Refuse unless the caller is a Jira admin (or the operator)."""
    with answered():
        permissions().require_admin(caller or request_caller())


def require_jql(jql: str | None, caller: Caller | None = None) -> str | None:
    """Refuse (422 on `jql`) a JQL key result's query reaching projects the caller may not
    browse; returns the author to store with it (None for the operator)."""
    with answered():
        return permissions().require_jql(caller or request_caller(), jql)


def confine_jql(kr: KeyResult, changed: Collection[str], caller: Caller | None = None) -> None:
    """After a KR is saved: a JQL KR whose query or kind the save set is checked against the
    caller's browsing rights (refused: nothing is stored), and the caller becomes its author."""
    if kr.kind == "jql" and {"jql", "kind"} & set(changed):
        kr.jql_author = require_jql(kr.jql, caller)

"""The `People` port on Jira Cloud: profiles by account id and the user picker's search, asked
as the app through the site's Jira installation (the tracker's client, so one signer and one
retry policy serve both).

- `GET /rest/api/3/user/bulk?accountId=..&accountId=..&maxResults=n`: one call per batch.
- `GET /rest/api/3/user/permission/search?permissions=BROWSE_PROJECTS&projectKey=&query=`:
  the users matching a query who may browse the team's project, for the owner picker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrations.atlassian.client import _call
from integrations.atlassian.tracker import JiraTracker
from integrations.errors import OutsideError, Transient

BULK_PATH = "rest/api/3/user/bulk"
SEARCH_PATH = "rest/api/3/user/permission/search"


def _profiles(answer: Any, what: str) -> list[Mapping[str, Any]]:
    values = answer.get("values") if isinstance(answer, Mapping) else answer
    if not isinstance(values, list):
        raise Transient(f"{what}: unexpected answer")
    return [v for v in values if isinstance(v, Mapping) and isinstance(v.get("accountId"), str)]


class JiraPeople:
    """Reads people from each site's Jira, with the tracker's per-site clients."""

    def __init__(self, tracker: JiraTracker) -> None:
        self.tracker = tracker

    def users(self, site_id: int, account_ids: Sequence[str]) -> Sequence[Mapping[str, Any]]:
        """The profiles of `account_ids` in one call (Jira leaves out accounts it does not know)."""
        if not account_ids:
            return []
        params: list[tuple[str, str | int]] = [("accountId", a) for a in account_ids]
        params.append(("maxResults", len(account_ids)))
        try:
            answer = _call(
                "read user profiles", self.tracker.client(site_id).get, BULK_PATH, params=params
            )
        except OutsideError as exc:
            self.tracker.forget_on_auth_error(site_id, exc)
            raise
        return _profiles(answer, "read user profiles")

    def find_users(
        self, site_id: int, *, project: str, query: str, limit: int
    ) -> Sequence[Mapping[str, Any]]:
        """Up to `limit` users matching `query` who may browse `project`."""
        params: dict[str, str | int] = {
            "permissions": "BROWSE_PROJECTS",
            "projectKey": project,
            "query": query,
            "maxResults": limit,
        }
        try:
            answer = _call(
                "search users", self.tracker.client(site_id).get, SEARCH_PATH, params=params
            )
        except OutsideError as exc:
            self.tracker.forget_on_auth_error(site_id, exc)
            raise
        return _profiles(answer, "search users")

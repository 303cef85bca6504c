"""The real `JiraPermissions` port: Jira's bulk permission check, asked as the app.

Through either door: a Connect site is called with the app's JWT, a Forge site with the app
system token of its latest Forge call (the clients of `tracker.JiraTracker`). A Connect app may
ask the permissions of any account without being a Jira admin itself (documented for
`POST /rest/api/3/permissions/check`); the project's id comes from `GET /rest/api/3/project/{key}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from atlassian import Jira

from integrations.atlassian.client import _call
from integrations.errors import OutsideError, Transient
from sync.permissions import Grants


class JiraPermissionsApi:
    """Asks a site's Jira who holds which permission (`sync.permissions` caches the answers)."""

    def __init__(self, *, clients: Callable[[int], Jira]) -> None:
        self._clients = clients

    def project_id(self, site_id: int, key: str) -> int | None:
        """The project's numeric id, None when Jira has no project with this key."""
        try:
            found = _call(
                f"project {key}", self._clients(site_id).get, f"rest/api/3/project/{quote(key)}"
            )
        except OutsideError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(found, Mapping) or not str(found.get("id", "")).isdigit():
            raise Transient(f"project {key}: unexpected answer")
        return int(found["id"])

    def check(
        self,
        site_id: int,
        *,
        account_id: str,
        global_permissions: Sequence[str],
        project_permissions: Mapping[str, Sequence[int]],
    ) -> Grants:
        """The account's grants among those asked, in one bulk permission check."""
        body: dict[str, Any] = {
            "accountId": account_id,
            "globalPermissions": list(global_permissions),
            "projectPermissions": [
                {"permissions": [permission], "projects": list(projects)}
                for permission, projects in project_permissions.items()
                if projects
            ],
        }
        answer = _call(
            "permission check",
            self._clients(site_id).post,
            "rest/api/3/permissions/check",
            data=body,
        )
        if not isinstance(answer, Mapping):
            raise Transient("permission check: unexpected answer")
        held: dict[str, set[int]] = {}
        for grant in answer.get("projectPermissions") or []:
            if isinstance(grant, Mapping) and isinstance(grant.get("permission"), str):
                ids = {int(p) for p in grant.get("projects") or [] if str(p).isdigit()}
                held.setdefault(grant["permission"], set()).update(ids)
        return Grants(
            global_permissions=frozenset(
                p for p in answer.get("globalPermissions") or [] if isinstance(p, str)
            ),
            project_permissions={p: frozenset(ids) for p, ids in held.items()},
        )

"""The real `Tracker` port: Jira Cloud's REST API, called as the app with each site's secret.

Clients come from `integrations.atlassian.client.jira_client` (every request JWT-signed with its own
`qsh`), one per site, re-built after `CLIENT_TTL_SECONDS` so a reinstall's rotated secret is
picked up. Short `Retry-After` waits are slept through by the adapter; longer ones, 429s and
5xx become `Transient(retry_after=...)` so the queued job retries later; other refusals are
`Permanent`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import requests
from atlassian import Jira

from integrations.atlassian.client import (
    RetryAfterAdapter,
    forge_jira_client,
    get_issue,
    jira_client,
    search_jql,
    set_issue_property,
)
from integrations.atlassian.forge import ForgeCredentials
from integrations.atlassian.properties import ISSUE_PROPERTY_KEY, glance_status_property_key
from integrations.errors import OutsideError, SourceMissing, Transient
from sync.tenants import Tenant

log = logging.getLogger(__name__)

CLIENT_TTL_SECONDS: Final = 300.0
INLINE_RETRY_SECONDS: Final = 2.0
AUTH_RETRY_SECONDS: Final = 3600.0
# Glance lozenge appearance per KR status (Connect issue glance `status` property).
LOZENGES: Final = {
    "on_track": ("On track", "success"),
    "at_risk": ("At risk", "moved"),
    "off_track": ("Off track", "removed"),
}

TenantLookup = Callable[[int], "tuple[Tenant, str | None] | None"]
ForgeLookup = Callable[[int], "ForgeCredentials | None"]


@dataclass(frozen=True, slots=True)
class _Client:
    jira: Jira
    loaded_at: float


def glance_status(document: Mapping[str, Any]) -> dict[str, Any]:
    """The glance status property: a lozenge for the most at-risk linked KR."""
    label, kind = LOZENGES.get(str(document.get("status")), ("No key result", "default"))
    count = len(document.get("krs") or ())
    if count > 1:
        label = f"{label} ({count} KRs)"
    return {"type": "lozenge", "value": {"label": label, "type": kind}}


def reauthorise_later(exc: OutsideError) -> OutsideError:
    """401/403: our access is gone until a reinstall brings a new secret; look again in an hour."""
    if exc.status in (401, 403):
        return Transient(exc.message, status=exc.status, retry_after=AUTH_RETRY_SECONDS)
    return exc


class JiraTracker:
    """Reads issues and writes our issue properties on each site's Jira.

    A site reached through the Connect door is called as the app (JWT per request); a site
    reached only through the Forge door, with the app system token from its latest Forge call.
    """

    def __init__(
        self, *, tenants: TenantLookup, app_key: str, forge: ForgeLookup | None = None
    ) -> None:
        self.tenants = tenants
        self.forge = forge
        self.app_key = app_key
        self._clients: dict[int, _Client] = {}
        self._lock = threading.Lock()

    def _jira(self, site_id: int) -> Jira:
        client = self._clients.get(site_id)
        if client is not None and time.monotonic() - client.loaded_at < CLIENT_TTL_SECONDS:
            return client.jira
        found = self.tenants(site_id)
        if found is None or not found[1]:
            credentials = self.forge(site_id) if self.forge else None
            if credentials is not None:
                # Not cached: Forge sends a fresh system token with each call it makes.
                return forge_jira_client(
                    api_base_url=credentials.api_base_url,
                    system_token=credentials.token,
                    adapter=RetryAfterAdapter(max_attempts=2, max_retry_after=INLINE_RETRY_SECONDS),
                )
            raise SourceMissing(
                "this site has no Jira installation: install okrlink on the site's Jira "
                "(Forge or Connect) so that this KR reads its issues"
            )
        tenant, secret = found
        adapter = RetryAfterAdapter(max_attempts=2, max_retry_after=INLINE_RETRY_SECONDS)
        jira = jira_client(
            base_url=tenant.base_url,
            app_key=self.app_key,
            shared_secret=secret or "",
            session=requests.Session(),
            adapter=adapter,
        )
        with self._lock:
            self._clients[site_id] = _Client(jira, time.monotonic())
        return jira

    def client(self, site_id: int) -> Jira:
        """The site's Jira client, as the app (Connect) or with its Forge system token; raises
        `SourceMissing` when the site has no Jira to call."""
        return self._jira(site_id)

    def forget_on_auth_error(self, site_id: int, exc: OutsideError) -> None:
        """A 401 or 403 drops the site's client: the next call loads its secret again."""
        self._forget_on_auth_error(site_id, exc)

    def _forget_on_auth_error(self, site_id: int, exc: OutsideError) -> None:
        if exc.status in (401, 403):
            with self._lock:
                self._clients.pop(site_id, None)

    def set_issue_property(self, site_id: int, issue_key: str, value: Mapping[str, Any]) -> None:
        """Write the `okrlink` property, then the glance status; a deleted issue is skipped."""
        jira = self._jira(site_id)
        writes = (
            (ISSUE_PROPERTY_KEY, dict(value)),
            (glance_status_property_key(self.app_key), glance_status(value)),
        )
        for key, document in writes:
            try:
                set_issue_property(jira, issue_key, key, document)
            except OutsideError as exc:
                if exc.status == 404:
                    log.info("issue %s is gone; its property was not written", issue_key)
                    return
                self._forget_on_auth_error(site_id, exc)
                raise reauthorise_later(exc)  # noqa: B904 (the same error, or one caused by it)

    def fetch_issue(
        self, site_id: int, issue_key: str, fields: Sequence[str] = ("*navigable",)
    ) -> Mapping[str, Any] | None:
        """The issue from `/rest/api/3/issue/{key}`, or None when it does not exist."""
        try:
            return get_issue(self._jira(site_id), issue_key, fields)
        except OutsideError as exc:
            if exc.status == 404:
                return None
            self._forget_on_auth_error(site_id, exc)
            raise reauthorise_later(exc)  # noqa: B904 (the same error, or one caused by it)

    def search(
        self, site_id: int, jql: str, *, fields: Sequence[str]
    ) -> Iterator[Mapping[str, Any]]:
        """Every issue matching the JQL, paged with `nextPageToken` until `isLast`."""
        try:
            yield from search_jql(self._jira(site_id), jql, fields=fields)
        except OutsideError as exc:
            self._forget_on_auth_error(site_id, exc)
            raise reauthorise_later(exc)  # noqa: B904 (the same error, or one caused by it)

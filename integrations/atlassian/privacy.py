"""Atlassian's personal data reporting API: `POST {api}/app/report-accounts/`.

The body lists at most 90 accounts, `{"accounts": [{"accountId", "updatedAt"}]}` (`updatedAt`
an ISO 8601 instant: when the app last stored data about the account). Atlassian answers 204
when no account needs action, or 200 with `{"accounts": [{"accountId", "status"}]}` where status
is `closed` (erase the account's personal data) or `updated` (refresh or drop what is cached),
and 429 with `Retry-After` when called too often.

Authentication, as Atlassian documents it per kind of app: a Connect app signs the call with a
JWT under one installation's shared secret (`iss` the app key, `qsh` over this method and path);
a Forge app sends its app system token as a bearer token. A site reached through both doors
reports through Connect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any, Final

import requests

from integrations.atlassian.client import (
    REQUEST_TIMEOUT,
    BearerToken,
    ConnectSigner,
    RetryAfterAdapter,
    retry_after_seconds,
)
from integrations.atlassian.forge import ForgeCredentials
from integrations.errors import Transient, for_status
from sync.accounts import MAX_ACCOUNTS_PER_CALL, AccountStatus, StoredAccount
from sync.errors import SourceMissing
from sync.tenants import Tenant

REPORT_PATH: Final = "/app/report-accounts/"
STATUSES: Final = frozenset({"closed", "updated"})
MAX_RETRY_AFTER_SECONDS: Final = 60.0
"""A `Retry-After` up to this is waited through; a longer one ends the run (`RateLimited`)."""

TenantLookup = Callable[[int], "tuple[Tenant, str | None] | None"]
ForgeLookup = Callable[[int], "ForgeCredentials | None"]


def body_of(accounts: Sequence[StoredAccount]) -> dict[str, Any]:
    """The request body, `updatedAt` in UTC with milliseconds and a `Z`."""
    return {
        "accounts": [
            {
                "accountId": account.account_id,
                "updatedAt": account.updated_at.astimezone(UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
            }
            for account in accounts
        ]
    }


def statuses_of(answer: Any) -> list[AccountStatus]:
    """The accounts of a 200 answer; anything not shaped as documented is a `Transient`."""
    accounts = answer.get("accounts") if isinstance(answer, dict) else None
    if not isinstance(accounts, list):
        raise Transient("personal data reporting: the answer has no accounts list")
    found = []
    for item in accounts:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("accountId"), str)
            or item.get("status") not in STATUSES
        ):
            raise Transient("personal data reporting: an account of the answer is malformed")
        found.append(AccountStatus(account_id=item["accountId"], status=item["status"]))
    return found


class AtlassianPersonalData:
    """`sync.ports.PersonalData` over HTTP, authenticated through the site's installation."""

    def __init__(
        self,
        *,
        api_url: str,
        app_key: str,
        tenants: TenantLookup,
        forge: ForgeLookup | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.app_key = app_key
        self.tenants = tenants
        self.forge = forge
        self._sleep = sleep
        self._session = session

    def _authenticated(self, site_id: int) -> requests.Session:
        session = self._session()
        session.mount(
            self.api_url + "/",
            RetryAfterAdapter(max_retry_after=MAX_RETRY_AFTER_SECONDS, sleep=self._sleep),
        )
        found = self.tenants(site_id)
        if found is not None and found[1]:
            session.auth = ConnectSigner(
                app_key=self.app_key, shared_secret=found[1], product_base_url=self.api_url
            )
            return session
        credentials = self.forge(site_id) if self.forge else None
        if credentials is not None:
            session.auth = BearerToken(credentials.token)
            return session
        session.close()
        raise SourceMissing(
            "the site has no enabled Connect installation and no fresh Forge token to report "
            "personal data through"
        )

    def report_accounts(
        self, site_id: int, accounts: Sequence[StoredAccount]
    ) -> list[AccountStatus]:
        """One call for at most 90 accounts; the accounts Atlassian says need action."""
        if not accounts:
            return []
        if len(accounts) > MAX_ACCOUNTS_PER_CALL:
            raise ValueError(f"at most {MAX_ACCOUNTS_PER_CALL} accounts a call")
        with self._authenticated(site_id) as session:
            try:
                response = session.post(
                    self.api_url + REPORT_PATH, json=body_of(accounts), timeout=REQUEST_TIMEOUT
                )
            except requests.RequestException as exc:
                raise Transient(f"personal data reporting: {exc}") from exc
            if response.status_code == 204:
                return []
            if response.status_code != 200:
                retry_after = retry_after_seconds(
                    response.headers.get("Retry-After"), now=time.time()
                )
                raise for_status(
                    f"personal data reporting answered {response.status_code}",
                    status=response.status_code,
                    retry_after=retry_after,
                )
            try:
                answer = response.json()
            except ValueError as exc:
                raise Transient("personal data reporting: the answer is not JSON") from exc
        return statuses_of(answer)

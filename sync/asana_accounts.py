"""A site's Asana workspace: its token (encrypted at rest, like shared secrets), its own user,
and the project webhooks okrlink holds there with their handshake secrets (encrypted too)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import AsanaConnection, AsanaWebhook
from sync.db.store import Store

CACHE_SECONDS: Final = 5.0
REFRESH_BEFORE: Final = timedelta(minutes=2)

Encrypt = Callable[[str], str]
Decrypt = Callable[["str | None"], "str | None"]
Refresh = Callable[[str], "tuple[str, str | None, datetime | None]"]
"""Trades an OAuth refresh token for (access token, refresh token, expiry)."""


@dataclass(frozen=True, slots=True)
class AsanaAccount:
    """What okrlink acts with on a site's workspace, decrypted."""

    site_id: int
    token: str
    user_gid: str | None
    workspace_gid: str | None


def save_connection(
    session: Session,
    site_id: int,
    *,
    token: str,
    encrypt: Encrypt,
    auth: str = "token",
    user_gid: str = "",
    workspace_gid: str | None = None,
    refresh_token: str | None = None,
    expires_at: datetime | None = None,
) -> AsanaConnection:
    """Connect (or re-connect) the site to a workspace; tokens are stored encrypted only."""
    row = session.scalar(select(AsanaConnection).where(AsanaConnection.site_id == site_id))
    if row is None:
        row = AsanaConnection(site_id=site_id, access_token="")
        session.add(row)
    row.auth = auth
    row.access_token = encrypt(token)
    row.refresh_token = encrypt(refresh_token) if refresh_token else None
    row.expires_at = expires_at
    row.user_gid = user_gid
    row.workspace_gid = workspace_gid
    session.flush()
    return row


def new_subscription(session: Session, site_id: int, project_gid: str) -> AsanaWebhook:
    """A fresh subscription for a project (replacing any older one): its id names the route
    Asana will call, so the handshake can only land on a subscription okrlink just opened."""
    old = session.scalar(
        select(AsanaWebhook).where(
            AsanaWebhook.site_id == site_id, AsanaWebhook.project_gid == project_gid
        )
    )
    if old is not None:
        session.delete(old)
        session.flush()
    row = AsanaWebhook(
        site_id=site_id,
        project_gid=project_gid,
        subscription=secrets.token_urlsafe(24),
        active=False,
    )
    session.add(row)
    session.flush()
    return row


def subscription(session: Session, subscription_id: str) -> AsanaWebhook | None:
    return session.scalar(select(AsanaWebhook).where(AsanaWebhook.subscription == subscription_id))


def webhooks_of(session: Session, site_id: int) -> list[AsanaWebhook]:
    return list(
        session.scalars(
            select(AsanaWebhook).where(AsanaWebhook.site_id == site_id).order_by(AsanaWebhook.id)
        )
    )


class AsanaAccounts:
    """Decrypted workspace credentials per site, cached briefly in-process."""

    def __init__(
        self,
        *,
        store: Store,
        decrypt: Decrypt,
        encrypt: Encrypt | None = None,
        refresh: Refresh | None = None,
    ) -> None:
        self.store = store
        self.decrypt = decrypt
        self.encrypt = encrypt
        self.refresh = refresh
        self._cache: dict[int, tuple[float, AsanaAccount | None]] = {}
        self._lock = threading.Lock()

    def account(self, site_id: int) -> AsanaAccount | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(site_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self.store.session() as session:
            row = session.scalar(select(AsanaConnection).where(AsanaConnection.site_id == site_id))
            if row is not None and self._expiring(row):
                self._refresh(row)
            token = self.decrypt(row.access_token) if row is not None else None
            found = (
                AsanaAccount(site_id, token, row.user_gid or None, row.workspace_gid)
                if row is not None and token
                else None
            )
        with self._lock:
            self._cache[site_id] = (now, found)
        return found

    def _expiring(self, row: AsanaConnection) -> bool:
        soon = datetime.now(UTC) + REFRESH_BEFORE
        return row.auth == "oauth" and row.expires_at is not None and row.expires_at <= soon

    def _refresh(self, row: AsanaConnection) -> None:
        """Trade the refresh token for a new access token (OAuth tokens last an hour)."""
        refresh_token = self.decrypt(row.refresh_token)
        if self.refresh is None or self.encrypt is None or not refresh_token:
            return
        token, new_refresh, expires_at = self.refresh(refresh_token)
        row.access_token = self.encrypt(token)
        if new_refresh:
            row.refresh_token = self.encrypt(new_refresh)
        row.expires_at = expires_at

    def forget(self, site_id: int) -> None:
        with self._lock:
            self._cache.pop(site_id, None)

    def connected_sites(self) -> list[int]:
        with self.store.session() as session:
            return list(session.scalars(select(AsanaConnection.site_id)))

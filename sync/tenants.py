"""Installations and sites: clientKey, baseUrl, shared secret encrypted at rest.

Jira and Confluence install separately (two clientKeys) but belong to one Atlassian site: they
are grouped by host (Confluence's base URL ends in `/wiki`) or by cloud id, so the Confluence
panel shows the OKRs that Jira work moves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.db.model import Installation, Site, utcnow
from sync.db.store import Store, site_host
from sync.keys import AppKeys

log = logging.getLogger(__name__)

SECRET_CACHE_SECONDS = 5.0
UNKNOWN_CACHE_SECONDS = 10.0
"""How long a client key with no installation is answered unknown without a database read: a
token with a made-up `iss` otherwise cost two reads (the cached try, then the fresh retry)."""
MAX_UNKNOWN = 4096


@dataclass(frozen=True, slots=True)
class Tenant:
    """A verified installation, as views and jobs need it."""

    installation_id: int
    client_key: str
    site_id: int
    product: str
    base_url: str
    door: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class _Cached:
    tenant: Tenant
    secret: str | None
    loaded_at: float


class Tenants:
    """Installation lookups with decrypted secrets cached briefly in-process.

    The cache lives `SECRET_CACHE_SECONDS`; a verification that fails with a cached secret
    is retried once with a fresh one (`refresh`), so a reinstall's new secret works at once.
    A client key with no installation is remembered as unknown for `UNKNOWN_CACHE_SECONDS`
    (fresh lookups included); installing it (`forget`) ends that at once in this process.
    """

    def __init__(
        self, *, store: Store, keys: AppKeys, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.keys = keys
        self._cache: dict[str, _Cached] = {}
        self._unknown: dict[str, float] = {}  # client key -> when no installation was found
        self._clock = clock
        self._lock = threading.Lock()

    def encrypt(self, secret: str) -> str:
        """`secret` encrypted under the first `OKRLINK_SECRET_KEY` key."""
        return self.keys.encrypt(secret)

    def decrypt(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            return self.keys.decrypt(token)
        except InvalidToken:
            log.error("a stored secret does not decrypt with any key of OKRLINK_SECRET_KEY")
            return None

    def _load(self, client_key: str) -> _Cached | None:
        now = self._clock()
        with self._lock:
            unknown_at = self._unknown.get(client_key)
        if unknown_at is not None and now - unknown_at < UNKNOWN_CACHE_SECONDS:
            return None
        with self.store.session() as session:
            row = session.scalar(select(Installation).where(Installation.client_key == client_key))
            if row is None:
                with self._lock:
                    while len(self._unknown) >= MAX_UNKNOWN:
                        self._unknown.pop(next(iter(self._unknown)))
                    self._unknown.pop(client_key, None)
                    self._unknown[client_key] = now
                return None
            cached = _Cached(tenant_of(row), self.decrypt(row.shared_secret), self._clock())
        with self._lock:
            self._cache[client_key] = cached
        return cached

    # `tenant` and `secret_for` run on every verified request: each reads the cache itself
    # rather than through a shared method, one Python call fewer (see `connect/http/panel.py`).

    def tenant(self, client_key: str, *, fresh: bool = False) -> Tenant | None:
        cached = None if fresh else self._cache.get(client_key)
        if cached is None or self._clock() - cached.loaded_at > SECRET_CACHE_SECONDS:
            cached = self._load(client_key)
        return cached.tenant if cached else None

    def secret_for(self, client_key: str, *, fresh: bool = False) -> str | None:
        """The shared secret of an enabled installation; None when unknown or disabled."""
        cached = None if fresh else self._cache.get(client_key)
        if cached is None or self._clock() - cached.loaded_at > SECRET_CACHE_SECONDS:
            cached = self._load(client_key)
        if cached is None or not cached.tenant.enabled:
            return None
        return cached.secret

    def forget(self, client_key: str) -> None:
        with self._lock:
            self._cache.pop(client_key, None)
            self._unknown.pop(client_key, None)

    def for_site(self, site_id: int, product: str = "jira") -> tuple[Tenant, str | None] | None:
        """The enabled installation of a product on a site, with its secret (for outbound)."""
        with self.store.session() as session:
            row = session.scalar(
                select(Installation)
                .where(
                    Installation.site_id == site_id,
                    Installation.product == product,
                    Installation.enabled.is_(True),
                )
                .order_by(Installation.updated_at.desc())
                .limit(1)
            )
            if row is None:
                return None
            return tenant_of(row), self.decrypt(row.shared_secret)


def tenant_of(row: Installation) -> Tenant:
    return Tenant(
        installation_id=row.id,
        client_key=row.client_key,
        site_id=row.site_id,
        product=row.product,
        base_url=row.base_url,
        door=row.door,
        enabled=row.enabled,
    )


GATEWAY_HOST = "api.atlassian.com"
"""Atlassian's API gateway: the host of every Forge `apiBaseUrl`, whichever customer's, so it
never names a site."""


def site_for(session: Session, *, base_url: str, cloud_id: str | None) -> Site:
    """The site an installation belongs to: the one with its cloud id, else (a site that knows
    no cloud id yet, e.g. installed through Connect) the one on its host, else a new one.

    A site found by cloud id is the only match; a site holding another cloud id is never
    joined by host, and the gateway's host never matches (two Forge sites would be one).
    """
    host: str | None = site_host(base_url)
    if host == GATEWAY_HOST:
        host = None
    site = None
    if cloud_id:
        site = session.scalar(select(Site).where(Site.cloud_id == cloud_id))
    if site is None and host is not None:
        site = session.scalar(select(Site).where(Site.host == host))
        if site is not None and cloud_id and site.cloud_id not in (None, cloud_id):
            site, host = None, None  # another cloud's site: this one is keyed by its cloud id
    if site is None:
        if host is None and not cloud_id:
            raise ValueError("an installation needs a cloud id or a site URL")
        site = Site(name=host or f"cloud:{cloud_id}", host=host, cloud_id=cloud_id)
        session.add(site)
        session.flush()
    elif cloud_id and site.cloud_id is None:
        site.cloud_id = cloud_id
    return site


def record_install(
    session: Session,
    *,
    client_key: str,
    base_url: str,
    product: str,
    shared_secret: str | None,
    encrypt: Callable[[str], str],
    door: str = "connect",
    cloud_id: str | None = None,
) -> Installation:
    """Create or update an installation; a reinstall rotates its secret and re-enables it."""
    site = site_for(session, base_url=base_url, cloud_id=cloud_id)
    row = session.scalar(select(Installation).where(Installation.client_key == client_key))
    if row is None:
        row = Installation(
            client_key=client_key, site_id=site.id, product=product, door=door, base_url=base_url
        )
        session.add(row)
    row.site_id, row.product, row.base_url, row.door = site.id, product, base_url, door
    if shared_secret is not None:
        row.shared_secret = encrypt(shared_secret)
    row.enabled, row.uninstalled_at = True, None
    session.flush()
    return row


def record_uninstall(session: Session, client_key: str) -> Installation | None:
    """Disable the installation and stop its sync; its OKRs stay until an explicit purge."""
    row = session.scalar(select(Installation).where(Installation.client_key == client_key))
    if row is not None:
        row.enabled, row.uninstalled_at = False, utcnow()
    return row


def set_enabled(session: Session, client_key: str, enabled: bool) -> Installation | None:
    row = session.scalar(select(Installation).where(Installation.client_key == client_key))
    if row is not None:
        row.enabled = enabled
    return row


def purge(session: Session, client_key: str) -> bool:
    """Delete an installation; when it was its site's last one, the site and its OKRs too."""
    row = session.scalar(select(Installation).where(Installation.client_key == client_key))
    if row is None:
        return False
    site_id = row.site_id
    session.delete(row)
    session.flush()
    if session.scalar(select(Installation.id).where(Installation.site_id == site_id)) is None:
        session.execute(delete(Site).where(Site.id == site_id))
    return True


APP_ACCOUNT_TTL_SECONDS = 60.0


class AppAccounts:
    """The app's own Jira account per installation (to drop our echoes), cached briefly."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def get(self, client_key: str) -> str | None:
        cached = self._cache.get(client_key)
        if cached is not None and time.monotonic() - cached[1] < APP_ACCOUNT_TTL_SECONDS:
            return cached[0]
        with self.store.session() as session:
            account = session.scalar(
                select(Installation.app_account_id).where(Installation.client_key == client_key)
            )
        with self._lock:
            self._cache[client_key] = (account, time.monotonic())
        return account

    def forget(self, client_key: str) -> None:
        """Drop the cached account (call when an installation's app account is learnt)."""
        with self._lock:
            self._cache.pop(client_key, None)

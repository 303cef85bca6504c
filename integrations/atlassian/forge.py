"""Forge app system tokens: what an outbound Jira or Confluence call through Forge needs.

The Forge door receives them (`connect/doors/forge/routes.py`); the Jira tracker spends them
(`integrations/atlassian/tracker.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ForgeCredentials:
    """What an outbound product call needs: the API base URL and the app system token."""

    api_base_url: str
    token: str
    received_at: float


class ForgeTokens:
    """The latest app system token per site and product, encrypted, in process memory only.

    Forge sends a fresh `x-forge-oauth-system` token with every call and each lives for minutes,
    so it is not worth a table: after a restart the next trigger or panel call brings a new one.
    Tokens are kept Fernet-encrypted (`Tenants.encrypt`) so a memory dump shows no bearer token.
    """

    def __init__(
        self,
        *,
        encrypt: Callable[[str], str],
        decrypt: Callable[[str | None], str | None],
        max_age_seconds: float = 50 * 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._encrypt, self._decrypt = encrypt, decrypt
        self._max_age = max_age_seconds
        self._clock = clock
        self._tokens: dict[tuple[int, str], tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    def put(self, *, site_id: int, product: str, token: str, api_base_url: str) -> None:
        """Keep `token` as the site's current one for `product`."""
        entry = (self._encrypt(token), api_base_url, self._clock())
        with self._lock:
            self._tokens[(site_id, product)] = entry

    def get(self, site_id: int, product: str = "jira") -> ForgeCredentials | None:
        """The site's latest token for `product`, or None when none is fresh enough."""
        with self._lock:
            entry = self._tokens.get((site_id, product))
        if entry is None or self._clock() - entry[2] > self._max_age:
            return None
        token = self._decrypt(entry[0])
        return None if token is None else ForgeCredentials(entry[1], token, entry[2])

    def __len__(self) -> int:
        """How many site and product tokens are held."""
        with self._lock:
            return len(self._tokens)

"""Rendered panel HTML, cached in-process by (site, parameters, data version, locale).

Pages are rendered once with a placeholder CSP nonce that only this process knows; each
response swaps in a fresh nonce, so a cached page never reuses one. The ETag names the cache
key, and the data version inside it changes with any KR change, so a stale tag never matches.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class CachedPage:
    """A rendered page with its nonce placeholder, and its ETag."""

    html: str
    etag: str

    def with_nonce(self, placeholder: str, nonce: str) -> str:
        """The page with its placeholder nonce replaced by `nonce`."""
        return self.html.replace(placeholder, nonce)


class PageCache:
    """A bounded LRU of rendered pages, safe across threads."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.placeholder = secrets.token_hex(16)
        self._pages: OrderedDict[Hashable, CachedPage] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def etag_for(key: Hashable) -> str:
        """A weak ETag naming the key (the body differs between responses by its nonce)."""
        digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]
        return f'W/"{digest}"'

    def get_or_render(self, key: Hashable, render: Callable[[str], str]) -> CachedPage:
        """The page for `key`; `render(nonce_placeholder)` builds it on a miss."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                self.hits += 1
                return page
        page = CachedPage(html=render(self.placeholder), etag=self.etag_for(key))
        with self._lock:
            self.misses += 1
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)
        return page

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._pages.clear()

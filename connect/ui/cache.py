"""Rendered panel HTML, cached in-process by (site, parameters, data version, locale).

A page's bytes are the same on every load (its CSP allows our inline style and script by hash,
`connect/ui/assets.py`), so the cache keeps them ready to send, plain and gzipped. The ETag names
the cache key, and the data version inside it changes with any KR change, so a stale tag never
matches.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache

MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class CachedPage:
    """A rendered page, as bytes and gzipped once, and its ETag."""

    body: bytes
    gzipped: bytes
    etag: str

    @classmethod
    def of(cls, html: str, *, etag: str) -> CachedPage:
        body = html.encode("utf-8")
        # mtime=0: the same page always compresses to the same bytes.
        return cls(body=body, gzipped=gzip.compress(body, compresslevel=9, mtime=0), etag=etag)


class PageCache:
    """A bounded LRU of rendered pages, safe across threads."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._pages: OrderedDict[Hashable, CachedPage] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    @lru_cache(maxsize=MAX_ENTRIES)
    def etag_for(key: Hashable) -> str:
        """A weak ETag naming the key (the body differs between responses by its nonce)."""
        digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]
        return f'W/"{digest}"'

    def get(self, key: Hashable) -> CachedPage | None:
        """The page for `key` if it is cached."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                self.hits += 1
            return page

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> CachedPage:
        """The page for `key`; `render()` builds it on a miss."""
        page = self.get(key)
        if page is not None:
            return page
        page = CachedPage.of(render(), etag=self.etag_for(key))
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

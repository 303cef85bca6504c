"""Rendered panel HTML, cached in-process by (site, parameters, data version, locale).

Pages are rendered once with a placeholder CSP nonce that only this process knows; each
response swaps in a fresh nonce, so a cached page never reuses one. The ETag names the cache
key, and the data version inside it changes with any KR change, so a stale tag never matches.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache

MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class CachedPage:
    """A rendered page, encoded and cut at its nonce placeholders, and its ETag.

    The pieces are also kept gzip-compressed, each as deflate blocks that end on a byte
    boundary, so a response can be gzipped with its fresh nonce without compressing anything
    per request: the nonce goes between them as a stored (uncompressed) block. Why by hand:
    the page is 29 KB and 4 KB gzipped, and compressing it on every load would cost more
    than serving it.
    """

    pieces: tuple[bytes, ...]
    deflated: tuple[bytes, ...]
    etag: str

    @classmethod
    def of(cls, html: str, *, placeholder: str, etag: str) -> CachedPage:
        pieces = tuple(html.encode("utf-8").split(placeholder.encode("ascii")))
        return cls(pieces=pieces, deflated=tuple(_deflate(piece) for piece in pieces), etag=etag)

    def with_nonce(self, nonce: str) -> bytes:
        """The page's bytes with `nonce` wherever the placeholder was."""
        return nonce.encode("ascii").join(self.pieces)

    def gzipped_with_nonce(self, nonce: str) -> bytes:
        """`with_nonce(nonce)` as a gzip member (RFC 1952), built from the deflated pieces."""
        raw = nonce.encode("ascii")
        stored = b"\x00" + struct.pack("<HH", len(raw), len(raw) ^ 0xFFFF) + raw
        crc, size = 0, 0
        for index, piece in enumerate(self.pieces):
            if index:
                crc, size = zlib.crc32(raw, crc), size + len(raw)
            crc, size = zlib.crc32(piece, crc), size + len(piece)
        return b"".join((
            GZIP_HEADER,
            stored.join(self.deflated),
            FINAL_EMPTY_BLOCK,
            struct.pack("<II", crc, size & 0xFFFFFFFF),
        ))  # fmt: skip


GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime
FINAL_EMPTY_BLOCK = b"\x01\x00\x00\xff\xff"  # a last, empty stored block


def _deflate(data: bytes) -> bytes:
    """Raw deflate blocks of `data`, none final, ending on a byte boundary (a full flush)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


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

    def get_or_render(self, key: Hashable, render: Callable[[str], str]) -> CachedPage:
        """The page for `key`; `render(nonce_placeholder)` builds it on a miss."""
        page = self.get(key)
        if page is not None:
            return page
        page = CachedPage.of(render(self.placeholder), placeholder=self.placeholder,
                             etag=self.etag_for(key))
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

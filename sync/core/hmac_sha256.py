"""HMAC-SHA256 with a key prepared once, on CPython's own compact SHA-256.

Why by hand (RFC 2104, five lines): the standard library's `hmac` runs on OpenSSL 3, whose
layers (EVP, providers, locks) are a lot of machine code for a 400-byte message. In the server
every verified panel load runs with the core's caches cold (the HTTP threads, the load
generator and the other worker ran in between), and there OpenSSL's HMAC cost 5.4-5.8 µs a
load (`perf_counter_ns` around it, `okrlink web`, 2026-12-08). CPython's built-in SHA-256 is
one small C file: with 2 MB of cache thrashed before each call, an HMAC took 2.0 µs on it,
against 10.1 (a keyed `hmac.HMAC` copied) and 15.1 (`hmac.digest`) on OpenSSL; in a warm loop
all three take 1.3-1.7 µs. `tests/sync/core/test_hmac_sha256.py` checks it against `hmac`.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import _Hash


def _compact_sha256() -> Callable[[bytes], _Hash]:
    """CPython's built-in SHA-256 (module `_sha2` from 3.12, `_sha256` before); elsewhere
    OpenSSL's, as `hmac` would use."""
    for name in ("_sha2", "_sha256"):
        try:
            sha256: Callable[[bytes], _Hash] = importlib.import_module(name).sha256
        except (ImportError, AttributeError):
            continue
        return sha256
    return hashlib.sha256


SHA256 = _compact_sha256()
BLOCK_SIZE = 64
"""SHA-256's block: longer keys are hashed first, shorter ones padded with zeros."""

_INNER = bytes(byte ^ 0x36 for byte in range(256))
_OUTER = bytes(byte ^ 0x5C for byte in range(256))


class KeyedSha256:
    """A key's HMAC-SHA256, its inner and outer hash states computed once."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, *, sha256: Callable[[bytes], _Hash] = SHA256) -> None:
        if len(key) > BLOCK_SIZE:
            key = sha256(key).digest()
        key = key.ljust(BLOCK_SIZE, b"\0")
        self._inner = sha256(key.translate(_INNER))
        self._outer = sha256(key.translate(_OUTER))

    def digest(self, message: bytes) -> bytes:
        """HMAC-SHA256(key, message): two copies of the prepared states, two updates."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

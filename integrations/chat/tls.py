"""The TLS context outbound chat posts use: the CA bundle the environment names, else the system's.

`requests` reads `REQUESTS_CA_BUNDLE` itself; slack_sdk posts through urllib, which reads
neither variable, so both clients get this context (or its file) explicitly.
"""

from __future__ import annotations

import functools
import os
import ssl


def ca_bundle() -> str | None:
    """`REQUESTS_CA_BUNDLE`, then `SSL_CERT_FILE`; None means the system store."""
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def ssl_context() -> ssl.SSLContext:
    """A verifying client context trusting `ca_bundle()` (or the system store)."""
    return _context(ca_bundle())


@functools.lru_cache(maxsize=4)
def _context(cafile: str | None) -> ssl.SSLContext:
    # Loading a CA store costs tens of milliseconds; a context is safe to share across posts.
    return ssl.create_default_context(cafile=cafile)

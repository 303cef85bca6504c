"""GitHub webhook signatures: `X-Hub-Signature-256` HMAC over the raw request body."""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def sign(*, secret: str | bytes, body: bytes) -> str:
    """Return the `X-Hub-Signature-256` header value GitHub would send for this body."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return _PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(*, secret: str | bytes, body: bytes, header: str | None) -> bool:
    """True when `header` is a valid `sha256=<hex>` HMAC of the raw `body` under `secret`.

    A missing, malformed or legacy (`sha1=`) header is False; so is an empty secret, since an
    HMAC under an empty key proves nothing about the sender.
    """
    if not secret or not header or not header.startswith(_PREFIX):
        return False
    received = header[len(_PREFIX) :]
    if not _HEX_DIGEST.fullmatch(received):
        return False
    expected = sign(secret=secret, body=body)[len(_PREFIX) :]
    return hmac.compare_digest(expected, received.lower())

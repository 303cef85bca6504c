"""Asana webhook signatures: `X-Hook-Signature`, the hex HMAC-SHA256 of the raw body under the
secret Asana sent in the `X-Hook-Secret` handshake."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

SECRET_HEADER: Final = "X-Hook-Secret"  # noqa: S105 (a header name)
SIGNATURE_HEADER: Final = "X-Hook-Signature"
_HEX_DIGEST: Final = re.compile(r"[0-9a-fA-F]{64}")


def sign(*, secret: str, body: bytes) -> str:
    """The `X-Hook-Signature` Asana sends for this body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(*, secret: str | None, body: bytes, header: str | None) -> bool:
    """True when `header` is the HMAC of `body` under `secret` (compared in constant time)."""
    if not secret or not header or not _HEX_DIGEST.fullmatch(header.strip()):
        return False
    return hmac.compare_digest(sign(secret=secret, body=body), header.strip().lower())

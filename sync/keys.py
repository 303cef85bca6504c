"""The app's keys: `OKRLINK_SECRET_KEY`, one or several Fernet keys, newest first.

The first key encrypts every secret stored at rest; every key decrypts (`MultiFernet`), so an
operator rotates by putting a new key in front, running `okrlink secrets rotate`, then dropping
the old one. The keys that sign tokens (CSRF forms, the Asana OAuth state, the demo's
development tokens) are derived from the first key with HKDF, one label each: a token of one
kind is never valid as another, and none of them is the encryption key itself.

Outside development the key is required: a key generated on the fly would sit beside the data
it protects (useless on SQLite), and each replica would make its own. With `OKRLINK_DEV=1`
only, a missing key is generated once into the data directory (mode 0600) for the demo.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

SETTING: Final = "OKRLINK_SECRET_KEY"
DEV_KEY_FILE: Final = "secret.key"
DERIVED_KEY_BYTES: Final = 32

# HKDF labels (`info`): one per use of a derived key. Changing one invalidates its tokens.
CSRF_LABEL: Final = b"okrlink/csrf-form-token/v1"
OAUTH_STATE_LABEL: Final = b"okrlink/asana-oauth-state/v1"
DEV_TOKEN_LABEL: Final = b"okrlink/dev-token/v1"

GENERATE_HINT: Final = (
    "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SecretKeyError(ValueError):
    """`OKRLINK_SECRET_KEY` is missing (outside development) or holds something not a Fernet key.

    The message names the setting and says how to make a key; it never repeats the value.
    """


@dataclass(frozen=True, slots=True)
class AppKeys:
    """The Fernet keys (first encrypts, all decrypt) and the material the signing keys come from."""

    fernet: MultiFernet
    primary: Fernet
    count: int
    _material: bytes

    def derive(self, label: bytes) -> bytes:
        """A 32-byte key for one purpose, HKDF-SHA256 of the first key under `label`."""
        return HKDF(
            algorithm=hashes.SHA256(), length=DERIVED_KEY_BYTES, salt=None, info=label
        ).derive(self._material)

    def encrypt(self, plaintext: str) -> str:
        return self.fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plaintext of `token`; raises `InvalidToken` when no key opens it."""
        return self.fernet.decrypt(token.encode()).decode()

    def rotated(self, token: str) -> str | None:
        """`token` re-encrypted under the first key; None when it already is.

        Raises `InvalidToken` when no key opens it (the caller keeps the old key then).
        """
        try:
            self.primary.decrypt(token.encode())
        except InvalidToken:
            return self.fernet.rotate(token.encode()).decode()
        return None


def parse_keys(value: str) -> list[bytes]:
    """The keys of a `OKRLINK_SECRET_KEY` value, in order; empty when none is set."""
    keys = [part.strip().encode() for part in value.split(",") if part.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            which = f"key {position} of {len(keys)}" if len(keys) > 1 else "the key"
            raise SecretKeyError(
                f"{SETTING}: {which} is not a Fernet key (32 url-safe base64-encoded bytes); "
                f"make one with: {GENERATE_HINT}"
            )
    return keys


def load_keys(secret_key: str, *, data_dir: Path, dev: bool) -> AppKeys:
    """The app's keys from `OKRLINK_SECRET_KEY`; in development only, a generated key file."""
    keys = parse_keys(secret_key)
    if not keys:
        if not dev:
            raise SecretKeyError(
                f"{SETTING} is not set: okrlink refuses to start without it outside development "
                f"(OKRLINK_DEV=1). Make a key with: {GENERATE_HINT}"
            )
        keys = [_dev_key(data_dir)]
    fernets = [Fernet(key) for key in keys]
    return AppKeys(
        fernet=MultiFernet(fernets),
        primary=fernets[0],
        count=len(fernets),
        _material=base64.urlsafe_b64decode(keys[0]),
    )


def _dev_key(data_dir: Path) -> bytes:
    """The development key file of `data_dir`, made on first use (mode 0600)."""
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the demo made it first
            return path.read_bytes().strip()
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key())
        log.warning(
            "%s is not set: created the development key %s (mode 0600), OKRLINK_DEV=1 only.",
            SETTING,
            path,
        )
    key = path.read_bytes().strip()
    parse_keys(key.decode("ascii", errors="replace"))
    return key

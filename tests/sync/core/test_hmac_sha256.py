"""HMAC-SHA256 on CPython's compact SHA-256 gives the standard library's answer."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.core.hmac_sha256 import BLOCK_SIZE, SHA256, KeyedSha256


@settings(max_examples=300, deadline=None)
@given(key=st.binary(max_size=3 * BLOCK_SIZE), message=st.binary(max_size=2048))
def test_the_digest_is_hmacs_for_any_key_and_message(key: bytes, message: bytes) -> None:
    assert KeyedSha256(key).digest(message) == hmac.digest(key, message, "sha256")


def test_keys_at_and_around_the_block_size_are_padded_or_hashed_as_rfc_2104_says() -> None:
    for size in (0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, 4 * BLOCK_SIZE):
        key = bytes(range(size % 256)) * (size // 256) + bytes(range(size % 256))
        assert KeyedSha256(key).digest(b"message") == hmac.digest(key, b"message", "sha256")


def test_one_key_signs_many_messages_without_carrying_state_between_them() -> None:
    keyed = KeyedSha256(b"shared-secret")
    first = keyed.digest(b"one")
    assert keyed.digest(b"two") == hmac.digest(b"shared-secret", b"two", "sha256")
    assert keyed.digest(b"one") == first


def test_the_rfc_4231_vector_holds() -> None:
    """RFC 4231, test case 2: key "Jefe"."""
    digest = KeyedSha256(b"Jefe").digest(b"what do ya want for nothing?")
    assert digest.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_it_runs_on_the_interpreters_own_sha256_and_agrees_with_openssls() -> None:
    assert SHA256(b"abc").digest() == hashlib.sha256(b"abc").digest()
    assert KeyedSha256(b"k", sha256=hashlib.sha256).digest(b"m") == KeyedSha256(b"k").digest(b"m")

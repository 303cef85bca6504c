"""Asana webhook signatures, and Asana's answers mapped onto the core's error tree."""

from __future__ import annotations

from asana.rest import ApiException

from integrations.asana.client import outside_error
from integrations.asana.signature import sign, verify_signature
from sync.errors import Permanent, RateLimited, Transient

BODY = b'{"events": []}'


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    # A known answer: `printf '{"events": []}' | openssl dgst -sha256 -hmac secret`.
    assert sign(secret="secret", body=BODY) == (
        "25f5dc9b42770059d039a140cb5fa65c9bd99ff6c41226b20c46663281579b21"
    )
    assert verify_signature(secret="secret", body=BODY, header=sign(secret="secret", body=BODY))


def test_a_missing_malformed_or_wrong_signature_or_no_secret_is_refused() -> None:
    good = sign(secret="secret", body=BODY)
    assert not verify_signature(secret="secret", body=BODY, header=None)
    assert not verify_signature(secret="secret", body=BODY, header="sha256=" + good)
    assert not verify_signature(secret="other", body=BODY, header=good)
    assert not verify_signature(secret="secret", body=BODY + b" ", header=good)
    assert not verify_signature(secret=None, body=BODY, header=good)


def _answer(status: int, headers: dict[str, str] | None = None) -> ApiException:
    error = ApiException(status=status, reason="reason")
    error.headers = headers
    return error


def test_a_429_waits_for_its_retry_after_a_5xx_retries_and_a_4xx_is_permanent() -> None:
    limited = outside_error(_answer(429, {"Retry-After": "30"}), "goal")
    assert isinstance(limited, RateLimited) and limited.retry_after == 30.0
    assert isinstance(outside_error(_answer(503), "task"), Transient)
    assert isinstance(outside_error(_answer(404), "goal"), Permanent)
    assert isinstance(outside_error(ConnectionResetError("reset"), "task"), Transient)

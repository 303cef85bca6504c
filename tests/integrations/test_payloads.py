"""`integrations/payloads.py`: a body reads the same whichever parser reads it.

orjson reads the ordinary body; whatever it refuses or would read differently goes to the
standard library's `json`, which repairs or refuses it as it always did.
"""

from __future__ import annotations

import json
import math

import pytest

from integrations.payloads import PayloadError, loads
from tests.support.base import SHARED_FIXTURES


def test_every_shared_webhook_fixture_reads_as_the_standard_library_reads_it() -> None:
    bodies = sorted(SHARED_FIXTURES.rglob("*.json"))
    assert len(bodies) > 20
    for path in bodies:
        raw = path.read_bytes()
        assert loads(raw) == json.loads(raw), path.name


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": 123456789012345678901234567890}',  # orjson would read a float
        b'{"timestamp": 100000000000000000000}',
        b'{"id": 18446744073709551616}',
        b'{"id": -123456789012345678901}',
    ],
)
def test_an_integer_past_64_bits_stays_whole(raw: bytes) -> None:
    value = next(iter(loads(raw).values()))
    assert isinstance(value, int)
    assert value == json.loads(raw)[next(iter(json.loads(raw)))]


def test_a_lone_surrogate_and_a_byte_order_mark_read_as_before() -> None:
    assert loads(b'{"a": "x\\ud800y"}') == {"a": "x\ud800y"}  # repaired later, by storable()
    assert loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert loads('{"a": "é"}') == {"a": "é"}  # a str body takes the standard library's path


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a": NaN}', "NaN is not a number JSON allows"),
        (b'{"a": -Infinity}', "-Infinity is not a number JSON allows"),
        (b'{"a": 1e999}', "the number 1e999 is out of range"),
        (b'{"a": "\xff"}', "the body is not JSON"),
        (b'{"a": 1', "the body is not JSON"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "the body is nested too deeply"),
    ],
)
def test_what_json_does_not_allow_is_refused_with_the_reason(raw: bytes, message: str) -> None:
    with pytest.raises(PayloadError) as refused:
        loads(raw)
    assert str(refused.value) == message


def test_numbers_read_as_the_standard_library_reads_them() -> None:
    raw = b'{"f": 0.1, "g": -0.0, "h": 1.7976931348623157e308, "i": 9223372036854775807}'
    parsed = loads(raw)
    assert parsed == json.loads(raw)
    assert math.copysign(1, parsed["g"]) == -1

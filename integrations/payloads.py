"""What comes from outside is made storable here, at the edge, before anything records it.

Jira and GitHub send text the database cannot hold or we cannot read safely: U+0000 (which
PostgreSQL's text refuses), lone surrogates such as `\\ud800` (which no UTF-8 database
stores), `NaN` and `Infinity` (valid for Python's `json`, not for JSON or for a float column),
nesting deep enough to exhaust the parser's recursion, numbers past any id, dates past year
9999. Each used to be acknowledged and then fail on every retry, or answer 500 so that the
sender redelivered it forever. Here text is repaired (U+FFFD, as a UTF-8 decoder does with
bytes it cannot read) and everything else is refused with a `PayloadError` (answered 400).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson

from sync.errors import MalformedBody

# Surrogates left in a decoded `str` are lone: `json` joins valid pairs into one code point.
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT: Final = "\ufffd"
# orjson reads an integer past 64 bits as a float; `json` keeps it whole, and refusing ids
# and timestamps out of range needs it whole. A body with 19 digits in a row takes `json`'s
# path. Found by mapping every digit to "0" and anything else to " ": 17 µs for an 8.5 KB
# body, where `re.search(rb"[0-9]{19}")` steps through it in 200.
DIGITS_AS_ZEROS: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
LONG_NUMBER: Final = b"0" * 19
"""`orjson_reads_as_json(raw)` is `LONG_NUMBER not in raw.translate(DIGITS_AS_ZEROS)`: the
names are public for the one hot path that writes it out rather than call it."""
MAX_ID: Final = 2**63 - 1  # BIGINT, and more than any GitHub or Jira id


class PayloadError(MalformedBody):
    """A payload we refuse to record; its message says what is wrong (400 `malformed_body`)."""


def orjson_reads_as_json(raw: bytes) -> bool:
    """Whether orjson reads every number of `raw` as `json` does (no 19 digits in a row)."""
    return LONG_NUMBER not in raw.translate(DIGITS_AS_ZEROS)


def _refuse_constant(name: str) -> float:
    raise PayloadError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"the number {text[:40]} is out of range")
    return value


def loads(raw: bytes | str) -> Any:
    """Parse a JSON body: no `NaN`/`Infinity`, no number that overflows a float, nesting only
    as deep as the parser can go without exhausting its recursion (then a `PayloadError`).

    orjson reads the ordinary body; it refuses everything above (and a lone surrogate, a byte
    order mark, bytes that are not UTF-8), and those go to `json`, which repairs the
    surrogate and the mark as it always did and refuses the rest.
    """
    if isinstance(raw, bytes) and orjson_reads_as_json(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the standard library's answer, below
    try:
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise PayloadError("the body is nested too deeply") from exc
    except PayloadError:
        raise
    except ValueError as exc:  # includes UnicodeDecodeError and json's own errors
        raise PayloadError("the body is not JSON") from exc


def loads_object(raw: bytes | str) -> dict[str, Any]:
    """`loads`, for a body that must be a JSON object (every webhook's): else a `PayloadError`."""
    payload = loads(raw)
    if not isinstance(payload, dict):
        raise PayloadError("the body is not a JSON object")
    return payload


def storable(text: str) -> str:
    """`text` with U+0000 and lone surrogates replaced by U+FFFD (cheap when there are none)."""
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable_tree(value: Any) -> Any:
    """`storable` applied to every string (keys too) of a small JSON value we are about to
    record; used on normalised records, never on whole webhook bodies."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, Mapping):
        return {storable(str(k)): storable_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_tree(v) for v in value]
    return value


def finite(value: Any, name: str) -> float | None:
    """A JSON number as a finite float; None for null; `PayloadError` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{name} is not a number")
    try:
        number = float(value)
    except OverflowError as exc:
        raise PayloadError(f"{name} is out of range") from exc
    if not math.isfinite(number):
        raise PayloadError(f"{name} is not a finite number")
    return number


def positive_id(value: Any, name: str) -> int:
    """A numeric id (GitHub's installation, repository and PR ids): an integer 1..2**63-1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{name} is not an integer id")
    if not 1 <= value <= MAX_ID:
        raise PayloadError(f"{name} is out of range")
    return value

"""What a log line is about (site, delivery id, KR key), carried by context variables.

The engine and the doors bind these around the work they do; the JSON log format
(`connect/ops/log_format.py`) adds them to every line logged meanwhile, so a line says which
site and which delivery it concerns without each call repeating them. Context variables,
not thread-locals: a huey worker thread and a request each see only their own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Final

FIELDS: Final = ("site", "delivery_id", "kr_key")
"""The context a line may carry, as named in the JSON log format."""

_EMPTY: Final[Mapping[str, object]] = MappingProxyType({})
_context: ContextVar[Mapping[str, object]] = ContextVar("okrlink_log_context", default=_EMPTY)


@contextmanager
def bound(**fields: object) -> Iterator[None]:
    """Add `fields` (among `FIELDS`; None values are left out) to lines logged in the block."""
    unknown = fields.keys() - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {sorted(unknown)}")
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _context.reset(token)


def current() -> Mapping[str, object]:
    """The context bound where the caller runs."""
    return _context.get()

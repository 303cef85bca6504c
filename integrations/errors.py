"""Outside failures mapped onto the core's error tree, the same rule for every client.

Each client (Jira and Confluence in `atlassian/`, GitHub in `github/`) calls `for_status` with
what its HTTP answer said, so a 429 or a 5xx is `Transient` (or `RateLimited` with its wait) and
any other 4xx is `Permanent`, whichever vendor answered.
"""

from __future__ import annotations

from typing import Final

from sync.errors import (
    OkrlinkError,
    OutsideError,
    Permanent,
    RateLimited,
    SourceMissing,
    Transient,
)

__all__ = [
    "OkrlinkError",
    "OutsideError",
    "Permanent",
    "RateLimited",
    "SourceMissing",
    "Transient",
    "for_status",
]

RETRY_STATUSES: Final = frozenset({408, 409, 423, 425, 429})
"""4xx answers that say "not now" rather than "never" (timeout, conflict, locked, too early,
too many requests)."""


def is_transient_status(status: int | None) -> bool:
    """No answer, a 5xx or a "not now" 4xx: worth another try later."""
    return status is None or status in RETRY_STATUSES or status >= 500


def for_status(
    message: str, *, status: int | None, retry_after: float | None = None
) -> OutsideError:
    """The error of the tree that an answer with `status` (None: no answer) stands for."""
    if status == 429 or (retry_after is not None and is_transient_status(status)):
        return RateLimited(message, status=status, retry_after=retry_after)
    if is_transient_status(status):
        return Transient(message, status=status, retry_after=retry_after)
    return Permanent(message, status=status)

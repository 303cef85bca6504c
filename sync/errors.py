"""The one error tree: every error okrlink raises on purpose descends from `OkrlinkError`.

A call to an outside system (Jira, Confluence, GitHub, Slack, Teams, Asana) that fails reaches
the engine as exactly one of two things, whichever client made it:

- `Transient`: worth trying again later (no answer, 5xx, 409 on a busy resource); `RateLimited`
  is a `Transient` that says how long to wait (`retry_after`, from `Retry-After`).
- `Permanent`: trying again will not help (401/403/404/400/422: the request or our access is
  wrong); the write-back is recorded and parked, not retried.

The core declares the tree (its jobs decide retry or park by it) and each client in
`integrations/` maps its vendor's failures onto it (`integrations/errors.py`); the HTTP layer
maps the web app's own errors (`connect/errors.py`, also `OkrlinkError`s) to answers.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OkrlinkError(Exception):
    """The root of every error okrlink raises on purpose.

    Each class says how it is answered: `http_status` and `default_code` are class attributes,
    read by the web app's one error handler (`connect/errors.py`) and the CLI's one mapping
    (`connect/cli/common.py`), so a failure has one status and one code at every door.
    `message` is for the caller; `field` names the value at fault, when one is.
    """

    http_status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Internal error."

    code: str
    message: str
    field: str | None

    def __init__(
        self, message: str | None = None, *, code: str | None = None, field: str | None = None
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.field = field
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body answered for this error."""
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class OutsideError(OkrlinkError):
    """A call to an outside system failed; `status` is its HTTP status when it answered."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Transient(OutsideError):
    """Worth trying again later; `retry_after` (seconds) when the other side said when."""


class RateLimited(Transient):
    """The other side asked us to slow down for `retry_after` seconds."""


class Permanent(OutsideError):
    """Trying again will not help: the request, the target or our access is wrong."""


class Refused(Permanent):
    """okrlink's own outbound policy refused the call: the URL a user set points at a private
    or local network, or its server answered with a redirect (never followed). Retrying
    cannot help until the URL is changed, so whatever holds the URL is parked with `message`.
    """


class SourceMissing(Permanent):
    """The site has no such source to ask: no Jira installed, no GitHub installation mapped.

    Expected rather than a failure: the KR shows it (`source_state`) with `message` saying how
    to connect the source, and nothing retries until it is connected.
    """


class DomainError(OkrlinkError):
    """A request breaks a rule of the OKR domain; `field` names the value at fault."""

    http_status = 422
    default_code = "invalid"
    default_message = "Invalid value."


class Invalid(DomainError):
    """A value is not acceptable (answered 422 with its field)."""


class Duplicate(DomainError):
    """The thing exists already (answered 409)."""

    http_status = 409
    default_code = "conflict"


class Closed(DomainError):
    """The team's cycle is closed and read-only (answered 409)."""

    http_status = 409
    default_code = "cycle_closed"


class NotFoundError(OkrlinkError):
    """What was named does not exist, or not for this site (answered 404)."""

    http_status = 404
    default_code = "not_found"
    default_message = "Not found."


class MalformedBody(OkrlinkError, ValueError):
    """A body that cannot be read as what its door expects (answered 400 `malformed_body`,
    the same code at every door). A `ValueError` too, as the parsers it comes from are."""

    http_status = 400
    default_code = "malformed_body"
    default_message = "The body cannot be read."

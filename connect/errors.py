"""Errors that become HTTP answers: one base class (in the tree of `sync/errors.py`), one
subclass per status.

Raise them anywhere in the app; one registered handler turns each into
``{"error": {"code": ..., "message": ..., "field": ...}}`` with its ``status``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sync.errors import OkrlinkError


class ApiError(OkrlinkError):
    """Base of every error answered to a client; ``status`` is its HTTP status."""

    status: ClassVar[int] = 500
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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class BadRequest(ApiError):
    """The request is malformed (unparseable body, missing header)."""

    status = 400
    default_code = "bad_request"
    default_message = "Bad request."


class AuthError(ApiError):
    """The caller is not authenticated: missing, invalid or expired credentials."""

    status = 401
    default_code = "unauthorized"
    default_message = "Authentication failed."


class ForbiddenError(ApiError):
    """The caller is authenticated but may not do this (other site, missing role)."""

    status = 403
    default_code = "forbidden"
    default_message = "Forbidden."


class NotFound(ApiError):
    """The resource does not exist, or not for this tenant."""

    status = 404
    default_code = "not_found"
    default_message = "Not found."


class Conflict(ApiError):
    """The request conflicts with the current state (duplicate, stale version)."""

    status = 409
    default_code = "conflict"
    default_message = "Conflict."


class ValidationError(ApiError):
    """A well-formed request carries an invalid value; ``field`` names it."""

    status = 422
    default_code = "invalid"
    default_message = "Invalid value."

    def __init__(self, message: str | None = None, *, field: str, code: str | None = None) -> None:
        super().__init__(message, code=code, field=field)

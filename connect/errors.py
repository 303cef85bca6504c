"""Errors that become HTTP answers, and the one handler that answers them.

Every error okrlink raises on purpose descends from `sync.errors.OkrlinkError`, whose class
says its `http_status` and `default_code`; the web app's own refusals are the `ApiError`
subclasses below, one per status. `register_error_handlers` installs the one handler that
turns any of them into ``{"error": {"code": ..., "message": ..., "field": ...}}`` with the
class's status, so the status of a failure never depends on where it was caught.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from sync.errors import OkrlinkError

log = logging.getLogger(__name__)


class ApiError(OkrlinkError):
    """Base of the errors the web app itself answers with (a request refused at a door or by
    the API); its `http_status` and `default_code` are class attributes, as in the whole tree."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class BadRequest(ApiError):
    """The request is malformed (unparseable body, missing header)."""

    http_status = 400
    default_code = "bad_request"
    default_message = "Bad request."


class AuthError(ApiError):
    """The caller is not authenticated: missing, invalid or expired credentials."""

    http_status = 401
    default_code = "unauthorized"
    default_message = "Authentication failed."


class ForbiddenError(ApiError):
    """The caller is authenticated but may not do this (other site, missing role)."""

    http_status = 403
    default_code = "forbidden"
    default_message = "Forbidden."


class NotFound(ApiError):
    """The resource does not exist, or not for this tenant."""

    http_status = 404
    default_code = "not_found"
    default_message = "Not found."


class Conflict(ApiError):
    """The request conflicts with the current state (duplicate, stale version)."""

    http_status = 409
    default_code = "conflict"
    default_message = "Conflict."


class ValidationError(ApiError):
    """A well-formed request carries an invalid value; ``field`` names it."""

    http_status = 422
    default_code = "invalid"
    default_message = "Invalid value."

    def __init__(self, message: str | None = None, *, field: str, code: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


def register_error_handlers(app: Flask) -> None:
    """Every error becomes `{"error": {"code", "message", "field"}}` with its status.

    Ours (`OkrlinkError`) through one handler, status and code from the class; werkzeug's own
    (404 route, 405, 413) with their names; anything else as a logged 500, nothing leaked.
    """

    @app.errorhandler(OkrlinkError)
    def okrlink_error(error: OkrlinkError) -> tuple[Response, int]:
        if error.default_code == OkrlinkError.default_code:
            return unexpected(error)  # no answer of its own (e.g. an outside failure): a 500
        return jsonify(error.to_dict()), error.http_status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        body = {"error": {"code": code, "message": error.description, "field": None}}
        response = jsonify(body)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110
        return response, error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal_error", "message": "Internal error.", "field": None}}
        return jsonify(body), 500

"""Errors raised by the GitHub integration, in the core's tree: each is `Transient` or
`Permanent`; PyGithub and requests errors are translated here (`client.translate`)."""

from __future__ import annotations

from integrations.errors import OutsideError, Permanent, Transient
from integrations.errors import RateLimited as _RateLimited


class GitHubError(OutsideError):
    """Base class: a call to GitHub failed. `status` is the HTTP status when there was one."""


class ConfigurationError(GitHubError, Permanent):
    """The app is not configured well enough to call GitHub (missing or unreadable private key)."""


class AuthenticationFailed(GitHubError, Permanent):
    """GitHub refused our credentials (401): wrong app id or key, or a revoked token."""


class PermissionDenied(GitHubError, Permanent):
    """GitHub understood us but refused the call (403 that is not a rate limit)."""


class NotFound(GitHubError, Permanent):
    """The installation, repository, pull request or check run does not exist for us (404)."""


class Rejected(GitHubError, Permanent):
    """GitHub rejected the request body (422), e.g. an unknown commit or a field over its limit."""


class Unavailable(GitHubError, Transient):
    """GitHub could not be reached or failed on its side (network error, timeout, 5xx)."""


class RateLimited(GitHubError, _RateLimited):
    """GitHub asked us to slow down; try again after `retry_after` seconds."""

    retry_after: float

    def __init__(self, message: str, *, retry_after: float, status: int | None = None) -> None:
        super().__init__(message, status=status, retry_after=retry_after)

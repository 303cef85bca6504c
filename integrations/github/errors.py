"""Errors raised by the GitHub integration; PyGithub and requests errors are translated here."""

from __future__ import annotations


class GitHubError(Exception):
    """Base class: a call to GitHub failed. `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ConfigurationError(GitHubError):
    """The app is not configured well enough to call GitHub (missing or unreadable private key)."""


class AuthenticationFailed(GitHubError):
    """GitHub refused our credentials (401): wrong app id or key, or a revoked token."""


class PermissionDenied(GitHubError):
    """GitHub understood us but refused the call (403 that is not a rate limit)."""


class NotFound(GitHubError):
    """The installation, repository, pull request or check run does not exist for us (404)."""


class Rejected(GitHubError):
    """GitHub rejected the request body (422), e.g. an unknown commit or a field over its limit."""


class Unavailable(GitHubError):
    """GitHub could not be reached or failed on its side (network error, timeout, 5xx)."""


class RateLimited(GitHubError):
    """GitHub asked us to slow down; try again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after

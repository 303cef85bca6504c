"""The GitHub App as a client: installation tokens, check-run publishing, rate limits."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth, GithubException, GithubIntegration
from github.Requester import Requester

from integrations.github.errors import (
    AuthenticationFailed,
    ConfigurationError,
    GitHubError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Rejected,
    Unavailable,
)

DEFAULT_API_URL = "https://api.github.com"
USER_AGENT = "okrlink"
# Refresh an installation token this long before GitHub says it expires (tokens live one hour).
TOKEN_REFRESH_MARGIN = 5 * 60.0
# GitHub: "no more than one content-creating request per second" per installation.
WRITE_INTERVAL = 1.0
# GitHub: on a secondary rate limit without retry-after, "wait for at least one minute".
SECONDARY_LIMIT_WAIT = 60.0
_REPO_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+")
_RATE_LIMIT_MESSAGES = ("rate limit", "please retry your request again later")

Clock = Callable[[], float]
Sleep = Callable[[float], None]
_T = TypeVar("_T")


class _AppSettings(Protocol):
    @property
    def github_app_id(self) -> str: ...
    @property
    def github_private_key(self) -> str: ...
    @property
    def github_api_url(self) -> str: ...


def load_private_key(value: str) -> str:
    """The app's PEM private key from PEM text (`\\n` escapes allowed) or a path to a PEM file."""
    text = value.strip()
    if not text:
        raise ConfigurationError("the GitHub App private key is empty")
    if "-----BEGIN" not in text:
        path = Path(text).expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the GitHub App private key file {path}") from exc
    text = text.replace("\\n", "\n")
    try:
        load_pem_private_key(text.encode("utf-8"), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError("the GitHub App private key is not a PEM private key") from exc
    return text + "\n"


@dataclass(frozen=True)
class GitHubAppConfig:
    """Who the app is to GitHub: app id, private key (PEM text) and the REST API base URL."""

    app_id: str
    private_key: str = field(repr=False)
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_settings(cls, settings: _AppSettings) -> GitHubAppConfig | None:
        """Config from `OKRLINK_GITHUB_*` settings, or None when the app is not set up."""
        if not settings.github_app_id or not settings.github_private_key:
            return None
        return cls(
            app_id=settings.github_app_id.strip(),
            private_key=load_private_key(settings.github_private_key),
            api_url=(settings.github_api_url or DEFAULT_API_URL).rstrip("/"),
        )


class WriteThrottle:
    """At most one write per `interval` seconds per installation, across threads.

    Each caller reserves the next free slot under the lock and sleeps outside it, so a wait for
    one installation never delays another. A rate limit pushes the installation's next slot out.
    """

    def __init__(
        self,
        *,
        interval: float = WRITE_INTERVAL,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next: dict[int, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: int, *, max_wait: float = math.inf) -> None:
        """Block until `key` may write, and reserve that slot.

        Raises RateLimited, reserving nothing, when the slot is more than `max_wait` away
        (the installation is paused by a rate limit): the caller retries later instead.
        """
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(key, now))
            if slot - now > max_wait:
                raise RateLimited(
                    "writes to this installation are paused by a rate limit",
                    retry_after=slot - now,
                )
            self._next[key] = slot + self._interval
        if slot > now:
            self._sleep(slot - now)

    def hold(self, key: int, *, until: float) -> None:
        """Let no write for `key` start before `until` (clock seconds)."""
        with self._lock:
            self._next[key] = max(self._next.get(key, until), until)


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float
    requester: Requester


def retry_after_seconds(
    *, status: int, headers: Mapping[str, str], message: str, now: float
) -> float | None:
    """Seconds to wait when a response is a rate limit, else None (GitHub's documented rules)."""
    if status not in (403, 429):
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after")
    if retry_after:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            try:
                return max(parsedate_to_datetime(retry_after).timestamp() - now, 0.0)
            except (TypeError, ValueError):
                pass
    if lowered.get("x-ratelimit-remaining") == "0" and lowered.get("x-ratelimit-reset"):
        try:
            return max(float(lowered["x-ratelimit-reset"]) - now, 1.0)
        except ValueError:
            pass
    if status == 429 or any(text in message.lower() for text in _RATE_LIMIT_MESSAGES):
        return SECONDARY_LIMIT_WAIT
    return None


def translate(exc: GithubException, *, now: float) -> GitHubError:
    """Our error for a PyGithub error, keeping GitHub's status and message."""
    status = exc.status
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or f"GitHub answered {status}")
    wait = retry_after_seconds(status=status, headers=exc.headers or {}, message=message, now=now)
    if wait is not None:
        return RateLimited(message, retry_after=wait, status=status)
    kinds: dict[int, type[GitHubError]] = {
        401: AuthenticationFailed,
        403: PermissionDenied,
        404: NotFound,
        422: Rejected,
    }
    kind = kinds.get(status) or (Unavailable if status >= 500 else GitHubError)
    return kind(message, status=status)


class GitHubApp:
    """Calls GitHub as the app's installations; tokens cached, writes throttled, limits honoured."""

    def __init__(
        self,
        config: GitHubAppConfig,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
        max_inline_wait: float = SECONDARY_LIMIT_WAIT,
        rate_limit_retries: int = 1,
        timeout: int = 15,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._max_inline_wait = max_inline_wait
        self._rate_limit_retries = rate_limit_retries
        self._throttle = WriteThrottle(clock=clock, sleep=sleep)
        self._integration = GithubIntegration(
            auth=Auth.AppAuth(_app_id(config.app_id), load_private_key(config.private_key)),
            base_url=config.api_url.rstrip("/"),
            timeout=timeout,
            user_agent=USER_AGENT,
            retry=None,
            # Pacing is ours (per installation, on our clock), not PyGithub's global sleep.
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        self._tokens: dict[int, _Token] = {}
        self._token_locks: dict[int, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- tokens -------------------------------------------------------------------------------

    def installation_token(self, installation_id: int) -> str:
        """An installation access token, reused until shortly before it expires."""
        return self._token(installation_id).value

    def forget_token(self, installation_id: int) -> None:
        """Drop the cached token (after the installation was deleted or suspended)."""
        with self._lock:
            self._tokens.pop(installation_id, None)

    def _token(self, installation_id: int) -> _Token:
        with self._lock:
            lock = self._token_locks.setdefault(installation_id, threading.Lock())
        with lock:
            cached = self._tokens.get(installation_id)
            if cached and cached.expires_at - TOKEN_REFRESH_MARGIN > self._clock():
                return cached
            authorization = self._with_retries(
                installation_id, lambda: self._integration.get_access_token(installation_id)
            )
            expires = authorization.expires_at
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            token = _Token(
                value=authorization.token,
                expires_at=expires.timestamp(),
                requester=self._integration.requester.withAuth(Auth.Token(authorization.token)),
            )
            with self._lock:
                self._tokens[installation_id] = token
            return token

    # -- calls --------------------------------------------------------------------------------

    def create_or_update_check_run(
        self,
        *,
        installation_id: int,
        repo: str,
        head_sha: str,
        body: Mapping[str, Any],
        check_run_id: int | None = None,
    ) -> int:
        """Create the check run on `head_sha` (POST) or update `check_run_id` (PATCH); its id."""
        path = f"/repos/{_repo_path(repo)}/check-runs"
        if check_run_id is None:
            verb, payload = "POST", {**body, "head_sha": head_sha}
        else:
            verb, payload = "PATCH", dict(body)
            path = f"{path}/{int(check_run_id)}"
        data = self._request(installation_id, verb, path, payload, write=True)
        return int(data["id"])

    def get_pull(self, installation_id: int, repo: str, number: int) -> dict[str, Any]:
        """One pull request as REST returns it (the shape of a webhook's `pull_request`)."""
        path = f"/repos/{_repo_path(repo)}/pulls/{int(number)}"
        return self._request(installation_id, "GET", path, None, write=False)

    def get_list(
        self, installation_id: int, path: str, params: Mapping[str, Any]
    ) -> tuple[list[Any] | dict[str, Any], Mapping[str, str]]:
        """One page of a GET list endpoint and its headers (rate-limit figures included)."""

        def call() -> tuple[list[Any] | dict[str, Any], Mapping[str, str]]:
            requester = self._token(installation_id).requester
            headers, data = requester.requestJsonAndCheck("GET", path, parameters=dict(params))
            return cast(list[Any] | dict[str, Any], data), headers

        return self._with_retries(installation_id, call)

    def _request(
        self,
        installation_id: int,
        verb: str,
        path: str,
        payload: dict[str, Any] | None,
        *,
        write: bool,
    ) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            if write:
                self._throttle.wait(installation_id, max_wait=self._max_inline_wait)
            requester = self._token(installation_id).requester
            _headers, data = requester.requestJsonAndCheck(verb, path, input=payload)
            # PyGithub types the body as Any; these endpoints answer a JSON object.
            return cast(dict[str, Any], data)

        return self._with_retries(installation_id, call)

    def _with_retries(self, installation_id: int, call: Callable[[], _T]) -> _T:
        """Run `call`, translating errors; wait out short rate limits, raise longer ones."""
        retries_left = self._rate_limit_retries
        while True:
            try:
                return call()
            except GithubException as exc:
                error = translate(exc, now=self._clock())
                if isinstance(error, RateLimited):
                    self._throttle.hold(installation_id, until=self._clock() + error.retry_after)
                    if retries_left > 0 and error.retry_after <= self._max_inline_wait:
                        retries_left -= 1
                        self._sleep(error.retry_after)
                        continue
                elif isinstance(error, AuthenticationFailed):
                    self.forget_token(installation_id)
                raise error from exc
            except requests.RequestException as exc:
                raise Unavailable(f"GitHub could not be reached: {exc}") from exc


def _app_id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _repo_path(full_name: str) -> str:
    if not _REPO_NAME.fullmatch(full_name):
        raise ValueError(f"not a repository full name: {full_name!r}")
    return full_name

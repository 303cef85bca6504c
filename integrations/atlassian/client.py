"""Jira and Confluence Cloud clients that call as the Connect app, each request JWT-signed.

The pieces: ``ConnectSigner`` (a requests auth plug-in computing each request's JWT with its
own ``qsh``), ``RetryAfterAdapter`` (429/503 retried after ``Retry-After`` or a capped,
jittered backoff), the client factories and the few Jira REST calls the sync needs.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import jwt
import requests
from atlassian import Confluence, Jira
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from integrations.atlassian.qsh import query_string_hash
from integrations.errors import Transient, for_status

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 180
RETRY_STATUSES = frozenset({429, 503})
REQUEST_TIMEOUT = 30
_Client = TypeVar("_Client", Jira, Confluence)


class ConnectSigner(AuthBase):
    """Signs each request as the app: ``Authorization: JWT`` with iss, iat, exp and qsh.

    The ``qsh`` covers this request's method, its path relative to the product base URL
    (Confluence's ``/wiki`` is stripped) and its query. Requests to any other host are refused,
    so a token is never handed to a third party.
    """

    def __init__(
        self,
        *,
        app_key: str,
        shared_secret: str,
        product_base_url: str,
        lifetime: int = TOKEN_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        base = urlsplit(product_base_url)
        self._app_key = app_key
        self._shared_secret = shared_secret
        self._origin = (base.scheme.lower(), base.netloc.lower())
        self._base_path = base.path.rstrip("/")
        self._lifetime = lifetime
        self._clock = clock

    def token_for(self, method: str, url: str) -> str:
        """The JWT for one request."""
        parts = urlsplit(url)
        if (parts.scheme.lower(), parts.netloc.lower()) != self._origin:
            raise ValueError(f"refusing to sign a request to {parts.scheme}://{parts.netloc}")
        issued_at = int(self._clock())
        claims = {
            "iss": self._app_key,
            "iat": issued_at,
            "exp": issued_at + self._lifetime,
            "qsh": query_string_hash(method, parts.path, parts.query, base_url=self._base_path),
        }
        return jwt.encode(claims, self._shared_secret, algorithm="HS256")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = (
            f"JWT {self.token_for(request.method or 'GET', request.url or '')}"
        )
        return request


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """Seconds asked by ``Retry-After`` (delay-seconds or HTTP date); None if absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class RetryAfterAdapter(HTTPAdapter):
    """Retries 429 and 503: after ``Retry-After`` when given, else capped backoff with jitter.

    Written over ``HTTPAdapter.send`` rather than urllib3's ``Retry``: the waiting goes through
    an injected ``sleep`` (tests assert the exact delay without waiting), a ``Retry-After``
    longer than ``max_retry_after`` is not slept through but handed back to the caller (a
    queued job retries later instead of blocking a worker past the JWT's lifetime), and every
    attempt stays visible to ``responses`` in tests.
    """

    def __init__(
        self,
        *,
        max_attempts: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        statuses: Collection[int] = RETRY_STATUSES,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.statuses = frozenset(statuses)
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock

    def delay(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; None means do not retry."""
        asked = retry_after_seconds(response.headers.get("Retry-After"), now=self._clock())
        if asked is not None:
            return asked if asked <= self.max_retry_after else None
        ceiling: float = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling * (0.5 + self._jitter() / 2)  # "equal jitter": between half and all

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send, and send again while the answer is 429/503 and attempts remain."""
        attempt = 1
        while True:
            response = super().send(request, **kwargs)
            if (
                response.status_code not in self.statuses
                or attempt >= self.max_attempts
                or not isinstance(request.body, bytes | str | None)
            ):
                return response
            wait = self.delay(response, attempt)
            if wait is None:
                return response
            log.info(
                "%s %s answered %s; retrying in %.1fs (attempt %d of %d)",
                request.method,
                urlsplit(request.url or "").path,
                response.status_code,
                wait,
                attempt + 1,
                self.max_attempts,
            )
            response.close()
            self._sleep(wait)
            attempt += 1


def connect_session(
    *,
    base_url: str,
    app_key: str,
    shared_secret: str,
    session: requests.Session | None = None,
    adapter: RetryAfterAdapter | None = None,
) -> requests.Session:
    """A session signing every request as the app, with the retry policy on the product host.

    A ``RetryAfterAdapter`` already mounted on the product host (or ``adapter``) is kept.
    """
    session = session or requests.Session()
    session.auth = ConnectSigner(
        app_key=app_key, shared_secret=shared_secret, product_base_url=base_url
    )
    parts = urlsplit(base_url)
    prefix = f"{parts.scheme}://{parts.netloc}/"
    if adapter is not None or not isinstance(session.adapters.get(prefix), RetryAfterAdapter):
        session.mount(prefix, adapter or RetryAfterAdapter())
    return session


def _connect_client(
    product: type[_Client],
    *,
    base_url: str,
    app_key: str,
    shared_secret: str,
    session: requests.Session | None,
    adapter: RetryAfterAdapter | None,
) -> _Client:
    signed = connect_session(
        base_url=base_url,
        app_key=app_key,
        shared_secret=shared_secret,
        session=session,
        adapter=adapter,
    )
    # The library's own Retry-After handling sleeps with time.sleep: the adapter owns retries.
    return product(
        url=base_url, session=signed, cloud=True, retry_with_header=False, timeout=REQUEST_TIMEOUT
    )


def jira_client(
    *,
    base_url: str,
    app_key: str,
    shared_secret: str,
    session: requests.Session | None = None,
    adapter: RetryAfterAdapter | None = None,
) -> Jira:
    """A Jira Cloud client calling as the app (``session`` is given the signer and retries)."""
    return _connect_client(
        Jira,
        base_url=base_url,
        app_key=app_key,
        shared_secret=shared_secret,
        session=session,
        adapter=adapter,
    )


class BearerToken(requests.auth.AuthBase):
    """`Authorization: Bearer <token>`: the app system token Forge hands the remote."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def forge_jira_client(
    *,
    api_base_url: str,
    system_token: str,
    session: requests.Session | None = None,
    adapter: RetryAfterAdapter | None = None,
) -> Jira:
    """A Jira Cloud client for the Forge door: the product API through Atlassian's API gateway
    (`https://api.atlassian.com/ex/jira/{cloudId}`), authorised by the app system token."""
    session = session or requests.Session()
    session.auth = BearerToken(system_token)
    parts = urlsplit(api_base_url)
    session.mount(f"{parts.scheme}://{parts.netloc}/", adapter or RetryAfterAdapter())
    return Jira(
        url=api_base_url.rstrip("/"),
        session=session,
        cloud=True,
        retry_with_header=False,
        timeout=REQUEST_TIMEOUT,
    )


def confluence_client(
    *,
    base_url: str,
    app_key: str,
    shared_secret: str,
    session: requests.Session | None = None,
    adapter: RetryAfterAdapter | None = None,
) -> Confluence:
    """A Confluence Cloud client calling as the app; ``base_url`` ends in ``/wiki``."""
    return _connect_client(
        Confluence,
        base_url=base_url,
        app_key=app_key,
        shared_secret=shared_secret,
        session=session,
        adapter=adapter,
    )


def _call(what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the library; its requests errors become the core's `Transient` or `Permanent`."""
    try:
        return method(*args, **kwargs)
    except requests.HTTPError as exc:
        response = exc.response
        status = response.status_code if response is not None else None
        header = response.headers.get("Retry-After") if response is not None else None
        retry_after = retry_after_seconds(header, now=time.time())
        raise for_status(f"{what}: {exc}", status=status, retry_after=retry_after) from exc
    except requests.RequestException as exc:
        raise Transient(f"{what}: {exc}") from exc


def search_jql(
    jira: Jira, jql: str, *, fields: Sequence[str], page_size: int = 100
) -> Iterator[dict[str, Any]]:
    """Every issue matching ``jql`` (POST /rest/api/3/search/jql, paged by ``nextPageToken``)."""
    body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": page_size}
    seen: set[str] = set()
    while True:
        page = _call("JQL search", jira.post, "rest/api/3/search/jql", data=body)
        if not isinstance(page, Mapping):
            raise Transient("JQL search: unexpected answer")
        yield from page.get("issues") or []
        token = page.get("nextPageToken")
        if page.get("isLast", True) or not token:
            return
        if token in seen:
            raise Transient("JQL search: nextPageToken repeated")
        seen.add(token)
        body = {**body, "nextPageToken": token}


def get_issue(jira: Jira, key: str, fields: Sequence[str]) -> dict[str, Any]:
    """One issue with the given fields (GET /rest/api/3/issue/{key})."""
    path = f"rest/api/3/issue/{quote(key, safe='')}"
    params = {"fields": ",".join(fields)}
    issue: dict[str, Any] = _call(f"get issue {key}", jira.get, path, params=params)
    return issue


def set_issue_property(jira: Jira, issue_key: str, key: str, value: dict[str, Any]) -> None:
    """Store an entity property on an issue (PUT /rest/api/3/issue/{key}/properties/{property})."""
    path = f"rest/api/3/issue/{quote(issue_key, safe='')}/properties/{quote(key, safe='')}"
    _call(f"set property {key} on {issue_key}", jira.put, path, data=value)

"""Outbound Atlassian calls: signed per request as the app, retried on 429/503, paged JQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
import responses
from responses import matchers

from connect.doors.atlassian_connect.connect_jwt import verify_connect_jwt
from integrations.atlassian.client import (
    ConnectSigner,
    RetryAfterAdapter,
    confluence_client,
    get_issue,
    jira_client,
    search_jql,
    set_issue_property,
)
from integrations.atlassian.qsh import canonical_request
from integrations.errors import Permanent, RateLimited, Transient

JIRA = "https://acme.atlassian.net"
CONFLUENCE = "https://acme.atlassian.net/wiki"
APP_KEY = "okrlink"
SECRET = "0b7f2c1e-9a4d-4c3b-8e6f-5a2d1c0b9e8f-shared"
NOW = 1_750_000_000.0
SEARCH = f"{JIRA}/rest/api/3/search/jql"


class Sleeps:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def _jira(sleeps: Sleeps, **adapter: Any) -> Any:
    retry = RetryAfterAdapter(sleep=sleeps, jitter=lambda: 1.0, clock=lambda: NOW, **adapter)
    return jira_client(base_url=JIRA, app_key=APP_KEY, shared_secret=SECRET, adapter=retry)


def _issue(number: int) -> dict[str, Any]:
    return {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": str(10000 + number),
        "self": f"{JIRA}/rest/api/3/issue/{10000 + number}",
        "key": f"OKR-{number}",
        "fields": {
            "summary": f"Ship KR slice {number}",
            "status": {
                "name": "Done",
                "statusCategory": {"id": 3, "key": "done", "name": "Done"},
            },
        },
    }


def _claims_the_product_would_verify(request: Any) -> dict[str, Any]:
    """Verify the sent JWT the way Jira does: shared secret, then qsh of the received URL."""
    scheme, token = request.headers["Authorization"].split(" ", 1)
    assert scheme == "JWT"
    url = urlsplit(request.url)
    base_path = urlsplit(CONFLUENCE).path if url.path.startswith("/wiki/") else ""
    issued_at = jwt.decode(token, SECRET, algorithms=["HS256"])["iat"]
    verified = verify_connect_jwt(
        token,
        method=request.method,
        path=url.path,
        query=url.query,
        secret_for={APP_KEY: SECRET}.get,
        base_url=base_path,
        now=issued_at,
    )
    return dict(verified.claims)


def test_jwt_sent_verifies_with_the_shared_secret_and_binds_the_url(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    http.get(f"{JIRA}/rest/api/3/issue/OKR-7", json=_issue(7))
    issue = get_issue(_jira(sleeps), "OKR-7", ["summary", "status"])
    assert issue["key"] == "OKR-7"
    request = http.calls[0].request
    claims = _claims_the_product_would_verify(request)
    assert claims["iss"] == APP_KEY
    assert claims["exp"] - claims["iat"] == 180
    url = urlsplit(request.url)
    canonical = canonical_request(request.method, url.path, url.query)
    assert canonical == "GET&/rest/api/3/issue/OKR-7&fields=summary%2Cstatus"
    assert claims["qsh"] == hashlib.sha256(canonical.encode()).hexdigest()


def test_confluence_qsh_is_relative_to_the_wiki_base_url(http: responses.RequestsMock) -> None:
    http.get(f"{CONFLUENCE}/rest/api/space", json={"results": [], "size": 0})
    confluence = confluence_client(base_url=CONFLUENCE, app_key=APP_KEY, shared_secret=SECRET)
    confluence.get("rest/api/space", params={"limit": 1})
    request = http.calls[0].request
    assert urlsplit(request.url).path == "/wiki/rest/api/space"
    claims = _claims_the_product_would_verify(request)
    expected = hashlib.sha256(b"GET&/rest/api/space&limit=1").hexdigest()
    assert claims["qsh"] == expected


def test_each_request_gets_its_own_token(http: responses.RequestsMock, sleeps: Sleeps) -> None:
    http.get(f"{JIRA}/rest/api/3/issue/OKR-1", json=_issue(1))
    http.get(f"{JIRA}/rest/api/3/issue/OKR-2", json=_issue(2))
    jira = _jira(sleeps)
    get_issue(jira, "OKR-1", ["summary"])
    get_issue(jira, "OKR-2", ["summary"])
    qshes = [_claims_the_product_would_verify(call.request)["qsh"] for call in http.calls]
    assert qshes[0] != qshes[1]


def test_signer_refuses_to_sign_for_another_host() -> None:
    signer = ConnectSigner(app_key=APP_KEY, shared_secret=SECRET, product_base_url=JIRA)
    with pytest.raises(ValueError, match="refusing"):
        signer.token_for("GET", "https://collector.example.com/rest/api/3/myself")


def test_signer_uses_the_injected_clock_and_lifetime() -> None:
    signer = ConnectSigner(
        app_key=APP_KEY, shared_secret=SECRET, product_base_url=JIRA, lifetime=60, clock=lambda: NOW
    )
    token = signer.token_for("PUT", f"{JIRA}/rest/api/3/issue/OKR-1/properties/okrlink")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert (claims["iat"], claims["exp"]) == (int(NOW), int(NOW) + 60)


def test_429_with_retry_after_is_retried_after_that_delay(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    url = f"{JIRA}/rest/api/3/issue/OKR-7/properties/okrlink.kr"
    http.put(
        url, status=429, headers={"Retry-After": "2"}, json={"errorMessages": ["Rate limited"]}
    )
    http.put(url, status=200, body="")
    set_issue_property(
        _jira(sleeps), "OKR-7", "okrlink.kr", {"progress": 0.4, "status": "on_track"}
    )
    assert sleeps.seen == [2.0]
    assert len(http.calls) == 2
    assert json.loads(http.calls[1].request.body) == {"progress": 0.4, "status": "on_track"}
    _claims_the_product_would_verify(http.calls[1].request)


def test_retry_after_as_http_date_is_honoured(http: responses.RequestsMock, sleeps: Sleeps) -> None:
    http.get(
        f"{JIRA}/rest/api/3/issue/OKR-7",
        status=503,
        headers={"Retry-After": formatdate(NOW + 5, usegmt=True)},
    )
    http.get(f"{JIRA}/rest/api/3/issue/OKR-7", json=_issue(7))
    assert get_issue(_jira(sleeps), "OKR-7", ["summary"])["id"] == "10007"
    assert sleeps.seen == [5.0]


def test_without_retry_after_backoff_doubles_up_to_the_cap(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    url = f"{JIRA}/rest/api/3/issue/OKR-7"
    for _ in range(4):
        http.get(url, status=503)
    http.get(url, json=_issue(7))
    jira = _jira(sleeps, max_attempts=5, backoff=1.0, max_backoff=3.0)
    get_issue(jira, "OKR-7", ["summary"])
    assert sleeps.seen == [1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_stays_between_half_and_the_full_delay() -> None:
    response = _response(503)
    low = RetryAfterAdapter(jitter=lambda: 0.0, backoff=4.0)
    high = RetryAfterAdapter(jitter=lambda: 0.999, backoff=4.0)
    assert low.delay(response, 2) == 4.0
    assert 7.99 < (high.delay(response, 2) or 0) < 8.0


def test_gives_up_after_max_attempts_with_a_retryable_error(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    url = f"{JIRA}/rest/api/3/issue/OKR-7"
    for _ in range(3):
        http.get(url, status=429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimited) as caught:
        get_issue(_jira(sleeps, max_attempts=3), "OKR-7", ["summary"])
    assert caught.value.status == 429
    assert caught.value.retry_after == 1.0
    assert sleeps.seen == [1.0, 1.0]


def test_retry_after_longer_than_the_limit_is_left_to_the_caller(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    http.get(f"{JIRA}/rest/api/3/issue/OKR-7", status=429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited) as caught:
        get_issue(_jira(sleeps, max_retry_after=60), "OKR-7", ["summary"])
    assert caught.value.status == 429
    assert caught.value.retry_after == 600.0
    assert sleeps.seen == []


def test_client_errors_are_not_retried(http: responses.RequestsMock, sleeps: Sleeps) -> None:
    http.get(
        f"{JIRA}/rest/api/3/issue/OKR-404",
        status=404,
        json={"errorMessages": ["Issue does not exist or you do not have permission to see it."]},
    )
    with pytest.raises(Permanent) as caught:
        get_issue(_jira(sleeps), "OKR-404", ["summary"])
    assert caught.value.status == 404
    assert sleeps.seen == []


def test_search_jql_follows_next_page_token_across_three_pages(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    jql = 'project = OKR AND "Epic Link" = OKR-1'
    first = {"jql": jql, "fields": ["summary", "status"], "maxResults": 2}
    pages = [
        (first, {"issues": [_issue(1), _issue(2)], "nextPageToken": "CAEaAggC", "isLast": False}),
        (
            {**first, "nextPageToken": "CAEaAggC"},
            {"issues": [_issue(3), _issue(4)], "nextPageToken": "CAEaAggE", "isLast": False},
        ),
        ({**first, "nextPageToken": "CAEaAggE"}, {"issues": [_issue(5)], "isLast": True}),
    ]
    for body, answer in pages:
        http.post(SEARCH, json=answer, match=[matchers.json_params_matcher(body)])
    issues = list(search_jql(_jira(sleeps), jql, fields=["summary", "status"], page_size=2))
    assert [issue["key"] for issue in issues] == ["OKR-1", "OKR-2", "OKR-3", "OKR-4", "OKR-5"]
    assert len(http.calls) == 3
    for call in http.calls:
        expected = hashlib.sha256(b"POST&/rest/api/3/search/jql&").hexdigest()
        assert _claims_the_product_would_verify(call.request)["qsh"] == expected


def test_search_jql_stops_on_a_repeated_page_token(
    http: responses.RequestsMock, sleeps: Sleeps
) -> None:
    page = {"issues": [_issue(1)], "nextPageToken": "CAEaAggC", "isLast": False}
    http.post(SEARCH, json=page)
    http.post(SEARCH, json=page)
    with pytest.raises(Transient, match="repeated"):
        list(search_jql(_jira(sleeps), "project = OKR", fields=["summary"]))


def _response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return response

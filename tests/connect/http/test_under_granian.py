"""Under `okrlink web` (granian) every request is answered as under Flask's own test client.

granian hands the app a WSGI environ of its own making (its `wsgi.input`, its QUERY_STRING,
its header keys); these tests send real HTTP to a real granian server serving the test's
database and compare each answer, status, headers and bytes, with what the in-process app
answers, and check which of the hot path and Flask answered.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote_plus, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.http.hotpaths import MAX_BODY_BYTES
from connect.settings import Settings
from tests.support.app import MACRO_PARAMS, PANEL, panel_site, signed_url
from tests.support.jira import WEBHOOK, inbox_count, install_jira, issue_event
from tests.support.served import flask_calls, granian
from tests.support.signing import connect_token

BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd", "Accept-Language": "en"}
TRANSPORT_HEADERS = {"date", "connection", "keep-alive", "server"}
"""What an HTTP server may add on its own; everything else comes from the app."""


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def send(
    base: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    """One request over a real connection; the answer exactly as it came (nothing decoded)."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def send_raw(base: str, target: bytes, headers: dict[str, str]) -> Answer:
    """A GET whose request target goes over the wire as these bytes (http.client sends ASCII)."""
    address = urlsplit(base)
    lines = [
        b"GET " + target + b" HTTP/1.1",
        f"Host: {address.netloc}".encode(),
        b"Connection: close",
        *(f"{k}: {v}".encode() for k, v in headers.items()),
    ]
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        data = response.read()
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


def app_headers(answer: Answer) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k not in TRANSPORT_HEADERS}


def flask_answer(client: FlaskClient, path: str, headers: dict[str, str]) -> Answer:
    response = client.get(path, headers=headers)
    return Answer(
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        response.get_data(),
    )


@pytest.fixture
def served(app: Flask, settings: Settings) -> Iterator[str]:
    """granian serving the test's database (the `app` fixture has emptied it)."""
    with granian(settings) as base:
        yield base


def test_a_panel_load_is_the_same_bytes_from_flask_and_from_the_hot_path_under_granian(
    app: Flask, client: FlaskClient, settings: Settings, served: str
) -> None:
    panel_site(app)
    reference = flask_answer(client, signed_url(PANEL, MACRO_PARAMS), BROWSER)
    rendered = send(served, signed_url(PANEL, MACRO_PARAMS), headers=BROWSER)
    assert flask_calls(settings) == 1
    cached = send(served, signed_url(PANEL, MACRO_PARAMS), headers=BROWSER)
    assert flask_calls(settings) == 1  # answered by the hot path
    for answer in (rendered, cached):
        assert answer.status == reference.status == 200
        assert app_headers(answer) == reference.headers
        assert answer.body == reference.body
    # The gzipped page arrives whole: its declared length, and it inflates to the page.
    assert cached.headers["content-encoding"] == "gzip"
    assert int(cached.headers["content-length"]) == len(cached.body)
    assert b'data-kr="PLAT-1.1"' in gzip.decompress(cached.body)


def test_a_matching_etag_gets_304_from_the_hot_path_under_granian(
    app: Flask, settings: Settings, served: str
) -> None:
    panel_site(app)
    etag = send(served, signed_url(PANEL, MACRO_PARAMS), headers=BROWSER).headers["etag"]
    again = send(
        served, signed_url(PANEL, MACRO_PARAMS), headers={**BROWSER, "If-None-Match": etag}
    )
    assert (again.status, again.headers["etag"], again.body) == (304, etag, b"")
    assert flask_calls(settings) == 1


def test_a_query_with_utf8_and_lowercase_headers_is_verified_as_flask_verifies_it(
    app: Flask, client: FlaskClient, settings: Settings, served: str
) -> None:
    """QUERY_STRING reaches the app as PEP 3333 says (latin-1 of the raw bytes), so the qsh of a
    query holding UTF-8, percent-encoded as browsers send it or raw as some proxies pass it on,
    is the one Atlassian signed."""
    panel_site(app)
    params = {**MACRO_PARAMS, "title": "Équipe plateforme ✓"}
    encoded = signed_url(PANEL, params)
    raw = encoded.replace(quote_plus("Équipe plateforme ✓"), "Équipe+plateforme+✓")
    assert "✓" in raw
    headers = {"accept-encoding": "gzip", "accept-language": "fr"}
    reference = flask_answer(client, encoded, headers)
    rendered = send(served, encoded, headers=headers)
    cached = send_raw(served, raw.encode(), headers)
    assert reference.status == rendered.status == cached.status == 200
    assert rendered.body == cached.body == reference.body
    assert flask_calls(settings) == 1


def test_a_bad_token_under_granian_gets_flasks_401(
    app: Flask, settings: Settings, served: str
) -> None:
    panel_site(app)
    send(served, signed_url(PANEL, MACRO_PARAMS), headers=BROWSER)
    forged = send(served, signed_url(PANEL, MACRO_PARAMS)[:-3] + "xyz", headers=BROWSER)
    assert forged.status == 401
    assert flask_calls(settings) == 2


def test_forwarded_headers_change_no_answer_and_no_verification(
    app: Flask, client: FlaskClient, settings: Settings, served: str
) -> None:
    """Behind a proxy: the qsh and every URL okrlink writes come from OKRLINK_BASE_URL."""
    panel_site(app)
    forwarded = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Prefix": "/elsewhere",
    }
    reference = flask_answer(client, signed_url(PANEL, MACRO_PARAMS), BROWSER)
    for _ in range(2):  # rendered by Flask, then from the hot path
        answer = send(served, signed_url(PANEL, MACRO_PARAMS), headers={**BROWSER, **forwarded})
        assert (answer.status, answer.body) == (200, reference.body)
    descriptor = send(served, "/jira/atlassian-connect.json", headers=forwarded)
    assert json.loads(descriptor.body)["baseUrl"] == settings.base_url


def signed_webhook(secret: str, body: bytes, delivery: str) -> dict[str, str]:
    token = connect_token(
        secret, client_key="jira-acme", method="POST", url=WEBHOOK, account_id=None
    )
    return {
        "authorization": f"JWT {token}",
        "content-type": "application/json",
        "x-atlassian-webhook-identifier": delivery,
        "content-length": str(len(body)),
    }


def test_a_webhook_is_recorded_by_the_hot_path_under_granian_once(
    app: Flask, settings: Settings, served: str
) -> None:
    secret = install_jira(app, "jira-acme")
    event = issue_event(
        "created", key="PLAT-7", issue_id="7", updated=datetime(2026, 11, 2, 9, tzinfo=UTC)
    )
    body = json.dumps(event).encode()
    first = send(
        served, WEBHOOK, method="POST", body=body, headers=signed_webhook(secret, body, "d-1")
    )
    again = send(
        served, WEBHOOK, method="POST", body=body, headers=signed_webhook(secret, body, "d-1")
    )
    assert first.status == again.status == 200
    assert json.loads(first.body)["status"] == "accepted"
    assert json.loads(again.body) == {"status": "duplicate"}
    assert (inbox_count(app), flask_calls(settings)) == (1, 0)


def test_a_too_large_body_gets_413_under_granian_and_records_nothing(
    app: Flask, settings: Settings, served: str
) -> None:
    secret = install_jira(app, "jira-acme")
    body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    refused = send(
        served, WEBHOOK, method="POST", body=body, headers=signed_webhook(secret, body, "d-big")
    )
    assert refused.status == 413
    assert json.loads(refused.body)["error"]["code"] == "request_entity_too_large"
    assert inbox_count(app) == 0

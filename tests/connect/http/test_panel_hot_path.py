"""Cached panel loads are answered before Flask runs, exactly as Flask would answer them."""

from __future__ import annotations

import gzip
import time

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connect.services import services_of
from connect.ui import panel_page
from connect.ui.panel_page import MAX_CACHED_HEADER
from integrations.atlassian.qsh import MAX_CACHED_QUERY, query_string_hash
from sync.db.model import Installation
from tests.support.app import (
    CLIENT_KEY,
    MACRO_PARAMS,
    PANEL,
    PANEL_NOW,
    SECRET,
    check_in,
    install,
    panel_site,
    signed_url,
)
from tests.support.base import FlaskCalls

NOW = PANEL_NOW


@pytest.fixture
def site(app: Flask) -> int:
    return panel_site(app)


def test_a_cached_panel_is_answered_without_flask_and_identically(
    client: FlaskClient, site: int, flask_calls: FlaskCalls
) -> None:
    rendered = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert flask_calls.count == 1
    cached = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert flask_calls.count == 1
    assert cached.status_code == rendered.status_code == 200
    assert dict(cached.headers) == dict(rendered.headers)
    assert cached.data == rendered.data
    assert 'data-kr="PLAT-1.1"' in cached.text


def test_a_matching_etag_gets_304_from_the_fast_path(
    client: FlaskClient, site: int, flask_calls: FlaskCalls
) -> None:
    etag = client.get(signed_url(PANEL, MACRO_PARAMS)).headers["ETag"]
    again = client.get(signed_url(PANEL, MACRO_PARAMS), headers={"If-None-Match": etag})
    assert (again.status_code, again.headers["ETag"], flask_calls.count) == (304, etag, 1)
    assert again.data == b""


def test_a_change_to_the_data_goes_to_flask_for_a_fresh_render(
    app: Flask, client: FlaskClient, site: int, flask_calls: FlaskCalls
) -> None:
    client.get(signed_url(PANEL, MACRO_PARAMS))
    check_in(app, site, "PLAT-1.1", value=99.9, at=NOW)
    changed = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert flask_calls.count == 2
    assert 'data-kr="PLAT-1.1" data-progress="0.82"' in changed.text


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda url: url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb"),
            id="forged signature",
        ),
        pytest.param(lambda url: url.replace("team=PLAT", "team=OTHER"), id="another query"),
        pytest.param(lambda url: url.split("&jwt=")[0], id="no token"),
    ],
)
def test_a_bad_token_on_a_cached_panel_gets_flasks_401_page(
    client: FlaskClient, site: int, flask_calls: FlaskCalls, tamper
) -> None:  # type: ignore[no-untyped-def]
    client.get(signed_url(PANEL, MACRO_PARAMS))
    refused = client.get(tamper(signed_url(PANEL, MACRO_PARAMS)))
    assert refused.status_code == 401
    assert refused.mimetype == "text/html"
    assert "data-kr" not in refused.text
    assert flask_calls.count == 2


def test_an_expired_token_on_a_cached_panel_is_refused(
    client: FlaskClient, site: int, flask_calls: FlaskCalls
) -> None:
    client.get(signed_url(PANEL, MACRO_PARAMS))
    query = "team=PLAT&cycle=&objective=&view="
    past = int(time.time()) - 3600
    token = jwt.encode(
        {
            "iss": CLIENT_KEY,
            "iat": past - 180,
            "exp": past,
            "qsh": query_string_hash("GET", PANEL, query),
        },
        SECRET,
        algorithm="HS256",
    )
    refused = client.get(f"{PANEL}?{query}&jwt={token}")
    assert refused.status_code == 401
    assert flask_calls.count == 2


def test_another_sites_token_never_gets_this_sites_cached_panel(
    app: Flask, client: FlaskClient, site: int
) -> None:
    other_secret = "another-shared-secret-of-32-characters-or-more"
    install(
        app, client_key="jira:other", base_url="https://other.atlassian.net", secret=other_secret
    )
    client.get(signed_url(PANEL, MACRO_PARAMS))
    for _ in range(2):
        response = client.get(
            signed_url(PANEL, MACRO_PARAMS, client_key="jira:other", secret=other_secret)
        )
        assert response.status_code == 200
        assert "data-kr" not in response.text
        assert response.headers["Content-Security-Policy"].endswith(
            "frame-ancestors https://other.atlassian.net"
        )


def test_a_bad_parameter_and_other_methods_go_to_flask(
    client: FlaskClient, site: int, flask_calls: FlaskCalls
) -> None:
    client.get(signed_url(PANEL, MACRO_PARAMS))
    bad_team = client.get(signed_url(PANEL, {**MACRO_PARAMS, "team": "no spaces"}))
    assert bad_team.status_code == 400
    assert client.post(signed_url(PANEL, MACRO_PARAMS, method="POST")).status_code == 405
    assert flask_calls.count == 3


def test_a_query_longer_than_any_page_is_left_to_flask(
    client: FlaskClient, site: int, flask_calls: FlaskCalls
) -> None:
    client.get(signed_url(PANEL, MACRO_PARAMS))
    long = client.get(signed_url(PANEL, {**MACRO_PARAMS, "pad": "x" * MAX_CACHED_QUERY}))
    assert (long.status_code, flask_calls.count) == (200, 2)
    assert 'data-kr="PLAT-1.1"' in long.text
    languages = ",".join(f"x{n:04};q=0.1" for n in range(MAX_CACHED_HEADER // 10 + 1))
    many = client.get(signed_url(PANEL, MACRO_PARAMS), headers={"Accept-Language": languages})
    assert (many.status_code, flask_calls.count) == (200, 3)


@pytest.mark.parametrize("through", ["flask", "hot path"])
def test_a_browser_gets_the_panel_gzipped(
    client: FlaskClient, site: int, flask_calls: FlaskCalls, through: str
) -> None:
    if through == "hot path":
        client.get(signed_url(PANEL, MACRO_PARAMS))  # rendered and cached by Flask
    browser = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    zipped = client.get(signed_url(PANEL, MACRO_PARAMS), headers=browser)
    plain = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert flask_calls.count == 1
    assert zipped.headers["Content-Encoding"] == "gzip"
    for response in (zipped, plain):
        assert response.headers["Vary"] == "Accept-Language, Accept-Encoding"
    assert int(zipped.headers["Content-Length"]) == len(zipped.data) < len(plain.data) / 4
    assert gzip.decompress(zipped.data) == plain.data
    refused = client.get(signed_url(PANEL, MACRO_PARAMS), headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    # A header longer than any browser's is read the same way, and kept in no cache.
    kept = panel_page._takes_gzip_cached.cache_info().currsize
    padding = "identity;q=1, " * (MAX_CACHED_HEADER // 10)
    for tail, encoded in (("gzip;q=0.5", True), ("gzip;q=0", False)):
        long = client.get(
            signed_url(PANEL, MACRO_PARAMS), headers={"Accept-Encoding": padding + tail}
        )
        assert (long.status_code, "Content-Encoding" in long.headers) == (200, encoded)
    assert panel_page._takes_gzip_cached.cache_info().currsize == kept


def test_a_lone_surrogate_as_the_issuer_gets_401_not_500(
    app: Flask, client: FlaskClient, site: int, flask_calls: FlaskCalls
) -> None:
    """`json` reads "\\ud800" in a token; no database can look it up. Refused before any
    lookup, whichever layer answers, with no signature needed to try it."""
    client.get(signed_url(PANEL, MACRO_PARAMS))
    cache = services_of(app).ui_page_cache
    with services_of(app).store.session() as session:
        installations = session.scalar(select(func.count()).select_from(Installation))
    pages = len(cache._pages)
    refused = client.get(signed_url(PANEL, MACRO_PARAMS, client_key="\ud800"))
    assert refused.status_code == 401
    assert 'data-error-code="token_claims"' in refused.text
    assert "data-kr" not in refused.text
    with services_of(app).store.session() as session:  # nothing stored, nothing cached
        assert session.scalar(select(func.count()).select_from(Installation)) == installations
    assert len(cache._pages) == pages

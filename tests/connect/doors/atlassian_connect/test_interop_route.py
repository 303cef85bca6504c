"""Atlassian's interoperability signed URLs verify through the app's real request path."""

from __future__ import annotations

import json
import types
from urllib.parse import urlsplit

import jwt
import pytest
from flask import Flask, g
from flask.testing import FlaskClient

import connect.doors.atlassian_connect.connect_jwt
from connect.doors.atlassian_connect.verify import connect_jwt_required
from tests.support.base import SHARED_FIXTURES
from tests.support.signing import install

INTEROP = json.loads((SHARED_FIXTURES / "connect" / "qsh_vectors.json").read_text())[
    "interop_signed_urls"
]
CASES = INTEROP["tests"]


@pytest.fixture
def interop_client(app: Flask, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    """The app with a product-called route at the vectors' paths, their tenant and clock."""

    @app.get("/<path:anything>", strict_slashes=False)
    @connect_jwt_required()
    def product_call(anything: str) -> str:
        return g.tenant.client_key

    issued = jwt.decode(
        urlsplit(CASES[0]["signedUrl"]).query.split("jwt=")[1].split("&")[0],
        options={"verify_signature": False},
    )["iat"]
    # The vectors were signed in 2016: verify them at the moment they were issued.
    clock = types.SimpleNamespace(time=lambda: issued + 1)
    monkeypatch.setattr(connect.doors.atlassian_connect.connect_jwt, "time", clock)
    install(app, client_key="jira:1234-5678-9000", secret=INTEROP["secret"])
    return app.test_client()


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_every_interop_signed_url_is_accepted_by_a_real_route(
    interop_client: FlaskClient, case: dict
) -> None:
    url = urlsplit(case["signedUrl"])
    response = interop_client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200, (case["name"], response.json)
    assert response.get_data(as_text=True) == "jira:1234-5678-9000"


def test_an_interop_url_with_a_changed_parameter_is_refused(interop_client: FlaskClient) -> None:
    url = urlsplit(CASES[0]["signedUrl"])
    tampered = url.query.replace("param=value", "param=other")
    assert interop_client.get(f"{url.path}?{tampered}").status_code == 401

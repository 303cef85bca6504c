"""A closed cycle's retrospective published to Confluence, signed as the app, in the space the
team chose; the close stands whatever Confluence answers."""

from __future__ import annotations

import hashlib
import json

import jwt
import responses
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import CLIENT_KEY, SECRET, install
from tests.support.quarter import CYCLE, post, write_quarter

WIKI = "https://acme.atlassian.net/wiki"
CONFLUENCE_KEY = "confluence:acme-client-key"
# What Confluence Cloud answers to POST /wiki/rest/api/content (fields okrlink reads, and more).
CREATED = {
    "id": "393217", "type": "page", "status": "current",
    "title": "PLAT 2026-Q4 retrospective",
    "space": {"id": 98305, "key": "PLAT", "name": "Platform", "type": "global"},
    "version": {"number": 1, "minorEdit": False},
    "_links": {"webui": "/spaces/PLAT/pages/393217/PLAT+2026-Q4+retrospective",
               "base": WIKI, "context": "/wiki", "self": f"{WIKI}/rest/api/content/393217"},
}  # fmt: skip
CLOSE = {"retro": {"learned": "Drills <b>pay</b>", "differently": "Start earlier",
                   "space": "PLAT"}, "carry_over": ["PLAT-1.1"]}  # fmt: skip


def _site(app: Flask, client: FlaskClient, admin: dict[str, str]) -> dict[str, str]:
    install(app)
    install(app, client_key=CONFLUENCE_KEY, base_url=WIKI, product="confluence")
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    write_quarter(client, headers)
    return headers


@responses.activate
def test_the_retrospective_is_published_as_a_signed_storage_page_embedding_the_panel(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    headers = _site(app, client, admin)
    responses.post(f"{WIKI}/rest/api/content", json=CREATED, status=200)
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"] == {
        "id": "393217", "url": f"{WIKI}/spaces/PLAT/pages/393217/PLAT+2026-Q4+retrospective"
    }
    request = responses.calls[0].request
    scheme, token = request.headers["Authorization"].split(" ", 1)
    assert scheme == "JWT"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["iss"] == "okrlink"
    assert claims["qsh"] == hashlib.sha256(b"POST&/rest/api/content&").hexdigest()
    sent = json.loads(request.body)
    assert (sent["type"], sent["space"], sent["title"]) == (
        "page", {"key": "PLAT"}, "PLAT 2026-Q4 retrospective"
    )
    storage = sent["body"]["storage"]
    assert storage["representation"] == "storage"
    assert "<p>Drills &lt;b&gt;pay&lt;/b&gt;</p>" in storage["value"]
    assert ('<ac:structured-macro ac:name="okr-panel" ac:schema-version="1">'
            '<ac:parameter ac:name="team">PLAT</ac:parameter>'
            '<ac:parameter ac:name="cycle">2026-Q4</ac:parameter>'
            '<ac:parameter ac:name="view">retro</ac:parameter>') in storage["value"]  # fmt: skip
    assert "<td>PLAT-1.1</td>" in storage["value"] and "carried over" in storage["value"]


@responses.activate
def test_a_refusal_from_confluence_is_reported_and_the_close_stands(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    headers = _site(app, client, admin)
    responses.post(f"{WIKI}/rest/api/content", status=403, json={
        "statusCode": 403, "message": "Not permitted to create page in space PLAT",
    })  # fmt: skip
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"] == {
        "error": "publish the retrospective: Not permitted to create page in space PLAT"
    }
    again = client.patch("/api/v1/key-results/PLAT-1.2", json={"target": 4}, headers=headers)
    assert again.status_code == 409


def test_without_a_confluence_installation_the_answer_says_so(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    write_quarter(client, headers)
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"] == {"error": "okrlink is not installed on this site's Confluence"}

"""A closed cycle's retrospective published to Confluence, signed as the app, in the space the
team chose; the close stands whatever Confluence answers, and a refused publication is a
durable write-back: retried with backoff (after `Retry-After`), parked when refused for good,
never published twice."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import jwt
import requests
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import CycleClose, Outbound
from sync.retro import RETRO_PAGE
from tests.support.app import CLIENT_KEY, MACRO_PARAMS, PANEL, SECRET, install, signed_url
from tests.support.base import FakeClock
from tests.support.confluence import (
    CONFLUENCE_KEY,
    CONTENT,
    CREATED,
    FOUND,
    NOT_FOUND,
    PAGE_URL,
    REFUSED,
    TITLE,
    WIKI,
)
from tests.support.quarter import CYCLE, post, write_quarter
from tests.support.ui import parse

CLOSE = {
    "retro": {"learned": "Drills <b>pay</b>", "differently": "Start earlier", "space": "PLAT"},
    "carry_over": ["PLAT-1.1"],
}


def _site(app: Flask, client: FlaskClient, admin: dict[str, str]) -> dict[str, str]:
    install(app)
    install(app, client_key=CONFLUENCE_KEY, base_url=WIKI, product="confluence")
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    write_quarter(client, headers)
    return headers


def _posts() -> list[Any]:
    return [c for c in responses.calls if c.request.method == "POST"]


def _outbound(app: Flask) -> Outbound | None:
    with services_of(app).store.session() as session:
        row = session.scalar(select(Outbound).where(Outbound.kind == RETRO_PAGE))
        if row is not None:
            session.expunge(row)
        return row


def _flush(app: Flask) -> None:
    with services_of(app).store.session() as session:
        sites = session.scalars(select(CycleClose.site_id)).all()
    for site_id in sites:
        services_of(app).jobs.flush_outbound(site_id)


def _retro_view(client: FlaskClient) -> Any:
    url = signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE, "view": "retro"})
    return parse(client.get(url).text).find(data_retro_page=True)


@responses.activate
def test_the_retrospective_is_published_as_a_signed_storage_page_embedding_the_panel(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    headers = _site(app, client, admin)
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, json=CREATED, status=200)
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"] == {"id": "393217", "url": PAGE_URL, "status": "published"}
    lookup = responses.calls[0].request
    assert lookup.params == {"spaceKey": "PLAT", "title": TITLE, "type": "page"}
    request = _posts()[0].request
    scheme, token = request.headers["Authorization"].split(" ", 1)
    assert scheme == "JWT"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["iss"] == "okrlink"
    assert claims["qsh"] == hashlib.sha256(b"POST&/rest/api/content&").hexdigest()
    sent = json.loads(request.body)
    assert (sent["type"], sent["space"], sent["title"]) == ("page", {"key": "PLAT"}, TITLE)
    storage = sent["body"]["storage"]
    assert storage["representation"] == "storage"
    assert "<p>Drills &lt;b&gt;pay&lt;/b&gt;</p>" in storage["value"]
    assert (
        '<ac:structured-macro ac:name="okr-panel" ac:schema-version="1">'
        '<ac:parameter ac:name="team">PLAT</ac:parameter>'
        '<ac:parameter ac:name="cycle">2026-Q4</ac:parameter>'
        '<ac:parameter ac:name="view">retro</ac:parameter>'
    ) in storage["value"]
    assert "<td>PLAT-1.1</td>" in storage["value"] and "carried over" in storage["value"]
    assert _outbound(app) is None
    shown = _retro_view(client)
    assert shown.attrs["data-retro-page"] == "published"
    assert shown.find("a", href=PAGE_URL).attrs["data-page-id"] == "393217"


@responses.activate
def test_a_503_leaves_a_queued_retry_that_publishes_one_page(
    app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock
) -> None:
    headers = _site(app, client, admin)
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, status=503, json={"statusCode": 503, "message": "Unavailable"})
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"]["status"] == "pending"
    assert "publish the retrospective" in closed["retro_page"]["error"]
    assert len(_posts()) == 1  # no retry inside the request
    assert _retro_view(client).attrs["data-retro-page"] == "pending"
    responses.replace(responses.POST, CONTENT, json=CREATED, status=200)
    clock.current += timedelta(minutes=11)
    _flush(app)
    assert len(_posts()) == 2 and _outbound(app) is None
    shown = _retro_view(client)  # the cached view moved with the publication
    assert shown.attrs["data-retro-page"] == "published"
    assert shown.find("a", href=PAGE_URL)
    _flush(app)
    assert len(_posts()) == 2


@responses.activate
def test_a_429_is_retried_only_after_its_retry_after(
    app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock
) -> None:
    headers = _site(app, client, admin)
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(
        CONTENT,
        status=429,
        headers={"Retry-After": "120"},
        json={"statusCode": 429, "message": "Rate limited"},
    )
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"]["status"] == "pending"
    row = _outbound(app)
    assert row is not None and row.due_at == clock.current + timedelta(seconds=120)
    responses.replace(responses.POST, CONTENT, json=CREATED, status=200)
    clock.current += timedelta(seconds=119)
    _flush(app)
    assert len(_posts()) == 1
    clock.current += timedelta(seconds=1)
    _flush(app)
    assert len(_posts()) == 2 and _outbound(app) is None


@responses.activate
def test_a_timeout_after_confluence_created_the_page_does_not_publish_it_twice(
    app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock
) -> None:
    headers = _site(app, client, admin)
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, body=requests.exceptions.ReadTimeout("read timed out"))
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"]["status"] == "pending"
    assert "timed out" in closed["retro_page"]["error"]
    responses.replace(responses.GET, CONTENT, json=FOUND)  # Confluence did create it
    clock.current += timedelta(minutes=11)
    _flush(app)
    assert len(_posts()) == 1
    assert _outbound(app) is None
    with services_of(app).store.session() as session:
        stored = session.scalars(select(CycleClose)).one()
        assert (stored.retro_page_id, stored.retro_page_url) == ("393217", PAGE_URL)
    again = client.post(f"/api/v1/cycles/{CYCLE}/close?team=PLAT", json=CLOSE, headers=headers)
    assert again.status_code == 409
    assert len(_posts()) == 1


@responses.activate
def test_a_403_is_parked_with_its_reason_and_shown_in_the_retro_view(
    app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock
) -> None:
    headers = _site(app, client, admin)
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, status=403, json=REFUSED)
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"] == {
        "error": "publish the retrospective: Not permitted to create page in space PLAT",
        "status": "failed",
    }
    row = _outbound(app)
    assert row is not None and row.failed_at is not None
    clock.current += timedelta(hours=2)
    _flush(app)
    assert len(_posts()) == 1  # parked: nothing tries again by itself
    shown = _retro_view(client)
    assert shown.attrs["data-retro-page"] == "failed"
    assert shown.find(data_error=True).text.endswith("Not permitted to create page in space PLAT")
    again = client.patch("/api/v1/key-results/PLAT-1.2", json={"target": 4}, headers=headers)
    assert again.status_code == 409


@responses.activate
def test_without_a_confluence_installation_it_waits_and_publishes_once_installed(
    app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock
) -> None:
    install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    write_quarter(client, headers)
    closed = post(client, headers, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE)
    assert closed["retro_page"] == {
        "error": "okrlink is not installed on this site's Confluence",
        "status": "pending",
    }
    install(app, client_key=CONFLUENCE_KEY, base_url=WIKI, product="confluence")
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, json=CREATED)
    clock.current += timedelta(hours=1)
    _flush(app)
    assert len(_posts()) == 1 and _outbound(app) is None
    assert _retro_view(client).find("a", href=PAGE_URL)


def test_closing_without_a_space_publishes_nothing(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    headers = _site(app, client, admin)
    closed = post(
        client, headers, f"/cycles/{CYCLE}/close?team=PLAT", {"retro": {"learned": "Drills pay"}}
    )
    assert "retro_page" not in closed
    assert _outbound(app) is None
    url = signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE, "view": "retro"})
    retro = parse(client.get(url).text)
    assert retro.find(data_learned=True).text == "Drills pay"
    assert retro.find_all(data_retro_page=True) == []

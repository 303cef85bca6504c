"""The Forge door: FIT first, the installation as tenant, and the same sync as the Connect door."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from connect.services import services_of
from sync.db.model import InboxEvent, Installation, Site
from tests.support.forge import (
    CLOUD_ID,
    INSTALLATION,
    JWKS_URL,
    LIFECYCLE_MODULE,
    STRANGER_KEY,
    SYSTEM_TOKEN,
    UI_MODULE,
    fit,
    fit_claims,
    forge_headers,
    forge_issue_event,
    installed_event,
    jwks_document,
)
from tests.support.jira import (
    create_okrs,
    get_kr,
    glance_property,
    install_jira,
    issue_event,
    link,
    post_webhook,
    property_url,
)

SITE = "acme.atlassian.net"
CONNECT_CLIENT = "jira-acme"
FORGE_CLIENT = f"forge:{INSTALLATION}"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KRS = [{"key": "PLAT-1.1", "title": "Ship the two failover epics", "kind": "issues"}]


def _rows(app: Flask, model: type) -> list[Any]:
    with services_of(app).store.session() as session:
        rows = session.scalars(select(model)).all()
        session.expunge_all()
        return list(rows)


def _install_forge(client: FlaskClient, **claims: Any) -> TestResponse:
    token = fit(fit_claims(**{"module": LIFECYCLE_MODULE, **claims}))
    return client.post("/forge/lifecycle", json=installed_event(), headers=forge_headers(token))


def _issue(kind: str, key: str, category: str, updated: datetime) -> dict[str, Any]:
    changes = [("status", "Status", "To Do", "Done")] if kind == "updated" else []
    return issue_event(
        kind,
        key=key,
        issue_id=key.split("-")[1],
        category=category,
        updated=updated,
        changes=changes,
    )


@pytest.fixture
def outbound(forge_keys: responses.RequestsMock) -> responses.RequestsMock:
    """Forge's JWKS and Jira's issue property endpoints, answered locally."""
    for key in ("PLAT-12", "PLAT-40"):
        forge_keys.put(property_url(key), status=200)
        forge_keys.put(property_url(key, glance_property()), status=200)
        forge_keys.get(f"https://acme.atlassian.net/rest/api/3/issue/{key}", status=404)
    forge_keys.put(re.compile(r"https://api\.atlassian\.com/ex/jira/.*"), status=200)
    return forge_keys


# --- the tenant a valid FIT names -----------------------------------------------------------


def test_installed_event_records_a_forge_installation_in_the_site_of_its_cloud_id(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    response = _install_forge(client)
    assert response.status_code == 200, response.json
    [row] = _rows(app, Installation)
    assert (row.client_key, row.door, row.product, row.enabled) == (
        FORGE_CLIENT,
        "forge",
        "jira",
        True,
    )
    [site] = _rows(app, Site)
    assert (site.id, site.host, site.cloud_id) == (row.site_id, SITE, CLOUD_ID)
    assert response.json["site"] == site.id


def test_the_system_token_is_kept_encrypted_with_the_api_base_url_of_the_fit(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    site_id = _install_forge(client).json["site"]
    tokens = services_of(app).forge_tokens
    credentials = tokens.get(site_id, "jira")
    assert credentials.token == SYSTEM_TOKEN
    assert credentials.api_base_url == f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
    assert all(SYSTEM_TOKEN not in entry[0] for entry in tokens._tokens.values())


def test_a_site_installed_through_connect_keeps_its_okrs_through_the_forge_door(
    app: Flask, client: FlaskClient, admin: dict[str, str], outbound: responses.RequestsMock
) -> None:
    install_jira(app, CONNECT_CLIENT)
    create_okrs(client, admin, site=CONNECT_CLIENT, krs=KRS)
    assert _install_forge(client).status_code == 200
    installations = {row.client_key: row for row in _rows(app, Installation)}
    assert installations[FORGE_CLIENT].site_id == installations[CONNECT_CLIENT].site_id
    assert len(_rows(app, Site)) == 1
    panel = client.post(
        "/forge/panel",
        json={"team": "PLAT", "cycle": "2026-Q4"},
        headers=forge_headers(module=UI_MODULE),
    )
    assert panel.status_code == 200, panel.json
    assert 'data-kr="PLAT-1.1"' in panel.json["html"]


def test_uninstalled_event_disables_the_installation_and_keeps_the_site(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    _install_forge(client)
    uninstalled = {**installed_event(), "eventType": "avi:forge:uninstalled:app"}
    gone = client.post(
        "/forge/lifecycle", json=uninstalled, headers=forge_headers(module=LIFECYCLE_MODULE)
    )
    assert gone.json["status"] == "uninstalled"
    [row] = _rows(app, Installation)
    assert row.enabled is False
    refused = client.post(
        "/forge/panel", json={"team": "PLAT"}, headers=forge_headers(module=UI_MODULE)
    )
    assert refused.status_code == 403
    assert _install_forge(client).status_code == 200
    assert _rows(app, Installation)[0].enabled is True


# --- tokens that do not verify change nothing ---------------------------------------------


def _expired() -> str:
    return fit(fit_claims(now=time.time() - 3600))


def _wrong_audience() -> str:
    return fit({**fit_claims(), "aud": "ari:cloud:ecosystem::app/another-app"})


def _unknown_kid() -> str:
    return fit(key=STRANGER_KEY, kid="rotated-away")


def _unsigned() -> str:
    return fit(algorithm="none")


def _wrong_key() -> str:
    return fit(key=STRANGER_KEY)


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "expired": _expired,
    "wrong_audience": _wrong_audience,
    "unknown_kid": _unknown_kid,
    "unsigned": _unsigned,
    "signed_by_another_key": _wrong_key,
}


@pytest.mark.parametrize("path", ["/forge/lifecycle", "/forge/events", "/forge/panel"])
@pytest.mark.parametrize("bad", sorted(BAD_TOKENS))
def test_a_token_that_does_not_verify_gets_401_and_changes_nothing(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock, path: str, bad: str
) -> None:
    body = {
        "/forge/lifecycle": installed_event(),
        "/forge/events": forge_issue_event(_issue("created", "PLAT-12", "new", T0)),
        "/forge/panel": {"team": "PLAT"},
    }[path]
    response = client.post(path, json=body, headers=forge_headers(BAD_TOKENS[bad]()))
    assert response.status_code == 401, response.json
    assert _rows(app, Installation) == []
    assert _rows(app, InboxEvent) == []
    assert len(services_of(app).forge_tokens) == 0


def test_an_unknown_kid_refetches_the_keys_once_before_refusing(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    response = client.post(
        "/forge/panel", json={"team": "PLAT"}, headers=forge_headers(_unknown_kid())
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "forge_key_unknown"
    assert len([c for c in forge_keys.calls if c.request.url == JWKS_URL]) == 1


def test_a_rotated_key_is_picked_up_on_refresh(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    jwks = services_of(app).forge_jwks
    jwks._min_refresh = 0.0
    assert _install_forge(client).status_code == 200
    forge_keys.replace(responses.GET, JWKS_URL, json=jwks_document(STRANGER_KEY, "rotated"))
    token = fit(fit_claims(module=UI_MODULE), key=STRANGER_KEY, kid="rotated")
    response = client.post("/forge/panel", json={"team": "PLAT"}, headers=forge_headers(token))
    assert response.status_code == 200


def test_a_request_without_a_token_gets_401(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    response = client.post("/forge/events", json={"eventType": "avi:jira:created:issue"})
    assert response.status_code == 401
    assert _rows(app, InboxEvent) == []


# --- one change, two doors, the same KR ----------------------------------------------------


@pytest.fixture(params=["connect", "forge"])
def door(
    request: pytest.FixtureRequest, app: Flask, client: FlaskClient
) -> Callable[[dict[str, Any]], TestResponse]:
    """Install the site through one door; returns how that door delivers a Jira change."""
    if request.param == "connect":
        secret = install_jira(app, CONNECT_CLIENT)
        return lambda webhook: post_webhook(
            client, webhook, secret=secret, client_key=CONNECT_CLIENT
        )
    assert _install_forge(client).status_code == 200
    return lambda webhook: client.post(
        "/forge/events", json=forge_issue_event(webhook), headers=forge_headers()
    )


def test_an_issue_update_moves_the_kr_the_same_through_either_door(
    client: FlaskClient,
    admin: dict[str, str],
    outbound: responses.RequestsMock,
    door: Callable[[dict[str, Any]], TestResponse],
) -> None:
    create_okrs(client, admin, site=SITE, krs=KRS)
    for key in ("PLAT-12", "PLAT-40"):
        link(client, admin, site=SITE, kr="PLAT-1.1", target=key)
        assert door(_issue("created", key, "new", T0)).json["status"] == "accepted"
    assert get_kr(client, admin, site=SITE, kr="PLAT-1.1")["progress"] == 0.0

    assert door(_issue("updated", "PLAT-12", "done", T0 + timedelta(hours=1))).status_code == 200
    kr = get_kr(client, admin, site=SITE, kr="PLAT-1.1")
    assert (kr["done"], kr["total"], kr["progress"]) == (1.0, 2.0, 0.5)

    assert door(_issue("deleted", "PLAT-40", "new", T0 + timedelta(hours=2))).status_code == 200
    kr = get_kr(client, admin, site=SITE, kr="PLAT-1.1")
    assert (kr["done"], kr["total"], kr["progress"]) == (1.0, 1.0, 1.0)


def test_an_older_event_arriving_late_changes_nothing_through_either_door(
    client: FlaskClient,
    admin: dict[str, str],
    outbound: responses.RequestsMock,
    door: Callable[[dict[str, Any]], TestResponse],
) -> None:
    create_okrs(client, admin, site=SITE, krs=KRS)
    link(client, admin, site=SITE, kr="PLAT-1.1", target="PLAT-12")
    door(_issue("updated", "PLAT-12", "done", T0 + timedelta(hours=1)))
    door(_issue("created", "PLAT-12", "new", T0))
    assert get_kr(client, admin, site=SITE, kr="PLAT-1.1")["progress"] == 1.0


def test_a_redelivered_forge_event_is_recorded_once(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    _install_forge(client)
    event = forge_issue_event(_issue("created", "PLAT-12", "new", T0))
    first = client.post("/forge/events", json=event, headers=forge_headers())
    again = client.post("/forge/events", json=event, headers=forge_headers())
    assert (first.json["status"], again.json["status"]) == ("accepted", "duplicate")
    [row] = _rows(app, InboxEvent)
    assert (row.source, row.scope, row.event) == ("forge", FORGE_CLIENT, "jira_issue")
    assert row.payload["key"] == "PLAT-12"


def test_an_event_that_is_not_an_issue_event_is_400_and_not_recorded(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    _install_forge(client)
    response = client.post(
        "/forge/events",
        headers=forge_headers(),
        json={"eventType": "avi:jira:viewed:issue", "issue": {}},
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_event"
    assert _rows(app, InboxEvent) == []


# --- write-back through the door the site came in by ------------------------------------------


def test_a_forge_only_site_gets_its_issue_property_written_with_the_app_system_token(
    client: FlaskClient, admin: dict[str, str], forge_keys: responses.RequestsMock
) -> None:
    gateway = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}/rest/api/3/issue/PLAT-12/properties"
    forge_keys.put(f"{gateway}/okrlink", status=200)
    forge_keys.put(f"{gateway}/{glance_property()}", status=200)
    issue = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}/rest/api/3/issue/PLAT-12"
    forge_keys.get(issue, status=404)  # the link-time fetch goes through the gateway too
    assert _install_forge(client).status_code == 200
    create_okrs(client, admin, site=SITE, krs=KRS)
    link(client, admin, site=SITE, kr="PLAT-1.1", target="PLAT-12")
    forge_keys.calls.reset()
    event = forge_issue_event(_issue("updated", "PLAT-12", "done", T0 + timedelta(hours=1)))
    assert client.post("/forge/events", json=event, headers=forge_headers()).status_code == 200

    assert get_kr(client, admin, site=SITE, kr="PLAT-1.1")["progress"] == 1.0
    sent = [call.request for call in forge_keys.calls if call.request.method == "PUT"]
    assert sorted(unquote(request.url.rsplit("/", 1)[1]) for request in sent) == sorted(
        ["okrlink", glance_property()]
    )
    assert {request.headers["Authorization"] for request in sent} == {f"Bearer {SYSTEM_TOKEN}"}
    document = json.loads(sent[0].body)
    assert (document["origin"], document["status"], document["krKeys"]) == (
        "okrlink",
        "on_track",
        ["PLAT-1.1"],
    )


@pytest.mark.parametrize("change", ["points", "updated", "deep"])
def test_bad_input_through_the_forge_door_is_400_and_not_recorded(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock, change: str
) -> None:
    _install_forge(client)
    event = forge_issue_event(_issue("created", "PLAT-12", "new", T0))
    fields = event["issue"]["fields"]
    if change == "updated":
        fields["updated"] = "9999-12-31T23:59:59-14:00"
    if change == "points":
        fields["customfield_10016"] = float("inf")  # json.dumps writes Infinity
    body = json.dumps(event).encode()
    if change == "deep":
        body = body[:-1] + b', "nested": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post(
        "/forge/events", data=body, headers={**forge_headers(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] in {"malformed_body", "malformed_event"}
    assert _rows(app, InboxEvent) == []

"""The Forge door keys sites on signed data only, and each route takes only its own module."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import InboxEvent, Installation, Site
from tests.support.forge import (
    EVENTS_MODULE,
    LIFECYCLE_MODULE,
    UI_MODULE,
    fit,
    fit_claims,
    forge_headers,
    forge_issue_event,
    installed_event,
)
from tests.support.jira import install_jira, issue_event

GLOBEX_CLOUD = "7f1f6b5e-2c1d-4a55-9f0e-0c0ffee00002"
INITECH_CLOUD = "3c9d1e2a-8b7f-4e0d-a1b2-c3d4e5f60718"


def bare_claims(cloud_id: str, installation: str, module: tuple[str, str]) -> dict[str, Any]:
    """A FIT as Forge sends a trigger's: no `context.cloudId`, no `siteUrl`; the cloud id only
    in `app.apiBaseUrl`."""
    claims = fit_claims(
        installation=f"ari:cloud:ecosystem::installation/{installation}",
        cloud_id=cloud_id,
        module=module,
    )
    claims["context"] = {"moduleKey": module[1]}
    return claims


def sites(app: Flask) -> list[tuple[str | None, str | None]]:
    with services_of(app).store.session() as session:
        return [(s.host, s.cloud_id) for s in session.scalars(select(Site).order_by(Site.id))]


def site_of(app: Flask, client_key: str) -> int:
    with services_of(app).store.session() as session:
        row = session.scalar(select(Installation).where(Installation.client_key == client_key))
        assert row is not None
        return row.site_id


def install(client: FlaskClient, claims: dict[str, Any], body: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        "/forge/lifecycle", json=body or installed_event(), headers=forge_headers(fit(claims))
    )


def test_two_forge_installs_without_a_site_url_stay_two_sites(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    for cloud, installation in ((GLOBEX_CLOUD, "globex-1"), (INITECH_CLOUD, "initech-1")):
        answer = install(client, bare_claims(cloud, installation, LIFECYCLE_MODULE))
        assert answer.status_code == 200, answer.json
    assert site_of(app, "forge:ari:cloud:ecosystem::installation/globex-1") != site_of(
        app, "forge:ari:cloud:ecosystem::installation/initech-1"
    )
    assert sorted(c for _, c in sites(app) if c) == sorted([GLOBEX_CLOUD, INITECH_CLOUD])
    assert all(host != "api.atlassian.com" for host, _ in sites(app))


def test_the_body_never_names_the_site(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    assert (
        install(client, bare_claims(GLOBEX_CLOUD, "globex-1", LIFECYCLE_MODULE)).status_code == 200
    )
    forged = {
        **installed_event(cloud_id=GLOBEX_CLOUD),
        "context": {"cloudId": GLOBEX_CLOUD, "siteUrl": "https://globex.atlassian.net"},
    }
    answer = install(client, bare_claims(INITECH_CLOUD, "initech-1", LIFECYCLE_MODULE), forged)
    assert answer.status_code == 200
    globex = site_of(app, "forge:ari:cloud:ecosystem::installation/globex-1")
    assert site_of(app, "forge:ari:cloud:ecosystem::installation/initech-1") != globex


def test_a_site_of_another_cloud_is_not_joined_by_its_host(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    """acme.atlassian.net is known with one cloud id; a FIT naming the same host with another
    cloud id is another site, not the first one's OKRs and Jira token."""
    first = fit_claims(cloud_id=GLOBEX_CLOUD, module=LIFECYCLE_MODULE)
    assert install(client, first).status_code == 200
    second = fit_claims(
        installation="ari:cloud:ecosystem::installation/other",
        cloud_id=INITECH_CLOUD,
        module=LIFECYCLE_MODULE,
    )
    assert install(client, second).status_code == 200
    assert site_of(app, "forge:ari:cloud:ecosystem::installation/other") != site_of(
        app, "forge:" + first["app"]["installationId"]
    )


def test_a_connect_site_without_a_cloud_id_is_joined_by_its_host(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock
) -> None:
    """Moving from the Connect door keeps the site's OKRs (the FIT's signed `siteUrl`)."""
    install_jira(app, "jira-acme")
    claims = fit_claims(module=LIFECYCLE_MODULE)
    assert install(client, claims).status_code == 200
    assert site_of(app, "forge:" + claims["app"]["installationId"]) == site_of(app, "jira-acme")


@pytest.mark.parametrize(
    "module", [LIFECYCLE_MODULE, ("core:endpoint", "okrlink-lifecycle-events")]
)
def test_the_lifecycle_route_takes_its_trigger(
    client: FlaskClient, forge_keys: responses.RequestsMock, module: tuple[str, str]
) -> None:
    assert install(client, fit_claims(module=module)).status_code == 200


@pytest.mark.parametrize("module", [UI_MODULE, EVENTS_MODULE], ids=["ui", "events"])
def test_no_other_module_reaches_the_lifecycle_route(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock, module: tuple[str, str]
) -> None:
    claims = fit_claims(module=LIFECYCLE_MODULE)
    assert install(client, claims).status_code == 200
    uninstall = {"eventType": "avi:forge:uninstalled:app"}
    refused = client.post(
        "/forge/lifecycle", json=uninstall, headers=forge_headers(fit(fit_claims(module=module)))
    )
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"
    with services_of(app).store.session() as session:
        assert session.scalar(select(Installation.enabled)) is True


@pytest.mark.parametrize("module", [UI_MODULE, LIFECYCLE_MODULE], ids=["ui", "lifecycle"])
def test_no_other_module_reaches_the_events_route(
    app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock, module: tuple[str, str]
) -> None:
    from datetime import UTC, datetime

    event = forge_issue_event(
        issue_event("created", key="PLAT-12", issue_id="10012", updated=datetime.now(UTC))
    )
    refused = client.post(
        "/forge/events", json=event, headers=forge_headers(fit(fit_claims(module=module)))
    )
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"
    with services_of(app).store.session() as session:
        assert session.scalars(select(InboxEvent)).all() == []
        assert session.scalars(select(Installation)).all() == []
    accepted = client.post("/forge/events", json=event, headers=forge_headers(module=EVENTS_MODULE))
    assert accepted.status_code == 200


@pytest.mark.parametrize("module", [LIFECYCLE_MODULE, EVENTS_MODULE], ids=["lifecycle", "events"])
@pytest.mark.parametrize("path", ["/forge/panel", "/forge/project/page"])
def test_the_triggers_do_not_reach_the_custom_ui_routes(
    client: FlaskClient, forge_keys: responses.RequestsMock, module: tuple[str, str], path: str
) -> None:
    refused = client.post(
        path, json={"team": "PLAT"}, headers=forge_headers(fit(fit_claims(module=module)))
    )
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"

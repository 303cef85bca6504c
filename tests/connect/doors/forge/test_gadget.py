"""The Jira dashboard gadget through the Forge door: its panel for the gadget's configuration
(the macro's static rendering, from the same cache, with its ETag and 304s) and its edit view's
settings form, each for a verified Forge Invocation Token; anything else is refused."""

from __future__ import annotations

import time
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import Installation
from tests.support.app import CLIENT_KEY, PANEL_NOW, SECRET, check_in, panel_site
from tests.support.forge import STRANGER_KEY, fit, fit_claims, forge_headers
from tests.support.signing import signed_headers
from tests.support.ui import parse

GADGET_MODULE = ("jira:dashboardGadget", "okr-dashboard-gadget")
GADGET = "/forge/gadget"
EDIT = "/forge/gadget/edit"
SETTINGS = {"team": "PLAT", "cycle": "", "view": "compact", "locale": "en"}


@pytest.fixture
def site(app: Flask, forge_keys: responses.RequestsMock) -> int:
    """The example OKRs on a site installed through Connect: the FIT's site is the same one."""
    return panel_site(app)


def forge_installations(app: Flask) -> list[Any]:
    with services_of(app).store.session() as session:
        return [row.client_key for row in session.scalars(select(Installation))]


def connect_static(client: FlaskClient, view: str) -> bytes:
    url = f"/confluence/macro/okr-panel/static?team=PLAT&cycle=&view={view}"
    headers = signed_headers(SECRET, client_key=CLIENT_KEY, method="GET", url=url)
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.data


def test_the_gadget_shows_the_same_panel_as_the_connect_door(
    client: FlaskClient, site: int
) -> None:
    for view in ("compact", "full"):
        response = client.post(
            GADGET, json={**SETTINGS, "view": view}, headers=forge_headers(module=GADGET_MODULE)
        )
        assert response.status_code == 200, response.json
        assert response.json["configured"] is True
        assert response.json["html"].encode() == connect_static(client, view)
    full = parse(response.json["html"])
    assert full.find("section", data_kpi_charts=True)
    assert not full.find_all("script")


def test_a_matching_etag_gets_304_until_a_check_in_changes_the_panel(
    app: Flask, client: FlaskClient, site: int
) -> None:
    first = client.post(GADGET, json=SETTINGS, headers=forge_headers(module=GADGET_MODULE))
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    headers = {**forge_headers(module=GADGET_MODULE), "If-None-Match": etag}
    again = client.post(GADGET, json=SETTINGS, headers=headers)
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", etag)
    check_in(app, site, "PLAT-1.1", value=99.9, at=PANEL_NOW)
    changed = client.post(GADGET, json=SETTINGS, headers=headers)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    cache = services_of(app).ui_page_cache
    assert cache.misses == 2  # the first load and the changed one: the 304 rendered nothing


def test_an_unconfigured_gadget_says_how_to_configure_it(client: FlaskClient, site: int) -> None:
    response = client.post(
        GADGET, json={"locale": "fr"}, headers=forge_headers(module=GADGET_MODULE)
    )
    assert response.status_code == 200
    assert response.json["configured"] is False
    assert "choisissez Modifier dans son menu" in parse(response.json["html"]).find("p").text


def test_a_team_that_is_not_a_team_key_is_refused(client: FlaskClient, site: int) -> None:
    response = client.post(
        GADGET,
        json={**SETTINGS, "team": "<b>PLAT</b>"},
        headers=forge_headers(module=GADGET_MODULE),
    )
    assert response.status_code == 422
    assert response.json["error"]["field"] == "team"


def test_the_edit_view_is_the_settings_form_filled_with_the_configuration(
    client: FlaskClient, site: int
) -> None:
    response = client.post(
        EDIT,
        json={"team": "PLAT", "view": "compact", "locale": "fr"},
        headers=forge_headers(module=GADGET_MODULE),
    )
    assert response.status_code == 200
    root = parse(response.json["html"])
    form = root.find("div", data_gadget="forge").find("form", data_form="gadget-config")
    assert "hidden" not in form.attrs
    assert form.find("label").text == "Équipe"
    chosen = {
        select.attrs["name"]: [o.attrs["value"] for o in select.find_all("option", selected=True)]
        for select in form.find_all("select")
    }
    assert chosen == {"team": ["PLAT"], "cycle": [""], "view": ["compact"]}
    assert not root.find_all("script")  # the shell runs none anyway
    assert not root.find_all(data_gadget_panel=True)


def _expired() -> str:
    return fit(fit_claims(now=time.time() - 3600))


@pytest.mark.parametrize("path", [GADGET, EDIT])
@pytest.mark.parametrize(
    ("token", "code"),
    [
        (_expired, "token_expired"),
        (lambda: fit(key=STRANGER_KEY), "token_signature"),
        (lambda: fit(algorithm="none"), "token_algorithm"),
    ],
    ids=["expired", "signed_by_another_key", "unsigned"],
)
def test_a_token_that_does_not_verify_gets_401_and_changes_nothing(
    app: Flask, client: FlaskClient, site: int, path: str, token: Any, code: str
) -> None:
    response = client.post(path, json=SETTINGS, headers=forge_headers(token()))
    assert response.status_code == 401
    assert response.json["error"]["code"] == code
    assert forge_installations(app) == [CLIENT_KEY]  # no Forge installation recorded
    assert services_of(app).ui_page_cache.misses == 0  # nothing rendered or kept


def test_without_a_token_the_gadget_is_refused(app: Flask, client: FlaskClient, site: int) -> None:
    response = client.post(GADGET, json=SETTINGS)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "token_missing"
    assert services_of(app).ui_page_cache.misses == 0

"""The Jira dashboard gadget through the Connect door: the dashboard item in the descriptor,
its page (signed by Jira), and the panel its script loads with the page's token, from the
panel's cache with its ETag and 304s. Reading is for anyone signed in on the site."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.doors.atlassian_connect.connect_jwt import CONTEXT_QSH
from connect.doors.atlassian_connect.descriptors import render_descriptor
from connect.services import services_of
from connect.ui.assets import csp_hash
from connect.ui.gadget import PROPERTY_KEY, GadgetConfig
from tests.support.app import (
    ACCOUNT,
    CLIENT_KEY,
    PANEL,
    PANEL_NOW,
    SECRET,
    check_in,
    install,
    panel_site,
    signed_url,
)
from tests.support.ui import Node, parse

ITEM = "/jira/dashboard-item"
ITEM_PANEL = "/jira/dashboard-item/panel"
ITEM_PARAMS = {"dashboardId": "10100", "dashboardItemId": "20200", "viewType": "default"}
GADGET = {"team": "PLAT", "cycle": "", "view": "compact", "lang": "en"}


@pytest.fixture
def site(app: Flask) -> int:
    return panel_site(app)


def gadget(html: str) -> Node:
    return parse(html).find("div", data_gadget="connect")


def page_token(client: FlaskClient, params: dict[str, str] | None = None) -> tuple[Node, str]:
    response = client.get(signed_url(ITEM, params or ITEM_PARAMS))
    assert response.status_code == 200, response.text
    node = gadget(response.text)
    return node, node.attrs["data-token"]


def panel_url(node: Node, config: dict[str, str]) -> str:
    base = node.attrs["data-panel-url"]
    query = "&".join(f"{k}={v}" for k, v in config.items() if k != "lang")
    return f"{base}&{query}"


def fetch_panel(client: FlaskClient, url: str, token: str, **headers: str):
    return client.get(url, headers={"Authorization": f"JWT {token}", **headers})


# --- the descriptor -----------------------------------------------------------------------


def test_the_descriptor_offers_a_configurable_dashboard_item_at_our_page() -> None:
    descriptor = render_descriptor("jira", base_url="https://okr.example.com", app_key="okrlink")
    (item,) = descriptor["modules"]["jiraDashboardItems"]
    assert item["key"] == "okr-dashboard-item"
    assert item["configurable"] is True
    assert item["thumbnailUrl"] == "/atlassian/okrlink.svg"
    url = urlsplit(item["url"])
    assert url.path == ITEM
    assert {k: v[0] for k, v in parse_qs(url.query).items()} == {
        "dashboardId": "{dashboard.id}",
        "dashboardItemId": "{dashboardItem.id}",
        "viewType": "{dashboardItem.viewType}",
    }


# --- the gadget's page --------------------------------------------------------------------


def test_the_signed_page_names_its_dashboard_item_and_offers_the_sites_teams(
    client: FlaskClient, site: int
) -> None:
    response = client.get(signed_url(ITEM, ITEM_PARAMS))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"  # it carries a token
    node = gadget(response.text)
    assert (node.attrs["data-dashboard"], node.attrs["data-item"]) == ("10100", "20200")
    assert node.attrs["data-property"] == PROPERTY_KEY == "okrlink-gadget"
    assert urlsplit(node.attrs["data-panel-url"]).path == ITEM_PANEL
    assert "jwt=" not in node.attrs["data-panel-url"]  # the token travels in a header
    claims = jwt.decode(node.attrs["data-token"], SECRET, algorithms=["HS256"])
    assert (claims["iss"], claims["sub"], claims["qsh"]) == (CLIENT_KEY, ACCOUNT, CONTEXT_QSH)
    form = node.find("form", data_form="gadget-config")
    assert "hidden" in form.attrs  # the script shows it when the item has no settings yet
    assert [o.attrs["value"] for o in form.find("select", id="g-team").find_all("option")] == [
        "PLAT"
    ]
    cycles = [o.attrs["value"] for o in form.find("select", id="g-cycle").find_all("option")]
    assert cycles == ["", "2026-Q4"]
    views = [o.attrs["value"] for o in form.find("select", id="g-view").find_all("option")]
    assert views == ["compact", "full"]
    assert node.find(data_gadget_panel=True)


def test_the_page_speaks_the_readers_language(client: FlaskClient, site: int) -> None:
    node, _token = page_token(client, {**ITEM_PARAMS, "loc": "fr-FR"})
    form = node.find("form", data_form="gadget-config")
    assert form.find("label").text == "Équipe"
    assert node.attrs["data-msg-not-saved"].startswith("Non enregistré")
    assert "lang=fr" in node.attrs["data-panel-url"]


def test_the_page_allows_its_two_scripts_and_requests_to_us_only(
    client: FlaskClient, site: int
) -> None:
    response = client.get(signed_url(ITEM, ITEM_PARAMS))
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert len(inline) == 2
    assert policy["script-src"] == (
        f"{csp_hash('okrlink.js')} {csp_hash('gadget.js')} https://connect-cdn.atl-paas.net"
    )
    assert policy["connect-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    # Other pages do not run the gadget's script (their requests, the owner picker's, go to
    # okrlink alone as well).
    macro = client.get(signed_url(PANEL, {"team": "PLAT"}))
    assert csp_hash("gadget.js") not in macro.headers["Content-Security-Policy"]
    assert "connect-src 'self';" in macro.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "params",
    [
        {**ITEM_PARAMS, "dashboardId": "x"},
        {"dashboardItemId": "20200"},
        {**ITEM_PARAMS, "dashboardItemId": "1 OR 1"},
    ],
)
def test_a_page_without_its_dashboard_item_is_a_400(
    client: FlaskClient, site: int, params: dict[str, str]
) -> None:
    response = client.get(signed_url(ITEM, params))
    assert response.status_code == 400
    assert parse(response.text).find("h1").text == "400 dashboard item"


# --- refusals -----------------------------------------------------------------------------


def refused(response, code_words: str) -> None:
    assert response.status_code == 401
    assert response.mimetype == "text/html"
    assert parse(response.text).find("h1").text == f"401 {code_words}"
    assert "data-kr" not in response.text and "data-gadget" not in response.text


def test_without_a_token_the_page_and_the_panel_are_refused(
    app: Flask, client: FlaskClient, site: int
) -> None:
    cache = services_of(app).ui_page_cache
    refused(client.get(ITEM + "?dashboardId=1&dashboardItemId=2"), "token missing")
    refused(client.get(ITEM_PANEL + "?team=PLAT"), "token missing")
    assert cache.misses == 0  # nothing was rendered, nothing stored


def test_a_forged_or_expired_token_is_refused(app: Flask, client: FlaskClient, site: int) -> None:
    forged = signed_url(ITEM, ITEM_PARAMS, secret="not-the-shared-secret-but-32-characters")
    refused(client.get(forged), "token signature")
    expired = jwt.encode(
        {"iss": CLIENT_KEY, "iat": 1, "exp": 2, "qsh": CONTEXT_QSH}, SECRET, algorithm="HS256"
    )
    node, _token = page_token(client)
    refused(fetch_panel(client, panel_url(node, GADGET), expired), "token expired")
    assert services_of(app).ui_page_cache.misses == 0


def test_the_page_refuses_a_context_token(client: FlaskClient, site: int) -> None:
    assert client.get(signed_url(ITEM, ITEM_PARAMS, context=True)).status_code == 401


# --- the panel it shows -------------------------------------------------------------------


def test_the_panel_is_the_macros_static_rendering_for_the_items_settings(
    client: FlaskClient, site: int
) -> None:
    node, token = page_token(client)
    response = fetch_panel(client, panel_url(node, GADGET), token)
    assert response.status_code == 200
    same = client.get(signed_url(PANEL + "/static", {"team": "PLAT", "view": "compact"}))
    assert response.data == same.data  # one renderer, one cache entry
    root = parse(response.text)
    assert root.find("main").attrs["class"] == "okr cmp"
    assert not root.find_all("script")
    assert {n.attrs["data-kr"] for n in root.find_all(data_kr=True)} >= {"PLAT-1.1", "PLAT-2.3"}
    full = fetch_panel(client, panel_url(node, {**GADGET, "view": "full"}), token)
    assert "data-kpi-charts" in full.text and "data-kpi-charts" not in response.text


def test_a_matching_etag_gets_304_until_a_check_in_changes_the_panel(
    app: Flask, client: FlaskClient, site: int
) -> None:
    node, token = page_token(client)
    url = panel_url(node, GADGET)
    first = fetch_panel(client, url, token)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = fetch_panel(client, url, token, **{"If-None-Match": etag})
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", etag)
    check_in(app, site, "PLAT-1.1", value=99.9, at=PANEL_NOW)
    changed = fetch_panel(client, url, token, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_another_sites_token_never_shows_this_sites_panel(
    app: Flask, client: FlaskClient, site: int
) -> None:
    other_secret = "another-shared-secret-of-32-characters-or-more"
    install(
        app, client_key="jira:other", base_url="https://other.atlassian.net", secret=other_secret
    )
    node, _token = page_token(client)
    token = jwt.encode(
        {"iss": "jira:other", "iat": 1, "exp": 2**31, "qsh": CONTEXT_QSH},
        other_secret,
        algorithm="HS256",
    )
    response = fetch_panel(client, panel_url(node, GADGET), token)
    assert response.status_code == 200
    assert "data-kr" not in response.text  # the other site has no PLAT OKRs: the empty panel


def test_settings_read_from_a_property_value_keep_to_what_the_panel_takes() -> None:
    assert GadgetConfig.of({"team": " PLAT ", "cycle": "2026-Q4", "view": "compact"}) == (
        GadgetConfig(team="PLAT", cycle="2026-Q4", view="compact")
    )
    assert GadgetConfig.of({"team": 3, "view": "<b>"}) == GadgetConfig(team="", view="full")
    assert len(GadgetConfig.of({"cycle": "Q" * 500}).cycle) == 64

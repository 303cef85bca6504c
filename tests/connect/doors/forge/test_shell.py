"""The Forge Custom UI shell in headless Chromium, with a stub bridge: the same panel as Connect."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import WAIT, serving
from tests.support.forge import (
    LIFECYCLE_MODULE,
    UI_MODULE,
    fit,
    fit_claims,
    forge_headers,
    installed_event,
)
from tests.support.forge_shell import chromium, shell_app
from tests.support.jira import create_okrs, install_jira
from tests.support.signing import signed_headers

KRS = [
    {
        "key": "PLAT-1.1",
        "title": "Raise availability from 99.5% to 99.9%",
        "kind": "metric",
        "baseline": 99.5,
        "target": 99.9,
        "current": 99.7,
        "unit": "%",
    },
    {
        "key": "PLAT-1.2",
        "title": "Cut the error rate from 2% to 0.5%",
        "kind": "metric",
        "baseline": 2,
        "target": 0.5,
        "current": 1.7,
        "unit": "%",
    },
]
PANEL_RE = re.compile(r'data-kr="([^"]+)"[^>]*?data-progress="([^"]+)"')
MACRO_CONTEXT = {"locale": "en-US", "extension": {"config": {"team": "PLAT", "cycle": "2026-Q4"}}}


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app and the shell (as the macro) on a loopback port, for the browser."""
    token = fit(fit_claims(lifetime=600, module=UI_MODULE))
    with serving(shell_app(app, token, MACRO_CONTEXT)) as origin:
        yield origin


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chrome") as driver:
        yield driver


def _connect_panel(client: FlaskClient, secret: str) -> list[tuple[str, str]]:
    url = "/confluence/macro/okr-panel/static?team=PLAT&cycle=2026-Q4"
    headers = signed_headers(secret, client_key="jira-acme", method="GET", url=url)
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return PANEL_RE.findall(response.get_data(as_text=True))


def test_the_forge_shell_shows_the_same_panel_as_the_connect_iframe(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    forge_keys: responses.RequestsMock,
    served: str,
    browser: webdriver.Chrome,
) -> None:
    secret = install_jira(app, "jira-acme")
    create_okrs(client, admin, site="jira-acme", krs=KRS)
    installed = client.post(
        "/forge/lifecycle", json=installed_event(), headers=forge_headers(module=LIFECYCLE_MODULE)
    )
    assert installed.status_code == 200
    expected = _connect_panel(client, secret)
    assert [kr for kr, _ in expected] == ["PLAT-1.1", "PLAT-1.2"]

    browser.get(f"{served}/shell/index.html")
    root = browser.find_element(By.ID, "okrlink-root")
    WebDriverWait(browser, WAIT).until(lambda _: root.get_attribute("data-state"))
    assert root.get_attribute("data-state") == "ready", root.text
    nodes = browser.find_elements(By.CSS_SELECTOR, "#okrlink-root [data-kr]")
    shown = [(node.get_attribute("data-kr"), node.get_attribute("data-progress")) for node in nodes]
    assert shown == expected
    calls = browser.execute_script("return window.__calls")
    assert calls == [
        {
            "path": "/forge/panel",
            "method": "POST",
            "invokeType": "ui-remote-fetch",
            "body": {
                "team": "PLAT",
                "cycle": "2026-Q4",
                "objective": "",
                "view": "",
                "locale": "en",
            },
        }
    ]
    assert browser.find_elements(By.CSS_SELECTOR, "#okrlink-root script") == []

"""The Forge Custom UI shell in headless Chromium, with a stub bridge: the same panel as Connect."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.support.forge import fit, fit_claims, forge_headers, installed_event
from tests.support.jira import create_okrs, install_jira
from tests.support.signing import signed_headers

SHELL = Path(__file__).resolve().parents[4] / "connect" / "ui" / "forge"
CHROMIUM = "/usr/bin/chromium"
KRS = [
    {"key": "PLAT-1.1", "title": "Raise availability from 99.5% to 99.9%", "kind": "metric",
     "baseline": 99.5, "target": 99.9, "current": 99.7, "unit": "%"},
    {"key": "PLAT-1.2", "title": "Cut the error rate from 2% to 0.5%", "kind": "metric",
     "baseline": 2, "target": 0.5, "current": 1.7, "unit": "%"},
]  # fmt: skip
PANEL_RE = re.compile(r'data-kr="([^"]+)"[^>]*?data-progress="([^"]+)"')

STUB_BRIDGE = """
window.__bridge = {
  callBridge: async (name, input) => {
    if (name === "getContext") {
      return {locale: "en-US", extension: {config: {team: "PLAT", cycle: "2026-Q4"}}};
    }
    // As the Forge runtime answers @forge/bridge's invokeRemote: callBridge("invoke", ...).
    if (name !== "invoke" || input.invokeType !== "ui-remote-fetch") {
      throw new Error("unexpected bridge call " + name);
    }
    window.__calls = (window.__calls || []).concat([input]);
    const response = await fetch(input.path, {
      method: input.method,
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + FIT},
      body: JSON.stringify(input.body),
    });
    return {success: response.ok, payload: {status: response.status, body: await response.json()}};
  },
};
"""


def _shell_app(app: Flask, token: str) -> Callable[..., Iterable[bytes]]:
    """The app, plus the shell's static files and a stub bridge under `/shell/`."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = Request(environ).path
        if path == "/shell/stub-bridge.js":
            body = f"const FIT = {json.dumps(token)};\n{STUB_BRIDGE}"
            return Response(body, mimetype="text/javascript")(environ, start_response)
        if path.startswith("/shell/"):
            name = path.removeprefix("/shell/") or "index.html"
            file = SHELL / name
            if file.parent != SHELL or not file.is_file():
                return Response("not found", status=404)(environ, start_response)
            text = file.read_text()
            if name == "index.html":
                # The stub bridge is a classic script: it runs before the module shell.
                text = text.replace(
                    '<script type="module"', '<script src="stub-bridge.js"></script>\n'
                    '<script type="module"',
                )  # fmt: skip
            kind = {"html": "text/html", "js": "text/javascript", "svg": "image/svg+xml"}
            return Response(text, mimetype=kind[name.rsplit(".", 1)[1]])(environ, start_response)
        return app.wsgi_app(environ, start_response)

    return wsgi


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app and the shell on a loopback port, for the browser."""
    token = fit(fit_claims(lifetime=600))
    server = make_server("127.0.0.1", 0, _shell_app(app, token), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'chrome'}",
    ):
        options.add_argument(flag)  # fmt: skip
    driver = webdriver.Chrome(options=options)
    yield driver
    driver.quit()


def _connect_panel(client: FlaskClient, secret: str) -> list[tuple[str, str]]:
    url = "/confluence/macro/okr-panel/static?team=PLAT&cycle=2026-Q4"
    headers = signed_headers(secret, client_key="jira-acme", method="GET", url=url)
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return PANEL_RE.findall(response.get_data(as_text=True))


def test_the_forge_shell_shows_the_same_panel_as_the_connect_iframe(
    app: Flask, client: FlaskClient, admin: dict[str, str],
    forge_keys: responses.RequestsMock, served: str, browser: webdriver.Chrome,
) -> None:  # fmt: skip
    secret = install_jira(app, "jira-acme")
    create_okrs(client, admin, site="jira-acme", krs=KRS)
    installed = client.post("/forge/lifecycle", json=installed_event(), headers=forge_headers())
    assert installed.status_code == 200
    expected = _connect_panel(client, secret)
    assert [kr for kr, _ in expected] == ["PLAT-1.1", "PLAT-1.2"]

    browser.get(f"{served}/shell/index.html")
    root = browser.find_element(By.ID, "okrlink-root")
    WebDriverWait(browser, 15).until(lambda _: root.get_attribute("data-state"))
    assert root.get_attribute("data-state") == "ready", root.text
    nodes = browser.find_elements(By.CSS_SELECTOR, "#okrlink-root [data-kr]")
    shown = [(node.get_attribute("data-kr"), node.get_attribute("data-progress")) for node in nodes]
    assert shown == expected
    calls = browser.execute_script("return window.__calls")
    assert calls == [{"path": "/forge/panel", "method": "POST", "invokeType": "ui-remote-fetch",
                      "body": {"team": "PLAT", "cycle": "2026-Q4", "objective": "",
                               "view": "", "locale": "en"}}]  # fmt: skip
    assert browser.find_elements(By.CSS_SELECTOR, "#okrlink-root script") == []

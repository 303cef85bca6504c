"""The Forge Custom UI shell in a real browser: its static files and a stub of Forge's bridge that
forwards `invokeRemote` to the app with a FIT, as Forge does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from selenium import webdriver
from werkzeug.wrappers import Request, Response

SHELL = Path(__file__).resolve().parents[2] / "connect" / "ui" / "forge"
CHROMIUM = "/usr/bin/chromium"

STUB_BRIDGE = """
window.__bridge = {
  callBridge: async (name, input) => {
    if (name === "getContext") return CONTEXT;
    // A dashboard gadget's edit view submits its configuration: kept for the test to read.
    if (name === "submit") {
      window.__submitted = (window.__submitted || []).concat([input]);
      return true;
    }
    // As the Forge runtime answers @forge/bridge's invokeRemote: callBridge("invoke", ...).
    if (name !== "invoke" || input.invokeType !== "ui-remote-fetch") {
      throw new Error("unexpected bridge call " + name);
    }
    window.__calls = (window.__calls || []).concat([input]);
    const response = await fetch(input.path, {
      method: input.method,
      headers: {
        ...(input.headers || {}),
        "Content-Type": "application/json",
        "Authorization": "Bearer " + FIT,
      },
      body: JSON.stringify(input.body),
      cache: "no-store",  // what the remote answers, 304 included, not the browser's copy
    });
    window.__statuses = (window.__statuses || []).concat([response.status]);
    const text = await response.text();
    return {
      success: response.ok || response.status === 304,
      payload: {
        status: response.status,
        headers: {etag: response.headers.get("ETag")},
        body: text ? JSON.parse(text) : null,
      },
    };
  },
};
"""


def shell_app(app: Flask, token: str, context: dict[str, Any]) -> Callable[..., Iterable[bytes]]:
    """The app, plus the shell's static files and a stub bridge (answering `context` to
    `getContext`, calling the app with the FIT `token`) under `/shell/`."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = Request(environ).path
        if path == "/shell/stub-bridge.js":
            body = (
                f"const FIT = {json.dumps(token)};\nconst CONTEXT = {json.dumps(context)};\n"
                f"{STUB_BRIDGE}"
            )
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
                    '<script type="module"',
                    '<script src="stub-bridge.js"></script>\n<script type="module"',
                )
            kind = {"html": "text/html", "js": "text/javascript", "svg": "image/svg+xml"}
            return Response(text, mimetype=kind[name.rsplit(".", 1)[1]])(environ, start_response)
        return app.wsgi_app(environ, start_response)

    return wsgi


@contextmanager
def chromium(profile: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with its profile in `profile`."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    try:
        yield driver
    finally:
        driver.quit()

"""What the browser tests share: the app on a loopback port, and full-page screenshots."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from werkzeug.serving import make_server

SHOTS = Path(__file__).resolve().parents[2] / "bench" / "screenshots"


@contextmanager
def serving(wsgi: Callable[..., Iterable[bytes]] | Any) -> Iterator[str]:
    """`wsgi` (the app, or an app around it) on a free loopback port from a thread; yields its
    origin."""
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


WAIT = 30
"""Seconds a browser test waits for a page or a script: a wait ends as soon as it is met, and
the suite runs beside other work on two shared cores, where a page posted by one test process
can take seconds while the other renders."""


def shoot(browser: webdriver.Chrome, name: str, width: int = 900) -> Path:
    """Save the whole page at `width` CSS pixels as bench/screenshots/<name>."""
    metrics = {"width": width, "height": 100, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / name))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return SHOTS / name

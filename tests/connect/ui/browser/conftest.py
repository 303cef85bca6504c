"""Real headless Chromium (Debian's `chromium` + `chromedriver`) against the app on loopback.

One browser for the session; one server thread per test, on the test's database. A missing
browser fails the tests: they are part of the suite, not optional.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support.browser import serving

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_OPTIONS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--window-size=1000,900",
    # Offline: every host but loopback fails at once (Atlassian's all.js included).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


def chromium_options(profile: str) -> webdriver.ChromeOptions:
    """The options every browser test and the screenshot command use."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*CHROMIUM_OPTIONS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP violations land here
    return options


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not Path(binary).exists():
            pytest.fail(
                f"{binary} is missing: install the Debian packages chromium and "
                "chromium-driver (.ci/run does)"
            )
    profile = tempfile.mkdtemp(prefix="okrlink-chromium-")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=chromium_options(profile))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served on a free loopback port from a thread; yields its origin."""
    with serving(app) as origin:
        yield origin

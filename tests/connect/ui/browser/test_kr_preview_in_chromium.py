"""A DORA KR written on the project page in a real browser: "Lower change failure rate from
15 % to 5 %", previewed before it is saved (the page's script asks, the value shows beside the
form, nothing is stored), then saved. Screenshot: bench/screenshots/kr-preview.png."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.connect.test_kr_preview import record_deployments
from tests.connect.ui.browser.test_quarter_in_chromium import fill, open_form, submit
from tests.support.app import CLIENT_KEY, install, signed_url
from tests.support.base import FakeClock
from tests.support.browser import WAIT, shoot

PAGE = {"projectKey": "PLAT"}
TITLE = "Lower change failure rate from 15 % to 5 %"


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock) -> int:
    """PLAT's objective of the quarter, and ten production deployments, one failed."""
    site_id = install(app)
    made = client.post(
        "/api/v1/objectives",
        json={"team": "PLAT", "title": "Ship without fear", "description": "Releases are dull"},
        headers={**admin, "X-Okrlink-Site": CLIENT_KEY},
    )
    assert made.status_code == 201, made.json
    record_deployments(app, site_id, clock, failed=1)
    return site_id


def test_a_dora_kr_is_previewed_then_saved_on_the_page(
    browser: webdriver.Chrome, live_url: str, site: int, client: FlaskClient, admin: dict
) -> None:
    browser.get_log("browser")  # forget what earlier tests logged
    browser.get(signed_url("/jira/project-page", PAGE, origin=live_url))
    form = open_form(browser, "new-key-result")
    fill(form, title=TITLE, baseline="15", target="5", unit="%", window_days="30")
    Select(form.find_element(By.NAME, "kind")).select_by_value("github")
    Select(form.find_element(By.NAME, "measure")).select_by_value("change_failure_rate")
    fill(form, environment="production", owner="Release manager")
    form.find_element(By.CSS_SELECTOR, "button[data-preview-button]").click()
    shown = WebDriverWait(browser, WAIT).until(
        lambda b: form.find_element(By.CSS_SELECTOR, "[data-preview-state]")
    )
    assert shown.get_attribute("data-preview-state") == "connected"
    assert shown.find_element(By.CSS_SELECTOR, "[data-preview-value]").text == "10%"
    assert form.find_element(By.NAME, "title").get_attribute("value") == TITLE  # still typed
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    assert client.get("/api/v1/key-results", headers=headers).json["key_results"] == []
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", shown)
    shoot(browser, "kr-preview.png")
    submit(browser, form)
    kr = client.get("/api/v1/key-results/PLAT-1.1", headers=headers).json
    assert (kr["title"], kr["measure"], kr["current"]) == (TITLE, "change_failure_rate", 10.0)
    logged = [entry["message"] for entry in browser.get_log("browser")]
    assert not [message for message in logged if "Content Security Policy" in message], logged

"""The Forge shell as the Jira project page, in headless Chromium with a stub bridge: a team
writes an objective and a KR, is coached beside the field, fixes the KR, checks in, opens the
KR's page and the review, and abandons the KR with its reason; nothing leaves the shell's page.
Screenshots land in `bench/screenshots/forge-project-page*.png`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import WAIT, serving, shoot
from tests.support.forge import (
    LIFECYCLE_MODULE,
    UI_MODULE,
    fit,
    fit_claims,
    forge_headers,
    installed_event,
)
from tests.support.forge_shell import chromium, shell_app

PROJECT_CONTEXT = {
    "locale": "en-US",
    "extension": {
        "type": "jira:projectPage",
        "project": {"id": "10000", "key": "PLAT", "type": "software"},
    },
}


@pytest.fixture
def served(app: Flask, client: FlaskClient, forge_keys: responses.RequestsMock) -> Iterator[str]:
    """A site installed through the Forge door; the app and the shell as its project page."""
    installed = client.post(
        "/forge/lifecycle", json=installed_event(), headers=forge_headers(module=LIFECYCLE_MODULE)
    )
    assert installed.status_code == 200
    token = fit(fit_claims(lifetime=600, module=UI_MODULE))
    with serving(shell_app(app, token, PROJECT_CONTEXT)) as origin:
        yield origin


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chrome") as driver:
        yield driver


def root(browser: webdriver.Chrome) -> WebElement:
    return browser.find_element(By.ID, "okrlink-root")


def ready(browser: webdriver.Chrome) -> WebElement:
    """The shell's root once the page it asked for is shown."""
    WebDriverWait(browser, WAIT).until(lambda b: root(b).get_attribute("data-state") == "ready")
    return root(browser)


def open_form(scope: WebElement, name: str, target: str = "") -> WebElement:
    """The `data-form=name` form (of `target`) under `scope`, its disclosure opened."""
    forms = scope.find_elements(By.CSS_SELECTOR, f'form[data-form="{name}"]')
    form = next(
        f
        for f in forms
        if not target or f.find_elements(By.CSS_SELECTOR, f'input[type="hidden"][value="{target}"]')
    )
    if not form.is_displayed():
        form.find_element(By.XPATH, "./ancestor::details[1]/summary").click()
    return form


def send(browser: webdriver.Chrome, form: WebElement, **fields: str) -> WebElement:
    """Type `fields` into the form, send it, and wait for the page the remote answers."""
    for name, value in fields.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    WebDriverWait(browser, WAIT).until(expected_conditions.staleness_of(form))
    return ready(browser)


def follow(browser: webdriver.Chrome, link: WebElement) -> WebElement:
    link.click()
    WebDriverWait(browser, WAIT).until(expected_conditions.staleness_of(link))
    return ready(browser)


def kr(page: WebElement, key: str) -> WebElement:
    return page.find_element(By.CSS_SELECTOR, f'li[data-kr="{key}"]')


def test_a_team_writes_and_edits_its_okrs_on_the_forge_project_page(
    served: str, browser: webdriver.Chrome
) -> None:
    browser.get(f"{served}/shell/index.html")
    page = ready(browser)
    assert page.find_element(By.CSS_SELECTOR, "main").get_attribute("data-team") == "PLAT"

    page = send(browser, open_form(page, "new-objective"), title="Make builds boring")
    assert page.find_element(By.CSS_SELECTOR, 'section[data-objective="PLAT-1"]')
    page = send(
        browser,
        open_form(page, "new-key-result", "PLAT-1"),
        title="Migrate the build farm",
        target="1",
    )
    edit = open_form(page, "edit-key-result", "PLAT-1.1")
    note = edit.find_element(By.CSS_SELECTOR, '[data-practice="task-not-outcome"]')
    assert note.is_displayed() and "reads like a task" in note.text
    beside = note.find_element(By.XPATH, "./ancestor::div[contains(@class,'f')][1]")
    assert beside.find_element(By.NAME, "title").get_attribute("value") == "Migrate the build farm"
    shoot(browser, "forge-project-page-practice.png")

    page = send(browser, edit, target="fast")
    assert page.get_attribute("data-status") == "422"
    error = open_form(page, "edit-key-result", "PLAT-1.1").find_element(
        By.CSS_SELECTOR, '[data-error="target"]'
    )
    assert error.is_displayed() and error.text == "Enter a number."
    shoot(browser, "forge-project-page-error.png")

    page = send(
        browser,
        open_form(page, "edit-key-result", "PLAT-1.1"),
        title="Cut build time from 40 to 10 minutes",
        baseline="40",
        target="10",
        owner="Build team",
    )
    assert page.get_attribute("data-status") == "200"
    assert "Cut build time" in kr(page, "PLAT-1.1").text

    item = kr(page, "PLAT-1.1")
    item.find_element(By.CSS_SELECTOR, "details.ci summary").click()
    page = send(
        browser,
        item.find_element(By.CSS_SELECTOR, 'form[data-form="check-in"]'),
        value="25",
        confidence="0.7",
        what="Remote cache in place",
    )
    assert kr(page, "PLAT-1.1").get_attribute("data-progress") == "0.50"
    shoot(browser, "forge-project-page.png")

    edit = open_form(page, "edit-key-result", "PLAT-1.1")  # its Preview: through the bridge
    edit.find_element(By.CSS_SELECTOR, "button[data-preview-button]").click()
    WebDriverWait(browser, WAIT).until(expected_conditions.staleness_of(edit))
    page = ready(browser)
    shown = open_form(page, "edit-key-result", "PLAT-1.1").find_element(
        By.CSS_SELECTOR, "[data-preview-state]"
    )
    assert shown.get_attribute("data-preview-state") == "manual"  # a metric: its check-ins
    assert shown.find_element(By.CSS_SELECTOR, "[data-preview-value]").text == "25"

    page = follow(browser, kr(page, "PLAT-1.1").find_element(By.CSS_SELECTOR, "a[data-kr-link]"))
    assert (
        page.find_element(By.CSS_SELECTOR, "[data-kr-page]").get_attribute("data-kr-page")
        == "PLAT-1.1"
    )
    assert page.find_element(By.CSS_SELECTOR, "[data-what]").text == "Remote cache in place"
    page = follow(browser, page.find_element(By.CSS_SELECTOR, "header a"))
    page = follow(browser, page.find_element(By.CSS_SELECTOR, 'a[data-tab="review"]'))
    assert page.find_element(By.CSS_SELECTOR, '[data-view="review"]')
    page = follow(browser, page.find_element(By.CSS_SELECTOR, 'a[data-tab="okrs"]'))

    page = send(
        browser,
        open_form(page, "abandon-key-result", "PLAT-1.1"),
        abandon_reason="The build farm moves to the platform team",
    )
    abandoned = kr(page, "PLAT-1.1")
    assert abandoned.get_attribute("data-state") == "abandoned"
    assert "The build farm moves to the platform team" in abandoned.text

    assert browser.current_url == f"{served}/shell/index.html"
    assert browser.find_elements(By.CSS_SELECTOR, "#okrlink-root script") == []
    calls = browser.execute_script("return window.__calls")
    assert {call["path"] for call in calls} == {"/forge/project/page", "/forge/project/forms"}
    forms = [call["body"] for call in calls if call["path"] == "/forge/project/forms"]
    assert [body["form"] for body in forms] == [
        "new-objective",
        "new-key-result",
        "edit-key-result",
        "edit-key-result",
        "check-in",
        "preview-key-result",
        "abandon-key-result",
    ]
    assert all(body["csrf"] and "csrf_token" not in body["fields"] for body in forms)

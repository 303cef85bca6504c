"""The pages in a real browser: progress, a check-in through the form, French, escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from connect.services import services_of
from sync.db.store import find_kr
from tests.support.app import check_in, import_example, install, signed_url
from tests.support.browser import WAIT, shoot

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PANEL = {"team": "PLAT", "cycle": "", "objective": "", "view": ""}


@pytest.fixture
def site(app: Flask) -> int:
    site_id = install(app)
    import_example(app, site_id, at=NOW)
    check_in(app, site_id, "PLAT-1.3", value=10, at=NOW, status="at_risk")
    return site_id


def progress(browser: webdriver.Chrome) -> dict[str, tuple[str, str]]:
    """KR key -> (data-progress, data-status) read from the rendered DOM."""
    return {
        element.get_attribute("data-kr"): (
            element.get_attribute("data-progress"),
            element.get_attribute("data-status"),
        )
        for element in browser.find_elements(By.CSS_SELECTOR, "[data-kr]")
    }


def test_panel_shows_the_progress_of_the_seeded_tenant(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(signed_url("/confluence/macro/okr-panel", PANEL, origin=live_url))
    shown = progress(browser)
    assert len(shown) == 8
    assert shown["PLAT-1.3"] == ("0.50", "at_risk")
    bar = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.3"] [role="progressbar"]')
    assert bar.get_attribute("aria-valuenow") == "50"
    # The chip says the status in words, not only in colour.
    chip = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.3"] .chip')
    assert chip.text.lower() == "at risk"


def test_a_check_in_through_the_form_changes_the_panel(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(signed_url("/jira/project-page", {"projectKey": "PLAT"}, origin=live_url))
    item = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.3"]')
    item.find_element(By.CSS_SELECTOR, "details.ci summary").click()
    value = item.find_element(By.NAME, "value")
    value.clear()
    value.send_keys("7")
    item.find_element(By.NAME, "what").send_keys("Automatic rollbacks everywhere")
    item.find_element(By.CSS_SELECTOR, 'select[name="status"] option[value="on_track"]').click()
    item.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    WebDriverWait(browser, WAIT).until(expected_conditions.url_contains("/jira/project-page/view"))
    assert progress(browser)["PLAT-1.3"] == ("0.80", "on_track")
    assert (
        "Automatic rollbacks everywhere"
        in browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.3"]').text
    )


def test_french_locale_shows_french_labels(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(
        signed_url("/confluence/macro/okr-panel", {**PANEL, "loc": "fr-FR"}, origin=live_url)
    )
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "Responsable : SRE lead" in text
    assert (
        browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.3"] .chip').text.lower()
        == "à risque"
    )
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"


@pytest.mark.parametrize(
    ("loc", "owner", "at_risk", "shot"),
    [
        ("de-DE", "Verantwortlich: SRE lead", "gefährdet", "project-page-de.png"),
        ("es-ES", "Responsable: SRE lead", "en riesgo", "project-page-es.png"),
    ],
)
def test_german_and_spanish_readers_get_the_project_page_in_their_language(
    browser: webdriver.Chrome,
    live_url: str,
    site: int,
    loc: str,
    owner: str,
    at_risk: str,
    shot: str,
) -> None:
    browser.get(
        signed_url("/jira/project-page", {"projectKey": "PLAT", "loc": loc}, origin=live_url)
    )
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == loc[:2]
    text = browser.find_element(By.TAG_NAME, "main").text
    assert owner in text
    assert (
        browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.3"] .chip').text.lower() == at_risk
    )
    for english in ("Owner:", "at risk", "Check in", "Last check-in"):
        assert english not in text
    shoot(browser, shot)


def test_a_script_in_a_kr_title_is_shown_as_text_and_never_runs(
    app: Flask, browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    with services_of(app).store.session() as session:
        kr = find_kr(session, site, "PLAT-1.1")
        assert kr is not None
        kr.title = "<script>alert(1)</script>"
        kr.version += 1
    for path, params in (
        ("/confluence/macro/okr-panel", PANEL),
        ("/jira/project-page", {"projectKey": "PLAT"}),
    ):
        browser.get(signed_url(path, params, origin=live_url))
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - reading it is the check
        title = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.1"] .kt')
        assert title.text == "<script>alert(1)</script>"


def test_each_pages_policy_lets_our_style_and_script_run_and_nothing_else(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    # Stands in for Atlassian's all.js (offline here): our resize script calls it on load.
    stand_in = "window.AP = {resize() { window.resized = (window.resized || 0) + 1; }};"
    injected = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": stand_in}
    )
    browser.get_log("browser")  # forget what earlier tests logged
    try:
        for path, params in (
            ("/confluence/macro/okr-panel", PANEL),
            ("/jira/project-page", {"projectKey": "PLAT"}),
        ):
            browser.get(signed_url(path, params, origin=live_url))
            chip = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.3"] .chip')
            assert chip.value_of_css_property("text-transform") == "uppercase"  # our stylesheet
            WebDriverWait(browser, WAIT).until(lambda b: b.execute_script("return window.resized"))
        browser.get(signed_url("/jira/admin", {}, origin=live_url))
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", injected)
    logged = [entry["message"] for entry in browser.get_log("browser")]
    assert not [message for message in logged if "Content Security Policy" in message], logged

"""A team's KPIs written on the project page in a real browser: create one, see it on the
health strip, edit it out of its range and see the strip turn to a breach, with the practice
note of a KPI without a range beside its field. Screenshot: bench/screenshots/kpi-forms.png."""

from __future__ import annotations

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from tests.connect.ui.browser.test_quarter_in_chromium import fill, open_form, shoot, submit
from tests.support.app import panel_site, signed_url

PAGE = {"projectKey": "PLAT"}


@pytest.fixture
def site(app: Flask) -> int:
    """The example team: its OKRs of the quarter and one KPI (PLAT-K1) from the OKR file."""
    return panel_site(app)


def on_strip(browser: webdriver.Chrome, key: str) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, f'section.kpis [data-kpi="{key}"]')


def kpi_row(browser: webdriver.Chrome, key: str) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, f'[data-kpi-row="{key}"]')


def test_a_team_creates_and_edits_a_kpi_and_the_strip_follows(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get_log("browser")  # forget what earlier tests logged
    browser.get(signed_url("/jira/project-page", PAGE, origin=live_url))
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-kpi="PLAT-K2"]')
    form = open_form(browser, "new-kpi")
    fill(
        form,
        key="PLAT-K2",
        title="Availability",
        current="99.9",
        unit="%",
        healthy_min="99.5",
        healthy_max="100",
        drop_alert="50",
    )
    Select(form.find_element(By.NAME, "kind")).select_by_value("metric")
    submit(browser, form)
    kpi = on_strip(browser, "PLAT-K2")
    assert (kpi.get_attribute("data-health"), kpi.get_attribute("data-value")) == (
        "healthy",
        "99.9",
    )
    assert "Availability" in kpi.text

    form = open_form(kpi_row(browser, "PLAT-K2"), "edit-kpi")
    fill(form, current="99.1")
    submit(browser, form)
    kpi = on_strip(browser, "PLAT-K2")
    assert (kpi.get_attribute("data-health"), kpi.get_attribute("data-value")) == (
        "breached",
        "99.1",
    )
    assert "PLAT · Availability is outside its healthy range" in kpi.text

    form = open_form(browser, "new-kpi")
    fill(form, key="PLAT-K3", title="Open support tickets", unit="tickets", current="14")
    submit(browser, form)
    row = kpi_row(browser, "PLAT-K3")
    note = row.find_element(By.CSS_SELECTOR, '[data-practice="kpi-no-range"]')
    assert note.is_displayed()  # the edit form opens after a save with a practice note
    assert "KPI PLAT-K3 has no healthy range" in note.text
    assert open_form(kpi_row(browser, "PLAT-K2"), "edit-kpi").is_displayed()  # for the picture
    shoot(browser, "kpi-forms.png")
    logged = [entry["message"] for entry in browser.get_log("browser")]
    assert not [message for message in logged if "Content Security Policy" in message], logged

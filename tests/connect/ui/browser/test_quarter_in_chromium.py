"""A team's whole quarter in a real browser, from an empty project page: write 3 objectives of
3 KRs (one aligned to the company's), check in on two KRs, review the week, close the cycle
with one KR carried over. Screenshots of each page land in `bench/screenshots/`."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.app import CLIENT_KEY, install, signed_url
from tests.support.browser import WAIT, shoot
from tests.support.quarter import COMPANY_OBJECTIVE, CYCLE, KRS, OBJECTIVES, post

PAGE = {"projectKey": "PLAT", "cycle": CYCLE}


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str]) -> int:
    """An installed site whose company (ACME) has written its objective; PLAT has nothing."""
    site_id = install(app)
    post(client, {**admin, "X-Okrlink-Site": CLIENT_KEY}, "/objectives", COMPANY_OBJECTIVE)
    return site_id


def open_form(scope: WebElement | webdriver.Chrome, name: str) -> WebElement:
    """The `data-form=name` form under `scope`, its disclosure opened as a reader clicks it."""
    form = scope.find_element(By.CSS_SELECTOR, f'form[data-form="{name}"]')
    summary = form.find_element(By.XPATH, "./ancestor::details[1]/summary")
    if not form.is_displayed():
        summary.click()
    return form


def fill(form: WebElement, **fields: str) -> None:
    for name, value in fields.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def submit(browser: webdriver.Chrome, form: WebElement) -> None:
    """Send the form and wait for the page it lands on."""
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    WebDriverWait(browser, WAIT).until(expected_conditions.staleness_of(form))


def section(browser: webdriver.Chrome, objective: str) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, f'section[data-objective="{objective}"]')


def test_a_team_writes_checks_in_reviews_and_closes_its_quarter(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(signed_url("/jira/project-page", PAGE, origin=live_url))
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-kr]")
    for number, (title, parent) in enumerate(OBJECTIVES, start=1):
        form = open_form(browser, "new-objective")
        fill(form, title=title, **({"parent": parent} if parent else {}))
        submit(browser, form)
        for kr_title, baseline, target, unit in KRS:
            form = open_form(section(browser, f"PLAT-{number}"), "new-key-result")
            fill(
                form,
                title=kr_title,
                baseline=f"{baseline:g}",
                target=f"{target:g}",
                unit=unit,
                owner="SRE lead",
            )
            submit(browser, form)
    keys = [e.get_attribute("data-kr") for e in browser.find_elements(By.CSS_SELECTOR, "[data-kr]")]
    assert keys == [f"PLAT-{o}.{k}" for o in (1, 2, 3) for k in (1, 2, 3)]

    check_ins = (
        ("PLAT-1.1", "99.745", "0.6", "Vendor outage"),
        ("PLAT-2.1", "10", "0.4", "Release freeze in December"),
    )
    for kr, value, confidence, risk in check_ins:
        item = browser.find_element(By.CSS_SELECTOR, f'[data-kr="{kr}"]')
        item.find_element(By.CSS_SELECTOR, "details.ci summary").click()
        form = item.find_element(By.CSS_SELECTOR, 'form[action*="/jira/check-in"]')
        fill(
            form,
            value=value,
            score="",
            confidence=confidence,
            what="Failover drills held",
            risks=risk,
        )
        submit(browser, form)
    item = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.1"]')
    assert item.get_attribute("data-progress") == "0.50"
    assert item.find_element(By.CSS_SELECTOR, "[data-confidence]").text == "Confidence 60%"
    shoot(browser, "cycle-project-page.png")

    browser.find_element(By.CSS_SELECTOR, 'a[data-tab="review"]').click()
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-delta]"))
    deltas = {
        e.get_attribute("data-kr"): e.get_attribute("data-delta")
        for e in browser.find_elements(By.CSS_SELECTOR, "[data-delta]")
    }
    assert deltas["PLAT-1.1"] == "+50"
    assert (
        browser.find_element(By.CSS_SELECTOR, "[data-missing]").get_attribute("data-missing") == "7"
    )
    assert "Vendor outage" in browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.1"]').text
    shoot(browser, "cycle-review.png")

    browser.get(signed_url("/jira/okrs", {"team": "PLAT", "cycle": CYCLE}, origin=live_url))
    aligned = browser.find_element(By.CSS_SELECTOR, '[data-tree] [data-objective="PLAT-1"]')
    assert aligned.get_attribute("data-parent") == "ACME-1"
    shoot(browser, "cycle-alignment.png")

    browser.get(signed_url("/jira/project-page", PAGE, origin=live_url))
    form = open_form(browser, "close-cycle")
    form.find_element(By.CSS_SELECTOR, 'input[name="carry_over"][value="PLAT-1.1"]').click()
    fill(form, learned="Failover drills pay off", differently="Start the drills in week one")
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-closed]"))
    assert not browser.find_elements(By.CSS_SELECTOR, "form")

    browser.get(
        signed_url(
            "/confluence/macro/okr-panel",
            {"team": "PLAT", "cycle": CYCLE, "objective": "", "view": "retro"},
            origin=live_url,
        )
    )
    assert browser.find_element(By.CSS_SELECTOR, "[data-learned]").text == "Failover drills pay off"
    carried = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.1"]')
    assert carried.get_attribute("data-carried") is not None
    shoot(browser, "cycle-retro.png", width=760)

"""The owner picker in a real browser: typing a name searches Jira's users who may browse the
project (a stand-in Jira over HTTPS), picking one saves the account and the page shows its
name. Screenshot: bench/screenshots/owner-picker.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from connect.services import services_of
from sync.db.store import find_kr
from tests.connect.ui.browser.test_quarter_in_chromium import fill, open_form, submit
from tests.support.app import PANEL_NOW, import_example, install, signed_url
from tests.support.browser import WAIT, shoot
from tests.support.chat import trust
from tests.support.jira import USER_SEARCH, StandInJira, stand_in_jira

ALICE = "557058:a11ce000-0000-4000-8000-000000000001"
ALINE = "557058:a11e0000-0000-4000-8000-000000000002"
OUTSIDER = "557058:0075100e-0000-4000-8000-000000000003"


@pytest.fixture
def jira(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInJira]:
    ca = trustme.CA()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with stand_in_jira(ca) as found:
        found.add(ALICE, "Alice Dupont", projects=["PLAT"])
        found.add(ALINE, "Aline Moreau", projects=["PLAT"])
        found.add(OUTSIDER, "Alix Outsider", projects=["SHOP"])
        yield found


@pytest.fixture
def site(app: Flask, jira: StandInJira) -> int:
    site_id = install(app, base_url=jira.base_url)
    import_example(app, site_id, at=PANEL_NOW)
    return site_id


def test_an_owner_is_picked_by_name_and_shown_by_name(
    app: Flask, browser: webdriver.Chrome, live_url: str, site: int, jira: StandInJira
) -> None:
    browser.get_log("browser")
    browser.get(signed_url("/jira/project-page", {"projectKey": "PLAT"}, origin=live_url))
    row = browser.find_element(By.CSS_SELECTOR, 'li[data-kr="PLAT-1.1"]')
    form = open_form(row, "edit-key-result")
    owner = form.find_element(By.NAME, "owner")
    assert owner.get_attribute("value") == "SRE lead"
    fill(form, owner="Ali")
    options = WebDriverWait(browser, WAIT).until(
        lambda _b: form.find_elements(By.CSS_SELECTOR, "[data-person-options] li")
    )
    assert [o.text for o in options] == ["Alice Dupont", "Aline Moreau"]  # SHOP's Alix: no
    search = jira.calls(USER_SEARCH)[-1]
    assert (search["permissions"], search["projectKey"], search["query"]) == (
        ["BROWSE_PROJECTS"],
        ["PLAT"],
        ["Ali"],
    )
    path = shoot(browser, "owner-picker.png")
    assert path.stat().st_size > 0
    options[0].click()
    assert owner.get_attribute("value") == "Alice Dupont"
    submit(browser, form)
    row = browser.find_element(By.CSS_SELECTOR, 'li[data-kr="PLAT-1.1"]')
    assert "Owner: Alice Dupont" in row.text
    assert ALICE not in browser.find_element(By.TAG_NAME, "main").text
    with services_of(app).store.session() as session:
        kr = find_kr(session, site, "PLAT-1.1")
        assert kr is not None and kr.owner == ALICE
    # The edit form shows the name again; leaving it as is keeps the account.
    form = open_form(
        browser.find_element(By.CSS_SELECTOR, 'li[data-kr="PLAT-1.1"]'), "edit-key-result"
    )
    assert form.find_element(By.NAME, "owner").get_attribute("value") == "Alice Dupont"
    fill(form, unit="%")
    submit(browser, form)
    with services_of(app).store.session() as session:
        kr = find_kr(session, site, "PLAT-1.1")
        assert kr is not None and kr.owner == ALICE
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not [e for e in errors if "Content Security Policy" in e["message"]]

"""The issue picker in a real browser: typing in the new KR form's issue search asks Jira's
issue picker for the team's project (a stand-in Jira over HTTPS); each issue picked is added
to `issues`, one key a line, and the KR is saved with them. Screenshot:
bench/screenshots/issue-picker.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from connect.services import services_of
from sync.db.model import KeyResult, Link
from tests.connect.ui.browser.test_quarter_in_chromium import fill, open_form, section, submit
from tests.support.app import PANEL_NOW, import_example, install, signed_url
from tests.support.browser import WAIT, shoot
from tests.support.chat import trust
from tests.support.jira import ISSUE_PICKER, StandInJira, stand_in_jira


@pytest.fixture
def jira(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInJira]:
    ca = trustme.CA()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with stand_in_jira(ca) as found:
        found.add_issue("PLAT-140", "Fail over the database between regions")
        found.add_issue("PLAT-141", "Write the failover runbook")
        found.add_issue("PLAT-142", "Rotate the on-call schedule")
        found.add_issue("SHOP-9", "Failover drill for the shop")
        yield found


@pytest.fixture
def site(app: Flask, jira: StandInJira) -> int:
    site_id = install(app, base_url=jira.base_url)
    import_example(app, site_id, at=PANEL_NOW)
    return site_id


def test_issues_are_picked_into_a_new_issues_kr(
    app: Flask, browser: webdriver.Chrome, live_url: str, site: int, jira: StandInJira
) -> None:
    browser.get_log("browser")
    browser.get(signed_url("/jira/project-page", {"projectKey": "PLAT"}, origin=live_url))
    form = open_form(section(browser, "PLAT-1"), "new-key-result")
    fill(form, title="Fail over between regions in under 5 minutes")
    Select(form.find_element(By.NAME, "kind")).select_by_value("issues")
    search = form.find_element(By.CSS_SELECTOR, "input[data-issue-picker]")
    search.send_keys("fail")
    options = WebDriverWait(browser, WAIT).until(
        lambda _b: form.find_elements(By.CSS_SELECTOR, "[data-issue-options] li")
    )
    assert [o.get_attribute("data-issue") for o in options] == ["PLAT-140", "PLAT-141"]
    assert options[0].text == "PLAT-140 Fail over the database between regions"
    assert jira.calls(ISSUE_PICKER)[-1]["currentJQL"] == ['project = "PLAT"']  # no SHOP-9
    path = shoot(browser, "issue-picker.png")
    assert path.stat().st_size > 0
    options[0].click()
    search.send_keys("runbook")
    WebDriverWait(browser, WAIT).until(
        lambda _b: (
            [
                o.get_attribute("data-issue")
                for o in form.find_elements(By.CSS_SELECTOR, "[data-issue-options] li")
            ]
            == ["PLAT-141"]
        )
    )
    form.find_element(By.CSS_SELECTOR, '[data-issue-options] li[data-issue="PLAT-141"]').click()
    field = form.find_element(By.NAME, "issues")
    assert field.get_attribute("value") == "PLAT-140\nPLAT-141"
    assert search.get_attribute("value") == ""
    submit(browser, form)
    with services_of(app).store.session() as session:
        kr = (
            session.query(KeyResult)
            .filter_by(site_id=site, title="Fail over between regions in under 5 minutes")
            .one()
        )
        assert kr.kind == "issues"
        keys = sorted(link.target_key for link in session.query(Link).filter_by(kr_id=kr.id))
        assert keys == ["PLAT-140", "PLAT-141"]
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not [e for e in errors if "Content Security Policy" in e["message"]]

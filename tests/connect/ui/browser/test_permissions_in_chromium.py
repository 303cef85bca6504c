"""A viewer of a Jira project (`BROWSE_PROJECTS` only) opens its OKRs page in a real browser:
the OKRs are there, no writing or check-in form is, and a note says why. The stand-in Jira
answers the bulk permission check over HTTPS. Screenshot: `bench/screenshots/`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By

from sync.core.spec import quarter
from sync.ports import JiraPermissions
from tests.support.app import big_team, import_okrs, install, signed_url
from tests.support.base import FakeClock
from tests.support.browser import shoot
from tests.support.chat import trust
from tests.support.jira import PROJECT_ADMIN, VIEWER, JiraServer, jira_server

VIEWER_ACCOUNT = "557058:plat-viewer"
ADMIN_ACCOUNT = "557058:plat-admin"
PAGE = {"projectKey": "PLAT", "cycle": "2026-Q4"}


@pytest.fixture
def jira(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraServer]:
    ca = trustme.CA()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with jira_server(ca) as server:
        server.projects["PLAT"] = 10001
        server.grant(VIEWER_ACCOUNT, "PLAT", VIEWER)
        server.grant(ADMIN_ACCOUNT, "PLAT", PROJECT_ADMIN)
        yield server


@pytest.fixture
def jira_permissions(jira: JiraServer) -> JiraPermissions | None:
    return None  # the app asks the stand-in Jira


@pytest.fixture
def site(app: Flask, jira: JiraServer, clock: FakeClock) -> int:
    site_id = install(app, base_url=jira.base_url)
    import_okrs(
        app,
        site_id,
        big_team("PLAT", objectives=2, krs=3, cycle=quarter("2026-Q4")),
        at=clock.now(),
    )
    return site_id


def forms(browser: webdriver.Chrome) -> list[str]:
    found = browser.find_elements(By.CSS_SELECTOR, "form[data-form]")
    return [form.get_attribute("data-form") or "" for form in found]


def test_a_viewer_reads_the_project_page_without_its_forms(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(signed_url("/jira/project-page", PAGE, account=ADMIN_ACCOUNT, origin=live_url))
    assert {"new-objective", "check-in", "edit-key-result"} <= set(forms(browser))

    browser.get(signed_url("/jira/project-page", PAGE, account=VIEWER_ACCOUNT, origin=live_url))
    krs = browser.find_elements(By.CSS_SELECTOR, "[data-kr]")
    assert [kr.get_attribute("data-kr") for kr in krs] == [
        f"PLAT-{o}.{k}" for o in (1, 2) for k in (1, 2, 3)
    ]
    assert forms(browser) == []
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-kpis]")
    note = browser.find_element(By.CSS_SELECTOR, '[data-permissions="read_only"]')
    assert note.is_displayed()
    assert "Administer Projects" in note.text
    shoot(browser, "project-page-viewer.png")

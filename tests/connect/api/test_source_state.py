"""A KR whose source is missing says so, on its pages and in the API, instead of failing.

The site here has Confluence only: no Jira for its JQL and issues KRs to read, and no GitHub
installation mapped for its github KR. The periodic jobs and the link-time fetch meet that as
an expected state: the KR shows `source_state: missing` with how to connect it, and nothing
raises (a raised job is a traceback in the consumer's log every time it is retried).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.cli.github import map_installation
from connect.services import services_of
from sync.apply.github import ensure_installation
from tests.support.app import MACRO_PARAMS, PANEL, SECRET, install, signed_url
from tests.support.jira import create_okrs
from tests.support.ui import parse

SITE = "confluence:acme"
KRS = [
    {
        "key": "PLAT-1.1",
        "title": "Cut open customer bugs from 40 to 10",
        "kind": "jql",
        "jql": "project = WEB AND type = Bug",
        "baseline": 40,
        "target": 10,
    },
    {"key": "PLAT-1.2", "title": "Close the failover epic", "kind": "issues"},
    {
        "key": "PLAT-1.3",
        "title": "Merge 30 pull requests that cut toil",
        "kind": "github",
        "measure": "merged_prs",
        "baseline": 0,
        "target": 30,
    },
    {
        "key": "PLAT-1.4",
        "title": "Raise availability from 99.5% to 99.9%",
        "kind": "metric",
        "baseline": 99.5,
        "target": 99.9,
    },
]


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str]) -> int:
    site_id = install(
        app, client_key=SITE, product="confluence", base_url="https://acme.atlassian.net/wiki"
    )
    create_okrs(client, admin, site=SITE, krs=KRS)
    return site_id


def _kr(client: FlaskClient, admin: dict[str, str], key: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/key-results/{key}", headers={**admin, "X-Okrlink-Site": SITE})
    assert response.status_code == 200
    body: dict[str, Any] = response.json or {}
    return body


def test_the_jql_poll_marks_a_kr_on_a_site_without_jira_missing_and_says_how_to_connect(
    app: Flask, client: FlaskClient, admin: dict[str, str], site: int
) -> None:
    assert services_of(app).jira_sync.poll_jql() == {}  # skipped, nothing raised
    kr = _kr(client, admin, "PLAT-1.1")
    assert kr["source_state"] == "missing"
    assert "install okrlink on the site's Jira" in kr["source_message"]
    assert _kr(client, admin, "PLAT-1.4")["source_state"] == "manual"


def test_linking_an_issue_on_a_site_without_jira_marks_its_kr_missing(
    client: FlaskClient, admin: dict[str, str], site: int
) -> None:
    response = client.post(
        "/api/v1/key-results/PLAT-1.2/links",
        headers={**admin, "X-Okrlink-Site": SITE},
        json={"target": "PLAT-12"},
    )
    assert response.status_code == 201
    kr = _kr(client, admin, "PLAT-1.2")
    assert (kr["source_state"], "no Jira installation" in kr["source_message"]) == ("missing", True)


def test_the_reconcile_marks_issues_krs_missing_without_raising(
    app: Flask, client: FlaskClient, admin: dict[str, str], site: int
) -> None:
    client.post(
        "/api/v1/key-results/PLAT-1.2/links",
        headers={**admin, "X-Okrlink-Site": SITE},
        json={"target": "PLAT-12"},
    )
    assert services_of(app).jira_sync.reconcile() == {}
    assert _kr(client, admin, "PLAT-1.2")["source_state"] == "missing"


def test_a_github_kr_is_missing_until_an_installation_is_mapped_to_its_site(
    app: Flask, client: FlaskClient, admin: dict[str, str], site: int
) -> None:
    kr = _kr(client, admin, "PLAT-1.3")
    assert kr["source_state"] == "missing"
    assert "okrlink github map INSTALLATION_ID SITE" in kr["source_message"]
    with services_of(app).store.session() as session:
        ensure_installation(session, 4242)
    map_installation(app, 4242, SITE)
    kr = _kr(client, admin, "PLAT-1.3")
    assert (kr["source_state"], kr["source_message"]) == ("connected", None)


@pytest.mark.parametrize(("locale", "words"), [("en", "Not connected"), ("fr", "Non connecté")])
def test_the_panel_shows_the_missing_source_in_the_readers_language(
    app: Flask, client: FlaskClient, admin: dict[str, str], site: int, locale: str, words: str
) -> None:
    services_of(app).jira_sync.poll_jql()  # marks the JQL KR
    client.post(
        "/api/v1/key-results/PLAT-1.2/links",
        headers={**admin, "X-Okrlink-Site": SITE},
        json={"target": "PLAT-12"},
    )  # and linking, the issues KR
    url = signed_url(PANEL, {**MACRO_PARAMS, "lang": locale}, client_key=SITE, secret=SECRET)
    response = client.get(url)
    assert response.status_code == 200
    page = parse(response.text)
    marked = {
        node.attrs["data-kr"]: node.attrs["data-source-state"]
        for node in page.find_all(data_source_state=True)
    }
    # The JQL and issues KRs have no Jira to read, the github KR no installation; the metric
    # KR moves by check-ins and has no source to miss.
    assert marked == {"PLAT-1.1": "missing", "PLAT-1.2": "missing", "PLAT-1.3": "missing"}
    assert response.text.count(words) == 3

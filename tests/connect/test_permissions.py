"""Who may do what, through every door, against a stand-in Jira answering over HTTPS.

The matrix: each write (create, edit, abandon, close, check in, link, KPIs, the admin page and
its digest forms) by a Jira admin, a project admin, a member (`EDIT_ISSUES`), a viewer
(`BROWSE_PROJECTS`) and a KR's owner, through the REST API (Connect JWT), the Connect pages
and the Forge pages. A refusal is 403 `forbidden` naming the missing permission and stores
nothing; Jira not answering is 503 `permissions_unavailable`, never a write.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
import trustme
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from connect.services import services_of
from connect.settings import Settings
from sync.core.spec import quarter
from sync.db.store import all_tables
from sync.ports import JiraPermissions
from tests.support.app import CLIENT_KEY, SECRET, big_team, import_okrs, install, signed_url
from tests.support.base import FakeClock
from tests.support.chat import trust
from tests.support.forge import (
    APP_UUID,
    JWKS_URL,
    fit,
    fit_claims,
    forge_headers,
    jwks_document,
)
from tests.support.jira import MEMBER, PROJECT_ADMIN, VIEWER, JiraServer, jira_server
from tests.support.signing import connect_token
from tests.support.ui import parse

JIRA_ADMIN = "557058:jira-admin"
PLAT_ADMIN = "557058:plat-admin"
PLAT_MEMBER = "557058:plat-member"
PLAT_VIEWER = "557058:plat-viewer"
KR_OWNER = "557058:kr-owner"
CYCLE = "2026-Q4"

WRITERS = {JIRA_ADMIN, PLAT_ADMIN}
CHECKERS = {JIRA_ADMIN, PLAT_ADMIN, PLAT_MEMBER}
EVERYONE = (JIRA_ADMIN, PLAT_ADMIN, PLAT_MEMBER, PLAT_VIEWER)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def jira(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[JiraServer]:
    """The stand-in Jira (its CA trusted as in production), with PLAT a project and ACME not."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with jira_server(ca) as server:
        server.projects["PLAT"] = 10001
        server.admins.add(JIRA_ADMIN)
        server.grant(PLAT_ADMIN, "PLAT", PROJECT_ADMIN)
        server.grant(PLAT_MEMBER, "PLAT", MEMBER)
        server.grant(PLAT_VIEWER, "PLAT", VIEWER)
        server.grant(KR_OWNER, "PLAT", VIEWER)
        yield server


@pytest.fixture
def jira_permissions(jira: JiraServer) -> JiraPermissions | None:
    """None: the app asks the stand-in Jira through its real client."""
    return None


def seed(app: Flask, site_id: int, clock: FakeClock) -> None:
    """PLAT-1 (PLAT-1.1, PLAT-1.2 owned by KR_OWNER) and the company level ACME-1."""
    plat = big_team("PLAT", objectives=1, krs=2, cycle=quarter(CYCLE))
    objective = plat.objectives[0]
    owned = dataclasses.replace(objective.key_results[1], owner=KR_OWNER)
    plat = dataclasses.replace(
        plat,
        objectives=(dataclasses.replace(objective, key_results=(objective.key_results[0], owned)),),
    )
    import_okrs(app, site_id, plat, at=clock.now())
    import_okrs(
        app, site_id, big_team("ACME", objectives=1, krs=1, cycle=quarter(CYCLE)), at=clock.now()
    )


def stored(app: Flask) -> dict[str, list[Any]]:
    """Every row of every table, to show that a refusal stored nothing."""
    with services_of(app).store.engine.connect() as connection:
        return {
            name: sorted(map(repr, connection.execute(text(f"SELECT * FROM {name}"))))  # noqa: S608
            for name in all_tables()
        }


# --- the REST API, with the Connect JWT a page hands its user ----------------------------


@pytest.fixture
def connect_site(app: Flask, jira: JiraServer, clock: FakeClock) -> int:
    site_id = install(app, base_url=jira.base_url)
    seed(app, site_id, clock)
    return site_id


def api(client: FlaskClient, account: str, method: str, path: str, body: Any) -> Any:
    token = connect_token(
        SECRET, client_key=CLIENT_KEY, method=method, url=path, account_id=account
    )
    return client.open(path, method=method, json=body, headers={"Authorization": f"JWT {token}"})


API_WRITES = [
    # (name, method, path, body, accounts allowed, the permission a refusal names)
    (
        "create objective",
        "POST",
        "/api/v1/objectives",
        {"team": "PLAT", "cycle": CYCLE, "title": "Make releases boring"},
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "edit objective",
        "PATCH",
        "/api/v1/objectives/PLAT-1",
        {"title": "Make every release boring"},
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "edit KR",
        "PATCH",
        "/api/v1/key-results/PLAT-1.1",
        {"target": 120},
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "abandon KR",
        "POST",
        "/api/v1/key-results/PLAT-1.1/abandon",
        {"reason": "no longer an outcome we want"},
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "abandon objective",
        "POST",
        "/api/v1/objectives/PLAT-1/abandon",
        {"reason": "merged into another"},
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "create KR",
        "POST",
        "/api/v1/key-results",
        {
            "objective": "PLAT-1",
            "title": "Cut lead time from 5 to 2 days",
            "baseline": 5,
            "target": 2,
        },
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "close cycle",
        "POST",
        f"/api/v1/cycles/{CYCLE}/close?team=PLAT",
        {},
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "create KPI",
        "POST",
        "/api/v1/kpis",
        {"team": "PLAT", "key": "PLAT-UPTIME", "title": "Uptime", "kind": "metric"},
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "check in",
        "POST",
        "/api/v1/key-results/PLAT-1.1/check-ins",
        {"value": 40, "what": "two services moved"},
        CHECKERS,
        "EDIT_ISSUES",
    ),
    (
        "give the month's score",
        "POST",
        "/api/v1/key-results/PLAT-1.1/monthly-scores",
        {"month": "2026-11", "score": 0.6, "reason": "failover half done"},
        CHECKERS,
        "EDIT_ISSUES",
    ),
    (
        "link work",
        "POST",
        "/api/v1/key-results/PLAT-1.1/links",
        {"target": "PLAT-99"},
        CHECKERS,
        "EDIT_ISSUES",
    ),
    (
        "company level objective",
        "POST",
        "/api/v1/objectives",
        {"team": "ACME", "cycle": CYCLE, "title": "Grow the company"},
        {JIRA_ADMIN},
        "ADMINISTER",
    ),
    (
        "company level KR edit",
        "PATCH",
        "/api/v1/key-results/ACME-1.1",
        {"target": 150},
        {JIRA_ADMIN},
        "ADMINISTER",
    ),
    (
        "create a team's cycle",
        "POST",
        "/api/v1/cycles",
        {"name": "2027-01", "team": "PLAT"},
        WRITERS,
        "ADMINISTER_PROJECTS",
    ),
    (
        "create a site-wide cycle",
        "POST",
        "/api/v1/cycles",
        {"name": "2027"},
        {JIRA_ADMIN},
        "ADMINISTER",
    ),
]


def api_write(name: str) -> Any:
    """The body of the API write named `name` in the table above."""
    return next(row[3] for row in API_WRITES if row[0] == name)


@pytest.mark.parametrize("account", EVERYONE)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed", "permission"),
    [row[1:] for row in API_WRITES],
    ids=[row[0] for row in API_WRITES],
)
def test_the_api_writes_as_jira_allows(
    app: Flask,
    client: FlaskClient,
    connect_site: int,
    account: str,
    method: str,
    path: str,
    body: Any,
    allowed: set[str],
    permission: str,
) -> None:
    before = stored(app)
    response = api(client, account, method, path, body)
    if account in allowed:
        assert response.status_code in (200, 201), response.json
        return
    assert response.status_code == 403, response.json
    assert response.json["error"]["code"] == "forbidden"
    assert permission in response.json["error"]["message"]
    assert stored(app) == before


def test_a_kr_owner_checks_in_on_their_kr_only(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    path = "/api/v1/key-results/PLAT-1.2/check-ins"
    saved = api(client, KR_OWNER, "POST", path, {"value": 10, "what": "first step"})
    assert saved.status_code == 201, saved.json
    assert saved.json["check_in"]["author"] == KR_OWNER
    before = stored(app)
    other = api(client, KR_OWNER, "POST", "/api/v1/key-results/PLAT-1.1/check-ins", {"value": 1})
    assert other.status_code == 403
    assert other.json["error"]["code"] == "forbidden"
    assert stored(app) == before


def test_a_check_in_is_authored_by_the_caller_not_the_body(
    client: FlaskClient, connect_site: int, admin: dict[str, str]
) -> None:
    body = {"value": 30, "what": "moved", "author": "someone-else"}
    mine = api(client, PLAT_MEMBER, "POST", "/api/v1/key-results/PLAT-1.1/check-ins", body)
    assert mine.json["check_in"]["author"] == PLAT_MEMBER
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    operator = client.post("/api/v1/key-results/PLAT-1.1/check-ins", json=body, headers=headers)
    assert operator.json["check_in"]["author"] == "someone-else"


def test_reads_stay_open_to_a_viewer(client: FlaskClient, connect_site: int) -> None:
    response = api(client, PLAT_VIEWER, "GET", "/api/v1/objectives?team=PLAT", None)
    assert response.status_code == 200
    assert [o["key"] for o in response.json["objectives"]] == ["PLAT-1"]


def test_jira_not_answering_refuses_the_write_with_503(
    app: Flask, client: FlaskClient, connect_site: int, jira: JiraServer
) -> None:
    jira.down = True
    before = stored(app)
    response = api(client, JIRA_ADMIN, "POST", "/api/v1/objectives", api_write("create objective"))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "permissions_unavailable"
    assert stored(app) == before


def test_the_operator_token_writes_without_asking_jira(
    client: FlaskClient, connect_site: int, jira: JiraServer, admin: dict[str, str]
) -> None:
    jira.down = True
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    response = client.post(
        "/api/v1/objectives", json=api_write("company level objective"), headers=headers
    )
    assert response.status_code == 201
    assert response.json["team"] == "ACME"
    assert jira.calls == []


def test_jira_is_asked_once_a_minute_per_account_as_the_app(
    client: FlaskClient, connect_site: int, jira: JiraServer
) -> None:
    for value in (10, 20, 30):
        body = {"value": value, "what": "step"}
        response = api(client, PLAT_MEMBER, "POST", "/api/v1/key-results/PLAT-1.1/check-ins", body)
        assert response.status_code == 201
    (check,) = jira.checks()
    assert check.authorization.startswith("JWT ")  # as the app, signed per request
    assert check.body["accountId"] == PLAT_MEMBER
    assert check.body["globalPermissions"] == ["ADMINISTER"]
    assert {p["permissions"][0] for p in check.body["projectPermissions"]} == {
        "BROWSE_PROJECTS",
        "EDIT_ISSUES",
        "ADMINISTER_PROJECTS",
    }
    assert all(p["projects"] == [10001] for p in check.body["projectPermissions"])


# --- the Connect pages -------------------------------------------------------------------


def page_post(
    app: Flask, client: FlaskClient, site_id: int, account: str, path: str, params: dict, data: dict
) -> Any:
    """A form post as the page makes it: a context JWT of `account`, the page's CSRF token."""
    tokens = services_of(app).ui_form_tokens
    purpose = "check-in"  # the project page's forms
    if path.startswith("/jira/admin"):
        purpose = "digest-channels"
    elif path.startswith("/jira/issue-panel"):
        purpose = "issue-links"
    csrf = tokens.issue(site_id=site_id, account=account, purpose=purpose)
    url = signed_url(path, params, method="POST", context=True, account=account)
    return client.post(url, data={**data, "csrf_token": csrf})


PAGE_WRITES = [
    (
        "new objective",
        "/jira/okrs/edit",
        {"projectKey": "PLAT", "cycle": CYCLE},
        {"form": "new-objective", "title": "Make releases boring"},
        WRITERS,
    ),
    (
        "abandon KR",
        "/jira/okrs/edit",
        {"projectKey": "PLAT", "cycle": CYCLE},
        {"form": "abandon-key-result", "kr": "PLAT-1.1", "abandon_reason": "not an outcome"},
        WRITERS,
    ),
    (
        "close cycle",
        "/jira/okrs/close",
        {"projectKey": "PLAT", "cycle": CYCLE},
        {"learned": "a lot", "differently": "less"},
        WRITERS,
    ),
    (
        "check in",
        "/jira/check-in",
        {"projectKey": "PLAT", "cycle": CYCLE},
        {"kr": "PLAT-1.1", "value": "30", "what": "moved"},
        CHECKERS,
    ),
    (
        "give the month's score",
        "/jira/okrs/monthly-score",
        {"projectKey": "PLAT", "cycle": CYCLE},
        {"kr": "PLAT-1.1", "month": "2026-11", "score": "0.6", "reason": "half done"},
        CHECKERS,
    ),
    (
        "link from the issue panel",
        "/jira/issue-panel/link",
        {},
        {"issue": "PLAT-7", "kr": "PLAT-1.1"},
        CHECKERS,
    ),
    (
        "add a digest channel",
        "/jira/admin/digest-channels",
        {},
        {"team": "PLAT", "kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/x"},
        {JIRA_ADMIN},
    ),
]


@pytest.mark.parametrize("account", EVERYONE)
@pytest.mark.parametrize(
    ("path", "params", "data", "allowed"),
    [row[1:] for row in PAGE_WRITES],
    ids=[row[0] for row in PAGE_WRITES],
)
def test_the_connect_pages_write_as_jira_allows(
    app: Flask,
    client: FlaskClient,
    connect_site: int,
    account: str,
    path: str,
    params: dict,
    data: dict,
    allowed: set[str],
) -> None:
    before = stored(app)
    response = page_post(app, client, connect_site, account, path, params, data)
    if account in allowed:
        assert response.status_code == 303, response.text
        return
    assert response.status_code == 403, response.text
    assert parse(response.text).find("main").attrs["data-error-code"] == "forbidden"
    assert stored(app) == before


@pytest.mark.parametrize("account", EVERYONE)
def test_the_admin_page_opens_for_jira_admins_only(
    client: FlaskClient, connect_site: int, account: str
) -> None:
    response = client.get(signed_url("/jira/admin", account=account))
    if account == JIRA_ADMIN:
        assert response.status_code == 200
        return
    assert response.status_code == 403
    main = parse(response.text).find("main")
    assert main.attrs["data-error-code"] == "forbidden"
    assert "ADMINISTER" in main.text


def test_the_admin_page_says_when_jira_cannot_be_asked(
    client: FlaskClient, connect_site: int, jira: JiraServer
) -> None:
    jira.down = True
    response = client.get(signed_url("/jira/admin", account=JIRA_ADMIN))
    assert response.status_code == 503
    main = parse(response.text).find("main")
    assert main.attrs["data-error-code"] == "permissions_unavailable"
    assert "Jira could not be asked" in main.text


def forms_of(page: str) -> set[str]:
    return {form.attrs["data-form"] for form in parse(page).find_all("form", data_form=True)}


def project_page(client: FlaskClient, account: str) -> str:
    url = signed_url("/jira/project-page", {"projectKey": "PLAT", "cycle": CYCLE}, account=account)
    response = client.get(url)
    assert response.status_code == 200
    return response.text


def test_the_project_page_shows_each_reader_the_forms_they_may_use(
    client: FlaskClient, connect_site: int, jira: JiraServer
) -> None:
    admin_forms = forms_of(project_page(client, PLAT_ADMIN))
    assert {"new-objective", "edit-key-result", "close-cycle", "check-in"} <= admin_forms
    assert forms_of(project_page(client, PLAT_MEMBER)) == {"check-in"}
    viewer = project_page(client, PLAT_VIEWER)
    assert forms_of(viewer) == set()
    assert parse(viewer).find(data_kr="PLAT-1.1")  # reading stays open
    assert parse(viewer).find(data_permissions="read_only")
    owner = parse(project_page(client, KR_OWNER))
    assert [f.attrs["data-form"] for f in owner.find(data_kr="PLAT-1.2").find_all("form")] == [
        "check-in"
    ]
    assert owner.find(data_kr="PLAT-1.1").find_all("form") == []
    jira.down = True
    down = parse(project_page(client, "557058:someone-new"))
    assert down.find_all("form", data_form=True) == []
    assert down.find(data_permissions="unavailable")


# --- the Forge pages ---------------------------------------------------------------------

FORGE_CLOUD = "5e0c8c1d-6a43-4fd0-9e65-0d7c1f3d0b8a"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(forge_app_id=APP_UUID, forge_jwks_url=JWKS_URL)


@pytest.fixture
def forge_keys(jira: JiraServer) -> Iterator[responses.RequestsMock]:
    """Forge's JWKS; the stand-in Jira passes through, other outbound HTTP fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(JWKS_URL, json=jwks_document())
        mock.add_passthru(jira.base_url)
        yield mock


def forge_call(account: str, jira: JiraServer) -> dict[str, str]:
    """Headers of a Custom UI call by `account`, its Jira the stand-in (through Forge's API
    base URL shape `/ex/jira/{cloudId}`)."""
    claims = fit_claims(cloud_id=FORGE_CLOUD, lifetime=600)
    claims["app"]["apiBaseUrl"] = f"{jira.base_url}/ex/jira/{FORGE_CLOUD}"
    claims["app"]["module"] = {"type": "jira:projectPage", "key": "okr-project-page"}
    claims["context"]["moduleKey"] = "okr-project-page"
    claims["principal"] = account
    return forge_headers(fit(claims))


@pytest.fixture
def forge_site(
    app: Flask, client: FlaskClient, jira: JiraServer, forge_keys: Any, clock: FakeClock
) -> int:
    opened = client.post(
        "/forge/project/page", json={"team": "PLAT"}, headers=forge_call(JIRA_ADMIN, jira)
    )
    assert opened.status_code == 200, opened.json
    tenants = services_of(app).tenants
    with services_of(app).store.session() as session:
        from sync.db.model import Installation

        site_id = session.query(Installation).one().site_id
    assert tenants is not None
    seed(app, site_id, clock)
    return site_id


FORGE_WRITES = [
    ("new objective", {"form": "new-objective", "fields": {"title": "Make it boring"}}, WRITERS),
    (
        "edit KR",
        {
            "form": "edit-key-result",
            "fields": {"kr": "PLAT-1.1", "title": "Raise it", "target": "120"},
        },
        WRITERS,
    ),
    ("close cycle", {"form": "close-cycle", "fields": {"learned": "a lot"}}, WRITERS),
    (
        "check in",
        {"form": "check-in", "fields": {"kr": "PLAT-1.1", "value": "30", "what": "moved"}},
        CHECKERS,
    ),
    (
        "give the month's score",
        {
            "form": "monthly-score",
            "fields": {"kr": "PLAT-1.1", "month": "2026-11", "score": "0.6", "reason": "half"},
        },
        CHECKERS,
    ),
]


@pytest.mark.parametrize("account", EVERYONE)
@pytest.mark.parametrize(
    ("body", "allowed"), [row[1:] for row in FORGE_WRITES], ids=[row[0] for row in FORGE_WRITES]
)
def test_the_forge_pages_write_as_jira_allows(
    app: Flask,
    client: FlaskClient,
    forge_site: int,
    jira: JiraServer,
    account: str,
    body: dict,
    allowed: set[str],
) -> None:
    csrf = services_of(app).ui_form_tokens.issue(
        site_id=forge_site, account=account, purpose="check-in"
    )
    before = stored(app)
    response = client.post(
        "/forge/project/forms",
        data=json.dumps({"team": "PLAT", "cycle": CYCLE, **body, "csrf": csrf}),
        headers=forge_call(account, jira),
    )
    if account in allowed:
        assert response.status_code == 200, response.json
        return
    assert response.status_code == 403, response.json
    assert response.json["error"]["code"] == "forbidden"
    assert stored(app) == before
    assert all(c.authorization.startswith("Bearer ") for c in jira.calls)  # the system token


def test_the_forge_page_hides_the_forms_from_a_viewer(
    client: FlaskClient, forge_site: int, jira: JiraServer
) -> None:
    viewer = client.post(
        "/forge/project/page", json={"team": "PLAT"}, headers=forge_call(PLAT_VIEWER, jira)
    )
    assert forms_of(viewer.json["html"]) == set()
    admin = client.post(
        "/forge/project/page", json={"team": "PLAT"}, headers=forge_call(PLAT_ADMIN, jira)
    )
    assert "new-objective" in forms_of(admin.json["html"])


# --- JQL key results count only what their author may browse -----------------------------


def jql_kr(jql: str) -> dict[str, Any]:
    return {
        "objective": "PLAT-1",
        "title": "Close 20 bugs",
        "kind": "jql",
        "jql": jql,
        "target": 20,
    }


@pytest.mark.parametrize(
    "jql",
    ["key = HR-12", "labels = secret", "project = HR", "project = PLAT OR project = HR"],
    ids=["an issue", "no project", "another project", "an OR branch outside"],
)
def test_a_jql_kr_reaching_beyond_what_its_author_browses_is_refused(
    app: Flask, client: FlaskClient, connect_site: int, jira: JiraServer, jql: str
) -> None:
    jira.projects["HR"] = 10002  # exists, and PLAT_ADMIN may not browse it
    before = stored(app)
    response = api(client, PLAT_ADMIN, "POST", "/api/v1/key-results", jql_kr(jql))
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == "jql"
    assert stored(app) == before
    patched = api(
        client, PLAT_ADMIN, "PATCH", "/api/v1/key-results/PLAT-1.1", {"kind": "jql", "jql": jql}
    )
    assert patched.status_code == 422
    assert patched.json["error"]["field"] == "jql"
    assert stored(app) == before


def test_a_confined_jql_kr_stores_its_author_and_stops_counting_when_they_lose_access(
    app: Flask, client: FlaskClient, connect_site: int, jira: JiraServer
) -> None:
    jira.search_hits = 3
    body = jql_kr("project = PLAT AND type = Bug AND statusCategory = Done")
    created = api(client, PLAT_ADMIN, "POST", "/api/v1/key-results", body)
    assert created.status_code == 201, created.json
    key = created.json["key"]
    with services_of(app).store.session() as session:
        from sync.db.store import find_kr

        kr = find_kr(session, connect_site, key)
        assert kr is not None and kr.jql_author == PLAT_ADMIN
    polled = api(client, PLAT_ADMIN, "POST", f"/api/v1/key-results/{key}/poll", {})
    assert polled.status_code == 200, polled.json
    assert (polled.json["current"], polled.json["source_state"]) == (3.0, "connected")
    jira.grants[(PLAT_ADMIN, "PLAT")] = frozenset({"ADMINISTER_PROJECTS"})  # browsing withdrawn
    jira.search_hits = 9
    again = api(client, JIRA_ADMIN, "POST", f"/api/v1/key-results/{key}/poll", {})
    assert again.json["source_state"] == "unreachable"
    assert again.json["current"] == 3.0
    assert "no longer browse PLAT" in again.json["source_message"]


def test_the_page_form_refuses_an_unconfined_jql_kr_beside_its_field(
    app: Flask, client: FlaskClient, connect_site: int
) -> None:
    before = stored(app)
    data = {
        "form": "new-key-result",
        "objective": "PLAT-1",
        "title": "Close 20 bugs",
        "kind": "jql",
        "jql": "key = HR-12",
        "target": "20",
    }
    params = {"projectKey": "PLAT", "cycle": CYCLE}
    response = page_post(app, client, connect_site, PLAT_ADMIN, "/jira/okrs/edit", params, data)
    assert response.status_code == 422
    assert parse(response.text).find(data_error="jql")
    assert stored(app) == before


def test_a_users_import_is_confined_and_the_operators_is_not(
    app: Flask, client: FlaskClient, connect_site: int, admin: dict[str, str]
) -> None:
    okr_file = (
        "team: PLAT\ncycle: 2026-Q4\nobjectives:\n  - key: PLAT-1\n    title: Ship\n"
        "    key_results:\n      - key: PLAT-1.9\n        title: Close 20 bugs\n"
        "        kind: jql\n        jql: key = HR-12\n        target: 20\n"
    )
    token = connect_token(
        SECRET, client_key=CLIENT_KEY, method="POST", url="/api/v1/import", account_id=PLAT_ADMIN
    )
    before = stored(app)
    refused = client.post(
        "/api/v1/import", data=okr_file, headers={"Authorization": f"JWT {token}"}
    )
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["field"] == "jql"
    assert stored(app) == before
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    assert client.post("/api/v1/import", data=okr_file, headers=headers).status_code == 200


def test_the_issue_panel_offers_link_and_unlink_only_to_who_may(
    client: FlaskClient, connect_site: int, admin: dict[str, str]
) -> None:
    linked = client.post(
        "/api/v1/key-results/PLAT-1.1/links",
        json={"target": "PLAT-7"},
        headers={**admin, "X-Okrlink-Site": CLIENT_KEY},
    )
    assert linked.status_code == 201, linked.json

    def posts(account: str) -> int:
        url = signed_url(
            "/jira/issue-panel", {"issueKey": "PLAT-7", "q": "measure"}, account=account
        )
        page = client.get(url)
        assert page.status_code == 200
        assert parse(page.text).find(data_kr="PLAT-1.1")  # reading stays open
        return len(
            [f for f in parse(page.text).find_all("form") if f.attrs.get("method") == "post"]
        )

    assert posts(PLAT_VIEWER) == 0
    assert posts(PLAT_MEMBER) >= 2  # unlink PLAT-1.1, link the search's other KRs
    assert posts(KR_OWNER) == 1  # link to the KR they own (PLAT-1.2) only

"""People by name: owners and check-in authors read from Jira's `user/bulk` over HTTPS (a
stand-in Jira), one call per batch, cached a day; unknown and closed accounts named so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from sync import people
from sync.db.model import Person
from tests.support.app import ACCOUNT, CLIENT_KEY, install, signed_url
from tests.support.base import FakeClock
from tests.support.chat import trust
from tests.support.jira import USER_BULK, StandInJira, stand_in_jira
from tests.support.ui import parse

PAGE = "/jira/project-page"
ALICE = "557058:a11ce000-0000-4000-8000-000000000001"
BOB = "5b10ac8d82e05b22cc7d4ef5"
GONE = "557058:90e00000-0000-4000-8000-000000000003"
NOBODY = "557058:0b0d1000-0000-4000-8000-000000000004"


@pytest.fixture
def jira(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInJira]:
    ca = trustme.CA()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", trust(ca, tmp_path))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with stand_in_jira(ca) as found:
        found.add(ACCOUNT, "Camille Martin", projects=["PLAT"])
        found.add(ALICE, "Alice Dupont", projects=["PLAT"])
        found.add(BOB, "Bob Lee", projects=["PLAT"])
        found.add(GONE, "Former user", active=False)
        yield found


@pytest.fixture
def site(app: Flask, jira: StandInJira) -> int:
    return install(app, base_url=jira.base_url)


def _quarter(client: FlaskClient, admin: dict[str, str]) -> None:
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    made = client.post(
        "/api/v1/objectives",
        json={"team": "PLAT", "cycle": "2026-Q4", "title": "Make the platform reliable"},
        headers=headers,
    )
    assert made.status_code == 201
    for number, owner in enumerate((ALICE, BOB, GONE, NOBODY, "SRE lead"), start=1):
        kr = client.post(
            "/api/v1/key-results",
            json={
                "objective": "PLAT-1",
                "title": f"Raise availability {number} from 99.5% to 99.99%",
                "baseline": 99.5,
                "target": 99.99,
                "owner": owner,
            },
            headers=headers,
        )
        assert kr.status_code == 201, kr.json
        assert kr.json["owner"] == owner  # the API keeps account ids


def _owners(html: str) -> dict[str, str]:
    page = parse(html)
    return {
        node.attrs["data-kr"]: node.find(class_="meta").text
        for node in page.find_all("li", data_kr=True)
    }


def test_owners_read_as_names_fetched_in_one_batch_and_cached_for_a_day(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    site: int,
    jira: StandInJira,
    clock: FakeClock,
) -> None:
    _quarter(client, admin)
    html = client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4"})).text
    owners = _owners(html)
    assert "Owner: Alice Dupont" in owners["PLAT-1.1"]
    assert "Owner: Bob Lee" in owners["PLAT-1.2"]
    assert "Owner: Former user" in owners["PLAT-1.3"]
    assert "Owner: Unknown user" in owners["PLAT-1.4"]
    assert "Owner: SRE lead" in owners["PLAT-1.5"]
    for account in (ALICE, BOB, GONE, NOBODY):
        assert f"Owner: {account}" not in html
    calls = jira.calls(USER_BULK)
    assert len(calls) == 1
    assert sorted(calls[0]["accountId"]) == sorted([ALICE, BOB, GONE, NOBODY])
    assert all(auth.startswith("JWT ") for _p, _q, auth in jira.requests)
    # The review tab and a second load read the cache: no call.
    client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4", "view": "review"}))
    client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4"}))
    assert len(jira.calls(USER_BULK)) == 1
    # A day later the names are asked again, once.
    jira.add(ALICE, "Alice Martin", projects=["PLAT"])
    clock.current += timedelta(days=1, minutes=1)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    client.patch("/api/v1/key-results/PLAT-1.1", json={"unit": "%"}, headers=headers)
    html = client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4"})).text
    assert "Owner: Alice Martin" in _owners(html)["PLAT-1.1"]
    assert len(jira.calls(USER_BULK)) == 2


def test_a_check_in_author_reads_as_a_name(
    client: FlaskClient, admin: dict[str, str], site: int, jira: StandInJira
) -> None:
    _quarter(client, admin)
    page = client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4"})).text
    form = parse(page).find("form", data_form="check-in")
    data = {n.attrs["name"]: n.attrs.get("value", "") for n in form.find_all("input")}
    data.update(value="99.7", what="Failover drill passed")
    posted = client.post(form.attrs["action"], data=data)
    assert posted.status_code == 303, posted.text
    html = client.get(posted.headers["Location"]).text
    assert "by Camille Martin" in html
    assert ACCOUNT not in parse(html).find("main").text


def test_a_forgotten_profile_is_fetched_again(
    app: Flask, client: FlaskClient, admin: dict[str, str], site: int, jira: StandInJira
) -> None:
    _quarter(client, admin)
    client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4"}))
    store = services_of(app).store
    with store.session() as session:
        people.forget_profile(session, site, ALICE)
    with store.session() as session:
        assert session.get(Person, (site, ALICE)) is None
        assert session.get(Person, (site, BOB)) is not None
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    client.patch("/api/v1/key-results/PLAT-1.1", json={"unit": "%"}, headers=headers)
    client.get(signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4"}))
    calls = jira.calls(USER_BULK)
    assert len(calls) == 2
    assert calls[1]["accountId"] == [ALICE]


def test_many_accounts_are_asked_in_batches(
    app: Flask, site: int, jira: StandInJira, clock: FakeClock
) -> None:
    accounts = [f"557058:{n:08x}-0000-4000-8000-000000000000" for n in range(people.BATCH + 7)]
    for number, account in enumerate(accounts):
        jira.add(account, f"Person {number}")
    services = services_of(app)
    with app.app_context(), services.store.session() as session:
        names = people.names_for(
            session, site, accounts, people=services.jobs.ports.people, now=clock.now()
        )
    assert names[accounts[0]] == "Person 0"
    assert names[accounts[-1]] == f"Person {len(accounts) - 1}"
    sizes = [len(query["accountId"]) for query in jira.calls(USER_BULK)]
    assert sizes == [people.BATCH, 7]


def test_the_digest_names_the_owners_to_remind_in_slack_and_teams(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    site: int,
    jira: StandInJira,
    clock: FakeClock,
) -> None:
    from connect.chat.digest import render
    from sync.digest import load_digest

    _quarter(client, admin)
    services = services_of(app)
    with app.app_context(), services.store.session() as session:
        digest = load_digest(
            session,
            site,
            "PLAT",
            end=clock.now(),
            week="2026-W48",
            links=services.digest.links(site, "PLAT"),
            people=services.jobs.ports.people,
        )
    assert digest is not None
    assert [m.owner for m in digest.missing] == [
        "Alice Dupont",
        "Bob Lee",
        "Former user",
        "SRE lead",
        "Unknown user",
    ]
    for kind in ("slack", "teams"):
        text = str(render(digest, kind, "en"))
        assert "Alice Dupont" in text
        assert all(account not in text for account in (ALICE, BOB, GONE, NOBODY))
    assert len(jira.calls(USER_BULK)) == 1


def test_the_picker_search_asks_jira_for_people_who_may_browse_the_project(
    app: Flask, client: FlaskClient, site: int, jira: StandInJira
) -> None:
    from tests.support.jira import USER_SEARCH

    url = signed_url("/jira/people", {"projectKey": "PLAT", "q": "ali"}, context=True)
    found = client.get(url)
    assert found.status_code == 200, found.text
    assert found.json == {"people": [{"accountId": ALICE, "name": "Alice Dupont"}]}
    query = jira.calls(USER_SEARCH)[-1]
    assert query["permissions"] == ["BROWSE_PROJECTS"]
    assert query["projectKey"] == ["PLAT"]
    forged = client.get(
        signed_url("/jira/people", {"projectKey": "PLAT", "q": "ali"}, secret="x" * 40)
    )
    assert forged.status_code == 401
    assert forged.json["error"]["code"] == "token_signature"
    assert len(jira.calls(USER_SEARCH)) == 1
    with services_of(app).store.session() as session:
        assert session.query(Person).count() == 0  # a search stores nobody


def test_an_owner_form_keeps_the_account_unless_a_role_is_typed(
    app: Flask, client: FlaskClient, admin: dict[str, str], site: int, jira: StandInJira
) -> None:
    from tests.support.ui import follow, submit, the_form

    _quarter(client, admin)
    params = {"projectKey": "PLAT", "cycle": "2026-Q4"}
    page = client.get(signed_url(PAGE, params)).text
    form = the_form(page, "edit-key-result", "PLAT-1.1")
    owner = form.find("input", name="owner")
    assert owner.attrs["value"] == "Alice Dupont"
    assert form.find("input", name="owner_account").attrs["value"] == ALICE
    page = follow(client, submit(client, page, "edit-key-result", "PLAT-1.1", unit="%"))
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    kr = client.get("/api/v1/key-results/PLAT-1.1", headers=headers).json
    assert (kr["owner"], kr["unit"]) == (ALICE, "%")
    follow(client, submit(client, page, "edit-key-result", "PLAT-1.1", owner="Release manager"))
    kr = client.get("/api/v1/key-results/PLAT-1.1", headers=headers).json
    assert kr["owner"] == "Release manager"


def test_the_reviews_list_of_months_without_a_score_names_the_owners(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    _quarter(client, admin)
    url = signed_url(PAGE, {"projectKey": "PLAT", "cycle": "2026-Q4", "view": "review"})
    html = client.get(url).text
    listed = parse(html).find(data_monthly_missing_list=True)
    assert listed is not None  # 2026-11-25: November's last week asks for its score
    text = {li.attrs["data-missing-kr"]: li.text for li in listed.find_all("li")}
    assert "Alice Dupont" in text["PLAT-1.1"] and "Bob Lee" in text["PLAT-1.2"]
    assert "Unknown user" in text["PLAT-1.4"] and "SRE lead" in text["PLAT-1.5"]
    assert not [kr for kr, line in text.items() if "557058:" in line or BOB in line]


def test_an_owner_change_on_the_krs_page_reads_as_names(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    _quarter(client, admin)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    moved = client.patch("/api/v1/key-results/PLAT-1.1", json={"owner": BOB}, headers=headers)
    assert moved.status_code == 200, moved.json
    url = signed_url("/jira/project-page/kr", {"projectKey": "PLAT", "kr": "PLAT-1.1"})
    html = client.get(url).text
    change = parse(html).find("li", data_field="owner")
    assert change.text == "owner: Alice Dupont → Bob Lee"
    assert ALICE not in parse(html).find("main").text and BOB not in parse(html).find("main").text

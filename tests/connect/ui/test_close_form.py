"""Closing the cycle from the project page; a closed cycle is read-only and shows its
retrospective, also through the panel's `view=retro`; monthly scores on the project page."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from tests.support.app import CLIENT_KEY, MACRO_PARAMS, PANEL, install, signed_url
from tests.support.base import FakeClock
from tests.support.quarter import CYCLE, post, write_quarter
from tests.support.ui import parse

PAGE = {"projectKey": "PLAT", "cycle": CYCLE}


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock) -> int:
    site_id = install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    clock.current -= timedelta(days=40)  # October: the quarter is written
    write_quarter(client, headers)
    clock.current += timedelta(days=40)  # November: one KR halfway
    post(client, headers, "/key-results/PLAT-1.1/check-ins", {"value": 99.745})
    return site_id


def _close_form(client: FlaskClient) -> tuple[str, dict[str, object]]:
    page = client.get(signed_url("/jira/project-page", PAGE)).text
    form = parse(page).find("form", data_form="close-cycle")
    data: dict[str, object] = {
        n.attrs["name"]: n.attrs.get("value", "")
        for n in form.find_all("input")
        if n.attrs.get("type") != "checkbox"
    }
    return form.attrs["action"], data


def test_the_project_page_shows_each_krs_score_by_month(client: FlaskClient, site: int) -> None:
    page = parse(client.get(signed_url("/jira/project-page", PAGE)).text)
    months = page.find("li", data_kr="PLAT-1.1").find(data_monthly=True)
    scores = {
        n.attrs["data-month"]: n.attrs.get("data-score") for n in months.find_all(data_month=True)
    }
    assert scores == {"2026-10": "0.0", "2026-11": "0.5"}


def test_closing_from_the_form_grades_keeps_the_retro_and_turns_read_only(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    action, data = _close_form(client)
    assert data["score:PLAT-1.1"] == "0.50"
    refused = client.post(action, data={**data, "score:PLAT-1.2": "0.7"})
    assert refused.status_code == 422
    assert parse(refused.text).find(data_form="close-cycle").find(data_error="reason:PLAT-1.2")
    done = client.post(
        action,
        data={
            **data,
            "score:PLAT-1.2": "0.7",
            "reason:PLAT-1.2": "Safe deploys by December",
            "learned": "Failover drills pay",
            "differently": "Start earlier",
            "carry_over": ["PLAT-1.1"],
        },
    )
    assert done.status_code == 303, done.text
    page = parse(client.get(done.headers["Location"]).text)
    assert page.find(data_closed=True)
    assert not page.find_all("form")
    assert page.find(data_learned=True).text == "Failover drills pay"
    graded = page.find(data_retro=True)
    assert graded
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    carried = client.get("/api/v1/key-results?cycle=2027-Q1", headers=headers).json
    assert [kr["carried_from"] for kr in carried["key_results"]] == [
        {"key": "PLAT-1.1", "cycle": CYCLE}
    ]
    again = client.post(action, data=data)
    assert again.status_code in (403, 409)


def test_the_panel_shows_the_retrospective_with_view_retro(client: FlaskClient, site: int) -> None:
    action, data = _close_form(client)
    client.post(action, data={**data, "learned": "Drills pay", "carry_over": ["PLAT-1.1"]})
    url = signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE, "view": "retro"})
    retro = parse(client.get(url).text)
    assert retro.find(data_view="retro")
    assert retro.find(data_learned=True).text == "Drills pay"
    kr = retro.find("li", data_kr="PLAT-1.1")
    assert kr.attrs["data-final-score"] == "0.50"
    assert "data-carried" in kr.attrs


def test_a_forged_token_closes_nothing(client: FlaskClient, site: int) -> None:
    action, data = _close_form(client)
    assert client.post(action, data={**data, "csrf_token": "forged"}).status_code == 403
    page = parse(client.get(signed_url("/jira/project-page", PAGE)).text)
    assert page.find("form", data_form="close-cycle")


def test_a_token_of_another_site_closes_nothing_here(
    app: Flask, client: FlaskClient, site: int
) -> None:
    key, secret = "jira:globex-client-key", "another-shared-secret-of-32-characters-xyz"
    install(app, client_key=key, base_url="https://globex.atlassian.net", secret=secret)
    other = client.get(signed_url("/jira/project-page", PAGE, client_key=key, secret=secret))
    form = parse(other.text).find("form", data_form="new-objective")
    csrf = form.find("input", name="csrf_token").attrs["value"]
    action = form.attrs["action"].replace("/jira/okrs/edit", "/jira/okrs/close")
    response = client.post(action, data={"csrf_token": csrf, "learned": "Hijacked"})
    assert response.status_code == 404
    page = parse(client.get(signed_url("/jira/project-page", PAGE)).text)
    assert page.find("form", data_form="close-cycle")


@responses.activate
def test_a_retrospective_refused_by_confluence_from_the_form_is_retried_and_then_linked(
    app: Flask, client: FlaskClient, site: int, clock: FakeClock
) -> None:
    from tests.support.confluence import (
        CONFLUENCE_KEY,
        CONTENT,
        CREATED,
        NOT_FOUND,
        PAGE_URL,
        WIKI,
    )

    install(app, client_key=CONFLUENCE_KEY, base_url=WIKI, product="confluence")
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, status=503, json={"statusCode": 503, "message": "Unavailable"})
    action, data = _close_form(client)
    done = client.post(action, data={**data, "learned": "Drills pay", "space": "PLAT"})
    assert done.status_code == 303, done.text
    pending = parse(client.get(done.headers["Location"]).text).find(data_retro_page=True)
    assert (pending.attrs["data-retro-page"], pending.attrs["data-space"]) == ("pending", "PLAT")
    responses.replace(responses.POST, CONTENT, json=CREATED)
    clock.current += timedelta(minutes=11)
    services_of(app).jobs.flush_outbound(site)
    page = parse(client.get(done.headers["Location"]).text)
    published = page.find(data_retro_page=True)
    assert published.attrs["data-retro-page"] == "published"
    assert published.find("a", href=PAGE_URL)
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 2


def test_the_retrospective_keeps_each_objectives_why(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    why = "Customers stop losing a working day to our outages"
    patched = client.patch("/api/v1/objectives/PLAT-1", json={"description": why}, headers=headers)
    assert patched.status_code == 200, patched.json
    action, data = _close_form(client)
    client.post(action, data={**data, "learned": "Drills pay"})
    url = signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE, "view": "retro"})
    retro = parse(client.get(url).text).find(data_retro_objectives=True)
    assert retro.find("li", data_objective="PLAT-1").find(data_why=True).text == why
    assert not retro.find("li", data_objective="PLAT-2").find_all(data_why=True)

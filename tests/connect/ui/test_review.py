"""The weekly review (project page tab, panel `view=review`) and the latest check-in's notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import CLIENT_KEY, MACRO_PARAMS, PANEL, install, signed_url
from tests.support.base import FakeClock
from tests.support.quarter import CYCLE, post, write_quarter
from tests.support.ui import parse


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock) -> int:
    """The quarter written a week and a day ago; today one check-in, with confidence and risks."""
    site_id = install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    write_quarter(client, headers)
    clock.current += timedelta(days=8)
    post(
        client,
        headers,
        "/key-results/PLAT-1.1/check-ins",
        {
            "value": 99.745,
            "status": "on_track",
            "confidence": 0.6,
            "what": "No incident",
            "why": "Failover drills",
            "next": "Chaos day",
            "decisions": ["Keep weekly drills"],
            "risks": ["Vendor outage", "On-call gaps"],
            "learnings": ["Drills find real bugs"],
        },
    )
    return site_id


def _review(html: str) -> dict[str, dict[str, str]]:
    return {n.attrs["data-kr"]: n.attrs for n in parse(html).find_all("li", data_delta=True)}


def test_the_review_tab_walks_each_kr_change_missing_check_ins_and_risks(
    client: FlaskClient, site: int
) -> None:
    page = client.get(signed_url("/jira/project-page", {"projectKey": "PLAT", "cycle": CYCLE}))
    tab = parse(page.text).find("a", data_tab="review").attrs["href"]
    review = client.get(tab)
    assert review.status_code == 200
    rows = _review(review.text)
    assert len(rows) == 9
    assert rows["PLAT-1.1"]["data-delta"] == "+50"
    assert {rows[key]["data-delta"] for key in rows if key != "PLAT-1.1"} == {"+0"}
    assert "data-missing-check-in" not in rows["PLAT-1.1"]
    assert sum("data-missing-check-in" in row for row in rows.values()) == 8
    root = parse(review.text)
    assert root.find(data_missing="8")
    kr = root.find("li", data_kr="PLAT-1.1")
    assert kr.find(data_status_before="off_track")
    assert [li.text for li in kr.find(data_risks=True).find_all("li")] == [
        "Vendor outage",
        "On-call gaps",
    ]
    assert kr.find(data_confidence="0.60").text == "Confidence 60%"


def test_the_panel_macro_shows_the_review_with_view_review(client: FlaskClient, site: int) -> None:
    url = signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE, "view": "review", "lang": "fr"})
    response = client.get(url)
    assert response.status_code == 200
    assert _review(response.text)["PLAT-1.1"]["data-delta"] == "+50"
    assert "Points manquants cette semaine : 8" in response.text


def test_the_kr_shows_the_latest_check_ins_confidence_decisions_risks_and_learnings(
    client: FlaskClient, site: int
) -> None:
    url = signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE})
    kr = parse(client.get(url).text).find("li", data_kr="PLAT-1.1")
    assert kr.find(data_confidence="0.60").text == "Confidence 60%"
    latest = kr.find(data_latest_check_in=True)
    assert latest.find(data_why=True).text == "Failover drills"
    assert latest.find(data_next=True).text == "Chaos day"
    assert [li.text for li in latest.find(data_decisions=True).find_all("li")] == [
        "Keep weekly drills"
    ]
    assert [li.text for li in latest.find(data_risks=True).find_all("li")] == [
        "Vendor outage",
        "On-call gaps",
    ]
    assert [li.text for li in latest.find(data_learnings=True).find_all("li")] == [
        "Drills find real bugs"
    ]


def test_a_check_in_confidence_out_of_range_is_shown_beside_its_field(
    client: FlaskClient, site: int
) -> None:
    page = client.get(signed_url("/jira/project-page", {"projectKey": "PLAT", "cycle": CYCLE}))
    root = parse(page.text)
    form = next(f for f in root.find_all("form") if "/jira/check-in" in f.attrs["action"])
    data = {n.attrs["name"]: n.attrs.get("value", "") for n in form.find_all("input")}
    data.update({"kr": "PLAT-1.2", "confidence": "1,5", "what": "Slower"})
    response = client.post(form.attrs["action"], data=data)
    assert response.status_code == 422
    assert "Enter a confidence between 0 and 1." in response.text


def test_a_krs_own_page_shows_every_check_in_and_every_change_to_its_definition(
    client: FlaskClient, site: int, admin: dict[str, str], clock: FakeClock
) -> None:
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    client.patch("/api/v1/key-results/PLAT-1.1", json={"target": 99.95}, headers=headers)
    clock.current += timedelta(days=7)
    post(client, headers, "/key-results/PLAT-1.1/check-ins", {"value": 99.8, "what": "Calm week"})
    page = client.get(signed_url("/jira/project-page", {"projectKey": "PLAT", "cycle": CYCLE}))
    link = parse(page.text).find("li", data_kr="PLAT-1.1").find("a", data_kr_link=True)
    kr_page = client.get(link.attrs["href"])
    assert kr_page.status_code == 200
    root = parse(kr_page.text)
    check_ins = root.find(data_check_ins=True).find_all(data_check_in=True)
    assert [c.find(data_what=True).text for c in check_ins] == ["Calm week", "No incident"]
    assert root.find(data_earlier=True).find(data_risks=True)
    changes = root.find(data_definition_history=True).find_all("li", data_change=True)
    assert [c.attrs["data-change"] for c in changes] == ["create", "update"]
    assert changes[1].find(data_field="target").text == "target: 99.99 → 99.95"
    other = client.get(link.attrs["href"].replace("kr=PLAT-1.1", "kr=NOPE-1.1"))
    assert other.status_code == 404

"""The review tab asks for the month's score in the month's last week (Connect door): a form per
active KR with the 0.3/0.7 guidance, the score stored as given with the page token's account,
shown in "Score by month", and the KRs still without one listed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import KeyResult, MonthlyScore
from tests.support.app import ACCOUNT, CLIENT_KEY, install, signed_url
from tests.support.base import FakeClock
from tests.support.quarter import CYCLE, write_quarter
from tests.support.ui import field_names, follow, parse, submit, the_form


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str]) -> int:
    site_id = install(app)
    write_quarter(client, {**admin, "X-Okrlink-Site": CLIENT_KEY})
    return site_id


def review(client: FlaskClient, **params: str) -> str:
    url = signed_url(
        "/jira/project-page", {"projectKey": "PLAT", "cycle": CYCLE, "view": "review", **params}
    )
    page = client.get(url)
    assert page.status_code == 200
    return page.text


def stored(app: Flask) -> list[tuple[str, str, float, str, str | None]]:
    with services_of(app).store.session() as session:
        rows = session.execute(
            select(KeyResult.key, MonthlyScore.month, MonthlyScore.score, MonthlyScore.reason)
            .add_columns(MonthlyScore.author)
            .join(KeyResult, KeyResult.id == MonthlyScore.kr_id)
            .order_by(KeyResult.key)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_last_week_asks_each_kr_for_the_months_score_with_the_guidance(
    client: FlaskClient, site: int
) -> None:
    html = review(client)
    root = parse(html)
    section = root.find(data_monthly_review=True)
    assert section.attrs["data-month"] == "2026-11"
    assert section.find(data_monthly_missing="9")
    assert len(section.find(data_monthly_missing_list=True).find_all("li")) == 9
    forms = root.find_all("form", data_form="monthly-score")
    assert len(forms) == 9
    form = the_form(html, "monthly-score", "PLAT-1.1")
    assert field_names(form) == ["score", "reason"]
    score = form.find("input", name="score")
    assert (score.attrs["min"], score.attrs["max"]) == ("0", "1")
    hint = form.find(id=score.attrs["aria-describedby"])
    assert "0.7 is a good stretch result" in hint.text and "0.3 or below" in hint.text
    french = parse(review(client, lang="fr"))
    assert "0,7 est un bon résultat" in french.find("form", data_form="monthly-score").text


def test_the_score_is_stored_as_given_and_shown(app: Flask, client: FlaskClient, site: int) -> None:
    html = review(client)
    answer = submit(
        client,
        html,
        "monthly-score",
        "PLAT-1.1",
        score="0.7",
        reason="Failover is automatic",
        author="557058:someone-else",
    )
    page = follow(client, answer)
    assert stored(app) == [("PLAT-1.1", "2026-11", 0.7, "Failover is automatic", ACCOUNT)]
    root = parse(page)
    assert root.find(data_monthly_missing="8")
    assert root.find_all(data_missing_kr="PLAT-1.1") == []
    given = root.find("li", data_kr="PLAT-1.1").find(data_monthly_given=True)
    assert given.attrs["data-monthly-given"] == "0.70"
    assert "Failover is automatic" in given.text
    okrs = parse(
        client.get(signed_url("/jira/project-page", {"projectKey": "PLAT", "cycle": CYCLE})).text
    )
    month = okrs.find("li", data_kr="PLAT-1.1").find(data_month="2026-11")
    assert month.attrs["data-score"] == "0.7" and "data-given" in month.attrs
    other = okrs.find("li", data_kr="PLAT-1.2").find(data_month="2026-11")
    assert "data-given" not in other.attrs  # derived from its history


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"score": "1.4", "reason": "Better than planned"}, "score"),
        ({"score": "abc", "reason": "Typo"}, "score"),
        ({"score": "0.5", "reason": ""}, "reason"),
        ({"score": "0.5", "reason": "Fine", "month": "2026-14"}, "month"),
    ],
)
def test_a_refused_score_saves_nothing_and_shows_the_error_beside_the_field(
    app: Flask, client: FlaskClient, site: int, fields: dict[str, str], field: str
) -> None:
    answer = submit(client, review(client), "monthly-score", "PLAT-1.2", **fields)
    assert answer.status_code == 422
    assert stored(app) == []
    form = the_form(answer.text, "monthly-score", "PLAT-1.2")
    assert form.find(class_="err", role="alert")
    if field != "month":
        shown = form.find("input", name=field)
        assert shown.attrs["aria-invalid"] == "true"
        assert shown.attrs.get("value", "") == fields[field]


def test_a_forged_form_token_or_another_teams_kr_is_refused(
    app: Flask, client: FlaskClient, site: int
) -> None:
    html = review(client)
    forged = submit(
        client,
        html,
        "monthly-score",
        "PLAT-1.1",
        score="0.5",
        reason="r",
        **{"csrf_token": "forged"},
    )
    assert forged.status_code == 403
    assert "403 csrf" in forged.text  # the page's error page names the code
    form = the_form(html, "monthly-score", "PLAT-1.1")
    data = {n.attrs["name"]: n.attrs.get("value", "") for n in form.find_all("input")}
    action = form.attrs["action"].replace("projectKey=PLAT", "projectKey=ACME")
    assert action != form.attrs["action"]
    other = client.post(action, data={**data, "score": "0.5", "reason": "Not my team's"})
    assert other.status_code == 404
    assert "404 not found" in other.text and "no key result PLAT-1.1" in other.text
    assert stored(app) == []


def test_outside_the_last_week_nothing_is_asked(
    client: FlaskClient, site: int, clock: FakeClock
) -> None:
    clock.current = datetime(2026, 11, 16, 12, tzinfo=UTC)
    root = parse(review(client))
    assert root.find_all(data_monthly_review=True) == []
    assert root.find_all("form", data_form="monthly-score") == []
    assert len(root.find_all("li", data_delta=True)) == 9


def test_a_given_reason_is_escaped_on_the_review(
    client: FlaskClient, site: int, admin: dict[str, str]
) -> None:
    reason = '<img src=x onerror="alert(1)">'
    given = client.post(
        "/api/v1/key-results/PLAT-1.3/monthly-scores",
        json={"month": "2026-11", "score": 0.5, "reason": reason},
        headers={**admin, "X-Okrlink-Site": CLIENT_KEY},
    )
    assert given.status_code == 201
    html = review(client)
    assert reason not in html
    assert "&lt;img src=x onerror=" in html

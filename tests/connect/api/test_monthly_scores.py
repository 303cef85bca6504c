"""`POST/GET /api/v1/key-results/{key}/monthly-scores`: the month's score stored as given, the
author never taken from the body, bad months and scores refused with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connect.services import services_of
from sync.db.model import MonthlyScore
from tests.support.app import CLIENT_KEY, install
from tests.support.quarter import write_quarter

PATH = "/api/v1/key-results/PLAT-1.1/monthly-scores"


@pytest.fixture
def headers(app: Flask, client: FlaskClient, admin: dict[str, str]) -> dict[str, str]:
    install(app)
    with_site = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    write_quarter(client, with_site)
    return with_site


def stored(app: Flask) -> int:
    with services_of(app).store.session() as session:
        return int(session.scalar(select(func.count()).select_from(MonthlyScore)) or 0)


def test_a_score_is_given_then_listed(
    app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    body = {
        "month": "2026-11",
        "score": 0.7,
        "reason": "Failover is automatic",
        "author": "557058:someone-else",
    }
    created = client.post(PATH, json=body, headers=headers)
    assert created.status_code == 201, created.json
    given = created.json["monthly_score"]
    assert (given["month"], given["score"], given["reason"]) == (
        "2026-11",
        0.7,
        "Failover is automatic",
    )
    assert given["author"] is None  # the admin token has no account; the body's is ignored
    listed = client.get(PATH, headers=headers)
    assert listed.status_code == 200
    assert [(g["month"], g["score"]) for g in listed.json["monthly_scores"]] == [("2026-11", 0.7)]
    assert stored(app) == 1


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"month": "2026-11", "score": 1.5, "reason": "Too good"}, "score", "score_range"),
        ({"month": "2026-11", "score": -1, "reason": "Too bad"}, "score", "score_range"),
        ({"month": "2026-11", "score": "0.5", "reason": "Text"}, "score", "score_range"),
        ({"month": "2026-11", "reason": "No score"}, "score", "score_range"),
        ({"month": "2026-1", "score": 0.5, "reason": "Short month"}, "month", "bad_month"),
        ({"month": "2026-00", "score": 0.5, "reason": "Month zero"}, "month", "bad_month"),
        ({"score": 0.5, "reason": "No month"}, "month", "bad_month"),
        ({"month": "2027-01", "score": 0.5, "reason": "Next cycle"}, "month", "bad_month"),
        ({"month": "2026-11", "score": 0.5, "reason": "One\nTwo"}, "reason", "one_line"),
    ],
)
def test_a_bad_month_or_score_is_refused_and_nothing_is_stored(
    app: Flask,
    client: FlaskClient,
    headers: dict[str, str],
    body: dict[str, Any],
    field: str,
    code: str,
) -> None:
    refused = client.post(PATH, json=body, headers=headers)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["code"] == code
    assert refused.json["error"]["field"] == field
    assert stored(app) == 0


def test_unknown_kr_unsigned_caller_and_non_json_body_are_refused(
    app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    body = {"month": "2026-11", "score": 0.5, "reason": "Fine"}
    missing = client.post("/api/v1/key-results/PLAT-9.9/monthly-scores", json=body, headers=headers)
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "not_found")
    unsigned = client.post(PATH, json=body, headers={"X-Okrlink-Site": CLIENT_KEY})
    assert unsigned.status_code == 401
    assert unsigned.json["error"]["code"]
    text = client.post(PATH, data="month=2026-11", headers=headers)
    assert (text.status_code, text.json["error"]["code"]) == (400, "malformed_body")
    assert stored(app) == 0


def test_the_openapi_document_describes_the_routes(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").json
    routes = document["paths"]["/key-results/{key}/monthly-scores"]
    assert set(routes) == {"get", "post"}
    schema = document["components"]["schemas"]["MonthlyScoreInput"]
    assert schema["required"] == ["month", "score", "reason"]
    assert schema["properties"]["score"] == {"type": "number", "minimum": 0, "maximum": 1}

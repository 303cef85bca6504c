"""`/api/v1/kpis`: a team's health signals, judged healthy or breached, kept as history."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from tests.support.base import FakeClock

CFR = {
    "team": "PLAT",
    "key": "PLAT-K1",
    "title": "Change failure rate",
    "kind": "metric",
    "unit": "%",
    "healthy": {"max": 15},
    "drop_alert": 20,
}


def _create(client: FlaskClient, admin: dict[str, str], **extra: object) -> dict:
    response = client.post("/api/v1/kpis", json={**CFR, **extra}, headers=admin)
    assert response.status_code == 201, response.json
    return response.json


def _value(client: FlaskClient, admin: dict[str, str], value: float) -> dict:
    response = client.post("/api/v1/kpis/PLAT-K1/values", json={"value": value}, headers=admin)
    assert response.status_code == 201, response.json
    return response.json


def test_a_kpi_is_created_listed_and_healthy_inside_its_range(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    created = _create(client, admin, current=9)
    assert (created["value"], created["health"], created["reason"]) == (9, "healthy", None)
    assert created["healthy"] == {"min": None, "max": 15}
    assert created["findings"] == []
    listed = client.get("/api/v1/kpis?team=PLAT", headers=admin).json["kpis"]
    assert [kpi["key"] for kpi in listed] == ["PLAT-K1"]
    assert client.get("/api/v1/kpis?team=OTHER", headers=admin).json["kpis"] == []


def test_out_of_range_or_a_sudden_change_breaches_and_every_value_is_kept(
    client: FlaskClient, admin: dict[str, str], clock: FakeClock
) -> None:
    _create(client, admin, current=5)
    clock.current += timedelta(days=1)
    jumped = _value(client, admin, 9)  # +4 in a day: more than 20 % of 15
    assert (jumped["health"], jumped["reason"]) == ("breached", "drop")
    clock.current += timedelta(days=8)
    calm = _value(client, admin, 9.5)  # a week later, the jump is forgotten
    assert calm["health"] == "healthy"
    clock.current += timedelta(days=1)
    high = _value(client, admin, 16)
    assert (high["health"], high["reason"]) == ("breached", "out_of_range")
    history = client.get("/api/v1/kpis/PLAT-K1/history", headers=admin).json["history"]
    assert [(p["value"], p["health"]) for p in history] == [
        (5, "healthy"),
        (9, "breached"),
        (9.5, "healthy"),
        (16, "breached"),
    ]


def test_a_kr_taking_its_value_from_a_kpi_moves_with_it(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    _create(client, admin, current=15)
    client.post(
        "/api/v1/objectives",
        json={"team": "PLAT", "cycle": "2026-Q4", "title": "Ship safely"},
        headers=admin,
    )
    response = client.post(
        "/api/v1/key-results",
        headers=admin,
        json={
            "objective": "PLAT-1",
            "title": "Reduce the change failure rate from 15% to 5%",
            "baseline": 15,
            "target": 5,
            "unit": "%",
            "owner": "Platform team",
            "kpi": "PLAT-K1",
        },
    )
    assert response.status_code == 201, response.json
    assert (response.json["kpi"], response.json["current"]) == ("PLAT-K1", 15)
    _value(client, admin, 10)
    kr = client.get("/api/v1/key-results/PLAT-1.1", headers=admin).json
    assert (kr["current"], kr["progress"]) == (10, 0.5)


def test_practice_findings_say_what_to_fix(client: FlaskClient, admin: dict[str, str]) -> None:
    created = _create(client, admin, healthy={}, owner="jane.doe@example.com")
    assert {f["code"] for f in created["findings"]} == {"kpi-no-range", "kpi-person-owner"}
    patched = client.patch(
        "/api/v1/kpis/PLAT-K1", json={"healthy": {"max": 15}, "owner": None}, headers=admin
    )
    assert patched.status_code == 200
    assert patched.json["findings"] == []


def test_bad_input_is_refused_and_changes_nothing(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    malformed = client.post("/api/v1/kpis", data="nope", headers=admin)
    assert (malformed.status_code, malformed.json["error"]["code"]) == (400, "malformed_body")
    for bad, field in (
        ({"kind": "vibes"}, "kind"),
        ({"kind": "github", "measure": "happiness"}, "measure"),
        ({"healthy": {"min": 20, "max": 10}}, "healthy"),
        ({"drop_alert": 0}, "drop_alert"),
        ({"colour": "red"}, "colour"),
    ):
        response = client.post("/api/v1/kpis", json={**CFR, **bad}, headers=admin)
        assert response.status_code == 422, bad
        assert response.json["error"]["field"] == field
    assert client.get("/api/v1/kpis", headers=admin).json["kpis"] == []
    _create(client, admin)
    again = client.post("/api/v1/kpis", json=CFR, headers=admin)
    assert (again.status_code, again.json["error"]["code"]) == (409, "conflict")
    missing = client.get("/api/v1/kpis/PLAT-K9", headers=admin)
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "not_found")
    response = client.post("/api/v1/kpis/PLAT-K1/values", json={"value": "high"}, headers=admin)
    assert (response.status_code, response.json["error"]["code"]) == (422, "invalid")
    assert response.json["error"]["field"] == "value"
    anonymous = client.get("/api/v1/kpis", headers={})
    assert anonymous.status_code == 401 and anonymous.json["error"]["code"]
    assert [k["key"] for k in client.get("/api/v1/kpis", headers=admin).json["kpis"]] == ["PLAT-K1"]

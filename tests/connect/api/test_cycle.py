"""The OKR cycle through the REST API: definitions with history, abandon, confidence, close."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.support.quarter import (
    CLOSE_REQUEST,
    CYCLE,
    EXPECTED_CLOSE,
    post,
    stored_close,
    write_quarter,
)


def test_every_definition_change_is_kept_with_who_when_before_and_after(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    write_quarter(client, admin)
    response = client.patch(
        "/api/v1/key-results/PLAT-1.1",
        headers=admin,
        json={"target": 99.95, "owner": "Platform lead"},
    )
    assert response.status_code == 200, response.json
    changes = client.get("/api/v1/key-results/PLAT-1.1/changes", headers=admin).json["changes"]
    assert [c["action"] for c in changes] == ["create", "update"]
    assert changes[1]["before"] == {"target": 99.99, "owner": "SRE lead"}
    assert changes[1]["after"] == {"target": 99.95, "owner": "Platform lead"}
    assert changes[1]["at"].startswith("2026-11-25")
    client.patch("/api/v1/objectives/PLAT-2", headers=admin, json={"parent": "ACME-1"})
    objective = client.get("/api/v1/objectives/PLAT-2/changes", headers=admin).json["changes"]
    assert objective[-1]["before"] == {"parent": None}
    assert objective[-1]["after"] == {"parent": "ACME-1"}


def test_an_unchanged_save_adds_no_history(client: FlaskClient, admin: dict[str, str]) -> None:
    write_quarter(client, admin)
    client.patch("/api/v1/key-results/PLAT-1.1", headers=admin, json={"target": 99.99})
    changes = client.get("/api/v1/key-results/PLAT-1.1/changes", headers=admin).json["changes"]
    assert [c["action"] for c in changes] == ["create"]


def test_abandoning_an_objective_abandons_its_krs_with_the_reason(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    write_quarter(client, admin)
    refused = client.post("/api/v1/objectives/PLAT-3/abandon", headers=admin, json={"reason": ""})
    assert refused.status_code == 422
    assert refused.json["error"]["field"] == "reason"
    objective = post(
        client, admin, "/objectives/PLAT-3/abandon", {"reason": "The community team owns it now"}
    )
    assert objective["state"] == "abandoned"
    assert {kr["state"] for kr in objective["key_results"]} == {"abandoned"}
    assert {kr["abandon_reason"] for kr in objective["key_results"]} == {
        "The community team owns it now"
    }
    changes = client.get("/api/v1/key-results/PLAT-3.2/changes", headers=admin).json["changes"]
    assert changes[-1]["action"] == "abandon"
    assert changes[-1]["after"]["state"] == "abandoned"


def test_a_check_in_records_the_owners_confidence(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    write_quarter(client, admin)
    bad = client.post(
        "/api/v1/key-results/PLAT-1.1/check-ins",
        headers=admin,
        json={"value": 99.7, "confidence": 1.5},
    )
    assert bad.status_code == 422
    assert bad.json["error"]["field"] == "confidence"
    assert client.get("/api/v1/key-results/PLAT-1.1/check-ins", headers=admin).json == {
        "check_ins": []
    }
    made = post(
        client,
        admin,
        "/key-results/PLAT-1.1/check-ins",
        {"value": 99.7, "confidence": 0.6, "risks": ["Vendor outage"]},
    )
    assert made["check_in"]["confidence"] == 0.6
    assert made["check_in"]["risks"] == ["Vendor outage"]


def test_closing_grades_each_kr_keeps_the_retro_and_carries_krs_over(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    write_quarter(client, admin)
    post(client, admin, "/key-results/PLAT-1.1/check-ins", {"value": 99.745})
    closed = post(
        client,
        admin,
        f"/cycles/{CYCLE}/close?team=PLAT",
        {
            "scores": {"PLAT-1.2": {"score": 0.7, "reason": "Most deploys were safe by December"}},
            "retro": {"learned": "Failover drills pay", "differently": "Start the drills earlier"},
            "carry_over": ["PLAT-1.1"],
        },
    )
    assert closed["scores"]["PLAT-1.1"] == {"score": 0.5, "reason": None}
    assert closed["scores"]["PLAT-1.2"] == {
        "score": 0.7,
        "reason": "Most deploys were safe by December",
    }
    assert closed["retro"] == {
        "learned": "Failover drills pay",
        "differently": "Start the drills earlier",
    }
    assert closed["next_cycle"] == "2027-Q1"
    carried = client.get("/api/v1/key-results?cycle=2027-Q1", headers=admin).json["key_results"]
    assert [(kr["key"], kr["carried_from"]) for kr in carried] == [
        ("PLAT-1.1", {"key": "PLAT-1.1", "cycle": CYCLE})
    ]
    assert carried[0]["baseline"] == 99.745 and carried[0]["target"] == 99.99
    next_objective = client.get("/api/v1/objectives/PLAT-1?cycle=2027-Q1", headers=admin).json
    assert next_objective["parent"] == "ACME-1"


def test_a_closed_cycle_is_read_only(client: FlaskClient, admin: dict[str, str]) -> None:
    write_quarter(client, admin)
    post(client, admin, f"/cycles/{CYCLE}/close?team=PLAT", {})
    old = client.get(f"/api/v1/key-results?team=PLAT&cycle={CYCLE}", headers=admin).json
    for method, path, data in (
        ("patch", "/key-results/PLAT-1.1", {"target": 99.9}),
        ("post", "/key-results/PLAT-1.1/check-ins", {"value": 99.9}),
        ("post", "/key-results/PLAT-1.1/abandon", {"reason": "late"}),
        ("post", "/key-results", {"objective": "PLAT-1", "title": "Cut p99 from 9 to 3 ms"}),
        ("patch", "/objectives/PLAT-1", {"title": "Renamed"}),
        ("post", f"/cycles/{CYCLE}/close?team=PLAT", {}),
    ):
        response = getattr(client, method)(f"/api/v1{path}", json=data, headers=admin)
        assert response.status_code == 409, (path, response.json)
        assert response.json["error"]["code"] == "cycle_closed"
        assert "closed" in response.json["error"]["message"]
    assert client.get(f"/api/v1/key-results?team=PLAT&cycle={CYCLE}", headers=admin).json == old


def test_bad_close_requests_answer_with_the_field_and_close_nothing(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    write_quarter(client, admin)
    for query, data, status, field in (
        ("", {}, 422, "team"),
        ("?team=NOPE", {}, 404, "team"),
        ("?team=PLAT", {"scores": {"PLAT-1.1": {"score": 0.9}}}, 422, "scores.PLAT-1.1.reason"),
        ("?team=PLAT", {"scores": {"PLAT-1.1": {"score": 2}}}, 422, "scores.PLAT-1.1.score"),
        ("?team=PLAT", {"scores": {"PLAT-9.9": {"score": 0.5}}}, 422, "scores.PLAT-9.9"),
        ("?team=PLAT", {"carry_over": ["PLAT-9.9"]}, 422, "carry_over"),
        ("?team=PLAT", {"carry_over": "PLAT-1.1"}, 422, "carry_over"),
        ("?team=PLAT", {"retro": "good"}, 422, "retro"),
        ("?team=PLAT", {"colour": "red"}, 422, "colour"),
    ):
        response = client.post(f"/api/v1/cycles/{CYCLE}/close{query}", json=data, headers=admin)
        assert (response.status_code, response.json["error"]["field"]) == (status, field), data
    assert (
        client.post("/api/v1/cycles/2031-Q1/close?team=PLAT", json={}, headers=admin).status_code
        == 404
    )
    still_open = client.patch("/api/v1/key-results/PLAT-1.1", json={"target": 99.9}, headers=admin)
    assert still_open.status_code == 200


def test_an_import_into_a_closed_cycle_is_refused(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    write_quarter(client, admin)
    post(client, admin, f"/cycles/{CYCLE}/close?team=PLAT", {})
    text = client.get("/api/v1/export?team=PLAT", headers=admin).get_data(as_text=True)
    response = client.post("/api/v1/import", data=text.replace("99.99", "99.9"), headers=admin)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "cycle_closed"


def test_closing_through_the_api_stores_what_every_door_stores(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    write_quarter(client, admin)
    post(client, admin, "/key-results/PLAT-1.1/check-ins", {"value": 99.745})
    post(client, admin, f"/cycles/{CYCLE}/close?team=PLAT", CLOSE_REQUEST)
    assert stored_close(app) == EXPECTED_CLOSE


def test_an_import_keeps_the_definitions_it_changes_in_the_history(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    write_quarter(client, admin)
    text = client.get("/api/v1/export?team=PLAT", headers=admin).get_data(as_text=True)
    assert (
        client.post(
            "/api/v1/import", data=text.replace("target: 99.99", "target: 99.9"), headers=admin
        ).status_code
        == 200
    )
    changes = client.get("/api/v1/key-results/PLAT-1.1/changes", headers=admin).json["changes"]
    assert [(c["action"], c["before"], c["after"]) for c in changes][-1] == (
        "update",
        {"target": 99.99},
        {"target": 99.9},
    )

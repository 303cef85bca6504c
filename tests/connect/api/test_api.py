"""The REST API: OKRs in and out, errors that say what is wrong, one site per token."""

from __future__ import annotations

import time

from flask.testing import FlaskClient

from connect.cli import EXAMPLE_FILE
from connect.services import services_of


def _objective(client: FlaskClient, admin: dict[str, str], **extra: object) -> dict:
    data = {"team": "PLAT", "cycle": "2026-Q4", "title": "Make the platform reliable", **extra}
    response = client.post("/api/v1/objectives", json=data, headers=admin)
    assert response.status_code == 201, response.json
    return response.json


def test_requests_without_a_token_are_refused(client: FlaskClient) -> None:
    response = client.get("/api/v1/objectives")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_a_wrong_admin_token_is_refused(client: FlaskClient) -> None:
    response = client.get("/api/v1/objectives", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def test_metric_key_result_progress_is_derived_from_baseline_target_and_current(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    _objective(client, admin)
    response = client.post(
        "/api/v1/key-results",
        json={
            "objective": "PLAT-1",
            "title": "Reduce change failure rate from 15% to 5%",
            "baseline": 15,
            "target": 5,
            "current": 10,
            "unit": "%",
            "owner": "SRE lead",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.json
    kr = response.json
    assert kr["key"] == "PLAT-1.1"
    assert kr["progress"] == 0.5
    assert kr["status"] in {"on_track", "at_risk", "off_track"}


def test_target_equal_to_baseline_is_rejected_and_nothing_is_saved(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    _objective(client, admin)
    response = client.post(
        "/api/v1/key-results",
        json={
            "objective": "PLAT-1",
            "title": "Keep uptime at 99.9%",
            "baseline": 99.9,
            "target": 99.9,
            "owner": "SRE lead",
        },
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json["error"]["field"] == "target"
    assert client.get("/api/v1/key-results", headers=admin).json["key_results"] == []


def test_malformed_json_gets_400_and_unknown_fields_422(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    _objective(client, admin)
    bad = client.post(
        "/api/v1/key-results", data="{not json", headers=admin, content_type="application/json"
    )
    assert bad.status_code == 400
    assert bad.json["error"]["code"] == "malformed_body"  # as at every door
    unknown = client.post(
        "/api/v1/key-results",
        headers=admin,
        json={"objective": "PLAT-1", "title": "x", "colour": "red"},
    )
    assert unknown.status_code == 422
    assert unknown.json["error"]["field"] == "colour"
    assert client.get("/api/v1/key-results", headers=admin).json["key_results"] == []


def test_unknown_key_result_is_404(client: FlaskClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/key-results/NOPE-1.1", headers=admin)
    assert response.status_code == 404
    assert response.json["error"]["message"] == "no key result NOPE-1.1"


def test_duplicate_objective_key_is_409(client: FlaskClient, admin: dict[str, str]) -> None:
    _objective(client, admin, key="PLAT-9")
    response = client.post(
        "/api/v1/objectives",
        headers=admin,
        json={"team": "PLAT", "cycle": "2026-Q4", "key": "PLAT-9", "title": "x"},
    )
    assert response.status_code == 409


def test_check_in_sets_current_value_and_overrides_status_and_is_kept_as_history(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    _objective(client, admin)
    client.post(
        "/api/v1/key-results",
        headers=admin,
        json={
            "objective": "PLAT-1",
            "title": "Raise availability from 99.5% to 99.99%",
            "baseline": 99.5,
            "target": 99.99,
            "owner": "SRE lead",
        },
    )
    response = client.post(
        "/api/v1/key-results/PLAT-1.1/check-ins",
        headers=admin,
        json={
            "value": 99.745,
            "status": "at_risk",
            "what": "Two incidents",
            "why": "Failover untested",
            "next": "Game day",
            "risks": "Vendor outage\nOn-call gaps",
        },
    )
    assert response.status_code == 201, response.json
    kr = response.json["key_result"]
    assert kr["current"] == 99.745
    assert kr["progress"] == 0.5
    assert kr["status"] == "at_risk"
    assert response.json["check_in"]["risks"] == ["Vendor outage", "On-call gaps"]
    history = client.get("/api/v1/key-results/PLAT-1.1/history", headers=admin).json["history"]
    assert [point["progress"] for point in history] == [0.0, 0.5]


def test_check_in_with_score_out_of_range_is_422(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    _objective(client, admin)
    client.post(
        "/api/v1/key-results",
        headers=admin,
        json={
            "objective": "PLAT-1",
            "title": "Raise availability from 99.5% to 99.99%",
            "baseline": 99.5,
            "target": 99.99,
            "owner": "SRE lead",
        },
    )
    response = client.post(
        "/api/v1/key-results/PLAT-1.1/check-ins", headers=admin, json={"score": 1.5}
    )
    assert response.status_code == 422
    assert response.json["error"]["field"] == "score"


def test_abandoned_key_result_leaves_the_objective_roll_up(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    _objective(client, admin)
    for title, current in (
        ("Cut errors from 2% to 0.5%", 0.5),
        ("Cut p99 from 900 to 300 ms", 900),
    ):
        client.post(
            "/api/v1/key-results",
            headers=admin,
            json={
                "objective": "PLAT-1",
                "title": title,
                "baseline": 2 if "%" in title else 900,
                "target": 0.5 if "%" in title else 300,
                "current": current,
                "owner": "SRE lead",
            },
        )
    assert client.get("/api/v1/objectives/PLAT-1", headers=admin).json["progress"] == 0.5
    response = client.post(
        "/api/v1/key-results/PLAT-1.2/abandon",
        headers=admin,
        json={"reason": "Latency moved to the edge team"},
    )
    assert response.json["state"] == "abandoned"
    assert client.get("/api/v1/objectives/PLAT-1", headers=admin).json["progress"] == 1.0


def test_import_then_export_round_trips_the_okr_file(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    text = EXAMPLE_FILE.read_text()
    first = client.post("/api/v1/import", data=text, headers=admin)
    assert first.status_code == 200, first.json
    assert first.json["created"] > 0
    again = client.post("/api/v1/import", data=text, headers=admin)
    assert (again.json["created"], again.json["updated"]) == (0, 0)
    exported = client.get("/api/v1/export?team=PLAT", headers=admin)
    reimport = client.post("/api/v1/import", data=exported.get_data(as_text=True), headers=admin)
    assert (reimport.json["created"], reimport.json["updated"]) == (0, 0)


def test_malformed_okr_file_is_422_with_its_line_and_writes_nothing(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/import",
        headers=admin,
        data="team: PLAT\ncycle: 2026-Q4\nobjectives:\n  - title: [unclosed\n",
    )
    assert response.status_code == 422
    assert ":4" in response.json["error"]["message"] or ":5" in response.json["error"]["message"]
    assert client.get("/api/v1/objectives", headers=admin).json["objectives"] == []


def test_openapi_document_lists_exactly_the_registered_routes(client: FlaskClient, app) -> None:
    document = client.get("/api/v1/openapi.json").json
    documented = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    registered = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.removeprefix("/api/v1").replace("<path:", "{").replace("<", "{")
            path = path.replace(">", "}")
            registered |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == registered


def test_healthz_reports_database_and_queue(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "queue": "ok"}


def test_unlinking_an_issue_queues_a_rewrite_of_its_property(
    app, client: FlaskClient, admin: dict[str, str]
) -> None:
    from sqlalchemy import delete, select

    from sync.db.model import KeyResult, Outbound, WriteBackState

    _objective(client, admin)
    client.post(
        "/api/v1/key-results",
        headers=admin,
        json={
            "objective": "PLAT-1",
            "title": "Close the failover epic",
            "kind": "issues",
            "owner": "SRE lead",
        },
    )
    client.post("/api/v1/key-results/PLAT-1.1/links", headers=admin, json={"target": "PLAT-90"})
    store = services_of(app).store
    with store.session() as session:
        session.execute(delete(Outbound))
        # The property was written once: it now names a KR the issue no longer counts for.
        site_id = session.scalars(select(KeyResult.site_id)).first()
        session.add(
            WriteBackState(
                site_id=site_id, kind="issue_property", target="PLAT-90", digest="written-before"
            )
        )
    unlinked = client.delete("/api/v1/key-results/PLAT-1.1/links/PLAT-90", headers=admin)
    assert unlinked.status_code == 204
    with store.session() as session:
        targets = session.execute(select(Outbound.kind, Outbound.target)).all()
    assert [tuple(t) for t in targets] == [("issue_property", "PLAT-90")]


def test_a_yaml_alias_bomb_is_refused_at_once_and_the_server_stays_up(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    from tests.sync.core.test_okrfile import alias_bomb

    bomb = alias_bomb()
    assert len(bomb) < 1100  # a kilobyte that expands to 387 million strings
    started = time.perf_counter()
    response = client.post("/api/v1/import", headers=admin, data=bomb)
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"
    assert "anchors and aliases" in response.json["error"]["message"]
    assert client.get("/api/v1/objectives", headers=admin).json["objectives"] == []


def test_an_objectives_description_is_written_read_and_exported(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    why = "Customers stop losing a working day to our outages"
    assert _objective(client, admin, description=why)["description"] == why
    changed = client.patch(
        "/api/v1/objectives/PLAT-1", json={"description": "So releases stop hurting"}, headers=admin
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["description"] == "So releases stop hurting"
    exported = client.get("/api/v1/export?team=PLAT&cycle=2026-Q4", headers=admin)
    assert "description: So releases stop hurting" in exported.text
    wrong = client.patch("/api/v1/objectives/PLAT-1", json={"description": 7}, headers=admin)
    assert wrong.status_code == 422
    assert wrong.json["error"]["field"] == "description"
    stored = client.get("/api/v1/objectives/PLAT-1", headers=admin).json
    assert stored["description"] == "So releases stop hurting"

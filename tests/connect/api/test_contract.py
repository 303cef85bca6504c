"""The REST API answers as HTTP and its own OpenAPI document say: 405 names what is allowed, a
site without Jira is a conflict (not an outage), and every documented length and field is the
one the views enforce."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from connect.api.limits import MAX_LENGTHS

KR = "/api/v1/key-results"


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.json


@pytest.fixture
def kr(client: FlaskClient, admin: dict[str, str]) -> str:
    objective = {"team": "PLAT", "cycle": "2026-Q4", "title": "Be reliable"}
    created = client.post("/api/v1/objectives", headers=admin, json=objective)
    assert created.status_code == 201, created.json
    made = client.post(
        KR,
        headers=admin,
        json={
            "objective": created.json["key"],
            "title": "Count open incidents",
            "kind": "jql",
            "jql": "type = Incident",
            "baseline": 10,
            "target": 2,
            "owner": "SRE lead",
        },
    )
    assert made.status_code == 201, made.json
    return str(made.json["key"])


def test_405_names_the_allowed_methods(client: FlaskClient, admin: dict[str, str]) -> None:
    answer = client.put("/api/v1/objectives", headers=admin, json={})
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert answer.json["error"]["code"] == "method_not_allowed"
    webhook = client.get("/webhooks/jira")
    assert webhook.status_code == 405
    assert "POST" in webhook.headers["Allow"]


def test_polling_on_a_site_without_jira_is_a_conflict_not_an_outage(
    client: FlaskClient, admin: dict[str, str], kr: str
) -> None:
    answer = client.post(f"{KR}/{kr}/poll", headers=admin)
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "no_jira"
    assert (
        "409"
        in client.get("/api/v1/openapi.json").json["paths"]["/key-results/{key}/poll"]["post"][
            "responses"
        ]
    )


def test_the_kr_patch_documents_exactly_the_fields_the_server_takes(
    client: FlaskClient, admin: dict[str, str], document: dict[str, Any], kr: str
) -> None:
    schemas = document["components"]["schemas"]
    patch = schemas["KeyResultPatch"]
    patch_ref = document["paths"]["/key-results/{key}"]["patch"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert patch_ref == "#/components/schemas/KeyResultPatch"
    refused = set(schemas["KeyResultInput"]["properties"]) - set(patch["properties"])
    assert refused == {"key", "objective", "issues", "asana"}
    for name in sorted(refused):
        answer = client.patch(f"{KR}/{kr}", headers=admin, json={name: "PLAT-9"})
        assert answer.status_code == 422, name
        assert answer.json["error"]["field"] == name
    samples = {
        "title": "Halve open incidents",
        "kind": "jql",
        "baseline": 10,
        "target": 2,
        "current": 6,
        "unit": "incidents",
        "owner": "SRE lead",
        "weight": 2,
        "state": "active",
        "abandon_reason": None,
        "jql": "type = Incident",
        "jql_field": None,
        "measure": None,
        "kpi": None,
        "repository": "acme/api",
        "environment": "production",
        "window_days": 7,
        "incident_jql": "type = Incident",
        "incident_window_hours": 24,
        "asana_goal": "1200000000000001",
        "asana_field": None,
    }
    assert set(samples) == set(patch["properties"])
    for name, value in samples.items():
        answer = client.patch(f"{KR}/{kr}", headers=admin, json={name: value})
        assert answer.status_code == 200, (name, answer.json)


def _string_properties(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for schema_name, schema in document["components"]["schemas"].items():
        for name, prop in schema.get("properties", {}).items():
            if "maxLength" in prop or "minLength" in prop:
                found.append((schema_name, name, prop))
    return found


def test_documented_lengths_are_the_ones_the_views_enforce(
    client: FlaskClient, admin: dict[str, str], document: dict[str, Any], kr: str
) -> None:
    properties = _string_properties(document)
    documented = {(s, n): p.get("maxLength") for s, n, p in properties if "maxLength" in p}
    assert documented[("KeyResultInput", "key")] == MAX_LENGTHS["key"] == 64
    assert documented[("KeyResultPatch", "unit")] == MAX_LENGTHS["unit"]
    for (schema, name), limit in documented.items():
        if schema != "KeyResultPatch":
            continue
        too_long = client.patch(f"{KR}/{kr}", headers=admin, json={name: "x" * (limit + 1)})
        assert too_long.status_code == 422, name
        assert f"at most {limit}" in too_long.json["error"]["message"]
        just_fits = client.patch(f"{KR}/{kr}", headers=admin, json={name: "x" * limit})
        assert just_fits.status_code == 200, (name, just_fits.json)
    long_key = client.post(
        KR, headers=admin, json={"objective": "PLAT-1", "title": "Another", "key": "K" * 65}
    )
    assert long_key.status_code == 422
    assert long_key.json["error"]["field"] == "key"
    empty_title = client.patch(f"{KR}/{kr}", headers=admin, json={"title": ""})
    assert empty_title.status_code == 422
    assert (
        document["components"]["schemas"]["KeyResultPatch"]["properties"]["title"]["minLength"] == 1
    )
    long_link = client.post(
        f"{KR}/{kr}/links", headers=admin, json={"target": "P" * (MAX_LENGTHS["target"] + 1)}
    )
    assert long_link.status_code == 422

"""The OpenAPI 3.1 document of `/api/v1`; a test keeps it equal to the registered routes."""

from __future__ import annotations

from typing import Any

from sync.core.spec import GITHUB_MEASURES

_ERROR = {"$ref": "#/components/schemas/Error"}
_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
_FILTERS = [
    {"name": "team", "in": "query", "schema": {"type": "string"}},
    {"name": "cycle", "in": "query", "schema": {"type": "string"}},
]


def _op(
    summary: str,
    *,
    ok: str = "200",
    body: str | None = None,
    params: list[Any] | None = None,
    errors: tuple[str, ...] = ("401", "404"),
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            ok: {"description": "OK"},
            **{
                code: {"description": "Error", "content": {"application/json": {"schema": _ERROR}}}
                for code in errors
            },
        },
    }
    if params:
        operation["parameters"] = params
    if body:
        media = "application/yaml" if body == "yaml" else "application/json"
        schema = {"type": "string"} if body == "yaml" else {"$ref": f"#/components/schemas/{body}"}
        operation["requestBody"] = {"required": True, "content": {media: {"schema": schema}}}
    return operation


PATHS: dict[str, dict[str, Any]] = {
    "/cycles": {"get": _op("List cycles")},
    "/objectives": {
        "get": _op("List objectives with their key results", params=_FILTERS),
        "post": _op(
            "Create an objective",
            ok="201",
            body="ObjectiveInput",
            errors=("400", "401", "409", "422"),
        ),
    },
    "/objectives/{key}": {
        "get": _op("Get an objective", params=[_KEY]),
        "patch": _op(
            "Update an objective",
            params=[_KEY],
            body="ObjectiveInput",
            errors=("400", "401", "404", "422"),
        ),
    },
    "/key-results": {
        "get": _op(
            "List key results",
            params=[*_FILTERS, {"name": "status", "in": "query", "schema": {"type": "string"}}],
        ),
        "post": _op(
            "Create a key result",
            ok="201",
            body="KeyResultInput",
            errors=("400", "401", "404", "409", "422"),
        ),
    },
    "/key-results/{key}": {
        "get": _op("Get a key result", params=[_KEY]),
        "patch": _op(
            "Update a key result",
            params=[_KEY],
            body="KeyResultInput",
            errors=("400", "401", "404", "422"),
        ),
    },
    "/key-results/{key}/abandon": {
        "post": _op(
            "Abandon a key result with a reason",
            params=[_KEY],
            body="AbandonInput",
            errors=("400", "401", "404", "422"),
        ),
    },
    "/key-results/{key}/links": {
        "get": _op("List the work linked to a key result", params=[_KEY]),
        "post": _op(
            "Link work (a Jira issue or epic, a GitHub PR)",
            ok="201",
            params=[_KEY],
            body="LinkInput",
            errors=("400", "401", "404", "409", "422"),
        ),
    },
    "/key-results/{key}/links/{target}": {
        "delete": _op(
            "Unlink work",
            ok="204",
            params=[
                _KEY,
                {"name": "target", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
        ),
    },
    "/key-results/{key}/check-ins": {
        "get": _op("List check-ins, newest first", params=[_KEY]),
        "post": _op(
            "Record a check-in",
            ok="201",
            params=[_KEY],
            body="CheckInInput",
            errors=("400", "401", "404", "422"),
        ),
    },
    "/key-results/{key}/history": {"get": _op("KR snapshots over time", params=[_KEY])},
    "/key-results/{key}/poll": {
        "post": _op(
            "Measure a JQL key result now", params=[_KEY], errors=("401", "404", "422", "503")
        ),
    },
    "/kpis": {
        "get": _op(
            "List KPIs, a team's health signals",
            params=[{"name": "team", "in": "query", "schema": {"type": "string"}}],
        ),
        "post": _op("Create a KPI", ok="201", body="KpiInput", errors=("400", "401", "409", "422")),
    },
    "/kpis/{key}": {
        "get": _op("Get a KPI: value, health and practice findings", params=[_KEY]),
        "patch": _op(
            "Update a KPI", params=[_KEY], body="KpiInput", errors=("400", "401", "404", "422")
        ),
    },
    "/kpis/{key}/values": {
        "post": _op(
            "Record a value of a metric KPI",
            ok="201",
            params=[_KEY],
            errors=("400", "401", "404", "422"),
        ),
    },
    "/kpis/{key}/history": {"get": _op("KPI values and health over time", params=[_KEY])},
    "/import": {"post": _op("Import an OKR file (YAML)", body="yaml", errors=("401", "422"))},
    "/export": {"get": _op("Export OKRs as an OKR file (YAML)", params=_FILTERS)},
    "/openapi.json": {"get": _op("This document", errors=())},
}

_NUMBER = {"type": ["number", "null"]}
_TEXT = {"type": ["string", "null"]}
_DORA_SCOPE = {"repository": _TEXT, "environment": _TEXT, "window_days": _NUMBER,
               "incident_jql": _TEXT, "incident_window_hours": _NUMBER}  # fmt: skip
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": ["string", "null"]},
                },
            }
        },
    },
    "ObjectiveInput": {
        "type": "object",
        "properties": {
            "team": {"type": "string"},
            "cycle": {"type": "string"},
            "key": {"type": "string"},
            "title": {"type": "string"},
            "parent": {"type": ["string", "null"]},
        },
    },
    "KeyResultInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "objective": {"type": "string"},
            "key": {"type": "string"},
            "title": {"type": "string"},
            "kind": {"enum": ["metric", "issues", "jql", "github"]},
            "baseline": _NUMBER,
            "target": _NUMBER,
            "current": _NUMBER,
            "unit": {"type": "string"},
            "owner": {"type": ["string", "null"]},
            "weight": {"type": "number"},
            "state": {"enum": ["active", "abandoned"]},
            "abandon_reason": {"type": ["string", "null"]},
            "jql": {"type": ["string", "null"]},
            "jql_field": {"type": ["string", "null"]},
            "measure": {"enum": [*GITHUB_MEASURES, None]},
            "issues": {"type": "array", "items": {"type": "string"}},
            "asana_goal": {"type": ["string", "null"], "description": "an Asana goal's gid"},
            "asana_field": {
                "type": ["string", "null"],
                "description": "an Asana number custom field (name or gid) weighing its tasks",
            },
            "kpi": {"type": ["string", "null"]},
            **_DORA_SCOPE,
        },
    },
    "KpiInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "team": {"type": "string"},
            "key": {"type": "string"},
            "title": {"type": "string"},
            "kind": {"enum": ["metric", "jql", "github"]},
            "measure": {"enum": [*GITHUB_MEASURES, None]},
            "unit": {"type": "string"},
            "healthy": {"type": "object", "properties": {"min": _NUMBER, "max": _NUMBER}},
            "drop_alert": _NUMBER,
            "owner": {"type": ["string", "null"]},
            "current": _NUMBER,
            "jql": {"type": ["string", "null"]},
            "jql_field": {"type": ["string", "null"]},
            **_DORA_SCOPE,
        },
    },
    "AbandonInput": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string"}},
    },
    "LinkInput": {
        "type": "object",
        "required": ["target"],
        "properties": {
            "target": {
                "type": "string",
                "description": "a Jira key, owner/repo#number, or asana:<task or project gid>",
            },
            "kind": {"enum": ["jira", "github", "asana"]},
        },
    },
    "CheckInInput": {
        "type": "object",
        "properties": {
            "value": _NUMBER,
            "status": {"enum": ["on_track", "at_risk", "off_track", None]},
            "score": _NUMBER,
            "what": {"type": "string"},
            "why": {"type": "string"},
            "next": {"type": "string"},
            "author": {"type": "string"},
            "decisions": {"type": "array", "items": {"type": "string"}},
            "risks": {"type": "array", "items": {"type": "string"}},
            "learnings": {"type": "array", "items": {"type": "string"}},
        },
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "okrlink API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"adminToken": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
    }

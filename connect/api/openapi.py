"""The OpenAPI 3.1 document of `/api/v1`; a test keeps it equal to the registered routes."""

from __future__ import annotations

from typing import Any

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
    "/objectives/{key}/abandon": {
        "post": _op(
            "Abandon an objective and its key results with a reason",
            params=[_KEY],
            body="AbandonInput",
            errors=("400", "401", "404", "409", "422"),
        ),
    },
    "/objectives/{key}/changes": {
        "get": _op("Who changed the objective's definition, when, before and after",
                   params=[_KEY]),
    },
    "/key-results/{key}/changes": {
        "get": _op("Who changed the key result's definition, when, before and after",
                   params=[_KEY]),
    },
    "/cycles/{cycle}/close": {
        "post": _op(
            "Close a team's cycle: final scores, retrospective, KRs carried over",
            params=[
                {"name": "cycle", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "team", "in": "query", "required": True, "schema": {"type": "string"}},
            ],
            body="CloseInput",
            errors=("400", "401", "404", "409", "422"),
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
        "post": _op("Measure a JQL key result now", params=[_KEY],
                    errors=("401", "404", "422", "503")),
    },
    "/import": {"post": _op("Import an OKR file (YAML)", body="yaml", errors=("401", "422"))},
    "/export": {"get": _op("Export OKRs as an OKR file (YAML)", params=_FILTERS)},
    "/openapi.json": {"get": _op("This document", errors=())},
}

_NUMBER = {"type": ["number", "null"]}
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
            "measure": {"enum": ["merged_prs", "lead_time_hours", None]},
            "issues": {"type": "array", "items": {"type": "string"}},
        },
    },
    "AbandonInput": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string"}},
    },
    "CloseInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "scores": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["score"],
                    "properties": {"score": {"type": "number"}, "reason": {"type": "string"}},
                },
            },
            "retro": {
                "type": "object",
                "properties": {"learned": {"type": "string"}, "differently": {"type": "string"},
                               "space": {"type": "string"}},
            },
            "carry_over": {"type": "array", "items": {"type": "string"}},
        },
    },
    "LinkInput": {
        "type": "object",
        "required": ["target"],
        "properties": {"target": {"type": "string"}, "kind": {"enum": ["jira", "github"]}},
    },
    "CheckInInput": {
        "type": "object",
        "properties": {
            "value": _NUMBER,
            "status": {"enum": ["on_track", "at_risk", "off_track", None]},
            "score": _NUMBER,
            "confidence": _NUMBER,
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

"""The OpenAPI 3.1 document of `/api/v1`; tests keep it equal to the registered routes and to
what the views accept (fields, lengths from `limits.py`, ranges)."""

from __future__ import annotations

from typing import Any

from connect.api.limits import MAX_LENGTHS
from sync.core.spec import GITHUB_MEASURES


def _text(name: str, *, required: bool = False, nullable: bool = False) -> dict[str, Any]:
    """A string property: at least one character when required, at most its column's width."""
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string"}
    if required:
        schema["minLength"] = 1
    if name in MAX_LENGTHS:
        schema["maxLength"] = MAX_LENGTHS[name]
    return schema


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


_TEXT_BODY = {"schema": {"type": "string"}}
_METRICS = {
    **_op(
        "One site's OKRs and KPIs for dashboards (Prometheus text format, OpenMetrics when "
        "asked), read with a dashboard token of the site and no other credential",
        errors=("401",),
    ),
    "security": [{"dashboardToken": []}],
}
_METRICS["responses"]["200"]["content"] = {
    "text/plain; version=0.0.4": _TEXT_BODY,
    "application/openmetrics-text; version=1.0.0": _TEXT_BODY,
}

PATHS: dict[str, dict[str, Any]] = {
    "/cycles": {
        "get": _op("List cycles"),
        "post": _op(
            "Create a cycle: a quarter, a month, a year or two dates, under a parent cycle",
            ok="201",
            body="CycleInput",
            errors=("400", "401", "409", "422"),
        ),
    },
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
        "get": _op("Who changed the objective's definition, when, before and after", params=[_KEY]),
    },
    "/key-results/{key}/changes": {
        "get": _op(
            "Who changed the key result's definition, when, before and after", params=[_KEY]
        ),
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
    "/key-results/preview": {
        "post": _op(
            "Preview a key result before saving it: the value its source gives now (measured as "
            "the saved KR will be), or why it cannot; nothing is stored",
            body="KeyResultPreviewInput",
            errors=("400", "401", "403", "404", "422", "503"),
        ),
    },
    "/key-results/{key}": {
        "get": _op("Get a key result", params=[_KEY]),
        "patch": _op(
            "Update a key result",
            params=[_KEY],
            body="KeyResultPatch",
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
    "/key-results/{key}/monthly-scores": {
        "get": _op("List the scores owners gave the KR, by month", params=[_KEY]),
        "post": _op(
            "Give the KR's score for a month (stored as given; beats the derived one)",
            ok="201",
            params=[_KEY],
            body="MonthlyScoreInput",
            errors=("400", "401", "404", "409", "422"),
        ),
    },
    "/key-results/{key}/history": {"get": _op("KR snapshots over time", params=[_KEY])},
    "/key-results/{key}/poll": {
        "post": _op(
            "Measure a JQL key result now (409: the site has no Jira)",
            params=[_KEY],
            errors=("401", "404", "409", "422", "503"),
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
    "/metrics": {"get": _METRICS},
    "/openapi.json": {"get": _op("This document", errors=())},
}
# Every write asks Jira who may make it (README, Permissions): 403 `forbidden` names the missing
# permission, 503 `permissions_unavailable` says Jira could not be asked.
for _methods in PATHS.values():
    for _method, _operation in _methods.items():
        if _method in ("post", "patch", "delete"):
            for _code in ("403", "503"):
                _operation["responses"].setdefault(
                    _code,
                    {"description": "Error", "content": {"application/json": {"schema": _ERROR}}},
                )

_NUMBER = {"type": ["number", "null"]}
_TEXT = {"type": ["string", "null"]}
_DORA_SCOPE = {
    "repository": _TEXT,
    "environment": _TEXT,
    "window_days": _NUMBER,
    "incident_jql": _TEXT,
    "incident_window_hours": _NUMBER,
}
_KR_EDITABLE: dict[str, Any] = {
    "title": _text("title", required=True),
    "kind": {"enum": ["metric", "issues", "jql", "github"]},
    "baseline": _NUMBER,
    "target": _NUMBER,
    "current": _NUMBER,
    "unit": _text("unit", nullable=True),
    "owner": _text("owner", nullable=True),
    "weight": {"type": "number", "exclusiveMinimum": 0},
    "state": {"enum": ["active", "abandoned"]},
    "abandon_reason": {"type": ["string", "null"]},
    "jql": {"type": ["string", "null"]},
    "jql_field": _text("jql_field", nullable=True),
    "measure": {"enum": [*GITHUB_MEASURES, None]},
    "asana_goal": {"type": ["string", "null"], "description": "an Asana goal's gid"},
    "asana_field": {
        "type": ["string", "null"],
        "description": "an Asana number custom field (name or gid) weighing its tasks",
    },
    "kpi": {"type": ["string", "null"]},
    **_DORA_SCOPE,
}
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
    "CycleInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": _text("cycle"),
            "start": {"type": ["string", "null"], "format": "date"},
            "end": {"type": ["string", "null"], "format": "date"},
            "parent": _text("cycle", nullable=True),
            "team": _text("team", nullable=True),
        },
    },
    "ObjectiveInput": {
        "type": "object",
        "required": ["team", "title"],
        "properties": {
            "team": _text("team", required=True),
            "cycle": _text("cycle"),
            "key": _text("key"),
            "title": _text("title", required=True),
            "parent": _text("parent", nullable=True),
            "description": _text("description", nullable=True),
        },
    },
    "KeyResultInput": {
        "type": "object",
        "required": ["objective", "title"],
        "additionalProperties": False,
        "properties": {
            "objective": _text("objective", required=True),
            "key": _text("key"),
            **_KR_EDITABLE,
            "issues": {"type": "array", "items": _text("target", required=True)},
            "asana": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Asana task or project URLs or gids, linked as the file's asana:",
            },
        },
    },
    "KeyResultPreviewInput": {
        "type": "object",
        "description": "A new KR's fields with `objective`, or an existing KR's `key` and the "
        "fields it would change; answered `{value, unit, source_state, message}`, "
        "`source_state` one of manual, connected, missing, unreachable, refused",
        "additionalProperties": False,
        "properties": {
            "objective": _text("objective"),
            "key": _text("key"),
            "cycle": _text("cycle"),
            **_KR_EDITABLE,
            "issues": {"type": "array", "items": _text("target", required=True)},
            "asana": {"type": "array", "items": {"type": "string"}},
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
    "KeyResultPatch": {
        "type": "object",
        "additionalProperties": False,
        "properties": _KR_EDITABLE,
    },
    "AbandonInput": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": _text("reason", required=True)},
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
                "properties": {
                    "learned": {"type": "string"},
                    "differently": {"type": "string"},
                    "space": {"type": "string"},
                },
            },
            "carry_over": {"type": "array", "items": {"type": "string"}},
        },
    },
    "LinkInput": {
        "type": "object",
        "required": ["target"],
        "properties": {
            "target": {
                **_text("target", required=True),
                "description": "a Jira key, owner/repo#number, or asana:<task or project gid>",
            },
            "kind": {"enum": ["jira", "github", "asana"]},
        },
    },
    "MonthlyScoreInput": {
        "type": "object",
        "required": ["month", "score", "reason"],
        "properties": {
            "month": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "reason": {"type": "string", "maxLength": 500},
        },
        "additionalProperties": False,
    },
    "CheckInInput": {
        "type": "object",
        "properties": {
            "value": _NUMBER,
            "status": {"enum": ["on_track", "at_risk", "off_track", None]},
            "score": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "confidence": _NUMBER,
            "what": {"type": "string"},
            "why": {"type": "string"},
            "next": {"type": "string"},
            "author": _text("author"),
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
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer"},
                "dashboardToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "okrlink dashboards token create --site SITE",
                },
            },
        },
    }

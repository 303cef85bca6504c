"""deploy/grafana and deploy/datadog: the shipped dashboards have their documented shape and ask
only for series `GET /api/v1/metrics` serves (`connect.api.metrics.SERIES`, which the endpoint's
own tests hold equal to a real scrape).

The Grafana dashboard is checked against the classic dashboard JSON model (Grafana's "Dashboard
JSON model" page: its top-level fields, panels placed on the 24-column grid, query variables);
the Datadog files against the OpenMetrics check's instance options and the dashboards API's
request body (`POST /api/v1/dashboard`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from connect.api.metrics import SERIES
from tests.support.base import ROOT

GRAFANA = ROOT / "deploy" / "grafana" / "okrlink-okrs.json"
DATADOG_CONF = ROOT / "deploy" / "datadog" / "conf.yaml"
DATADOG_DASHBOARD = ROOT / "deploy" / "datadog" / "dashboard.json"
PROMQL_SERIES = re.compile(r"\bokrlink_[a-z_]+\b")
DATADOG_METRIC = re.compile(r"\bokrlink\.[a-z_.]+")

_DATASOURCE = {
    "type": "object",
    "required": ["type", "uid"],
    "properties": {"type": {"const": "prometheus"}, "uid": {"type": "string"}},
}
GRAFANA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "id",
        "uid",
        "title",
        "tags",
        "timezone",
        "editable",
        "graphTooltip",
        "panels",
        "time",
        "timepicker",
        "templating",
        "annotations",
        "refresh",
        "schemaVersion",
        "version",
        "links",
    ],
    "properties": {
        "id": {"type": ["integer", "null"]},
        "uid": {"type": "string", "minLength": 8, "maxLength": 40, "pattern": "^[A-Za-z0-9_-]+$"},
        "title": {"type": "string", "minLength": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
        "timezone": {"enum": ["browser", "utc", ""]},
        "editable": {"type": "boolean"},
        "graphTooltip": {"enum": [0, 1, 2]},
        "time": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
        },
        "timepicker": {"type": "object"},
        "templating": {
            "type": "object",
            "required": ["list"],
            "properties": {
                "list": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "type", "datasource", "query", "refresh"],
                        "properties": {
                            "name": {"type": "string", "pattern": "^[a-z_]+$"},
                            "type": {"const": "query"},
                            "datasource": _DATASOURCE,
                            "refresh": {"enum": [0, 1, 2]},
                            "multi": {"type": "boolean"},
                            "includeAll": {"type": "boolean"},
                        },
                    },
                }
            },
        },
        "annotations": {"type": "object", "required": ["list"]},
        "refresh": {"type": ["string", "boolean"]},
        "schemaVersion": {"type": "integer", "minimum": 17},
        "version": {"type": "integer"},
        "links": {"type": "array"},
        "panels": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "title", "gridPos", "datasource", "targets"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "type": {
                        "enum": ["bargauge", "piechart", "stat", "table", "timeseries", "gauge"]
                    },
                    "title": {"type": "string", "minLength": 1},
                    "datasource": _DATASOURCE,
                    "gridPos": {
                        "type": "object",
                        "required": ["h", "w", "x", "y"],
                        "properties": {
                            "h": {"type": "integer", "minimum": 1},
                            "w": {"type": "integer", "minimum": 1, "maximum": 24},
                            "x": {"type": "integer", "minimum": 0, "maximum": 23},
                            "y": {"type": "integer", "minimum": 0},
                        },
                    },
                    "targets": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["refId", "expr", "datasource"],
                            "properties": {
                                "refId": {"type": "string", "minLength": 1},
                                "expr": {"type": "string", "minLength": 1},
                                "datasource": _DATASOURCE,
                            },
                        },
                    },
                },
            },
        },
    },
}

DATADOG_DASHBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["title", "layout_type", "widgets"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "layout_type": {"enum": ["ordered", "free"]},
        "reflow_type": {"enum": ["auto", "fixed"]},
        "template_variables": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "prefix": {"type": "string"}},
            },
        },
        "widgets": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["definition"],
                "properties": {
                    "definition": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {
                            "type": {
                                "enum": [
                                    "note",
                                    "query_value",
                                    "query_table",
                                    "timeseries",
                                    "toplist",
                                ]
                            },
                            "requests": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "object", "required": ["q"]},
                            },
                        },
                    }
                },
            },
        },
    },
    "not": {"required": ["id"]},  # the API gives the id; an import must not carry one
}


def grafana() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(GRAFANA.read_text())
    return document


def grafana_queries() -> list[str]:
    document = grafana()
    exprs = [t["expr"] for panel in document["panels"] for t in panel["targets"]]
    variables = [v["definition"] for v in document["templating"]["list"]]
    return exprs + variables


def datadog_conf() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(DATADOG_CONF.read_text())
    return document


def datadog_queries() -> list[str]:
    document = json.loads(DATADOG_DASHBOARD.read_text())
    return [
        request["q"]
        for widget in document["widgets"]
        for request in widget["definition"].get("requests", [])
    ]


# --- Grafana -------------------------------------------------------------------------------


def test_the_grafana_dashboard_has_the_documented_json_model() -> None:
    jsonschema.validate(grafana(), GRAFANA_SCHEMA)


def test_the_grafana_panels_fit_the_grid_without_overlapping() -> None:
    panels = grafana()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, panel["title"]
        cells |= covered


def test_the_grafana_dashboard_filters_by_team_and_cycle_and_shows_what_it_says() -> None:
    document = grafana()
    assert [v["name"] for v in document["templating"]["list"]] == ["team", "cycle"]
    exprs = [t["expr"] for panel in document["panels"] for t in panel["targets"]]
    assert all('team=~"$team"' in expr for expr in exprs)
    assert all('cycle=~"$cycle"' in expr for expr in exprs if "okrlink_kpi_" not in expr)
    named = {panel["title"]: panel for panel in document["panels"]}
    assert "okrlink_objective_progress" in named["Objective progress"]["targets"][0]["expr"]
    assert "by (status)" in named["Key results by status"]["targets"][0]["expr"]
    kpi = {
        t["expr"].split("{")[0] for t in named["KPI health against its healthy range"]["targets"]
    }
    assert kpi == {"okrlink_kpi_value", "okrlink_kpi_healthy_min", "okrlink_kpi_healthy_max"}
    assert document["__inputs"][0]["pluginId"] == "prometheus"


@pytest.mark.parametrize("query", grafana_queries())
def test_every_grafana_query_names_only_served_series(query: str) -> None:
    named = set(PROMQL_SERIES.findall(query))
    assert named, query
    assert named <= set(SERIES), named - set(SERIES)


# --- Datadog -------------------------------------------------------------------------------


def test_the_datadog_check_scrapes_the_endpoint_with_the_token() -> None:
    conf = datadog_conf()
    assert "init_config" in conf
    (instance,) = conf["instances"]
    assert instance["openmetrics_endpoint"].endswith("/api/v1/metrics")
    assert instance["openmetrics_endpoint"].startswith("https://")
    assert instance["namespace"] == "okrlink"
    writer = instance["auth_token"]["writer"]
    assert (writer["type"], writer["name"], writer["value"]) == (
        "header",
        "Authorization",
        "Bearer <TOKEN>",
    )
    assert instance["auth_token"]["reader"]["type"] == "file"
    mapped = [next(iter(entry)) for entry in instance["metrics"]]
    assert sorted(mapped) == sorted(SERIES)


def datadog_names() -> dict[str, str]:
    """Datadog's metric name (namespace.renamed) -> the series okrlink serves."""
    (instance,) = datadog_conf()["instances"]
    return {
        f"{instance['namespace']}.{renamed}": series
        for entry in instance["metrics"]
        for series, renamed in entry.items()
    }


def test_the_datadog_dashboard_has_the_api_shape() -> None:
    document = json.loads(DATADOG_DASHBOARD.read_text())
    jsonschema.validate(document, DATADOG_DASHBOARD_SCHEMA)
    assert [v["name"] for v in document["template_variables"]] == ["team", "cycle"]


@pytest.mark.parametrize("query", datadog_queries())
def test_every_datadog_query_names_only_served_series(query: str) -> None:
    named = set(DATADOG_METRIC.findall(query))
    assert named, query
    names = datadog_names()
    assert named <= set(names), named - set(names)
    assert {names[n] for n in named} <= set(SERIES)
    assert "$team" in query

"""The Connect descriptors: served fresh, valid for Jira, and wired to the routes we serve."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import pytest
from jsonschema.validators import validator_for

from connect.doors.atlassian_connect.descriptors import DESCRIPTORS_DIR, render_descriptor
from connect.services import install, services_of
from integrations.atlassian.properties import (
    GLANCE_MODULE_KEY,
    ISSUE_PROPERTY_KEY,
    glance_status_property_key,
)
from tests.support.locations import BASE_URL, JIRA_FIXTURES, REPO

LIFECYCLE = {
    "installed": "/lifecycle/installed",
    "uninstalled": "/lifecycle/uninstalled",
    "enabled": "/lifecycle/enabled",
    "disabled": "/lifecycle/disabled",
}
API_MIGRATIONS = {"signed-install": True, "context-qsh": True, "gdpr": True}
URL_KEYS = {"url", "iconUrl"}

# The shape of the `okrlink` issue property the app writes; the extractions index these paths.
ISSUE_PROPERTY_DOCUMENT: dict[str, Any] = {
    "krs": [
        {
            "key": "PLAT-1.2",
            "title": "Cut change failure rate to 5%",
            "status": "at_risk",
            "progress": 0.4,
            "score": 0.4,
        },
    ],
    "krKeys": ["PLAT-1.2"],
    "status": "at_risk",
    "progress": 0.4,
    "score": 0.4,
    "origin": "okrlink",
}


def _jira() -> dict[str, Any]:
    return render_descriptor("jira", base_url=BASE_URL, app_key="okrlink")


def _confluence() -> dict[str, Any]:
    return render_descriptor("confluence", base_url=BASE_URL, app_key="okrlink")


def _urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in URL_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _urls(item)


def _template_variables(url: str) -> dict[str, str]:
    """Query parameter -> `{variable}` it is filled from."""
    return {
        name: value[1:-1]
        for name, value in parse_qsl(urlsplit(url).query)
        if re.fullmatch(r"\{[^{}]+\}", value)
    }


def _connect_schema_with_current_migrations(schema: dict[str, Any]) -> dict[str, Any]:
    """The 2019 schema plus the apiMigrations flags Connect has added since."""
    patched = copy.deepcopy(schema)
    migrations = patched["properties"]["apiMigrations"]["properties"]
    migrations["signed-install"] = {"type": "boolean"}
    migrations["context-qsh"] = {"type": "boolean"}
    return patched


# --- served over HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize("product", ["jira", "confluence"])
def test_descriptor_is_served_as_uncached_json_for_our_base_url(client, product):
    response = client.get(f"/{product}/atlassian-connect.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_json()
    assert body["baseUrl"] == BASE_URL
    assert body["key"] == "okrlink"


def test_descriptor_follows_the_settings_of_the_app_serving_it(app, client):
    services = services_of(app)
    settings = services.settings.replace(
        base_url="https://okr.acme.test/", app_key="okrlink-staging"
    )
    install(app, dataclasses.replace(services, settings=settings))

    body = client.get("/jira/atlassian-connect.json").get_json()

    assert body["baseUrl"] == "https://okr.acme.test"
    assert body["key"] == "okrlink-staging"


def test_the_icon_the_descriptors_reference_is_served(client):
    response = client.get("/atlassian/okrlink.svg")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data
    assert "/atlassian/okrlink.svg" in set(_urls(_jira())) | set(_urls(_confluence()))


def test_values_are_json_escaped_not_pasted():
    body = render_descriptor("jira", base_url='https://x.test/"a"', app_key='k"}, "evil": {"')

    assert body["key"] == 'k"}, "evil": {"'
    assert body["baseUrl"] == 'https://x.test/"a"'
    assert "evil" not in body


def test_templates_live_in_the_repository_descriptors_folder():
    assert DESCRIPTORS_DIR == REPO / "descriptors"
    for name in ("jira.json", "confluence.json", "manifest.yml", "okrlink.svg"):
        assert (DESCRIPTORS_DIR / name).is_file()


def test_unknown_product_has_no_descriptor():
    with pytest.raises(ValueError, match="bitbucket"):
        render_descriptor("bitbucket", base_url=BASE_URL, app_key="okrlink")  # type: ignore[arg-type]


# --- Jira -----------------------------------------------------------------------------------------


def test_connect_schema_is_draft_04(connect_jira_schema):
    assert connect_jira_schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert validator_for(connect_jira_schema) is jsonschema.Draft4Validator


def test_jira_descriptor_is_valid_against_the_connect_schema(connect_jira_schema):
    schema = _connect_schema_with_current_migrations(connect_jira_schema)
    jsonschema.Draft4Validator.check_schema(schema)

    errors = list(jsonschema.Draft4Validator(schema).iter_errors(_jira()))

    assert errors == []


def test_the_unpatched_2019_schema_does_not_know_signed_install(connect_jira_schema):
    errors = list(jsonschema.Draft4Validator(connect_jira_schema).iter_errors(_jira()))

    assert [list(error.path) for error in errors] == [["apiMigrations"]]


def test_schema_validation_catches_a_broken_module(connect_jira_schema):
    schema = _connect_schema_with_current_migrations(connect_jira_schema)
    broken = _jira()
    del broken["modules"]["webPanels"][0]["location"]

    errors = list(jsonschema.Draft4Validator(schema).iter_errors(broken))

    assert [list(error.path) for error in errors] == [["modules", "webPanels", 0]]


@pytest.mark.parametrize("render", [_jira, _confluence], ids=["jira", "confluence"])
def test_descriptor_signs_installs_and_uses_jwt(render):
    body = render()

    assert body["authentication"] == {"type": "jwt"}
    assert body["lifecycle"] == LIFECYCLE
    assert body["apiMigrations"] == API_MIGRATIONS


@pytest.mark.parametrize("render", [_jira, _confluence], ids=["jira", "confluence"])
def test_every_url_is_relative_to_base_url(render):
    body = render()
    urls = [*_urls(body["modules"]), *body["lifecycle"].values()]

    assert urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert not urlsplit(url).scheme and not urlsplit(url).netloc, url


def test_jira_asks_for_read_and_write_only():
    assert _jira()["scopes"] == ["READ", "WRITE"]


def test_webhooks_are_the_issue_events_jira_sends():
    sent = set()
    for path in JIRA_FIXTURES.glob("*.json"):
        event = json.loads(path.read_text()).get("webhookEvent", "")
        if event.startswith("jira:issue_"):
            sent.add(event)
    webhooks = _jira()["modules"]["webhooks"]

    assert sent == {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"}
    assert {hook["event"] for hook in webhooks} == sent
    assert {hook["url"] for hook in webhooks} == {"/webhooks/jira"}


def test_issue_panel_sits_in_the_issue_context_with_issue_and_project():
    (panel,) = _jira()["modules"]["webPanels"]

    assert panel["name"]["value"] == "Key results"
    assert panel["location"] == "atl.jira.view.issue.right.context"
    assert urlsplit(panel["url"]).path == "/jira/issue-panel"
    assert _template_variables(panel["url"]) == {
        "issueKey": "issue.key",
        "projectKey": "project.key",
    }


def test_glance_opens_our_panel_and_shows_only_on_issues_with_our_property():
    (glance,) = _jira()["modules"]["jiraIssueGlances"]

    assert glance["key"] == GLANCE_MODULE_KEY
    assert glance["content"] == {"type": "label", "label": {"value": "Key results"}}
    assert glance["target"]["type"] == "web_panel"
    assert urlsplit(glance["target"]["url"]).path == "/jira/issue-glance"
    assert _template_variables(glance["target"]["url"]) == {"issueKey": "issue.key"}
    assert glance["jiraNativeAppsEnabled"] is True
    assert glance["conditions"] == [
        {
            "condition": "entity_property_exists",
            "params": {"entity": "issue", "propertyKey": ISSUE_PROPERTY_KEY},
        }
    ]


def test_glance_status_is_set_through_the_documented_issue_property():
    assert glance_status_property_key("okrlink") == (
        "com.atlassian.jira.issue:okrlink:okr-glance:status"
    )


def test_pages_are_where_the_ui_serves_them():
    modules = _jira()["modules"]
    (project_page,) = modules["jiraProjectPages"]
    (general_page,) = modules["generalPages"]
    (admin_page,) = modules["adminPages"]

    assert project_page["name"]["value"] == "OKRs"
    assert urlsplit(project_page["url"]).path == "/jira/project-page"
    assert _template_variables(project_page["url"]) == {"projectKey": "project.key"}
    assert (general_page["name"]["value"], general_page["url"]) == ("OKRs", "/jira/okrs")
    assert (admin_page["name"]["value"], admin_page["url"]) == ("okrlink", "/jira/admin")


def test_dashboard_item_is_a_configurable_gadget_at_our_page(connect_jira_schema):
    (item,) = _jira()["modules"]["jiraDashboardItems"]
    schema = connect_jira_schema["properties"]["modules"]["properties"]["jiraDashboardItems"]

    assert set(schema["items"]["required"]) <= set(item)
    assert item["configurable"] is True
    assert urlsplit(item["url"]).path == "/jira/dashboard-item"
    assert _template_variables(item["url"]) == {
        "dashboardId": "dashboard.id",
        "dashboardItemId": "dashboardItem.id",
        "viewType": "dashboardItem.viewType",
    }


def test_issue_property_is_indexed_for_jql():
    (entity,) = _jira()["modules"]["jiraEntityProperties"]
    (config,) = entity["keyConfigurations"]

    assert entity["entityType"] == "issue"
    assert config["propertyKey"] == ISSUE_PROPERTY_KEY
    assert {(e["objectName"], e["type"], e["alias"]) for e in config["extractions"]} == {
        ("status", "string", "okrStatus"),
        ("krKeys", "string", "okrKeyResult"),
        ("progress", "number", "okrProgress"),
        ("score", "number", "okrScore"),
    }


def test_extractions_point_at_values_of_the_indexed_type_in_the_property_document():
    (entity,) = _jira()["modules"]["jiraEntityProperties"]
    python_types = {"string": str, "number": float}

    for extraction in entity["keyConfigurations"][0]["extractions"]:
        value = ISSUE_PROPERTY_DOCUMENT[extraction["objectName"]]
        # Jira indexes every element of an array under the same path.
        values = value if isinstance(value, list) else [value]
        assert values
        assert all(isinstance(v, python_types[extraction["type"]]) for v in values)


def test_module_keys_are_unique_and_valid():
    keys = [
        module["key"]
        for modules in _jira()["modules"].values()
        for module in modules
        if "key" in module
    ]

    assert len(keys) == len(set(keys))
    assert all(re.fullmatch(r"[a-z0-9-]+", key) for key in keys)


# --- Confluence ---------------------------------------------------------------------------------


def _macro() -> dict[str, Any]:
    (macro,) = _confluence()["modules"]["dynamicContentMacros"]
    return macro


def test_confluence_asks_for_read_only():
    assert _confluence()["scopes"] == ["READ"]


def test_okr_panel_macro_is_a_block_without_body():
    macro = _macro()

    assert macro["key"] == "okr-panel"
    assert macro["name"]["value"] == "OKR panel"
    assert macro["outputType"] == "block"
    assert macro["bodyType"] == "none"
    assert urlsplit(macro["url"]).path == "/confluence/macro/okr-panel"


def test_macro_parameters_are_team_cycle_objective_and_view():
    parameters = {p["identifier"]: p for p in _macro()["parameters"]}

    assert list(parameters) == ["team", "cycle", "objective", "view"]
    assert parameters["team"]["type"] == "string" and parameters["team"]["required"] is True
    assert all(not parameters[name]["required"] for name in ("cycle", "objective", "view"))
    assert parameters["view"]["type"] == "enum"
    assert parameters["view"]["values"] == ["full", "compact"]
    assert parameters["view"]["defaultValue"] in parameters["view"]["values"]


def test_every_macro_parameter_is_passed_in_every_url():
    macro = _macro()
    identifiers = {p["identifier"] for p in macro["parameters"]}
    urls = [macro["url"], *(mode["url"] for mode in macro["renderModes"].values())]

    for url in urls:
        assert _template_variables(url) == {name: name for name in identifiers}, url


def test_pdf_email_and_default_render_the_static_panel():
    modes = _macro()["renderModes"]

    assert set(modes) == {"pdf", "email", "default"}
    for mode in modes.values():
        assert urlsplit(mode["url"]).path == "/confluence/macro/okr-panel/static"

"""The Forge manifest: valid for the Forge CLI's own schema, and wired to our remote routes."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema.validators import validator_for

from connect.doors.atlassian_connect.descriptors import FORGE_MANIFEST, render_descriptor
from integrations.atlassian.properties import ISSUE_PROPERTY_KEY
from tests.support.locations import BASE_URL

REMOTE = "okrlink-remote"
UI_RESOURCE_PATH = "connect/ui/forge"
ISSUE_EVENTS = {"avi:jira:created:issue", "avi:jira:updated:issue", "avi:jira:deleted:issue"}
LIFECYCLE_EVENTS = {"avi:forge:installed:app", "avi:forge:upgraded:app"}
UI_MODULES = (
    "jira:issuePanel",
    "jira:issueGlance",
    "jira:projectPage",
    "jira:globalPage",
    "jira:adminPage",
    "jira:dashboardGadget",
    "macro",
)
ENV_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _interpolated(manifest: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """The manifest as `forge deploy` reads it: declared `${VAR}`s from the shell, else default."""
    declared = _defaults(manifest)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return environ.get(name, declared[name]) if name in declared else match.group(0)

    return yaml.safe_load(ENV_VARIABLE.sub(value, FORGE_MANIFEST.read_text()))


def _defaults(manifest: dict[str, Any]) -> dict[str, str]:
    return {v["key"]: v["default"] for v in manifest["environment"]["variables"]}


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = validator_for(schema)
    return cls(schema)


def _endpoints(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {endpoint["key"]: endpoint for endpoint in manifest["modules"]["endpoint"]}


def test_forge_schema_is_draft_07_and_large(forge_manifest_schema):
    assert forge_manifest_schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert validator_for(forge_manifest_schema) is jsonschema.Draft7Validator
    assert len(forge_manifest_schema["definitions"]["ModuleSchema"]["properties"]) > 100


def test_manifest_is_valid_against_the_forge_schema(forge_manifest_schema, forge_manifest):
    errors = list(_validator(forge_manifest_schema).iter_errors(forge_manifest))

    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_manifest_stays_valid_once_the_base_url_is_filled_in(forge_manifest_schema, forge_manifest):
    filled = _interpolated(forge_manifest, {"OKRLINK_BASE_URL": BASE_URL})

    assert list(_validator(forge_manifest_schema).iter_errors(filled)) == []
    assert filled["remotes"][0]["baseUrl"] == BASE_URL


def test_forge_schema_validation_catches_an_unknown_runtime(forge_manifest_schema, forge_manifest):
    broken = {**forge_manifest, "app": {**forge_manifest["app"], "runtime": {"name": "python3"}}}

    errors = list(_validator(forge_manifest_schema).iter_errors(broken))

    assert errors and all(list(e.path)[:2] == ["app", "runtime"] for e in errors)


def test_app_id_is_a_placeholder_for_forge_register(forge_manifest):
    assert forge_manifest["app"]["id"] == (
        "ari:cloud:ecosystem::app/00000000-0000-0000-0000-000000000000"
    )
    assert forge_manifest["app"]["runtime"]["name"] == "nodejs22.x"


def test_remote_base_url_comes_from_the_deploying_shell_with_a_default(forge_manifest):
    (remote,) = forge_manifest["remotes"]

    assert remote["key"] == REMOTE
    assert remote["baseUrl"] == "${OKRLINK_BASE_URL}"
    assert _defaults(forge_manifest) == {"OKRLINK_BASE_URL": "https://okrlink.example.com"}
    assert _interpolated(forge_manifest, {})["remotes"][0]["baseUrl"] == (
        "https://okrlink.example.com"
    )
    assert remote["operations"] == ["compute", "fetch"]
    assert remote["auth"] == {"appSystemToken": {"enabled": True}}


def test_every_endpoint_goes_to_our_remote_with_the_system_token(forge_manifest):
    for endpoint in _endpoints(forge_manifest).values():
        assert endpoint["remote"] == REMOTE
        assert endpoint["auth"] == {"appSystemToken": {"enabled": True}}


def test_issue_and_lifecycle_events_reach_their_routes(forge_manifest):
    endpoints = _endpoints(forge_manifest)
    routes = {
        frozenset(trigger["events"]): endpoints[trigger["endpoint"]]["route"]["path"]
        for trigger in forge_manifest["modules"]["trigger"]
    }

    assert routes == {
        frozenset(ISSUE_EVENTS): "/forge/events",
        frozenset(LIFECYCLE_EVENTS): "/forge/lifecycle",
    }


def test_our_own_issue_changes_do_not_come_back_as_events(forge_manifest):
    (issue_trigger,) = [
        t for t in forge_manifest["modules"]["trigger"] if set(t["events"]) == ISSUE_EVENTS
    ]

    assert issue_trigger["filter"] == {"ignoreSelf": True}


def test_every_ui_module_renders_the_custom_ui_and_resolves_on_the_remote(forge_manifest):
    modules = forge_manifest["modules"]
    resources = {r["key"]: r["path"] for r in forge_manifest["resources"]}
    endpoints = _endpoints(forge_manifest)

    assert resources == {"okrlink-ui": UI_RESOURCE_PATH}
    for module_type in UI_MODULES:
        for module in modules[module_type]:
            assert module["resource"] in resources
            assert module["resolver"]["endpoint"] in endpoints
            # A path of its own: the Custom UI's calls never land on the triggers' routes.
            assert endpoints[module["resolver"]["endpoint"]]["route"] == {"path": "/forge/ui"}


def test_ui_modules_carry_the_titles_users_see(forge_manifest):
    modules = forge_manifest["modules"]

    assert modules["jira:issuePanel"][0]["title"] == "Key results"
    assert modules["jira:issueGlance"][0]["label"] == "Key results"
    assert modules["jira:projectPage"][0]["title"] == "OKRs"
    assert modules["jira:globalPage"][0]["title"] == "OKRs"
    assert modules["jira:adminPage"][0]["title"] == "okrlink"
    assert modules["macro"][0]["title"] == "OKR panel"


def test_dashboard_gadget_edits_its_configuration_in_the_same_custom_ui(forge_manifest):
    (gadget,) = forge_manifest["modules"]["jira:dashboardGadget"]
    filled = _interpolated(forge_manifest, {"OKRLINK_BASE_URL": BASE_URL})

    assert gadget["title"] == "OKRs and KPIs"
    assert gadget["edit"] == {"resource": gadget["resource"]}
    (filled_gadget,) = filled["modules"]["jira:dashboardGadget"]
    assert filled_gadget["thumbnail"] == f"{BASE_URL}/atlassian/okrlink.svg"  # we serve it


def test_glance_shows_only_on_issues_with_our_property(forge_manifest):
    (glance,) = forge_manifest["modules"]["jira:issueGlance"]

    assert glance["displayConditions"] == {
        "entityPropertyExists": {"entity": "issue", "propertyKey": ISSUE_PROPERTY_KEY}
    }


def test_macro_config_declares_the_connect_macro_parameters(forge_manifest):
    (macro,) = forge_manifest["modules"]["macro"]
    (connect_macro,) = render_descriptor("confluence", base_url=BASE_URL, app_key="okrlink")[
        "modules"
    ]["dynamicContentMacros"]

    assert [p["identifier"] for p in macro["config"]["parameters"]] == [
        p["identifier"] for p in connect_macro["parameters"]
    ]
    assert macro["key"] == connect_macro["key"]


def test_issue_property_is_indexed_like_the_connect_door(forge_manifest):
    (entity,) = forge_manifest["modules"]["jira:entityProperty"]
    (connect_entity,) = render_descriptor("jira", base_url=BASE_URL, app_key="okrlink")["modules"][
        "jiraEntityProperties"
    ]
    (connect_config,) = connect_entity["keyConfigurations"]

    assert (entity["entityType"], entity["propertyKey"]) == ("issue", ISSUE_PROPERTY_KEY)
    assert {(v["path"], v["type"], v["searchAlias"]) for v in entity["values"]} == {
        (e["objectName"], e["type"], e["alias"]) for e in connect_config["extractions"]
    }


def test_scopes_are_exactly_what_the_modules_need(forge_manifest):
    assert forge_manifest["permissions"]["scopes"] == [
        "read:jira-work",
        "write:jira-work",
        "read:app-system-token",
    ]
    assert forge_manifest["permissions"]["external"] == {"fetch": {"backend": [{"remote": REMOTE}]}}


def test_confluence_connect_macro_matches_the_forge_schema_for_connect_modules(
    forge_manifest_schema,
):
    # The 2019 Connect schema knows no Confluence modules; the Forge schema carries the
    # current Connect Confluence macro definition for `connect-confluence:dynamicContentMacros`.
    schema = {
        "$schema": forge_manifest_schema["$schema"],
        "definitions": forge_manifest_schema["definitions"],
        "$ref": "#/definitions/ModuleSchema/properties/connect-confluence:dynamicContentMacros",
    }
    macros = render_descriptor("confluence", base_url=BASE_URL, app_key="okrlink")["modules"][
        "dynamicContentMacros"
    ]

    assert list(jsonschema.Draft7Validator(schema).iter_errors(macros)) == []


@pytest.mark.parametrize("module_type", ["jira:issuePanel", "macro", "jira:projectPage"])
def test_module_icons_come_from_the_custom_ui_resource(forge_manifest, module_type):
    for module in forge_manifest["modules"][module_type]:
        assert module["icon"] == "resource:okrlink-ui;okrlink.svg"

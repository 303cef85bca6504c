"""The generated reference covers what the code reads: every `OKRLINK_*` variable named anywhere
in the service, every CLI command and every REST route, each with a description."""

from __future__ import annotations

import re
from pathlib import Path

from connect.api.openapi import document
from connect.reference import render, settings_rows

ROOT = Path(__file__).resolve().parents[1]
NAMED = re.compile(r"OKRLINK_[A-Z0-9_]+")


def _named_in_code() -> set[str]:
    names: set[str] = set()
    for package in ("connect", "sync", "integrations"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(NAMED.findall(path.read_text(encoding="utf-8")))
    return {name for name in names if not name.endswith("_")}  # a prefix, not a setting


def test_every_setting_the_code_names_is_in_the_reference_with_a_description() -> None:
    rows = {name: doc for name, _, doc in settings_rows()}
    assert sorted(_named_in_code() - set(rows)) == []
    assert sorted(name for name, doc in rows.items() if not doc.strip()) == []


def test_every_route_of_the_openapi_document_is_in_the_rest_reference() -> None:
    page = render("rest-api")
    for path, operations in document()["paths"].items():
        for method in operations:
            assert f"`{method.upper()} /api/v1{path}`" in page


def test_every_cli_command_is_in_the_cli_reference() -> None:
    page = render("cli")
    for command in ("okrlink import", "okrlink digest add", "okrlink tenants list", "okrlink web"):
        assert f"## `{command}`" in page

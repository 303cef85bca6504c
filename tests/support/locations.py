"""Where the descriptor tests find the repository, the shared fixtures and the schemas."""

from __future__ import annotations

from pathlib import Path

from tests.support.base import SHARED_FIXTURES

REPO = Path(__file__).resolve().parents[2]
SHARED = SHARED_FIXTURES.parent
CONNECT_JIRA_SCHEMA = SHARED / "schemas" / "connect-jira-descriptor-schema-2019.json"
JIRA_FIXTURES = SHARED / "fixtures" / "jira"
FORGE_CACHE = REPO / ".cache" / "forge-manifest"

BASE_URL = "https://okr.example.com"

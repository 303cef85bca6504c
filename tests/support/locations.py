"""Where the descriptor tests find the repository, the real payloads and the schemas (all in
the repository: a clone anywhere runs them)."""

from __future__ import annotations

from pathlib import Path

from tests.support.base import SHARED_FIXTURES

REPO = Path(__file__).resolve().parents[2]
CONNECT_JIRA_SCHEMA = REPO / "tests" / "schemas" / "connect-jira-descriptor-schema-2019.json"
JIRA_FIXTURES = SHARED_FIXTURES / "jira"
FORGE_CACHE = REPO / ".cache" / "forge-manifest"

BASE_URL = "https://okr.example.com"

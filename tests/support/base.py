"""Values and small helpers every layer's tests share (imported by the conftest fixtures)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED_FIXTURES = ROOT / "tests" / "fixtures"
"""Real payloads (their sources in each folder's SOURCES.md), in the repository: a clone
anywhere runs every test."""
ADMIN_TOKEN = "test-admin-token-0123456789abcdefgh"
BASE_URL = "https://okrlink.test"
# The Fernet key every test app runs with (`OKRLINK_SECRET_KEY` is required outside dev).
SECRET_KEY = "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY="
LOCAL_RECEIVERS = "127.0.0.1/32"
"""`OKRLINK_OUTBOUND_ALLOW_NETWORKS` of the tests: their Slack and Teams stand-ins are local."""


def shared_fixture(*parts: str) -> Any:
    """A real payload from tests/fixtures, parsed."""
    return json.loads((SHARED_FIXTURES.joinpath(*parts)).read_text())


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


class FlaskCalls:
    """Counts the requests that went past the hot paths (`connect/http/hotpaths.py`) into Flask."""

    def __init__(self) -> None:
        self.count = 0

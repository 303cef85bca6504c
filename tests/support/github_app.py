"""Helpers of the GitHub App tests: payloads, signed deliveries, GitHub's answers, OKRs."""

from __future__ import annotations

import copy
import functools
import json
import re
from datetime import date, datetime
from typing import Any

import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connect.services import services_of
from integrations.github.signature import sign
from sync.core.spec import CycleSpec, KeyResultSpec, ObjectiveSpec, TeamOkrs
from sync.db.model import Base, KeyResult, WorkItem
from sync.db.store import Store, find_kr, local_site
from sync.engine.snapshots import recompute
from sync.okrs import import_team_okrs
from tests.support.base import SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "github"
SECRET = "test-webhook-secret"
API = "https://github.example.test/api/v3"
APP_ID = "12345"


@functools.cache
def app_private_key() -> str:
    """The test GitHub App's private key (PEM): one per run, since RSA generation is slow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def fixture(name: str) -> dict[str, Any]:
    """A real payload from tests/fixtures/github, parsed (a fresh copy each time)."""
    return copy.deepcopy(json.loads((FIXTURES / name).read_text()))


def raw_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class SleepRecorder:
    """Stands in for time.sleep in the client's write pacing: records, never blocks."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def at(url: str) -> str:
    """A regex source matching `url` with or without the default port (PyGithub spells it)."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    return f"{re.escape(scheme)}://{re.escape(host)}(?::443)?/{re.escape(path)}"


def check_runs_url(repo: str) -> re.Pattern[str]:
    return re.compile(at(f"{API}/repos/{repo}/check-runs") + "$")


def check_run_url(repo: str, run_id: int) -> re.Pattern[str]:
    return re.compile(at(f"{API}/repos/{repo}/check-runs/{run_id}") + "$")


def check_run_answer(run_id: int, head_sha: str, repo: str) -> dict[str, Any]:
    """The parts of GitHub's "create a check run" answer the client reads (and some more)."""
    return {
        "id": run_id,
        "head_sha": head_sha,
        "node_id": f"CR_{run_id}",
        "url": f"{API}/repos/{repo}/check-runs/{run_id}",
        "html_url": f"https://github.example.test/{repo}/runs/{run_id}",
        "status": "completed",
        "conclusion": "neutral",
        "name": "OKR impact",
    }


def check_run_calls(rsps: responses.RequestsMock) -> list[responses.Call]:
    return [call for call in rsps.calls if "/check-runs" in (call.request.url or "")]


def sent_json(call: responses.Call) -> dict[str, Any]:
    body = call.request.body
    return json.loads(body.decode() if isinstance(body, bytes) else body)


def deliver(
    client: FlaskClient,
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery: str,
    secret: str = SECRET,
    signature: str | None = None,
) -> Any:
    """POST a delivery as GitHub does: raw JSON body, event, delivery id, HMAC signature."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature
        if signature is not None
        else sign(secret=secret, body=body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
    }
    return client.post("/webhooks/github", data=body, headers=headers)


# --- OKRs -------------------------------------------------------------------------------

CYCLE = CycleSpec(name="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31))
TEAM_OKRS = TeamOkrs(
    team="PLAT",
    cycle=CYCLE,
    objectives=(
        ObjectiveSpec(
            key="PLAT-1",
            title="Make the platform the most reliable in its sector",
            key_results=(
                KeyResultSpec(
                    key="PLAT-1.1",
                    title="Fail over between regions in under 5 minutes",
                    kind="issues",
                    issues=("PLAT-12",),
                    owner="Platform tech lead",
                ),
                KeyResultSpec(
                    key="PLAT-1.2",
                    title="Ship 20 reliability fixes to production",
                    kind="github",
                    measure="merged_prs",
                    baseline=0,
                    target=20,
                    owner="Engineering manager",
                ),
                KeyResultSpec(
                    key="PLAT-1.3",
                    title="Reduce lead time for changes from 48 h to 24 h",
                    kind="github",
                    measure="lead_time_hours",
                    baseline=48,
                    target=24,
                    unit="h",
                    owner="Engineering manager",
                ),
            ),
        ),
    ),
)


def store(app: Flask) -> Store:
    return services_of(app).store


def load_okrs(app: Flask, now: datetime) -> int:
    """The local site with PLAT's OKRs; epic PLAT-12 has PLAT-13 (to do) and PLAT-14 (done)."""
    with store(app).session() as session:
        site = local_site(session)
        report = import_team_okrs(session, site.id, TEAM_OKRS)
        session.add_all(
            [
                WorkItem(
                    site_id=site.id,
                    key="PLAT-12",
                    issue_type="Epic",
                    status_category="indeterminate",
                ),
                WorkItem(
                    site_id=site.id,
                    key="PLAT-13",
                    issue_type="Story",
                    status_category="new",
                    parent_key="PLAT-12",
                ),
                WorkItem(
                    site_id=site.id,
                    key="PLAT-14",
                    issue_type="Story",
                    status_category="done",
                    parent_key="PLAT-12",
                ),
            ]
        )
        session.flush()
        recompute(session, site.id, report.changed_kr_ids, now=now)
        return site.id


def kr(app: Flask, site_id: int, key: str) -> KeyResult:
    with store(app).session() as session:
        found = find_kr(session, site_id, key)
        assert found is not None
        session.expunge(found)
        return found


def count(app: Flask, model: type[Base]) -> int:
    with store(app).session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def session_of(app: Flask) -> Session:
    return store(app).sessions()

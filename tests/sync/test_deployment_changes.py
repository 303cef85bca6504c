"""The (deployment, change) pairs: what matching every change to every deployment would give,
whatever order deployments, statuses and PRs arrive in, however often.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import select

from sync.apply.deployments import record_deployment
from sync.apply.github import apply_pull_request
from sync.core import dora
from sync.db.model import Deployment, DeploymentChange, GitHubInstallation, InboxEvent, PullRequest
from sync.db.store import ALEMBIC_DIR, local_site
from sync.dora import keys as dora_reader
from sync.dora.changes import rebuild
from sync.ports import Ports
from tests.support.base import FakeClock
from tests.support.github_app import store

INSTALLATION = 7
START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = START + timedelta(days=12)
REPOS = ("acme/api", "acme/web")
ENVIRONMENTS = ("production", "staging")


def _iso(at: datetime) -> str:
    return at.isoformat()


def history(seed: int) -> list[tuple[str, dict[str, Any]]]:
    """Deployments (created, then statuses) and merged PRs of two repositories, in time order."""
    rng = random.Random(seed)
    events: list[tuple[datetime, str, dict[str, Any]]] = []
    for number in range(1, 41):
        created = START + timedelta(hours=rng.randrange(0, 24 * 10))
        deployment = {
            "id": number,
            "repo": rng.choice(REPOS),
            "sha": f"{number:040x}",
            "ref": "main",
            "environment": rng.choice(ENVIRONMENTS),
            "created_at": _iso(created),
        }
        events.append((created, "deployment", {"deployment": deployment}))
        for n, state in enumerate(
            rng.choice(
                [["success"], ["failure"], ["success", "error"], ["in_progress", "success"], []]
            )
        ):
            at = created + timedelta(minutes=5 * (n + 1))
            status = {"id": number * 10 + n, "state": state, "at": _iso(at)}
            events.append((at, "status", {"deployment": deployment, "status": status}))
    for number in range(1, 31):
        merged = START + timedelta(hours=rng.randrange(0, 24 * 10), minutes=rng.randrange(60))
        opened = merged - timedelta(hours=rng.randrange(1, 72))
        pull = {
            "repo": rng.choice(REPOS),
            "number": number,
            "title": f"Change {number}",
            "branch": f"change-{number}",
            "head_sha": f"{number:040x}",
            "state": "closed",
            "merged": True,
            "opened_at": _iso(opened),
            "merged_at": _iso(merged),
            "updated_at": _iso(merged),
            "url": "",
            "jira_keys": [],
            "kr_keys": [],
        }
        events.append((merged, "pull", {"pull": pull}))
    return [(kind, payload) for _, kind, payload in sorted(events, key=lambda e: e[0])]


def apply(app: Flask, site_id: int, events: list[tuple[str, dict[str, Any]]]) -> None:
    ports = Ports(clock=FakeClock(NOW))
    with store(app).session() as session:
        for kind, payload in events:
            if kind == "pull":
                row = InboxEvent(
                    payload={
                        "installation_id": INSTALLATION,
                        "account": "acme",
                        "action": "closed",
                        **payload,
                    }
                )
                apply_pull_request(session, row, ports)
            else:
                record_deployment(
                    session,
                    installation_id=INSTALLATION,
                    site_id=site_id,
                    deployment=payload["deployment"],
                    status=payload.get("status"),
                )


Pair = tuple[int, str, datetime, float]  # PR number, environment, deployment created, lead


def stored_pairs(app: Flask) -> list[Pair]:
    """The stored pairs; a deployment is named by when it was created (two created at once
    and shipped at once are alike to every key, and either may carry the change)."""
    with store(app).session() as session:
        rows = session.execute(
            select(
                PullRequest.number,
                DeploymentChange.environment,
                Deployment.created_at,
                DeploymentChange.lead_seconds,
            )
            .join(Deployment, Deployment.id == DeploymentChange.deployment_id)
            .join(PullRequest, PullRequest.id == DeploymentChange.pull_request_id)
        ).all()
    return sorted((int(n), e, c, float(s)) for n, e, c, s in rows)


def matched_pairs(app: Flask) -> list[Pair]:
    """Every change matched to every deployment, as the core does it (the reference)."""
    with store(app).session() as session:
        deployments = session.scalars(select(Deployment)).all()
        pulls = session.scalars(select(PullRequest).where(PullRequest.merged.is_(True))).all()
        changes = [
            dora.ChangeFact(p.repo, p.number, p.opened_at or p.merged_at, p.merged_at)
            for p in pulls
            if p.merged_at
        ]
        pairs = []
        for environment in ENVIRONMENTS:
            facts = [
                dora.DeploymentFact(d.repo, d.created_at, d.succeeded_at, d.failed_at)
                for d in deployments
                if d.environment == environment
            ]
            for fact, change in dora.shipped_changes(facts, changes):
                assert fact.succeeded_at is not None
                lead = (fact.succeeded_at - change.started_at).total_seconds()
                pairs.append((change.number, environment, fact.created_at, lead))
    return sorted(pairs)


@pytest.fixture
def site_id(app: Flask) -> int:
    with store(app).session() as session:
        site = local_site(session).id
        session.add(GitHubInstallation(installation_id=INSTALLATION, site_id=site))
    return site


def lead_time(app: Flask, site_id: int, environment: str) -> float | None:
    with store(app).session() as session:
        params = {"environment": environment, "window_days": 30}
        return dora_reader.measure(session, site_id, dora.CHANGE_LEAD_TIME, params, now=NOW)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_pairs_made_as_events_arrive_match_every_change_to_every_deployment(
    app: Flask, site_id: int, seed: int
) -> None:
    events = history(seed)
    random.Random(seed).shuffle(events)
    apply(app, site_id, events)
    assert stored_pairs(app) == matched_pairs(app)
    assert stored_pairs(app)  # the history ships something
    with store(app).session() as session:
        deployments = session.scalars(select(Deployment)).all()
        pulls = session.scalars(select(PullRequest)).all()
        changes = [
            dora.ChangeFact(p.repo, p.number, p.opened_at or p.merged_at, p.merged_at)
            for p in pulls
            if p.merged_at
        ]
    window = dora.Window(now=NOW, days=30)
    for environment in ENVIRONMENTS:
        facts = [
            dora.DeploymentFact(d.repo, d.created_at, d.succeeded_at, d.failed_at)
            for d in deployments
            if d.environment == environment
        ]
        assert lead_time(app, site_id, environment) == dora.change_lead_time_hours(
            facts, changes, window
        )


def test_replays_in_any_order_store_each_pair_once(app: Flask, site_id: int) -> None:
    events = history(5)
    apply(app, site_id, events)
    first = stored_pairs(app)
    replayed = events * 2
    random.Random(5).shuffle(replayed)
    apply(app, site_id, replayed)
    assert stored_pairs(app) == first == matched_pairs(app)


def test_a_rebuild_of_the_history_writes_the_pairs_the_events_wrote(
    app: Flask, site_id: int
) -> None:
    apply(app, site_id, history(6))
    made = stored_pairs(app)
    with store(app).session() as session:
        assert rebuild(session, INSTALLATION) == len(made)
    assert stored_pairs(app) == made


def test_the_upgrade_pairs_the_history_stored_before_it(app: Flask, site_id: int) -> None:
    apply(app, site_id, history(7))
    made = stored_pairs(app)
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    with store(app).engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")  # a database from before the pairs were kept
        command.upgrade(config, "head")
    assert stored_pairs(app) == made

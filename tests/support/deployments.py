"""Deployments, their statuses and merged PRs as GitHub sends them, for the DORA tests.

Each payload is a real one from tests/fixtures/github (octokit/webhooks' examples and a
captured merged PR) with only the ids, repository, times, state and branch changed, so the
door parses exactly the shapes GitHub delivers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sync.db.model import Deployment, DeploymentChange, PullRequest
from tests.support.github_app import deliver, fixture, store

INSTALLATION = 1  # the installation the octokit deployment examples name
REPO = "Codertocat/Hello-World"


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _repository(payload: dict[str, Any], repo: str) -> None:
    owner, name = repo.split("/")
    payload["repository"].update(full_name=repo, name=name)
    payload["repository"]["owner"]["login"] = owner


def deployment(
    number: int, *, at: datetime, repo: str = REPO, sha: str = "", environment: str = "production"
) -> dict[str, Any]:
    """A `deployment.created` payload for deployment `number` of `repo`."""
    payload = fixture("deployments/deployment.created.json")
    _repository(payload, repo)
    payload["installation"]["id"] = INSTALLATION
    payload["deployment"].update(
        id=number,
        sha=sha or f"{number:040x}",
        environment=environment,
        created_at=_iso(at),
        updated_at=_iso(at),
    )
    return payload


def deployment_status(
    number: int,
    status_id: int,
    state: str,
    *,
    created: datetime,
    at: datetime,
    repo: str = REPO,
    environment: str = "production",
) -> dict[str, Any]:
    """A `deployment_status.created` payload: deployment `number` reached `state` at `at`."""
    payload = fixture("deployments/deployment_status.success.json")
    _repository(payload, repo)
    payload["installation"]["id"] = INSTALLATION
    payload["deployment"].update(
        id=number,
        sha=f"{number:040x}",
        environment=environment,
        created_at=_iso(created),
        updated_at=_iso(at),
    )
    payload["deployment_status"].update(
        id=status_id,
        state=state,
        environment=environment,
        created_at=_iso(at),
        updated_at=_iso(at),
    )
    return payload


def merged_pull(
    number: int, *, opened: datetime, merged: datetime, repo: str = REPO, branch: str = ""
) -> dict[str, Any]:
    """A `pull_request.closed` payload of a PR merged into `repo`."""
    payload = fixture("pull_request.closed.merged.json")
    _repository(payload, repo)
    payload["installation"]["id"] = INSTALLATION
    pull = payload["pull_request"]
    pull.update(number=number, title=f"Change {number}", body="", created_at=_iso(opened))
    pull.update(merged_at=_iso(merged), updated_at=_iso(merged), closed_at=_iso(merged))
    pull["base"]["repo"]["full_name"] = repo
    pull["head"]["ref"] = branch or f"change-{number}"
    return payload


class Deliveries:
    """Sends signed deliveries with fresh delivery ids; `again` replays one already sent."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.sent: list[tuple[str, dict[str, Any], str]] = []

    def send(self, event: str, payload: dict[str, Any]) -> Any:
        delivery = f"d-{len(self.sent) + 1}"
        self.sent.append((event, payload, delivery))
        answer = deliver(self.client, event, payload, delivery=delivery)
        assert answer.status_code in (200, 202), answer.get_json()
        return answer


def shipped_pairs(app: Flask) -> list[tuple[int, int]]:
    """The stored (deployment id, PR number) pairs: which merged PRs each deployment shipped."""
    with store(app).session() as session:
        rows = session.execute(
            select(Deployment.deployment_id, PullRequest.number)
            .join(DeploymentChange, DeploymentChange.deployment_id == Deployment.id)
            .join(PullRequest, PullRequest.id == DeploymentChange.pull_request_id)
        ).all()
    return sorted((int(d), int(n)) for d, n in rows)

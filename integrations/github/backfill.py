"""Read a new installation's history through GitHub's REST API: deployments, their statuses and
merged pull requests of the last days, as the webhook would have delivered them.

Each one becomes the same inbox record the webhook makes, under a delivery id of its own
(`backfill:<kind>:<id>`): running the backfill again adds nothing, and a deployment seen by
both the webhook and the backfill is still one row (the store keys it by installation and
deployment id). Reads are paced: serially, and when GitHub says fewer than `reserve` calls are
left in the hour, the backfill waits for the reset rather than spending the app's budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from integrations.github.events import parse_timestamp
from integrations.github.records import inbox_record

PER_PAGE = 100
# Calls kept back for the app's own work (check runs, PR reads) while a backfill runs.
RESERVE = 200
# The most a backfill waits at once for GitHub's hourly window to reset.
MAX_WAIT = 3600.0


class Lister(Protocol):
    def get_list(
        self, installation_id: int, path: str, params: Mapping[str, Any]
    ) -> tuple[list[Any] | dict[str, Any], Mapping[str, str]]: ...


@dataclass
class Pacer:
    """Waits before a call when the last answer said the hourly budget is nearly spent."""

    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    reserve: int = RESERVE
    waits: list[float] = field(default_factory=list)
    _resume_at: float = 0.0

    def before_call(self) -> None:
        wait = self._resume_at - self.clock()
        if wait > 0:
            wait = min(wait, MAX_WAIT)
            self.waits.append(wait)
            self.sleep(wait)
        self._resume_at = 0.0

    def after_call(self, headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        remaining, reset = lowered.get("x-ratelimit-remaining"), lowered.get("x-ratelimit-reset")
        if remaining is not None and reset is not None and int(remaining) < self.reserve:
            self._resume_at = float(reset) + 1.0


@dataclass
class Backfill:
    """What one backfill read: inbox records, in the order to apply them, with delivery ids."""

    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    repositories: int = 0
    deployments: int = 0
    statuses: int = 0
    pulls: int = 0


def _pages(
    github: Lister,
    pacer: Pacer,
    installation_id: int,
    path: str,
    params: Mapping[str, Any],
    key: str | None = None,
) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        pacer.before_call()
        data, headers = github.get_list(
            installation_id, path, {**params, "per_page": PER_PAGE, "page": page}
        )
        pacer.after_call(headers)
        items = data.get(key, []) if isinstance(data, dict) and key else data
        if not isinstance(items, list):
            return
        yield from items
        if len(items) < PER_PAGE:
            return
        page += 1


def read_history(
    github: Lister,
    installation_id: int,
    *,
    now: datetime,
    days: int = 90,
    pacer: Pacer | None = None,
) -> Backfill:
    """Deployments (with statuses) and merged PRs of the installation's repositories."""
    pacer = pacer or Pacer()
    since = now - timedelta(days=days)
    out = Backfill()
    installation = {"id": installation_id}
    repos = list(
        _pages(github, pacer, installation_id, "/installation/repositories", {}, key="repositories")
    )
    out.repositories = len(repos)
    for repository in repos:
        name = repository["full_name"]
        base = {"installation": installation, "repository": repository, "action": "created"}
        for deployment in _pages(github, pacer, installation_id, f"/repos/{name}/deployments", {}):
            if parse_timestamp(deployment["created_at"]) < since:
                break  # newest first: the rest is older
            out.deployments += 1
            record = inbox_record("deployment", {**base, "deployment": deployment})
            if record is not None:
                out.records.append(
                    (f"backfill:deployment:{deployment['id']}", "deployment", record)
                )
            path = f"/repos/{name}/deployments/{deployment['id']}/statuses"
            for status in _pages(github, pacer, installation_id, path, {}):
                out.statuses += 1
                payload = {**base, "deployment": deployment, "deployment_status": status}
                record = inbox_record("deployment_status", payload)
                if record is not None:
                    out.records.append(
                        (f"backfill:deployment_status:{status['id']}", "deployment_status", record)
                    )
        params = {"state": "closed", "sort": "updated", "direction": "desc"}
        for pull in _pages(github, pacer, installation_id, f"/repos/{name}/pulls", params):
            if parse_timestamp(pull["updated_at"]) < since:
                break
            if not pull.get("merged_at"):
                continue
            out.pulls += 1
            record = inbox_record(
                "pull_request", {**base, "action": "closed", "pull_request": pull}
            )
            if record is not None:
                out.records.append(
                    (
                        f"backfill:pull_request:{pull['id']}:{pull['updated_at']}",
                        "pull_request",
                        record,
                    )
                )
    return out

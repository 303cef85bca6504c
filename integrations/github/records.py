"""GitHub payloads -> the plain dicts the core's handlers read (see `sync.apply.github`).

Only what the handlers need is kept, so the inbox holds small rows and the core never parses
GitHub's shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.github.events import (
    check_run_target,
    deployment_of,
    deployment_status_of,
    installation_id,
    pull_request_state,
)


def _account(payload: Mapping[str, Any]) -> str:
    account = (payload.get("installation") or {}).get("account") or {}
    owner = (payload.get("repository") or {}).get("owner") or {}
    return str(account.get("login") or owner.get("login") or "")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def inbox_record(event: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The inbox payload for a handled (event, action), or None when it names no installation."""
    installation = installation_id(payload)
    if installation is None:
        return None
    record: dict[str, Any] = {
        "action": payload.get("action"),
        "installation_id": installation,
        "account": _account(payload),
    }
    if event == "pull_request":
        pull = pull_request_state(payload)
        record["pull"] = {
            "repo": pull.repo,
            "number": pull.number,
            "title": pull.title,
            "branch": pull.branch,
            "head_sha": pull.head_sha,
            "state": pull.state,
            "merged": pull.merged,
            "opened_at": _iso(pull.opened_at),
            "merged_at": _iso(pull.merged_at),
            "updated_at": _iso(pull.updated_at),
            "url": pull.url,
            "jira_keys": list(pull.jira_keys),
            "kr_keys": list(pull.kr_keys),
        }
    elif event in ("check_suite", "check_run"):
        target = check_run_target(payload)
        record.update(
            repo=target.repo, head_sha=target.head_sha, pull_numbers=list(target.pull_numbers)
        )
    elif event in ("deployment", "deployment_status"):
        record["deployment"] = deployment_of(payload)
        if event == "deployment_status":
            record["status"] = deployment_status_of(payload["deployment_status"])
    elif event == "push":
        record["ref"] = payload.get("ref")
    return record

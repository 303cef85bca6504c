"""GitHub payloads -> the plain dicts the core's handlers read (see `sync.apply.github`).

Only what the handlers need is kept, so the inbox holds small rows and the core never parses
GitHub's shapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from integrations.github.events import (
    check_run_target,
    deployment_of,
    deployment_status_of,
    installation_id,
    pull_request_state,
)
from integrations.payloads import PayloadError, storable_tree


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
    checked: dict[str, Any] = storable_tree(record)
    _check_shapes(checked)
    return checked


HEAD_SHA: Final = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
REPO: Final = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
MAX_NUMBER: Final = 2**31 - 1
LIMITS: Final = {"branch": 255, "url": 512}


def _check_shapes(record: Mapping[str, Any]) -> None:
    """Refuse (`PayloadError`, answered 400) what cannot be GitHub's: the columns that store
    these values are sized for GitHub's own limits."""
    pull = record.get("pull") or record
    repo = pull.get("repo")
    if repo is not None and not (isinstance(repo, str) and REPO.fullmatch(repo)):
        raise PayloadError("repository full_name is not owner/name")
    sha = pull.get("head_sha")
    if sha is not None and not (isinstance(sha, str) and HEAD_SHA.fullmatch(sha)):
        raise PayloadError("head_sha is not a commit id")
    numbers = [pull["number"]] if "number" in pull else list(record.get("pull_numbers") or ())
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= MAX_NUMBER:
            raise PayloadError("a pull request number is out of range")
    for name, limit in LIMITS.items():
        value = pull.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise PayloadError(f"{name} is longer than {limit} characters")

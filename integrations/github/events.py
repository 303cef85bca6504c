"""GitHub webhook payloads -> plain values: PR state, linked Jira/KR keys, check targets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from integrations.payloads import PayloadError, positive_id

# Jira issue keys as Jira's development panel finds them in branch names, titles and commits:
# a project key (an upper-case letter, then at least one upper-case letter, digit or underscore),
# a hyphen and the issue number. Matching is case-sensitive: `plat-12` is not a key, as in Jira.
# The key must not follow a letter, digit or hyphen ("xPLAT-12" is no key, "feature/PLAT-12-fix"
# and "[PLAT-12]" are), and must not be followed by ".<digit>", which would make it a KR key
# (`PLAT-1.2`) rather than an issue.
JIRA_KEY = re.compile(r"(?<![A-Za-z0-9-])[A-Z][A-Z0-9_]+-\d+(?!\d|\.\d)")

# A KR key is the team's project key, the objective number and the KR number: `PLAT-1.2`.
_KR_KEY = r"[A-Z][A-Z0-9_]+-\d+\.\d+"
_KR_KEY_RE = re.compile(rf"(?<![A-Za-z0-9-]){_KR_KEY}(?![\d.])")
# A line `KR: PLAT-1.2` or `KR: PLAT-1.2, PLAT-2.1` in a PR body links those KRs directly.
KR_LINE = re.compile(rf"^[ \t]*KR:[ \t]*({_KR_KEY}(?:[ \t]*,[ \t]*{_KR_KEY})*)", re.M)

# (event, action) pairs the webhook route hands on; anything else is acknowledged and ignored.
# `ping` and `push` carry no action.
HANDLED: frozenset[tuple[str, str | None]] = frozenset(
    {
        ("ping", None),
        ("installation", "created"),
        ("installation", "deleted"),
        ("installation", "suspend"),
        ("installation", "unsuspend"),
        ("installation_repositories", "added"),
        ("installation_repositories", "removed"),
        ("pull_request", "opened"),
        ("pull_request", "edited"),
        ("pull_request", "reopened"),
        ("pull_request", "synchronize"),
        ("pull_request", "closed"),
        ("check_suite", "requested"),
        ("check_suite", "rerequested"),
        ("check_run", "rerequested"),
        ("check_run", "requested_action"),
        ("push", None),
        ("deployment", "created"),
        ("deployment_status", "created"),
    }
)


def is_handled(event: str, action: str | None) -> bool:
    """True when the (X-GitHub-Event, payload action) pair is one we act on."""
    return (event, action) in HANDLED


_T = TypeVar("_T")


def _unique(keys: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(keys))


def jira_keys_in(*texts: str | None) -> tuple[str, ...]:
    """Jira issue keys found in `texts`, in order of first appearance, without duplicates."""
    return _unique(m.group(0) for text in texts if text for m in JIRA_KEY.finditer(text))


def kr_keys_in(body: str | None) -> tuple[str, ...]:
    """KR keys named on `KR: <key>[, <key>...]` lines of a PR body, ordered, without duplicates."""
    if not body:
        return ()
    return _unique(
        key.group(0) for line in KR_LINE.finditer(body) for key in _KR_KEY_RE.finditer(line[1])
    )


@dataclass(frozen=True, slots=True)
class PullRequestState:
    """The current state of one pull request, as far as KR links and progress care."""

    installation_id: int | None
    repo: str
    number: int
    title: str
    body: str
    branch: str
    head_sha: str
    state: str
    merged: bool
    opened_at: datetime
    merged_at: datetime | None
    updated_at: datetime
    author: str
    url: str
    jira_keys: tuple[str, ...]
    kr_keys: tuple[str, ...]


def parse_timestamp(value: str) -> datetime:
    """Parse GitHub's ISO 8601 timestamps (`2019-05-15T15:20:33Z`) into aware datetimes."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def installation_id(payload: Mapping[str, Any]) -> int | None:
    """The GitHub App installation a delivery belongs to, if it names one; a `PayloadError`
    when `installation` is not an object or its id not an id GitHub could have issued."""
    installation = payload.get("installation")
    if installation is None:
        return None
    if not isinstance(installation, Mapping):
        raise PayloadError("installation is not an object")
    value = installation.get("id")
    return positive_id(value, "installation.id") if value is not None else None


def pull_state(pull: Mapping[str, Any], *, installation: int | None) -> PullRequestState:
    """Build the state from a pull request object (webhook `pull_request` or REST GET pull)."""
    title = pull.get("title") or ""
    body = pull.get("body") or ""
    branch = pull["head"]["ref"]
    merged_at = pull.get("merged_at")
    return PullRequestState(
        installation_id=installation,
        repo=pull["base"]["repo"]["full_name"],
        number=int(pull["number"]),
        title=title,
        body=body,
        branch=branch,
        head_sha=pull["head"]["sha"],
        state=pull["state"],
        merged=bool(pull.get("merged") or merged_at),
        opened_at=parse_timestamp(pull["created_at"]),
        merged_at=parse_timestamp(merged_at) if merged_at else None,
        updated_at=parse_timestamp(pull["updated_at"]),
        author=(pull.get("user") or {}).get("login") or "",
        url=pull["html_url"],
        jira_keys=jira_keys_in(title, branch, body),
        kr_keys=kr_keys_in(body),
    )


def pull_request_state(payload: Mapping[str, Any]) -> PullRequestState:
    """The PR state carried by a `pull_request` event payload."""
    pull = payload.get("pull_request")
    if not isinstance(pull, Mapping):
        raise PayloadError("pull_request is not an object")
    return pull_state(pull, installation=installation_id(payload))


class CheckTarget(NamedTuple):
    """Where a check run goes: installation, repository, commit and the PRs open on it."""

    installation_id: int | None
    repo: str
    head_sha: str
    pull_numbers: tuple[int, ...]


def check_run_target(payload: Mapping[str, Any]) -> CheckTarget:
    """The target of a `check_suite` or `check_run` event.

    Only PRs whose base is this repository count: GitHub also lists PRs of other repositories
    (forks) that share the head commit, and their numbers mean nothing here. The list is empty
    for pushes that belong to no PR.
    """
    repository = payload["repository"]
    subject = payload.get("check_run") or payload["check_suite"]
    pulls = subject.get("pull_requests") or []
    numbers = _unique(
        int(pull["number"])
        for pull in pulls
        if (pull.get("base") or {}).get("repo", {}).get("id") in (None, repository.get("id"))
    )
    return CheckTarget(
        installation_id=installation_id(payload),
        repo=repository["full_name"],
        head_sha=subject["head_sha"],
        pull_numbers=numbers,
    )


def requested_action_identifier(payload: Mapping[str, Any]) -> str | None:
    """The `identifier` of the button pressed in a `check_run.requested_action` event."""
    return (payload.get("requested_action") or {}).get("identifier")


def deployment_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The deployment a `deployment` or `deployment_status` payload (or REST answer) names.

    Timestamps stay ISO 8601 strings: the inbox stores JSON.
    """
    deployment = payload["deployment"] if "deployment" in payload else payload
    repository = payload.get("repository") or {}
    return {
        "id": int(deployment["id"]),
        "repo": repository.get("full_name") or "",
        "sha": deployment.get("sha") or "",
        "ref": deployment.get("ref") or "",
        "environment": deployment.get("environment") or "",
        "created_at": parse_timestamp(deployment["created_at"]).isoformat(),
    }


def deployment_status_of(status: Mapping[str, Any]) -> dict[str, Any]:
    """One deployment status: its id, its state (`success`, `failure`, ...) and when."""
    return {
        "id": int(status["id"]),
        "state": str(status["state"]),
        "at": parse_timestamp(status["created_at"]).isoformat(),
    }

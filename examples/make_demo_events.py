"""Build `examples/demo-events.jsonl`, the demo's stream of Jira and GitHub webhook deliveries.

Every event is a real webhook payload from `tests/fixtures` with only its identity and
state changed (issue key, summary, type, status, parent, story points, times; PR title, body,
times), so the demo exercises the same parsers as production. Run from the repository root:
`python examples/make_demo_events.py`.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures"
OUT = HERE / "demo-events.jsonl"
SITE = "https://okrlink-demo.atlassian.net"
INSTALLATION_ID = 1301612
REPO = "platform/deployer"
START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)

STATUS = {
    "new": ("To Do", "10000", 2, "blue-gray", "To Do"),
    "indeterminate": ("In Progress", "3", 4, "yellow", "In Progress"),
    "done": ("Done", "10001", 3, "green", "Done"),
}

# (day offset, key, type, summary, status category, parent, story points)
JIRA_STORY: tuple[tuple[int, str, str, str, str, str | None, float | None], ...] = (
    (0, "PLAT-12", "Epic", "Regional failover", "indeterminate", None, None),
    (0, "PLAT-13", "Story", "Replicate session store across regions", "new", "PLAT-12", 5),
    (0, "PLAT-14", "Story", "Health-check driven DNS failover", "new", "PLAT-12", 3),
    (1, "PLAT-15", "Story", "Failover runbook and game day", "new", "PLAT-12", 2),
    (1, "PLAT-16", "Story", "Warm standby for the payments database", "new", "PLAT-12", 5),
    (2, "PLAT-40", "Task", "Measure failover time in staging", "new", None, 3),
    (
        9,
        "PLAT-13",
        "Story",
        "Replicate session store across regions",
        "indeterminate",
        "PLAT-12",
        5,
    ),
    (16, "PLAT-14", "Story", "Health-check driven DNS failover", "done", "PLAT-12", 3),
    (23, "PLAT-13", "Story", "Replicate session store across regions", "done", "PLAT-12", 5),
    (30, "PLAT-40", "Task", "Measure failover time in staging", "done", None, 3),
    (
        37,
        "PLAT-16",
        "Story",
        "Warm standby for the payments database",
        "indeterminate",
        "PLAT-12",
        5,
    ),
    (44, "PLAT-15", "Story", "Failover runbook and game day", "indeterminate", "PLAT-12", 2),
)

# (number, title, branch, opened day offset, hours to merge)
PULLS: tuple[tuple[int, str, str, int, float], ...] = (
    (117, "PLAT-13 Replicate sessions with CRDT counters", "PLAT-13-session-replication", 20, 34),
    (118, "PLAT-14 Fail over DNS on health checks", "PLAT-14-dns-failover", 27, 29),
    (121, "Cache deploy artifacts between stages", "cache-artifacts", 41, 22),
)


def _fixture(*parts: str) -> dict[str, Any]:
    return json.loads(FIXTURES.joinpath(*parts).read_text())


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _issue_id(key: str) -> str:
    return str(20000 + int(key.split("-")[1]))


def jira_event(
    day: int,
    key: str,
    kind: str,
    summary: str,
    category: str,
    parent: str | None,
    points: float | None,
    *,
    created: bool,
) -> dict[str, Any]:
    """A `jira:issue_created` / `jira:issue_updated` delivery for the issue in that state."""
    name = (
        "jira_issue_created__cloud_2024_skill-sync.json"
        if created
        else ("jira_issue_updated__description__cloud_2024_skill-sync.json")
    )
    payload = _fixture("jira", name)
    at = START + timedelta(days=day, minutes=int(key.split("-")[1]))
    issue = payload["issue"]
    issue["id"], issue["key"] = _issue_id(key), key
    issue["self"] = f"{SITE}/rest/api/2/{issue['id']}"
    fields = issue["fields"]
    fields["summary"], fields["updated"] = summary, _stamp(at)
    if created:
        fields["created"] = _stamp(at)
    fields["issuetype"]["name"] = kind
    fields["issuetype"]["subtask"] = False
    fields["project"]["key"], fields["project"]["name"] = "PLAT", "Platform"
    status_name, status_id, category_id, colour, category_name = STATUS[category]
    fields["status"].update(name=status_name, id=status_id)
    fields["status"]["statusCategory"].update(
        id=category_id, key=category, colorName=colour, name=category_name
    )
    fields["customfield_10016"] = points
    fields["parent"] = (
        None
        if parent is None
        else {
            "id": _issue_id(parent),
            "key": parent,
            "self": f"{SITE}/rest/api/2/issue/{_issue_id(parent)}",
            "fields": {"summary": "Regional failover"},
        }
    )
    payload["timestamp"] = int(at.timestamp() * 1000)
    if not created:
        payload["changelog"] = {
            "id": str(30000 + day * 100 + int(key.split("-")[1])),
            "items": [
                {
                    "field": "status",
                    "fieldtype": "jira",
                    "fieldId": "status",
                    "from": None,
                    "fromString": None,
                    "to": status_id,
                    "toString": status_name,
                }
            ],
        }
    return {"source": "jira", "delivery": f"demo-jira-{key}-{day}", "payload": payload}


def github_events() -> list[dict[str, Any]]:
    """The app installed on the organisation, then each PR opened and merged."""
    installed = _fixture("github", "installation.created.json")
    installed["installation"]["id"] = INSTALLATION_ID
    installed["installation"]["account"]["login"] = "platform"
    events: list[dict[str, Any]] = [
        {
            "source": "github",
            "event": "installation",
            "delivery": "demo-gh-installed",
            "payload": installed,
        },
    ]
    for number, title, branch, day, hours in PULLS:
        opened_at = START + timedelta(days=day, hours=2)
        merged_at = opened_at + timedelta(hours=hours)
        for action, name in (
            ("opened", "pull_request.opened.json"),
            ("closed", "pull_request.closed.merged.json"),
        ):
            payload = _fixture("github", name)
            payload["installation"]["id"] = INSTALLATION_ID
            payload["repository"]["full_name"] = REPO
            payload["repository"]["name"] = REPO.split("/")[1]
            for side in ("base", "head"):
                if isinstance(payload["pull_request"][side].get("repo"), dict):
                    payload["pull_request"][side]["repo"]["full_name"] = REPO
                    payload["pull_request"][side]["repo"]["name"] = REPO.split("/")[1]
            payload["number"] = number
            pull = payload["pull_request"]
            pull["number"], pull["title"] = number, title
            pull["body"] = "Part of the reliability work.\n\nKR: PLAT-1.5\n"
            pull["head"]["ref"] = branch
            pull["html_url"] = f"https://github.com/{REPO}/pull/{number}"
            pull["created_at"] = opened_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            when = merged_at if action == "closed" else opened_at
            pull["updated_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            if action == "closed":
                pull["merged_at"] = pull["closed_at"] = pull["updated_at"]
            events.append(
                {
                    "source": "github",
                    "event": "pull_request",
                    "payload": payload,
                    "delivery": f"demo-gh-{number}-{action}",
                }
            )
    return events


def build() -> list[dict[str, Any]]:
    """Every delivery of the demo, Jira first (by time), then GitHub."""
    seen: set[str] = set()
    events = []
    for day, key, kind, summary, category, parent, points in JIRA_STORY:
        events.append(
            jira_event(day, key, kind, summary, category, parent, points, created=key not in seen)
        )
        seen.add(key)
    return events + github_events()


def main() -> None:
    lines = [json.dumps(copy.deepcopy(event), separators=(",", ":")) for event in build()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} events to {OUT}")


if __name__ == "__main__":
    main()

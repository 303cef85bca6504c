"""The `IssuePicker` port on Jira Cloud: the issue picker's suggestions for an `issues` KR,
asked as the app through the site's Jira installation (the tracker's client, as the people
search is, so one signer and one retry policy serve both).

- `GET /rest/api/3/issue/picker?query=..&currentJQL=project=KEY&showSubTasks=true`: Jira's
  sections (history search, current search), each with its issues' `key` and `summaryText`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrations.atlassian.client import _call
from integrations.atlassian.tracker import JiraTracker
from integrations.errors import OutsideError, Transient

PICKER_PATH = "rest/api/3/issue/picker"


def _suggestions(answer: Any, limit: int) -> list[Mapping[str, str]]:
    """Each issue once (a key can sit in both the history and the current search), in
    Jira's order, at most `limit`."""
    sections = answer.get("sections") if isinstance(answer, Mapping) else None
    if not isinstance(sections, list):
        raise Transient("find issues: unexpected answer")
    found: dict[str, str] = {}
    for section in sections:
        issues = section.get("issues") if isinstance(section, Mapping) else None
        for issue in issues if isinstance(issues, list) else ():
            key = issue.get("key") if isinstance(issue, Mapping) else None
            if isinstance(key, str) and key not in found:
                summary = issue.get("summaryText") or issue.get("summary") or ""
                found[key] = summary if isinstance(summary, str) else ""
    picked: list[Mapping[str, str]] = [
        {"key": key, "summary": summary} for key, summary in found.items()
    ]
    return picked[:limit]


class JiraIssuePicker:
    """Finds issues in each site's Jira, with the tracker's per-site clients."""

    def __init__(self, tracker: JiraTracker) -> None:
        self.tracker = tracker

    def find_issues(
        self, site_id: int, *, project: str, query: str, limit: int
    ) -> Sequence[Mapping[str, str]]:
        """Up to `limit` issues of `project` matching `query` (a key or words of a summary)."""
        params: dict[str, str] = {
            "query": query,
            "currentJQL": f'project = "{project}"',
            "showSubTasks": "true",
        }
        try:
            answer = _call(
                "find issues", self.tracker.client(site_id).get, PICKER_PATH, params=params
            )
        except OutsideError as exc:
            self.tracker.forget_on_auth_error(site_id, exc)
            raise
        return _suggestions(answer, limit)

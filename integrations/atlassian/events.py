"""Jira webhook payload (or REST issue) -> `IssueEvent`, the domain event the core applies.

Read by meaning, never by display text: the status *category* key, changelog items by
`fieldId` (the `field` name is localised). Old payloads whose items lack `fieldId` (the key
change item `Key`, the legacy `Epic Link` custom field) are the only ones read by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from sync.apply.jira import IssueEvent

ISSUE_EVENTS: Final = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})
DELETED: Final = "jira:issue_deleted"
STORY_POINT_FIELDS: Final = ("customfield_10016", "customfield_10026", "story_points")
EPIC_LINK_FIELDS: Final = ("customfield_10014",)
LEGACY_EPIC_LINK: Final = "epic link"
LOGGER_ARTEFACTS: Final = ("level", "message", "label")


class JiraPayloadError(ValueError):
    """Raised when a webhook body is not a Jira issue event we can read (answered 400)."""


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Which custom fields carry story points and the legacy epic link on a site."""

    story_points: Sequence[str] = STORY_POINT_FIELDS
    epic_link: Sequence[str] = EPIC_LINK_FIELDS


@dataclass(frozen=True, slots=True)
class Envelope:
    """The parts of a webhook that decide what to do before applying it."""

    webhook_event: str
    actor: str | None
    timestamp_ms: int | None
    changed_fields: tuple[str, ...]


def clean(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload without logger artefacts (`level`, `message`, `label`, a string timestamp)."""
    data = {k: v for k, v in payload.items() if k not in LOGGER_ARTEFACTS}
    if isinstance(data.get("timestamp"), str):
        del data["timestamp"]
    return data


def envelope(payload: Mapping[str, Any]) -> Envelope:
    """Event name, actor account id, timestamp and the ids of the changed fields."""
    user = payload.get("user")
    actor = user.get("accountId") if isinstance(user, Mapping) else None
    timestamp = payload.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        timestamp = None
    return Envelope(
        webhook_event=str(payload.get("webhookEvent") or ""),
        actor=actor if isinstance(actor, str) else None,
        timestamp_ms=timestamp,
        changed_fields=tuple(_item_id(item) for item in _changelog_items(payload)),
    )


def _changelog_items(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    changelog = payload.get("changelog")
    items = changelog.get("items") if isinstance(changelog, Mapping) else None
    return [item for item in items or () if isinstance(item, Mapping)]


def _item_id(item: Mapping[str, Any]) -> str:
    """A changelog item's field id; items from before `fieldId` existed fall back to the name."""
    field_id = item.get("fieldId")
    if isinstance(field_id, str) and field_id:
        return field_id
    return str(item.get("field") or "").strip().lower()


def parse_webhook(payload: Mapping[str, Any], *, fields: FieldMap = FieldMap()) -> IssueEvent:
    """The domain event of a `jira:issue_*` webhook; raises JiraPayloadError otherwise."""
    payload = clean(payload)
    head = envelope(payload)
    if head.webhook_event not in ISSUE_EVENTS:
        raise JiraPayloadError(f"not an issue event: {head.webhook_event or 'none'}")
    issue = payload.get("issue")
    if not isinstance(issue, Mapping):
        raise JiraPayloadError("the payload has no issue")
    old_key: str | None = None
    epic_link: str | None = None
    for item in _changelog_items(payload):
        field_id = _item_id(item)
        if field_id == "key":
            old_key = _text(item.get("fromString"))
        elif field_id == LEGACY_EPIC_LINK or field_id in fields.epic_link:
            epic_link = _text(item.get("toString"))
    event = event_from_issue(issue, fields=fields, actor=head.actor)
    if epic_link and event.parent_key is None:
        event = replace(event, parent_key=epic_link)
    if old_key and old_key != event.key:
        event = replace(event, old_key=old_key)
    if head.webhook_event == DELETED:
        deleted_at = event.updated_at
        if head.timestamp_ms is not None:
            deleted_at = max(deleted_at, datetime.fromtimestamp(head.timestamp_ms / 1000, UTC))
        event = replace(event, deleted=True, updated_at=deleted_at)
    return event


def event_from_issue(
    issue: Mapping[str, Any], *, fields: FieldMap = FieldMap(), actor: str | None = None
) -> IssueEvent:
    """The state an issue (webhook `issue` or REST `/issue` / search result) describes."""
    key = _text(issue.get("key"))
    if not key:
        raise JiraPayloadError("the issue has no key")
    values = issue.get("fields")
    if not isinstance(values, Mapping):
        raise JiraPayloadError("the issue has no fields")
    updated = _time(values.get("updated"))
    if updated is None:
        raise JiraPayloadError("the issue has no updated time")
    labels = values.get("labels")
    return IssueEvent(
        key=key,
        updated_at=updated,
        issue_id=_text(issue.get("id")),
        issue_type=_text(_get(values, "issuetype", "name")) or "",
        status_category=_text(_get(values, "status", "statusCategory", "key")) or "new",
        parent_key=_parent(values, fields.epic_link),
        story_points=_points(values, fields.story_points),
        summary=_text(values.get("summary")) or "",
        labels=tuple(str(v) for v in labels) if isinstance(labels, list) else None,
        actor=actor,
    )


def _parent(values: Mapping[str, Any], epic_link: Iterable[str]) -> str | None:
    parent = _text(_get(values, "parent", "key"))
    if parent:
        return parent
    for name in epic_link:
        linked = values.get(name)
        if isinstance(linked, str) and linked.strip():
            return linked.strip()
    return None


def _points(values: Mapping[str, Any], names: Iterable[str]) -> float | None:
    for name in names:
        value = values.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _get(values: Mapping[str, Any], *path: str) -> Any:
    current: Any = values
    for name in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(name)
    return current


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


BASE_FIELDS: Final = ("summary", "status", "issuetype", "parent", "labels", "updated")


def issue_fields(fields: FieldMap) -> list[str]:
    """The issue fields a fetch must ask for to build an event."""
    return [*BASE_FIELDS, *fields.story_points, *fields.epic_link]

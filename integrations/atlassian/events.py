"""Jira webhook payload (or REST issue) -> `IssueEvent`, the domain event the core applies.

Read by meaning, never by display text: the status *category* key, changelog items by
`fieldId` (the `field` name is localised). Old payloads whose items lack `fieldId` (the key
change item `Key`, the legacy `Epic Link` custom field) are the only ones read by name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from integrations.payloads import storable
from sync.apply.jira import IssueEvent
from sync.errors import MalformedBody

ISSUE_EVENTS: Final = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted"})
DELETED: Final = "jira:issue_deleted"
STORY_POINT_FIELDS: Final = ("customfield_10016", "customfield_10026", "story_points")
EPIC_LINK_FIELDS: Final = ("customfield_10014",)
LEGACY_EPIC_LINK: Final = "epic link"
LOGGER_ARTEFACTS: Final = ("level", "message", "label")
# Jira's shapes: an issue id is a decimal number (a `long`), a key is PROJECT-NUMBER.
ISSUE_ID: Final = re.compile(r"[0-9]{1,18}")
ISSUE_KEY: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,49}-[0-9]{1,12}")
SHORT_TEXT: Final = 64  # issue type names are stored in 64 characters
# Dates a stored event may carry: Jira did not exist before 2002; past 9998 a zone offset
# overflows Python's datetime.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(9998, 12, 31, tzinfo=UTC)


class JiraPayloadError(MalformedBody):
    """Raised when a webhook body is not a Jira issue event we can read (400 `malformed_event`)."""

    default_code = "malformed_event"


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
            old_key = _key_or_none(item.get("fromString"))
        elif field_id == LEGACY_EPIC_LINK or field_id in fields.epic_link:
            epic_link = _key_or_none(item.get("toString"))
    event = event_from_issue(issue, fields=fields, actor=head.actor)
    if epic_link and event.parent_key is None:
        event = replace(event, parent_key=epic_link)
    if old_key and old_key != event.key:
        event = replace(event, old_key=old_key)
    if head.webhook_event == DELETED:
        deleted_at = event.updated_at
        if head.timestamp_ms is not None:
            deleted_at = max(deleted_at, _from_timestamp(head.timestamp_ms))
        event = replace(event, deleted=True, updated_at=deleted_at)
    return event


def _from_timestamp(milliseconds: int) -> datetime:
    """The webhook's `timestamp` (ms since the epoch), refused when no calendar holds it."""
    try:
        moment = datetime.fromtimestamp(milliseconds / 1000, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise JiraPayloadError(f"timestamp {milliseconds} is out of range") from exc
    if not EARLIEST <= moment <= LATEST:
        raise JiraPayloadError(f"timestamp {milliseconds} is out of range")
    return moment


def event_from_issue(
    issue: Mapping[str, Any], *, fields: FieldMap = FieldMap(), actor: str | None = None
) -> IssueEvent:
    """The state an issue (webhook `issue` or REST `/issue` / search result) describes."""
    key = _key(issue.get("key"), "the issue key")
    if not key:
        raise JiraPayloadError("the issue has no key")
    values = issue.get("fields")
    if not isinstance(values, Mapping):
        raise JiraPayloadError("the issue has no fields")
    updated = _time(values.get("updated"))
    if updated is None:
        raise JiraPayloadError("the issue has no updated time")
    labels = values.get("labels")
    issue_id = _text(issue.get("id"))
    if issue_id is not None and not ISSUE_ID.fullmatch(issue_id):
        raise JiraPayloadError(f"issue id {issue_id[:40]!r} is not a Jira issue id")
    return IssueEvent(
        key=key,
        updated_at=updated,
        issue_id=issue_id,
        issue_type=(_text(_get(values, "issuetype", "name")) or "")[:SHORT_TEXT],
        status_category=_text(_get(values, "status", "statusCategory", "key")) or "new",
        parent_key=_parent(values, fields.epic_link),
        story_points=_points(values, fields.story_points),
        summary=_text(values.get("summary")) or "",
        labels=tuple(storable(str(v)) for v in labels) if isinstance(labels, list) else None,
        actor=_text(actor),
        created_at=_time(values.get("created")),
        resolved_at=_time(values.get("resolutiondate")),
        project=_names(values.get("project"), "key", "name", "id"),
        priority=_names(values.get("priority"), "name", "id"),
        status=_names(values.get("status"), "name", "id"),
    )


def _names(value: Any, *parts: str) -> tuple[str, ...]:
    """The names a field's value answers to in JQL (a project's key, name and id)."""
    if not isinstance(value, Mapping):
        return ()
    return tuple(text[:SHORT_TEXT] for part in parts if (text := _text(value.get(part))))


def _key(value: Any, name: str) -> str | None:
    """An issue key, refused when it has not Jira's shape (it names rows and JQL)."""
    key = _text(value)
    if key is not None and not ISSUE_KEY.fullmatch(key):
        raise JiraPayloadError(f"{name} {key[:80]!r} is not a Jira issue key")
    return key


def _key_or_none(value: Any) -> str | None:
    """A key from a changelog item, where anything else (a display name) is left out."""
    key = _text(value)
    return key if key is not None and ISSUE_KEY.fullmatch(key) else None


def _parent(values: Mapping[str, Any], epic_link: Iterable[str]) -> str | None:
    parent = _key(_get(values, "parent", "key"), "the parent key")
    if parent:
        return parent
    for name in epic_link:
        linked = values.get(name)
        if isinstance(linked, str) and linked.strip():
            return _key(linked, "the epic link")
    return None


def _points(values: Mapping[str, Any], names: Iterable[str]) -> float | None:
    for name in names:
        value = values.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):  # `NaN` or `Infinity` (Python's json reads them)
                raise JiraPayloadError(f"{name} is not a finite number")
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
    """A stripped, storable string (NUL and lone surrogates replaced), None when empty."""
    if value is None:
        return None
    text = storable(str(value).strip())
    return text or None


def _time(value: Any) -> datetime | None:
    """An ISO time as UTC; None when absent or unreadable; refused when no calendar holds it."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    try:
        moment = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise JiraPayloadError(f"time {value[:40]!r} is out of range") from exc
    if not EARLIEST <= moment <= LATEST:
        raise JiraPayloadError(f"time {value[:40]!r} is out of range")
    return moment


BASE_FIELDS: Final = ("summary", "status", "issuetype", "parent", "labels", "updated")


def issue_fields(fields: FieldMap) -> list[str]:
    """The issue fields a fetch must ask for to build an event."""
    return [*BASE_FIELDS, *fields.story_points, *fields.epic_link]

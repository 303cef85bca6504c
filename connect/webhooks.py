"""`POST /webhooks/jira`: verify, record, acknowledge; applying is a queued job.

The event is normalised to the few fields the core keeps and stored in the inbox with one
INSERT .. ON CONFLICT DO NOTHING RETURNING id, unique on (jira, clientKey, delivery id); the
job is enqueued only after that commit, so an acknowledged event is never lost and a
redelivery changes nothing.

Echoes are dropped before anything is recorded: an event made by our own app account (our
only writes are issue properties) or one whose changelog names nothing but our properties.
Recording them would only add rows that apply to nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Collection
from typing import Any, Final

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from connect.context import services
from connect.descriptors import ISSUE_PROPERTY_KEY, glance_status_property_key
from connect.errors import BadRequest
from connect.security import connect_jwt_required
from integrations.jira_events import FieldMap, JiraPayloadError, envelope, parse_webhook
from sync.inbox import record_event
from sync.jira_apply import EVENT_NAME
from sync.model import InboxEvent, Installation, utcnow

DELIVERY_HEADER: Final = "X-Atlassian-Webhook-Identifier"
APP_ACCOUNT_TTL_SECONDS: Final = 60.0

blueprint = Blueprint("jira_webhooks", __name__)


class AppAccounts:
    """The app's own Jira account per installation (to drop our echoes), cached briefly."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def get(self, client_key: str) -> str | None:
        cached = self._cache.get(client_key)
        if cached is not None and time.monotonic() - cached[1] < APP_ACCOUNT_TTL_SECONDS:
            return cached[0]
        with services().store.session() as session:
            account = session.scalar(
                select(Installation.app_account_id).where(Installation.client_key == client_key)
            )
        with self._lock:
            self._cache[client_key] = (account, time.monotonic())
        return account

    def forget(self, client_key: str) -> None:
        """Drop the cached account (call when an installation's app account is learnt)."""
        with self._lock:
            self._cache.pop(client_key, None)


def delivery_id(raw: bytes, header: str | None, timestamp_ms: int | None) -> str:
    """Jira's delivery id; without one, a hash of the body and its timestamp.

    The body of a redelivery is byte-identical, so the hash dedupes retries as well; two
    distinct events for one issue differ at least in their timestamp or changelog id.
    """
    if header:
        return header[:255]
    digest = hashlib.sha256(raw + b"|" + str(timestamp_ms).encode()).hexdigest()
    return f"sha256:{digest}"


def is_echo(
    *,
    actor: str | None,
    app_account: str | None,
    changed: Collection[str],
    own_properties: Collection[str],
) -> bool:
    """True for events we caused: made by our app account, or touching only our properties."""
    if app_account and actor == app_account:
        return True
    return bool(changed) and all(field in own_properties for field in changed)


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING id, built once (values are bound per call)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(InboxEvent)
        .on_conflict_do_nothing(index_elements=["source", "scope", "delivery_id"])
        .returning(InboxEvent.id)
    )


def _insert_event(row: dict[str, Any]) -> int | None:
    """One INSERT; the new row's id, or None when this delivery is already recorded."""
    engine = services().store.engine
    with engine.begin() as connection:
        return connection.execute(_insert_statement(engine.dialect.name), row).scalar()


def _retry_failed(row: dict[str, Any]) -> int | None:
    """A redelivery of a delivery that failed for good is handed back for another try."""
    with services().store.session() as session:
        return record_event(
            session,
            source=row["source"],
            scope=row["scope"],
            delivery_id=row["delivery_id"],
            site_id=row["site_id"],
            event=row["event"],
            payload=row["payload"],
        )


@blueprint.post("/webhooks/jira")
@connect_jwt_required()
def jira_webhook() -> tuple[Response, int]:
    """Record a verified Jira issue event and queue it; 200 for duplicates and echoes."""
    raw = request.get_data(cache=False)
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the body is not JSON", code="malformed_body") from exc
    if not isinstance(payload, dict):
        raise BadRequest("the body is not a JSON object", code="malformed_body")
    extras = services().extras
    head = envelope(payload)
    app_account = extras["jira_app_accounts"].get(g.tenant.client_key)
    if is_echo(
        actor=head.actor,
        app_account=app_account,
        changed=head.changed_fields,
        own_properties=extras["jira_own_properties"],
    ):
        return jsonify({"status": "ignored", "reason": "echo"}), 200
    try:
        event = parse_webhook(payload, fields=extras.get("jira_field_map", FieldMap()))
    except JiraPayloadError as exc:
        raise BadRequest(str(exc), code="malformed_event") from exc
    row = {
        "source": "jira",
        "scope": g.tenant.client_key,
        "delivery_id": delivery_id(raw, request.headers.get(DELIVERY_HEADER), head.timestamp_ms),
        "site_id": g.tenant.site_id,
        "event": EVENT_NAME,
        "payload": event.as_dict(),
        "state": "pending",
        "attempts": 0,
        "received_at": utcnow(),
    }
    row_id = _insert_event(row)
    if row_id is None:
        row_id = _retry_failed(row)
        if row_id is None:
            return jsonify({"status": "duplicate"}), 200
    extras["jobs"].nudge(g.tenant.site_id)
    return jsonify({"status": "accepted", "id": row_id}), 200


def own_property_keys(app_key: str) -> frozenset[str]:
    """The changelog field ids our own writes could show up as."""
    return frozenset({ISSUE_PROPERTY_KEY, glance_status_property_key(app_key)})

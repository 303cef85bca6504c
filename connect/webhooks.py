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
from typing import TYPE_CHECKING, Any, Final

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from connect.context import Services, services
from connect.descriptors import ISSUE_PROPERTY_KEY, glance_status_property_key
from connect.errors import BadRequest, OkrlinkError
from connect.hotpaths import (
    MAX_BODY_BYTES,
    Answer,
    HotPath,
    json_answer,
    query_string,
    request_body,
)
from connect.security import connect_jwt_required, verify_connect_call
from connect.tenants import Tenant
from integrations.jira_events import FieldMap, JiraPayloadError, envelope, parse_webhook
from sync.inbox import record_event
from sync.jira_apply import EVENT_NAME
from sync.model import InboxEvent, Installation, utcnow
from sync.raw import RawStatement
from sync.store import Store

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

WEBHOOK_PATH: Final = "/webhooks/jira"
DELIVERY_HEADER: Final = "X-Atlassian-Webhook-Identifier"
DELIVERY_ENVIRON: Final = "HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER"
APP_ACCOUNT_TTL_SECONDS: Final = 60.0

blueprint = Blueprint("jira_webhooks", __name__)


class AppAccounts:
    """The app's own Jira account per installation (to drop our echoes), cached briefly."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def get(self, client_key: str) -> str | None:
        cached = self._cache.get(client_key)
        if cached is not None and time.monotonic() - cached[1] < APP_ACCOUNT_TTL_SECONDS:
            return cached[0]
        with self.store.session() as session:
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


@functools.cache
def _autocommit(engine: Engine) -> Engine:
    """The engine's pool, without a transaction around each statement."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@functools.cache
def _raw_insert(engine: Engine, names: tuple[str, ...]) -> RawStatement:
    return RawStatement(engine, _insert_statement(engine.dialect.name), names)


def _insert_event(store: Store, row: dict[str, Any]) -> int | None:
    """One INSERT in its own transaction; the new row's id, or None when this delivery is
    already recorded. On a server database it runs in autocommit: one round trip, not three
    (BEGIN, INSERT, COMMIT). On SQLite, which has no round trips to save, it runs on the
    DB-API cursor (`sync/raw.py`), in its writer's turn."""
    statement = _insert_statement(store.engine.dialect.name)
    if store.engine.dialect.name == "sqlite":
        with store.write_turn():
            return _raw_insert(store.engine, tuple(row)).first_value(row)
    with _autocommit(store.engine).connect() as connection:
        return connection.execute(statement, row).scalar()


def _retry_failed(store: Store, row: dict[str, Any]) -> int | None:
    """A redelivery of a delivery that failed for good is handed back for another try."""
    with store.session() as session:
        return record_event(
            session,
            source=row["source"],
            scope=row["scope"],
            delivery_id=row["delivery_id"],
            site_id=row["site_id"],
            event=row["event"],
            payload=row["payload"],
        )


def record_jira_delivery(
    services: Services, tenant: Tenant, *, raw: bytes, delivery_header: str | None
) -> dict[str, Any]:
    """Record a verified delivery and queue it; the JSON answer (200). BadRequest if malformed.

    Echoes and duplicates change nothing and are answered as such.
    """
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the body is not JSON", code="malformed_body") from exc
    if not isinstance(payload, dict):
        raise BadRequest("the body is not a JSON object", code="malformed_body")
    extras = services.extras
    head = envelope(payload)
    app_account = extras["jira_app_accounts"].get(tenant.client_key)
    if is_echo(
        actor=head.actor,
        app_account=app_account,
        changed=head.changed_fields,
        own_properties=extras["jira_own_properties"],
    ):
        return {"status": "ignored", "reason": "echo"}
    try:
        event = parse_webhook(payload, fields=extras.get("jira_field_map", FieldMap()))
    except JiraPayloadError as exc:
        raise BadRequest(str(exc), code="malformed_event") from exc
    row = {
        "source": "jira",
        "scope": tenant.client_key,
        "delivery_id": delivery_id(raw, delivery_header, head.timestamp_ms),
        "site_id": tenant.site_id,
        "event": EVENT_NAME,
        "payload": event.as_dict(),
        "state": "pending",
        "attempts": 0,
        "received_at": utcnow(),
    }
    row_id = _insert_event(services.store, row)
    if row_id is None:
        row_id = _retry_failed(services.store, row)
        if row_id is None:
            # Recorded before, perhaps by a hot path that failed after its INSERT: nudge again
            # (debounced, so cheap) rather than leave a pending event to the sweeper.
            extras["jobs"].nudge(tenant.site_id)
            return {"status": "duplicate"}
    extras["jobs"].nudge(tenant.site_id)
    return {"status": "accepted", "id": row_id}


@blueprint.post(WEBHOOK_PATH)
@connect_jwt_required()
def jira_webhook() -> tuple[Response, int]:
    """Record a verified Jira issue event and queue it; 200 for duplicates and echoes.

    Ordinary deliveries are answered by `jira_webhook_hot_path` before Flask runs; this view
    answers the rest (errors above all) the same way.
    """
    answer = record_jira_delivery(services(), g.tenant, raw=request.get_data(cache=False),
                                  delivery_header=request.headers.get(DELIVERY_HEADER))  # fmt: skip
    return jsonify(answer), 200


def jira_webhook_hot_path(services: Services) -> HotPath:
    """`POST /webhooks/jira` before Flask: verified, recorded and answered, or left to Flask."""

    def hot_path(environ: WSGIEnvironment) -> Answer | None:
        raw = request_body(environ, limit=MAX_BODY_BYTES)
        if raw is None:
            return None
        try:
            tenant, _claims = verify_connect_call(
                services.extras["tenants"],
                method="POST",
                path=WEBHOOK_PATH,
                query=query_string(environ),
                authorization=environ.get("HTTP_AUTHORIZATION"),
                base_url=services.settings.base_url,
                allow_context_qsh=False,
            )
            delivery = environ.get(DELIVERY_ENVIRON)
            answer = record_jira_delivery(services, tenant, raw=raw, delivery_header=delivery)
        except (OkrlinkError, UnicodeError):
            return None
        return json_answer(answer)

    return hot_path


def own_property_keys(app_key: str) -> frozenset[str]:
    """The changelog field ids our own writes could show up as."""
    return frozenset({ISSUE_PROPERTY_KEY, glance_status_property_key(app_key)})

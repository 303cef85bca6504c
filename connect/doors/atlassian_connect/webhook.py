"""`POST /webhooks/jira`: verify, record, acknowledge; applying is a queued job.

The event is normalised to the few fields the core keeps and stored in the inbox with one
INSERT .. ON CONFLICT DO NOTHING RETURNING id (`sync.engine.inbox.insert_event`), unique on (jira,
clientKey, delivery id); the
job is enqueued only after that commit, so an acknowledged event is never lost and a
redelivery changes nothing.

Echoes are dropped before anything is recorded: an event made by our own app account (our
only writes are issue properties) or one whose changelog names nothing but our properties.
Recording them would only add rows that apply to nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Final

from flask import Blueprint, Response, g, jsonify, request

from connect.doors import intake
from connect.doors.atlassian_connect.verify import connect_jwt_required
from connect.ops.metrics import count_answer
from connect.services import Services, services
from integrations.atlassian.events import envelope, parse_webhook
from integrations.atlassian.properties import ISSUE_PROPERTY_KEY, glance_status_property_key
from sync.apply.jira import EVENT_NAME
from sync.db.model import utcnow
from sync.engine import log_context
from sync.engine.inbox import insert_event, retry_failed
from sync.tenants import Tenant

if TYPE_CHECKING:
    pass

WEBHOOK_PATH: Final = "/webhooks/jira"
DELIVERY_HEADER: Final = "X-Atlassian-Webhook-Identifier"
DELIVERY_ENVIRON: Final = "HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER"

blueprint = Blueprint("jira_webhooks", __name__)


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


def record_jira_delivery(
    services: Services, tenant: Tenant, *, raw: bytes, delivery_header: str | None
) -> dict[str, Any]:
    """Record a verified delivery and queue it; the JSON answer (200). BadRequest if malformed.

    Echoes and duplicates change nothing and are answered as such. The answer is counted here
    (`okrlink_webhooks_total`), whether the hot path or the Flask view gives it; a refused
    delivery is counted by the view's error answer.
    """
    with log_context.bound(site=tenant.site_id, delivery_id=delivery_header):
        answer = _record(services, tenant, raw=raw, delivery_header=delivery_header)
    count_answer("jira", answer["status"])
    return answer


def _record(
    services: Services, tenant: Tenant, *, raw: bytes, delivery_header: str | None
) -> dict[str, Any]:
    payload = intake.parse(raw)
    head = envelope(payload)
    app_account = services.jira_app_accounts.get(tenant.client_key)
    if is_echo(
        actor=head.actor,
        app_account=app_account,
        changed=head.changed_fields,
        own_properties=services.jira_own_properties,
    ):
        return {"status": "ignored", "reason": "echo"}
    event = parse_webhook(payload, fields=services.jira_field_map)  # JiraPayloadError: 400
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
    row_id = insert_event(services.store, row)
    if row_id is None:
        row_id = retry_failed(services.store, row)
        if row_id is None:
            # Recorded before, perhaps by a hot path that failed after its INSERT: nudge again
            # (debounced, so cheap) rather than leave a pending event to the sweeper.
            services.jobs.nudge(tenant.site_id)
            return {"status": "duplicate"}
    # Not `intake.nudge`: a failed nudge here must raise, so the hot path hands the delivery
    # to Flask, whose answer nudges again (the intake's guard would leave it to the sweeper).
    services.jobs.nudge(tenant.site_id)
    return {"status": "accepted", "id": row_id}


@blueprint.post(WEBHOOK_PATH)
@connect_jwt_required()
def jira_webhook() -> tuple[Response, int]:
    """Record a verified Jira issue event and queue it; 200 for duplicates and echoes.

    Ordinary deliveries are answered by `jira_webhook_hot_path` before Flask runs; this view
    answers the rest (errors above all) the same way.
    """
    answer = record_jira_delivery(
        services(),
        g.tenant,
        raw=request.get_data(cache=False),
        delivery_header=request.headers.get(DELIVERY_HEADER),
    )
    return jsonify(answer), 200


def own_property_keys(app_key: str) -> frozenset[str]:
    """The changelog field ids our own writes could show up as."""
    return frozenset({ISSUE_PROPERTY_KEY, glance_status_property_key(app_key)})

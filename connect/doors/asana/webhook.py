"""`POST /webhooks/asana/<subscription id>`: the handshake, then signed deliveries.

The subscription id is the one `okrlink asana watch` opened just before asking Asana for the
webhook, so a handshake (`X-Hook-Secret`) lands only on a subscription that has no secret yet;
the secret is stored encrypted and echoed back. Every later delivery must carry
`X-Hook-Signature`, the HMAC-SHA256 of its raw body under that secret, compared in constant
time before anything is parsed; an unknown subscription or a missing or wrong signature is 401
and records nothing. A delivery is stored once (its body's hash is its delivery id: Asana sends
no id, and a replayed body is byte-identical) and applied by the same inbox drain as Jira's.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Final

from flask import Blueprint, Response, jsonify, request

from connect.doors import intake
from connect.errors import AuthError, BadRequest
from connect.ops.metrics import count_answer
from connect.services import services
from integrations.asana.signature import SECRET_HEADER, SIGNATURE_HEADER, verify_signature
from sync.apply.asana import EVENT_NAME
from sync.asana_accounts import subscription

log = logging.getLogger(__name__)

SOURCE: Final = "asana"
MAX_SECRET_LENGTH: Final = 512

blueprint = Blueprint("asana_webhooks", __name__)


def _answer(status: int, outcome: str, **extra: Any) -> tuple[Response, int]:
    count_answer("asana", outcome)
    return jsonify({"status": outcome, **extra}), status


@blueprint.post("/webhooks/asana/<subscription_id>")
def receive(subscription_id: str) -> tuple[Response, int]:
    """Handshake or delivery; the work happens in the inbox drain."""
    hook_secret = request.headers.get(SECRET_HEADER)
    if hook_secret is not None:
        return _handshake(subscription_id, hook_secret)
    body = request.get_data(cache=True)
    tenants = services().tenants
    store = services().store
    with store.session() as session:
        row = subscription(session, subscription_id)
        secret = tenants.decrypt(row.secret) if row is not None else None
        site_id = row.site_id if row is not None else None
        project = row.project_gid if row is not None else None
    if row is None or not verify_signature(
        secret=secret, body=body, header=request.headers.get(SIGNATURE_HEADER)
    ):
        raise AuthError(
            "unknown subscription, or missing or invalid X-Hook-Signature", code="invalid_signature"
        )
    payload = intake.parse(body)  # the NUL/NaN guards of every door
    events = payload.get("events")
    if not isinstance(events, list):
        raise BadRequest("the body has no events list", code="invalid_payload", field="events")
    if not events:
        return _answer(200, "heartbeat")  # Asana's keep-alive: nothing to record
    delivery = "sha256:" + hashlib.sha256(body).hexdigest()
    event_id = intake.accept(
        store,
        services().jobs,
        intake.Delivery(
            source=SOURCE,
            scope=subscription_id,
            delivery_id=delivery,
            site_id=site_id,
            event=EVENT_NAME,
            payload={"project": project, "events": events},
        ),
    )
    if event_id is None:
        return _answer(200, "duplicate")
    return _answer(202, "accepted", id=event_id)


def _handshake(subscription_id: str, hook_secret: str) -> tuple[Response, int]:
    """Store the secret of a subscription just opened, and echo it to confirm the webhook."""
    secret = hook_secret.strip()
    if not secret or len(secret) > MAX_SECRET_LENGTH or not secret.isascii():
        raise BadRequest(f"{SECRET_HEADER} is empty or malformed", field=SECRET_HEADER)
    tenants = services().tenants
    with services().store.session() as session:
        row = subscription(session, subscription_id)
        if row is None or row.secret is not None:
            # Unknown, or confirmed already: a second handshake must not replace the secret.
            raise AuthError("no subscription awaits a handshake here", code="invalid_handshake")
        row.secret = tenants.encrypt(secret)
    response, status = _answer(200, "confirmed")
    response.headers[SECRET_HEADER] = secret
    return response, status

"""`POST /webhooks/github`: verify the signature, record the delivery once, hand it to a job.

The signature is checked over the raw body before anything is parsed; a missing or wrong one
is answered 401 and nothing is stored. The answer comes right after the inbox commit (well
inside GitHub's 10 s); applying the event is the queued job's work.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session

from connect.doors import intake
from connect.errors import AuthError, BadRequest
from connect.ops.metrics import count_answer
from connect.services import services
from integrations.github.checks import REFRESH_IDENTIFIER
from integrations.github.events import HANDLED, is_handled, requested_action_identifier
from integrations.github.records import inbox_record
from integrations.github.signature import SIGNATURE_HEADER, verify_signature
from sync.db.model import GitHubInstallation

log = logging.getLogger(__name__)

blueprint = Blueprint("github_webhooks", __name__)

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
SOURCE = "github"
SCOPE = "github"
_EVENTS = frozenset(event for event, _action in HANDLED)


def _answer(status: int, outcome: str, **extra: Any) -> tuple[Response, int]:
    count_answer(SOURCE, outcome)
    return jsonify({"status": outcome, **extra}), status


def _mapped_site(session: Session, installation_id: int) -> int | None:
    row = session.get(GitHubInstallation, installation_id)
    return row.site_id if row is not None and not row.deleted else None


@blueprint.post("/webhooks/github")
def receive() -> tuple[Response, int]:
    """Verify, then route, then record; the work happens in `jobs.apply_inbox`."""
    body = request.get_data(cache=True)
    secret = services().settings.github_webhook_secret
    if not verify_signature(secret=secret, body=body, header=request.headers.get(SIGNATURE_HEADER)):
        if not secret:
            log.warning("GitHub delivery refused: OKRLINK_GITHUB_WEBHOOK_SECRET is not set")
        raise AuthError("missing or invalid X-Hub-Signature-256", code="invalid_signature")
    event = request.headers.get(EVENT_HEADER, "")
    if event == "ping":
        return _answer(200, "pong")
    if event not in _EVENTS:
        return _answer(202, "ignored")
    payload = intake.parse(body)
    action = payload.get("action")
    if not is_handled(event, action):
        return _answer(202, "ignored")
    if action == "requested_action" and requested_action_identifier(payload) != REFRESH_IDENTIFIER:
        return _answer(202, "ignored")
    delivery = request.headers.get(DELIVERY_HEADER, "").strip()
    if not delivery:
        raise BadRequest(f"missing {DELIVERY_HEADER}", field=DELIVERY_HEADER)
    try:
        record = inbox_record(event, payload)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Any shape GitHub never sends (`installation: 5`, `pull_request: [1]`) lands here.
        raise BadRequest(f"unexpected {event} payload: {exc}", code="invalid_payload") from exc
    if record is None:
        return _answer(202, "ignored")
    installation_id = record["installation_id"]
    event_id, site_id = intake.record(
        services().store,
        intake.Delivery(
            source=SOURCE,
            scope=SCOPE,
            delivery_id=delivery,
            event=f"github:{event}",
            payload=record,
        ),
        site_of=lambda session: _mapped_site(session, installation_id),
    )
    if event_id is None:
        return _answer(200, "duplicate")
    intake.nudge(services().jobs, site_id, event_id, enqueue=lambda found: _enqueue(found, site_id))
    return _answer(202, "accepted", id=event_id)


def _enqueue(event_id: int, site_id: int | None) -> None:
    """Apply the event, then flush the site's write-backs.

    Applying a PR event queues its check run even when no KR moved (and the apply job flushes
    only after KR changes), so the flush is chained to run once the apply has committed.
    """
    jobs = services().jobs
    task = jobs.apply_inbox.s(event_id)
    if site_id is not None:
        task = task.then(jobs.flush_outbound, site_id)
    jobs.huey.enqueue(task)

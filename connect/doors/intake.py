"""The one webhook intake: parse and guard the body, record the delivery once, nudge the jobs.

Every webhook door (Jira through Connect, Forge events, GitHub, Asana) verifies its sender its
own way, then hands the rest here: the body is read with the guards of
`integrations.payloads` (no NUL, no NaN, no nesting past the parser; a refusal is the
`PayloadError` answered 400 `malformed_body`), the delivery is stored in the inbox once per
delivery id, and only then is the work queued. A failure to queue is logged, never answered:
the row is durable and the sweeper applies it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from integrations.payloads import loads_object
from sync.db.store import Store
from sync.engine.inbox import record_event
from sync.engine.jobs import Jobs

log = logging.getLogger(__name__)

Enqueue = Callable[[int], None]
"""Queues the work of a recorded event (by its id) when a plain nudge of its site is not it."""


def parse(raw: bytes | str) -> dict[str, Any]:
    """The body as a JSON object, guarded (else `PayloadError`: 400 `malformed_body`)."""
    return loads_object(raw)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One verified delivery as the inbox stores it."""

    source: str
    scope: str
    delivery_id: str
    event: str
    payload: dict[str, Any]
    site_id: int | None = None


def record(
    store: Store, delivery: Delivery, *, site_of: Callable[[Session], int | None] | None = None
) -> tuple[int | None, int | None]:
    """Store the delivery unless it was seen; returns (its row id or None, its site).

    `site_of` finds the site in the recording transaction (GitHub's installation mapping),
    else the delivery's own `site_id` is used.
    """
    with store.session() as session:
        site_id = site_of(session) if site_of is not None else delivery.site_id
        event_id = record_event(
            session,
            source=delivery.source,
            scope=delivery.scope,
            delivery_id=delivery.delivery_id,
            site_id=site_id,
            event=delivery.event,
            payload=delivery.payload,
        )  # seen before: None, unless it failed for good
    return event_id, site_id


def nudge(
    jobs: Jobs, site_id: int | None, event_id: int | None = None, *, enqueue: Enqueue | None = None
) -> None:
    """Queue the recorded event's work: `enqueue` of its id, else a (debounced) drain of its
    site (also for a duplicate, whose first recording may have failed before it was queued)."""
    try:
        if enqueue is not None and event_id is not None:
            enqueue(event_id)
        elif site_id is not None:
            jobs.nudge(site_id)
    except Exception:  # the row is durable: the sweeper applies it
        log.exception("could not enqueue inbox event %s of site %s", event_id, site_id)


def accept(
    store: Store,
    jobs: Jobs,
    delivery: Delivery,
    *,
    site_of: Callable[[Session], int | None] | None = None,
    enqueue: Enqueue | None = None,
) -> int | None:
    """Record the delivery, then queue its work; None for a delivery already recorded."""
    event_id, site_id = record(store, delivery, site_of=site_of)
    if event_id is not None:
        nudge(jobs, site_id, event_id, enqueue=enqueue)
    return event_id

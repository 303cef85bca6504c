"""Publish a closed cycle's retrospective to Confluence at once, when Confluence answers.

Closing a cycle with a space queues the page as a durable write-back (`sync/retro.py`); the
doors (API, form, CLI) then try it at once so the person closing gets the page's address in
the answer. A refusal leaves the write-back queued (retried with backoff) or parked (listed by
`okrlink outbound failed`); the answer says which.
"""

from __future__ import annotations

from typing import Any

from connect.services import Services
from sync.retro import RETRO_PAGE, load_retro, retro_target


def publish_closed_cycle(
    services: Services, site_id: int, *, team: str, cycle: str
) -> dict[str, Any]:
    """`{"id", "url", "status"}` of the page, or `{"error", "status"}` saying why there is
    none yet (`pending`: retried later; `failed`: parked for an operator)."""
    services.jobs.write_now(site_id, RETRO_PAGE, retro_target(team, cycle))
    with services.store.session() as session:
        retro = load_retro(session, site_id, team=team, cycle=cycle)
    if retro is None:
        return {"error": f"{team} has not closed {cycle}", "status": "failed"}
    if retro.publication is None:
        return {"error": "no Confluence space was chosen for the retrospective", "status": "failed"}
    return retro.publication.answer()

"""Publish a closed cycle's retrospective to Confluence, in the space the team chose.

Called after the close is committed (the close stands whatever Confluence answers): the page
is created through the site's Confluence installation, signed as the app, and the answer says
where it is, or why it could not be published.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from connect.services import Services
from connect.ui.retro import load_retro
from integrations.atlassian.client import confluence_client
from integrations.atlassian.retro_page import GradedLine, publish_retro, storage_body
from sync.errors import OutsideError
from sync.model import Installation


def publish_closed_cycle(services: Services, site_id: int, *, team: str, cycle: str,
                         space: str) -> dict[str, Any]:  # fmt: skip
    """`{"id", "url"}` of the new page, or `{"error"}` saying why there is none."""
    with services.store.session() as session:
        installation = session.scalar(
            select(Installation)
            .where(Installation.site_id == site_id, Installation.product == "confluence",
                   Installation.enabled.is_(True), Installation.uninstalled_at.is_(None))
            .order_by(Installation.id.desc())
            .limit(1)
        )  # fmt: skip
        retro = load_retro(session, site_id, team=team, cycle=cycle)
        where = (installation.client_key, installation.base_url) if installation else None
    if retro is None:
        return {"error": f"{team} has not closed {cycle}"}
    secret = services.tenants.secret_for(where[0]) if where else None
    if where is None or not secret:
        return {"error": "okrlink is not installed on this site's Confluence"}
    body = storage_body(
        team=team, cycle=retro.cycle, learned=retro.learned, differently=retro.differently,
        krs=[GradedLine(kr.key, kr.title, kr.score, kr.reason, kr.carried) for kr in retro.krs],
    )  # fmt: skip
    client = confluence_client(base_url=where[1], app_key=services.settings.app_key,
                               shared_secret=secret)  # fmt: skip
    try:
        page = publish_retro(client, space=space, title=f"{team} {retro.cycle} retrospective",
                             body=body)  # fmt: skip
    except OutsideError as exc:
        return {"error": exc.message}
    return {"id": page.id, "url": page.url}

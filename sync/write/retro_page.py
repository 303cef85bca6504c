"""The retrospective's outbound writer: a closed cycle's page, published to Confluence once.

What the page shows and where it is kept live in `sync/retro.py`; this module only performs
the `retro_page` write-back through the `Wiki` port.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.db.model import KeyResult, Objective, Outbound
from sync.engine.jobs import Jobs
from sync.errors import Transient
from sync.ports import Ports
from sync.retro import RETRO_PAGE, PublishedPage, close_of, load_retro, retro_title

NO_CLIENT_RETRY_SECONDS = 3600.0


def write_retro_page(session: Session, row: Outbound, ports: Ports) -> None:
    """Writer for `retro_page` rows: publish the page once and keep where it is on the close.

    A close already published (or gone) is done. Failures come from the `Wiki` port as the
    core's errors: `Transient` is retried, `Permanent` (403, 404) parked, `SourceMissing` (no
    Confluence installation yet) looked at again hourly.
    """
    team, _, cycle = row.target.partition("/")
    closed = close_of(session, row.site_id, team=team, cycle=cycle)
    if closed is None or closed.retro_page_id or not closed.retro_space:
        return
    retro = load_retro(session, row.site_id, team=team, cycle=cycle)
    if retro is None:
        return
    if ports.wiki is None:
        raise Transient("no Confluence client is configured", retry_after=NO_CLIENT_RETRY_SECONDS)
    page: PublishedPage = ports.wiki.publish_retro(
        row.site_id, space=closed.retro_space, title=retro_title(team, cycle), retro=retro
    )
    closed.retro_page_id, closed.retro_page_url = page.id, page.url
    closed.retro_published_at = ports.clock.now()
    # The retrospective views are cached by the team's KR versions: move them so the cached
    # views show the page's link (a closed cycle's KRs change nowhere else).
    session.execute(
        update(KeyResult)
        .where(
            KeyResult.site_id == row.site_id,
            KeyResult.cycle_id == closed.cycle_id,
            KeyResult.objective_id.in_(
                select(Objective.id).where(
                    Objective.site_id == row.site_id, Objective.team_id == closed.team_id
                )
            ),
        )
        .values(version=KeyResult.version + 1)
        .execution_options(synchronize_session=False)
    )


def register(jobs: Jobs) -> None:
    """The retrospective's jobs: publish a closed cycle's page to Confluence (`Wiki` port)."""
    jobs.write(RETRO_PAGE, write_retro_page)

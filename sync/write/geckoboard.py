"""The `geckoboard` writer: a team's KRs onto its Geckoboard dataset.

One Outbound row per dataset, so a burst of changes costs one push; the row is planned due no
sooner than a minute after the last push (`next_push_at`), so a dataset gets at most one push
a minute whatever the team does. A push is the dataset's schema, then every record replaced.
Geckoboard's 429 comes back as `RateLimited` and the job waits its `Retry-After`; a refused key
(401/403) is `Permanent`: the row is parked, shown by `okrlink dashboards geckoboard list` and
`okrlink outbound failed`, until the key is replaced or the row retried.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.dashboards import load_board
from sync.db.model import GeckoboardDataset, Outbound
from sync.engine.jobs import Jobs
from sync.errors import Permanent, Transient
from sync.geckoboard import FIELDS, KIND, UNIQUE_BY, records
from sync.ports import Ports

__all__ = ["KIND", "PUSH_INTERVAL", "GeckoboardWriter"]

PUSH_INTERVAL: Final = timedelta(minutes=1)
NO_CLIENT_RETRY_SECONDS: Final = 300.0


class GeckoboardWriter:
    """Pushes a dataset's records; `decrypt` opens its stored API key."""

    def __init__(self, *, decrypt: Callable[[str | None], str | None]) -> None:
        self.decrypt = decrypt

    def __call__(self, session: Session, row: Outbound, ports: Ports) -> None:
        dataset = session.scalar(
            select(GeckoboardDataset).where(
                GeckoboardDataset.site_id == row.site_id, GeckoboardDataset.dataset == row.target
            )
        )
        if dataset is None:
            return  # removed since: nothing to push
        now = ports.clock.now()
        if dataset.next_push_at is not None and now < dataset.next_push_at:
            # Planned before the last push committed: wait out its minute.
            wait = (dataset.next_push_at - now).total_seconds()
            raise Transient("pushed less than a minute ago", retry_after=wait)
        if ports.geckoboard is None:
            raise Transient(
                "no Geckoboard client is configured", retry_after=NO_CLIENT_RETRY_SECONDS
            )
        api_key = self.decrypt(dataset.api_key)
        if not api_key:
            raise Permanent("the API key does not decrypt with OKRLINK_SECRET_KEY: add it again")
        board = load_board(session, row.site_id, team=dataset.team_key)
        ports.geckoboard.put_dataset(
            api_key=api_key, dataset=dataset.dataset, fields=FIELDS, unique_by=UNIQUE_BY
        )
        ports.geckoboard.replace_data(
            api_key=api_key, dataset=dataset.dataset, records=records(board)
        )
        dataset.pushed_at, dataset.next_push_at = now, now + PUSH_INTERVAL


def register(jobs: Jobs, *, decrypt: Callable[[str | None], str | None]) -> None:
    """Geckoboard's job: push a team's KRs to its datasets (`Geckoboard` port)."""
    jobs.write(KIND, GeckoboardWriter(decrypt=decrypt))

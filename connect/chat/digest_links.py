"""Where a digest links to: the team's OKR page and its check-in forms, on the site's Jira.

On an Atlassian site the links open okrlink's project page inside Jira (the Connect page URL
`/plugins/servlet/ac/<app key>/okr-project-page`); on the local site, okrlink's own page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import select

from connect.settings import Settings
from sync.core.digest import Links
from sync.db.model import Installation
from sync.db.store import Store

PROJECT_PAGE_MODULE = "okr-project-page"


@dataclass(frozen=True, slots=True)
class DigestLinks:
    store: Store
    settings: Settings

    def __call__(self, site_id: int, team: str) -> Links:
        with self.store.session() as session:
            jira = session.scalar(
                select(Installation.base_url)
                .where(
                    Installation.site_id == site_id,
                    Installation.product == "jira",
                    Installation.enabled.is_(True),
                )
                .order_by(Installation.id)
                .limit(1)
            )
        if jira:
            page = (
                f"{jira.rstrip('/')}/plugins/servlet/ac/{self.settings.app_key}/"
                f"{PROJECT_PAGE_MODULE}?{urlencode({'project.key': team})}"
            )
        else:
            page = f"{self.settings.base_url.rstrip('/')}/jira/project-page?" + urlencode(
                {"projectKey": team}
            )
        # The check-in forms are on the OKR page itself.
        return Links(okr_page=page, check_in=page)

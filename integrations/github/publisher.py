"""The "check_run" write-back: render a PR's KR impact and publish it through the Checks port."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.github.checks import LINKED_CONCLUSIONS, render_check_run
from integrations.github.client import GitHubApp
from integrations.github.errors import NotFound
from sync.apply.github import CHECK_RUN
from sync.db.model import GitHubInstallation, Installation, Outbound, PullRequest
from sync.errors import Permanent
from sync.ports import Ports
from sync.write.check_run import impacts_for

log = logging.getLogger(__name__)

CHECK_RUN_KIND = CHECK_RUN
# The Jira general page that shows the team's OKRs (descriptors/jira.json `generalPages`).
OKR_PAGE_MODULE = "okr-general-page"


@dataclass(frozen=True, slots=True)
class RepositorySettings:
    """Per-repository choices: the conclusion of a linked run, and the "how to link" run."""

    conclusion: str = "neutral"
    no_kr_message: bool = True


def repository_settings(settings: Mapping[str, Any] | None, repo: str) -> RepositorySettings:
    """Settings for `repo`: installation-wide values, overridden by `repositories[repo]`.

    Stored in `GitHubInstallation.settings` as
    `{"conclusion": ..., "no_kr_message": ..., "repositories": {"owner/repo": {...}}}`.
    """
    settings = settings or {}
    merged = {k: v for k, v in settings.items() if k != "repositories"}
    merged.update((settings.get("repositories") or {}).get(repo) or {})
    conclusion = merged.get("conclusion", "neutral")
    if conclusion not in LINKED_CONCLUSIONS:
        conclusion = "neutral"
    return RepositorySettings(
        conclusion=conclusion, no_kr_message=merged.get("no_kr_message", True) is not False
    )


class GitHubChecks:
    """The Checks port on GitHub: create or update check runs as the app's installation."""

    def __init__(self, app: GitHubApp) -> None:
        self.app = app

    def publish(
        self,
        *,
        installation_id: int,
        repo: str,
        head_sha: str,
        body: Mapping[str, Any],
        check_run_id: int | None,
    ) -> int:
        """Create or update the run; a rate limit or an outage raises `Transient` (GitHub's
        `RateLimited` and `Unavailable` are), a refusal `Permanent`."""
        try:
            return self.app.create_or_update_check_run(
                installation_id=installation_id,
                repo=repo,
                head_sha=head_sha,
                body=body,
                check_run_id=check_run_id,
            )
        except NotFound:
            if check_run_id is None:
                raise
            # The run we knew is gone (deleted suite, force-push): start a new one.
            return self.app.create_or_update_check_run(
                installation_id=installation_id, repo=repo, head_sha=head_sha, body=body
            )


def okr_page_url(session: Session, site_id: int, *, app_key: str) -> str | None:
    """The site's OKR page in Jira (our general page), when Jira has okrlink installed."""
    base_url = session.scalar(
        select(Installation.base_url)
        .where(
            Installation.site_id == site_id,
            Installation.product == "jira",
            Installation.enabled.is_(True),
            Installation.uninstalled_at.is_(None),
        )
        .order_by(Installation.id)
        .limit(1)
    )
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/plugins/servlet/ac/{app_key}/{OKR_PAGE_MODULE}"


class CheckRunWriter:
    """Writes the "check_run" outbound rows: one per PR ref, however many KRs changed."""

    def __init__(self, *, app_key: str) -> None:
        self.app_key = app_key
        # Without the GitHub App every check run is skipped: said once, not once per PR.
        self._said_unconfigured = False

    def __call__(self, session: Session, outbound: Outbound, ports: Ports) -> None:
        """Publish the run of every PR of the ref; a refusal (`Permanent`) of one does not stop
        the others, and is raised after them so that the row is parked with its error, as
        the Jira writer's are (`sync/engine/jobs.py`)."""
        pulls = session.scalars(
            select(PullRequest).where(
                PullRequest.site_id == outbound.site_id, PullRequest.ref == outbound.target
            )
        ).all()
        refused: Permanent | None = None
        for pull in pulls:
            try:
                self.publish(session, pull, ports)
            except Permanent as exc:
                log.warning("check run for %s not published: %s", pull.ref, exc)
                refused = refused or exc
        if refused is not None:
            raise refused

    def publish(self, session: Session, pull: PullRequest, ports: Ports) -> None:
        """Render and publish one PR's run; closed PRs and gone installations are left alone."""
        if pull.state != "open" or pull.site_id is None or not pull.head_sha:
            return
        installation = session.get(GitHubInstallation, pull.installation_id)
        if installation is None or installation.deleted or installation.suspended:
            return
        if ports.checks is None:
            level = logging.DEBUG if self._said_unconfigured else logging.WARNING
            self._said_unconfigured = True
            log.log(
                level,
                "check runs skipped (first: %s): the GitHub App is not configured; "
                "see README, Connect GitHub",
                pull.ref,
            )
            return
        choice = repository_settings(installation.settings, pull.repo)
        impacts = impacts_for(
            session, pull.site_id, pull, people=ports.people, now=ports.clock.now()
        )
        page = okr_page_url(session, pull.site_id, app_key=self.app_key)
        body = render_check_run(
            impacts=impacts,
            okr_page_url=page,
            conclusion_when_linked=choice.conclusion,
            # A run already on this commit is corrected even when the repository asks for none.
            no_kr_message=choice.no_kr_message or pull.check_run_id is not None,
        )
        if body is None:
            return
        # Refused for good (no access, unknown commit, repository removed): `Permanent` goes up
        # to the writer, which parks the row (`okrlink outbound failed` lists it).
        pull.check_run_id = ports.checks.publish(
            installation_id=pull.installation_id,
            repo=pull.repo,
            head_sha=pull.head_sha,
            body=body,
            check_run_id=pull.check_run_id,
        )

"""The Jira admin page: the site's installations and GitHub installations (read-only), its
teams' weekly digest channels and Geckoboard datasets (add, remove; parked ones say why)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connect.ui.i18n import translator
from connect.ui.render import _render
from sync.core.practice import DEFAULT_PROFILE, Profile
from sync.db.model import GitHubInstallation, Installation
from sync.digest import ChannelView
from sync.geckoboard import DatasetView


@dataclass(frozen=True, slots=True)
class InstallationRow:
    """One product installation as the admin page lists it (never its secret)."""

    client_key: str
    product: str
    door: str
    base_url: str
    enabled: bool
    installed_at: datetime


@dataclass(frozen=True, slots=True)
class GitHubRow:
    """One GitHub App installation mapped to the site."""

    installation_id: int
    account: str
    suspended: bool


def load_admin(session: Session, site_id: int) -> tuple[list[InstallationRow], list[GitHubRow]]:
    """The site's installations and its GitHub installations (two queries)."""
    installations = [
        InstallationRow(
            row.client_key, row.product, row.door, row.base_url, row.enabled, row.installed_at
        )
        for row in session.scalars(
            select(Installation)
            .where(Installation.site_id == site_id)
            .order_by(Installation.product, Installation.id)
        )
    ]
    github = [
        GitHubRow(row.installation_id, row.account, row.suspended)
        for row in session.scalars(
            select(GitHubInstallation)
            .where(GitHubInstallation.site_id == site_id, GitHubInstallation.deleted.is_(False))
            .order_by(GitHubInstallation.installation_id)
        )
    ]
    return installations, github


def render_admin_page(
    *,
    installations: Sequence[InstallationRow],
    github: Sequence[GitHubRow],
    locale: str,
    host_script: bool = True,
    channels: Sequence[ChannelView] = (),
    digest_form: DigestForm | None = None,
    profile: Profile = DEFAULT_PROFILE,
    datasets: Sequence[DatasetView] = (),
    geckoboard_form: GeckoboardForm | None = None,
) -> str:
    """The admin page as a complete HTML document."""
    return _render(
        "admin.html",
        t=translator(locale),
        static=False,
        host_script=host_script,
        doc_title="okrlink",
        installations=tuple(installations),
        github=tuple(github),
        channels=tuple(channels),
        digest_form=digest_form,
        profile=profile,
        datasets=tuple(datasets),
        geckoboard_form=geckoboard_form,
    )


@dataclass(frozen=True, slots=True)
class DigestForm:
    """The digest channel forms: where they post, their CSRF token, and a refused add's
    values and error (the URL is never echoed back)."""

    add_url: str
    remove_url: str
    csrf_token: str
    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    # The refused field (the error is shown beside it when it is the URL) and the error's code.
    error_field: str | None = None
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class GeckoboardForm:
    """The Geckoboard dataset forms: where they post, their CSRF token, and a refused add's
    team and error (the API key is never echoed back)."""

    add_url: str
    remove_url: str
    csrf_token: str
    team: str = ""
    error: str | None = None

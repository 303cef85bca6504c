"""Where a key result's numbers come from, and whether that source can be read.

A metric KR moves by check-ins only (`manual`). An issues or JQL KR reads the site's Jira, a
github KR the pull requests of the GitHub installations mapped to the site. When that source
is absent (no Jira on the site, no installation mapped) the KR is `missing` and says how to
connect it; when it did not answer it is `unreachable` until a later read succeeds. Both are
expected states shown on the KR's pages and in the API, not errors retried every minute.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.db.model import GitHubInstallation, KeyResult, Link

MANUAL: Final = "manual"
CONNECTED: Final = "connected"
MISSING: Final = "missing"
UNREACHABLE: Final = "unreachable"
STATES: Final = (MANUAL, CONNECTED, MISSING, UNREACHABLE)

JIRA_KINDS: Final = ("issues", "jql")
NO_GITHUB: Final = (
    "no GitHub installation is mapped to this site: install the GitHub App, then run "
    "`okrlink github map INSTALLATION_ID SITE`"
)


def source_state(kr: KeyResult) -> str:
    """The KR's source state as pages and the API show it."""
    if kr.kind not in (*JIRA_KINDS, "github"):
        return MANUAL
    return kr.source_state or CONNECTED


def record(kr: KeyResult, state: str, message: str | None = None) -> bool:
    """Set the KR's source state; a change bumps its version (cached pages show it at once)."""
    message = None if state in (CONNECTED, MANUAL) else message
    if (kr.source_state, kr.source_message) == (state, message):
        return False
    kr.source_state, kr.source_message = state, message
    kr.version += 1
    return True


def record_all(krs: Iterable[KeyResult], state: str, message: str | None = None) -> list[int]:
    """`record` for each KR; the ids that changed."""
    return [kr.id for kr in krs if record(kr, state, message)]


def jira_krs(
    session: Session,
    site_id: int,
    keys: Iterable[str] | None = None,
    *,
    kinds: Iterable[str] = JIRA_KINDS,
) -> list[KeyResult]:
    """The site's active KRs of `kinds` that read Jira, or only those linked to `keys`."""
    query = select(KeyResult).where(
        KeyResult.site_id == site_id, KeyResult.state == "active", KeyResult.kind.in_(kinds)
    )
    if keys is not None:
        linked = select(Link.kr_id).where(
            Link.site_id == site_id, Link.target_kind == "jira", Link.target_key.in_(list(keys))
        )
        query = query.where(KeyResult.id.in_(linked))
    return list(session.scalars(query))


def refresh_github(session: Session, site_id: int) -> list[int]:
    """Mark the site's github KRs connected or missing by its mapped installations."""
    krs = session.scalars(
        select(KeyResult).where(KeyResult.site_id == site_id, KeyResult.kind == "github")
    )
    if not github_mapped(session, site_id):
        return record_all(krs, MISSING, NO_GITHUB)
    return record_all(krs, CONNECTED)


def github_mapped(session: Session, site_id: int) -> bool:
    """Whether a live (not deleted, not suspended) GitHub installation is mapped to the site."""
    mapped = session.scalar(
        select(GitHubInstallation.installation_id)
        .where(
            GitHubInstallation.site_id == site_id,
            GitHubInstallation.deleted.is_(False),
            GitHubInstallation.suspended.is_(False),
        )
        .limit(1)
    )
    return mapped is not None

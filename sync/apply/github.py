"""Apply GitHub deliveries to current state: installations, pull requests and their KR links.

The webhook route verifies each delivery and records it in the inbox as a plain dict (the core
never parses GitHub payloads). Shapes, by inbox `event`:

- `github:installation`, `github:installation_repositories`:
  `{"action", "installation_id", "account"}`
- `github:pull_request`: `{"action", "installation_id", "account", "pull": {"repo", "number",
  "title", "branch", "head_sha", "state", "merged", "opened_at", "merged_at", "updated_at",
  "url", "jira_keys", "kr_keys"}}` (timestamps ISO 8601)
- `github:check_suite`, `github:check_run`: `{"action", "installation_id", "account", "repo",
  "head_sha", "pull_numbers"}`
- `github:push`: `{"installation_id", "account", "ref"}`

A PR links to KRs through its Jira keys (KRs linked to those issues or to their parent epics)
and through `KR: <key>` lines; those links carry source "pr" and are recomputed on every
update of the PR, so editing the PR removes links it no longer names.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sync import sources
from sync.db.model import (
    Deployment,
    GitHubInstallation,
    InboxEvent,
    Link,
    Outbound,
    PullRequest,
    WorkItem,
)
from sync.db.store import find_kr
from sync.db.upsert import insert_ignore
from sync.dora.changes import adopt as adopt_changes
from sync.dora.changes import pair_pull
from sync.dora.remeasure import remeasure
from sync.engine.snapshots import krs_linked_to

if TYPE_CHECKING:
    from sync.engine.jobs import Jobs, Writer
    from sync.ports import Ports

PR_SOURCE = "pr"
GITHUB_KIND = "github"
CHECK_RUN = "check_run"
OPEN = "open"
ABANDONED = "abandoned"


def pr_ref(repo: str, number: int) -> str:
    """How links and write-backs name a pull request: `owner/repo#12`."""
    return f"{repo}#{int(number)}"


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


# --- installations -----------------------------------------------------------------------


def ensure_installation(
    session: Session, installation_id: int, *, account: str = ""
) -> GitHubInstallation:
    """The stored installation, created (unmapped) the first time it is seen."""
    insert_ignore(
        session,
        GitHubInstallation,
        [
            {
                "installation_id": installation_id,
                "account": account,
                "site_id": None,
                "suspended": False,
                "deleted": False,
                "settings": {},
            }
        ],
        ("installation_id",),
    )
    row = session.get_one(GitHubInstallation, installation_id, populate_existing=True)
    if account and not row.account:
        row.account = account
    return row


def apply_installation(session: Session, event: InboxEvent, _ports: Ports) -> set[int]:
    """`installation` and `installation_repositories`: keep the installation's state."""
    payload = event.payload
    row = ensure_installation(
        session, int(payload["installation_id"]), account=payload.get("account") or ""
    )
    action = payload.get("action")
    if action == "created":
        row.deleted, row.suspended = False, False
        row.account = payload.get("account") or row.account
    elif action == "deleted":
        row.deleted = True
    elif action == "suspend":
        row.suspended = True
    elif action == "unsuspend":
        row.suspended = False
    elif action in ("added", "removed"):
        row.deleted = False
    return set()


def map_installation(
    session: Session, installation_id: int, site_id: int, *, now: datetime
) -> set[int]:
    """Map an installation to a site; its stored PRs join the site and are linked to KRs.

    Returns the ids of KRs whose links changed (recompute them for `site_id`).
    """
    row = ensure_installation(session, installation_id)
    row.site_id = site_id
    # Its deployments join the site too: they feed the site's DORA keys.
    adopt = update(Deployment).where(Deployment.installation_id == installation_id)
    session.execute(adopt.values(site_id=site_id))
    adopt_changes(session, installation_id, site_id)
    touched: set[int] = set()
    pulls = session.scalars(
        select(PullRequest).where(PullRequest.installation_id == installation_id)
    ).all()
    for pull in pulls:
        if pull.site_id is not None and pull.site_id != site_id:
            _unlink(session, pull.site_id, pull.ref)
        pull.site_id = site_id
        touched |= relink(session, pull)
        if pull.state == OPEN:
            queue_check_run(session, site_id, pull.ref, now=now)
    session.flush()
    sources.refresh_github(session, site_id)
    return touched


# --- pull requests -----------------------------------------------------------------------


def apply_pull_request(session: Session, event: InboxEvent, ports: Ports) -> set[int]:
    """Upsert the PR (older updates are ignored), relink its KRs, queue its check run."""
    payload = event.payload
    data: Mapping[str, Any] = payload["pull"]
    installation = ensure_installation(
        session, int(payload["installation_id"]), account=payload.get("account") or ""
    )
    site_id = _bind_site(event, installation)
    pull = session.scalar(
        select(PullRequest).where(
            PullRequest.installation_id == installation.installation_id,
            PullRequest.repo == data["repo"],
            PullRequest.number == int(data["number"]),
        )
    )
    updated_at = _timestamp(data["updated_at"])
    if pull is not None and pull.updated_at and updated_at and updated_at < pull.updated_at:
        return set()
    if pull is None:
        pull = PullRequest(
            installation_id=installation.installation_id,
            repo=data["repo"],
            number=int(data["number"]),
            ref=pr_ref(data["repo"], data["number"]),
        )
        session.add(pull)
    shipped_as = (pull.merged, pull.merged_at, pull.opened_at) if pull.id else None
    if pull.head_sha != data["head_sha"]:
        pull.check_run_id = None  # a new head commit gets its own check run
    pull.site_id = site_id
    pull.title, pull.branch, pull.head_sha = data["title"], data["branch"], data["head_sha"]
    pull.state, pull.merged, pull.url = data["state"], bool(data["merged"]), data["url"]
    pull.opened_at, pull.merged_at = _timestamp(data["opened_at"]), _timestamp(data["merged_at"])
    pull.updated_at = updated_at
    pull.jira_keys, pull.kr_keys = list(data["jira_keys"]), list(data["kr_keys"])
    session.flush()
    if (pull.merged, pull.merged_at, pull.opened_at) != shipped_as and (pull.merged or shipped_as):
        pair_pull(session, pull)  # the deployment that shipped it, even if it came first
    if site_id is None:
        return set()
    touched = relink(session, pull)
    if pull.state == OPEN:
        queue_check_run(session, site_id, pull.ref, now=ports.clock.now())
    if pull.merged:  # a merged change (or a revert) moves the DORA keys
        touched |= remeasure(session, site_id, now=ports.clock.now())
    return touched


def krs_for(
    session: Session, site_id: int, *, jira_keys: Collection[str], kr_keys: Iterable[str]
) -> set[int]:
    """KRs a PR names: through its Jira issues (or their parents) and its `KR:` lines."""
    keys = set(jira_keys)
    if keys:
        parents = session.scalars(
            select(WorkItem.parent_key).where(
                WorkItem.site_id == site_id,
                WorkItem.key.in_(keys),
                WorkItem.parent_key.is_not(None),
                WorkItem.deleted.is_(False),
            )
        )
        keys |= {parent for parent in parents if parent}
    ids = krs_linked_to(session, site_id, keys)
    for key in kr_keys:
        kr = find_kr(session, site_id, key)
        if kr is not None and kr.state != ABANDONED:
            ids.add(kr.id)
    return ids


def relink(session: Session, pull: PullRequest) -> set[int]:
    """Make the PR's "pr" links match what it names now; KRs whose links or PR may move."""
    site_id = pull.site_id
    if site_id is None:
        return set()
    wanted = krs_for(session, site_id, jira_keys=pull.jira_keys, kr_keys=pull.kr_keys)
    existing = {
        link.kr_id: link
        for link in session.scalars(
            select(Link).where(
                Link.site_id == site_id,
                Link.target_kind == GITHUB_KIND,
                Link.target_key == pull.ref,
                Link.source == PR_SOURCE,
            )
        )
    }
    for kr_id, link in existing.items():
        if kr_id not in wanted:
            session.delete(link)
    for kr_id in sorted(wanted - existing.keys()):
        session.add(
            Link(
                site_id=site_id,
                kr_id=kr_id,
                target_kind=GITHUB_KIND,
                target_key=pull.ref,
                source=PR_SOURCE,
            )
        )
    session.flush()
    linked = set(
        session.scalars(
            select(Link.kr_id).where(
                Link.site_id == site_id,
                Link.target_kind == GITHUB_KIND,
                Link.target_key == pull.ref,
            )
        )
    )
    return linked | existing.keys()


def _unlink(session: Session, site_id: int, ref: str) -> None:
    session.execute(
        delete(Link).where(
            Link.site_id == site_id,
            Link.target_kind == GITHUB_KIND,
            Link.target_key == ref,
            Link.source == PR_SOURCE,
        )
    )


def _bind_site(event: InboxEvent, installation: GitHubInstallation) -> int | None:
    """The installation's site now; an event recorded before the mapping joins that site."""
    if event.site_id is None and installation.site_id is not None:
        event.site_id = installation.site_id
    return installation.site_id


# --- check runs --------------------------------------------------------------------------


def queue_check_run(session: Session, site_id: int, ref: str, *, now: datetime) -> None:
    """Ask for the PR's check run to be (re)published; one pending row per PR."""
    insert_ignore(
        session,
        Outbound,
        [{"site_id": site_id, "kind": CHECK_RUN, "target": ref, "due_at": now, "attempts": 0}],
        ("site_id", "kind", "target"),
    )


def apply_check_request(session: Session, event: InboxEvent, ports: Ports) -> set[int]:
    """`check_suite` / `check_run` re-requests and the "Refresh" button: re-render the run.

    A re-run asks for a new check run (GitHub opens a new suite); "Refresh" updates the
    existing one in place.
    """
    payload = event.payload
    installation = ensure_installation(
        session, int(payload["installation_id"]), account=payload.get("account") or ""
    )
    site_id = _bind_site(event, installation)
    if site_id is None:
        return set()
    numbers = [int(n) for n in payload.get("pull_numbers") or []]
    query = select(PullRequest).where(
        PullRequest.installation_id == installation.installation_id,
        PullRequest.repo == payload["repo"],
        PullRequest.state == OPEN,
    )
    if numbers:
        query = query.where(PullRequest.number.in_(numbers))
    else:
        query = query.where(PullRequest.head_sha == payload["head_sha"])
    fresh = payload.get("action") == "rerequested"
    for pull in session.scalars(query):
        if fresh and pull.head_sha == payload["head_sha"]:
            pull.check_run_id = None
        queue_check_run(session, site_id, pull.ref, now=ports.clock.now())
    return set()


def apply_push(_session: Session, _event: InboxEvent, _ports: Ports) -> set[int]:
    """Pushes are accepted and recorded; PR events carry everything KRs need."""
    return set()


HANDLERS = {
    "github:installation": apply_installation,
    "github:installation_repositories": apply_installation,
    "github:pull_request": apply_pull_request,
    "github:check_suite": apply_check_request,
    "github:check_run": apply_check_request,
    "github:push": apply_push,
}


def register(jobs: Jobs, *, check_runs: Writer) -> None:
    """The GitHub feature's jobs: apply the App's deliveries, publish check runs through
    `check_runs` (the writer the app builds around its GitHub client)."""
    for event, handler in HANDLERS.items():
        jobs.handle(event, handler)
    jobs.write(CHECK_RUN, check_runs)

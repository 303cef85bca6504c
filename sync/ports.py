"""What the core needs from outside, as small interfaces; `integrations/` implements them.

Jobs call these ports, never a client directly, so tests swap in fakes without patching.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sync.accounts import AccountStatus, StoredAccount
    from sync.permissions import Grants
    from sync.retro import PublishedPage, RetroView


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Tracker(Protocol):
    """The work tracker of a site (Jira): read issues, write our issue property."""

    def set_issue_property(self, site_id: int, issue_key: str, value: Mapping[str, Any]) -> None:
        """Write the `okrlink` issue property (indexed for JQL, read by the glance)."""
        ...

    def fetch_issue(self, site_id: int, issue_key: str) -> Mapping[str, Any] | None:
        """The issue as the REST API returns it (`fields` included), or None if gone."""
        ...

    def search(
        self, site_id: int, jql: str, *, fields: Sequence[str]
    ) -> Iterator[Mapping[str, Any]]:
        """Every issue matching the JQL (paged through `/rest/api/3/search/jql`)."""
        ...


class People(Protocol):
    """A site's people as Jira knows them (`integrations/atlassian/people.py`), asked as the app.

    Each profile is Jira's user record: `accountId`, `displayName`, `active`, `avatarUrls`.
    Failures are the core's `Transient`, `Permanent` or `SourceMissing` (sync.errors).
    """

    def users(self, site_id: int, account_ids: Sequence[str]) -> Sequence[Mapping[str, Any]]:
        """The profiles of these accounts, in one `GET /rest/api/3/user/bulk` call; an
        account Jira does not know is left out."""
        ...

    def find_users(
        self, site_id: int, *, project: str, query: str, limit: int
    ) -> Sequence[Mapping[str, Any]]:
        """Users matching `query` who may browse `project` (Jira's user permission search)."""
        ...


class IssuePicker(Protocol):
    """Jira's issue picker for a team's project (`integrations/atlassian/issue_picker.py`),
    asked as the app: the issues an `issues` KR may follow, found as someone types."""

    def find_issues(
        self, site_id: int, *, project: str, query: str, limit: int
    ) -> Sequence[Mapping[str, str]]:
        """Up to `limit` issues of `project` matching `query`, each `key` and `summary`."""
        ...


class Checks(Protocol):
    """Where KR impact is published for pull requests (GitHub check runs)."""

    def publish(
        self,
        *,
        installation_id: int,
        repo: str,
        head_sha: str,
        body: Mapping[str, Any],
        check_run_id: int | None,
    ) -> int:
        """Create or update the check run; returns its id."""
        ...


class Asana(Protocol):
    """A site's Asana workspace: read tasks and projects, set goals (`integrations/asana`).

    Tasks come back as the API's task records (`gid`, `completed`, `modified_at`, `notes`,
    `parent`, `memberships`, `num_subtasks`, `custom_fields`); None when a task is gone.
    """

    def fetch_task(self, site_id: int, task_gid: str) -> Mapping[str, Any] | None:
        """The task's current state."""
        ...

    def project_tasks(
        self, site_id: int, project_gid: str, *, modified_since: datetime | None = None
    ) -> Iterator[Mapping[str, Any]]:
        """The project's tasks (every section's), then their subtasks, each once."""
        ...

    def is_project(self, site_id: int, gid: str) -> bool:
        """Whether the gid names a project (else a task)."""
        ...

    def set_goal(self, site_id: int, goal_gid: str, *, current: float | None, status: str) -> None:
        """Set the goal's metric current value and its status (`green`, `yellow`, `red`)."""
        ...

    def own_user(self, site_id: int) -> str | None:
        """The gid of the Asana user okrlink acts as on this site (its writes' author)."""


class Chat(Protocol):
    """Where digests and reminders are posted: a Slack or Teams incoming webhook."""

    def post(self, *, kind: str, url: str, payload: Mapping[str, Any]) -> None:
        """Post one message; raises `RateLimited`, `Transient` or `Permanent` (sync.errors)."""
        ...


class UrlPolicy(Protocol):
    """Which URLs users may set for okrlink to post to (`integrations/outbound.py`)."""

    def check(self, url: str) -> str:
        """The URL (stripped) when it may be saved; raises `Invalid` with `field="url"`."""
        ...


class Wiki(Protocol):
    """A site's Confluence: where a closed cycle's retrospective is published as a page."""

    def publish_retro(
        self, site_id: int, *, space: str, title: str, retro: RetroView
    ) -> PublishedPage:
        """The page titled `title` in `space`: the one there already, else created from
        `retro`. Raises `SourceMissing` without a Confluence installation, else `Transient`
        or `Permanent` (sync.errors)."""
        ...


class Geckoboard(Protocol):
    """Geckoboard's Datasets API: where a team's KRs are pushed for its dashboards.

    Both calls raise `RateLimited` (429, with its `Retry-After`), `Transient` (no answer, 5xx)
    or `Permanent` (401/403: the key is wrong or revoked; other 4xx) from `sync.errors`.
    """

    def put_dataset(
        self,
        *,
        api_key: str,
        dataset: str,
        fields: Mapping[str, Mapping[str, Any]],
        unique_by: Sequence[str],
    ) -> None:
        """Create the dataset with this schema, or find it when it exists with it."""
        ...

    def replace_data(
        self, *, api_key: str, dataset: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Replace every record of the dataset with these."""
        ...


class JiraPermissions(Protocol):
    """Jira's own answer to who may do what on a site, asked as the app (`integrations/atlassian`).

    Both calls raise `SourceMissing` when the site has no Jira to ask, else `Transient` or
    `Permanent` (sync.errors) when Jira does not answer; the permissions service refuses the
    write then (it fails closed).
    """

    def project_id(self, site_id: int, key: str) -> int | None:
        """The id of the Jira project with this key (`GET /rest/api/3/project/{key}`), None
        when there is none."""
        ...

    def check(
        self,
        site_id: int,
        *,
        account_id: str,
        global_permissions: Sequence[str],
        project_permissions: Mapping[str, Sequence[int]],
    ) -> Grants:
        """What `account_id` holds of these global permissions and, per project permission, on
        which of these project ids (`POST /rest/api/3/permissions/check`)."""
        ...


@dataclass(frozen=True, slots=True)
class Ports:
    """The outside systems one app's jobs talk to; None where none is configured.

    Immutable: the composition root fills in the real clients with `dataclasses.replace`, and a
    test swaps one port by replacing `jobs.ports` as a whole, never by mutating it in place.
    """

    clock: Clock = field(default_factory=SystemClock)
    tracker: Tracker | None = None
    checks: Checks | None = None
    asana: Asana | None = None
    chat: Chat | None = None
    wiki: Wiki | None = None
    geckoboard: Geckoboard | None = None
    permissions: JiraPermissions | None = None
    personal_data: PersonalData | None = None
    people: People | None = None
    issues: IssuePicker | None = None


class PersonalData(Protocol):
    """Atlassian's personal data reporting API, called through a site's installation."""

    def report_accounts(
        self, site_id: int, accounts: Sequence[StoredAccount]
    ) -> Sequence[AccountStatus]:
        """Report at most 90 accounts; only those needing action (closed, updated) come back.

        Raises `SourceMissing` when the site has no installation to call through, `RateLimited`
        when Atlassian asks to wait longer than a job should, other `OutsideError`s as the
        answer says.
        """
        ...

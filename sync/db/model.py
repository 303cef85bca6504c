"""The stored OKR model. Every row carries its site (the tenant); no query runs without one.

KR progress, score and status are stored as a *derived* snapshot: they are recomputed from the
current state of linked work (never incremented), so replays and duplicates cannot double count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

LOCAL_SITE = "local"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        date: Date(),
        dict[str, Any]: JSON(),
    }


class Site(Base):
    """A tenant: one Atlassian site (its Jira and Confluence installations) or the local site."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    host: Mapped[str | None] = mapped_column(String(255), unique=True)
    cloud_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Installation(Base):
    """One product's installation of okrlink on a site, through the Connect or the Forge door."""

    __tablename__ = "installations"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    client_key: Mapped[str] = mapped_column(String(255), unique=True)
    product: Mapped[str] = mapped_column(String(32))
    door: Mapped[str] = mapped_column(String(16), default="connect")
    base_url: Mapped[str] = mapped_column(String(512))
    shared_secret: Mapped[str | None] = mapped_column(Text)  # Fernet token, never plaintext
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    app_account_id: Mapped[str | None] = mapped_column(String(128))
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    uninstalled_at: Mapped[datetime | None] = mapped_column()


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("site_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")


class Cycle(Base):
    __tablename__ = "cycles"
    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    start: Mapped[date] = mapped_column()
    end: Mapped[date] = mapped_column()
    # A cycle made for one team (None: the site's, as quarters named in files are), and the
    # longer cycle it refreshes (a yearly cycle holds its quarters).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id", ondelete="SET NULL"))


class Objective(Base):
    __tablename__ = "objectives"
    __table_args__ = (
        UniqueConstraint("site_id", "cycle_id", "key"),
        Index("ix_objectives_team_cycle", "site_id", "team_id", "cycle_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)  # its why, as the OKR file says it
    parent_key: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | abandoned
    abandon_reason: Mapped[str | None] = mapped_column(Text)
    key_results: Mapped[list[KeyResult]] = relationship(
        back_populates="objective", order_by="KeyResult.position", cascade="all, delete-orphan"
    )
    team: Mapped[Team] = relationship()
    cycle: Mapped[Cycle] = relationship()


class KeyResult(Base):
    __tablename__ = "key_results"
    __table_args__ = (
        UniqueConstraint("site_id", "cycle_id", "key"),
        Index("ix_key_results_objective", "objective_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="metric")
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    current: Mapped[float | None] = mapped_column(Float)
    # When an OKR file import last set `current`: a check-in after it is newer than the file.
    current_imported_at: Mapped[datetime | None] = mapped_column()
    unit: Mapped[str] = mapped_column(String(32), default="")
    owner: Mapped[str | None] = mapped_column(String(255))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    state: Mapped[str] = mapped_column(String(16), default="active")
    abandon_reason: Mapped[str | None] = mapped_column(Text)
    jql: Mapped[str | None] = mapped_column(Text)
    jql_field: Mapped[str | None] = mapped_column(String(128))
    # Whose browsing rights confine a JQL KR (the Atlassian account that saved its query);
    # None: the operator's (admin token), not confined.
    jql_author: Mapped[str | None] = mapped_column(String(128))
    measure: Mapped[str | None] = mapped_column(String(32))
    asana_goal: Mapped[str | None] = mapped_column(String(64))  # the Asana goal it moves
    # An Asana number custom field (name or gid) whose sum weighs its tasks, as story points do.
    asana_field: Mapped[str | None] = mapped_column(String(255))
    # DORA keys' scope (repository, environment, window_days, incident_jql, ...), and the KPI a
    # KR takes its value from: both empty for KRs measured any other way.
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    kpi: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Whether the KR's source (Jira, GitHub) could be read at the last attempt: None until
    # one is made, else `sync.sources` states; the message says how to connect it.
    source_state: Mapped[str | None] = mapped_column(String(16))
    source_message: Mapped[str | None] = mapped_column(Text)
    # The derived snapshot, recomputed from current state; `version` bumps on every change so
    # rendered panels can be cached by it.
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="on_track")
    done: Mapped[float | None] = mapped_column(Float)
    total: Mapped[float | None] = mapped_column(Float)
    total_at_start: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, default=1)
    snapshot_at: Mapped[datetime | None] = mapped_column()  # None until the first snapshot
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when the team closes the cycle: the graded score (the derived one unless the owner
    # adjusted it, with a reason); `carried_from_id` is the KR of the previous cycle this continues.
    final_score: Mapped[float | None] = mapped_column(Float)
    final_score_reason: Mapped[str | None] = mapped_column(Text)
    carried_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("key_results.id", ondelete="SET NULL")
    )
    objective: Mapped[Objective] = relationship(back_populates="key_results")
    carried_from: Mapped[KeyResult | None] = relationship(remote_side="KeyResult.id")
    cycle: Mapped[Cycle] = relationship()


class Link(Base):
    """A KR linked to a piece of work: a Jira issue or epic, or a GitHub pull request."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("kr_id", "target_kind", "target_key", "source"),
        Index("ix_links_target", "site_id", "target_kind", "target_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kr_id: Mapped[int] = mapped_column(ForeignKey("key_results.id", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(String(16), default="jira")  # jira | github
    target_key: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16), default="api")  # api|file|label|panel|pr
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkItem(Base):
    """The current state of a Jira issue, as last seen; older events never overwrite it."""

    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("site_id", "key"),
        # Covers a KR's roll-up of an epic's children
        # (see sync/engine/snapshots.py `_LINKED_ITEMS`).
        Index(
            "ix_work_items_children",
            *("site_id", "parent_key", "deleted", "key", "status_category", "story_points"),
        ),
        Index("ix_work_items_issue_id", "site_id", "issue_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    issue_id: Mapped[str | None] = mapped_column(String(32))
    issue_type: Mapped[str] = mapped_column(String(64), default="")
    status_category: Mapped[str] = mapped_column(String(16), default="new")
    parent_key: Mapped[str | None] = mapped_column(String(64))
    story_points: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime | None] = mapped_column()
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class PullRequest(Base):
    __tablename__ = "pull_requests"
    __table_args__ = (
        UniqueConstraint("installation_id", "repo", "number"),
        Index("ix_pull_requests_merged", "site_id", "merged_at"),  # DORA keys' rolling windows
        Index("ix_pull_requests_repo_merged", "installation_id", "repo", "merged_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    installation_id: Mapped[int] = mapped_column(BigInteger)
    repo: Mapped[str] = mapped_column(String(255))
    number: Mapped[int] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(300), index=True)  # "owner/repo#12", as links name it
    title: Mapped[str] = mapped_column(Text, default="")
    branch: Mapped[str] = mapped_column(String(255), default="")
    head_sha: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    merged: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime | None] = mapped_column()
    merged_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime | None] = mapped_column()
    url: Mapped[str] = mapped_column(String(512), default="")
    jira_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    kr_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    check_run_id: Mapped[int | None] = mapped_column(BigInteger)


class GitHubInstallation(Base):
    __tablename__ = "github_installations"
    installation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(255), default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CheckIn(Base):
    """A weekly check-in: what happened, why, what next; its status overrides the computed one."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_kr_at", "kr_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kr_id: Mapped[int] = mapped_column(ForeignKey("key_results.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str | None] = mapped_column(String(255))
    value: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    what: Mapped[str] = mapped_column(Text, default="")
    why: Mapped[str] = mapped_column(Text, default="")
    next: Mapped[str] = mapped_column(Text, default="")
    decisions: Mapped[list[str]] = mapped_column(JSON, default=list)
    risks: Mapped[list[str]] = mapped_column(JSON, default=list)
    learnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    confidence: Mapped[float | None] = mapped_column(Float)  # the owner's odds of the target, 0..1


class Snapshot(Base):
    """A point of a KR's history: recorded whenever its derived snapshot changes."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_kr_at", "kr_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kr_id: Mapped[int] = mapped_column(ForeignKey("key_results.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    progress: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    current: Mapped[float | None] = mapped_column(Float)


class InboxEvent(Base):
    """An acknowledged event, stored in the transaction that answered it; unique per delivery."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("source", "scope", "delivery_id"),
        Index("ix_inbox_state", "state", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # jira | github | forge
    scope: Mapped[str] = mapped_column(String(255))  # clientKey, installation, ...
    delivery_id: Mapped[str] = mapped_column(String(255))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()
    # After a failure: not before this time (drains skip it until then). Parked rows
    # (state "failed") carry when they were parked, for the operator's list.
    retry_at: Mapped[datetime | None] = mapped_column()
    failed_at: Mapped[datetime | None] = mapped_column()


class Outbound(Base):
    """Pending write-back to an outside system, coalesced per target (one row per issue/PR)."""

    __tablename__ = "outbound"
    __table_args__ = (UniqueConstraint("site_id", "kind", "target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # issue_property | check_run
    target: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when the write was refused for good (`Permanent`) or failed too often: the row is
    # parked (no flush picks it) until `okrlink outbound retry`.
    failed_at: Mapped[datetime | None] = mapped_column()
    # One more for every change queued onto the row while it waits: a flush, which sends with
    # no transaction open, deletes the row only at the version it read (`sync/engine/jobs.py`).
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SyncCursor(Base):
    """Per-site bookmarks of periodic jobs (JQL reconcile: `updated >= last_sync`)."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[datetime] = mapped_column()


class WriteBackState(Base):
    """The digest of the last document written to a target: an unchanged one is not rewritten."""

    __tablename__ = "write_back_states"
    __table_args__ = (UniqueConstraint("site_id", "kind", "target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime] = mapped_column(default=utcnow)


class AsanaConnection(Base):
    """A site's Asana workspace: the token okrlink acts with (encrypted) and its own user."""

    __tablename__ = "asana_connections"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), unique=True)
    auth: Mapped[str] = mapped_column(String(16), default="token")  # token | oauth
    access_token: Mapped[str] = mapped_column(Text)  # Fernet token, never plaintext
    refresh_token: Mapped[str | None] = mapped_column(Text)  # Fernet token (OAuth only)
    expires_at: Mapped[datetime | None] = mapped_column()
    user_gid: Mapped[str] = mapped_column(String(64), default="")  # our writes' author
    workspace_gid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AsanaWebhook(Base):
    """A webhook on an Asana project; deliveries come to /webhooks/asana/<subscription>."""

    __tablename__ = "asana_webhooks"
    __table_args__ = (UniqueConstraint("site_id", "project_gid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    subscription: Mapped[str] = mapped_column(String(64), unique=True)
    project_gid: Mapped[str] = mapped_column(String(64))
    webhook_gid: Mapped[str | None] = mapped_column(String(64))
    secret: Mapped[str | None] = mapped_column(Text)  # Fernet token of X-Hook-Secret
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """A GitHub deployment, and when it first succeeded and first failed.

    Webhooks and the backfill write the same row (one per installation and deployment id);
    statuses only ever move `succeeded_at` / `failed_at` earlier, so replays and reordering
    converge on the same row.
    """

    __tablename__ = "deployments"
    __table_args__ = (
        UniqueConstraint("installation_id", "deployment_id"),
        Index("ix_deployments_window", "site_id", "environment", "created_at"),
        Index("ix_deployments_repo", "installation_id", "repo", "environment", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    installation_id: Mapped[int] = mapped_column(BigInteger)
    deployment_id: Mapped[int] = mapped_column(BigInteger)
    repo: Mapped[str] = mapped_column(String(255))
    sha: Mapped[str] = mapped_column(String(64), default="")
    ref: Mapped[str] = mapped_column(String(255), default="")
    environment: Mapped[str] = mapped_column(String(255), default="production")
    created_at: Mapped[datetime] = mapped_column()
    succeeded_at: Mapped[datetime | None] = mapped_column()
    failed_at: Mapped[datetime | None] = mapped_column()


class DeploymentChange(Base):
    """A merged PR and the first successful deployment of its repository that shipped it.

    One row per (PR, environment), written when a deployment succeeds (or stops counting as
    shipped) and when a merged PR arrives, by the webhook handler and the backfill alike: the
    change lead time reads a window of these pairs instead of matching PRs to deployments.
    """

    __tablename__ = "deployment_changes"
    __table_args__ = (
        UniqueConstraint("pull_request_id", "environment"),
        Index("ix_deployment_changes_window", "site_id", "environment", "shipped_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    installation_id: Mapped[int] = mapped_column(BigInteger)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    pull_request_id: Mapped[int] = mapped_column(ForeignKey("pull_requests.id", ondelete="CASCADE"))
    repo: Mapped[str] = mapped_column(String(255))
    environment: Mapped[str] = mapped_column(String(255))
    merged_at: Mapped[datetime] = mapped_column()
    shipped_at: Mapped[datetime] = mapped_column()
    lead_seconds: Mapped[float] = mapped_column(Float)  # shipped_at - first commit or PR open


class Incident(Base):
    """A Jira issue matching an `incident_jql`: when it was opened and resolved."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("site_id", "query", "key"),
        Index("ix_incidents_window", "site_id", "query", "opened_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    query: Mapped[str] = mapped_column(String(64))  # sha256 of the incident_jql
    key: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()


class Kpi(Base):
    """A team's health signal: a value kept inside a healthy range, never a target."""

    __tablename__ = "kpis"
    __table_args__ = (UniqueConstraint("site_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="metric")
    measure: Mapped[str | None] = mapped_column(String(32))
    jql: Mapped[str | None] = mapped_column(Text)
    jql_field: Mapped[str | None] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(32), default="")
    owner: Mapped[str | None] = mapped_column(String(255))
    healthy_min: Mapped[float | None] = mapped_column(Float)
    healthy_max: Mapped[float | None] = mapped_column(Float)
    drop_alert: Mapped[float | None] = mapped_column(Float)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    current: Mapped[float | None] = mapped_column(Float)
    health: Mapped[str] = mapped_column(String(16), default="healthy")
    reason: Mapped[str | None] = mapped_column(String(16))  # out_of_range | drop
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    team: Mapped[Team] = relationship()


class KpiValue(Base):
    """A point of a KPI's history: every new value, with the health it gave."""

    __tablename__ = "kpi_values"
    __table_args__ = (Index("ix_kpi_values_kpi_at", "kpi_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    value: Mapped[float | None] = mapped_column(Float)
    health: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(16))


class DigestChannel(Base):
    """Where a team's weekly digest and check-in reminder go: a Slack or Teams webhook."""

    __tablename__ = "digest_channels"
    __table_args__ = (Index("ix_digest_channels_site_team", "site_id", "team_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    team_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # slack | teams
    url: Mapped[str] = mapped_column(Text)  # Fernet token, never plaintext
    url_hint: Mapped[str] = mapped_column(String(255))  # masked, safe to show
    day: Mapped[str] = mapped_column(String(3), default="mon")
    time: Mapped[str] = mapped_column(String(5), default="09:00")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    lang: Mapped[str] = mapped_column(String(8), default="en")
    remind_days: Mapped[int] = mapped_column(Integer, default=2)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | parked
    parked_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestSend(Base):
    """One digest or reminder of one channel and week: inserting it claims the send.

    The unique (channel, kind, week) row is what makes a week's message go out once however
    many workers look: the insert that wins sends; a row marked `sent` is never sent again.
    """

    __tablename__ = "digest_sends"
    __table_args__ = (
        UniqueConstraint("channel_id", "kind", "week"),
        Index("ix_digest_sends_state", "state", "next_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("digest_channels.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # digest | reminder
    week: Mapped[str] = mapped_column(String(10))  # 2026-W49
    due_at: Mapped[datetime] = mapped_column()
    digest_at: Mapped[datetime] = mapped_column()  # the week's digest instant
    state: Mapped[str] = mapped_column(String(16), default="sending")
    # sending | retry | sent | skipped | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column()
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)


class DefinitionChange(Base):
    """One change to what an objective, a KR or a KPI says (title, target, owner...): who, when,
    and the fields before and after. Check-ins, derived snapshots and KPI values are kept
    elsewhere. A KPI is the team's, not a cycle's: its changes have no `cycle_id`."""

    __tablename__ = "definition_changes"
    __table_args__ = (Index("ix_definition_changes_target", "site_id", "cycle_id", "target_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(String(16))  # objective | key_result | kpi
    target_key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create | update | abandon | carry | close
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str | None] = mapped_column(String(255))
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CycleClose(Base):
    """A team's closed cycle: its retrospective; every objective and KR of it is read-only."""

    __tablename__ = "cycle_closes"
    __table_args__ = (UniqueConstraint("site_id", "team_id", "cycle_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(255))
    learned: Mapped[str] = mapped_column(Text, default="")
    differently: Mapped[str] = mapped_column(Text, default="")
    # The retrospective's Confluence page: the space chosen at the close, then the page once
    # published (a `retro_page` write-back does it, retried until Confluence takes it).
    retro_space: Mapped[str | None] = mapped_column(String(255))
    retro_page_id: Mapped[str | None] = mapped_column(String(64))
    retro_page_url: Mapped[str | None] = mapped_column(Text)
    retro_published_at: Mapped[datetime | None] = mapped_column()


class Person(Base):
    """An Atlassian account's profile as Jira last gave it, cached per site (`sync/people.py`):
    `state` is active, closed (a former user) or unknown (Jira does not know the account)."""

    __tablename__ = "people"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    fetched_at: Mapped[datetime] = mapped_column()


class PracticeProfile(Base):
    """A site's practice thresholds; a site without a row follows the defaults of
    `sync/core/practice.py`."""

    __tablename__ = "practice_profiles"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    max_objectives: Mapped[int] = mapped_column(Integer)
    min_krs: Mapped[int] = mapped_column(Integer)
    max_krs: Mapped[int] = mapped_column(Integer)


class DashboardToken(Base):
    """A site's read-only token for dashboards (Grafana, Datadog) to scrape `/api/v1/metrics`.

    Only the token's SHA-256 is kept: it is shown once, at creation, and a stolen database
    does not give it away. A revoked token stays listed with when it was revoked.
    """

    __tablename__ = "dashboard_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256, hex
    hint: Mapped[str] = mapped_column(String(16))  # the token's first characters, safe to show
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class GeckoboardDataset(Base):
    """A team's KRs pushed to a Geckoboard dataset, with the account's API key (encrypted).

    `next_push_at` spaces the pushes out (at most one a minute): a change before then is
    queued for then, so a burst of check-ins costs one push.
    """

    __tablename__ = "geckoboard_datasets"
    __table_args__ = (
        UniqueConstraint("site_id", "team_key"),
        UniqueConstraint("site_id", "dataset"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    team_key: Mapped[str] = mapped_column(String(64))
    dataset: Mapped[str] = mapped_column(String(255))  # Geckoboard's dataset id
    api_key: Mapped[str] = mapped_column(Text)  # Fernet token, never plaintext
    key_hint: Mapped[str] = mapped_column(String(32))  # masked, safe to show
    next_push_at: Mapped[datetime | None] = mapped_column()
    pushed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MonthlyScore(Base):
    """The score a KR's owner gave for one month (`YYYY-MM`), with its one-line reason.

    Given scores beat derived ones: a month without a row shows the score derived from the KR's
    history. One row per KR and month; giving it again replaces it (the latest word counts).
    """

    __tablename__ = "monthly_scores"
    __table_args__ = (UniqueConstraint("kr_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kr_id: Mapped[int] = mapped_column(ForeignKey("key_results.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    score: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthState(Base):
    """An OAuth `state` already used: its nonce, inserted once (the primary key refuses a
    second use, across processes); rows older than the state's lifetime are deleted."""

    __tablename__ = "oauth_states"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)

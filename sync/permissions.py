"""Who may do what: every write asks Jira's own permissions of the calling account.

Reading stays open to anyone signed in on the site; writing follows the team's Jira project
(a team is the Jira project with the team's key):

| action                                                  | who                                    |
|---------------------------------------------------------|----------------------------------------|
| check in on a KR, link or unlink work                   | `EDIT_ISSUES` on the team's project,   |
|                                                         | or the KR's owner (an account id)      |
| create, edit, abandon objectives, KRs and KPIs; close   | `ADMINISTER_PROJECTS` on the team's    |
| the cycle; publish the retrospective                    | project, or Jira admin (`ADMINISTER`)  |
| a team with no Jira project (a company level)           | Jira admins only                       |
| the admin page, digest channels, connections            | Jira admins only                       |
| the operator (`OKRLINK_ADMIN_TOKEN`)                    | everything                             |

A higher grant covers a lower one: a project admin may check in, a Jira admin may do all.
Jira's answers are kept `CACHE_SECONDS` per (site, account), so a page and its forms cost one
ask a minute, and a grant Jira withdraws is honoured within that minute. When Jira cannot be
asked the write is refused (`Unavailable`): never allowed on a guess.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from sync.core.jql_scope import JqlError, confined_projects
from sync.errors import Invalid, OkrlinkError, OutsideError
from sync.ports import JiraPermissions

ADMINISTER: Final = "ADMINISTER"
ADMINISTER_PROJECTS: Final = "ADMINISTER_PROJECTS"
EDIT_ISSUES: Final = "EDIT_ISSUES"
BROWSE_PROJECTS: Final = "BROWSE_PROJECTS"
PROJECT_PERMISSIONS: Final = (BROWSE_PROJECTS, EDIT_ISSUES, ADMINISTER_PROJECTS)
CACHE_SECONDS: Final = 60.0


@dataclass(frozen=True, slots=True)
class Grants:
    """What Jira granted: global permissions held, and per project permission the project
    ids it holds on."""

    global_permissions: frozenset[str] = frozenset()
    project_permissions: Mapping[str, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: an Atlassian account on a site (from a verified JWT or FIT), or the operator
    (the admin token), who may do everything."""

    site_id: int
    account_id: str | None
    operator: bool = False


class Refused(OkrlinkError):
    """The caller lacks `permission` for this write (answered 403 `forbidden`)."""

    def __init__(self, message: str, *, permission: str) -> None:
        super().__init__(message)
        self.message = message
        self.permission = permission


class Unavailable(OkrlinkError):
    """Jira could not be asked who the caller is (answered 503): the write is refused."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class _Known:
    """One account's answers on one site: Jira admin or not, and per team key the project
    permissions held (None: the site's Jira has no such project)."""

    at: float
    admin: bool
    projects: dict[str, frozenset[str] | None]


class Permissions:
    """The one authorisation layer every door asks (the API, the Connect and Forge pages)."""

    def __init__(
        self,
        *,
        jira: Callable[[], JiraPermissions | None],
        clock: Callable[[], float] = time.monotonic,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._jira = jira
        self._clock = clock
        self._ttl = cache_seconds
        self._known: dict[tuple[int, str], _Known] = {}
        self._lock = threading.Lock()

    # --- the rules -----------------------------------------------------------------------

    def require_write(self, caller: Caller, team: str) -> None:
        """Create, edit or abandon the team's OKRs and KPIs; close its cycle."""
        if caller.operator:
            return
        admin, held = self._team(caller, team)
        if admin:
            return
        if held is None:
            raise Refused(
                f"{team} has no Jira project: only Jira admins ({ADMINISTER}) write its OKRs",
                permission=ADMINISTER,
            )
        if ADMINISTER_PROJECTS not in held:
            raise Refused(
                f"writing {team}'s OKRs needs {ADMINISTER_PROJECTS} on the Jira project {team}",
                permission=ADMINISTER_PROJECTS,
            )

    def may_write(self, caller: Caller, team: str) -> bool:
        """Whether `require_write` would pass (pages hide the forms otherwise)."""
        return _passes(lambda: self.require_write(caller, team))

    def require_check_in(self, caller: Caller, team: str, *, owner: str | None = None) -> None:
        """Check in on a KR (or record a KPI value), link or unlink work."""
        if caller.operator or (owner and caller.account_id and owner == caller.account_id):
            return
        admin, held = self._team(caller, team)
        if admin:
            return
        if held is None:
            raise Refused(
                f"{team} has no Jira project: only Jira admins ({ADMINISTER}) or the KR's owner "
                "check in on its KRs",
                permission=ADMINISTER,
            )
        if not held & {EDIT_ISSUES, ADMINISTER_PROJECTS}:
            raise Refused(
                f"checking in on {team}'s KRs needs {EDIT_ISSUES} on the Jira project {team} "
                "(or being the KR's owner)",
                permission=EDIT_ISSUES,
            )

    def may_check_in(self, caller: Caller, team: str) -> bool:
        """Whether the caller may check in on every KR of the team."""
        return _passes(lambda: self.require_check_in(caller, team))

    def require_admin(self, caller: Caller) -> None:
        """The admin page, digest channels, the practice profile, GitHub and Asana connections."""
        if caller.operator:
            return
        if not self._admin(caller):
            raise Refused(
                f"this page is for Jira admins: it needs the {ADMINISTER} global permission",
                permission=ADMINISTER,
            )

    def browsable(self, caller: Caller, projects: Collection[str]) -> set[str]:
        """Those of `projects` (keys) the caller may browse (`BROWSE_PROJECTS`)."""
        if caller.operator:
            return set(projects)
        found = self._projects(caller, projects)
        return {key for key, held in found.items() if held and BROWSE_PROJECTS in held}

    def require_jql(self, caller: Caller, jql: str | None) -> str | None:
        """Refuse (`Invalid` on `jql`, answered 422) a JQL key result's query that could count
        issues outside projects the caller may browse; returns the author to store with it
        (None for the operator, whose queries are not confined)."""
        if caller.operator:
            return None
        try:
            projects = confined_projects(jql or "")
        except JqlError as exc:
            raise Invalid(f"the query cannot be read: {exc}", field="jql") from exc
        if projects is None:
            raise Invalid(
                "a JQL key result counts only what its author may browse: confine every OR "
                "branch with project = KEY or project in (KEY, ...)",
                field="jql",
            )
        hidden = sorted(projects - self.browsable(caller, projects))
        if hidden:
            raise Invalid(
                f"the query reaches {', '.join(hidden)}, which you may not browse "
                f"({BROWSE_PROJECTS} in Jira)",
                field="jql",
            )
        return caller.account_id

    def forget(self, site_id: int | None = None) -> None:
        """Drop cached answers (a site's, or all)."""
        with self._lock:
            for key in [k for k in self._known if site_id is None or k[0] == site_id]:
                del self._known[key]

    # --- asking Jira -----------------------------------------------------------------------

    def _team(self, caller: Caller, team: str) -> tuple[bool, frozenset[str] | None]:
        found = self._projects(caller, [team])
        return self._admin(caller), found[team]

    def _admin(self, caller: Caller) -> bool:
        return self._entry(caller, ()).admin

    def _projects(
        self, caller: Caller, projects: Iterable[str]
    ) -> dict[str, frozenset[str] | None]:
        keys = sorted(set(projects))
        entry = self._entry(caller, keys)
        return {key: entry.projects[key] for key in keys}

    def _entry(self, caller: Caller, keys: Collection[str]) -> _Known:
        """The caller's answers, covering `keys`: asked of Jira for what is missing or stale."""
        account = caller.account_id
        if not account:
            raise Refused("the request names no Atlassian account", permission=ADMINISTER)
        now = self._clock()
        with self._lock:
            entry = self._known.get((caller.site_id, account))
        if entry is not None and now - entry.at >= self._ttl:
            entry = None
        missing = [key for key in keys if entry is None or key not in entry.projects]
        if entry is not None and not missing:
            return entry
        asked = self._ask(caller.site_id, account, missing)
        with self._lock:
            if entry is None:
                entry = _Known(at=now, admin=asked.admin, projects={})
                self._known[(caller.site_id, account)] = entry
            entry.projects.update(asked.projects)
        return entry

    def _ask(self, site_id: int, account: str, keys: Collection[str]) -> _Known:
        jira = self._jira()
        if jira is None:
            raise Unavailable("okrlink has no way to ask Jira for permissions on this site")
        try:
            ids = {key: jira.project_id(site_id, key) for key in keys}
            known = {key: pid for key, pid in ids.items() if pid is not None}
            grants = jira.check(
                site_id,
                account_id=account,
                global_permissions=[ADMINISTER],
                project_permissions={p: sorted(known.values()) for p in PROJECT_PERMISSIONS}
                if known
                else {},
            )
        except OutsideError as exc:
            raise Unavailable(
                f"Jira could not be asked for your permissions, so nothing was changed: "
                f"{exc.message}"
            ) from exc
        projects: dict[str, frozenset[str] | None] = {
            key: None
            if pid is None
            else frozenset(
                p
                for p in PROJECT_PERMISSIONS
                if pid in grants.project_permissions.get(p, frozenset())
            )
            for key, pid in ids.items()
        }
        return _Known(at=0.0, admin=ADMINISTER in grants.global_permissions, projects=projects)


def _passes(check: Callable[[], None]) -> bool:
    try:
        check()
    except Refused:
        return False
    return True


def browsable_by(
    jira: JiraPermissions, site_id: int, account: str, projects: Collection[str]
) -> set[str]:
    """Those of `projects` (keys) `account` may browse, asked of Jira now (the JQL poll's check
    of a KR's author: once a poll, uncached); raises `OutsideError` when Jira does not answer."""
    ids = {key: jira.project_id(site_id, key) for key in projects}
    known = {key: pid for key, pid in ids.items() if pid is not None}
    if not known:
        return set()
    grants = jira.check(
        site_id,
        account_id=account,
        global_permissions=[],
        project_permissions={BROWSE_PROJECTS: sorted(known.values())},
    )
    held = grants.project_permissions.get(BROWSE_PROJECTS, frozenset())
    return {key for key, pid in known.items() if pid in held}

"""The rules and the cache of `sync.permissions`, with an in-memory Jira and a hand-moved clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from sync.errors import Transient
from sync.permissions import (
    ADMINISTER,
    ADMINISTER_PROJECTS,
    BROWSE_PROJECTS,
    EDIT_ISSUES,
    Caller,
    Grants,
    Permissions,
    Refused,
    Unavailable,
)

SITE = 1


class CountingJira:
    """Grants from a table; counts the bulk checks it answers."""

    def __init__(self) -> None:
        self.projects = {"PLAT": 10001, "HR": 10002}
        self.admins: set[str] = set()
        self.grants: dict[tuple[str, str], set[str]] = {}
        self.checks = 0
        self.failing = False

    def project_id(self, site_id: int, key: str) -> int | None:
        if self.failing:
            raise Transient("HTTP 500")
        return self.projects.get(key)

    def check(
        self,
        site_id: int,
        *,
        account_id: str,
        global_permissions: Sequence[str],
        project_permissions: Mapping[str, Sequence[int]],
    ) -> Grants:
        self.checks += 1
        keys = {pid: key for key, pid in self.projects.items()}
        return Grants(
            global_permissions=frozenset(
                p for p in global_permissions if account_id in self.admins
            ),
            project_permissions={
                p: frozenset(i for i in ids if p in self.grants.get((account_id, keys[i]), set()))
                for p, ids in project_permissions.items()
            },
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def jira() -> CountingJira:
    return CountingJira()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def permissions(jira: CountingJira, clock: Clock) -> Permissions:
    return Permissions(jira=lambda: jira, clock=clock)


def user(account: str) -> Caller:
    return Caller(site_id=SITE, account_id=account)


def test_a_project_admin_writes_and_checks_in_a_member_checks_in_only(
    permissions: Permissions, jira: CountingJira
) -> None:
    jira.grants[("admin", "PLAT")] = {BROWSE_PROJECTS, EDIT_ISSUES, ADMINISTER_PROJECTS}
    jira.grants[("member", "PLAT")] = {BROWSE_PROJECTS, EDIT_ISSUES}
    permissions.require_write(user("admin"), "PLAT")
    permissions.require_check_in(user("admin"), "PLAT")
    permissions.require_check_in(user("member"), "PLAT")
    with pytest.raises(Refused) as refused:
        permissions.require_write(user("member"), "PLAT")
    assert refused.value.permission == ADMINISTER_PROJECTS
    assert not permissions.may_write(user("member"), "HR")


def test_a_team_without_a_jira_project_is_written_by_jira_admins_only(
    permissions: Permissions, jira: CountingJira
) -> None:
    jira.admins.add("boss")
    permissions.require_write(user("boss"), "ACME")
    with pytest.raises(Refused) as refused:
        permissions.require_write(user("someone"), "ACME")
    assert refused.value.permission == ADMINISTER
    with pytest.raises(Refused):
        permissions.require_admin(user("someone"))
    permissions.require_admin(user("boss"))


def test_the_owner_checks_in_on_their_kr_without_asking_jira(
    permissions: Permissions, jira: CountingJira
) -> None:
    permissions.require_check_in(user("owner"), "PLAT", owner="owner")
    assert jira.checks == 0
    with pytest.raises(Refused):
        permissions.require_check_in(user("owner"), "PLAT", owner="someone-else")


def test_answers_are_kept_sixty_seconds_per_site_and_account(
    permissions: Permissions, jira: CountingJira, clock: Clock
) -> None:
    jira.grants[("member", "PLAT")] = {EDIT_ISSUES}
    for _ in range(3):
        permissions.require_check_in(user("member"), "PLAT")
    assert jira.checks == 1
    permissions.require_check_in(Caller(site_id=2, account_id="member"), "PLAT")
    assert jira.checks == 2  # another site is asked on its own
    jira.grants[("member", "PLAT")] = set()
    clock.now += 59
    permissions.require_check_in(user("member"), "PLAT")  # still the cached grant
    clock.now += 2
    with pytest.raises(Refused):  # a minute on, Jira's withdrawal holds
        permissions.require_check_in(user("member"), "PLAT")
    assert jira.checks == 3


def test_jira_not_answering_refuses_never_allows(
    permissions: Permissions, jira: CountingJira
) -> None:
    jira.failing = True
    with pytest.raises(Unavailable):
        permissions.require_write(user("admin"), "PLAT")
    with pytest.raises(Unavailable):
        permissions.may_write(user("admin"), "PLAT")
    assert Permissions(jira=lambda: None).may_write(Caller(SITE, None, operator=True), "PLAT")
    with pytest.raises(Unavailable):
        Permissions(jira=lambda: None).require_admin(user("admin"))


def test_a_caller_without_an_account_may_not_write(permissions: Permissions) -> None:
    with pytest.raises(Refused):
        permissions.require_check_in(Caller(site_id=SITE, account_id=None), "PLAT")


def test_browsable_keeps_the_projects_the_account_may_browse(
    permissions: Permissions, jira: CountingJira
) -> None:
    jira.grants[("member", "PLAT")] = {BROWSE_PROJECTS}
    assert permissions.browsable(user("member"), ["PLAT", "HR", "NOPE"]) == {"PLAT"}
    assert jira.checks == 1

"""The JQL subset incident queries use, judged locally as Jira would judge it."""

from __future__ import annotations

import pytest

from sync.core import jql_match
from sync.core.jql_match import compile_jql

INCIDENT = {
    "project": frozenset({"ops", "operations", "10042"}),
    "issuetype": frozenset({"incident"}),
    "labels": frozenset({"sev1", "customer"}),
    "priority": frozenset({"high", "2"}),
    "status": frozenset({"investigating", "10010"}),
    "statuscategory": frozenset({"indeterminate", "in progress", "4"}),
}


@pytest.mark.parametrize(
    ("jql", "matches"),
    [
        ("project = OPS AND issuetype = Incident", True),
        ('project = "Operations" and type = incident ORDER BY created DESC', True),
        ("project = 10042", True),
        ("project = WEB AND issuetype = Incident", False),
        ("labels = sev1", True),
        ("labels in (sev2, sev3)", False),
        ("labels != sev2", True),
        ("priority in (Highest, High)", True),
        ("priority not in (Highest, High)", False),
        ("status = 'Investigating'", True),
        ("statusCategory != Done", True),
        ('statusCategory = "In Progress"', True),
        ("(project = WEB OR project = OPS) AND NOT type = Bug", True),
        ("project = OPS AND (labels = sev2 OR priority = high)", True),
        ("status is not EMPTY", True),
        ("labels is EMPTY", False),
    ],
)
def test_a_query_of_the_subset_is_judged_like_jira(jql: str, matches: bool) -> None:
    matcher = compile_jql(jql)
    assert matcher is not None
    assert matcher(INCIDENT) is matches


def test_not_equal_and_not_in_never_match_an_empty_field() -> None:
    unlabelled = {**INCIDENT, "labels": frozenset()}
    for jql in ("labels != sev1", "labels not in (sev1)"):
        matcher = compile_jql(jql)
        assert matcher is not None
        assert matcher(unlabelled) is False
    matcher = compile_jql("labels is EMPTY")
    assert matcher is not None and matcher(unlabelled) is True


@pytest.mark.parametrize(
    "jql",
    [
        "project = OPS AND created >= -30d",
        "summary ~ outage",
        "assignee = currentUser()",
        "component = API",
        "project in (OPS",
        "project = OPS AND",
        "",
    ],
)
def test_a_query_outside_the_subset_is_left_to_jira(jql: str) -> None:
    assert compile_jql(jql) is None


def test_an_issue_that_does_not_say_what_a_clause_needs_is_not_judged() -> None:
    matcher = compile_jql("project = OPS AND labels = sev1")
    assert matcher is not None
    assert matcher({**INCIDENT, "labels": None}) is None
    # ... unless another clause already settles it.
    assert matcher({**INCIDENT, "project": frozenset({"web"}), "labels": None}) is False


def test_a_query_longer_than_the_cache_keeps_is_judged_the_same_and_not_kept() -> None:
    kept = jql_match.compile_jql.cached.cache_info().currsize
    jql = " OR ".join(f"labels = tag{n:05}" for n in range(jql_match.MAX_CACHED_JQL // 18))
    assert len(jql) > jql_match.MAX_CACHED_JQL
    matcher = compile_jql(jql + " OR project = OPS")
    assert matcher is not None and matcher(INCIDENT) is True
    assert jql_match.compile_jql.cached.cache_info().currsize == kept

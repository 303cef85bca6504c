"""The projects a JQL query is confined to (every OR branch by `project = X` or `in (...)`)."""

from __future__ import annotations

import pytest

from sync.core.jql_scope import JqlError, confined_projects


@pytest.mark.parametrize(
    ("jql", "projects"),
    [
        ("project = PLAT", {"PLAT"}),
        ("project = plat AND statusCategory = Done ORDER BY created DESC", {"PLAT"}),
        ('"project" = "PLAT" AND labels in (slo, "error budget")', {"PLAT"}),
        ("project in (PLAT, OPS) AND type = Bug", {"PLAT", "OPS"}),
        ("(project = PLAT AND type = Bug) OR project = OPS", {"PLAT", "OPS"}),
        ("assignee = currentUser() AND project = PLAT", {"PLAT"}),
        ('summary ~ "a or b" AND project = PLAT', {"PLAT"}),
        ("status was in (Done, Closed) AND project in (PLAT)", {"PLAT"}),
        ("project = PLAT AND (labels = x OR labels = y)", {"PLAT"}),
        ("project = PLAT AND project = OPS", set()),
    ],
)
def test_confined_queries_name_their_projects(jql: str, projects: set[str]) -> None:
    assert confined_projects(jql) == frozenset(projects)


@pytest.mark.parametrize(
    "jql",
    [
        "key = HR-12",
        "",
        "project = PLAT OR labels = secret",
        "NOT project = PLAT",
        "project != PLAT",
        "project not in (PLAT)",
        "project in projectsWhereUserHasRole(Developers)",
        "project = 10001",
        "labels = x OR (project = PLAT AND type = Bug)",
        "issue in linkedIssues(PLAT-1) OR project = PLAT",
    ],
)
def test_a_query_that_may_reach_any_project_is_not_confined(jql: str) -> None:
    assert confined_projects(jql) is None


@pytest.mark.parametrize("jql", ['project = "PLAT', "(project = PLAT", "project = PLAT)"])
def test_an_unreadable_query_is_an_error(jql: str) -> None:
    with pytest.raises(JqlError):
        confined_projects(jql)

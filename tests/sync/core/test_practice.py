from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from sync.core.practice import (
    Finding,
    Profile,
    check_key_result,
    check_team_okrs,
    has_errors,
)
from sync.core.spec import CycleSpec, KeyResultSpec, ObjectiveSpec, TeamOkrs, quarter

GOOD_KR = KeyResultSpec(
    key="PLAT-1.1",
    title="Reduce change failure rate from 15% to 5%",
    baseline=15,
    target=5,
    unit="%",
    owner="Release manager",
    line=10,
)


def _objective(key: str, n_krs: int = 3, *, line: int | None = None) -> ObjectiveSpec:
    krs = tuple(
        replace(GOOD_KR, key=f"{key}.{i}", line=(line or 0) + i if line else None)
        for i in range(1, n_krs + 1)
    )
    return ObjectiveSpec(
        key=key,
        title="Make the platform reliable",
        description="Customers stop losing work to our outages",
        key_results=krs,
        line=line,
    )


def _team(*objectives: ObjectiveSpec) -> TeamOkrs:
    return TeamOkrs(team="PLAT", cycle=quarter("2026-Q4"), objectives=objectives, line=1)


def _codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


# --- key results ---------------------------------------------------------------------------------


def test_an_outcome_with_numbers_and_owner_has_no_findings() -> None:
    assert check_key_result(GOOD_KR) == []


def test_a_task_worded_kr_is_warned_with_a_fix() -> None:
    kr = replace(GOOD_KR, key="PLAT-1.3", title="Create five web pages", baseline=None, target=None)
    findings = check_key_result(kr)
    task = next(f for f in findings if f.code == "task-not-outcome")
    assert task.level == "warning"
    assert task.line == 10
    assert task.key == "PLAT-1.3"
    assert "KR PLAT-1.3 reads like a task ('Create five web pages')" in task.message
    assert "from X to Y" in task.message


@pytest.mark.parametrize(
    "title",
    [
        "Write the runbook",
        "Set up on-call rotation",
        "Migrate the build to the new runners",
        "Launch the status page",
        "review alerting rules",
    ],
)
def test_task_verbs_without_a_measurable_change_are_warned(title: str) -> None:
    kr = replace(GOOD_KR, title=title, kind="issues", issues=("PLAT-9",), baseline=None)
    assert _codes(check_key_result(replace(kr, target=None))) == ["task-not-outcome"]


@pytest.mark.parametrize(
    "title",
    [
        "Migrate 80% of services to the new runners",
        "Launch in 3 new regions",
        "Update response time from two days to one",
    ],
)
def test_task_verbs_with_a_measurable_change_are_fine(title: str) -> None:
    kr = replace(GOOD_KR, title=title, kind="issues", issues=("PLAT-9",), baseline=None)
    assert check_key_result(replace(kr, target=None)) == []


def test_a_task_verb_with_baseline_and_target_is_fine() -> None:
    assert check_key_result(replace(GOOD_KR, title="Close stale incidents")) == []


def test_a_metric_kr_without_numbers_is_warned() -> None:
    findings = check_key_result(replace(GOOD_KR, title="Improve stability", target=None))
    assert _codes(findings) == ["no-number"]
    assert "baseline and target" in findings[0].message


def test_an_issues_kr_needs_no_number() -> None:
    kr = replace(
        GOOD_KR, title="Failover epic done", kind="issues", issues=("PLAT-40",), baseline=None
    )
    assert check_key_result(replace(kr, target=None)) == []


def test_jql_and_github_krs_need_their_own_measure_and_target() -> None:
    jql = replace(GOOD_KR, kind="jql", jql="project = PLAT AND type = Bug", baseline=None)
    assert check_key_result(jql) == []
    assert _codes(check_key_result(replace(jql, jql=None))) == ["no-number"]
    github = replace(GOOD_KR, kind="github", measure="lead_time_hours", baseline=None)
    assert check_key_result(github) == []
    assert _codes(check_key_result(replace(github, target=None))) == ["no-number"]


def test_a_kr_without_owner_is_warned() -> None:
    findings = check_key_result(replace(GOOD_KR, owner="  "))
    assert _codes(findings) == ["no-owner"]
    assert "owner:" in findings[0].message


@pytest.mark.parametrize("kind", ["metric", "jql", "github"])
def test_target_equal_to_baseline_is_an_error(kind: str) -> None:
    kr = replace(GOOD_KR, kind=kind, target=15, jql="project = PLAT", measure="lead_time_hours")
    findings = check_key_result(kr)
    assert _codes(findings) == ["target-equals-baseline"]
    assert has_errors(findings)
    assert "set the target" in findings[0].message


def test_unknown_kind_is_an_error_listing_the_kinds() -> None:
    findings = check_key_result(replace(GOOD_KR, kind="okr"))
    assert "unknown-kind" in _codes(findings)
    assert "metric, issues, jql, github" in findings[0].message


@pytest.mark.parametrize("weight", [0.0, -1.0])
def test_weight_must_be_positive(weight: float) -> None:
    assert _codes(check_key_result(replace(GOOD_KR, weight=weight))) == ["weight-not-positive"]


def test_abandoned_kr_needs_a_reason() -> None:
    abandoned = replace(GOOD_KR, state="abandoned")
    assert _codes(check_key_result(abandoned)) == ["abandoned-without-reason"]
    assert check_key_result(replace(abandoned, abandon_reason="Vendor dropped the product")) == []


def test_abandoned_kr_is_not_warned_about_wording() -> None:
    kr = replace(
        GOOD_KR, title="Create pages", owner=None, state="abandoned", abandon_reason="Out of scope"
    )
    assert check_key_result(kr) == []


@pytest.mark.parametrize("field", ["baseline", "target", "current", "weight"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_errors(field: str, value: float) -> None:
    findings = check_key_result(replace(GOOD_KR, **{field: value}))
    assert _codes(findings) == ["non-finite-number"]
    assert field in findings[0].message


def test_unknown_github_measure_is_an_error() -> None:
    kr = replace(GOOD_KR, kind="github", measure="stars")
    assert _codes(check_key_result(kr)) == ["unknown-measure"]


# --- team OKRs -----------------------------------------------------------------------------------


def test_three_objectives_with_three_to_five_krs_have_no_findings() -> None:
    okrs = _team(_objective("PLAT-1", 3), _objective("PLAT-2", 4), _objective("PLAT-3", 5))
    assert check_team_okrs(okrs) == []


def test_more_than_three_objectives_warns_at_the_fourth() -> None:
    okrs = _team(*(_objective(f"PLAT-{n}", line=10 * n) for n in range(1, 5)))
    findings = check_team_okrs(okrs)
    assert _codes(findings) == ["too-many-objectives"]
    assert (findings[0].line, findings[0].key) == (40, "PLAT-4")


@pytest.mark.parametrize(
    ("count", "code"), [(0, "too-few-krs"), (2, "too-few-krs"), (6, "too-many-krs")]
)
def test_krs_per_objective_outside_three_to_five_are_warned(count: int, code: str) -> None:
    findings = check_team_okrs(_team(_objective("PLAT-1", count, line=5)))
    assert _codes(findings) == [code]
    assert findings[0].line == 5


def test_abandoned_krs_do_not_count_towards_krs_per_objective() -> None:
    objective = _objective("PLAT-1", 3)
    dropped = replace(objective.key_results[0], state="abandoned", abandon_reason="Out of scope")
    objective = replace(objective, key_results=(dropped, *objective.key_results[1:]))
    assert _codes(check_team_okrs(_team(objective))) == ["too-few-krs"]


def test_duplicate_keys_are_errors_naming_the_first_use() -> None:
    first = _objective("PLAT-1", line=3)
    second = _objective("PLAT-1", line=20)
    findings = check_team_okrs(_team(first, second))
    duplicates = [f for f in findings if f.code == "duplicate-key"]
    assert {f.key for f in duplicates} == {"PLAT-1", "PLAT-1.1", "PLAT-1.2", "PLAT-1.3"}
    objective_dup = next(f for f in duplicates if f.key == "PLAT-1")
    assert objective_dup.line == 20
    assert "first used on line 3" in objective_dup.message
    assert has_errors(findings)


def test_cycle_ending_before_it_starts_is_an_error() -> None:
    okrs = replace(
        _team(_objective("PLAT-1")),
        cycle=CycleSpec(name="Autumn", start=date(2026, 12, 31), end=date(2026, 10, 1)),
    )
    findings = check_team_okrs(okrs)
    assert _codes(findings) == ["cycle-end-before-start"]
    assert findings[0].line == 1


def test_findings_are_sorted_by_line() -> None:
    objectives = [_objective(f"PLAT-{n}", 2, line=100 - 10 * n) for n in range(1, 5)]
    lines = [f.line for f in check_team_okrs(_team(*objectives))]
    assert lines == sorted(lines)


def test_warnings_alone_do_not_refuse_a_save() -> None:
    findings = check_team_okrs(_team(_objective("PLAT-1", 2)))
    assert findings
    assert not has_errors(findings)


# --- deliverable counts, French titles, profiles, alignment --------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Create five web pages",
        "Launch two new features",
        "Ship 3 integrations",
        "Créer cinq pages web",
        "Lancer deux nouvelles offres",
        "Mettre en place trois tableaux",
    ],
)
def test_a_kr_counting_deliverables_reads_like_a_task_even_with_baseline_and_target(
    title: str,
) -> None:
    kr = replace(GOOD_KR, title=title, baseline=0, target=5)
    assert "task-not-outcome" in _codes(check_key_result(kr))


@pytest.mark.parametrize(
    "title",
    ["Rédiger le guide d’exploitation", "Créer des pages web", "Déployer la nouvelle passerelle"],
)
def test_french_task_titles_without_numbers_are_warned(title: str) -> None:
    kr = replace(GOOD_KR, title=title, baseline=None, target=None)
    assert "task-not-outcome" in _codes(check_key_result(kr))


@pytest.mark.parametrize(
    "title",
    [
        "Faire passer la disponibilité de 99,5 % à 99,99 %",
        "Réduire le taux d’échec de 15 % à 5 %",
        "Raise availability from 99.5% to 99.99%",
    ],
)
def test_outcomes_in_either_language_are_not_tasks(title: str) -> None:
    assert check_key_result(replace(GOOD_KR, title=title)) == []


def test_a_site_profile_moves_the_thresholds() -> None:
    two_to_five = Profile(max_objectives=3, min_krs=2, max_krs=5)
    assert check_team_okrs(_team(_objective("PLAT-1", 2)), profile=two_to_five) == []
    at_most_three = Profile(max_objectives=2, min_krs=1, max_krs=3)
    findings = check_team_okrs(
        _team(_objective("PLAT-1", 4), _objective("PLAT-2"), _objective("PLAT-3")),
        profile=at_most_three,
    )
    assert sorted(_codes(findings)) == ["too-many-krs", "too-many-objectives"]
    assert dict(findings[0].params)["max"] in (2, 3)


def test_a_company_level_team_may_hold_five_objectives() -> None:
    five = _team(*(_objective(f"ACME-{n}") for n in range(1, 6)))
    assert _codes(check_team_okrs(five)) == ["too-many-objectives"]
    assert check_team_okrs(five, company=True) == []
    six = _team(*(_objective(f"ACME-{n}") for n in range(1, 7)))
    assert _codes(check_team_okrs(six, company=True)) == ["too-many-objectives"]


def test_an_unknown_parent_is_a_finding_when_the_cycle_is_known() -> None:
    aligned = replace(_objective("PLAT-1"), parent="ACME-9")
    assert check_team_okrs(_team(aligned)) == []
    findings = check_team_okrs(_team(aligned), known_parents=frozenset({"ACME-1"}))
    assert _codes(findings) == ["unknown-parent"]
    assert findings[0].level == "warning"
    assert "ACME-9" in findings[0].message
    assert check_team_okrs(_team(aligned), known_parents=frozenset({"ACME-9"})) == []


# --- the practice's last rules: activity, an objective's why, an objective worded as a task --


@pytest.mark.parametrize(
    ("changes", "activity"),
    [
        (
            {"kind": "github", "measure": "merged_prs", "title": "Faster delivery from 30 to 45"},
            "merged_prs",
        ),
        ({"title": "Raise merged PRs per week from 30 to 45"}, "merged_prs"),
        ({"title": "Grow commits per engineer from 10 to 20"}, "commits"),
        ({"title": "Close 40 tickets a week, from 25"}, "tickets_closed"),
        ({"kind": "jql", "jql": "project = PLAT AND statusCategory = Done"}, "tickets_closed"),
        ({"title": "Deployments per week from 3 to 10"}, "deployments"),
        ({"title": "Passer de 20 à 40 tickets fermés par semaine"}, "tickets_closed"),
    ],
)
def test_a_kr_that_counts_activity_gets_a_note_suggesting_an_outcome(
    changes: dict[str, str], activity: str
) -> None:
    findings = check_key_result(replace(GOOD_KR, **changes))  # type: ignore[arg-type]
    note = next(f for f in findings if f.code == "counts-activity")
    assert note.level == "warning"
    assert note.params["activity"] == activity
    assert "lead time, change failure rate" in note.message


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"kind": "github", "measure": "change_failure_rate", "title": "Safer deployments"},
        {"title": "Deployment failure rate from 15% to 5%"},
        {"title": "Resolve customer tickets within 2 days instead of 5"},
        {"kind": "jql", "jql": "project = PLAT AND type = Bug"},
    ],
)
def test_outcomes_about_the_same_work_get_no_activity_note(changes: dict[str, str]) -> None:
    findings = check_key_result(replace(GOOD_KR, **changes))  # type: ignore[arg-type]
    assert "counts-activity" not in _codes(findings)


def test_an_objective_without_a_description_is_noted() -> None:
    objective = replace(_objective("PLAT-1", line=3), description=None)
    findings = check_team_okrs(_team(objective))
    assert _codes(findings) == ["no-why"]
    assert findings[0].line == 3
    assert "description:" in findings[0].message


@pytest.mark.parametrize(
    ("title", "task"),
    [
        ("Migrate the billing service to the new cluster", True),
        ("Launch three new features", True),
        ("Mettre en place la supervision", True),
        ("Make the platform reliable", False),
        ("Customers trust our releases", False),
    ],
)
def test_an_objective_worded_as_a_task_gets_the_kr_rules_note(title: str, task: bool) -> None:
    objective = replace(_objective("PLAT-1"), title=title)
    codes = _codes(check_team_okrs(_team(objective)))
    assert ("objective-task-not-outcome" in codes) is task

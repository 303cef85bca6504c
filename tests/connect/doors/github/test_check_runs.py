"""Pull requests end to end: delivery -> links to KRs -> "OKR impact" check run on GitHub."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.cli.github import configure, map_installation
from connect.services import services_of
from integrations.github.checks import CHECK_NAME, HOW_TO_LINK
from sync.db.model import CheckIn, Installation, Link, Outbound, PullRequest, WorkItem
from tests.support.github_app import (
    API,
    check_run_answer,
    check_run_calls,
    check_run_url,
    check_runs_url,
    deliver,
    fixture,
    kr,
    load_okrs,
    store,
)

REPO = "Codertocat/Hello-World"
REPO_ID = 186853002
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
REF = f"{REPO}#2"
ISSUES_KR_ROW = "PLAT-1.1 Fail over between regions in under 5 minutes"


def opened(
    *, title: str = "PLAT-13 Update the README with new information.", body: str | None = None
) -> dict[str, Any]:
    """GitHub's `pull_request.opened` example with a title (and body) naming our work."""
    payload = fixture("pull_request.opened.json")
    payload["pull_request"]["title"] = title
    if body is not None:
        payload["pull_request"]["body"] = body
    return payload


def post_runs(github: responses.RequestsMock, *run_ids: int, repo: str = REPO) -> None:
    for run_id in run_ids:
        github.add(
            responses.POST,
            check_runs_url(repo),
            json=check_run_answer(run_id, SHA, repo),
            status=201,
        )


def patch_run(github: responses.RequestsMock, run_id: int, *, repo: str = REPO) -> None:
    github.add(
        responses.PATCH, check_run_url(repo, run_id), json=check_run_answer(run_id, SHA, repo)
    )


def sent(call: responses.Call) -> dict[str, Any]:
    import json

    return json.loads(call.request.body)


def pr_links(app: Flask, ref: str = REF) -> dict[str, str]:
    """KR key -> link source, for the links that name this PR."""
    from sync.db.model import KeyResult

    with store(app).session() as session:
        rows = session.execute(
            select(KeyResult.key, Link.source)
            .join(Link, Link.kr_id == KeyResult.id)
            .where(Link.target_kind == "github", Link.target_key == ref)
        ).all()
        return dict(rows)


@pytest.fixture
def site_id(app: Flask, clock) -> int:
    """PLAT's OKRs on the local site, and GitHub's example installation 1 mapped to it."""
    site = load_okrs(app, clock.now())
    map_installation(app, 1, "local")
    return site


def test_a_pr_naming_a_linked_issue_gets_a_check_run_naming_its_kr(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    post_runs(github, 4)
    answer = deliver(client, "pull_request", opened(), delivery="d-1")
    assert answer.status_code == 202
    [call] = check_run_calls(github)
    assert call.request.method == "POST"
    assert call.request.headers["Authorization"].endswith("ghs_installation_token")
    body = sent(call)
    assert (body["name"], body["head_sha"], body["status"]) == (CHECK_NAME, SHA, "completed")
    assert body["conclusion"] == "neutral"
    assert body["output"]["title"] == "Advances 1 key result"
    summary = body["output"]["summary"]
    # PLAT-13 is a story of epic PLAT-12, which PLAT-1.1 links; PLAT-14, its sibling, is done.
    row = next(line for line in summary.splitlines() if ISSUES_KR_ROW in line)
    assert "| 50% | 100% (+50 pts) |" in row
    assert "Platform tech lead" in row
    assert "Make the platform the most reliable in its sector" in row
    assert body["actions"] == [
        {"label": "Refresh", "description": "Recompute KR impact", "identifier": "refresh"}
    ]
    assert pr_links(app) == {"PLAT-1.1": "pr"}
    with store(app).session() as session:
        pull = session.scalars(select(PullRequest)).one()
        assert (pull.ref, pull.check_run_id, pull.jira_keys) == (REF, 4, ["PLAT-13"])
        assert session.scalar(select(Outbound.id)) is None or all(
            row.kind != "check_run" for row in session.scalars(select(Outbound))
        )


def test_the_run_links_to_the_okr_page_of_the_sites_jira(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    with store(app).session() as session:
        session.add(
            Installation(
                site_id=site_id,
                client_key="jira-client-key",
                product="jira",
                base_url="https://acme.atlassian.net",
            )
        )
    post_runs(github, 4)
    deliver(client, "pull_request", opened(), delivery="d-1")
    body = sent(check_run_calls(github)[0])
    page = "https://acme.atlassian.net/plugins/servlet/ac/okrlink-test/okr-general-page"
    assert body["details_url"] == page
    assert body["output"]["summary"].endswith(f"[Open the team's OKR page]({page})")


def test_a_kr_line_in_the_body_links_that_kr_directly(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    post_runs(github, 4)
    deliver(
        client, "pull_request", opened(title="Tidy the README", body="KR: PLAT-1.2"), delivery="d-1"
    )
    body = sent(check_run_calls(github)[0])
    assert pr_links(app) == {"PLAT-1.2": "pr"}
    row = next(line for line in body["output"]["summary"].splitlines() if "PLAT-1.2" in line)
    # A PR-count KR (0 -> 20 merged PRs) moves by one PR when this one merges.
    assert "| 0% | 5% (+5 pts) |" in row


def test_merging_the_pr_moves_the_github_krs_it_is_linked_to(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    post_runs(github, 4)
    deliver(client, "pull_request", opened(body="KR: PLAT-1.2, PLAT-1.3"), delivery="d-open")
    assert (kr(app, site_id, "PLAT-1.2").progress, kr(app, site_id, "PLAT-1.3").current) == (
        0.0,
        None,
    )
    merged = fixture("pull_request.closed.merged.json")
    pull = merged["pull_request"]
    # The same PR as opened above, merged 24 h after it was opened, inside the cycle.
    merged["installation"]["id"] = 1
    merged["number"] = pull["number"] = 2
    pull["base"]["repo"]["full_name"] = REPO
    pull["head"]["sha"] = SHA
    pull["title"] = "PLAT-13 Update the README with new information."
    pull["body"] = "KR: PLAT-1.2, PLAT-1.3"
    pull["created_at"] = "2026-11-19T10:00:00Z"
    pull["merged_at"] = pull["closed_at"] = pull["updated_at"] = "2026-11-20T10:00:00Z"
    answer = deliver(client, "pull_request", merged, delivery="d-merged")
    assert answer.status_code == 202
    merged_prs = kr(app, site_id, "PLAT-1.2")
    lead_time = kr(app, site_id, "PLAT-1.3")
    assert (merged_prs.current, merged_prs.progress) == (1.0, 0.05)
    assert (lead_time.current, lead_time.progress) == (24.0, 1.0)
    # Closed PRs keep their last run: the merge published nothing new.
    assert len(check_run_calls(github)) == 1
    with store(app).session() as session:
        assert session.scalars(select(Outbound).where(Outbound.kind == "check_run")).all() == []


def test_editing_the_pr_updates_its_links_and_older_updates_are_ignored(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    map_installation(app, 77289, "local")
    repo, ref = "sotayamashita/labeling-droid", "sotayamashita/labeling-droid#16"
    post_runs(github, 11, repo=repo)
    patch_run(github, 11, repo=repo)
    edited = fixture("pull_request.edited.json")
    edited["pull_request"]["body"] = "KR: PLAT-1.2"
    deliver(client, "pull_request", edited, delivery="e-1")
    assert pr_links(app, ref) == {"PLAT-1.2": "pr"}
    with store(app).session() as session:
        kr_id = kr(app, site_id, "PLAT-1.3").id
        session.add(
            Link(site_id=site_id, kr_id=kr_id, target_kind="github", target_key=ref, source="api")
        )

    later = fixture("pull_request.edited.json")
    later["pull_request"].update(
        title="PLAT-13 Update README.md", body="", updated_at="2018-01-07T06:30:00Z"
    )
    deliver(client, "pull_request", later, delivery="e-2")
    assert pr_links(app, ref) == {"PLAT-1.1": "pr", "PLAT-1.3": "api"}

    older = fixture("pull_request.edited.json")
    older["pull_request"].update(body="KR: PLAT-1.2", updated_at="2018-01-07T06:22:00Z")
    deliver(client, "pull_request", older, delivery="e-3")
    assert pr_links(app, ref) == {"PLAT-1.1": "pr", "PLAT-1.3": "api"}
    with store(app).session() as session:
        assert session.scalars(select(PullRequest.title)).one() == "PLAT-13 Update README.md"
    methods = [call.request.method for call in check_run_calls(github)]
    assert methods == ["POST", "PATCH"]
    assert "Advances 2 key results" in sent(check_run_calls(github)[1])["output"]["title"]


def test_refresh_button_re_renders_the_run_in_place(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    post_runs(github, 4)
    patch_run(github, 4)
    deliver(client, "pull_request", opened(), delivery="d-1")
    with store(app).session() as session:
        item = session.scalars(select(WorkItem).where(WorkItem.key == "PLAT-13")).one()
        item.status_category = "done"  # seen, say, by the nightly reconcile, without a recompute
    action = fixture("check_run.requested_action.json")
    action["installation"]["id"] = 1
    action["requested_action"]["identifier"] = "refresh"
    action["repository"].update(id=REPO_ID, full_name=REPO)
    run = action["check_run"]
    run["head_sha"] = SHA
    run["pull_requests"] = [{"number": 2, "head": {"sha": SHA}, "base": {"repo": {"id": REPO_ID}}}]
    answer = deliver(client, "check_run", action, delivery="d-refresh")
    assert answer.status_code == 202
    calls = check_run_calls(github)
    assert [c.request.method for c in calls] == ["POST", "PATCH"]
    assert calls[1].request.url.replace(":443/", "/").endswith(f"/repos/{REPO}/check-runs/4")
    assert "head_sha" not in sent(calls[1])
    assert sent(calls[1])["output"]["title"] == "Advances 1 key result"


def test_rerequesting_the_check_suite_posts_a_new_run(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    post_runs(github, 4, 5)
    deliver(client, "pull_request", opened(), delivery="d-1")
    suite = fixture("check_suite.rerequested.json")
    suite["installation"]["id"] = 1
    answer = deliver(client, "check_suite", suite, delivery="d-rerun")
    assert answer.status_code == 202
    assert [c.request.method for c in check_run_calls(github)] == ["POST", "POST"]
    with store(app).session() as session:
        assert session.scalars(select(PullRequest.check_run_id)).one() == 5


def test_a_rerequested_run_of_an_unknown_pr_publishes_nothing(
    client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    answer = deliver(client, "check_run", fixture("check_run.rerequested.json"), delivery="d-1")
    assert answer.status_code == 202
    assert check_run_calls(github) == []


def test_a_kr_change_updates_the_run_of_each_linked_open_pr_once(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int, clock
) -> None:
    post_runs(github, 4)
    patch_run(github, 4)
    deliver(client, "pull_request", opened(body="KR: PLAT-1.2"), delivery="d-1")
    issues_kr, prs_kr = kr(app, site_id, "PLAT-1.1"), kr(app, site_id, "PLAT-1.2")
    with store(app).session() as session:
        item = session.scalars(select(WorkItem).where(WorkItem.key == "PLAT-13")).one()
        item.status_category = "done"
        session.add(
            CheckIn(
                site_id=site_id,
                kr_id=prs_kr.id,
                at=clock.now(),
                status="at_risk",
                what="Two fixes slipped to next sprint",
            )
        )
    clock.current += timedelta(minutes=5)
    services_of(app).jobs.recompute(site_id, [issues_kr.id, prs_kr.id])
    calls = check_run_calls(github)
    assert [c.request.method for c in calls] == ["POST", "PATCH"]
    summary = sent(calls[1])["output"]["summary"]
    assert "| 100% | 100% |" in next(line for line in summary.splitlines() if "PLAT-1.1" in line)
    assert "at risk" in next(line for line in summary.splitlines() if "PLAT-1.2" in line)


def test_a_pr_with_no_kr_gets_a_neutral_run_saying_how_to_link_one(
    client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    post_runs(github, 4)
    deliver(client, "pull_request", opened(title="Update the README"), delivery="d-1")
    body = sent(check_run_calls(github)[0])
    assert (body["conclusion"], body["output"]["title"]) == ("neutral", "No key result linked")
    assert body["output"]["summary"].startswith(HOW_TO_LINK)


def test_a_repository_can_turn_the_no_kr_run_off(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    configure(app, 1, repo=REPO, changes={"no_kr_message": False})
    deliver(client, "pull_request", opened(title="Update the README"), delivery="d-1")
    assert check_run_calls(github) == []


def test_a_repository_can_make_linked_runs_succeed(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    configure(app, 1, repo=REPO, changes={"conclusion": "success"})
    configure(app, 1, repo="Codertocat/Other", changes={"conclusion": "neutral"})
    post_runs(github, 4)
    deliver(client, "pull_request", opened(), delivery="d-1")
    assert sent(check_run_calls(github)[0])["conclusion"] == "success"


def test_a_secondary_rate_limit_defers_the_run_instead_of_failing(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int, clock
) -> None:
    github.add(
        responses.POST,
        check_runs_url(REPO),
        json={
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again."
        },
        status=403,
        headers={"Retry-After": "120"},
    )
    answer = deliver(client, "pull_request", opened(), delivery="d-1")
    assert answer.status_code == 202
    with store(app).session() as session:
        row = session.scalars(select(Outbound).where(Outbound.kind == "check_run")).one()
        assert (row.target, row.attempts) == (REF, 1)
        assert row.due_at == clock.now() + timedelta(seconds=120)
        assert session.scalars(select(PullRequest.check_run_id)).one() is None


def test_prs_of_an_unmapped_installation_are_linked_once_it_is_mapped(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, clock
) -> None:
    load_okrs(app, clock.now())
    deliver(client, "pull_request", opened(), delivery="d-1")
    assert check_run_calls(github) == []
    assert pr_links(app) == {}
    post_runs(github, 4)
    map_installation(app, 1, "local")
    assert pr_links(app) == {"PLAT-1.1": "pr"}
    [call] = check_run_calls(github)
    assert ISSUES_KR_ROW in sent(call)["output"]["summary"]


def test_a_suspended_installation_gets_no_runs(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    suspend = fixture("installation.created.json")
    suspend["action"], suspend["installation"]["id"] = "suspend", 1
    deliver(client, "installation", suspend, delivery="i-1")
    deliver(client, "pull_request", opened(), delivery="d-1")
    assert check_run_calls(github) == []
    assert pr_links(app) == {"PLAT-1.1": "pr"}


def test_the_github_api_url_setting_reaches_enterprise_server_paths(
    client: FlaskClient, github: responses.RequestsMock, site_id: int
) -> None:
    post_runs(github, 4)
    deliver(client, "pull_request", opened(), delivery="d-1")
    urls = [call.request.url.replace(":443/", "/") for call in github.calls]
    assert urls == [f"{API}/app/installations/1/access_tokens", f"{API}/repos/{REPO}/check-runs"]


def test_a_refused_check_run_is_parked_with_its_error(
    app: Flask, client: FlaskClient, github: responses.RequestsMock, site_id: int, clock
) -> None:
    github.add(
        responses.POST,
        check_runs_url(REPO),
        status=422,
        json={"message": "No commit found for SHA"},
    )
    answer = deliver(client, "pull_request", opened(), delivery="d-1")
    assert answer.status_code == 202
    with store(app).session() as session:
        row = session.scalars(select(Outbound).where(Outbound.kind == "check_run")).one()
        assert (row.target, row.attempts, row.failed_at) == (REF, 1, clock.now())
        assert row.last_error == "Rejected: No commit found for SHA"
    calls = len(check_run_calls(github))
    services_of(app).jobs.flush_outbound(site_id)  # parked: not tried again
    assert len(check_run_calls(github)) == calls

"""`GET /metrics`: each webhook, write-back and request moves its figure by exactly what happened.

Counters are process-wide, so each test compares a scrape taken after it acts with one taken
before, and names every sample that moved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from connect.cli.github import map_installation
from connect.services import install, services_of
from connect.settings import Settings
from integrations.github.client import GitHubApp, GitHubAppConfig
from integrations.github.publisher import GitHubChecks
from sync.db.model import InboxEvent
from sync.ports import Ports
from tests.support import github_app
from tests.support.forge import (
    APP_UUID,
    JWKS_URL,
    LIFECYCLE_MODULE,
    STRANGER_KEY,
    fit,
    forge_headers,
    forge_issue_event,
    jwks_document,
)
from tests.support.jira import (
    FakeTracker,
    create_okrs,
    install_jira,
    issue_event,
    link,
    post_webhook,
)
from tests.support.metrics import moved, parse, scrape, value

CLIENT = "jira-acme"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WEBHOOKS = "okrlink_webhooks_total"
WRITES = "okrlink_outbound_writes_total"
REQUESTS = "okrlink_http_request_seconds_count"
KRS = [{"key": "PLAT-1.1", "title": "Close the failover epic", "kind": "issues"}]
TOKENS = github_app.at(f"{github_app.API}/app/installations/") + r"\d+/access_tokens$"


@pytest.fixture(scope="module")
def pem() -> str:
    return github_app.app_private_key()


@pytest.fixture
def settings(settings: Settings, pem: str) -> Settings:
    """Every door configured: Connect (always), Forge, and the GitHub App."""
    return settings.replace(
        forge_app_id=APP_UUID,
        forge_jwks_url=JWKS_URL,
        github_webhook_secret=github_app.SECRET,
        github_app_id=github_app.APP_ID,
        github_private_key=pem,
        github_api_url=github_app.API,
    )


@pytest.fixture
def tracker() -> FakeTracker:
    return FakeTracker()


@pytest.fixture
def ports(ports: Ports, settings: Settings, tracker: FakeTracker) -> Ports:
    config = GitHubAppConfig.from_settings(settings)
    assert config is not None
    checks = GitHubChecks(GitHubApp(config, sleep=github_app.SleepRecorder()))
    return replace(ports, tracker=tracker, checks=checks)


@pytest.fixture
def outside() -> Iterator[responses.RequestsMock]:
    """Forge's keys and GitHub's API, answered locally; any other call fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(JWKS_URL, json=jwks_document())
        mock.add(
            responses.POST,
            re.compile(TOKENS),
            json={
                "token": "ghs_installation_token",
                "expires_at": "2099-01-01T00:00:00Z",
                "permissions": {"checks": "write"},
                "repository_selection": "selected",
            },
            status=201,
        )
        yield mock


@pytest.fixture
def secret(app: Flask) -> str:
    return install_jira(app, CLIENT)


def jira(client: FlaskClient, secret: str, payload: dict | bytes, delivery: str):
    return post_webhook(client, payload, secret=secret, client_key=CLIENT, delivery=delivery)


# --- the scrape itself ---------------------------------------------------------------------


def test_the_scrape_needs_the_admin_token(client: FlaskClient, admin: dict[str, str]) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = client.get("/metrics", headers=admin)
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"
    assert (WEBHOOKS, frozenset({("source", "asana"), ("outcome", "recorded")})) in parse(
        answer.get_data(as_text=True)
    )


def test_public_metrics_need_no_token(app: Flask, settings: Settings) -> None:
    services = services_of(app)
    install(app, replace(services, settings=settings.replace(metrics_public=True)))
    assert app.test_client().get("/metrics").status_code == 200


# --- webhooks, by source and outcome ---------------------------------------------------------


def test_jira_deliveries_count_once_each_whichever_layer_answers(
    client: FlaskClient, admin: dict[str, str], secret: str
) -> None:
    before = scrape(client, admin)
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    assert jira(client, secret, payload, "d-1").json["status"] == "accepted"  # the hot path
    assert jira(client, secret, payload, "d-1").json == {"status": "duplicate"}
    assert jira(client, "not-the-shared-secret-0123456789abcdef", payload, "d-2").status_code == 401
    assert jira(client, secret, b"{not json", "d-3").status_code == 400  # Flask's answer
    after = scrape(client, admin)
    assert moved(before, after, WEBHOOKS, source="jira") == {
        "recorded": 1,
        "duplicate": 1,
        "rejected": 1,
        "invalid": 1,
    }
    assert moved(before, after, WEBHOOKS, source="forge") == {}


def test_an_echo_of_our_own_write_counts_as_ignored(
    app: Flask, client: FlaskClient, admin: dict[str, str], secret: str
) -> None:
    before = scrape(client, admin)
    echo = issue_event(
        "updated",
        key="PLAT-7",
        issue_id="7",
        updated=T0,
        changes=[("okrlink", "okrlink", None, "{}")],
    )
    assert jira(client, secret, echo, "d-echo").json == {"status": "ignored", "reason": "echo"}
    assert moved(before, scrape(client, admin), WEBHOOKS, source="jira") == {"ignored": 1}


def test_forge_events_count_by_outcome(
    client: FlaskClient, admin: dict[str, str], outside: responses.RequestsMock
) -> None:
    installed = client.post(
        "/forge/lifecycle",
        json={"eventType": "avi:forge:installed:app"},
        headers=forge_headers(module=LIFECYCLE_MODULE),
    )
    assert installed.status_code == 200, installed.json
    before = scrape(client, admin)
    event = forge_issue_event(issue_event("created", key="PLAT-7", issue_id="7", updated=T0))
    event["id"] = "forge-event-1"
    assert client.post("/forge/events", json=event, headers=forge_headers()).json["status"] == (
        "accepted"
    )
    assert client.post("/forge/events", json=event, headers=forge_headers()).json == {
        "status": "duplicate"
    }
    forged = forge_headers(fit(key=STRANGER_KEY))
    assert client.post("/forge/events", json=event, headers=forged).status_code == 401
    not_an_issue = {"eventType": "avi:jira:created:comment", "id": "forge-event-2"}
    assert client.post("/forge/events", json=not_an_issue, headers=forge_headers()).status_code == (
        400
    )
    after = scrape(client, admin)
    assert moved(before, after, WEBHOOKS, source="forge") == {
        "recorded": 1,
        "duplicate": 1,
        "rejected": 1,
        "invalid": 1,
    }


def test_github_deliveries_count_by_outcome(
    client: FlaskClient, admin: dict[str, str], outside: responses.RequestsMock
) -> None:
    before = scrape(client, admin)
    deliver = github_app.deliver
    opened = github_app.fixture("pull_request.opened.json")
    assert deliver(client, "ping", github_app.fixture("ping.json"), delivery="g-0").status_code == (
        200
    )
    assert deliver(client, "pull_request", opened, delivery="g-1").status_code == 202
    assert deliver(client, "pull_request", opened, delivery="g-1").json == {"status": "duplicate"}
    assert deliver(client, "pull_request", opened, delivery="g-2", secret="wrong").status_code == (
        401
    )
    assert deliver(client, "pull_request", b"[not json", delivery="g-3").status_code == 400
    after = scrape(client, admin)
    assert moved(before, after, WEBHOOKS, source="github") == {
        "ignored": 1,
        "recorded": 1,
        "duplicate": 1,
        "rejected": 1,
        "invalid": 1,
    }


# --- write-backs and applying ----------------------------------------------------------------


def test_jira_property_writes_count_what_reached_jira_and_what_was_deferred(
    client: FlaskClient, admin: dict[str, str], secret: str, tracker: FakeTracker
) -> None:
    create_okrs(client, admin, site=CLIENT, krs=KRS)
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-12")
    before, written = scrape(client, admin), len(tracker.writes)
    done = issue_event(
        "updated",
        key="PLAT-12",
        issue_id="12",
        category="done",
        updated=T0,
        changes=[("status", "Status", "To Do", "Done")],
    )
    assert jira(client, secret, done, "d-done").json["status"] == "accepted"
    after = scrape(client, admin)
    assert len(tracker.writes) - written == 1
    assert moved(before, after, WRITES, target="jira_property") == {"ok": 1}
    assert (
        value(after, "okrlink_apply_seconds_count") - value(before, "okrlink_apply_seconds_count")
        == 1
    )

    tracker.rate_limited_for = 30
    reopened = issue_event(
        "updated",
        key="PLAT-12",
        issue_id="12",
        category="new",
        updated=T0.replace(hour=10),
        changes=[("status", "Status", "Done", "To Do")],
    )
    assert jira(client, secret, reopened, "d-reopened").json["status"] == "accepted"
    later = scrape(client, admin)
    assert moved(after, later, WRITES, target="jira_property") == {"retry": 1}
    assert value(later, "okrlink_outbound_pending") == 1


def test_a_write_back_refused_for_good_is_parked_and_counted_once(
    client: FlaskClient, admin: dict[str, str], secret: str, tracker: FakeTracker
) -> None:
    create_okrs(client, admin, site=CLIENT, krs=KRS)
    link(client, admin, site=CLIENT, kr="PLAT-1.1", target="PLAT-12")
    before = scrape(client, admin)
    assert value(before, "okrlink_outbound_parked") == 0
    tracker.refusing = True
    done = issue_event(
        "updated",
        key="PLAT-12",
        issue_id="12",
        category="done",
        updated=T0,
        changes=[("status", "Status", "To Do", "Done")],
    )
    assert jira(client, secret, done, "d-refused").json["status"] == "accepted"
    after = scrape(client, admin)
    assert moved(before, after, WRITES, target="jira_property") == {"parked": 1}
    assert value(after, "okrlink_outbound_parked") == 1
    assert value(after, "okrlink_outbound_pending") == 0


def test_a_check_run_published_counts_as_a_github_check_write(
    app: Flask, client: FlaskClient, admin: dict[str, str], outside: responses.RequestsMock, clock
) -> None:
    github_app.load_okrs(app, clock.now())
    map_installation(app, 1, "local")
    repo = "Codertocat/Hello-World"
    sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    outside.add(
        responses.POST,
        github_app.check_runs_url(repo),
        json=github_app.check_run_answer(4, sha, repo),
        status=201,
    )
    before = scrape(client, admin)
    opened = github_app.fixture("pull_request.opened.json")
    opened["pull_request"]["title"] = "PLAT-13 Update the README with new information."
    assert github_app.deliver(client, "pull_request", opened, delivery="g-pr").status_code == 202
    after = scrape(client, admin)
    assert len(github_app.check_run_calls(outside)) == 1
    assert moved(before, after, WRITES, target="github_check") == {"ok": 1}
    assert moved(before, after, WEBHOOKS, source="github") == {"recorded": 1}


# --- the backlog, read from the database -----------------------------------------------------


def test_backlog_gauges_show_pending_and_failed_events_and_the_oldest_age(
    app: Flask, client: FlaskClient, admin: dict[str, str], secret: str
) -> None:
    empty = scrape(client, admin)
    assert value(empty, "okrlink_inbox_pending") == 0
    assert value(empty, "okrlink_inbox_oldest_pending_seconds") == 0
    store = services_of(app).store
    with store.session() as session:
        for n, state in enumerate(("pending", "pending", "failed", "done")):
            session.add(
                InboxEvent(
                    source="jira",
                    scope=CLIENT,
                    delivery_id=f"b-{n}",
                    event="jira:issue",
                    payload={},
                    state=state,
                    received_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
    figures = scrape(client, admin)
    assert value(figures, "okrlink_inbox_pending") == 2
    assert value(figures, "okrlink_inbox_failed") == 1
    assert value(figures, "okrlink_inbox_oldest_pending_seconds") > 3600
    with store.session() as session:
        session.execute(update(InboxEvent).values(state="done"))
    assert value(scrape(client, admin), "okrlink_inbox_oldest_pending_seconds") == 0


# --- requests, by route template -------------------------------------------------------------


def test_requests_are_timed_by_route_template_and_status_class_never_by_site(
    client: FlaskClient, admin: dict[str, str], secret: str
) -> None:
    create_okrs(client, admin, site=CLIENT, krs=KRS)
    before = scrape(client, admin)
    site = {**admin, "X-Okrlink-Site": CLIENT}
    assert client.get("/api/v1/key-results/PLAT-1.1", headers=site).status_code == 200
    assert client.get("/api/v1/key-results/PLAT-9.9", headers=site).status_code == 404
    assert client.get(f"/no/such/page/{CLIENT}").status_code == 404
    payload = issue_event("created", key="PLAT-7", issue_id="7", updated=T0)
    assert jira(client, secret, payload, "d-timed").status_code == 200  # answered by the hot path
    after = scrape(client, admin)
    assert moved(before, after, REQUESTS, route="/api/v1/key-results/<key>") == {
        "2xx": 1,
        "4xx": 1,
    }
    assert moved(before, after, REQUESTS, route="unmatched") == {"4xx": 1}
    assert moved(before, after, REQUESTS, route="/webhooks/jira") == {"2xx": 1}
    labels = {
        v
        for (name, sample), _ in after.items()
        if name.startswith("okrlink_http")
        for _, v in sample
    }
    assert not any(CLIENT in label or "PLAT" in label for label in labels)


# --- the weekly digest -----------------------------------------------------------------------


class RecordingChat:
    """Slack and Teams as the Chat port sees them: each post kept, or refused with `error`."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.error: Exception | None = None

    def post(self, *, kind: str, url: str, payload: dict[str, object]) -> None:
        if self.error is not None:
            raise self.error
        self.posts.append(kind)


def test_digest_sends_count_as_slack_and_teams_writes_by_outcome(
    app: Flask, client: FlaskClient, admin: dict[str, str], secret: str
) -> None:
    from sync.db.store import find_site
    from sync.digest import ChannelSpec, add_channel
    from sync.errors import Permanent

    create_okrs(client, admin, site=CLIENT, krs=KRS)
    services = services_of(app)
    chat = RecordingChat()
    services.jobs.ports = replace(services.jobs.ports, chat=chat)
    with services.store.session() as session:
        site_id = find_site(session, CLIENT).id
        for kind in ("slack", "teams"):
            spec = ChannelSpec(team="PLAT", kind=kind, url=f"https://chat.example/{kind}")
            add_channel(
                session,
                site_id,
                spec,
                encrypt=services.tenants.encrypt,
                now=services.jobs.ports.clock.now(),
                urls=services.outbound,
            )
    before = scrape(client, admin)
    services.digest.send_now(site_id, "PLAT")
    chat.error = Permanent("HTTP 404: no_service", status=404)
    services.digest.send_now(site_id, "PLAT")
    after = scrape(client, admin)
    assert sorted(chat.posts) == ["slack", "teams"]
    assert moved(before, after, WRITES, target="slack") == {"ok": 1, "parked": 1}
    assert moved(before, after, WRITES, target="teams") == {"ok": 1, "parked": 1}

"""Asana end to end: the webhook handshake on the real route, signed deliveries, replays,
reordering, a lost event healed by the reconcile, echoes, and the goal write-back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connect.services import Services, services_of
from sync.db.model import AsanaConnection, AsanaWebhook, InboxEvent, Outbound
from tests.support.app import CLIENT_KEY, MACRO_PARAMS, PANEL, signed_url
from tests.support.asana import ME, FakeAsana
from tests.support.base import FakeClock
from tests.support.jira import (
    CREATED,
    FakeTracker,
    create_okrs,
    fixture,
    get_kr,
    issue_fields,
    link,
)
from tests.support.metrics import moved, scrape

PROJECT = "1300000000000001"
GOAL = "1400000000000001"


def services(app: Flask) -> Services:
    return services_of(app)


def watch(app: Flask, site_id: int) -> str:
    """`okrlink asana watch`: returns the webhook gid Asana created."""
    return services(app).asana_watcher.watch(site_id, PROJECT).webhook_gid


def issues_kr(client: FlaskClient, admin: dict[str, str], **extra: object) -> None:
    kr = {"key": "PLAT-1.1", "title": "Launch in every region", "kind": "issues", **extra}
    create_okrs(client, admin, site=CLIENT_KEY, krs=[kr])


def launch_project(fake: FakeAsana, clock: FakeClock) -> None:
    """A project with two tasks in its sections, one of them with a subtask."""
    fake.add_project(PROJECT)
    before = clock.now() - timedelta(days=1)
    fake.add_task("1500000000000001", project=PROJECT, modified=before)
    fake.add_task("1500000000000002", project=PROJECT, modified=before)
    fake.add_task("1500000000000003", parent="1500000000000002", modified=before)


def inbox_rows(app: Flask) -> int:
    with services(app).store.session() as session:
        return len(session.scalars(select(InboxEvent.id)).all())


def test_connecting_stores_the_token_encrypted_and_our_own_user(live: Flask, site_id: int) -> None:
    with services(live).store.session() as session:
        row = session.scalar(select(AsanaConnection).where(AsanaConnection.site_id == site_id))
        assert row is not None
        assert row.user_gid == ME["gid"]
        assert "test-token" not in row.access_token
        assert services(live).tenants.decrypt(row.access_token) == "test-token"


def test_watch_performs_the_handshake_on_the_real_route_and_keeps_the_secret_encrypted(
    live: Flask, site_id: int, fake_asana: FakeAsana
) -> None:
    fake_asana.add_project(PROJECT)
    webhook_gid = watch(live, site_id)
    hook = fake_asana.webhooks[webhook_gid]
    assert hook["target"].startswith(services(live).settings.base_url + "/webhooks/asana/")
    with services(live).store.session() as session:
        row = session.scalar(select(AsanaWebhook).where(AsanaWebhook.site_id == site_id))
        assert row is not None and row.active and row.webhook_gid == webhook_gid
        assert row.secret is not None and hook["secret"] not in row.secret
        assert services(live).tenants.decrypt(row.secret) == hook["secret"]


def test_a_second_handshake_cannot_replace_the_secret(
    live: Flask, site_id: int, fake_asana: FakeAsana
) -> None:
    fake_asana.add_project(PROJECT)
    hook = fake_asana.webhooks[watch(live, site_id)]
    answer = requests.post(hook["target"], headers={"X-Hook-Secret": "attacker"}, timeout=10)
    assert answer.status_code == 401
    assert "X-Hook-Secret" not in answer.headers


def test_a_project_link_counts_its_tasks_and_subtasks_once_and_moves_with_deliveries(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    launch_project(fake_asana, clock)
    issues_kr(client, admin)
    link(client, admin, site=CLIENT_KEY, kr="PLAT-1.1", target=f"asana:{PROJECT}")
    kr = get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")
    assert (kr["done"], kr["total"]) == (0, 3)
    webhook_gid = watch(live, site_id)

    fake_asana.update_task("1500000000000003", completed=True, modified=clock.now())
    answer = fake_asana.deliver(webhook_gid, [fake_asana.event("1500000000000003")])
    assert answer.status_code == 202
    kr = get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")
    assert (kr["done"], kr["total"]) == (1, 3)


def test_unsigned_forged_or_unknown_deliveries_are_401_and_record_nothing(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock
) -> None:
    launch_project(fake_asana, clock)
    hook = fake_asana.webhooks[watch(live, site_id)]
    body = json.dumps({"events": [fake_asana.event("1500000000000001")]}).encode()
    unsigned = requests.post(hook["target"], data=body, timeout=10)
    forged = requests.post(
        hook["target"], data=body, timeout=10, headers={"X-Hook-Signature": "0" * 64}
    )
    unknown = requests.post(
        hook["target"].rsplit("/", 1)[0] + "/nope",
        data=body,
        timeout=10,
        headers={"X-Hook-Signature": "0" * 64},
    )
    assert [r.status_code for r in (unsigned, forged, unknown)] == [401, 401, 401]
    assert unsigned.json()["error"]["code"] == "invalid_signature"
    assert inbox_rows(live) == 0


def test_a_malformed_signed_body_is_400_and_a_heartbeat_records_nothing(
    live: Flask, site_id: int, fake_asana: FakeAsana
) -> None:
    fake_asana.add_project(PROJECT)
    webhook_gid = watch(live, site_id)
    refused = fake_asana.deliver(webhook_gid, [], body=b"not json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "malformed_body"  # as at every door
    # The payload guards of every door: NaN and NUL-free JSON only, nothing recorded.
    nan = fake_asana.deliver(webhook_gid, [], body=b'{"events": [{"n": NaN}]}')
    assert (nan.status_code, nan.json()["error"]["code"]) == (400, "malformed_body")
    assert fake_asana.deliver(webhook_gid, []).json() == {"status": "heartbeat"}
    assert inbox_rows(live) == 0


def test_a_replayed_delivery_is_a_duplicate_and_counts_once(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    launch_project(fake_asana, clock)
    issues_kr(client, admin)
    link(client, admin, site=CLIENT_KEY, kr="PLAT-1.1", target=f"asana:{PROJECT}")
    webhook_gid = watch(live, site_id)
    fake_asana.update_task("1500000000000001", completed=True, modified=clock.now())
    events = [fake_asana.event("1500000000000001", when=clock.now())]
    assert fake_asana.deliver(webhook_gid, events).status_code == 202
    again = fake_asana.deliver(webhook_gid, events)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert inbox_rows(live) == 1
    assert get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")["done"] == 1


def test_events_out_of_order_converge_on_the_current_state(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    launch_project(fake_asana, clock)
    issues_kr(client, admin)
    link(client, admin, site=CLIENT_KEY, kr="PLAT-1.1", target=f"asana:{PROJECT}")
    webhook_gid = watch(live, site_id)
    task = "1500000000000002"
    completed_at, reopened_at = clock.now(), clock.now() + timedelta(minutes=1)
    fake_asana.update_task(task, completed=False, modified=reopened_at)  # reopened last
    # The "reopened" event arrives first, the older "completed" one after it.
    fake_asana.deliver(webhook_gid, [fake_asana.event(task, when=reopened_at)])
    fake_asana.deliver(webhook_gid, [fake_asana.event(task, when=completed_at)])
    assert get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")["done"] == 0


def test_events_by_our_own_asana_user_are_dropped_unread(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock
) -> None:
    launch_project(fake_asana, clock)
    webhook_gid = watch(live, site_id)
    fake_asana.requests.clear()
    fake_asana.deliver(webhook_gid, [fake_asana.event("1500000000000001", user=ME["gid"])])
    assert ("GET", "/api/1.0/tasks/1500000000000001") not in fake_asana.requests


def test_a_lost_event_heals_at_the_next_reconcile(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    launch_project(fake_asana, clock)
    issues_kr(client, admin)
    link(client, admin, site=CLIENT_KEY, kr="PLAT-1.1", target=f"asana:{PROJECT}")
    services(live).asana_sync.reconcile()  # the first run sets the cursor
    clock.current += timedelta(minutes=15)
    fake_asana.update_task("1500000000000001", completed=True, modified=clock.now())
    fake_asana.add_task("1500000000000004", project=PROJECT, modified=clock.now())
    # No delivery: Asana lost it, and never replays.
    assert get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")["done"] == 0
    assert services(live).asana_sync.reconcile() == {site_id: 1}
    kr = get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")
    assert (kr["done"], kr["total"]) == (1, 4)


def test_a_kr_line_in_a_task_description_links_it_and_removing_the_line_unlinks_it(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    issues_kr(client, admin)
    fake_asana.add_project(PROJECT)
    fake_asana.add_task(
        "1500000000000009",
        project=PROJECT,
        modified=clock.now(),
        notes="Rollout plan\nKR: plat-1.1\n",
    )
    webhook_gid = watch(live, site_id)
    fake_asana.deliver(webhook_gid, [fake_asana.event("1500000000000009", field_name="notes")])
    assert get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")["total"] == 1
    fake_asana.update_task(
        "1500000000000009", notes="Rollout plan", modified=clock.now() + timedelta(minutes=1)
    )
    fake_asana.deliver(webhook_gid, [fake_asana.event("1500000000000009", field_name="notes")])
    assert get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")["total"] == 0


def test_a_deactivated_webhook_is_re_created_and_unwatch_removes_it(
    live: Flask, site_id: int, fake_asana: FakeAsana
) -> None:
    fake_asana.add_project(PROJECT)
    first = watch(live, site_id)
    fake_asana.webhooks[first]["active"] = False  # Asana gave up on it
    healed = services(live).asana_watcher.heal(site_id)
    assert [h.project_gid for h in healed] == [PROJECT]
    assert first not in fake_asana.webhooks and healed[0].webhook_gid in fake_asana.webhooks
    assert services(live).asana_watcher.heal(site_id) == []
    assert services(live).asana_watcher.unwatch(site_id, PROJECT)
    assert fake_asana.webhooks == {}
    with services(live).store.session() as session:
        assert session.scalars(select(AsanaWebhook)).all() == []


def test_goal_write_back_waits_out_a_429_and_writes_each_change_once(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    launch_project(fake_asana, clock)
    fake_asana.add_goal(GOAL, target=3)
    fake_asana.rate_limit_goals = 1
    issues_kr(client, admin, asana_goal=GOAL)
    link(client, admin, site=CLIENT_KEY, kr="PLAT-1.1", target=f"asana:{PROJECT}")
    services(live).jobs.flush_outbound(site_id)
    assert fake_asana.goal_writes == []
    with services(live).store.session() as session:
        row = session.scalar(select(Outbound).where(Outbound.kind == "asana_goal"))
        assert row is not None and row.due_at == clock.now() + timedelta(seconds=30)
    clock.current += timedelta(seconds=30)
    services(live).jobs.flush_outbound(site_id)
    services(live).jobs.flush_outbound(site_id)
    # Nothing done yet, well into the cycle: off track, shown red.
    assert fake_asana.goal_writes == [
        (GOAL, {"current_number_value": 0}),
        (GOAL, {"status": "red"}),
    ]


def test_two_jira_issues_and_two_asana_tasks_show_2_of_4_everywhere(
    live: Flask,
    site_id: int,
    fake_asana: FakeAsana,
    clock: FakeClock,
    admin: dict[str, str],
    tracker: FakeTracker,
) -> None:
    client = live.test_client()
    template = fixture(CREATED)["issue"]
    for key, number, category in (("PLAT-12", "10012", "done"), ("PLAT-40", "10040", "new")):
        tracker.issues[key] = issue_fields(
            template,
            key=key,
            issue_id=number,
            category=category,
            updated=clock.now() - timedelta(hours=1),
        )
    fake_asana.add_task("1500000000000021", completed=True, modified=clock.now())
    fake_asana.add_task("1500000000000022", modified=clock.now())
    fake_asana.add_goal(GOAL, target=4)
    issues_kr(client, admin, asana_goal=GOAL)
    for target in (
        "PLAT-12",
        "PLAT-40",
        "asana:1500000000000021",
        "asana:https://app.asana.com/0/0/1500000000000022",
    ):
        link(client, admin, site=CLIENT_KEY, kr="PLAT-1.1", target=target)
    services(live).jobs.flush_outbound(site_id)

    kr = get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")
    assert (kr["done"], kr["total"], kr["progress"]) == (2, 4, 0.5)
    panel = client.get(signed_url(PANEL, MACRO_PARAMS))
    assert "2 / 4 issues done" in panel.get_data(as_text=True)
    written = {key: value for _site, key, value in tracker.writes}
    assert set(written) == {"PLAT-12", "PLAT-40"}
    assert written["PLAT-12"]["krs"][0]["progress"] == 0.5
    goal = fake_asana.goals[GOAL]
    assert goal["metric"]["current_number_value"] == 2
    assert goal["status"] == {"on_track": "green", "at_risk": "yellow"}[kr["status"]]


def test_a_goal_asana_refuses_for_good_is_parked_with_a_warning_not_retried(
    live: Flask,
    site_id: int,
    fake_asana: FakeAsana,
    clock: FakeClock,
    admin: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = live.test_client()
    launch_project(fake_asana, clock)
    issues_kr(client, admin, asana_goal="1400000000000404")  # no such goal
    link(client, admin, site=CLIENT_KEY, kr="PLAT-1.1", target=f"asana:{PROJECT}")
    services(live).jobs.flush_outbound(site_id)
    assert "Asana goal 1400000000000404 was not written" in caplog.text
    with services(live).store.session() as session:
        assert session.scalars(select(Outbound).where(Outbound.kind == "asana_goal")).all() == []


def test_a_kr_naming_a_number_custom_field_sums_it_instead_of_counting_tasks(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    fake_asana.add_project(PROJECT)
    before = clock.now() - timedelta(hours=1)
    fake_asana.add_task(
        "1500000000000041", project=PROJECT, effort=3, completed=True, modified=before
    )
    fake_asana.add_task("1500000000000042", project=PROJECT, effort=5, modified=before)
    issues_kr(client, admin, asana_field="Effort")
    link(client, admin, site=CLIENT_KEY, kr="PLAT-1.1", target=f"asana:{PROJECT}")
    kr = get_kr(client, admin, site=CLIENT_KEY, kr="PLAT-1.1")
    assert (kr["done"], kr["total"], kr["asana_field"]) == (3, 8, "Effort")


def test_asana_deliveries_count_in_the_webhook_metrics_by_outcome(
    live: Flask, site_id: int, fake_asana: FakeAsana, clock: FakeClock, admin: dict[str, str]
) -> None:
    client = live.test_client()
    launch_project(fake_asana, clock)
    webhook_gid = watch(live, site_id)
    before = scrape(client, admin)
    events = [fake_asana.event("1500000000000001", when=clock.now())]
    assert fake_asana.deliver(webhook_gid, events).status_code == 202
    assert fake_asana.deliver(webhook_gid, events).json()["status"] == "duplicate"
    assert fake_asana.deliver(webhook_gid, [], body=b"not json").status_code == 400
    hook = fake_asana.webhooks[webhook_gid]
    unsigned = requests.post(hook["target"], data=b'{"events": []}', timeout=10)
    assert unsigned.status_code == 401
    after = scrape(client, admin)
    assert moved(before, after, "okrlink_webhooks_total", source="asana") == {
        "recorded": 1,
        "duplicate": 1,
        "invalid": 1,
        "rejected": 1,
    }

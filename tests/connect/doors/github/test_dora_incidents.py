"""Jira incidents through the Jira webhook doors, beside GitHub's deployments: DORA by hand.

The week of test_deployments.py (D1 ships 20 Nov 10:30, D2 fails, D3 ships 21 Nov 14:30, D4
ships 23 Nov 9:10 and its change is reverted), and the incidents of
`project = OPS AND type = Incident` as Jira's webhooks report them (signed Connect
deliveries, or Forge product events):

- OPS-1 opened 20 Nov 11:00 (30 min after D1 shipped), resolved 13:00: 2 h;
- OPS-2 opened 22 Nov 18:00 (27.5 h after D3, before D4), resolved 23 Nov 0:00: 6 h;
- OPS-3 opened 24 Nov 1:00, still open;
- OPS-4, a Task of OPS opened 21 Nov 15:00 (30 min after D3): not an incident.

By hand: change failure rate 3 of 4 = 75 % (D1 by OPS-1, D2 failed, D4 reverted; D3 is clear
as long as OPS-4 is a Task); time to restore the median of 2 h and 6 h = 4 h.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connect.cli.github import map_installation
from connect.services import services_of
from connect.settings import Settings
from sync.apply.incidents import poll_all as poll_incidents
from sync.core.spec import CycleSpec, KpiSpec, ObjectiveSpec, TeamOkrs
from sync.db.model import Incident
from sync.db.store import find_site
from sync.kpis import find_kpi
from sync.okrs import import_team_okrs
from tests.connect.doors.github.test_deployments import (
    INCIDENT_JQL,
    NOW,
    IncidentJira,
    at,
    dora_kr,
    week,
)
from tests.support.deployments import INSTALLATION, Deliveries
from tests.support.forge import (
    APP_UUID,
    JWKS_URL,
    LIFECYCLE_MODULE,
    forge_headers,
    forge_issue_event,
    installed_event,
    jwks_document,
)
from tests.support.github_app import count, kr, store
from tests.support.jira import incident_event, install_jira, post_webhook

SITE = "acme.atlassian.net"
CLIENT = "jira-acme"
SCOPE = {"incident_jql": INCIDENT_JQL}
OKRS = TeamOkrs(
    team="PLAT",
    cycle=CycleSpec(name="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31)),
    objectives=(
        ObjectiveSpec(
            key="PLAT-1",
            title="Ship small changes safely",
            key_results=(
                dora_kr("PLAT-1.3", "change_failure_rate", 15, 5, **SCOPE),
                dora_kr("PLAT-1.4", "time_to_restore_hours", 24, 1, **SCOPE),
            ),
        ),
    ),
    kpis=(
        KpiSpec(
            key="PLAT-K1",
            title="Time to restore",
            kind="github",
            measure="time_to_restore_hours",
            unit="h",
            healthy_max=8,
            incident_jql=INCIDENT_JQL,
        ),
    ),
)

Delivery = tuple[str, Any]  # ("github:<event>", payload) or ("jira", webhook payload)


def incidents() -> list[Delivery]:
    """Each issue created, then resolved, as Jira reports them (in the order they happened)."""
    return [
        ("jira", incident_event("created", key="OPS-1", opened=at(20, 11), updated=at(20, 11))),
        (
            "jira",
            incident_event(
                "updated", key="OPS-1", opened=at(20, 11), updated=at(20, 13), resolved=at(20, 13)
            ),
        ),
        (
            "jira",
            incident_event(
                "created", key="OPS-4", opened=at(21, 15), updated=at(21, 15), issue_type="Task"
            ),
        ),
        ("jira", incident_event("created", key="OPS-2", opened=at(22, 18), updated=at(22, 18))),
        (
            "jira",
            incident_event(
                "updated", key="OPS-2", opened=at(22, 18), updated=at(23, 0), resolved=at(23, 0)
            ),
        ),
        ("jira", incident_event("created", key="OPS-3", opened=at(24, 1), updated=at(24, 1))),
    ]


def everything() -> list[Delivery]:
    return [(f"github:{event}", payload) for event, payload in week()] + incidents()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(forge_app_id=APP_UUID, forge_jwks_url=JWKS_URL)


@pytest.fixture
def forge_keys() -> Iterator[responses.RequestsMock]:
    """Forge's JWKS; any other outbound call fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(JWKS_URL, json=jwks_document())
        yield mock


Door = Callable[[dict[str, Any], str], TestResponse]


@pytest.fixture(params=["connect", "forge"])
def door(
    request: pytest.FixtureRequest,
    app: Flask,
    client: FlaskClient,
    forge_keys: responses.RequestsMock,
) -> Door:
    """The site installed through one door; how that door delivers a Jira webhook payload
    under a delivery id (Connect's `X-Atlassian-Webhook-Identifier`, a Forge event's `id`)."""
    if request.param == "connect":
        secret = install_jira(app, CLIENT)
        return lambda webhook, delivery: post_webhook(
            client, webhook, secret=secret, client_key=CLIENT, delivery=delivery
        )
    installed = client.post(
        "/forge/lifecycle",
        json=installed_event(),
        headers=forge_headers(module=LIFECYCLE_MODULE),
    )
    assert installed.status_code == 200
    return lambda webhook, delivery: client.post(
        "/forge/events",
        json={**forge_issue_event(webhook), "id": delivery},
        headers=forge_headers(),
    )


@pytest.fixture
def site(app: Flask, clock: Any, door: Door) -> int:
    clock.current = NOW
    with store(app).session() as session:
        site_id = find_site(session, SITE).id
        import_team_okrs(session, site_id, OKRS, now=NOW)
    map_installation(app, INSTALLATION, SITE)
    return site_id


class Sender:
    """GitHub deliveries signed as GitHub signs them; Jira's through the door under test."""

    def __init__(self, client: FlaskClient, door: Door) -> None:
        self.github = Deliveries(client)
        self.door = door
        self.jira: list[tuple[dict[str, Any], str]] = []

    def send(self, deliveries: list[Delivery]) -> None:
        for source, payload in deliveries:
            if source == "jira":
                delivery = f"jira-{len(self.jira) + 1}"
                self.jira.append((payload, delivery))
                answer = self.door(payload, delivery)
                assert answer.status_code == 200, answer.get_json()
                assert answer.get_json()["status"] == "accepted"
            else:
                self.github.send(source.removeprefix("github:"), payload)

    def redeliver(self) -> None:
        """Jira's retries: every Jira delivery again, under its own delivery id."""
        for payload, delivery in self.jira:
            assert self.door(payload, delivery).get_json()["status"] == "duplicate"


def values(app: Flask, site_id: int) -> tuple[float | None, float | None, float | None]:
    with store(app).session() as session:
        kpi = find_kpi(session, site_id, "PLAT-K1")
        assert kpi is not None
        kpi_value = kpi.current
    return kr(app, site_id, "PLAT-1.3").current, kr(app, site_id, "PLAT-1.4").current, kpi_value


def test_incidents_from_jira_webhooks_give_the_values_worked_out_by_hand(
    app: Flask, client: FlaskClient, site: int, door: Door
) -> None:
    Sender(client, door).send(everything())
    assert values(app, site) == (75.0, 4.0, 4.0)
    assert count(app, Incident) == 3


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reordered_and_replayed_deliveries_give_the_same_values(
    app: Flask,
    client: FlaskClient,
    site: int,
    door: Door,
    seed: int,
) -> None:
    deliveries = everything() + incidents()  # every Jira event twice, under new delivery ids
    random.Random(seed).shuffle(deliveries)
    sender = Sender(client, door)
    sender.send(deliveries)
    sender.redeliver()
    assert values(app, site) == (75.0, 4.0, 4.0)
    assert count(app, Incident) == 3


def test_resolving_then_reopening_and_resolving_again_moves_the_time_to_restore(
    app: Flask, client: FlaskClient, site: int, door: Door
) -> None:
    sender = Sender(client, door)
    sender.send(everything())
    reopened = incident_event("updated", key="OPS-1", opened=at(20, 11), updated=at(24, 9))
    sender.send([("jira", reopened)])
    # OPS-1 open again: only OPS-2's 6 h restored; OPS-1 still counts against D1.
    assert values(app, site) == (75.0, 6.0, 6.0)
    resolved = incident_event(
        "updated", key="OPS-1", opened=at(20, 11), updated=at(24, 11), resolved=at(24, 11)
    )
    sender.send([("jira", resolved)])
    # OPS-1 took 96 h this time: the median of 96 h and 6 h is 51 h.
    assert values(app, site) == (75.0, 51.0, 51.0)
    sender.send(incidents())  # the old deliveries, late: older than what was applied
    assert values(app, site) == (75.0, 51.0, 51.0)


def test_an_issue_that_becomes_an_incident_counts_and_a_deleted_one_no_longer_does(
    app: Flask, client: FlaskClient, site: int, door: Door
) -> None:
    sender = Sender(client, door)
    sender.send(everything())
    retyped = incident_event("updated", key="OPS-4", opened=at(21, 15), updated=at(22, 9))
    sender.send([("jira", retyped)])
    # OPS-4 is now an incident 30 min after D3 shipped: all four deployments failed.
    assert values(app, site)[0] == 100.0
    deleted = incident_event("deleted", key="OPS-4", opened=at(21, 15), updated=at(22, 10))
    sender.send([("jira", deleted)])
    assert values(app, site)[0] == 75.0
    assert count(app, Incident) == 3


def test_the_poll_and_the_webhook_store_each_incident_once_and_agree(
    app: Flask, client: FlaskClient, site: int, door: Door
) -> None:
    Sender(client, door).send(everything())
    jira = IncidentJira(
        [
            ("OPS-1", at(20, 11), at(20, 13)),
            ("OPS-2", at(22, 18), at(23, 0)),
            ("OPS-3", at(24, 1), None),
        ]
    )
    jobs = services_of(app).jobs
    jobs.ports = replace(jobs.ports, tracker=jira)
    poll_incidents(services_of(app).jobs)
    assert count(app, Incident) == 3
    assert values(app, site) == (75.0, 4.0, 4.0)
    # The poll heals what no webhook said: OPS-2 no longer matches (moved out by hand).
    jira.issues = [i for i in jira.issues if i["key"] != "OPS-2"]
    poll_incidents(services_of(app).jobs)
    assert count(app, Incident) == 2
    assert values(app, site) == (75.0, 2.0, 2.0)


def test_the_window_still_moves_with_time(
    app: Flask, client: FlaskClient, site: int, door: Door, clock: Any
) -> None:
    sender = Sender(client, door)
    sender.send(everything())
    # 30 days from 22 Nov 12:00: OPS-1's restoration (20 Nov) has left the window, OPS-2's not.
    clock.current = NOW + timedelta(days=27)
    later = incident_event(
        "created",
        key="OPS-9",
        opened=clock.current - timedelta(hours=1),
        updated=clock.current - timedelta(hours=1),
    )
    sender.send([("jira", later)])
    assert kr(app, site, "PLAT-1.4").current == 6.0

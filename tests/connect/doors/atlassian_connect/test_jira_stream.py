"""The same 2,000-event stream, delivered in order, shuffled, and twice, ends in the same KRs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from sync.core.progress import IssueState, issues_progress
from tests.support.base import FakeClock
from tests.support.jira import (
    FakeTracker,
    create_okrs,
    get_kr,
    install_jira,
    issue_event,
    link,
    post_webhook,
)

EVENTS = 2000
EPICS = ("WEB-1", "WEB-2", "WEB-3", "WEB-4")
ISSUES = tuple(f"WEB-{n}" for n in range(5, 205))
LABEL = "kr-plat-1.3"  # the label convention, lower case on purpose
KRS = [
    {"key": "PLAT-1.1", "title": "Raise checkout conversion from 2% to 3%", "kind": "issues"},
    {"key": "PLAT-1.2", "title": "Cut p95 search latency from 900 ms to 300 ms", "kind": "issues"},
    {"key": "PLAT-1.3", "title": "Cut support tickets per week from 80 to 40", "kind": "issues"},
]
LABELLED = ISSUES[:40]  # the issues whose `kr-` label is toggled
API_LINKS = {"PLAT-1.1": ("WEB-1", "WEB-2"), "PLAT-1.2": ("WEB-3", *ISSUES[5:12])}
SITES = {"in-order": "jira-a", "shuffled": "jira-b", "twice": "jira-c"}
SNAPSHOT_FIELDS = ("progress", "score", "status", "done", "total", "scope_growth", "current")


@dataclass(frozen=True)
class Issue:
    key: str
    issue_id: str
    category: str = "new"
    parent: str | None = None
    points: float | None = None
    labels: tuple[str, ...] = ()
    issue_type: str = "Story"
    deleted: bool = False


@dataclass
class Stream:
    """Webhook payloads in the order Jira made them, and the final state they describe."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Issue] = field(default_factory=dict)


def generate(seed: int = 4) -> Stream:
    """Creates, status transitions, parent moves, story points, label toggles and deletes."""
    rng = random.Random(seed)
    stream = Stream()
    clock = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)

    def emit(kind: str, issue: Issue, changes: list[tuple[str, str, Any, Any]]) -> None:
        nonlocal clock
        clock += timedelta(seconds=rng.randint(1, 90))
        stream.payloads.append(
            issue_event(
                kind,
                key=issue.key,
                issue_id=issue.issue_id,
                category=issue.category,
                updated=clock,
                parent=issue.parent,
                points=issue.points,
                labels=issue.labels,
                issue_type=issue.issue_type,
                changes=changes,
            )
        )
        stream.final[issue.key] = issue

    for number, key in enumerate(EPICS, start=1):
        emit("created", Issue(key, str(10_000 + number), issue_type="Epic"), [])
    for number, key in enumerate(ISSUES, start=5):
        issue = Issue(
            key,
            str(10_000 + number),
            parent=rng.choice((*EPICS, None)),
            points=rng.choice((1.0, 2.0, 3.0, 5.0, 8.0)),
        )
        emit("created", issue, [("status", "Status", None, "To Do")])
    while len(stream.payloads) < EVENTS:
        current = stream.final[rng.choice(ISSUES)]
        if current.deleted:
            continue
        roll = rng.random()
        if roll < 0.5:
            category = rng.choice(("new", "indeterminate", "done", "done"))
            issue = replace(current, category=category)
            emit("updated", issue, [("status", "Statut", current.category, category)])
        elif roll < 0.65:
            parent = rng.choice((*EPICS, None))
            issue = replace(current, parent=parent)
            emit("updated", issue, [("parent", "Parent", current.parent, parent)])
        elif roll < 0.8:
            points = rng.choice((None, 1.0, 2.0, 3.0, 5.0, 13.0))
            issue = replace(current, points=points)
            emit(
                "updated",
                issue,
                [("customfield_10016", "Story point estimate", current.points, points)],
            )
        elif roll < 0.97 and current.key in LABELLED:
            labels = () if LABEL in current.labels else (LABEL, "team-web")
            issue = replace(current, labels=labels)
            emit(
                "updated",
                issue,
                [("labels", "Étiquettes", " ".join(current.labels), " ".join(labels))],
            )
        elif roll >= 0.97:
            emit("deleted", replace(current, deleted=True), [])
    return stream


def expected_progress(stream: Stream, kr_key: str) -> tuple[float, float]:
    """Done and total weight the KR must end with, computed from the stream's final state."""
    linked = set(API_LINKS.get(kr_key, ()))
    if kr_key == "PLAT-1.3":
        linked = {k for k, i in stream.final.items() if LABEL in i.labels and not i.deleted}
    alive = [i for i in stream.final.values() if not i.deleted]
    counted = [i for i in alive if i.key in linked or i.parent in linked]
    epics_with_children = {i.parent for i in counted if i.parent in linked}
    states = [
        IssueState(key=i.key, done=i.category == "done", story_points=i.points)
        for i in counted
        if i.key not in epics_with_children
    ]
    tally = issues_progress(states)
    return tally.done, tally.total


def deliveries(stream: Stream) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    numbered = [(f"evt-{n}", payload) for n, payload in enumerate(stream.payloads)]
    rng = random.Random(11)
    shuffled = numbered[:]
    rng.shuffle(shuffled)
    # Every event twice: half redelivered with the same id, half replayed under a new one.
    twice = numbered + [(d if n % 2 else f"{d}-replay", p) for n, (d, p) in enumerate(numbered)]
    rng.shuffle(twice)
    return {"in-order": numbered, "shuffled": shuffled, "twice": twice}


def test_in_order_shuffled_and_doubled_deliveries_end_in_the_same_kr_snapshots(
    app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock
) -> None:
    jobs = services_of(app).jobs
    tracker = FakeTracker()
    jobs.ports = replace(jobs.ports, tracker=tracker)
    # Jira rate limits our writes for the whole stream: changes pile up, one row per issue.
    tracker.rate_limited_for = 3600.0
    stream = generate()
    assert len(stream.payloads) == EVENTS
    secrets = {}
    for site in SITES.values():
        secrets[site] = install_jira(app, site, base_url=f"https://{site}.atlassian.net")
        create_okrs(client, admin, site=site, krs=KRS)
        for kr, targets in API_LINKS.items():
            for target in targets:
                link(client, admin, site=site, kr=kr, target=target)
    answers: dict[str, set[str]] = {}
    for mode, events in deliveries(stream).items():
        site = SITES[mode]
        answers[mode] = set()
        for delivery, payload in events:
            response = post_webhook(
                client, payload, secret=secrets[site], client_key=site, delivery=delivery
            )
            assert response.status_code == 200, response.json
            answers[mode].add(response.json["status"])
    assert answers["twice"] == {"accepted", "duplicate"}

    snapshots = {
        mode: {
            kr["key"]: {
                name: get_kr(client, admin, site=site, kr=kr["key"])[name]
                for name in SNAPSHOT_FIELDS
            }
            for kr in KRS
        }
        for mode, site in SITES.items()
    }
    assert snapshots["shuffled"] == snapshots["in-order"]
    assert snapshots["twice"] == snapshots["in-order"]
    for kr in KRS:
        done, total = expected_progress(stream, kr["key"])
        got = snapshots["in-order"][kr["key"]]
        assert (got["done"], got["total"]) == (done, total), kr["key"]
        assert total > 0 and 0 < done < total  # the stream exercises every KR

    # The limit lifts: each issue gets one write carrying the final state of all its KRs.
    tracker.rate_limited_for = None
    clock.current += timedelta(hours=2)
    sites = {mode: _site_id(app, site) for mode, site in SITES.items()}
    written: dict[str, dict[str, dict]] = {}
    for mode, site_id in sites.items():
        jobs.flush_outbound(site_id)
        writes = [(key, doc) for sid, key, doc in tracker.writes if sid == site_id]
        written[mode] = dict(writes)
        assert len(writes) == len(written[mode])  # one write per issue, however many changes
    # An issue that lost its last KR shows none; one that never had one was never written.
    visible = {
        mode: {key: doc for key, doc in docs.items() if doc["krKeys"]}
        for mode, docs in written.items()
    }
    assert visible["shuffled"] == visible["in-order"]
    assert visible["twice"] == visible["in-order"]
    linked_issues = {k for keys in API_LINKS.values() for k in keys}
    assert {k for k in linked_issues if not stream.final[k].deleted} <= set(visible["in-order"])


def _site_id(app: Flask, client_key: str) -> int:
    from sync.db.store import find_site

    with services_of(app).store.session() as session:
        return find_site(session, client_key).id

"""The demo's quarter of deployments: DORA KRs and KPIs that move by themselves.

From the cycle's first day to today, `platform/deployer` deploys to production once to three
times a working day; each deployment ships a merged PR. Lead times shrink from about 46 h to
about 26 h, one deployment in sixteen fails, and one bad week in mid-October fails four in
five: the change failure rate KPI breaches once, then heals
when the week leaves its 30-day window. Every payload is a real GitHub payload (copies in
examples/github-payloads/) with its ids, times and states set, delivered signed through
`POST /webhooks/github` while the jobs' clock follows the replay, so KR history and KPI
history have a point per delivery.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sync.engine.jobs import Ports

PAYLOADS = Path(__file__).resolve().parents[2] / "examples" / "github-payloads"
REPO = "platform/deployer"
INSTALLATION = 1301612  # the demo's GitHub installation (examples/demo-events.jsonl)
BAD_WEEK = 2  # the cycle's third week
SEED = 16

Post = Callable[[str, dict[str, Any], str], int]


def _fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((PAYLOADS / name).read_text(encoding="utf-8")))


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _base(payload: dict[str, Any]) -> dict[str, Any]:
    payload["installation"]["id"] = INSTALLATION
    owner, name = REPO.split("/")
    payload["repository"].update(full_name=REPO, name=name)
    payload["repository"]["owner"]["login"] = owner
    return payload


def _merged(number: int, opened: datetime, merged: datetime) -> dict[str, Any]:
    payload = _base(_fixture("pull_request.closed.merged.json"))
    pull = payload["pull_request"]
    pull.update(
        number=number,
        title=f"Deployer change {number}",
        body="",
        created_at=_iso(opened),
        merged_at=_iso(merged),
        updated_at=_iso(merged),
        closed_at=_iso(merged),
    )
    pull["base"]["repo"]["full_name"] = REPO
    pull["head"]["ref"] = f"change-{number}"
    return payload


def _deployment(number: int, created: datetime) -> dict[str, Any]:
    payload = _base(_fixture("deployment.created.json"))
    payload["deployment"].update(
        id=number,
        sha=f"{number:040x}",
        environment="production",
        created_at=_iso(created),
        updated_at=_iso(created),
    )
    return payload


def _status(number: int, created: datetime, state: str, at: datetime) -> dict[str, Any]:
    payload = _base(_fixture("deployment_status.success.json"))
    payload["deployment"].update(
        id=number,
        sha=f"{number:040x}",
        environment="production",
        created_at=_iso(created),
        updated_at=_iso(at),
    )
    payload["deployment_status"].update(
        id=number, state=state, environment="production", created_at=_iso(at), updated_at=_iso(at)
    )
    return payload


@dataclass(frozen=True, slots=True)
class Delivery:
    at: datetime
    event: str
    payload: dict[str, Any]
    delivery: str


def quarter_of_deployments(start: datetime, now: datetime) -> list[Delivery]:
    """The deliveries from `start` to `now`, in time order (the same ones on every run)."""
    rng = random.Random(SEED)  # noqa: S311 -- sample data, the same on every run
    out: list[Delivery] = []
    number = 0
    day = start
    while day < now:
        week = (day - start).days // 7
        for slot in range(rng.choice((1, 2, 2, 3)) if day.weekday() < 5 else 0):
            created = day + timedelta(hours=9 + 3 * slot)
            if created + timedelta(minutes=10) >= now:
                break
            number += 1
            lead = max(46.0 - 2.5 * week, 26.0) + rng.uniform(-3, 3)
            # One deployment in sixteen fails; in the bad week, four in five.
            failed = number % 5 != 0 if week == BAD_WEEK else number % 16 == 0
            merged = created - timedelta(minutes=40)
            pr = 5000 + number
            done = created + timedelta(minutes=6)
            out += [
                Delivery(
                    merged,
                    "pull_request",
                    _merged(pr, created - timedelta(hours=lead), merged),
                    f"demo-pr-{pr}-closed",
                ),
                Delivery(
                    created, "deployment", _deployment(number, created), f"demo-deploy-{number}"
                ),
                Delivery(
                    done,
                    "deployment_status",
                    _status(number, created, "failure" if failed else "success", done),
                    f"demo-deploy-{number}-status",
                ),
            ]
        day += timedelta(days=1)
    return out


class ReplayClock:
    """The jobs' clock while the demo replays: the time of the delivery being applied."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@contextmanager
def replay_clock(ports: Ports, start: datetime) -> Iterator[ReplayClock]:
    before = ports.clock
    clock = ReplayClock(start)
    ports.clock = clock
    try:
        yield clock
    finally:
        ports.clock = before


def replay(ports: Ports, post: Post, *, start: datetime, now: datetime) -> int:
    """Deliver the quarter through `post` (signed webhook deliveries); how many were sent."""
    deliveries = quarter_of_deployments(start, now)
    with replay_clock(ports, start) as clock:
        for item in deliveries:
            clock.at = item.at
            post(item.event, item.payload, item.delivery)
    return len(deliveries)

"""The demo: a demo Atlassian site, the example OKR file, and sample Jira and GitHub events
replayed through the real pipeline (signed webhook routes, inbox, jobs, engine).

The demo site has no Jira to call, so its tracker port is an in-memory one that remembers the
issues the stream described and the issue properties written back. Pages open in a plain
browser through development tokens, which the app accepts only with `OKRLINK_DEV=1`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt
from sqlalchemy import select

from connect.ui.tokens import dev_token
from integrations.atlassian.qsh import query_string_hash
from sync.core import okrfile
from sync.digest import ChannelSpec, add_channel, list_channels, mask_url
from sync.engine import recompute
from sync.errors import Transient
from sync.inbox import record_event
from sync.model import CheckIn, Installation, KeyResult
from sync.okrs import import_team_okrs
from sync.store import find_kr
from sync.tenants import record_install

EXAMPLE_FILE = Path(__file__).resolve().parents[1] / "examples" / "platform.okr.yml"

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

EVENTS_FILE = EXAMPLE_FILE.with_name("demo-events.jsonl")
DEMO_BASE_URL = "https://okrlink-demo.atlassian.net"
JIRA_CLIENT_KEY = "okrlink-demo-jira"
CONFLUENCE_CLIENT_KEY = "okrlink-demo-confluence"
JIRA_WEBHOOK = "/webhooks/jira"
GITHUB_WEBHOOK = "/webhooks/github"
DEMO_ISSUE = "PLAT-13"
DIGEST_DELAY = 2.0  # seconds: the digest is sent once the demo server answers

# Weekly check-ins from the cycle start: (KR key, values week by week, last status, note).
CHECK_INS: tuple[tuple[str, tuple[float, ...], str | None, str], ...] = (
    ("PLAT-1.1", (99.5, 99.6, 99.62, 99.7, 99.78, 99.81, 99.86, 99.9), "on_track",
     "Multi-region load balancing removed the last single point of failure."),
    ("PLAT-1.2", (2.0, 1.9, 1.9, 1.8, 1.7, 1.7, 1.6, 1.6), "at_risk",
     "Retries hide timeouts; the error budget review is next week."),
    ("PLAT-1.3", (15, 15, 14, 14, 14, 13, 13, 13), "off_track",
     "Rollbacks are still manual on the legacy services."),
    ("PLAT-2.1", (40, 37, 35, 31, 28, 26, 24, 22), None,
     "Bug triage twice a week is paying off."),
    ("PLAT-2.2", (6.1, 6.1, 6.4, 6.6, 6.8, 6.9, 7.1, 7.2), "on_track",
     "The new local dev environment scored well in the survey."),
    ("PLAT-2.3", (30, 31, 33, 33, 34, 36, 35, 37), "at_risk",
     "Review queues grew while two reviewers were on leave."),
)  # fmt: skip


@dataclass
class DemoTracker:
    """The demo site's Jira: issues as the event stream left them; writes are remembered."""

    issues: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    properties: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def set_issue_property(self, site_id: int, issue_key: str, value: Mapping[str, Any]) -> None:
        """Remember the property written back to the issue."""
        self.properties[issue_key] = value

    def fetch_issue(self, site_id: int, issue_key: str) -> Mapping[str, Any] | None:
        """The issue as the last event described it."""
        return self.issues.get(issue_key)

    def search(self, site_id: int, jql: str, *, fields: Sequence[str]
               ) -> Iterator[Mapping[str, Any]]:  # fmt: skip
        """The demo cannot run JQL: JQL key results keep the values of their check-ins."""
        raise Transient("the demo site has no Jira to run JQL against")


def _signed_jira_post(client: FlaskClient, payload: Mapping[str, Any], *, secret: str,
                      delivery: str) -> int:  # fmt: skip
    """POST a Jira webhook signed as Jira signs it (qsh of this request)."""
    now = int(time.time())
    token = jwt.encode(
        {"iss": JIRA_CLIENT_KEY, "iat": now, "exp": now + 60,
         "qsh": query_string_hash("POST", JIRA_WEBHOOK, "")},
        secret, algorithm="HS256",
    )  # fmt: skip
    response = client.post(JIRA_WEBHOOK, data=json.dumps(payload), content_type="application/json",
                           headers={"Authorization": f"JWT {token}",
                                    "X-Atlassian-Webhook-Identifier": delivery})  # fmt: skip
    return response.status_code


def _signed_github_post(client: FlaskClient, event: str, payload: Mapping[str, Any], *,
                        secret: str, delivery: str) -> int:  # fmt: skip
    from integrations.github.signature import sign

    body = json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": sign(secret=secret, body=body), "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery}  # fmt: skip
    response = client.post(GITHUB_WEBHOOK, data=body, content_type="application/json",
                           headers=headers)  # fmt: skip
    return response.status_code


@contextlib.contextmanager
def _inline_jobs(app: Flask) -> Iterator[None]:
    """Run queued jobs at once while the demo loads, so the printed pages show their effect."""
    huey = app.extensions["okrlink"].queue
    before = huey.immediate
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = before


def _demo_installations(app: Flask) -> tuple[int, str]:
    """The demo site's Jira and Confluence installations; returns (site id, Jira secret)."""
    services = app.extensions["okrlink"]
    registry = services.tenants
    secret = ""
    with services.store.session() as session:
        for client_key, product, base in ((JIRA_CLIENT_KEY, "jira", DEMO_BASE_URL),
                                          (CONFLUENCE_CLIENT_KEY, "confluence",
                                           f"{DEMO_BASE_URL}/wiki")):  # fmt: skip
            row = session.scalar(select(Installation).where(Installation.client_key == client_key))
            existing = registry.decrypt(row.shared_secret) if row is not None else None
            chosen = existing or secrets.token_urlsafe(32)
            row = record_install(session, client_key=client_key, base_url=base, product=product,
                                 shared_secret=chosen, encrypt=registry.encrypt)  # fmt: skip
            if product == "jira":
                secret = chosen
        site_id = row.site_id
    for client_key in (JIRA_CLIENT_KEY, CONFLUENCE_CLIENT_KEY):
        registry.forget(client_key)
    return site_id, secret


def _seed_check_ins(app: Flask, site_id: int, *, start: datetime, now: datetime) -> None:
    """A cycle of weekly check-ins (history for the charts); skipped for KRs that have some."""
    with app.extensions["okrlink"].store.session() as session:
        for key, values, status, note in CHECK_INS:
            kr = find_kr(session, site_id, key)
            if kr is None or session.scalar(select(CheckIn.id).where(CheckIn.kr_id == kr.id)):
                continue
            for week, value in enumerate(values):
                at = min(start + timedelta(weeks=week, hours=16), now)
                last = week == len(values) - 1
                session.add(CheckIn(site_id=site_id, kr_id=kr.id, at=at, author=kr.owner,
                                    value=value, status=status if last else None,
                                    what=note if last else ""))  # fmt: skip
                kr.current = value
                kr.version += 1
                session.flush()
                recompute(session, site_id, [kr.id], now=at)


def _events() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stream split in two: issues created at the cycle start, then everything after."""
    events = [json.loads(line) for line in EVENTS_FILE.read_text(encoding="utf-8").splitlines()]
    created = [e for e in events if e["payload"].get("webhookEvent") == "jira:issue_created"]
    return created, [e for e in events if e not in created]


def _replay(app: Flask, site_id: int, jira_secret: str, tracker: DemoTracker,
            events: list[dict[str, Any]]) -> list[str]:  # fmt: skip
    """Replay events through the webhook routes (or the inbox); returns notes."""
    services = app.extensions["okrlink"]
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    client = app.test_client()
    notes: list[str] = []
    github_secret = services.settings.github_webhook_secret
    if GITHUB_WEBHOOK in routes and not github_secret:
        github_secret = secrets.token_hex(16)
        # The demo's own GitHub deliveries are signed with a secret made up for this run.
        services = dataclasses.replace(
            services, settings=services.settings.replace(github_webhook_secret=github_secret)
        )
        app.extensions["okrlink"] = services
    for event in events:
        payload, delivery = event["payload"], event["delivery"]
        if event["source"] == "jira":
            tracker.issues[payload["issue"]["key"]] = payload["issue"]
            if JIRA_WEBHOOK in routes:
                _signed_jira_post(app.test_client(), payload, secret=jira_secret,
                                  delivery=delivery)  # fmt: skip
                continue
        elif GITHUB_WEBHOOK in routes:
            _signed_github_post(client, event["event"], payload, secret=github_secret,
                                delivery=delivery)  # fmt: skip
            if event["event"] == "installation":
                _map_github(app, int(payload["installation"]["id"]), site_id)
            continue
        _record(app, site_id, event)
        notes.append(f"{event['source']} events went to the inbox (no webhook route)")
    return notes


def _map_github(app: Flask, installation_id: int, site_id: int) -> None:
    """Map the demo GitHub installation to the demo site, as `okrlink github map` does."""
    from sync.apply.github import map_installation

    services = app.extensions["okrlink"]
    with services.store.session() as session:
        touched = map_installation(session, installation_id, site_id,
                                   now=services.jobs.ports.clock.now())  # fmt: skip
        recompute(session, site_id, touched, now=services.jobs.ports.clock.now())


def _record(app: Flask, site_id: int, event: Mapping[str, Any]) -> None:
    services = app.extensions["okrlink"]
    with services.store.session() as session:
        row_id = record_event(session, source=event["source"], scope="demo",
                              delivery_id=event["delivery"], site_id=site_id,
                              event=event.get("event", event["source"]),
                              payload=event["payload"])  # fmt: skip
    if row_id is not None:
        services.jobs.apply_inbox(row_id)


def demo_urls(app: Flask, *, base: str, cycle: str) -> dict[str, str]:
    """The pages of the demo site, opened with development tokens."""
    key = app.extensions["okrlink"].ui_key
    jira, confluence = dev_token(key, JIRA_CLIENT_KEY), dev_token(key, CONFLUENCE_CLIENT_KEY)

    def url(path: str, token: str, **params: str) -> str:
        return f"{base}{path}?{urlencode({**params, 'dev_token': token})}"

    panel = {"team": "PLAT", "cycle": cycle, "objective": ""}
    return {
        "Confluence OKR panel": url("/confluence/macro/okr-panel", confluence, **panel,
                                    view="full"),
        "Confluence OKR panel (compact)": url("/confluence/macro/okr-panel", confluence,
                                              **panel, view="compact"),
        "Jira issue panel": url("/jira/issue-panel", jira, issueKey=DEMO_ISSUE,
                                projectKey="PLAT"),
        "Jira project page (check-ins)": url("/jira/project-page", jira, projectKey="PLAT"),
        "Jira admin page": url("/jira/admin", jira),
        "Health": f"{base}/healthz",
    }


def demo_digest(app: Flask, site_id: int, *, base: str) -> str:
    """A Slack digest channel of team PLAT to the local receiver, sent once the server is up;
    returns the page that shows what it received."""
    services = app.extensions["okrlink"]
    url = f"{base}/dev/chat/slack"
    with services.store.session() as session:
        if not any(c.team == "PLAT" and c.url_hint == mask_url(url)
                   for c in list_channels(session, site_id)):  # fmt: skip
            add_channel(session, site_id, ChannelSpec(team="PLAT", kind="slack", url=url),
                        encrypt=services.tenants.encrypt, now=services.jobs.ports.clock.now(),
                        allow_loopback_http=True)  # fmt: skip
    services.digest.send_now_queued.schedule((site_id, "PLAT"), delay=DIGEST_DELAY)
    return f"{base}/dev/chat"


def load_demo(app: Flask, *, base: str) -> dict[str, str]:
    """Create the demo site, import the example OKRs, replay the events; return page URLs."""
    services = app.extensions["okrlink"]
    jobs = services.jobs
    tracker = DemoTracker()
    jobs.ports.tracker = tracker
    okrs = okrfile.load(EXAMPLE_FILE)
    now = jobs.ports.clock.now()
    site_id, jira_secret = _demo_installations(app)
    start = datetime.combine(okrs.cycle.start, datetime.min.time(), tzinfo=now.tzinfo)
    created, later = _events()
    with _inline_jobs(app):
        # The epic and its stories exist when the cycle starts; the OKRs are set that day.
        notes = _replay(app, site_id, jira_secret, tracker, created)
        with services.store.session() as session:
            report = import_team_okrs(session, site_id, okrs)
            recompute(session, site_id, report.changed_kr_ids, now=min(start, now))
        _seed_check_ins(app, site_id, start=start, now=now)
        notes += _replay(app, site_id, jira_secret, tracker, later)
        with services.store.session() as session:
            ids = session.scalars(select(KeyResult.id).where(KeyResult.site_id == site_id)).all()
            recompute(session, site_id, ids, now=now)
    urls = demo_urls(app, base=base, cycle=okrs.cycle.name)
    if services.settings.dev and base.startswith(("http://", "https://")):
        urls["Weekly digest (local Slack receiver)"] = demo_digest(app, site_id, base=base)
    for number, note in enumerate(sorted(set(notes)), start=1):
        urls[f"Note {number}"] = note
    if not services.settings.dev:
        urls["Note"] = "development tokens are refused: start with OKRLINK_DEV=1 to open these"
    return urls

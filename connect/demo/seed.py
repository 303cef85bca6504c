"""The demo: a demo Atlassian site, the example OKR file, and sample Jira and GitHub events
replayed through the real pipeline (signed webhook routes, inbox, jobs, engine).

The demo site has no Jira to call, so its tracker port is an in-memory one that remembers the
issues the stream described and the issue properties written back. Pages open in a plain
browser through development tokens, which the app accepts only with `OKRLINK_DEV=1`.

The demo is loaded once: a restart keeps what the user changed since (check-ins, imports, links)
and `reset_demo` starts over. The REST API is opened for the run with an admin token kept in
the data directory, acting on the demo site by default (`demo_settings`).

The demo's services are built before its app (`open_demo`): its settings and its ports (the
in-memory tracker, the kept check runs) go into `create_app`, never swapped in afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt
from sqlalchemy import delete, select

from connect.demo import dora as demo_dora
from connect.services import services_of
from connect.settings import Settings
from connect.ui.tokens import dev_token
from integrations.atlassian.qsh import query_string_hash
from integrations.github.client import GitHubAppConfig
from sync.core import okrfile
from sync.db.model import (
    CheckIn,
    GitHubInstallation,
    InboxEvent,
    Installation,
    KeyResult,
    PullRequest,
)
from sync.db.store import find_kr
from sync.digest import ChannelSpec, add_channel, list_channels, mask_url
from sync.engine.inbox import record_event
from sync.engine.snapshots import recompute
from sync.errors import SourceMissing
from sync.okrs import import_team_okrs
from sync.ports import Ports
from sync.tenants import purge, record_install

EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "examples" / "platform.okr.yml"

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
DEMO_HOST = "okrlink-demo.atlassian.net"
ADMIN_TOKEN_FILENAME = "demo-admin-token"  # noqa: S105 (a file name, not a secret)
# The queries linking and reconciling make: `[(issuekey in (..) OR ]parent in (..)...`.
PARENT_QUERY = re.compile(
    r"^\(?(?:issuekey in \((?P<keys>[^)]*)\) OR )?parent in \((?P<parents>[^)]*)\)"
)
DIGEST_DELAY = 2.0  # seconds: the digest is sent once the demo server answers

# Weekly check-ins from the cycle start: (KR key, values week by week, last status, note).
CHECK_INS: tuple[tuple[str, tuple[float, ...], str | None, str], ...] = (
    (
        "PLAT-1.1",
        (99.5, 99.6, 99.62, 99.7, 99.78, 99.81, 99.86, 99.9),
        "on_track",
        "Multi-region load balancing removed the last single point of failure.",
    ),
    (
        "PLAT-1.2",
        (2.0, 1.9, 1.9, 1.8, 1.7, 1.7, 1.6, 1.6),
        "at_risk",
        "Retries hide timeouts; the error budget review is next week.",
    ),
    (
        "PLAT-1.3",
        (15, 15, 14, 14, 14, 13, 13, 13),
        "off_track",
        "Rollbacks are still manual on the legacy services.",
    ),
    ("PLAT-2.1", (40, 37, 35, 31, 28, 26, 24, 22), None, "Bug triage twice a week is paying off."),
    (
        "PLAT-2.2",
        (6.1, 6.1, 6.4, 6.6, 6.8, 6.9, 7.1, 7.2),
        "on_track",
        "The new local dev environment scored well in the survey.",
    ),
    (
        "PLAT-2.3",
        (30, 31, 33, 33, 34, 36, 35, 37),
        "at_risk",
        "Review queues grew while two reviewers were on leave.",
    ),
)


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

    def search(
        self, site_id: int, jql: str, *, fields: Sequence[str]
    ) -> Iterator[Mapping[str, Any]]:
        """Issues and epics' children from memory (the queries linking and reconciling make).

        Any other JQL needs a real Jira: JQL key results keep the values of their check-ins.
        """
        match = PARENT_QUERY.match(jql)
        if match is None:
            raise SourceMissing(
                "the demo site has no Jira to run JQL against: this KR keeps the values of its "
                "check-ins; install okrlink on a Jira site to count its query"
            )
        keys, parents = (
            set(re.findall(r'"([^"]+)"', match.group(name) or "")) for name in ("keys", "parents")
        )
        for key, issue in sorted(self.issues.items()):
            parent = (issue.get("fields") or {}).get("parent") or {}
            if key in keys or parent.get("key") in parents:
                yield issue


@dataclass
class DemoChecks:
    """The demo's GitHub check runs: there is no GitHub App to publish them, so they are kept
    here (the last body per PR head), as the real port would have published them."""

    runs: dict[tuple[int, str, str], Mapping[str, Any]] = field(default_factory=dict)

    def publish(
        self,
        *,
        installation_id: int,
        repo: str,
        head_sha: str,
        body: Mapping[str, Any],
        check_run_id: int | None,
    ) -> int:
        """Keep the run's body; its id is its place in the list."""
        self.runs[(installation_id, repo, head_sha)] = body
        return check_run_id or len(self.runs)


def _signed_jira_post(
    client: FlaskClient, payload: Mapping[str, Any], *, secret: str, delivery: str
) -> int:
    """POST a Jira webhook signed as Jira signs it (qsh of this request)."""
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": JIRA_CLIENT_KEY,
            "iat": now,
            "exp": now + 60,
            "qsh": query_string_hash("POST", JIRA_WEBHOOK, ""),
        },
        secret,
        algorithm="HS256",
    )
    response = client.post(
        JIRA_WEBHOOK,
        data=json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": f"JWT {token}", "X-Atlassian-Webhook-Identifier": delivery},
    )
    return response.status_code


def _signed_github_post(
    client: FlaskClient, event: str, payload: Mapping[str, Any], *, secret: str, delivery: str
) -> int:
    from integrations.github.signature import sign

    body = json.dumps(payload).encode()
    headers = {
        "X-Hub-Signature-256": sign(secret=secret, body=body),
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
    }
    response = client.post(
        GITHUB_WEBHOOK, data=body, content_type="application/json", headers=headers
    )
    return response.status_code


@contextlib.contextmanager
def _inline_jobs(app: Flask) -> Iterator[None]:
    """Run queued jobs at once while the demo loads, so the printed pages show their effect."""
    huey = services_of(app).queue
    before = huey.immediate
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = before


def _demo_installations(app: Flask) -> tuple[int, str]:
    """The demo site's Jira and Confluence installations; returns (site id, Jira secret)."""
    services = services_of(app)
    registry = services.tenants
    secret, site_id = "", 0
    with services.store.session() as session:
        for client_key, product, base in (
            (JIRA_CLIENT_KEY, "jira", DEMO_BASE_URL),
            (CONFLUENCE_CLIENT_KEY, "confluence", f"{DEMO_BASE_URL}/wiki"),
        ):
            row = session.scalar(select(Installation).where(Installation.client_key == client_key))
            existing = registry.decrypt(row.shared_secret) if row is not None else None
            chosen = existing or secrets.token_urlsafe(32)
            installed = record_install(
                session,
                client_key=client_key,
                base_url=base,
                product=product,
                shared_secret=chosen,
                encrypt=registry.encrypt,
            )
            if product == "jira":
                secret = chosen
            site_id = installed.site_id
    for client_key in (JIRA_CLIENT_KEY, CONFLUENCE_CLIENT_KEY):
        registry.forget(client_key)
    return site_id, secret


def _seed_check_ins(app: Flask, site_id: int, *, start: datetime, now: datetime) -> None:
    """A cycle of weekly check-ins (history for the charts); skipped for KRs that have some."""
    with services_of(app).store.session() as session:
        for key, values, status, note in CHECK_INS:
            kr = find_kr(session, site_id, key)
            if kr is None or session.scalar(select(CheckIn.id).where(CheckIn.kr_id == kr.id)):
                continue
            for week, value in enumerate(values):
                at = min(start + timedelta(weeks=week, hours=16), now)
                last = week == len(values) - 1
                session.add(
                    CheckIn(
                        site_id=site_id,
                        kr_id=kr.id,
                        at=at,
                        author=kr.owner,
                        value=value,
                        status=status if last else None,
                        what=note if last else "",
                    )
                )
                kr.current = value
                kr.version += 1
                session.flush()
                recompute(session, site_id, [kr.id], now=at)


def _events() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stream split in two: issues created at the cycle start, then everything after."""
    events = [json.loads(line) for line in EVENTS_FILE.read_text(encoding="utf-8").splitlines()]
    created = [e for e in events if e["payload"].get("webhookEvent") == "jira:issue_created"]
    return created, [e for e in events if e not in created]


def _replay(
    app: Flask, site_id: int, jira_secret: str, tracker: DemoTracker, events: list[dict[str, Any]]
) -> list[str]:
    """Replay events through the webhook routes (or the inbox); returns notes."""
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    client = app.test_client()
    notes: list[str] = []
    github_secret = services_of(app).settings.github_webhook_secret
    for event in events:
        payload, delivery = event["payload"], event["delivery"]
        if event["source"] == "jira":
            tracker.issues[payload["issue"]["key"]] = payload["issue"]
            if JIRA_WEBHOOK in routes:
                _signed_jira_post(app.test_client(), payload, secret=jira_secret, delivery=delivery)
                continue
        elif GITHUB_WEBHOOK in routes:
            _signed_github_post(
                client, event["event"], payload, secret=github_secret, delivery=delivery
            )
            if event["event"] == "installation":
                _map_github(app, int(payload["installation"]["id"]), site_id)
            continue
        _record(app, site_id, event)
        notes.append(f"{event['source']} events went to the inbox (no webhook route)")
    return notes


def _replay_deployments(app: Flask, *, start: datetime, now: datetime) -> None:
    """A quarter of deployments through the signed GitHub webhook (`connect/demo/dora.py`)."""
    services = services_of(app)
    if GITHUB_WEBHOOK not in {rule.rule for rule in app.url_map.iter_rules()}:
        return
    client, secret = app.test_client(), services.settings.github_webhook_secret

    def post(event: str, payload: dict[str, Any], delivery: str) -> int:
        return _signed_github_post(client, event, payload, secret=secret, delivery=delivery)

    demo_dora.replay(services.jobs, post, start=start, now=now)


def _map_github(app: Flask, installation_id: int, site_id: int) -> None:
    """Map the demo GitHub installation to the demo site, as `okrlink github map` does."""
    from sync.apply.github import map_installation

    services = services_of(app)
    with services.store.session() as session:
        touched = map_installation(
            session, installation_id, site_id, now=services.jobs.ports.clock.now()
        )
        recompute(session, site_id, touched, now=services.jobs.ports.clock.now())


def _record(app: Flask, site_id: int, event: Mapping[str, Any]) -> None:
    services = services_of(app)
    with services.store.session() as session:
        row_id = record_event(
            session,
            source=event["source"],
            scope="demo",
            delivery_id=event["delivery"],
            site_id=site_id,
            event=event.get("event", event["source"]),
            payload=event["payload"],
        )
    if row_id is not None:
        services.jobs.apply_inbox(row_id)


def demo_urls(app: Flask, *, base: str, cycle: str) -> dict[str, str]:
    """The pages of the demo site, opened with development tokens."""
    key = services_of(app).dev_token_key
    jira, confluence = dev_token(key, JIRA_CLIENT_KEY), dev_token(key, CONFLUENCE_CLIENT_KEY)

    def url(path: str, token: str, **params: str) -> str:
        return f"{base}{path}?{urlencode({**params, 'dev_token': token})}"

    panel = {"team": "PLAT", "cycle": cycle, "objective": ""}
    return {
        "Confluence OKR panel": url(
            "/confluence/macro/okr-panel", confluence, **panel, view="full"
        ),
        "Confluence OKR panel (compact)": url(
            "/confluence/macro/okr-panel", confluence, **panel, view="compact"
        ),
        "Jira issue panel": url("/jira/issue-panel", jira, issueKey=DEMO_ISSUE, projectKey="PLAT"),
        "Jira project page (check-ins)": url("/jira/project-page", jira, projectKey="PLAT"),
        "Jira admin page": url("/jira/admin", jira),
        "Health": f"{base}/healthz",
    }


def _loaded(app: Flask) -> int | None:
    """The demo site's id when the demo was loaded before (its KRs exist), else None."""
    with services_of(app).store.session() as session:
        site_id = session.scalar(
            select(Installation.site_id).where(Installation.client_key == JIRA_CLIENT_KEY)
        )
        if site_id is None:
            return None
        return (
            site_id
            if session.scalar(select(KeyResult.id).where(KeyResult.site_id == site_id).limit(1))
            else None
        )


def reset_demo(app: Flask) -> None:
    """Forget the demo: its site and everything on it, its deliveries, its GitHub installation
    and pull requests, and the jobs queued for it, so the next load starts over."""
    created, later = _events()
    deliveries = [event["delivery"] for event in created + later if "delivery" in event]
    events = created + later
    installations = {
        int(e["payload"]["installation"]["id"]) for e in events if "installation" in e["payload"]
    }
    services = services_of(app)
    with services.store.session() as session:
        for client_key in (JIRA_CLIENT_KEY, CONFLUENCE_CLIENT_KEY):
            purge(session, client_key)
        session.execute(delete(InboxEvent).where(InboxEvent.delivery_id.in_(deliveries)))
        session.execute(delete(PullRequest).where(PullRequest.installation_id.in_(installations)))
        session.execute(
            delete(GitHubInstallation).where(GitHubInstallation.installation_id.in_(installations))
        )
    services.queue.flush()
    for client_key in (JIRA_CLIENT_KEY, CONFLUENCE_CLIENT_KEY):
        services.tenants.forget(client_key)


def demo_digest(app: Flask, site_id: int, *, base: str) -> str:
    """A Slack digest channel of team PLAT to the local receiver, sent once the server is up;
    returns the page that shows what it received."""
    services = services_of(app)
    url = f"{base}/dev/chat/slack"
    with services.store.session() as session:
        if not any(
            c.team == "PLAT" and c.url_hint == mask_url(url)
            for c in list_channels(session, site_id)
        ):
            add_channel(
                session,
                site_id,
                ChannelSpec(team="PLAT", kind="slack", url=url),
                encrypt=services.tenants.encrypt,
                now=services.jobs.ports.clock.now(),
                urls=services.outbound,
            )
    services.digest.send_now_queued.schedule((site_id, "PLAT"), delay=DIGEST_DELAY)
    return f"{base}/dev/chat"


def load_demo(app: Flask, *, base: str) -> dict[str, str]:
    """Create the demo site, import the example OKRs, replay the events; return page URLs.

    Loaded once: when the demo site already has its OKRs, they are kept as the user left them
    (only the in-memory tracker is rebuilt from the event stream).
    """
    services = services_of(app)
    jobs = services.jobs
    tracker = jobs.ports.tracker
    if not isinstance(tracker, DemoTracker):
        raise TypeError("the demo loads into an app built by open_demo (its tracker in memory)")
    okrs = okrfile.load(EXAMPLE_FILE)
    created, later = _events()
    loaded = _loaded(app)
    if loaded is not None:
        for event in created + later:
            if event["source"] == "jira":
                tracker.issues[event["payload"]["issue"]["key"]] = event["payload"]["issue"]
        _poll_now(app)
        return _with_notes(app, _with_digest(app, loaded, base, okrs.cycle.name), [])
    now = jobs.ports.clock.now()
    site_id, jira_secret = _demo_installations(app)
    start = datetime.combine(okrs.cycle.start, datetime.min.time(), tzinfo=now.tzinfo)
    with _inline_jobs(app):
        # The epic and its stories exist when the cycle starts; the OKRs are set that day.
        notes = _replay(app, site_id, jira_secret, tracker, created)
        with services.store.session() as session:
            report = import_team_okrs(session, site_id, okrs)
            recompute(session, site_id, report.changed_kr_ids, now=min(start, now))
        _seed_check_ins(app, site_id, start=start, now=now)
        notes += _replay(app, site_id, jira_secret, tracker, later)
        _replay_deployments(app, start=start, now=now)
        with services.store.session() as session:
            ids = session.scalars(select(KeyResult.id).where(KeyResult.site_id == site_id)).all()
            recompute(session, site_id, ids, now=now)
    _poll_now(app)
    return _with_notes(app, _with_digest(app, site_id, base, okrs.cycle.name), notes)


def _with_digest(app: Flask, site_id: int, base: str, cycle: str) -> dict[str, str]:
    """The demo's page URLs, and in development its digest channel to the local receiver
    (set up once, kept across restarts like everything the demo holds)."""
    urls = demo_urls(app, base=base, cycle=cycle)
    if services_of(app).settings.dev and base.startswith(("http://", "https://")):
        urls["Weekly digest (local Slack receiver)"] = demo_digest(app, site_id, base=base)
    return urls


def _poll_now(app: Flask) -> None:
    """Poll the JQL KRs once, as the periodic job will: the demo's pages show at once that
    its JQL key result has no Jira to count from (rather than after the first period)."""
    with _inline_jobs(app):
        services_of(app).jira_sync.poll_jql()


def _with_notes(app: Flask, urls: dict[str, str], notes: list[str]) -> dict[str, str]:
    for number, note in enumerate(sorted(set(notes)), start=1):
        urls[f"Note {number}"] = note
    if not services_of(app).settings.dev:
        urls["Note"] = "development tokens are refused: start with OKRLINK_DEV=1 to open these"
    return urls


def demo_settings(settings: Settings) -> Settings:
    """The demo's settings: the REST API opened for this run with the admin token, acting on
    the demo site by default, and a webhook secret for the demo's own GitHub deliveries.

    `OKRLINK_ADMIN_TOKEN` when set; else a token made once and kept in the data directory
    (0600), so that a shell that exported it keeps working after a restart. The GitHub secret
    is the configured one, else made up for this run. Development only.
    """
    return settings.replace(
        admin_token=settings.admin_token or _kept_token(settings.data_dir),
        api_site=DEMO_HOST,
        github_webhook_secret=settings.github_webhook_secret or secrets.token_hex(16),
    )


def demo_ports(settings: Settings, ports: Ports | None = None) -> Ports:
    """The demo's ports: an in-memory tracker (the demo site has no Jira), and without a
    GitHub App configured, check runs kept in memory rather than skipped."""
    given = ports or Ports()
    checks = given.checks
    if checks is None and GitHubAppConfig.from_settings(settings) is None:
        checks = DemoChecks()
    return dataclasses.replace(given, tracker=DemoTracker(), checks=checks)


def open_demo(settings: Settings, ports: Ports | None = None, *, worker: bool = False) -> Flask:
    """The demo's app, its settings and ports made first (see `demo_settings`, `demo_ports`)."""
    from connect.app import create_app

    chosen = demo_settings(settings)
    return create_app(chosen, ports=demo_ports(chosen, ports), worker=worker)


def api_token(app: Flask) -> str:
    """The admin token the demo's REST API was opened with (see `demo_settings`)."""
    return services_of(app).settings.admin_token


def _kept_token(data_dir: Path) -> str:
    path = data_dir / ADMIN_TOKEN_FILENAME
    if path.exists():
        kept = path.read_text(encoding="utf-8").strip()
        if kept:
            return kept
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token

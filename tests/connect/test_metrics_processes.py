"""Metrics under the production server: two gunicorn workers, one scrape that adds them up.

Each worker process counts what it answered into its own file in `PROMETHEUS_MULTIPROC_DIR`;
whichever worker answers `/metrics` reports the total of all, exactly. gunicorn replaces each
worker after `MAX_REQUESTS` requests, so the deliveries are certainly spread over several
processes (the kernel alone may hand them all to one), and the counts of a replaced worker
still add up.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from flask import Flask
from prometheus_client.multiprocess import MultiProcessCollector

from connect.settings import Settings
from integrations.github.signature import sign
from tests.support import github_app
from tests.support.forge import (
    APP_UUID,
    LIFECYCLE_MODULE,
    forge_headers,
    forge_issue_event,
    jwks_document,
)
from tests.support.jira import install_jira, issue_event
from tests.support.metrics import parse, value
from tests.support.processes import running
from tests.support.servers import free_port
from tests.support.signing import connect_token

CLIENT = "jira-acme"
ADMIN = "admin-token-of-the-scrape-0123456789"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DELIVERED, FORGED, GITHUB, FORGE = 40, 10, 12, 8
MAX_REQUESTS = 25  # fewer than DELIVERED: no one process can have recorded them all


def _post(url: str, secret: str, n: int) -> int:
    payload = issue_event(
        "created", key=f"PLAT-{n}", issue_id=str(n), updated=T0 + timedelta(seconds=n)
    )
    token = connect_token(
        secret, client_key=CLIENT, method="POST", url="/webhooks/jira", account_id=None
    )
    headers = {
        "Authorization": f"JWT {token}",
        "Content-Type": "application/json",
        "X-Atlassian-Webhook-Identifier": f"d-{n}",
    }
    # A new connection each time, as Jira's deliveries come: either worker may take it.
    return requests.post(
        f"{url}/webhooks/jira", data=json.dumps(payload), headers=headers, timeout=30
    ).status_code


@pytest.fixture
def forge_keys() -> Iterator[str]:
    """Forge's JWKS, served on loopback: the servers are other processes than the test."""
    body = json.dumps(jwks_document()).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


def _github(url: str, event: str, payload: dict, delivery: str, secret: str) -> int:
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(secret=secret, body=body),
        "Content-Type": "application/json",
    }
    return requests.post(
        f"{url}/webhooks/github", data=body, headers=headers, timeout=30
    ).status_code


def _forge(url: str, n: int) -> int:
    event = forge_issue_event(
        issue_event("created", key=f"OPS-{n}", issue_id=f"9{n}", updated=T0 + timedelta(seconds=n))
    )
    event["id"] = f"forge-{n}"
    return requests.post(
        f"{url}/forge/events", json=event, headers=forge_headers(), timeout=30
    ).status_code


def _recorded_by(path: Path) -> float:
    """Deliveries recorded according to one process's file alone."""
    for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
        for sample in metric.samples:
            if sample.name == "okrlink_webhooks_total" and sample.labels == {
                "source": "jira",
                "outcome": "recorded",
            }:
                return sample.value
    return 0.0


def test_two_gunicorn_workers_report_one_exact_total(
    app: Flask, settings: Settings, tmp_path: Path, forge_keys: str
) -> None:
    secret = install_jira(app, CLIENT)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "OKRLINK_DATABASE_URL": settings.resolved_database_url,
        "OKRLINK_DATA_DIR": str(tmp_path / "data"),  # the queue: huey on SQLite, no consumer
        "OKRLINK_SECRET_KEY": settings.secret_key,
        "OKRLINK_ADMIN_TOKEN": ADMIN,
        "OKRLINK_BASE_URL": settings.base_url,
        "OKRLINK_GITHUB_WEBHOOK_SECRET": github_app.SECRET,
        "OKRLINK_FORGE_APP_ID": APP_UUID,
        "OKRLINK_FORGE_JWKS_URL": forge_keys,
    }
    argv = [
        "gunicorn",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--max-requests",
        str(MAX_REQUESTS),
        "connect.wsgi:app",
    ]
    with running(argv, port=port, env=env, logs=tmp_path / "gunicorn") as server:
        with ThreadPoolExecutor(8) as pool:
            good = list(pool.map(lambda n: _post(server.url, secret, n), range(DELIVERED)))
            bad = list(pool.map(lambda n: _post(server.url, "forged-" * 6, n), range(FORGED)))
            opened = github_app.fixture("pull_request.opened.json")
            prs = list(
                pool.map(
                    lambda n: _github(
                        server.url, "pull_request", opened, f"g-{n}", github_app.SECRET
                    ),
                    range(GITHUB),
                )
            )
            unsigned = _github(server.url, "pull_request", opened, "g-x", "not-the-secret")
            installed = requests.post(
                f"{server.url}/forge/lifecycle",
                headers=forge_headers(module=LIFECYCLE_MODULE),
                json={"eventType": "avi:forge:installed:app"},
                timeout=30,
            )
            assert installed.status_code == 200, installed.text
            forge = list(pool.map(lambda n: _forge(server.url, n), range(FORGE)))
            again = _forge(server.url, 0)
        assert (set(good), set(bad)) == ({200}, {401})
        assert (set(prs), unsigned, set(forge), again) == ({202}, 401, {200}, 200)
        scrapes = []
        for _ in range(6):
            answer = requests.get(
                f"{server.url}/metrics", timeout=10, headers={"Authorization": f"Bearer {ADMIN}"}
            )
            assert answer.status_code == 200
            scrapes.append(parse(answer.text))
        assert requests.get(f"{server.url}/metrics", timeout=10).status_code == 401

    files = sorted(metrics_dir.glob("counter_*.db"))
    per_process = [_recorded_by(path) for path in files]
    assert sum(per_process) == DELIVERED
    assert len([n for n in per_process if n > 0]) >= 2, per_process
    for samples in scrapes:  # whichever worker answered, the same totals
        assert value(samples, "okrlink_webhooks_total", source="jira", outcome="recorded") == (
            DELIVERED
        )
        assert value(samples, "okrlink_webhooks_total", source="jira", outcome="rejected") == FORGED
        assert (
            value(
                samples,
                "okrlink_http_request_seconds_count",
                route="/webhooks/jira",
                status_class="2xx",
            )
            == DELIVERED
        )
        assert (
            value(
                samples,
                "okrlink_http_request_seconds_count",
                route="/webhooks/jira",
                status_class="4xx",
            )
            == FORGED
        )
        assert value(samples, "okrlink_webhooks_total", source="github", outcome="recorded") == (
            GITHUB
        )
        assert value(samples, "okrlink_webhooks_total", source="github", outcome="rejected") == 1
        assert value(samples, "okrlink_webhooks_total", source="forge", outcome="recorded") == FORGE
        assert value(samples, "okrlink_webhooks_total", source="forge", outcome="duplicate") == 1
        # Nothing consumes the queue here: every recorded event is still pending.
        assert value(samples, "okrlink_inbox_pending") == DELIVERED + GITHUB + FORGE

"""`okrlink worker --metrics-port`: the worker's own figures, counted where the jobs run."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from flask import Flask

from connect.app import create_app
from connect.services import services_of
from connect.settings import Settings
from sync.ports import Ports
from tests.support.jira import install_jira, issue_event, post_webhook
from tests.support.metrics import parse, value
from tests.support.processes import running
from tests.support.servers import free_port

CLIENT = "jira-acme"
ADMIN = "admin-token-of-the-worker-scrape-0123456789"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EVENTS = 6


def test_the_worker_serves_the_apply_times_of_the_events_it_applied(
    app: Flask, settings: Settings, ports: Ports, tmp_path: Path
) -> None:
    web = create_app(settings.replace(queue_immediate=False), ports=ports)  # huey on SQLite
    try:
        secret = install_jira(web, CLIENT)
        client = web.test_client()
        for n in range(EVENTS):
            payload = issue_event(
                "created", key=f"PLAT-{n}", issue_id=str(n), updated=T0 + timedelta(minutes=n)
            )
            answer = post_webhook(
                client, payload, secret=secret, client_key=CLIENT, delivery=f"d-{n}"
            )
            assert answer.json["status"] == "accepted"
    finally:
        services_of(web).store.dispose()
    port = free_port()
    env = {
        "OKRLINK_DATABASE_URL": settings.resolved_database_url,
        "OKRLINK_DATA_DIR": str(settings.data_dir),  # the same queue file
        "OKRLINK_SECRET_KEY": settings.secret_key,
        "OKRLINK_ADMIN_TOKEN": ADMIN,
    }
    argv = ["okrlink", "worker", "--metrics-port", str(port)]
    token = {"Authorization": f"Bearer {ADMIN}"}
    with running(
        argv, port=port, env=env, logs=tmp_path / "worker", ready="/metrics", headers=token
    ) as worker:
        deadline = time.monotonic() + 30
        while True:
            samples = parse(requests.get(f"{worker.url}/metrics", headers=token, timeout=10).text)
            applied = value(samples, "okrlink_apply_seconds_count")
            if applied >= EVENTS or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert applied == EVENTS
    assert value(samples, "okrlink_apply_seconds_sum") > 0
    assert (
        "okrlink_outbound_writes_total",
        frozenset({("target", "jira_property"), ("outcome", "ok")}),
    ) in samples


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket listens on at `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                if len(address) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    words = [bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, 32, 8)]
                    found.add(socket.inet_ntop(socket.AF_INET6, b"".join(words)))
    return found


def test_the_worker_metrics_listen_on_loopback_and_ask_for_the_admin_token(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "OKRLINK_DATABASE_URL": settings.resolved_database_url,
        "OKRLINK_DATA_DIR": str(settings.data_dir),
        "OKRLINK_SECRET_KEY": settings.secret_key,
        "OKRLINK_ADMIN_TOKEN": ADMIN,
    }
    argv = ["okrlink", "worker", "--metrics-port", str(port)]
    token = {"Authorization": f"Bearer {ADMIN}"}
    with running(
        argv, port=port, env=env, logs=tmp_path / "w", ready="/metrics", headers=token
    ) as worker:
        assert listening_addresses(port) == {"127.0.0.1"}
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789abcdef0123"}):
            refused = requests.get(f"{worker.url}/metrics", headers=headers, timeout=10)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "unauthorized"
            assert "okrlink_" not in refused.text
        assert "okrlink_" in requests.get(f"{worker.url}/metrics", headers=token, timeout=10).text
        assert requests.get(f"{worker.url}/healthz", timeout=10).text == "ok"  # the probe's
    port = free_port()
    everywhere = "0.0.0.0"  # noqa: S104 (what the test asks the worker for)
    argv = ["okrlink", "worker", "--metrics-port", str(port), "--metrics-host", everywhere]
    public = {**env, "OKRLINK_METRICS_PUBLIC": "1"}
    with running(argv, port=port, env=public, logs=tmp_path / "p", ready="/metrics"):
        assert listening_addresses(port) == {everywhere}

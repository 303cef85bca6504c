"""`okrlink worker --metrics-port`: the worker's own figures, counted where the jobs run."""

from __future__ import annotations

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
    }
    argv = ["okrlink", "worker", "--metrics-port", str(port)]
    with running(argv, port=port, env=env, logs=tmp_path / "worker", ready="/metrics") as worker:
        deadline = time.monotonic() + 30
        while True:
            samples = parse(requests.get(f"{worker.url}/metrics", timeout=10).text)
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

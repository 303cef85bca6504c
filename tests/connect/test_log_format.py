"""`OKRLINK_LOG_FORMAT=json`: one JSON object per line, with its context, and never a secret."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import func, select

from connect.ops.log_format import JsonLines, PlainLines, Redactor, formatter_for
from connect.services import services_of
from connect.settings import Settings
from integrations.github.signature import sign
from sync.db.model import InboxEvent, Outbound
from sync.engine import log_context
from tests.support import github_app
from tests.support.app import install, signed_url
from tests.support.jira import issue_event
from tests.support.processes import running
from tests.support.servers import free_port
from tests.support.signing import connect_token

ADMIN = "admin-token-7f3c9a1e5b2d4f6081a3c5e7"
SHARED = "shared-secret-of-the-tenant-0123456789abcdef"
GITHUB = "github-webhook-secret-5e8d2c4b1a"
FERNET = "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY="
CLIENT = "jira:acme-logs"


def _record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "okrlink.test", logging.WARNING, __file__, 1, message, args, sys.exc_info() if exc else None
    )
    record.__dict__.update(extra)
    return record


def test_a_json_line_has_time_level_logger_event_and_the_bound_context() -> None:
    formatter = formatter_for("json")
    assert isinstance(formatter, JsonLines)
    with log_context.bound(site=3, delivery_id="d-42"), log_context.bound(kr_key="PLAT-1.2"):
        line = formatter.format(_record("applied %d events", 5))
    assert json.loads(line) == {
        "time": json.loads(line)["time"],
        "level": "WARNING",
        "logger": "okrlink.test",
        "event": "applied 5 events",
        "site": 3,
        "delivery_id": "d-42",
        "kr_key": "PLAT-1.2",
    }
    assert json.loads(line)["time"].endswith("+00:00")
    assert "site" not in json.loads(formatter.format(_record("outside any context")))


def test_a_traceback_stays_on_its_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        line = formatter_for("json").format(_record("it failed", exc=True))
    assert "\n" not in line
    assert json.loads(line)["exc_info"].splitlines()[-1] == "ValueError: boom"


def test_any_other_format_is_plain_text_scrubbed_alike() -> None:
    formatter = formatter_for("", secrets=[ADMIN])
    assert isinstance(formatter, PlainLines)
    assert formatter.format(_record("token %s", ADMIN)).endswith("okrlink.test: token [redacted]")


def test_secrets_are_scrubbed_wherever_they_appear() -> None:
    scrub = Redactor([ADMIN, SHARED])
    token = connect_token(SHARED, client_key=CLIENT, method="GET", url="/x")
    cases = {
        f'"GET /confluence/macro/okr-panel?team=PLAT&jwt={token} HTTP/1.1" 200': token,
        f"Authorization: Bearer {ADMIN}": ADMIN,
        f"Authorization: JWT {token}": token,
        f"{{'sharedSecret': '{SHARED}'}}": SHARED,
        "posting to https://hooks.slack.com/services/T000/B000/XXXXXXXX failed": "XXXXXXXX",
        "to https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/x": "abc@",
        "installation token ghs_16C7e42F292c6912E7710c838347Ae178B4a": "ghs_16C7",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----": "MIIEow",
        "client_secret=abc123def456&grant_type=x": "abc123def456",
        "posting to https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual"
        "/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig=Zm9vYmFyYmF6": "Zm9vYmFy",
        "retrying https://example.com/run?api-version=1&sig=Zm9vYmFyYmF6": "Zm9vYmFy",
        "database postgresql+psycopg://okrlink:hunter2-long@db:5432/okrlink down": "hunter2",
    }
    for text, secret in cases.items():
        assert secret not in scrub(text), text
        assert "[redacted]" in scrub(text)
    ordinary = "KR PLAT-1.2 moved to 0.5 (token expired for site 3)"
    assert scrub(ordinary) == ordinary


def _github(url: str, body: bytes, *, secret: str) -> requests.Response:
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "g-ping",
        "X-Hub-Signature-256": sign(secret=secret, body=body),
        "Content-Type": "application/json",
    }
    return requests.post(f"{url}/webhooks/github", data=body, headers=headers, timeout=10)


def test_a_whole_run_logs_json_lines_only_and_never_a_secret(
    app: Flask, settings: Settings, tmp_path: Path
) -> None:
    """`okrlink serve` with its worker, driven through webhooks, pages and the API, forged
    calls included, and write-backs to a Jira that refuses connections: every line of its
    log is a JSON object, and no secret or token sent to it appears in any."""
    jira = f"http://127.0.0.1:{free_port()}"  # nothing listens: each write-back fails
    install(app, client_key=CLIENT, base_url=jira, secret=SHARED)
    port = free_port()
    env = {
        "OKRLINK_LOG_FORMAT": "json",
        "OKRLINK_LOG_LEVEL": "INFO",  # every request line too: the whole run is scanned
        "OKRLINK_DATABASE_URL": settings.resolved_database_url,
        "OKRLINK_DATA_DIR": str(tmp_path),
        "OKRLINK_SECRET_KEY": FERNET,
        "OKRLINK_ADMIN_TOKEN": ADMIN,
        "OKRLINK_GITHUB_WEBHOOK_SECRET": GITHUB,
        "OKRLINK_BASE_URL": settings.base_url,
    }
    sent: list[str] = []
    with running(
        ["okrlink", "serve", "--port", str(port)], port=port, env=env, logs=tmp_path / "serve"
    ) as server:
        admin = {"Authorization": f"Bearer {ADMIN}", "X-Okrlink-Site": CLIENT}
        api = f"{server.url}/api/v1"
        assert (
            requests.post(
                f"{api}/objectives",
                headers=admin,
                timeout=10,
                json={
                    "team": "PLAT",
                    "cycle": "2026-Q4",
                    "key": "PLAT-1",
                    "title": "Ship what matters",
                },
            ).status_code
            == 201
        )
        assert (
            requests.post(
                f"{api}/key-results",
                headers=admin,
                timeout=10,
                json={
                    "objective": "PLAT-1",
                    "key": "PLAT-1.1",
                    "title": "Close the failover epic",
                    "kind": "issues",
                    "owner": "SRE lead",
                },
            ).status_code
            == 201
        )
        assert (
            requests.post(
                f"{api}/key-results/PLAT-1.1/links",
                headers=admin,
                timeout=10,
                json={"target": "PLAT-12"},
            ).status_code
            == 201
        )
        assert (
            requests.get(
                f"{api}/objectives",
                timeout=10,
                headers={"Authorization": "Bearer a-wrong-token-123456"},
            ).status_code
            == 401
        )

        start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        for n in range(12):
            category = ("new", "indeterminate", "done")[n % 3]
            payload = issue_event(
                "updated",
                key="PLAT-12",
                issue_id="12",
                category=category,
                updated=start + timedelta(minutes=n),
                changes=[("status", "Status", "To Do", category)],
            )
            token = connect_token(
                SHARED, client_key=CLIENT, method="POST", url="/webhooks/jira", account_id=None
            )
            sent.append(token)
            for _twice in range(2):  # each delivery again: a duplicate
                answer = requests.post(
                    f"{server.url}/webhooks/jira",
                    data=json.dumps(payload),
                    headers={
                        "Authorization": f"JWT {token}",
                        "Content-Type": "application/json",
                        "X-Atlassian-Webhook-Identifier": f"d-{n}",
                    },
                    timeout=10,
                )
                assert answer.status_code == 200
        forged = connect_token(
            "not-the-secret-0123456789abcdefghij",
            client_key=CLIENT,
            method="POST",
            url="/webhooks/jira",
        )
        sent.append(forged)
        forged_call = requests.post(
            f"{server.url}/webhooks/jira",
            data=b"{}",
            timeout=10,
            headers={"Authorization": f"JWT {forged}"},
        )
        assert forged_call.status_code == 401
        panel = signed_url(
            "/confluence/macro/okr-panel",
            {"team": "PLAT", "cycle": "2026-Q4"},
            client_key=CLIENT,
            secret=SHARED,
        )
        sent.append(panel.rsplit("jwt=", 1)[1])
        assert requests.get(server.url + panel, timeout=10).status_code == 200
        body = json.dumps(github_app.fixture("ping.json")).encode()
        assert _github(server.url, body, secret=GITHUB).status_code == 200
        assert _github(server.url, body, secret="wrong-secret-9876").status_code == 401

        # Until every event is applied and the KR's write-back to Jira has been tried.
        done = select(func.count()).select_from(InboxEvent).where(InboxEvent.state == "pending")
        tried = select(func.count()).select_from(Outbound).where(Outbound.attempts > 0)
        deadline = time.monotonic() + 30
        with services_of(app).store.sessions() as session:
            while time.monotonic() < deadline:
                if session.scalar(done) == 0 and session.scalar(tried):
                    break
                session.rollback()
                time.sleep(0.1)
    printed = [line for line in server.stdout.read_text().splitlines() if line.strip()]
    assert "okrlink is ready" in json.loads(printed[0])["event"]  # stdout is JSON lines too
    lines = [line for line in server.logs() + printed if line.strip()]
    assert len(lines) >= 30  # every request, the consumer, the failed write-backs
    records = [json.loads(line) for line in lines]  # each line is one JSON object
    assert all({"time", "level", "logger", "event"} <= record.keys() for record in records)
    assert any(record.get("site") for record in records), lines  # the engine names its site
    whole = "\n".join(lines)
    for secret in (ADMIN, SHARED, GITHUB, FERNET, "a-wrong-token-123456", *sent):
        assert secret not in whole


def test_every_secret_setting_is_scrubbed_from_lines() -> None:
    from dataclasses import fields

    from connect.ops.logs import SECRET_SETTINGS, formatter_from

    secret_like = {
        f.name.upper()
        for f in fields(Settings)
        if any(word in f.name for word in ("secret", "token", "private_key", "password"))
    }
    assert secret_like <= set(SECRET_SETTINGS)
    environ = {f"OKRLINK_{name}": f"value-of-{name.lower()}-0123456789" for name in secret_like}
    environ["OKRLINK_SECRET_KEY"] = "first-key-0123456789,second-key-0123456789"
    formatter = formatter_from(environ)
    for value in [*environ.values(), "first-key-0123456789", "second-key-0123456789"]:
        assert value not in formatter.format(_record("with %s inside", value))
    assert "value-of-asana_client_secret" not in formatter.format(
        _record("oauth failed: value-of-asana_client_secret-0123456789")
    )


def test_a_line_break_in_a_plain_message_cannot_forge_a_record() -> None:
    formatter = formatter_for("")
    forged = "GET /x\n12:00:00 ERROR okrlink: admin logged in\r\u2028fake"
    line = formatter.format(_record("request %s", forged))
    assert "\n" not in line and "\r" not in line and "\u2028" not in line
    assert line.endswith("request GET /x\\n12:00:00 ERROR okrlink: admin logged in\\r\\u2028fake")
    try:
        raise ValueError("bad\n12:00:00 ERROR okrlink: forged")
    except ValueError:
        text = formatter.format(_record("it failed", exc=True))
    first, *rest = text.split("\n")
    assert first.endswith("okrlink.test: it failed")
    assert rest and all(line[:1].isspace() for line in rest)  # a traceback, indented

"""A local HTTPS server that speaks Asana's API, for the Asana client and the webhook door.

Shapes follow Asana's OpenAPI document (as the `asana` SDK 5.x documents them): every answer
wraps its record in `data`, lists carry `next_page` (`offset`, `path`, `uri`, or null), errors
are `{"errors": [{"message", "help"}]}`; a task has `gid`, `resource_type`, `name`,
`completed`, `modified_at`, `notes`, `parent`, `memberships[].project/section`,
`num_subtasks`; a webhook delivery is `{"events": [{user, created_at, action, resource,
parent, change}]}` signed with `X-Hook-Signature`. `POST /webhooks` performs the
`X-Hook-Secret` handshake against the real target before it answers, as Asana does.

The server certificate is issued by a private CA made here (`cryptography`); clients trust it
through `REQUESTS_CA_BUNDLE`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from integrations.asana.signature import sign

ME = {"gid": "1100000000000001", "resource_type": "user", "name": "okrlink service account"}
WORKSPACE = {"gid": "1100000000000002", "resource_type": "workspace", "name": "Acme"}
PAGE = 2  # a small page, so paging is exercised
REFRESH = "oauth-refresh"


def asana_time(when: dt.datetime) -> str:
    """A time as Asana writes it: `2012-02-22T02:06:58.147Z`."""
    millis = f"{when.microsecond // 1000:03d}"
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + millis + "Z"


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for 127.0.0.1 signed by it: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "okrlink test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@dataclass
class FakeAsana:
    """Asana's state, and what okrlink did to it."""

    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    goals: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    goal_writes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rate_limit_goals: int = 0  # answer this many goal writes 429 first
    tokens: dict[str, str] = field(default_factory=lambda: {"test-token": ME["gid"]})
    url: str = ""

    # -- state ------------------------------------------------------------------------------

    def add_project(self, gid: str, name: str = "Launch") -> None:
        self.projects[gid] = {"gid": gid, "resource_type": "project", "name": name}

    def add_task(
        self,
        gid: str,
        *,
        project: str | None = None,
        parent: str | None = None,
        completed: bool = False,
        modified: dt.datetime,
        notes: str = "",
        name: str | None = None,
        effort: float | None = None,
    ) -> dict[str, Any]:
        memberships = []
        if project is not None:
            memberships.append(
                {
                    "project": {"gid": project, "resource_type": "project", "name": "Launch"},
                    "section": {"gid": project + "9", "resource_type": "section", "name": "Doing"},
                }
            )
        task = {
            "gid": gid,
            "resource_type": "task",
            "resource_subtype": "default_task",
            "name": name or f"Task {gid}",
            "completed": completed,
            "completed_at": asana_time(modified) if completed else None,
            "modified_at": asana_time(modified),
            "notes": notes,
            "parent": {"gid": parent, "resource_type": "task", "name": f"Task {parent}"}
            if parent
            else None,
            "memberships": memberships,
            "num_subtasks": 0,
            "custom_fields": [
                {
                    "gid": "1600000000000001",
                    "resource_type": "custom_field",
                    "name": "Effort",
                    "resource_subtype": "number",
                    "type": "number",
                    "precision": 0,
                    "number_value": effort,
                    "display_value": None if effort is None else str(effort),
                }
            ],
        }
        self.tasks[gid] = task
        if parent is not None:
            self.tasks[parent]["num_subtasks"] += 1
        return task

    def update_task(self, gid: str, *, modified: dt.datetime, **changes: Any) -> None:
        task = self.tasks[gid]
        task.update(changes)
        task["modified_at"] = asana_time(modified)
        if "completed" in changes:
            task["completed_at"] = asana_time(modified) if changes["completed"] else None

    def add_goal(self, gid: str, *, target: float) -> None:
        self.goals[gid] = {
            "gid": gid,
            "resource_type": "goal",
            "name": "Launch goal",
            "status": None,
            "metric": {
                "gid": gid + "1",
                "resource_type": "task",
                "resource_subtype": "number",
                "unit": "none",
                "precision": 0,
                "initial_number_value": 0,
                "target_number_value": target,
                "current_number_value": 0,
            },
        }

    # -- events -----------------------------------------------------------------------------

    @staticmethod
    def event(
        task_gid: str,
        *,
        action: str = "changed",
        field_name: str | None = "completed",
        user: str = "1100000000000077",
        when: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """One compact event, as Asana sends it."""
        return {
            "user": {"gid": user, "resource_type": "user"},
            "created_at": asana_time(when or dt.datetime.now(dt.UTC)),
            "action": action,
            "resource": {
                "gid": task_gid,
                "resource_type": "task",
                "resource_subtype": "default_task",
            },
            "parent": None,
            "change": {"field": field_name, "action": "changed"} if field_name else None,
        }

    def deliver(
        self, webhook_gid: str, events: list[dict[str, Any]], *, body: bytes | None = None
    ) -> requests.Response:
        """POST a delivery to the webhook's target, signed with its secret."""
        hook = self.webhooks[webhook_gid]
        raw = body if body is not None else json.dumps({"events": events}).encode()
        return requests.post(
            hook["target"],
            data=raw,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                "X-Hook-Signature": sign(secret=hook["secret"], body=raw),
            },
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _error(self, status: int, message: str) -> None:
        self._send(
            status,
            {"errors": [{"message": message, "help": "https://developers.asana.com/docs/errors"}]},
        )

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        return json.loads(raw) if raw else {}

    def _route(self, method: str) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        state.requests.append((method, path))
        if path == "/-/oauth_token" and method == "POST":
            return self._oauth(self._body())
        path = path.removeprefix("/api/1.0")
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in state.tokens:
            return self._error(401, "Not Authorized")
        segments = [s for s in path.split("/") if s]
        if segments == ["users", "me"] and method == "GET":
            return self._send(200, {"data": {**ME, "workspaces": [WORKSPACE]}})
        if segments == ["tasks"] and method == "GET":
            return self._list(self._project_tasks(query), query)
        if len(segments) == 2 and segments[0] == "tasks" and method == "GET":
            task = state.tasks.get(segments[1])
            return self._send(200, {"data": task}) if task else self._error(404, "Not found")
        if len(segments) == 3 and segments[0] == "tasks" and segments[2] == "subtasks":
            subtasks = [
                t for t in state.tasks.values() if (t["parent"] or {}).get("gid") == segments[1]
            ]
            return self._list(subtasks, query)
        if len(segments) == 2 and segments[0] == "projects" and method == "GET":
            project = state.projects.get(segments[1])
            return self._send(200, {"data": project}) if project else self._error(404, "Not found")
        if len(segments) >= 2 and segments[0] == "goals":
            return self._goal(method, segments[1], segments[2:], self._body())
        if segments == ["webhooks"] and method == "POST":
            return self._create_webhook(self._body()["data"])
        if len(segments) == 2 and segments[0] == "webhooks":
            hook = state.webhooks.get(segments[1])
            if hook is None:
                return self._error(404, "Not found")
            if method == "DELETE":
                del state.webhooks[segments[1]]
                return self._send(200, {"data": {}})
            return self._send(200, {"data": _public(hook)})
        return self._error(404, f"no route {method} {path}")

    def _project_tasks(self, query: dict[str, str]) -> list[dict[str, Any]]:
        project = query.get("project")
        since = query.get("modified_since")
        found = [
            t
            for t in self.server.state.tasks.values()
            if any(m["project"]["gid"] == project for m in t["memberships"])
        ]
        if since:
            limit = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
            found = [
                t
                for t in found
                if dt.datetime.fromisoformat(t["modified_at"].replace("Z", "+00:00")) >= limit
            ]
        return found

    def _list(self, items: list[dict[str, Any]], query: dict[str, str]) -> None:
        limit = min(int(query.get("limit") or PAGE), PAGE)
        offset = int(query.get("offset") or 0)
        page = items[offset : offset + limit]
        following = offset + limit
        next_page = (
            {
                "offset": str(following),
                "path": f"{self.path}&offset={following}",
                "uri": f"{self.server.state.url}{self.path}&offset={following}",
            }
            if following < len(items)
            else None
        )
        self._send(200, {"data": page, "next_page": next_page})

    def _goal(self, method: str, gid: str, rest: list[str], body: dict[str, Any]) -> None:
        state = self.server.state
        goal = state.goals.get(gid)
        if goal is None:
            return self._error(404, "Not found")
        if state.rate_limit_goals > 0:
            state.rate_limit_goals -= 1
            return self._send(
                429, {"errors": [{"message": "Rate limit enforced"}]}, {"Retry-After": "30"}
            )
        data = body.get("data") or {}
        if method == "POST" and rest == ["setMetricCurrentValue"]:
            goal["metric"]["current_number_value"] = data["current_number_value"]
        elif method == "PUT" and not rest:
            goal.update({k: v for k, v in data.items() if k in ("status", "name", "notes")})
        else:
            return self._error(404, "no such goal route")
        state.goal_writes.append((gid, data))
        self._send(200, {"data": goal})

    def _create_webhook(self, data: dict[str, Any]) -> None:
        state = self.server.state
        secret = secrets.token_hex(32)
        try:  # the handshake, while the client's POST is in flight
            answer = requests.post(data["target"], headers={"X-Hook-Secret": secret}, timeout=10)
        except requests.RequestException as exc:
            return self._error(400, f"handshake failed: {exc}")
        if answer.status_code not in (200, 204) or answer.headers.get("X-Hook-Secret") != secret:
            return self._error(400, "The remote server did not respond with the handshake secret")
        gid = str(1200000000000000 + len(state.webhooks) + 1 + secrets.randbelow(1000) * 1000)
        resource = data["resource"]
        hook = {
            "gid": gid,
            "resource_type": "webhook",
            "active": True,
            "resource": {"gid": resource, "resource_type": "project", "name": "Launch"},
            "target": data["target"],
            "created_at": asana_time(dt.datetime.now(dt.UTC)),
            "last_failure_at": None,
            "last_failure_content": "",
            "last_success_at": None,
            "secret": secret,
        }
        state.webhooks[gid] = hook
        self._send(201, {"data": _public(hook), "X-Hook-Secret": secret})

    def _oauth(self, form: dict[str, str]) -> None:
        state = self.server.state
        if form.get("grant_type") == "authorization_code" and form.get("code") == "good-code":
            token = "oauth-access-1"
        elif form.get("grant_type") == "refresh_token" and form.get("refresh_token") == REFRESH:
            token = f"oauth-access-{len(state.tokens) + 1}"
        else:
            return self._send(400, {"error": "invalid_grant"})
        state.tokens[token] = ME["gid"]
        self._send(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": REFRESH,
                "data": {
                    "id": int(ME["gid"]),
                    "gid": ME["gid"],
                    "name": ME["name"],
                    "email": "okrlink@example.com",
                },
            },
        )

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")


def _public(hook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in hook.items() if k != "secret"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FakeAsana


@contextmanager
def asana_server(directory: Path) -> Iterator[tuple[FakeAsana, Path]]:
    """Serve a FakeAsana over HTTPS on 127.0.0.1; yields it and the CA file to trust."""
    ca, cert, key = make_certificates(directory)
    server = _Server(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state = FakeAsana(url=f"https://127.0.0.1:{server.server_address[1]}")
    server.state = state
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, ca
    finally:
        server.shutdown()
        server.server_close()

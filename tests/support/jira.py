"""Jira webhook tests: real fixture payloads reshaped per issue, signed as the tenant sends them."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import ssl
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jwt
import trustme
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connect.services import services_of
from integrations.atlassian.events import clean
from integrations.atlassian.qsh import query_string_hash
from sync.db.model import InboxEvent, Snapshot
from sync.errors import Permanent, Transient
from sync.permissions import Grants
from tests.support.base import shared_fixture
from tests.support.signing import JIRA_BASE, connect_token, install

WEBHOOK = "/webhooks/jira"
APP_KEY = "okrlink"
CATEGORY_IDS = {"new": 2, "indeterminate": 4, "done": 3}
CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}
CREATED = "jira_issue_created__cloud_2024_skill-sync.json"
UPDATED = "jira_issue_updated__description__cloud_2024_skill-sync.json"
DELETED = "jira_issue_deleted__cloud_2020_osbot-jira.json"


def fixture(name: str) -> dict[str, Any]:
    """A Jira fixture payload without its logger artefacts."""
    return clean(shared_fixture("jira", name))


def install_jira(app: Flask, client_key: str, base_url: str = JIRA_BASE) -> str:
    """Install a Jira tenant; returns its shared secret."""
    return install(app, client_key=client_key, base_url=base_url)


def post_webhook(
    client: FlaskClient,
    payload: Mapping[str, Any] | bytes,
    *,
    secret: str,
    client_key: str,
    delivery: str | None = None,
) -> TestResponse:
    """POST a webhook as Jira does: Connect JWT for this request, delivery id header."""
    token = connect_token(
        secret, client_key=client_key, method="POST", url=WEBHOOK, account_id=None
    )
    headers = {"Authorization": f"JWT {token}", "Content-Type": "application/json"}
    if delivery:
        headers["X-Atlassian-Webhook-Identifier"] = delivery
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(WEBHOOK, data=body, headers=headers)


def jira_time(when: datetime) -> str:
    """A time as Jira writes `fields.updated` (`2024-12-29T08:41:23.303+0000`)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}+0000"
    )


def issue_fields(
    template: Mapping[str, Any],
    *,
    key: str,
    issue_id: str,
    category: str,
    updated: datetime,
    parent: str | None = None,
    points: float | None = None,
    labels: Sequence[str] = (),
    issue_type: str = "Task",
    summary: str | None = None,
) -> dict[str, Any]:
    """The fixture's `issue`, reshaped: key, id, status category, parent, points, labels."""
    issue = copy.deepcopy(dict(template))
    issue["key"], issue["id"] = key, issue_id
    issue["self"] = f"{JIRA_BASE}/rest/api/2/{issue_id}"
    fields = issue["fields"]
    status = fields["status"]
    status["name"] = CATEGORY_NAMES[category]
    status["statusCategory"].update(
        key=category, id=CATEGORY_IDS[category], name=CATEGORY_NAMES[category]
    )
    fields["issuetype"]["name"] = issue_type
    fields["updated"] = jira_time(updated)
    fields["summary"] = summary or f"Work item {key}"
    fields["labels"] = list(labels)
    fields["customfield_10016"] = points
    if parent:
        fields["parent"] = {"id": f"p{parent}", "key": parent, "fields": {"summary": parent}}
    else:
        fields.pop("parent", None)
    return issue


def issue_event(
    kind: str,
    *,
    key: str,
    issue_id: str,
    category: str = "new",
    updated: datetime,
    parent: str | None = None,
    points: float | None = None,
    labels: Sequence[str] = (),
    issue_type: str = "Task",
    actor: str | None = None,
    changes: Sequence[tuple[str, str, Any, Any]] = (),
) -> dict[str, Any]:
    """A webhook payload of `kind` (created/updated/deleted) built on the matching fixture.

    `changes` are changelog items `(fieldId, localised field name, from, to)`.
    """
    name = {"created": CREATED, "updated": UPDATED, "deleted": DELETED}[kind]
    payload = fixture(name)
    payload["issue"] = issue_fields(
        payload["issue"],
        key=key,
        issue_id=issue_id,
        category=category,
        updated=updated,
        parent=parent,
        points=points,
        labels=labels,
        issue_type=issue_type,
    )
    payload["timestamp"] = int(updated.timestamp() * 1000) + 50
    if actor is not None:
        payload["user"]["accountId"] = actor
    if kind != "deleted":
        template = fixture(UPDATED)["changelog"]["items"][0]
        payload["changelog"] = {
            "id": str(abs(hash((key, payload["timestamp"]))) % 10**8),
            "items": [
                {
                    **template,
                    "field": label,
                    "fieldId": field_id,
                    "fromString": None if old is None else str(old),
                    "toString": None if new is None else str(new),
                }
                for field_id, label, old, new in changes
            ],
        }
    return payload


def verify_outbound_jwt(authorization: str, *, secret: str, method: str, url: str) -> dict:
    """Check an outbound call's Connect JWT: our app key as `iss`, the `qsh` of that call."""
    assert authorization.startswith("JWT ")
    claims = jwt.decode(authorization[4:], secret, algorithms=["HS256"])
    parts = urlsplit(url)
    assert claims["iss"] == APP_KEY
    assert claims["qsh"] == query_string_hash(method, parts.path, parts.query)
    return claims


def property_url(issue_key: str, prop: str = "okrlink", base: str = JIRA_BASE) -> str:
    """Where an issue property is PUT (the property key percent-encoded, `:` included)."""
    return f"{base}/rest/api/3/issue/{issue_key}/properties/{quote(prop, safe='')}"


def glance_property() -> str:
    return f"com.atlassian.jira.issue:{APP_KEY}:okr-glance:status"


def count_rows(app: Flask, model: type) -> int:
    with services_of(app).store.session() as session:
        return session.query(model).count()


def inbox_count(app: Flask) -> int:
    return count_rows(app, InboxEvent)


def snapshot_count(app: Flask) -> int:
    return count_rows(app, Snapshot)


def create_okrs(
    client: FlaskClient, admin: Mapping[str, str], *, site: str, krs: Sequence[dict[str, Any]]
) -> None:
    """An objective of team PLAT in 2026-Q4 with these key results, on the tenant's site."""
    headers = {**admin, "X-Okrlink-Site": site}
    response = client.post(
        "/api/v1/objectives",
        headers=headers,
        json={
            "team": "PLAT",
            "cycle": "2026-Q4",
            "key": "PLAT-1",
            "title": "Ship the platform work that matters",
        },
    )
    assert response.status_code == 201, response.json
    for kr in krs:
        data = {"objective": "PLAT-1", "owner": "Platform lead", **kr}
        response = client.post("/api/v1/key-results", headers=headers, json=data)
        assert response.status_code == 201, response.json


def link(client: FlaskClient, admin: Mapping[str, str], *, site: str, kr: str, target: str) -> None:
    response = client.post(
        f"/api/v1/key-results/{kr}/links",
        json={"target": target},
        headers={**admin, "X-Okrlink-Site": site},
    )
    assert response.status_code == 201, response.json


def get_kr(client: FlaskClient, admin: Mapping[str, str], *, site: str, kr: str) -> dict:
    response = client.get(f"/api/v1/key-results/{kr}", headers={**admin, "X-Okrlink-Site": site})
    assert response.status_code == 200, response.json
    return response.json


class FakeTracker:
    """An in-memory Jira: issues by key, and every property write it received."""

    def __init__(self) -> None:
        self.issues: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[int, str, dict[str, Any]]] = []
        self.rate_limited_for: float | None = None  # seconds of Retry-After while limited
        self.refusing = False  # answers 403 to every write while set

    def set_issue_property(self, site_id: int, issue_key: str, value: Mapping[str, Any]) -> None:
        if self.refusing:
            raise Permanent("HTTP 403: the app may not edit this issue", status=403)
        if self.rate_limited_for is not None:
            raise Transient("HTTP 429", retry_after=self.rate_limited_for)
        self.writes.append((site_id, issue_key, dict(value)))

    def fetch_issue(self, site_id: int, issue_key: str) -> Mapping[str, Any] | None:
        return self.issues.get(issue_key)

    def search(self, site_id: int, jql: str, *, fields: Sequence[str]) -> Iterator[Mapping]:
        parents = {k.strip('" ') for k in jql.split("(", 1)[1].split(")", 1)[0].split(",")}
        return iter(
            [
                i
                for i in self.issues.values()
                if (i["fields"].get("parent") or {}).get("key") in parents
            ]
        )


def incident_event(
    kind: str,
    *,
    key: str,
    opened: datetime,
    updated: datetime,
    resolved: datetime | None = None,
    issue_type: str = "Incident",
    project: str = "OPS",
) -> dict[str, Any]:
    """A webhook payload of an issue in `project` (an incident unless told), opened at `opened`
    and resolved at `resolved` (Done) or not (To Do), built on the fixtures like `issue_event`."""
    number = key.split("-")[1]
    payload = issue_event(
        kind,
        key=key,
        issue_id=f"9{number}",
        updated=updated,
        category="done" if resolved else "new",
        issue_type=issue_type,
        changes=[("resolution", "Resolution", None, "Done")] if resolved else [],
    )
    fields = payload["issue"]["fields"]
    fields["created"] = jira_time(opened)
    fields["resolutiondate"] = jira_time(resolved) if resolved else None
    fields["project"].update(key=project, name=f"{project} project", id=f"1{len(project)}")
    return payload


# --- who may do what: Jira's permissions --------------------------------------------------

PROJECT_ADMIN = frozenset({"BROWSE_PROJECTS", "EDIT_ISSUES", "ADMINISTER_PROJECTS"})
MEMBER = frozenset({"BROWSE_PROJECTS", "EDIT_ISSUES"})
VIEWER = frozenset({"BROWSE_PROJECTS"})


class GrantingJira:
    """An in-memory `JiraPermissions` port that grants every account everything: a Jira admin
    who is also every project's admin. The default of the suite's apps, so tests that write
    with a user token are not about permissions; the permission tests use `JiraServer`."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def project_id(self, site_id: int, key: str) -> int | None:
        return self.ids.setdefault(key, 10000 + len(self.ids))

    def check(
        self,
        site_id: int,
        *,
        account_id: str,
        global_permissions: Sequence[str],
        project_permissions: Mapping[str, Sequence[int]],
    ) -> Grants:
        return Grants(
            global_permissions=frozenset(global_permissions),
            project_permissions={p: frozenset(ids) for p, ids in project_permissions.items()},
        )


@dataclass
class JiraCall:
    """One request the stand-in Jira received."""

    method: str
    path: str
    authorization: str
    body: Any


@dataclass
class JiraServer:
    """A stand-in Jira Cloud over HTTPS on loopback answering what the permissions layer asks:
    `GET /rest/api/3/project/{key}` and the bulk permission check
    `POST /rest/api/3/permissions/check`, from `projects` (key -> id), `admins` (accounts
    holding `ADMINISTER`) and `grants` ((account, project key) -> permissions), and a JQL search
    matching `search_hits` issues. With `down` set it answers 500. Any path prefix is accepted
    (Forge's `/ex/jira/{cloudId}`)."""

    base_url: str = ""
    projects: dict[str, int] = field(default_factory=dict)
    admins: set[str] = field(default_factory=set)
    grants: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    down: bool = False
    search_hits: int = 0  # how many issues `POST /rest/api/3/search/jql` matches
    calls: list[JiraCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def grant(self, account: str, project: str, permissions: frozenset[str]) -> None:
        self.grants[(account, project)] = permissions

    def checks(self) -> list[JiraCall]:
        return [c for c in self.calls if c.path.endswith("/rest/api/3/permissions/check")]

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if self.down:
            return 500, {"errorMessages": ["Jira is down"]}
        project = re.fullmatch(r".*/rest/api/3/project/([A-Za-z0-9_]+)", path)
        if method == "GET" and project:
            key = project.group(1)
            if key not in self.projects:
                return 404, {"errorMessages": [f"No project could be found with key '{key}'."]}
            return 200, {"id": str(self.projects[key]), "key": key, "name": f"{key} project"}
        if method == "POST" and path.endswith("/rest/api/3/permissions/check"):
            account = body.get("accountId", "")
            keys = {pid: key for key, pid in self.projects.items()}
            held_global = [
                p
                for p in body.get("globalPermissions", [])
                if p == "ADMINISTER" and account in self.admins
            ]
            held_projects = []
            for ask in body.get("projectPermissions", []):
                for permission in ask.get("permissions", []):
                    ids = [
                        pid
                        for pid in ask.get("projects", [])
                        if permission in self.grants.get((account, keys.get(pid, "")), ())
                    ]
                    held_projects.append({"permission": permission, "projects": ids, "issues": []})
            return 200, {"globalPermissions": held_global, "projectPermissions": held_projects}
        if method == "POST" and path.endswith("/rest/api/3/search/jql"):
            issues = [
                {"id": str(20000 + n), "key": f"PLAT-{n}", "fields": {"issuetype": {"name": "Bug"}}}
                for n in range(1, self.search_hits + 1)
            ]
            return 200, {"issues": issues, "isLast": True}
        return 404, {"errorMessages": ["no such resource in the stand-in"]}


@contextlib.contextmanager
def jira_server(ca: trustme.CA) -> Iterator[JiraServer]:
    """The stand-in Jira on a free loopback port, over HTTPS with a certificate of `ca`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    jira = JiraServer(base_url=f"https://localhost:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw) if raw else None
            path = urlsplit(self.path).path
            with jira.lock:
                jira.calls.append(
                    JiraCall(self.command, path, self.headers.get("Authorization", ""), body)
                )
                status, answer = jira.answer(self.command, path, body or {})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield jira
    finally:
        server.shutdown()
        server.server_close()


# --- a stand-in Jira over HTTPS for people: profiles and the user picker's search -------------

USER_BULK = "/rest/api/3/user/bulk"
USER_SEARCH = "/rest/api/3/user/permission/search"
ISSUE_PICKER = "/rest/api/3/issue/picker"
_PROJECT_JQL = re.compile(r'^project = "([A-Z][A-Z0-9_]*)"$')


def jira_user(account_id: str, name: str, *, active: bool = True) -> dict[str, Any]:
    """A user record as Jira Cloud's REST API v3 gives it (`user/bulk` values, user search)."""
    return {
        "self": f"{JIRA_BASE}/rest/api/3/user?accountId={account_id}",
        "accountId": account_id,
        "accountType": "atlassian",
        "emailAddress": "",
        "avatarUrls": {
            "48x48": f"https://avatar-management.services.atlassian.com/{account_id}/48",
            "24x24": f"https://avatar-management.services.atlassian.com/{account_id}/24",
        },
        "displayName": name,
        "active": active,
        "timeZone": "Europe/Paris",
    }


class StandInJira:
    """A running stand-in Jira: its base URL, the users it knows (by account id, with the
    projects each may browse), and every GET it answered (path, query, Authorization)."""

    def __init__(self) -> None:
        self.base_url = ""
        self.users: dict[str, dict[str, Any]] = {}
        self.browsers: dict[str, set[str]] = {}  # project key -> account ids that may browse it
        self.issues: dict[str, str] = {}  # issue key -> summary (the project is the key's prefix)
        self.requests: list[tuple[str, dict[str, list[str]], str]] = []
        self.lock = threading.Lock()

    def add(
        self, account_id: str, name: str, *, active: bool = True, projects: Sequence[str] = ()
    ) -> None:
        self.users[account_id] = jira_user(account_id, name, active=active)
        for project in projects:
            self.browsers.setdefault(project, set()).add(account_id)

    def add_issue(self, key: str, summary: str) -> None:
        self.issues[key] = summary

    def calls(self, path: str) -> list[dict[str, list[str]]]:
        """The queries of the GETs made to `path`, in order."""
        with self.lock:
            return [query for seen, query, _auth in self.requests if seen == path]

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path == USER_BULK:
            found = [self.users[a] for a in query.get("accountId", []) if a in self.users]
            return 200, {
                "maxResults": len(found),
                "startAt": 0,
                "total": len(found),
                "isLast": True,
                "values": found,
            }
        if path == USER_SEARCH:
            if query.get("permissions") != ["BROWSE_PROJECTS"]:
                return 400, {"errorMessages": ["permissions is required"]}
            project = (query.get("projectKey") or [""])[0]
            text = (query.get("query") or [""])[0].lower()
            allowed = self.browsers.get(project, set())
            return 200, [
                user
                for account, user in sorted(self.users.items())
                if account in allowed and text in user["displayName"].lower()
            ]
        if path == ISSUE_PICKER:
            return self._picked(query)
        return 404, {"errorMessages": ["no such resource"]}

    def _picked(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        """The issue picker's answer: Jira's "History Search" and "Current Search" sections,
        the issues of the `currentJQL` project whose key or summary holds the query."""
        jql = _PROJECT_JQL.match((query.get("currentJQL") or [""])[0])
        if jql is None:
            return 400, {"errorMessages": ["currentJQL is not a project query"]}
        text = (query.get("query") or [""])[0].lower()
        found = [
            {
                "key": key,
                "keyHtml": key,
                "img": "/images/icons/issuetypes/task.svg",
                "summary": summary.replace(text, f"<b>{text}</b>") if text else summary,
                "summaryText": summary,
            }
            for key, summary in sorted(self.issues.items())
            if key.startswith(f"{jql.group(1)}-")
            and (text in key.lower() or text in summary.lower())
        ]
        return 200, {
            "sections": [
                {
                    "label": "History Search",
                    "sub": "Showing 1 of 1",
                    "id": "hs",
                    "issues": found[:1],
                },
                {
                    "label": "Current Search",
                    "sub": f"Showing {len(found)} of {len(found)}",
                    "id": "cs",
                    "issues": found,
                },
            ]
        }


@contextlib.contextmanager
def stand_in_jira(ca: trustme.CA) -> Iterator[StandInJira]:
    """A stand-in Jira on a free loopback port over HTTPS (the test trusts `ca`)."""
    jira = StandInJira()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            with jira.lock:
                jira.requests.append((parts.path, query, self.headers.get("Authorization", "")))
            status, body = jira.answer(parts.path, query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    jira.base_url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield jira
    finally:
        server.shutdown()
        server.server_close()

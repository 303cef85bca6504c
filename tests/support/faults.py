"""A real deployment to break on purpose: gunicorn web processes and `okrlink worker` processes
on PostgreSQL and Redis, a stand-in for Jira that records property writes, and a stream of
signed Jira events sent over HTTP as Jira sends them (redelivered on an error, as Jira does).

Used by `tests/sync/test_faults.py` (a few hundred events, one SIGKILL of the worker) and by
`bench/faults.py` (the long stream, with every process and both servers killed or restarted).
The truth it checks against is computed from the events alone: the final state of each issue is
its last event, and each KR's done/total and each issue's property follow from those.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import func, select

from connect.app import create_app
from connect.services import services_of
from connect.settings import Settings
from integrations.atlassian.qsh import query_string_hash
from sync.core.spec import quarter_of
from sync.db.model import Cycle, InboxEvent, KeyResult, Link, Objective, Outbound, Team
from sync.db.store import Store
from sync.tenants import record_install
from tests.support.servers import _as_postgres, _pg_bin, free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENT_KEY = "jira-faults"
SHARED_SECRET = "a-shared-secret-of-at-least-32-characters-faults"
SECRET_KEY = "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY="
WEBHOOK = "/webhooks/jira"
PROPERTY_PATH = "/rest/api/3/issue/"
CATEGORIES = ("new", "indeterminate", "done")


# -- servers that can be restarted on the same port ----------------------------------------


class Postgres:
    """A throwaway PostgreSQL whose server can be restarted (same port, same data)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="okrlink-faults-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.port = free_port()
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "okrlink",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql+psycopg://okrlink@127.0.0.1:{self.port}/postgres"
        self.start()

    def _ctl(self, *argv: str) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), *argv]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        # `synchronous_commit` stays on, as in production: the server is stopped here as in a
        # crash (`-m immediate`), and with it off a commit is answered before its WAL is
        # written, so the last deliveries acknowledged before the stop vanished on restart
        # (lost by the test server's setting, not by okrlink). `fsync=off` only skips the
        # flush to the disk, which a server crash without a machine crash does not need.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c max_connections=300"
        )
        self._ctl("-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """A throwaway Redis (no persistence) that can be killed and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("redis-server") or "redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def restart(self) -> None:
        self.close()
        self.start()

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid`, from /proc (no `procps` needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # The fields after the command name (which may hold spaces): state, then ppid.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


# -- Jira's side ---------------------------------------------------------------------------


class JiraStandIn:
    """Answers property writes with 200 and keeps the last `okrlink` document per issue."""

    def __init__(self) -> None:
        self.properties: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.split("/")
                if self.path.startswith(PROPERTY_PATH) and parts[-1] == "okrlink":
                    with stand_in.lock:
                        stand_in.properties[parts[5]] = json.loads(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the OKRs and the stream ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """Which issues count for which KR: KR n links issues directly; the last KR links an epic
    whose children it counts."""

    krs: int = 4
    issues_per_kr: int = 8
    epic_children: int = 10

    def kr_key(self, n: int) -> str:
        return f"OPS-1.{n + 1}"

    def issues_of(self, n: int) -> list[str]:
        if n == self.krs - 1:
            return [f"OPS-{500 + c}" for c in range(self.epic_children)]
        return [f"OPS-{100 + n * 50 + i}" for i in range(self.issues_per_kr)]

    def all_issues(self) -> list[str]:
        return [key for n in range(self.krs) for key in self.issues_of(n)]

    def parent_of(self, key: str) -> str | None:
        return "OPS-499" if int(key.split("-")[1]) >= 500 else None


@dataclass(slots=True)
class Event:
    delivery: str
    key: str
    category: str
    updated: datetime


def make_stream(plan: Plan, count: int, *, seed: int = 13) -> list[Event]:
    """`count` events over the plan's issues, each issue's `updated` moving forward."""
    chooser = random.Random(seed)
    issues = plan.all_issues()
    began = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    return [
        Event(
            delivery=f"fault-{n}",
            key=chooser.choice(issues),
            category=chooser.choice(CATEGORIES),
            updated=began + timedelta(seconds=n),
        )
        for n in range(count)
    ]


def payload(event: Event, plan: Plan) -> bytes:
    """A `jira:issue_updated` webhook body as Jira sends it, for one issue's new state."""
    number = event.key.split("-")[1]
    fields: dict[str, Any] = {
        "summary": f"Work item {event.key}",
        "updated": event.updated.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "issuetype": {"name": "Task"},
        "status": {"name": event.category, "statusCategory": {"key": event.category}},
        "labels": [],
    }
    parent = plan.parent_of(event.key)
    if parent:
        fields["parent"] = {"key": parent, "id": "499"}
    body = {
        "webhookEvent": "jira:issue_updated",
        "timestamp": int(event.updated.timestamp() * 1000),
        "user": {"accountId": "5b10ac8d82e05b22cc7d4ef5"},
        "issue": {"id": number, "key": event.key, "fields": fields},
        "changelog": {
            "id": event.delivery,
            "items": [{"field": "status", "fieldId": "status", "toString": event.category}],
        },
    }
    return json.dumps(body).encode()


def token() -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT_KEY,
        "iat": now,
        "exp": now + 3600,
        "qsh": query_string_hash("POST", WEBHOOK, ""),
    }
    return jwt.encode(claims, SHARED_SECRET, algorithm="HS256")


# -- the deployment -------------------------------------------------------------------------


@dataclass(slots=True)
class Deployment:
    """Web processes (gunicorn) and workers (`okrlink worker`) sharing one database and queue."""

    work: Path
    database_url: str
    queue_url: str
    jira: JiraStandIn
    plan: Plan = field(default_factory=Plan)
    webs: list[tuple[subprocess.Popen[bytes], int]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OKRLINK_DATA_DIR": str(self.work),
            "OKRLINK_DATABASE_URL": self.database_url,
            "OKRLINK_QUEUE_URL": self.queue_url,
            "OKRLINK_SECRET_KEY": SECRET_KEY,
            "OKRLINK_BASE_URL": "http://127.0.0.1",
            "OKRLINK_RECONCILE_MINUTES": "0",
            "OKRLINK_JQL_POLL_MINUTES": "0",
        }

    def settings(self) -> Settings:
        return Settings.from_env(self.environment())

    def prepare(self) -> None:
        """Migrate; install the tenant (its Jira is the stand-in); the KRs and their links."""
        app = create_app(self.settings())
        services = services_of(app)
        with services.store.session() as session:
            site_id = record_install(
                session,
                client_key=CLIENT_KEY,
                base_url=self.jira.url,
                product="jira",
                shared_secret=SHARED_SECRET,
                encrypt=services.tenants.encrypt,
            ).site_id
            spec = quarter_of(datetime.now(UTC).date())
            cycle = Cycle(site_id=site_id, name=spec.name, start=spec.start, end=spec.end)
            team = Team(site_id=site_id, key="OPS", name="Operations")
            session.add_all([cycle, team])
            session.flush()
            objective = Objective(
                site_id=site_id,
                team_id=team.id,
                cycle_id=cycle.id,
                key="OPS-1",
                title="Run operations without surprises",
            )
            session.add(objective)
            session.flush()
            for n in range(self.plan.krs):
                kr = KeyResult(
                    site_id=site_id,
                    cycle_id=cycle.id,
                    objective_id=objective.id,
                    key=self.plan.kr_key(n),
                    title=f"Close slice {n + 1}",
                    kind="issues",
                    position=n,
                )
                session.add(kr)
                session.flush()
                targets = ["OPS-499"] if n == self.plan.krs - 1 else self.plan.issues_of(n)
                session.add_all(
                    Link(site_id=site_id, kr_id=kr.id, target_key=target, source="api")
                    for target in targets
                )
        services.store.dispose()

    def start_web(self, workers: int = 2) -> int:
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "error",
                "connect.app:create_app()",
            ],
            env=self.environment(),
            cwd=ROOT,
            start_new_session=True,
        )
        wait_for_port(port, timeout=60)
        self.webs.append((process, port))
        return port

    def start_worker(self, *, ready: bool = True) -> subprocess.Popen[bytes]:
        """Start `okrlink worker`; with `ready`, return once its consumer runs (the seconds
        Python takes to start are the operator's restart, not the recovery measured)."""
        okrlink = str(Path(sys.executable).parent / "okrlink")
        path = self.work / f"worker-{time.monotonic_ns()}.log"
        with path.open("wb") as log:
            process = subprocess.Popen(
                [okrlink, "worker"],
                env=self.environment(),
                cwd=ROOT,
                start_new_session=True,
                stdout=log,
                stderr=log,
            )
        self.workers.append(process)
        deadline = time.monotonic() + 60
        while ready and b"queue consumer running" not in path.read_bytes():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"okrlink worker did not start: {path.read_text()[-2000:]}")
            time.sleep(0.05)
        return process

    def kill_worker(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL, as the OOM killer or `kill -9` does: no cleanup of any kind."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        self.workers.remove(process)

    def kill_web_worker(self, master: subprocess.Popen[bytes]) -> int:
        """SIGKILL one gunicorn worker of `master` (gunicorn starts another); its pid."""
        victim = next(child for child in children_of(master.pid))
        os.kill(victim, signal.SIGKILL)
        return victim

    def close(self) -> None:
        for process in [*self.workers, *(web for web, _ in self.webs)]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        self.workers.clear()
        self.webs.clear()


def send(ports: list[int], events: list[Event], plan: Plan, *, attempts: int = 50) -> int:
    """Deliver each event as Jira does: to any web process, again after an error or a 5xx
    (Jira redelivers), until acknowledged; returns how many deliveries needed a retry."""
    retried = 0
    headers = {"Authorization": f"JWT {token()}", "Content-Type": "application/json"}
    for n, event in enumerate(events):
        body = payload(event, plan)
        for attempt in range(attempts):
            port = ports[(n + attempt) % len(ports)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request(
                    "POST",
                    WEBHOOK,
                    body,
                    {**headers, "X-Atlassian-Webhook-Identifier": event.delivery},
                )
                status = connection.getresponse().status
            except OSError:
                status = 0
            finally:
                connection.close()
            if status == 200:
                break
            if 400 <= status < 500:
                raise AssertionError(f"{event.delivery} refused with {status}")
            retried += 1
            time.sleep(0.1)
        else:
            raise AssertionError(f"{event.delivery} never acknowledged")
    return retried


# -- the truth, and how far the deployment is from it ----------------------------------------


@dataclass(slots=True)
class Verdict:
    recorded: int
    distinct: int
    pending: int
    failed: int
    kr_mismatches: list[str]
    property_mismatches: list[str]
    outbound_left: int

    @property
    def converged(self) -> bool:
        return not (
            self.pending
            or self.failed
            or self.kr_mismatches
            or self.property_mismatches
            or self.outbound_left
        )


def truth(plan: Plan, events: list[Event]) -> dict[str, tuple[float, float]]:
    """Each KR's (done, total) from the final state of its issues (the last event of each)."""
    final = {event.key: event.category for event in events}
    counts = {}
    for n in range(plan.krs):
        seen = [key for key in plan.issues_of(n) if key in final]
        done = sum(1 for key in seen if final[key] == "done")
        counts[plan.kr_key(n)] = (float(done), float(len(seen)))
    return counts


def verdict(store: Store, jira: JiraStandIn, plan: Plan, events: list[Event]) -> Verdict:
    expected = truth(plan, events)
    with store.session() as session:
        recorded = session.scalar(select(func.count()).select_from(InboxEvent)) or 0
        distinct = session.scalar(select(func.count(func.distinct(InboxEvent.delivery_id)))) or 0
        pending = session.scalar(select(func.count()).where(InboxEvent.state == "pending")) or 0
        failed = session.scalar(select(func.count()).where(InboxEvent.state == "failed")) or 0
        outbound_left = session.scalar(select(func.count()).select_from(Outbound)) or 0
        krs = {kr.key: kr for kr in session.scalars(select(KeyResult))}
    kr_mismatches = [
        f"{key}: {(krs[key].done, krs[key].total)} != {want}"
        for key, want in expected.items()
        if (krs[key].done, krs[key].total) != want
    ]
    final = {event.key for event in events}
    property_mismatches = []
    with jira.lock:
        properties = dict(jira.properties)
    for n in range(plan.krs):
        kr = krs[plan.kr_key(n)]
        for key in plan.issues_of(n):
            if key not in final:
                continue
            document = properties.get(key)
            shown = (document or {}).get("krs") or [{}]
            if (
                document is None
                or document.get("krKeys") != [kr.key]
                or shown[0].get("progress") != round(kr.progress, 4)
            ):
                property_mismatches.append(f"{key}: {document} (KR {kr.key} {kr.progress})")
    return Verdict(
        recorded, distinct, pending, failed, kr_mismatches, property_mismatches, outbound_left
    )


def wait_until_converged(
    store: Store, jira: JiraStandIn, plan: Plan, events: list[Event], timeout: float
) -> tuple[float, Verdict]:
    """Seconds until the deployment matches the truth (or `timeout`), and the last verdict."""
    began = time.monotonic()
    while True:
        found = verdict(store, jira, plan, events)
        if os.environ.get("OKRLINK_FAULTS_TRACE"):
            print(
                f"{time.monotonic() - began:5.2f}s pending={found.pending} "
                f"krs={len(found.kr_mismatches)} properties={len(found.property_mismatches)} "
                f"outbound={found.outbound_left}",
                file=sys.stderr,
            )
        if found.converged or time.monotonic() - began > timeout:
            return time.monotonic() - began, found
        time.sleep(0.2)  # this process also answers as Jira: leave it the time to


@contextlib.contextmanager
def deployment(database_url: str, queue_url: str, plan: Plan | None = None) -> Iterator[Deployment]:
    """A prepared deployment with no process started yet; everything stops with the block."""
    work = Path(tempfile.mkdtemp(prefix="okrlink-faults-"))
    jira = JiraStandIn()
    found = Deployment(
        work=work, database_url=database_url, queue_url=queue_url, jira=jira, plan=plan or Plan()
    )
    try:
        found.prepare()
        yield found
    finally:
        found.close()
        jira.close()
        shutil.rmtree(work, ignore_errors=True)

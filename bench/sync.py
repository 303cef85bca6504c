"""Jira webhook intake and sync latency: ``python bench/sync.py``.

1. Intake: signed `jira:issue_updated` webhooks (one Connect JWT per run, a distinct delivery id
   per request, `Host` set) sent by wrk over loopback, in one run to okrlink under granian
   (`okrlink web`, 2 workers) and under gunicorn (2 sync workers, the former deployment), each
   recorded in the inbox and queued; reported as events acknowledged per second and as the
   ratio of granian's figure to gunicorn's, on SQLite (queue: huey on SQLite) and on PostgreSQL
   (a throwaway server; queue: huey on Redis when `redis-server` is installed, else SQLite).
   `--server granian|gunicorn` (repeatable) measures one server only.
2. Latency: under the first server measured (granian by default), events paced at 200/s, one
   `okrlink worker` with its defaults applying them; each event flips one issue that is the
   only issue of its KR, and the time from sending it to the KR snapshot it produces
   (Snapshot.at, taken by the worker) is reported as p50/p95/p99.
   Property write-backs go to a local stand-in for Jira. Also printed: the share of the web
   process (sent -> recorded in the inbox); with `--trace`, the worker logs at debug level and
   its drain batches are summed up (how many, their sizes, and their stages: read, apply,
   re-derive the KRs, commit).

Each figure is printed beside its goal (`bench/goals.py`) with "meets" or "misses".
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt

ROOT = Path(__file__).resolve().parents[1]
# The repository, not bench/ (whose github.py would shadow the PyGithub package).
sys.path[0] = str(ROOT)

from sqlalchemy import func, select  # noqa: E402

from bench import goals  # noqa: E402
from bench.serving import SERVERS, label, serving  # noqa: E402
from connect.app import create_app  # noqa: E402
from connect.cli.web import DEFAULT_THREADS  # noqa: E402
from connect.services import services_of  # noqa: E402
from connect.settings import Settings  # noqa: E402
from integrations.atlassian.qsh import query_string_hash  # noqa: E402
from sync.core.spec import quarter_of  # noqa: E402
from sync.db.model import (  # noqa: E402
    Cycle,
    InboxEvent,
    KeyResult,
    Link,
    Objective,
    Outbound,
    Team,
)
from sync.tenants import record_install  # noqa: E402
from tests.support.base import SHARED_FIXTURES  # noqa: E402
from tests.support.servers import ServerUnavailable, postgres_server, redis_server  # noqa: E402

SECRET_KEY = "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY="
SHARED_SECRET = "bench-shared-secret-0123456789abcdef0123456789"
CLIENT_KEY = "bench-jira"
BASE_URL = "https://okrlink.bench"
WEBHOOK = "/webhooks/jira"
FIXTURE = SHARED_FIXTURES / "jira/jira_issue_updated__description__cloud_2024_skill-sync.json"
TARGET_RATIO = 2.5
APP = "connect.app:create_app()"
LATENCY_ISSUES = 400

# The 200 bodies are built once: wrk shares the 2 cores with the server, so each request
# should cost it as little as possible.
LUA = """
local counter = 0
local token = "%(token)s"
local run = "%(run)s"
local template = [==[%(body)s]==]
local bodies = {}
for n = 0, 199 do bodies[n] = string.gsub(template, "__N__", tostring(n + 5)) end
request = function()
  counter = counter + 1
  return wrk.format("POST", "%(path)s", {
    ["Authorization"] = "JWT " .. token,
    ["Content-Type"] = "application/json",
    ["X-Atlassian-Webhook-Identifier"] = run .. "-" .. counter,
    ["Host"] = "%(host)s",
  }, bodies[counter %% 200])
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token(lifetime: int = 3600) -> str:
    """One Connect JWT for `POST /webhooks/jira`: the qsh is the same for every delivery."""
    now = int(time.time())
    claims = {
        "iss": CLIENT_KEY,
        "iat": now,
        "exp": now + lifetime,
        "qsh": query_string_hash("POST", WEBHOOK, ""),
    }
    return jwt.encode(claims, SHARED_SECRET, algorithm="HS256")


def payload(key: str, issue_id: str, *, category: str, updated: datetime) -> dict[str, Any]:
    """The fixture's `jira:issue_updated`, reshaped for one issue and status category."""
    data = json.loads(FIXTURE.read_text())
    issue = data["issue"]
    issue["key"], issue["id"] = key, issue_id
    issue["fields"]["status"]["statusCategory"]["key"] = category
    issue["fields"]["updated"] = updated.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    data["timestamp"] = int(updated.timestamp() * 1000)
    data["changelog"]["items"] = [
        {
            "field": "Status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": None,
            "fromString": None,
            "to": None,
            "toString": category,
        }
    ]
    return data


class FakeJira(BaseHTTPRequestHandler):
    """Answers property writes as Jira does (200), so write-backs cost a real HTTP call.

    HTTP/1.1, as Jira speaks it: the worker's client keeps its connection. The HTTP/1.0
    default closed it after each write, and a new connection per write-back cost the worker
    (and this process, which shares the cores) about a tenth of its time.
    """

    protocol_version = "HTTP/1.1"

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def fake_jira() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJira)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def prepare(settings: Settings, *, jira_url: str, krs: int) -> None:
    """Migrate, install the tenant, and create `krs` issues KRs each linking one issue."""
    app = create_app(settings)
    services = services_of(app)
    tenants = services.tenants
    with services.store.session() as session:
        site_id = record_install(
            session,
            client_key=CLIENT_KEY,
            base_url=jira_url,
            product="jira",
            shared_secret=SHARED_SECRET,
            encrypt=tenants.encrypt,
        ).site_id
        spec = quarter_of(datetime.now(UTC).date())
        cycle = Cycle(site_id=site_id, name=spec.name, start=spec.start, end=spec.end)
        team = Team(site_id=site_id, key="WEB", name="Web")
        session.add_all([cycle, team])
        session.flush()
        objective = Objective(
            site_id=site_id,
            team_id=team.id,
            cycle_id=cycle.id,
            key="WEB-O1",
            title="Make checkout effortless",
        )
        session.add(objective)
        session.flush()
        for n in range(krs):
            kr = KeyResult(
                site_id=site_id,
                cycle_id=cycle.id,
                objective_id=objective.id,
                key=f"WEB-O1.{n + 1}",
                title=f"Ship checkout slice {n + 1}",
                kind="issues",
                position=n,
            )
            session.add(kr)
            session.flush()
            session.add(Link(site_id=site_id, kr_id=kr.id, target_key=f"WEB-{n + 5}", source="api"))
    services.store.dispose()


def environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OKRLINK_DATA_DIR": str(settings.data_dir),
        "OKRLINK_DATABASE_URL": settings.database_url,
        "OKRLINK_QUEUE_URL": settings.queue_url,
        "OKRLINK_SECRET_KEY": SECRET_KEY,
        "OKRLINK_BASE_URL": BASE_URL,
    }


@contextlib.contextmanager
def worker(settings: Settings, trace: Path | None = None) -> Iterator[None]:
    """One `okrlink worker`, with its defaults, as a deployment runs it (with `trace`, logging
    at debug level to that file: each drain batch's stages)."""
    command = [sys.executable, "-c", "from connect.cli import main; main()"]
    command += ["--verbose", "worker"] if trace else ["worker"]
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(trace.open("wb")) if trace else subprocess.DEVNULL
        process = subprocess.Popen(
            command,
            env=environment(settings),
            cwd=ROOT,
            start_new_session=True,
            stdout=output,
            stderr=output,
        )
        try:
            yield
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(30)


BATCH_LINE = re.compile(
    r"batch of (\d+) events: oldest waited ([\d.]+) ms; read ([\d.]+) ms, apply ([\d.]+) ms, "
    r"recompute (\d+) KRs ([\d.]+) ms, commit ([\d.]+) ms"
)


def batch_stages(trace: Path) -> str:
    """The drain batches a traced worker logged: how many, their sizes and stages (means)."""
    rows = [
        [float(value) for value in found.groups()]
        for found in BATCH_LINE.finditer(trace.read_text(errors="replace"))
    ]
    if not rows:
        return "no batches logged"
    means = [statistics.fmean(column) for column in zip(*rows, strict=True)]
    sizes = sorted(row[0] for row in rows)
    return (
        f"{len(rows):,} batches, size median {statistics.median(sizes):.0f} (max "
        f"{sizes[-1]:.0f}); means: oldest event waited {means[1]:.1f} ms, read {means[2]:.1f} ms, "
        f"apply {means[3]:.1f} ms, recompute {means[5]:.1f} ms, commit {means[6]:.1f} ms"
    )


def intake(
    settings: Settings, *, server: str, seconds: int, connections: int, threads: int
) -> tuple[float, int, int]:
    """wrk against the webhook; (events acknowledged per second, requests, non-2xx)."""
    work = settings.data_dir
    body = json.dumps(payload("WEB-__N__", "__N__", category="done", updated=datetime.now(UTC)))
    with serving(
        server, APP, env=environment(settings), threads=threads, connections=connections
    ) as base:
        for run, duration in (("warm", 3), ("run", seconds)):
            script = work / f"{run}.lua"
            script.write_text(
                LUA
                % {
                    "token": token(),
                    "run": f"{run}-{time.time_ns()}",
                    "body": body,
                    "path": WEBHOOK,
                    "host": base.removeprefix("http://"),
                }
            )
            output = subprocess.run(
                ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), base],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, total, int(bad.group(1)) if bad else 0


def drain(store: Any, timeout: float = 120.0) -> None:
    """Wait until the worker has applied every recorded event and made every write-back."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.session() as session:
            pending = session.scalar(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.state != "done")
            )
            writes = session.scalar(select(func.count()).select_from(Outbound))
        if not pending and not writes:
            return
        time.sleep(0.2)


def latency(
    settings: Settings,
    *,
    server: str,
    rate: int,
    seconds: int,
    threads: int,
    trace: Path | None = None,
) -> tuple[list[float], list[float]]:
    """Seconds from sending each event to the KR snapshot that includes it, and of those the
    seconds from sending to its recording in the inbox (the web process's share).

    A first, unmeasured round creates the issues (and lets the worker start); then events are
    paced at `rate`, each flipping one issue between done and to-do, so each one changes the
    progress of its own KR.
    """
    start = datetime.now(UTC)
    total = LATENCY_ISSUES + rate * seconds
    events = []
    for n in range(total):
        issue = n % LATENCY_ISSUES
        category = "done" if (n // LATENCY_ISSUES) % 2 == 0 else "new"
        updated = start + timedelta(milliseconds=n)
        body = json.dumps(
            payload(f"WEB-{issue + 5}", str(10_000 + issue), category=category, updated=updated)
        )
        events.append((issue, 1.0 if category == "done" else 0.0, body.encode()))
    sent: list[float] = [0.0] * total
    app = create_app(settings)
    store = services_of(app).store
    with (
        serving(server, APP, env=environment(settings), threads=threads) as base,
        worker(settings, trace),
    ):
        host, port = base.removeprefix("http://").split(":")
        auth = "JWT " + token()
        senders = 8

        def send(offset: int, first: int, last: int, pace: float | None, began: float) -> None:
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            for n in range(first + offset, last, senders):
                if pace is not None:
                    delay = began + (n - first) / pace - time.time()
                    if delay > 0:
                        time.sleep(delay)
                sent[n] = time.time()
                headers = {
                    "Authorization": auth,
                    "Content-Type": "application/json",
                    "X-Atlassian-Webhook-Identifier": f"lat-{n}",
                }
                connection.request("POST", WEBHOOK, body=events[n][2], headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit(f"webhook answered {response.status}")

        for first, last, pace in ((0, LATENCY_ISSUES, None), (LATENCY_ISSUES, total, rate)):
            began = time.time() + 0.2
            pool = [
                threading.Thread(target=send, args=(i, first, last, pace, began))
                for i in range(senders)
            ]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
            drain(store)
    with store.session() as session:
        # An event's KR snapshot is written in the transaction that marks it applied: a batch
        # of events for one KR yields one snapshot holding all of them.
        applied = {
            delivery: (received, processed)
            for delivery, received, processed in session.execute(
                select(
                    InboxEvent.delivery_id, InboxEvent.received_at, InboxEvent.processed_at
                ).where(InboxEvent.delivery_id.like("lat-%"))
            ).all()
        }
    store.dispose()
    waits, recorded = [], []
    for n in range(LATENCY_ISSUES, total):
        received, processed = applied.get(f"lat-{n}", (None, None))
        waits.append(processed.timestamp() - sent[n] if processed is not None else float("inf"))
        recorded.append(received.timestamp() - sent[n] if received is not None else float("inf"))
    return waits, recorded


def settings_for(work: Path, database_url: str, queue_url: str) -> Settings:
    return Settings(
        data_dir=work,
        database_url=database_url,
        queue_url=queue_url,
        secret_key=SECRET_KEY,
        base_url=BASE_URL,
    )


@contextlib.contextmanager
def backend(name: str, work: Path, phase: str) -> Iterator[tuple[str, str, str]]:
    """(database URL, queue URL, description) for `sqlite` or `postgresql`.

    Intake on SQLite uses the embedded queue (huey on SQLite). The latency phase uses huey on
    Redis where `redis-server` is installed: its consumer blocks on the queue, where the SQLite
    consumer polls with a back-off that alone adds up to seconds when the queue runs dry.
    """
    with contextlib.ExitStack() as stack:
        queue, label = f"sqlite:///{work / 'queue.db'}", "huey on SQLite"
        if name == "postgresql" or phase == "latency":
            with contextlib.suppress(ServerUnavailable):
                queue, label = stack.enter_context(redis_server()), "huey on Redis"
        if name == "sqlite":
            yield f"sqlite:///{work / 'okrlink.db'}", queue, f"SQLite (WAL), {label}"
        else:
            yield stack.enter_context(postgres_server()), queue, f"PostgreSQL, {label}"


def load_average() -> str:
    """The machine's 1-minute load average now: the benches share it with whatever else runs."""
    return f"{os.getloadavg()[0]:.1f}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=int, default=goals.LATENCY_RATE)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--phases", default="intake,latency")
    parser.add_argument("--server", action="append", choices=SERVERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="per granian worker")
    parser.add_argument(
        "--trace", action="store_true", help="log the worker's drain batches and their stages"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    servers = args.server or list(SERVERS)
    print(
        f"machine: {os.cpu_count()} CPUs shared by the server, the queue consumer and the "
        f"load generator"
    )
    for name in args.backends.split(","):
        for phase in args.phases.split(","):
            rates: dict[str, float] = {}
            for server in servers if phase == "intake" else servers[:1]:
                work = Path(tempfile.mkdtemp(prefix=f"okrlink-bench-{name}-"))
                try:
                    with (
                        backend(name, work, phase) as (database, queue, description),
                        fake_jira() as jira_url,
                    ):
                        settings = settings_for(work, database, queue)
                        prepare(settings, jira_url=jira_url, krs=LATENCY_ISSUES)
                        where = f"[{description}] {label(server, args.threads)}"
                        if phase == "intake":
                            rate, total, bad = intake(
                                settings,
                                server=server,
                                seconds=args.seconds,
                                connections=args.connections,
                                threads=args.threads,
                            )
                            rates[server] = rate if not bad else 0.0
                            met = goals.intake_met(name, rates[server])
                            print(
                                f"{where} intake: {rate:,.0f} events/s acknowledged "
                                f"({total:,} signed webhooks in {args.seconds}s, wrk "
                                f"{args.connections} connections, non-2xx: {bad}); goal "
                                f"{goals.intake_goal(name)}: {goals.verdict(met)}"
                            )
                        else:
                            trace = work / "worker.log" if args.trace else None
                            waits, recorded = latency(
                                settings,
                                server=server,
                                rate=args.rate,
                                seconds=args.seconds,
                                threads=args.threads,
                                trace=trace,
                            )
                            p95 = percentile(waits, 0.95) * 1000
                            p99 = percentile(waits, 0.99) * 1000
                            met = args.rate >= goals.LATENCY_RATE and goals.latency_met(p95, p99)
                            print(
                                f"{where} intake -> KR snapshot at {args.rate} events/s: "
                                f"p50 {statistics.median(waits) * 1000:.0f} ms, p95 "
                                f"{p95:.0f} ms, p99 {p99:.0f} ms over {len(waits):,} events; "
                                f"goal {goals.latency_goal()} at {goals.LATENCY_RATE}/s: "
                                f"{goals.verdict(met)} (load average {load_average()})"
                            )
                            print(
                                f"  of which sent -> recorded in the inbox: p50 "
                                f"{statistics.median(recorded) * 1000:.1f} ms, p95 "
                                f"{percentile(recorded, 0.95) * 1000:.1f} ms"
                            )
                            if trace is not None:
                                print(f"  worker: {batch_stages(trace)}")
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            if {"granian", "gunicorn"} <= rates.keys() and rates["gunicorn"]:
                ratio = rates["granian"] / rates["gunicorn"]
                verdict = "meets" if ratio >= TARGET_RATIO else "misses"
                print(
                    f"[{name}] intake, granian / gunicorn: {ratio:.2f}x; target >= "
                    f"{TARGET_RATIO}x: {verdict}"
                )


if __name__ == "__main__":
    main()

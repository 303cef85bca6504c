"""GitHub App figures: webhook intake per second, and check-run publishing after a KR change.

``python bench/github.py [--deliveries 2000] [--clients 8] [--prs 200] [--skip-paced]``

1. **Intake.** Signed `pull_request` deliveries (GitHub's 28 KB example payload, a new
   delivery id each) are POSTed over loopback to the Flask app served by werkzeug's threaded
   server, from `--clients` concurrent HTTP clients. Each delivery is verified (HMAC-SHA256),
   recorded in the inbox (SQLite, the embedded default) and enqueued (huey on SQLite); the
   consumer is not running, so this is the intake alone, as GitHub sees it.
2. **Publishing.** `--prs` open PRs of one installation are linked to one `issues` KR, each
   with a check run already on GitHub. An issue of the KR is marked done and the KR is
   recomputed: the flush then PATCHes every PR's check run through the real client
   (PyGithub, installation token, write pacing) against a mock GitHub REST server on
   loopback (http.server, threaded). Measured twice: with the client's pacing on a simulated
   clock (our own cost, plus the pacing GitHub asks for, added up), and for real (one write
   per second per installation, as GitHub requires: about one second per PR).
"""

# ruff: noqa: E402 (the imports of our packages follow the sys.path fix below)

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server

from connect.services import services_of

# Run as a script, this file's directory comes first on sys.path, and this file's name would
# hide PyGithub's `github` package: put the repository root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from connect.app import create_app
from connect.settings import Settings
from integrations.github.client import GitHubApp, GitHubAppConfig
from integrations.github.publisher import GitHubChecks
from integrations.github.signature import sign
from sync.apply.github import ensure_installation, pr_ref
from sync.core.spec import CycleSpec, KeyResultSpec, ObjectiveSpec, TeamOkrs
from sync.db.model import KeyResult, Link, Outbound, PullRequest, WorkItem
from sync.db.store import find_kr, local_site
from sync.engine.snapshots import recompute
from sync.okrs import import_team_okrs
from sync.ports import Ports
from tests.support.base import SHARED_FIXTURES

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = SHARED_FIXTURES / "github" / "pull_request.opened.json"
SECRET = "bench-webhook-secret"
INSTALLATION = 4242
REPO = "acme/platform"
# A throwaway Fernet key for the tenants' secrets (the bench stores none).
FERNET_KEY = "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY="


# --- 1. intake ---------------------------------------------------------------------------


def intake(*, data_dir: Path, deliveries: int, clients: int) -> float:
    """Deliveries per second accepted by `POST /webhooks/github`, over loopback."""
    settings = Settings(
        data_dir=data_dir / "intake", github_webhook_secret=SECRET, secret_key=FERNET_KEY
    )
    app = create_app(settings)
    body = PAYLOAD.read_bytes()
    signature = sign(secret=SECRET, body=body)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/webhooks/github"
    local = threading.local()

    def post(index: int) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": f"bench-{index}",
            "X-Hub-Signature-256": signature,
            "Content-Type": "application/json",
        }
        return session.post(url, data=body, headers=headers, timeout=30).status_code

    try:
        list(ThreadPoolExecutor(clients).map(post, range(min(50, deliveries))))  # warm up
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            statuses = list(pool.map(post, range(50, 50 + deliveries)))
        elapsed = time.perf_counter() - started
    finally:
        server.shutdown()
        services_of(app).store.dispose()
    assert statuses.count(202) == deliveries, {s: statuses.count(s) for s in set(statuses)}
    return deliveries / elapsed


# --- 2. publishing -----------------------------------------------------------------------


class MockGitHub(BaseHTTPRequestHandler):
    """Just enough of GitHub's REST API: installation tokens and check runs."""

    calls: ClassVar[list[tuple[str, str]]] = []
    lock = threading.Lock()
    _RUN = re.compile(r"^/repos/[^/]+/[^/]+/check-runs(?:/(\d+))?$")

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def do_POST(self) -> None:
        self._read()
        if self.path.endswith("/access_tokens"):
            expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._answer(201, {"token": "ghs_bench", "expires_at": expires})
            return
        self._check_run("POST", 201)

    def do_PATCH(self) -> None:
        self._read()
        self._check_run("PATCH", 200)

    def _check_run(self, verb: str, status: int) -> None:
        match = self._RUN.match(self.path)
        if match is None:
            self._answer(404, {"message": "Not Found"})
            return
        with self.lock:
            self.calls.append((verb, self.path))
            run_id = int(match.group(1) or len(self.calls))
        self._answer(status, {"id": run_id, "status": "completed", "conclusion": "neutral"})

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def mock_github() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), MockGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class SimulatedClock:
    """Wall-clock seconds that also move when the client's pacing sleeps (without sleeping)."""

    def __init__(self) -> None:
        self.slept = 0.0

    def __call__(self) -> float:
        return time.time() + self.slept

    def sleep(self, seconds: float) -> None:
        self.slept += seconds


def _private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


OKRS = TeamOkrs(
    team="PLAT",
    cycle=CycleSpec(name="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31)),
    objectives=(
        ObjectiveSpec(
            key="PLAT-1",
            title="Make the platform the most reliable in its sector",
            key_results=(
                KeyResultSpec(
                    key="PLAT-1.1",
                    title="Fail over between regions in under 5 min",
                    kind="issues",
                    issues=("PLAT-12",),
                    owner="Platform tech lead",
                ),
            ),
        ),
    ),
)


def publish(
    *,
    data_dir: Path,
    prs: int,
    api_url: str,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    name: str,
) -> tuple[float, int]:
    """Seconds from a KR change to every linked open PR's check run updated; PATCH count."""
    pem = _private_key()
    settings = Settings(
        data_dir=data_dir / name,
        queue_immediate=True,
        base_url="https://okrlink.example",
        secret_key=FERNET_KEY,
        github_app_id="4242",
        github_private_key=pem,
        github_api_url=api_url,
    )
    config = GitHubAppConfig.from_settings(settings)
    assert config is not None
    checks = GitHubChecks(GitHubApp(config, clock=clock, sleep=sleep))
    app = create_app(settings, ports=Ports(checks=checks))
    store = services_of(app).store
    jobs = services_of(app).jobs
    now = datetime.now(UTC)
    with store.session() as session:
        site = local_site(session)
        import_team_okrs(session, site.id, OKRS)
        session.add_all(
            [
                WorkItem(site_id=site.id, key="PLAT-12", issue_type="Epic"),
                WorkItem(
                    site_id=site.id, key="PLAT-13", parent_key="PLAT-12", status_category="new"
                ),
                WorkItem(
                    site_id=site.id, key="PLAT-14", parent_key="PLAT-12", status_category="done"
                ),
            ]
        )
        session.flush()
        kr = find_kr(session, site.id, "PLAT-1.1")
        assert kr is not None
        ensure_installation(session, INSTALLATION, account="acme").site_id = site.id
        for number in range(1, prs + 1):
            ref = pr_ref(REPO, number)
            session.add(
                PullRequest(
                    site_id=site.id,
                    installation_id=INSTALLATION,
                    repo=REPO,
                    number=number,
                    ref=ref,
                    title=f"PLAT-13 part {number}",
                    branch=f"PLAT-13-part-{number}",
                    head_sha=f"{number:040x}",
                    state="open",
                    opened_at=now,
                    updated_at=now,
                    url=f"https://github.com/{REPO}/pull/{number}",
                    jira_keys=["PLAT-13"],
                    kr_keys=[],
                    check_run_id=number,
                )
            )
            session.add(
                Link(
                    site_id=site.id, kr_id=kr.id, target_kind="github", target_key=ref, source="pr"
                )
            )
        session.flush()
        recompute(session, site.id, [kr.id], now=now)  # the first snapshot, as already published
        session.query(Outbound).delete()
        site_id, kr_id = site.id, kr.id
    MockGitHub.calls.clear()
    with store.session() as session:
        item = session.query(WorkItem).filter_by(site_id=site_id, key="PLAT-13").one()
        item.status_category = "done"
    started = time.perf_counter()
    jobs.recompute(site_id, [kr_id])
    elapsed = time.perf_counter() - started
    with store.session() as session:
        assert session.get_one(KeyResult, kr_id).progress == 1.0
        left = session.query(Outbound).filter_by(kind="check_run").count()
    store.dispose()
    patches = sum(1 for verb, _path in MockGitHub.calls if verb == "PATCH")
    assert left == 0 and patches == prs, (left, patches)
    return elapsed, patches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--prs", type=int, default=200)
    parser.add_argument(
        "--skip-paced",
        action="store_true",
        help="Skip the real-time run (it takes about one second per PR).",
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per delivery
    data_dir = Path(tempfile.mkdtemp(prefix="okrlink-bench-"))
    try:
        rate = intake(data_dir=data_dir, deliveries=args.deliveries, clients=args.clients)
        print(
            f"webhook intake: {rate:,.0f} deliveries/s ({args.deliveries} signed 28 KB "
            f"pull_request deliveries, {args.clients} clients, werkzeug threaded server on "
            f"loopback, SQLite inbox + huey SQLite queue)"
        )
        with mock_github() as api_url:
            simulated = SimulatedClock()
            elapsed, patches = publish(
                data_dir=data_dir,
                prs=args.prs,
                api_url=api_url,
                clock=simulated,
                sleep=simulated.sleep,
                name="simulated",
            )
            print(
                f"check runs after a KR change, {args.prs} open PRs (mock GitHub: http.server "
                f"on loopback): {patches} PATCHes; our work {elapsed:.2f} s "
                f"({elapsed / patches * 1000:.1f} ms per run), plus {simulated.slept:.0f} s "
                f"of GitHub's one-write-per-second pacing (simulated clock) = "
                f"{elapsed + simulated.slept:.0f} s"
            )
            if not args.skip_paced:
                elapsed, patches = publish(
                    data_dir=data_dir,
                    prs=args.prs,
                    api_url=api_url,
                    clock=time.time,
                    sleep=time.sleep,
                    name="paced",
                )
                print(
                    f"check runs after a KR change, {args.prs} open PRs, real pacing "
                    f"(1 write/s per installation): {elapsed:.1f} s for {patches} PATCHes"
                )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Authenticated Confluence panel loads per second: `python bench/panels.py`.

A panel of 3 objectives x 5 KRs (each with a cycle of weekly check-ins, so every KR draws a
trend chart) is served by gunicorn with two workers on loopback, from the embedded SQLite
database. `wrk` (Debian package `wrk`) sends the load with a Lua script that rotates through
a pool of distinct pre-signed Connect JWTs: every request carries a token the server has to
verify in full (HS256 signature, expiry, qsh of the request); nothing about a token is cached
server-side. Each request also checks the panel's data version (`connect/ui/versions.py`:
SQLite's data_version pragma, the version query when it moved), then serves the rendered HTML
from the page cache as it is (gzipped once), answered before Flask dispatches
(`connect/http/panel.py`). Each request says what a browser says, `Accept-Encoding: gzip,
deflate, br, zstd`, so the page is sent gzipped. Prints loads/s, p50/p99 latency and the page
weight.

For scale, the same load is then sent to a bare route of the same app that does the same
Connect JWT verification and answers a fixed string (`--no-baseline` skips it).

Options: `--seconds N` (default 15), `--connections N` (default 16), `--worker-class sync|gthread`
(default sync, gunicorn's own default and the fastest here: it served about a fifth more
loads than gthread), `--threads N` per gthread worker (default 1: the panel is CPU-bound, so
more threads only contend for the GIL; a gthread worker takes at most half of wrk's
connections, which wrk opens all at once: otherwise the first worker to wake would take them
all), `--tokens N` (default 4000), `--multiprocess-metrics` (count metrics into files as a
production server with several processes does; `bench/metrics.py` gives the cost per request).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import jwt
from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ itself: its scripts must not shadow packages (a bench/github.py would hide PyGithub).
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from connect.app import create_app  # noqa: E402
from connect.settings import Settings  # noqa: E402
from integrations.atlassian.qsh import query_string_hash  # noqa: E402
from sync.core.spec import KeyResultSpec, ObjectiveSpec, TeamOkrs, quarter_of  # noqa: E402
from sync.engine import recompute  # noqa: E402
from sync.model import CheckIn  # noqa: E402
from sync.okrs import import_team_okrs  # noqa: E402
from sync.store import find_kr  # noqa: E402
from sync.tenants import record_install  # noqa: E402

SECRET_KEY = "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY="
SHARED_SECRET = "bench-shared-secret-of-more-than-32-characters"
CLIENT_KEY = "bench-confluence"
ACCOUNT = "557058:bench-user"
PATH = "/confluence/macro/okr-panel"
BARE_PATH = "/bench/bare"
PARAMS = {"team": "BENCH", "cycle": "", "objective": "", "view": "full",
          "xdm_e": "https://bench.atlassian.net", "xdm_c": "channel-okr-panel", "cp": "/wiki",
          "lic": "active", "cv": "1001.0.0-SNAPSHOT"}  # fmt: skip
TARGET_LOADS = 3000
TARGET_P99_MS = 25.0
# Requests are formatted once, up front: wrk shares the 2 cores with the server.
LUA = """
local requests = {}
for line in io.lines("%s") do
  requests[#requests + 1] = wrk.format("GET", line,
                                       {["Accept-Encoding"] = "gzip, deflate, br, zstd"})
end
local i = 0
request = function()
  i = (i %% #requests) + 1
  return requests[i]
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(settings: Settings) -> None:
    """One Confluence installation and team BENCH: 3 objectives x 5 KRs, 8 weekly check-ins."""
    app = create_app(settings)
    services = app.extensions["okrlink"]
    cycle = quarter_of(datetime.now(UTC).date())
    okrs = TeamOkrs(team="BENCH", cycle=cycle, objectives=tuple(
        ObjectiveSpec(key=f"BENCH-{o}", title=f"Make deploys boring for every team ({o})",
                      key_results=tuple(
                          KeyResultSpec(key=f"BENCH-{o}.{k}", baseline=0, target=100, unit="%",
                                        title=f"Raise adoption of the paved road from 0 to 100% "
                                              f"in area {o}.{k}", owner="Platform lead")
                          for k in range(1, 6)))
        for o in range(1, 4)))  # fmt: skip
    start = datetime.combine(cycle.start, datetime.min.time(), tzinfo=UTC)
    with services.store.session() as session:
        row = record_install(session, client_key=CLIENT_KEY, base_url="https://bench.atlassian.net/wiki",
                             product="confluence", shared_secret=SHARED_SECRET,
                             encrypt=services.tenants.encrypt)  # fmt: skip
        site_id = row.site_id
        report = import_team_okrs(session, site_id, okrs)
        recompute(session, site_id, report.changed_kr_ids, now=start)
        for o in range(1, 4):
            for k in range(1, 6):
                kr = find_kr(session, site_id, f"BENCH-{o}.{k}")
                assert kr is not None
                for week in range(8):
                    at = start + timedelta(weeks=week, hours=10)
                    value = float(week * (3 + o + k))
                    note = f"Week {week}: steady progress"
                    session.add(CheckIn(site_id=site_id, kr_id=kr.id, at=at, author="lead",
                                        value=value, what=note))  # fmt: skip
                    kr.current = value
                    kr.version += 1
                    session.flush()
                    recompute(session, site_id, [kr.id], now=at)
    services.store.dispose()


def bare_app() -> Flask:
    """The app plus a route that verifies the Connect JWT and answers a fixed string."""
    from connect.doors.atlassian_connect.verify import connect_jwt_required

    app = create_app()

    @app.get(BARE_PATH)
    @connect_jwt_required()
    def bare() -> str:
        return "ok"

    return app


def signed_path(now: int, serial: int, path: str = PATH) -> str:
    """The URL with a Connect JWT of its own (distinct `jti`), as Confluence signs it."""
    query = urlencode(PARAMS)
    claims = {"iss": CLIENT_KEY, "sub": ACCOUNT, "iat": now, "exp": now + 900,
              "qsh": query_string_hash("GET", path, query), "jti": f"bench-{serial}"}  # fmt: skip
    return f"{path}?{query}&jwt={jwt.encode(claims, SHARED_SECRET, algorithm='HS256')}"


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer on {url}")


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """(requests/s, p50 ms, p99 ms, requests, non-2xx) from `wrk --latency` output."""

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if match is None:
            raise SystemExit(f"no {label}% latency in wrk output:\n{output}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, ms("50"), ms("99"), total, int(bad.group(1)) if bad else 0


def run(work: Path, args: argparse.Namespace, *, app: str, path: str
        ) -> tuple[bytes, str, str]:  # fmt: skip
    """Serve `app` with gunicorn, check one page, send the load; (page, ETag, wrk output)."""
    port = free_port()
    env = {**os.environ, "OKRLINK_DATA_DIR": str(work), "OKRLINK_SECRET_KEY": SECRET_KEY,
           "OKRLINK_BASE_URL": "https://okrlink.bench",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if args.multiprocess_metrics:
        (work / "metrics").mkdir(exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(work / "metrics")
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class",
                args.worker_class, "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}",
                "--log-level", "warning", "--keep-alive", "30",
                "--worker-connections", str(max(1, args.connections // 2)), app]  # fmt: skip
    server = subprocess.Popen(gunicorn, env=env, cwd=ROOT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz")
        now = int(time.time())
        paths = [signed_path(now, serial, path) for serial in range(args.tokens)]
        (work / "paths.txt").write_text("\n".join(paths) + "\n")
        (work / "load.lua").write_text(LUA % (work / "paths.txt"))
        with urllib.request.urlopen(base + paths[0]) as response:
            page = response.read()
            status, etag = response.status, response.headers.get("ETag", "")
        if status != 200 or (path == PATH and len(re.findall(rb"data-kr=", page)) != 15):
            raise SystemExit(f"unexpected answer from {path}: status {status}")
        warm = ["wrk", "-t1", "-c4", "-d3s", "-s", str(work / "load.lua"), base]
        subprocess.run(warm, check=True, capture_output=True)
        command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
                   "-s", str(work / "load.lua"), base]  # fmt: skip
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    return page, etag, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--multiprocess-metrics", action="store_true",
                        help="count metrics as production does (PROMETHEUS_MULTIPROC_DIR set)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="okrlink-bench-"))
    settings = Settings(data_dir=work, secret_key=SECRET_KEY, base_url="https://okrlink.bench")
    try:
        seed(settings)
        page, etag, output = run(work, args, app="connect.wsgi:app", path=PATH)
        baseline = None
        if not args.no_baseline:
            baseline = run(work, args, app="bench.panels:bare_app()", path=BARE_PATH)[2]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rate, p50, p99, total, bad = parse_wrk(output)
    print(f"panel: 3 objectives x 5 KRs, 8 check-ins each; {len(page):,} bytes "
          f"({len(gzip.compress(page)):,} gzipped); ETag {etag}")
    threads = f", {args.threads} thread each" if args.worker_class == "gthread" else ""
    print(f"gunicorn: 2 workers ({args.worker_class}{threads}); wrk: 1 thread, "
          f"{args.connections} connections, {args.seconds}s, {args.tokens:,} distinct Connect "
          f"JWTs rotated, each request verified (HS256, exp, qsh)")
    print(f"loads/s: {rate:,.0f}   p50: {p50:.2f} ms   p99: {p99:.2f} ms   "
          f"requests: {total:,}   errors: {bad}")
    if baseline is not None:
        b_rate, b_p50, b_p99, _total, _bad = parse_wrk(baseline)
        print(f"bare verified route, same load: {b_rate:,.0f}/s   p50: {b_p50:.2f} ms   "
              f"p99: {b_p99:.2f} ms   (the panel serves {rate / b_rate:.0%} of that)")
    verdict = "meets" if rate >= TARGET_LOADS and p99 < TARGET_P99_MS else "misses"
    print(f"target >= {TARGET_LOADS:,} loads/s with p99 < {TARGET_P99_MS:.0f} ms: {verdict} it "
          f"on this machine ({os.cpu_count()} CPUs shared by server and load generator)")


if __name__ == "__main__":
    main()

"""Authenticated Confluence panel loads per second: `python bench/panels.py`.

A panel of 3 objectives x 5 KRs (each with a cycle of weekly check-ins carrying a confidence, so
every KR draws a trend chart with confidence beside progress) is served on loopback with two
worker processes, in one run by okrlink under granian (`okrlink web`, the production server) and
under gunicorn (2 sync workers, the former deployment), on SQLite and on PostgreSQL (a throwaway
server). `wrk` (Debian package `wrk`) sends the load with a Lua script that rotates through a
pool of distinct pre-signed Connect JWTs: every request carries a token the server has to verify
in full (HS256 signature, expiry, qsh of the request); nothing about a token is cached
server-side. Each request also checks the panel's data version (`connect/ui/versions.py`), then
serves the rendered HTML from the page cache as it is (gzipped once), answered before Flask
dispatches (`connect/http/panel.py`). Each request says what a browser says, `Host` and
`Accept-Encoding: gzip, deflate, br, zstd`, so the page is sent gzipped. Prints loads/s, p50/p99
latency, the page weight and the ratio of granian's figure to gunicorn's.

For scale, the same load is then sent to a bare route of the same app under the same server
that does the same Connect JWT verification and answers a fixed string (`--no-baseline`
skips it).

The anchor: the same load, the same tokens and the same URL, to atlassian-connect-express
11.5.3 (`bench/ace/app.js`: its own JWT check, `addon.authenticate()`, then a fixed string; one
Node process per worker of `okrlink web`), in the same run; `okrlink web`'s figure over ACE's
is printed beside its goal (`bench/goals.py`). Needs `node` and `npm install` in `bench/ace`
(`--no-ace` skips it).

Options: `--seconds N` (default 15), `--connections N` (default 16), `--server granian|gunicorn`
(repeatable; default both), `--databases sqlite,postgresql` (default both), `--threads N`
per granian worker (default `okrlink web`'s), `--backpressure N` per granian worker (default
`okrlink web`'s), `--tokens N` (default 4000), `--multiprocess-metrics` (count metrics into
files as a production server with several processes does; `bench/metrics.py` gives the cost
per request).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import jwt
from flask import Flask

from connect.services import services_of

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ itself: its scripts must not shadow packages (a bench/github.py would hide PyGithub).
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench import goals  # noqa: E402
from bench.serving import SERVERS, free_port, label, serving  # noqa: E402
from connect.app import create_app  # noqa: E402
from connect.cli.web import DEFAULT_THREADS, default_workers  # noqa: E402
from connect.settings import Settings  # noqa: E402
from integrations.atlassian.qsh import query_string_hash  # noqa: E402
from sync.core.spec import KeyResultSpec, ObjectiveSpec, TeamOkrs, quarter_of  # noqa: E402
from sync.db.model import CheckIn  # noqa: E402
from sync.db.store import find_kr  # noqa: E402
from sync.engine.snapshots import recompute  # noqa: E402
from sync.okrs import import_team_okrs  # noqa: E402
from sync.tenants import record_install  # noqa: E402
from tests.support.servers import postgres_server  # noqa: E402

SECRET_KEY = "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY="
SHARED_SECRET = "bench-shared-secret-of-more-than-32-characters"
CLIENT_KEY = "bench-confluence"
ACCOUNT = "557058:bench-user"
PATH = "/confluence/macro/okr-panel"
BARE_PATH = "/bench/bare"
PARAMS = {
    "team": "BENCH",
    "cycle": "",
    "objective": "",
    "view": "full",
    "xdm_e": "https://bench.atlassian.net",
    "xdm_c": "channel-okr-panel",
    "cp": "/wiki",
    "lic": "active",
    "cv": "1001.0.0-SNAPSHOT",
}
TARGET_RATIO = 3.0
TARGET_P99_MS = 10.0
# Requests are formatted once, up front: wrk shares the 2 cores with the server. wrk sets its
# own Host header only after the script has loaded, so the script names it.
LUA = """
local requests = {}
for line in io.lines("%s") do
  requests[#requests + 1] = wrk.format("GET", line,
                                       {["Host"] = "%s",
                                        ["Accept-Encoding"] = "gzip, deflate, br, zstd"})
end
local i = 0
request = function()
  i = (i %% #requests) + 1
  return requests[i]
end
"""


def seed(settings: Settings) -> None:
    """One Confluence installation and team BENCH: 3 objectives x 5 KRs, 8 weekly check-ins."""
    app = create_app(settings)
    services = services_of(app)
    cycle = quarter_of(datetime.now(UTC).date())
    okrs = TeamOkrs(
        team="BENCH",
        cycle=cycle,
        objectives=tuple(
            ObjectiveSpec(
                key=f"BENCH-{o}",
                title=f"Make deploys boring for every team ({o})",
                key_results=tuple(
                    KeyResultSpec(
                        key=f"BENCH-{o}.{k}",
                        baseline=0,
                        target=100,
                        unit="%",
                        title=f"Raise adoption of the paved road from 0 to 100% in area {o}.{k}",
                        owner="Platform lead",
                    )
                    for k in range(1, 6)
                ),
            )
            for o in range(1, 4)
        ),
    )
    start = datetime.combine(cycle.start, datetime.min.time(), tzinfo=UTC)
    with services.store.session() as session:
        row = record_install(
            session,
            client_key=CLIENT_KEY,
            base_url="https://bench.atlassian.net/wiki",
            product="confluence",
            shared_secret=SHARED_SECRET,
            encrypt=services.tenants.encrypt,
        )
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
                    confidence = 0.5 + 0.05 * ((week + o + k) % 7)
                    session.add(
                        CheckIn(
                            site_id=site_id,
                            kr_id=kr.id,
                            at=at,
                            author="lead",
                            value=value,
                            what=note,
                            confidence=confidence,
                        )
                    )
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
    claims = {
        "iss": CLIENT_KEY,
        "sub": ACCOUNT,
        "iat": now,
        "exp": now + 900,
        "qsh": query_string_hash("GET", path, query),
        "jti": f"bench-{serial}",
    }
    return f"{path}?{query}&jwt={jwt.encode(claims, SHARED_SECRET, algorithm='HS256')}"


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


def run(
    work: Path, args: argparse.Namespace, *, server: str, database: str, app: str, path: str
) -> tuple[bytes, str, str]:
    """Serve `app`, check one page, send the load; (page, ETag, wrk output)."""
    env = {
        **os.environ,
        "OKRLINK_DATA_DIR": str(work),
        "OKRLINK_SECRET_KEY": SECRET_KEY,
        "OKRLINK_BASE_URL": "https://okrlink.bench",
        "OKRLINK_DATABASE_URL": database,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if args.multiprocess_metrics:
        (work / "metrics").mkdir(exist_ok=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(work / "metrics")
    with serving(
        server,
        app,
        env=env,
        threads=args.threads,
        connections=args.connections,
        backpressure=args.backpressure,
    ) as base:
        with urllib.request.urlopen(base + signed_path(int(time.time()), 0, path)) as response:
            page = response.read()
            status, etag = response.status, response.headers.get("ETag", "")
        if status != 200 or (path == PATH and len(re.findall(rb"data-kr=", page)) != 15):
            raise SystemExit(f"unexpected answer from {path}: status {status}")
        output = load(work, args, base, path)
    return page, etag, output


ACE_DIR = ROOT / "bench" / "ace"


def ace_ready() -> bool:
    """Whether the anchor can run: node on the PATH, `npm install` done in bench/ace."""
    return shutil.which("node") is not None and (ACE_DIR / "node_modules").is_dir()


@contextlib.contextmanager
def ace_serving(workers: int) -> Iterator[str]:
    """atlassian-connect-express on loopback with the bench's tenant; its base URL."""
    port = free_port()
    command = ["node", "app.js", str(port), CLIENT_KEY, SHARED_SECRET, PATH, str(workers)]
    process = subprocess.Popen(
        command, cwd=ACE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # answering (404 for /): ready
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("atlassian-connect-express did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def load(work: Path, args: argparse.Namespace, base: str, path: str) -> str:
    """Warm up, then send the measured load of distinct signed URLs; wrk's output."""
    now = int(time.time())
    paths = [signed_path(now, serial, path) for serial in range(args.tokens)]
    (work / "paths.txt").write_text("\n".join(paths) + "\n")
    host = base.removeprefix("http://")
    (work / "load.lua").write_text(LUA % (work / "paths.txt", host))
    warm = ["wrk", "-t1", "-c4", "-d3s", "-s", str(work / "load.lua"), base]
    subprocess.run(warm, check=True, capture_output=True)
    command = [
        "wrk",
        "-t1",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--latency",
        "-s",
        str(work / "load.lua"),
        base,
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def run_ace(work: Path, args: argparse.Namespace) -> str:
    """The anchor under the same load; wrk's output."""
    with ace_serving(default_workers()) as base:
        with urllib.request.urlopen(base + signed_path(int(time.time()), 0)) as response:
            if response.status != 200 or response.read() != b"ok":
                raise SystemExit("unexpected answer from atlassian-connect-express")
        return load(work, args, base, PATH)


@contextlib.contextmanager
def database(name: str, work: Path) -> Iterator[str]:
    """The database URL for `sqlite` (a file in `work`) or `postgresql` (a throwaway server)."""
    if name == "sqlite":
        yield f"sqlite:///{work / 'okrlink.db'}"
    else:
        with postgres_server() as url:
            yield url


def measure(name: str, args: argparse.Namespace) -> None:
    """Seed one database, then load the panel (and the bare route) under each server."""
    work = Path(tempfile.mkdtemp(prefix="okrlink-bench-"))
    figures: dict[str, tuple[float, float, float, int, int]] = {}
    try:
        with database(name, work) as url:
            settings = Settings(
                data_dir=work,
                secret_key=SECRET_KEY,
                database_url=url,
                base_url="https://okrlink.bench",
            )
            seed(settings)
            for server in args.server:
                page, etag, output = run(
                    work, args, server=server, database=url, app="connect.wsgi:app", path=PATH
                )
                figures[server] = parse_wrk(output)
                if not args.no_baseline:
                    bare = run(
                        work,
                        args,
                        server=server,
                        database=url,
                        app="bench.panels:bare_app()",
                        path=BARE_PATH,
                    )[2]
                    figures[f"{server} bare"] = parse_wrk(bare)
            if args.ace:
                figures["ace"] = parse_wrk(run_ace(work, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"[{name}] panel: 3 objectives x 5 KRs, 8 check-ins each; {len(page):,} bytes "
        f"({len(gzip.compress(page)):,} gzipped); ETag {etag}"
    )
    for server in args.server:
        rate, p50, p99, total, bad = figures[server]
        line = (
            f"[{name}] {label(server, args.threads)}: {rate:,.0f} loads/s   "
            f"p50 {p50:.2f} ms   p99 {p99:.2f} ms   requests {total:,}   errors {bad}"
        )
        if f"{server} bare" in figures:
            b_rate, _p50, b_p99, _total, _bad = figures[f"{server} bare"]
            line += (
                f"\n[{name}]   bare verified route, same server: {b_rate:,.0f}/s   "
                f"p99 {b_p99:.2f} ms   (the panel serves {rate / b_rate:.0%} of that)"
            )
        print(line)
    if "ace" in figures:
        a_rate, _p50, a_p99, _total, a_bad = figures["ace"]
        print(
            f"[{name}] atlassian-connect-express 11.5.3, fixed string after its JWT check "
            f"({default_workers()} Node processes): {a_rate:,.0f}/s   p99 {a_p99:.2f} ms   "
            f"errors {a_bad}"
        )
        if "granian" in figures and a_rate and not a_bad:
            rate, _p50, p99, _total, bad = figures["granian"]
            ratio = rate / a_rate
            met = goals.panel_met(ratio, p99) and not bad
            print(
                f"[{name}] okrlink web / ACE: {ratio:.2f}x, p99 {p99:.2f} ms; goal "
                f"{goals.panel_goal()}: {goals.verdict(met)} (load average "
                f"{os.getloadavg()[0]:.1f})"
            )
    if {"granian", "gunicorn"} <= figures.keys():
        rate, _p50, p99, _total, bad = figures["granian"]
        ratio = rate / figures["gunicorn"][0]
        meets = ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and not bad
        print(
            f"[{name}] granian / gunicorn: {ratio:.2f}x; target >= {TARGET_RATIO:.0f}x with "
            f"p99 <= {TARGET_P99_MS:.0f} ms: {'meets' if meets else 'misses'} it"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--server", action="append", choices=SERVERS)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--backpressure", type=int, default=None)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-ace", dest="ace", action="store_false")
    parser.add_argument(
        "--multiprocess-metrics",
        action="store_true",
        help="count metrics as production does (PROMETHEUS_MULTIPROC_DIR set)",
    )
    args = parser.parse_args()
    args.server = args.server or list(SERVERS)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    if args.ace and not ace_ready():
        raise SystemExit("atlassian-connect-express is missing: cd bench/ace && npm install")
    print(
        f"wrk: 1 thread, {args.connections} connections, {args.seconds}s, {args.tokens:,} "
        f"distinct Connect JWTs rotated, each request verified (HS256, exp, qsh); "
        f"{os.cpu_count()} CPUs shared by server and load generator"
    )
    for name in args.databases.split(","):
        measure(name, args)


if __name__ == "__main__":
    main()

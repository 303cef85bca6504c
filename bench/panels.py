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
Node process per worker of `okrlink web`). Both servers are started once and first shown to
refuse a token signed with another secret; then `--rounds` rounds (default 3) load each in
turn, the order alternating, while the other waits idle (the bench prints the CPU the idle
side used meanwhile: none). Each measure also reads, from /proc, the CPU seconds the loaded
server and wrk spent per request and the share of the cores other jobs took: on a shared
machine that share moves the loads/s ratio by half or more between rounds (an A/A run, the
same code served twice, differed by up to 1.4x), while the ratio of CPU per request (ACE's
server and wrk time per request over okrlink's) moves far less (2.2-3.1x where the loads/s
ratio went from 1.5x to 5.5x, 2026-12-07, after the warm-up below). The goal line
(`bench/goals.py`) takes the median of the rounds' loads/s ratios and the worst p99, and
shows the ratio by CPU beside it. Needs `node` and `npm ci` in `bench/ace` (`--no-ace`
skips it). `--compare-with PATH` serves another checkout's code (main's, say) beside okrlink
web in each round, to measure a change against it in the same run.

Options: `--seconds N` (default 15), `--connections N` (default 16), `--server
granian|gunicorn` (repeatable; default both), `--databases sqlite,postgresql` (default both),
`--threads N` per granian worker (default `okrlink web`'s), `--backpressure N` per granian
worker (default `okrlink web`'s), `--tokens N` (default 4000), `--rounds N`, `--warmup
SECONDS` (default 10, each server once before the rounds), `--compare-with PATH`,
`--multiprocess-metrics` (count metrics into files as a production server with several
processes does; `bench/metrics.py` gives the cost per request).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import jwt
from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ itself: its scripts must not shadow packages (a bench/github.py would hide PyGithub).
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench import goals  # noqa: E402
from bench.serving import SERVERS, free_port, label, serving  # noqa: E402
from connect.app import create_app  # noqa: E402
from connect.cli.web import APP_TARGET, DEFAULT_THREADS, default_workers  # noqa: E402
from connect.services import services_of  # noqa: E402
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


def signed_path(now: int, serial: int, path: str = PATH, secret: str = SHARED_SECRET) -> str:
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
    return f"{path}?{query}&jwt={jwt.encode(claims, secret, algorithm='HS256')}"


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """(requests/s, p50 ms, p99 ms, requests, errors) from `wrk --latency` output; errors are
    non-2xx/3xx answers plus socket errors (connect, read, write, timeout)."""

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if match is None:
            raise SystemExit(f"no {label}% latency in wrk output:\n{output}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    # A refused or reset connection is an error as much as a 5xx: wrk counts those apart.
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = sum(int(n) for n in sockets.groups()) if sockets else 0
    return rate, ms("50"), ms("99"), total, (int(bad.group(1)) if bad else 0) + failed


def server_env(work: Path, args: argparse.Namespace, database: str) -> dict[str, str]:
    """The environment `okrlink web` runs the bench's app in."""
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
    return env


def check_page(base: str, path: str) -> tuple[bytes, str]:
    """One verified load: (page, ETag); the bench stops unless it is the expected answer."""
    with urllib.request.urlopen(base + signed_path(int(time.time()), 0, path)) as response:
        page = response.read()
        status, etag = response.status, response.headers.get("ETag", "")
    if status != 200 or (path == PATH and len(re.findall(rb"data-kr=", page)) != 15):
        raise SystemExit(f"unexpected answer from {path}: status {status}")
    return page, etag


def run(
    work: Path, args: argparse.Namespace, *, server: str, database: str, app: str, path: str
) -> tuple[bytes, str, str]:
    """Serve `app`, check one page, send the load; (page, ETag, wrk output)."""
    with serving(
        server,
        app,
        env=server_env(work, args, database),
        threads=args.threads,
        connections=args.connections,
        backpressure=args.backpressure,
    ) as base:
        page, etag = check_page(base, path)
        output = load(work, args, base, path)
    return page, etag, output


ACE_DIR = ROOT / "bench" / "ace"


def ace_ready() -> bool:
    """Whether the anchor can run: node on the PATH, `npm ci` done in bench/ace."""
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


def load(
    work: Path,
    args: argparse.Namespace,
    base: str,
    path: str,
    *,
    warm: bool = True,
    measure: bool = True,
    warm_seconds: int = 3,
) -> str:
    """Warm up, then send the measured load of distinct signed URLs; wrk's output."""
    now = int(time.time())
    paths = [signed_path(now, serial, path) for serial in range(args.tokens)]
    (work / "paths.txt").write_text("\n".join(paths) + "\n")
    host = base.removeprefix("http://")
    (work / "load.lua").write_text(LUA % (work / "paths.txt", host))
    # The warm-up opens as many connections as the measure (Node's JIT, granian's workers and
    # every connection's buffers are warm when the clock starts).
    if warm:
        warm_up = [
            "wrk",
            "-t1",
            f"-c{args.connections}",
            f"-d{warm_seconds}s",
            "-s",
            str(work / "load.lua"),
        ]
        subprocess.run([*warm_up, base], check=True, capture_output=True)
    if not measure:
        return ""
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


def refuses_forgery(base: str, path: str) -> bool:
    """Whether the server refuses a token signed with another secret (a 4xx): both sides of the
    comparison must really verify, or the ratio compares a check with none."""
    forged = signed_path(int(time.time()), 0, path, secret="not-the-shared-secret-" * 2)
    try:
        urllib.request.urlopen(base + forged).close()
    except urllib.error.HTTPError as exc:
        return 400 <= exc.code < 500
    return False


TICKS = os.sysconf("SC_CLK_TCK")
SHARED = 0.25
"""Above this share of the cores taken by other jobs, a loads/s ratio is flagged as unreliable."""


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (`/proc/stat`), steal included."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / TICKS


def descendants_seconds() -> dict[str, float]:
    """CPU seconds of this bench's running descendants, by side: `ace` (node), `okrlink`
    (granian and its workers; the throwaway PostgreSQL server too), `load` (wrk)."""
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        parents[pid], seconds[pid], commands[pid] = (
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / TICKS,
            command,
        )
    ours: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - ours
        ours |= frontier
    sides: dict[str, float] = {"ace": 0.0, "okrlink": 0.0, "load": 0.0}
    for pid in ours:
        side = (
            "ace" if "app.js" in commands[pid] else "load" if "wrk" in commands[pid] else "okrlink"
        )
        sides[side] += seconds[pid]
    return sides


@dataclass(frozen=True, slots=True)
class Measured:
    """One measured load: wrk's figures and where the cores' time went meanwhile."""

    rate: float
    p50: float
    p99: float
    total: int
    errors: int
    server_us: float
    """CPU microseconds the measured server's processes spent per request."""
    load_us: float
    """CPU microseconds wrk spent per request."""
    idle_side_seconds: float
    """CPU seconds the other side (idle, not loaded) spent meanwhile: ~0 when it is alone."""
    others_share: float
    """Share of the machine's cores that processes outside this bench took meanwhile."""

    def line(self) -> str:
        return (
            f"{self.rate:,.0f}/s   p50 {self.p50:.2f} ms   p99 {self.p99:.2f} ms   "
            f"errors {self.errors}   CPU a request: server {self.server_us:,.0f} µs, wrk "
            f"{self.load_us:,.0f} µs   other jobs took {self.others_share:.0%} of the cores"
        )


def measured_load(
    work: Path, args: argparse.Namespace, base: str, path: str, side: str
) -> Measured:
    """`load`, with the CPU each side and the rest of the machine spent during the measure."""
    other = "ace" if side == "okrlink" else "okrlink"
    before, busy_before, started = descendants_seconds(), machine_busy_seconds(), time.monotonic()
    load_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_before = resource.getrusage(resource.RUSAGE_SELF)  # signing the tokens
    output = load(work, args, base, path, warm=False)
    load_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    after, busy_after, elapsed = (
        descendants_seconds(),
        machine_busy_seconds(),
        time.monotonic() - started,
    )
    wrk_seconds = (load_after.ru_utime + load_after.ru_stime) - (
        load_before.ru_utime + load_before.ru_stime
    )
    own_seconds = (own_after.ru_utime + own_after.ru_stime) - (
        own_before.ru_utime + own_before.ru_stime
    )
    ours = sum(after.values()) - sum(before.values()) + wrk_seconds + own_seconds
    cores = os.cpu_count() or 1
    rate, p50, p99, total, errors = parse_wrk(output)
    return Measured(
        rate=rate,
        p50=p50,
        p99=p99,
        total=total,
        errors=errors,
        server_us=(after[side] - before[side]) / max(total, 1) * 1e6,
        load_us=wrk_seconds / max(total, 1) * 1e6,
        idle_side_seconds=after[other] - before[other],
        others_share=max(0.0, (busy_after - busy_before - ours) / (elapsed * cores)),
    )


@dataclass(frozen=True, slots=True)
class Round:
    """One round: okrlink web's panel (and, if asked, another checkout's) and ACE, each
    loaded alone while the other waits idle."""

    okrlink: Measured
    ace: Measured
    compared: Measured | None

    @property
    def ratio(self) -> float:
        return self.okrlink.rate / self.ace.rate if self.ace.rate else 0.0

    @property
    def cpu_ratio(self) -> float:
        """The ratio the cores' time per request predicts (server and wrk, each side): what
        the loads/s ratio tends to when nothing else runs; steadier when other jobs do."""
        okrlink = self.okrlink.server_us + self.okrlink.load_us
        return (self.ace.server_us + self.ace.load_us) / okrlink if okrlink else 0.0


def paired_rounds(work: Path, args: argparse.Namespace, url: str) -> tuple[list[Round], bytes, str]:
    """`args.rounds` rounds of okrlink web against ACE, the order alternating between rounds
    (drift in the machine's other load falls on both sides); servers started once. Also the
    page served and its ETag."""
    env = server_env(work, args, url)
    with contextlib.ExitStack() as stack:
        okrlink = stack.enter_context(
            serving(
                "granian",
                APP_TARGET,
                env=env,
                threads=args.threads,
                connections=args.connections,
                backpressure=args.backpressure,
            )
        )
        compared = (
            stack.enter_context(
                serving(
                    "granian",
                    APP_TARGET,
                    env=env,
                    threads=args.threads,
                    connections=args.connections,
                    backpressure=args.backpressure,
                    root=args.compare_with,
                )
            )
            if args.compare_with
            else None
        )
        ace = stack.enter_context(ace_serving(default_workers()))
        page, etag = check_page(okrlink, PATH)
        if compared is not None:
            check_page(compared, PATH)
        with urllib.request.urlopen(ace + signed_path(int(time.time()), 0)) as response:
            if response.status != 200 or response.read() != b"ok":
                raise SystemExit("unexpected answer from atlassian-connect-express")
        for name, base in (("okrlink web", okrlink), ("atlassian-connect-express", ace)):
            if not refuses_forgery(base, PATH):
                raise SystemExit(f"{name} accepted a forged token: nothing to compare")
        # Node's optimising compiler needs more than a few seconds of load: after 3 s, the first
        # round's ACE spent 30-140 % more CPU a request than the later rounds' did.
        for base in (okrlink, ace, *([compared] if compared else [])):
            load(work, args, base, PATH, measure=False, warm_seconds=args.warmup)
        rounds = []
        for number in range(args.rounds):
            figures: dict[str, Measured] = {}
            sides = [("okrlink", okrlink), ("ace", ace)]
            if compared is not None:
                sides.insert(1, ("compared", compared))
            for name, base in sides if number % 2 == 0 else reversed(sides):
                side = "ace" if name == "ace" else "okrlink"
                figures[name] = measured_load(work, args, base, PATH, side)
            rounds.append(Round(figures["okrlink"], figures["ace"], figures.get("compared")))
    return rounds, page, etag


@contextlib.contextmanager
def database(name: str, work: Path) -> Iterator[str]:
    """The database URL for `sqlite` (a file in `work`) or `postgresql` (a throwaway server)."""
    if name == "sqlite":
        yield f"sqlite:///{work / 'okrlink.db'}"
    else:
        with postgres_server() as url:
            yield url


def measure(name: str, args: argparse.Namespace) -> None:
    """Seed one database; okrlink web against ACE in paired rounds; then the other servers
    and the bare route, each alone."""
    work = Path(tempfile.mkdtemp(prefix="okrlink-bench-"))
    figures: dict[str, tuple[float, float, float, int, int]] = {}
    rounds: list[Round] = []
    page, etag = b"", ""
    paired = args.ace and "granian" in args.server
    try:
        with database(name, work) as url:
            settings = Settings(
                data_dir=work,
                secret_key=SECRET_KEY,
                database_url=url,
                base_url="https://okrlink.bench",
            )
            seed(settings)
            if paired:
                rounds, page, etag = paired_rounds(work, args, url)
            for server in args.server:
                if not (paired and server == "granian"):
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"[{name}] panel: 3 objectives x 5 KRs, 8 check-ins each; {len(page):,} bytes "
        f"({len(gzip.compress(page)):,} gzipped); ETag {etag}"
    )
    if rounds:
        report_rounds(name, args, rounds)
        # The round with the median ratio stands for the run beside the other servers.
        middle = sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2].okrlink
        figures["granian"] = (middle.rate, middle.p50, middle.p99, middle.total, middle.errors)
    for server in args.server:
        if server not in figures:
            continue
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
    if {"granian", "gunicorn"} <= figures.keys():
        rate, _p50, p99, _total, bad = figures["granian"]
        ratio = rate / figures["gunicorn"][0]
        meets = ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and not bad
        print(
            f"[{name}] granian / gunicorn: {ratio:.2f}x; target >= {TARGET_RATIO:.0f}x with "
            f"p99 <= {TARGET_P99_MS:.0f} ms: {'meets' if meets else 'misses'} it"
        )


def report_rounds(name: str, args: argparse.Namespace, rounds: list[Round]) -> None:
    """Each round's figures, then the goal line: the median of the rounds' ratios, the worst
    p99."""
    for number, each in enumerate(rounds, 1):
        print(
            f"[{name}] round {number}: okrlink web ({label('granian', args.threads)}): "
            f"{each.okrlink.line()}"
        )
        if each.compared is not None:
            print(
                f"[{name}] round {number}: the same from {args.compare_with}: "
                f"{each.compared.line()}   ({each.okrlink.rate / each.compared.rate:.2f}x of it)"
            )
        print(
            f"[{name}] round {number}: atlassian-connect-express 11.5.3 ({default_workers()} "
            f"Node processes, fixed string after its JWT check): {each.ace.line()}"
        )
        idle = max(each.okrlink.idle_side_seconds, each.ace.idle_side_seconds)
        print(
            f"[{name}] round {number}: ratio {each.ratio:.2f}x, by CPU per request "
            f"{each.cpu_ratio:.2f}x (the idle side used {idle:.2f} s of CPU while the other "
            f"was measured)"
        )
    ratios = sorted(each.ratio for each in rounds)
    ratio = statistics.median(ratios)
    p99 = max(each.okrlink.p99 for each in rounds)
    errors = sum(each.okrlink.errors + each.ace.errors for each in rounds)
    met = goals.panel_met(ratio, p99) and not errors
    spread = f" (rounds {ratios[0]:.2f}-{ratios[-1]:.2f}x)" if len(ratios) > 1 else ""
    by_cpu = sorted(each.cpu_ratio for each in rounds)
    others = max(max(each.okrlink.others_share, each.ace.others_share) for each in rounds)
    if others > SHARED:
        print(
            f"[{name}] other jobs took up to {others:.0%} of the cores: the loads/s ratio "
            f"says little; the ratio by CPU per request is the steadier figure"
        )
    print(
        f"[{name}] okrlink web / ACE: {ratio:.2f}x{spread} (by CPU per request "
        f"{statistics.median(by_cpu):.2f}x), p99 {p99:.2f} ms, errors {errors}, other jobs up to "
        f"{others:.0%} of the cores; goal {goals.panel_goal()}: {goals.verdict(met)} (load "
        f"average {os.getloadavg()[0]:.1f})"
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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load per server first")
    parser.add_argument("--compare-with", type=Path, default=None)
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
        raise SystemExit("atlassian-connect-express is missing: cd bench/ace && npm ci")
    print(
        f"wrk: 1 thread, {args.connections} connections, {args.seconds}s, {args.tokens:,} "
        f"distinct Connect JWTs rotated, each request verified (HS256, exp, qsh); "
        f"{os.cpu_count()} CPUs shared by server and load generator"
    )
    for name in args.databases.split(","):
        measure(name, args)


if __name__ == "__main__":
    main()

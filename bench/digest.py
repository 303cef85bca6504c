"""What the weekly digest costs: `python bench/digest.py`.

A throwaway SQLite database with a 3 x 5 team and `CHANNELS` Slack channels to a local HTTP
receiver (stdlib, threaded). Prints the median cost of a scheduler tick with nothing due (what
every worker pays each minute), of building and rendering one digest, and of the tick that
claims and posts every channel's digest.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from connect.services import services_of

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from cryptography.fernet import Fernet  # noqa: E402

from connect.app import create_app  # noqa: E402
from connect.chat.digest import render  # noqa: E402
from connect.settings import Settings  # noqa: E402
from sync.db.store import local_site  # noqa: E402
from sync.digest import ChannelSpec, add_channel, load_digest  # noqa: E402
from sync.ports import Ports  # noqa: E402
from tests.support.digest import import_team  # noqa: E402

CHANNELS = 100
CREATED = datetime(2026, 11, 25, 12, tzinfo=UTC)
DUE = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 in Paris


class Clock:
    def __init__(self) -> None:
        self.current = CREATED

    def now(self) -> datetime:
        return self.current


class Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Sink.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return


def median_ms(runs: list[float]) -> str:
    return f"{statistics.median(runs) * 1000:.2f} ms"


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="okrlink-digest-bench-"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    clock = Clock()
    settings = Settings(
        data_dir=work, queue_immediate=True, dev=True, secret_key=Fernet.generate_key().decode()
    )
    app = create_app(settings, ports=Ports(clock=clock))
    services = services_of(app)
    try:
        with services.store.session() as session:
            site_id = local_site(session).id
            import_team(session, site_id, now=CREATED)
            for n in range(CHANNELS):
                add_channel(
                    session,
                    site_id,
                    ChannelSpec(
                        team="PLAT",
                        kind="slack" if n % 2 else "teams",
                        tz="Europe/Paris",
                        url=f"http://127.0.0.1:{server.server_port}/hook/{n}",
                    ),
                    encrypt=services.tenants.encrypt,
                    now=CREATED,
                    urls=services.outbound,  # dev: loopback http, the local receiver
                )
        clock.current = DUE - timedelta(days=3)  # after the reminder of the week before
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            services.digest.tick()
            idle.append(time.perf_counter() - started)
        build = []
        for _ in range(50):
            started = time.perf_counter()
            with services.store.session() as session:
                digest = load_digest(
                    session,
                    site_id,
                    "PLAT",
                    end=DUE,
                    week="2026-W49",
                    links=services.digest.links(site_id, "PLAT"),
                )
            assert digest is not None
            render(digest, "slack", "fr")
            build.append(time.perf_counter() - started)
        clock.current = DUE
        started = time.perf_counter()
        sent = services.digest.tick()
        elapsed = time.perf_counter() - started
        assert sent == CHANNELS == Sink.received
        print(f"tick with nothing due, {CHANNELS} channels: {median_ms(idle)}")
        print(f"build and render one 3 x 5 digest: {median_ms(build)}")
        print(
            f"tick posting {CHANNELS} digests (claim, build, render, post, mark sent): "
            f"{elapsed:.2f} s, {elapsed / CHANNELS * 1000:.1f} ms each"
        )
    finally:
        services.store.dispose()
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

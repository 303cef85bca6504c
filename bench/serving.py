"""The servers the benches compare: okrlink under granian (`okrlink web`) and under gunicorn.

Both run 2 worker processes on loopback, as the 2-core bench machine suggests. granian runs
exactly the server `okrlink web` builds (`connect/cli/web.py`: its threads, backpressure and
shutdown), only on another app target when the bench serves its bare route; gunicorn runs
today's former deployment, sync workers.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

from tests.support.processes import stop, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]
SERVERS = ("granian", "gunicorn")
WORKERS = 2


def serves_every_connection(base: str, connections: int, *, timeout: float = 10.0) -> bool:
    """Whether `connections` keep-alive connections opened at once are each answered.

    wrk keeps its connections open and reports only the requests that end: a server that
    accepts fewer connections than the load opens (granian's backpressure counts connections)
    would be measured on the ones it serves while the rest wait unseen.
    """
    host, _, port = base.removeprefix("http://").rpartition(":")
    opened = [HTTPConnection(host, int(port), timeout=timeout) for _ in range(connections)]
    try:
        for connection in opened:  # all connected and asked before any answer is read
            connection.request("GET", "/healthz")
        return all(connection.getresponse().status == 200 for connection in opened)
    except OSError:  # a timeout included
        return False
    finally:
        for connection in opened:
            connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(
    server: str,
    target: str,
    *,
    port: int,
    threads: int,
    connections: int,
    backpressure: int | None = None,
) -> list[str]:
    """The command line that serves `target` ("module:attribute", or "module:factory()")."""
    if server == "granian":
        factory = target.endswith("()")
        script = (
            "import sys; from connect.cli.web import build_server; "
            "build_server(host='127.0.0.1', port=int(sys.argv[1]), workers=int(sys.argv[2]), "
            "threads=int(sys.argv[3]), access_log=False, target=sys.argv[4], "
            "factory=sys.argv[5] == '1', backpressure=int(sys.argv[6]) or None).serve()"
        )
        return [
            sys.executable,
            "-c",
            script,
            str(port),
            str(WORKERS),
            str(threads),
            target.removesuffix("()"),
            "1" if factory else "0",
            str(backpressure or 0),
        ]
    # gunicorn's sync workers, one request at a time each; a worker takes at most half of the
    # load's connections, or the first to wake would accept all of wrk's at once.
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--keep-alive",
        "30",
        "--worker-connections",
        str(max(1, connections // 2)),
        target,
    ]


def label(server: str, threads: int) -> str:
    if server == "granian":
        return f"granian (okrlink web: {WORKERS} workers x {threads} thread{'s' * (threads > 1)})"
    return f"gunicorn ({WORKERS} sync workers)"


@contextlib.contextmanager
def serving(
    server: str,
    target: str,
    *,
    env: dict[str, str],
    threads: int = 1,
    connections: int = 16,
    backpressure: int | None = None,
    root: Path = ROOT,
) -> Iterator[str]:
    """Serve `target` until the block ends; yields the base URL once `/healthz` answers.

    `root` is the checkout whose code is served (another one, such as main's, to measure a
    change against it in the same run).
    """
    port = free_port()
    argv = command(
        server,
        target,
        port=port,
        threads=threads,
        connections=connections,
        backpressure=backpressure,
    )
    process = subprocess.Popen(
        argv,
        env={**env, "PYTHONPATH": str(root)},
        cwd=root,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_ready(process, base + "/healthz", timeout=60, failure=lambda: " ".join(argv))
        except RuntimeError as exc:
            raise SystemExit(f"{server} {exc}") from None
        if not serves_every_connection(base, connections):
            raise SystemExit(
                f"{server} does not answer {connections} connections at once: a load on that "
                "many would measure only those it serves"
            )
        yield base
    finally:
        stop(process, group=True)

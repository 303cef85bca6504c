"""`okrlink web`: granian sized for CPU-bound requests, serving every connection it is given,
and a SIGTERM that stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from granian.constants import HTTPModes, Interfaces

from connect.cli import main
from connect.cli.web import BACKLOG, build_server
from tests.support.base import ROOT
from tests.support.processes import wait_until_ready
from tests.support.servers import free_port


def test_the_server_runs_the_wsgi_app_with_few_threads_and_takes_every_connection() -> None:
    server = build_server(
        host="0.0.0.0",  # noqa: S104
        port=8080,
        workers=2,
        threads=3,
        access_log=False,
    )
    assert (server.target, server.interface, server.http) == (
        "connect.wsgi:app.wsgi_app",
        Interfaces.WSGI,
        HTTPModes.http1,
    )
    assert (server.workers, server.blocking_threads) == (2, 3)
    # granian's backpressure counts connections, idle ones too: granian's own sizing, not a
    # few per thread (the threads do not change it).
    assert (server.backlog, server.backpressure) == (BACKLOG, BACKLOG // 2)
    assert build_server(host="::", port=1, workers=4, threads=1, access_log=False).backpressure == (
        BACKLOG // 4
    )
    assert server.log_access is False
    assert server.respawn_failed_workers is True
    assert (
        build_server(host="127.0.0.1", port=1, workers=1, threads=1, access_log=True).log_access
        is True
    )


def test_more_threads_than_the_database_pool_holds_is_refused_clearly() -> None:
    result = CliRunner().invoke(main, ["web", "--threads", "11"])
    assert result.exit_code == 2
    assert "Invalid value for '--threads'" in result.output
    assert "Traceback" not in result.output


def _web(tmp_path: Path, port: int, *, output: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """`okrlink web` with 2 workers on `port`, its defaults otherwise."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OKRLINK_DATA_DIR": str(tmp_path),
        "OKRLINK_SECRET_KEY": "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY=",
    }
    command = [sys.executable, "-c", "from connect.cli import main; main()", "web"]
    return subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_idle_connections_do_not_shut_anyone_else_out(tmp_path: Path) -> None:
    # A proxy's keep-alive pool, or anyone, holding connections open without a request: with
    # a few connections per worker (granian's backpressure), 8 of them left nobody served.
    port = free_port()
    server = _web(tmp_path, port)
    idle: list[socket.socket] = []
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        wait_until_ready(server, url, timeout=60, failure=lambda: "okrlink web did not start")
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
        time.sleep(0.5)  # accepted, or waiting to be
        began = time.monotonic()
        for _ in range(3):
            with urllib.request.urlopen(url, timeout=5) as health:
                assert health.status == 200
        assert time.monotonic() - began < 5
    finally:
        for connection in idle:
            connection.close()
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def test_okrlink_web_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    server = _web(tmp_path, port, output=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as health:
                    assert health.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        # granian logs a request's access line after sending its answer: a second request,
        # answered by the same single thread, proves the first one's line was written before
        # SIGTERM (without it, a loaded machine stopped the worker in between once).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as again:
            assert again.status == 200
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=40)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    log = output.decode()
    assert server.returncode == 0, log
    assert "Traceback" not in log
    assert "Shutting down granian" in log


def test_with_json_logs_every_line_on_stdout_and_stderr_is_one_json_object(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OKRLINK_DATA_DIR": str(tmp_path),
        "OKRLINK_SECRET_KEY": "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY=",
        "OKRLINK_LOG_FORMAT": "json",
    }
    command = [sys.executable, "-c", "from connect.cli import main; main()", "web"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--access-log"]
    server = subprocess.Popen(
        command,
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/healthz?x=%0A12:00:00%20forged"
                with urllib.request.urlopen(url, timeout=2) as health:
                    assert health.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        # granian logs a request's access line after sending its answer: a second request,
        # answered by the same single thread, proves the first one's line was written before
        # SIGTERM (without it, a loaded machine stopped the worker in between once).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as again:
            assert again.status == 200
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=40)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    lines = [line for line in (out + err).decode().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # each line is one JSON object
    assert all(isinstance(r, dict) and {"time", "level", "event"} <= r.keys() for r in records)
    events = " ".join(str(r["event"]) for r in records)
    assert "Shutting down granian" in events and "/healthz" in events  # start, access, stop

"""Servers run as the operator runs them: a real process on a loopback port, its logs kept."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.base import ROOT

BIN = Path(sys.executable).parent


@dataclass
class Running:
    url: str
    process: subprocess.Popen[bytes]
    stderr: Path
    stdout: Path

    def logs(self) -> list[str]:
        """The lines the process wrote to stderr (where its log lines go)."""
        return self.stderr.read_text().splitlines()


@contextlib.contextmanager
def running(
    argv: list[str],
    *,
    port: int,
    env: Mapping[str, str],
    logs: Path,
    ready: str = "/healthz",
    timeout: float = 60,
    headers: Mapping[str, str] | None = None,
) -> Iterator[Running]:
    """Start `argv` (a console script of this virtualenv first), wait until `ready` answers 200,
    and stop it with SIGTERM (as an orchestrator does) when the block ends."""
    logs.mkdir(parents=True, exist_ok=True)
    stderr, stdout = logs / "stderr.log", logs / "stdout.log"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    with stderr.open("wb") as err, stdout.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / argv[0]), *argv[1:]], cwd=ROOT, env=environment, stdout=out, stderr=err
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(
            process,
            url + ready,
            timeout=timeout,
            failure=lambda: f"{argv[0]}: {stderr.read_text()}",
            headers=headers,
        )
        yield Running(url, process, stderr, stdout)
    finally:
        stop(process, group=False)


def wait_until_ready(
    process: subprocess.Popen[bytes],
    url: str,
    *,
    timeout: float,
    failure: Callable[[], str],
    headers: Mapping[str, str] | None = None,
) -> None:
    """Poll `url` until it answers 200; `RuntimeError(failure())` if the process exits first
    or `timeout` seconds pass. Every server the tests and benches start waits here."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"exited {process.returncode}: {failure()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2, headers=dict(headers or {})).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"did not start: {failure()}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], *, group: bool) -> None:
    """SIGTERM, as an orchestrator sends it (to the whole process group when the server forks
    workers), then SIGKILL after 30 s."""
    if process.poll() is not None:
        return
    send = (lambda sig: os.killpg(process.pid, sig)) if group else process.send_signal
    send(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(5)

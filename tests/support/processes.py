"""Servers run as the operator runs them: a real process on a loopback port, its logs kept."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
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
def running(argv: list[str], *, port: int, env: Mapping[str, str], logs: Path,
            ready: str = "/healthz", timeout: float = 60) -> Iterator[Running]:  # fmt: skip
    """Start `argv` (a console script of this virtualenv first), wait until `ready` answers 200,
    and stop it with SIGTERM (as an orchestrator does) when the block ends."""
    logs.mkdir(parents=True, exist_ok=True)
    stderr, stdout = logs / "stderr.log", logs / "stdout.log"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    with stderr.open("wb") as err, stdout.open("wb") as out:
        process = subprocess.Popen([str(BIN / argv[0]), *argv[1:]], cwd=ROOT, env=environment,
                                   stdout=out, stderr=err)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited {process.returncode}: {stderr.read_text()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + ready, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start: {stderr.read_text()}")
            time.sleep(0.1)
        yield Running(url, process, stderr, stdout)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

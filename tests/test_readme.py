"""The README and the docs work as written: their shell blocks run, as a newcomer would run
them, on a demo.

Every fenced block of `README.md` and of `docs/**/*.md` whose info string is `bash`, `sh`,
`shell` or `console` must be marked by an HTML comment on the line just above its fence:

- `<!-- readme: run -->`: this test runs it, and it must exit 0;
- `<!-- readme: skip, <why> -->`: it needs what a test cannot have (a real Atlassian site,
  a Forge or GitHub account, a second long-running server) or is what starts this very test;
  the reason is required.

An unmarked shell block fails the test, so a new block is either run or says why not.

How the blocks run: `okrlink demo` is started, as the README's command 1 starts it (with
`OKRLINK_DEV=1`, on the embedded defaults), in an empty folder that holds only the clone's
`examples/` and `.venv` (so files the blocks write stay there), on a free port rather than
8080 (other processes may hold it; `localhost:8080` in a block is read as that port). Each
runnable block then runs in a fresh `bash -eo pipefail` in that folder, after the two lines a
reader types once: `. .venv/bin/activate` and the `export OKRLINK_DEV=1 OKRLINK_ADMIN_TOKEN=...`
line the demo printed. No other environment carries over (the test's own `OKRLINK_*` are removed).

It also holds the demo to its promises: what it prints, from its first line to the export
line, fits on one screen (under 25 lines); and the blocks leave no error in its log.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = (README, *sorted((ROOT / "docs").rglob("*.md")))
SHELLS = ("bash", "sh", "shell", "console")
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)
MARK = re.compile(r"<!--\s*readme:\s*(?P<verb>run|skip)\s*(?:,\s*(?P<why>.*?))?\s*-->\s*$")
EXPORT = re.compile(r"^\s*(export OKRLINK_DEV=1 OKRLINK_ADMIN_TOKEN=\S+)\s*$", re.M)
READY_WITHIN = 90.0  # seconds for the demo to load and print its block
SCREEN = 25  # lines


@dataclass(frozen=True)
class Block:
    where: str
    line: int
    body: str
    run: bool
    why: str


def shell_blocks(text: str, where: str = "README.md") -> list[Block]:
    """Every shell block of a document with its marker; unmarked ones fail here."""
    blocks = []
    for match in FENCE.finditer(text):
        if match["info"].strip().split(" ")[0] not in SHELLS:
            continue
        line = text.count("\n", 0, match.start()) + 1
        above = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARK.search(above)
        assert mark, f"{where}:{line}: mark this shell block <!-- readme: run --> or skip"
        why = (mark["why"] or "").strip()
        assert mark["verb"] == "run" or why, f"{where}:{line}: say why the block is skipped"
        blocks.append(Block(where, line, match["body"], mark["verb"] == "run", why))
    return blocks


def every_block() -> list[Block]:
    """The shell blocks of the README, then of every docs page, in reading order."""
    return [
        block
        for document in DOCUMENTS
        for block in shell_blocks(
            document.read_text(encoding="utf-8"), str(document.relative_to(ROOT))
        )
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def fresh_environment() -> dict[str, str]:
    """The environment of a new shell: the test's own okrlink settings left out."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OKRLINK_", "VIRTUAL_ENV"))}


@dataclass
class Demo:
    folder: Path
    port: int
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`OKRLINK_DEV=1 okrlink demo` in a folder like a fresh clone, until its block is out."""
    folder = tmp_path_factory.mktemp("clone")
    (folder / "examples").symlink_to(ROOT / "examples")
    (folder / ".venv").symlink_to(Path(sys.prefix))
    port = free_port()
    log = folder / "demo.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(folder / ".venv" / "bin" / "okrlink"), "demo", "--port", str(port)],
            cwd=folder,
            env={**fresh_environment(), "OKRLINK_DEV": "1"},
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    running = Demo(folder, port, process, log)
    deadline = time.monotonic() + READY_WITHIN
    while not EXPORT.search(running.output()):
        assert process.poll() is None, f"the demo stopped:\n{running.output()}"
        assert time.monotonic() < deadline, f"the demo was not ready:\n{running.output()}"
        time.sleep(0.2)
    yield running
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_every_shell_block_is_marked_and_most_are_run() -> None:
    blocks = every_block()
    assert sum(block.run for block in blocks) >= 3
    for block in blocks:
        if not block.run:
            assert len(block.why) > 10, f"{block.where}:{block.line}: say why it is not run"


def test_the_demo_fits_on_one_screen_and_ends_with_links_token_and_export_line(
    demo: Demo,
) -> None:
    lines = demo.output().splitlines()
    last = next(i for i, line in enumerate(lines) if EXPORT.match(line))
    assert last + 1 < SCREEN, "\n".join(lines)
    shown = "\n".join(lines[: last + 1])
    base = f"http://127.0.0.1:{demo.port}"
    for page in (
        "/confluence/macro/okr-panel?",
        "/jira/issue-panel?",
        "/jira/project-page?",
        "/jira/admin?",
        "/healthz",
    ):
        assert f"{base}{page}" in shown
    assert "Traceback" not in shown and " ERROR " not in shown


def test_the_readmes_blocks_run_as_written_against_the_demo(demo: Demo) -> None:
    export = EXPORT.search(demo.output())
    assert export is not None
    before = len(demo.output())
    for block in every_block():
        if not block.run:
            continue
        script = block.body.replace("localhost:8080", f"localhost:{demo.port}")
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", f". .venv/bin/activate\n{export[1]}\n{script}"],
            cwd=demo.folder,
            env=fresh_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (
            f"{block.where}:{block.line} failed ({result.returncode}):\n{block.body}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
        assert "Traceback" not in result.stderr, f"{block.where}:{block.line}:\n{result.stderr}"
    time.sleep(3)  # the demo's consumer runs what the blocks queued
    after = demo.output()[before:]
    assert "Traceback" not in after and " ERROR " not in after, after

"""Log levels: commands print their result only, servers their steps; users ask for more."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from connect.ops.logs import CHATTY, LogLevelError, StderrHandler, configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the root logger back as pytest had it (its capture handlers included)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in CHATTY}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in chatty.items():
        logging.getLogger(name).setLevel(was)


def _effective(name: str) -> int:
    return logging.getLogger(name).getEffectiveLevel()


def test_a_command_logs_warnings_only() -> None:
    assert configure_logging(environ={}) == logging.WARNING
    assert _effective("connect.app") == logging.WARNING
    assert _effective("alembic.runtime.migration") == logging.WARNING


def test_a_server_logs_its_steps_but_not_alembic_or_huey_chatter() -> None:
    assert configure_logging(server=True, environ={}) == logging.INFO
    assert _effective("connect.app") == logging.INFO
    for name in ("alembic.runtime.migration", "huey.consumer", "werkzeug"):
        assert _effective(name) == logging.WARNING


def test_verbose_shows_everything() -> None:
    configure_logging(verbose=True, environ={})
    assert _effective("alembic.runtime.migration") == logging.DEBUG
    assert _effective("huey") == logging.DEBUG


@pytest.mark.parametrize("server", [False, True])
def test_okrlink_log_level_sets_every_logger(server: bool) -> None:
    assert configure_logging(server=server, environ={"OKRLINK_LOG_LEVEL": "info"}) == logging.INFO
    assert _effective("alembic.runtime.migration") == logging.INFO
    assert _effective("huey") == logging.INFO


def test_an_unknown_level_is_refused_with_the_choices() -> None:
    with pytest.raises(LogLevelError, match="DEBUG, INFO, WARNING, ERROR, CRITICAL"):
        configure_logging(environ={"OKRLINK_LOG_LEVEL": "loud"})


def test_configuring_twice_keeps_one_handler_of_ours() -> None:
    configure_logging(environ={})
    configure_logging(server=True, environ={})
    assert sum(isinstance(h, StderrHandler) for h in logging.getLogger().handlers) == 1


def test_records_go_to_the_current_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(environ={})
    logging.getLogger("okrlink").warning("the GitHub App is not configured")
    assert "WARNING okrlink: the GitHub App is not configured" in capsys.readouterr().err


def test_with_json_logs_a_servers_uncaught_errors_and_warnings_are_json_lines_too() -> None:
    import json
    import os
    import subprocess
    import sys

    from tests.support.base import ROOT

    script = (
        "import threading, warnings\n"
        "from connect.ops.logs import configure_logging\n"
        "configure_logging(server=True)\n"
        "warnings.warn('an old API')\n"
        "thread = threading.Thread(target=lambda: 1 / 0)\n"
        "thread.start(); thread.join()\n"
        "raise RuntimeError('boom\\n12:00:00 ERROR forged')\n"
    )
    env = {**os.environ, "OKRLINK_LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # each line one JSON object
    assert [r["level"] for r in records] == ["WARNING", "CRITICAL", "CRITICAL"]
    assert "an old API" in records[0]["event"]
    assert "ZeroDivisionError" in records[1]["exc_info"]
    assert records[2]["exc_info"].endswith("RuntimeError: boom\n12:00:00 ERROR forged")

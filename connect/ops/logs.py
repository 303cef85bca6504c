"""Log levels and handlers: the one place they are set.

A command prints its result and nothing else, so by default the CLI logs warnings and errors
only. A long-running process (`serve`, `demo`, `worker`) logs one line per start-up step at
INFO. The libraries that narrate their routine work (Alembic's migrations, huey's consumer,
werkzeug's request lines) stay at WARNING unless the user asks for more with `--verbose`
(everything at DEBUG) or `OKRLINK_LOG_LEVEL` (every logger at that level).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any, Final

import click

from connect.ops.log_format import formatter_for
from sync.errors import OkrlinkError

LEVEL_VARIABLE: Final = "OKRLINK_LOG_LEVEL"
FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT: Final = "%H:%M:%S"
# Libraries whose INFO lines narrate routine work rather than anything a user acts on.
CHATTY: Final = ("alembic", "huey", "werkzeug")
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRET_SETTINGS: Final = (
    "ADMIN_TOKEN",
    "SECRET_KEY",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_PRIVATE_KEY",
    "ASANA_CLIENT_SECRET",
)
"""Every `OKRLINK_*` setting holding a secret (a test checks none is missing): their values are
scrubbed from every line, each comma-separated part on its own (several keys may be given).
The passwords in database and queue URLs are scrubbed by pattern (`log_format.py`)."""


class LogLevelError(OkrlinkError, ValueError):
    """`OKRLINK_LOG_LEVEL` names no level."""


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (as `logging.lastResort` does),
    so a stream swapped by a test runner and closed since is never written to."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        """The stream is always the current `sys.stderr`."""


def level_from(environ: Mapping[str, str]) -> int | None:
    """The level `OKRLINK_LOG_LEVEL` asks for (a name, any case), or None when unset."""
    raw = environ.get(LEVEL_VARIABLE, "").strip().upper()
    if not raw:
        return None
    if raw not in LEVELS:
        raise LogLevelError(f"{LEVEL_VARIABLE}={raw!r}: use one of {', '.join(LEVELS)}")
    return int(getattr(logging, raw))


def formatter_from(environ: Mapping[str, str]) -> logging.Formatter:
    """Plain lines, or JSON lines with `OKRLINK_LOG_FORMAT=json` (`connect/ops/log_format.py`);
    either way, the secrets the environment holds are scrubbed from every line."""
    secrets = [
        part.strip()
        for name in SECRET_SETTINGS
        for value in (environ.get(f"OKRLINK_{name}", ""),)
        for part in (value, *value.split(","))
    ]
    return formatter_for(
        environ.get("OKRLINK_LOG_FORMAT", ""), secrets=secrets, plain=FORMAT, datefmt=DATE_FORMAT
    )


def configure_logging(
    *, verbose: bool = False, server: bool = False, environ: Mapping[str, str] | None = None
) -> int:
    """Set the root handler and every level; returns the level okrlink's own loggers log at.

    Called once by `main` for every command (quiet), and again by `serve`, `demo` and `worker`
    (`server=True`: start-up steps at INFO). Calling it again replaces the handler.
    """
    environ = os.environ if environ is None else environ
    explicit = level_from(environ)
    if verbose:
        level = logging.DEBUG
    elif explicit is not None:
        level = explicit
    else:
        level = logging.INFO if server else logging.WARNING
    root = logging.getLogger()
    for handler in list(root.handlers):
        # Ours from an earlier call, or Python's default; a test runner's capture stays.
        if isinstance(handler, StderrHandler) or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter_from(environ))
    root.addHandler(handler)
    root.setLevel(level)
    quiet = not verbose and explicit is None
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING) if quiet else logging.NOTSET)
    if server and json_lines(environ):
        # What Python itself would write on stderr (an uncaught exception, a warning) becomes
        # a record too, so that every line of a server's stderr stays one JSON object.
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_thread_uncaught
        logging.captureWarnings(True)
    return level


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    logging.getLogger("okrlink").critical("unhandled error", exc_info=(kind, error, trace))


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def json_lines(environ: Mapping[str, str] | None = None) -> bool:
    """Whether `OKRLINK_LOG_FORMAT=json` asks for JSON lines."""
    environ = os.environ if environ is None else environ
    return environ.get("OKRLINK_LOG_FORMAT", "").strip().lower() == "json"


def env_formatter() -> logging.Formatter:
    """The formatter of this process's environment (a `logging.config` factory: granian's
    worker processes build their handlers' formatters with it)."""
    return formatter_from(os.environ)


def announce(text: str) -> None:
    """A server's ready line (or block) on stdout: as written, or with `OKRLINK_LOG_FORMAT=json`
    one JSON object like every log line, since log collectors read stdout and stderr alike."""
    if not json_lines():
        click.echo(text)
        return
    record = logging.LogRecord("okrlink", logging.INFO, __file__, 0, text, None, None)
    click.echo(env_formatter().format(record))


def granian_logging() -> dict[str, object] | None:
    """granian's logging configuration in JSON mode (its start, stop and access lines, written
    by its own handlers), else None for its own plain lines."""
    if not json_lines():
        return None
    ours = {"()": "connect.ops.logs.env_formatter"}
    return {"formatters": {"generic": ours, "access": ours}}

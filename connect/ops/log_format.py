"""The log line format: plain text for a terminal, or one JSON object per line to ship.

`OKRLINK_LOG_FORMAT=json` gives, on each line, `time` (ISO 8601, UTC), `level`, `logger`,
`event` (the message), the context the code bound where it ran (`site`, `delivery_id`,
`kr_key`: `sync/engine/log_context.py`), any `extra` fields, and `exc_info` for a traceback (one
JSON string, so a line stays a line). python-json-logger does the encoding.

Secrets never reach a line in either format: the formatter scrubs every string it writes of
tokens (JWTs, Bearer and Basic credentials, `jwt=` / `token=` / `secret=` ... parameters),
private keys, webhook URLs (Slack, Teams, any URL with `hook` in it) and the values of the
secret settings it is given. A pattern, not a promise from each caller: a message built from
a request (a URL with its `jwt` parameter, a client error quoting a header) is scrubbed too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final

from pythonjsonlogger.json import JsonFormatter

from sync.engine import log_context

PLAIN: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED: Final = "[redacted]"

_PATTERNS: Final = (
    # A JWT (Connect, Forge invocation tokens, GitHub app tokens): three base64url parts.
    re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"),
    # GitHub tokens (installation, OAuth, personal), whatever surrounds them.
    re.compile(r"\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{16,}"),
    # PEM private keys.
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
    ),
    # Webhook URLs: who holds one can post into the channel (Slack, Teams Workflows on Azure
    # Logic Apps or Power Automate, whose `sig=` is the secret).
    re.compile(
        r"https?://[^\s\"'<>]*(?:hook|webhook\.office\.com|logic\.azure\.com|powerautomate"
        r"|powerplatform\.com)[^\s\"'<>]*",
        re.IGNORECASE,
    ),
    # The password of a URL (`postgresql://user:password@host/db`).
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
)
_CREDENTIAL: Final = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}")
_NAMES: Final = (
    r"jwt|token|access_token|refresh_token|secret|client_secret|shared_?secret|password"
    r"|signature|sig|api_?key|private_key"
)
_PARAMETER: Final = re.compile(rf"(?i)\b((?:{_NAMES})=)([^&\s\"',;]+)")
"""`name=value`, as in a query string or a form."""
_QUOTED: Final = re.compile(rf"(?i)([\"'](?:{_NAMES})[\"']\s*:\s*[\"'])([^\"']+)")
"""`"name": "value"`, as in a JSON or dict repr quoted in a message."""


_TERMINAL: Final = re.compile(r"\x1b\[[0-9;]*m")
"""Colour codes (the development server colours its request lines): not for shipped logs."""


class Redactor:
    """Scrubs secrets from text: known patterns, and the exact values it is told about."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Short values would scrub ordinary words; every real secret here is long.
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(REDACTED, text)
        text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        text = _PARAMETER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
        return _QUOTED.sub(lambda m: f"{m.group(1)}{REDACTED}", text)

    def scrub(self, value: Any) -> Any:
        """`value` with every string in it scrubbed (dicts and lists walked)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(item) for item in value]
        return value


class JsonLines(JsonFormatter):
    """One JSON object per line, with the bound context, every string scrubbed."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "message": "event",
            },
        )
        self.redactor = redactor

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for name, value in log_context.current().items():
            log_data.setdefault(name, value)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        scrubbed: dict[str, Any] = self.redactor.scrub(log_data)
        event = scrubbed.get("event")
        if isinstance(event, str) and "\x1b" in event:
            scrubbed["event"] = _TERMINAL.sub("", event)
        return scrubbed


_BREAKS: Final = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


class PlainLines(logging.Formatter):
    """The human format, scrubbed the same way, one record per line: line breaks in a message
    (a path or a value someone sent) are written `\\n`, so no one can forge a line, and the
    lines of a traceback that follow are indented, so none can pass for a record."""

    def __init__(self, redactor: Redactor, fmt: str = PLAIN, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self.redactor = redactor

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _BREAKS.sub(lambda m: repr(m[0])[1:-1], record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        first, *rest = self.redactor(super().format(record)).split("\n")
        return "\n".join([first, *(line if line[:1].isspace() else "  " + line for line in rest)])


def formatter_for(
    log_format: str, *, secrets: Iterable[str] = (), plain: str = PLAIN, datefmt: str | None = None
) -> logging.Formatter:
    """The formatter of `OKRLINK_LOG_FORMAT` (`json`, or anything else for plain text in the
    `plain` format)."""
    redactor = Redactor(secrets)
    if log_format.strip().lower() == "json":
        return JsonLines(redactor)
    return PlainLines(redactor, plain, datefmt)

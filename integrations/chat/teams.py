"""Microsoft Teams Workflows webhooks ("When a Teams webhook request is received").

The flow takes a message whose `attachments` hold an Adaptive Card; it answers 202 Accepted.
Office 365 connectors (the older incoming webhooks) are retired and not supported.

Posted with the standard library's urllib rather than requests: urllib3 logs every request's
path at debug level, and a Workflows URL carries its signature (`sig=`) in the query, so the
secret would reach the log of a verbose command. One JSON POST needs nothing more.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from integrations.chat.slack import retry_after
from integrations.chat.tls import ssl_context
from integrations.errors import for_status
from sync.errors import Permanent, Transient

TIMEOUT = 15.0
USER_AGENT = "okrlink"


def post_teams(url: str, payload: Mapping[str, Any]) -> None:
    """Post one message with an Adaptive Card attachment; raises the core's errors."""
    if not url.lower().startswith(("https://", "http://")):
        raise Permanent("not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(dict(payload)).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=ssl_context()) as answer:  # noqa: S310
            answer.read()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")[:200]
        raise for_status(
            f"Teams answered {exc.code} {body}",
            status=exc.code,
            retry_after=retry_after(dict(exc.headers.items())),
        ) from exc
    except OSError as exc:  # no answer: refused, reset, timeout, TLS
        raise Transient(f"Teams did not answer: {type(exc).__name__}") from exc

"""Slack incoming webhooks, posted with slack_sdk's `WebhookClient` (Block Kit).

slack_sdk answers HTTP errors as a response (status, headers, body) rather than raising; they
are mapped here onto the core's tree: 429 is `RateLimited` with its `Retry-After`, 404 / 410
(`no_service`, `channel_is_archived`: the webhook was removed) are `Permanent`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.webhook import WebhookClient

from integrations.chat.tls import ssl_context
from integrations.errors import for_status
from sync.errors import Transient

TIMEOUT = 15
# slack_sdk logs request URLs (at debug level, and at info level when it retries); a webhook
# URL is a secret, so its logger is silenced whatever the command's verbosity, and it does
# not retry by itself: the job decides when to try again, and logs that without the URL.
_QUIET = logging.getLogger("okrlink.chat.slack_sdk")
_QUIET.setLevel(logging.CRITICAL + 1)
_QUIET.propagate = False


def retry_after(headers: Mapping[str, Any]) -> float | None:
    """Seconds from a `Retry-After` header (any case); None when absent or not a number."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def post_slack(url: str, payload: Mapping[str, Any]) -> None:
    """Post one Block Kit message; raises the core's errors on anything but 2xx."""
    client = WebhookClient(
        url, timeout=TIMEOUT, ssl=ssl_context(), logger=_QUIET, retry_handlers=[]
    )
    try:
        response = client.send_dict(dict(payload))
    except OSError as exc:  # no answer: refused, reset, timeout, TLS
        raise Transient(f"Slack did not answer: {type(exc).__name__}") from exc
    if 200 <= response.status_code < 300:
        return
    raise for_status(
        f"Slack answered {response.status_code} {str(response.body)[:200]}",
        status=response.status_code,
        retry_after=retry_after(response.headers),
    )

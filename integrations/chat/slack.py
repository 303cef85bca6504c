"""Slack incoming webhooks (Block Kit), posted through the outbound policy.

Slack answers errors as a status and a short body (`no_service`, `channel_is_archived`); they
are mapped here onto the core's tree: 429 is `RateLimited` with its `Retry-After`, 404 / 410
(the webhook was removed) are `Permanent`. Nothing here retries: the job decides when to try
again, and logs that without the URL (a webhook URL is a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.errors import for_status
from integrations.outbound import Answer, OutboundPolicy
from sync.errors import Transient

QUOTED = 200
"""Characters of an error answer's body kept in the failure's message."""


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


def failure(service: str, answer: Answer) -> Exception | None:
    """None for a 2xx answer, else the core's error it stands for."""
    if 200 <= answer.status < 300:
        return None
    body = answer.body.decode("utf-8", "replace")[:QUOTED]
    shown = "".join(c if c.isprintable() else " " for c in body)
    return for_status(
        f"{service} answered {answer.status} {shown}",
        status=answer.status,
        retry_after=retry_after(answer.headers),
    )


def post_slack(policy: OutboundPolicy, url: str, payload: Mapping[str, Any]) -> None:
    """Post one Block Kit message; raises the core's errors on anything but 2xx."""
    try:
        answer = policy.post_json(url, payload)
    except Transient as exc:
        raise Transient(f"Slack did not answer ({exc.message})") from None
    error = failure("Slack", answer)
    if error is not None:
        raise error

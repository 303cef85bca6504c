"""Microsoft Teams Workflows webhooks ("When a Teams webhook request is received").

The flow takes a message whose `attachments` hold an Adaptive Card; it answers 202 Accepted.
Office 365 connectors (the older incoming webhooks) are retired and not supported. A Workflows
URL carries its signature (`sig=`) in the query, so it is posted through the outbound policy,
whose HTTP client logs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.chat.slack import failure
from integrations.outbound import OutboundPolicy
from sync.errors import Transient


def post_teams(policy: OutboundPolicy, url: str, payload: Mapping[str, Any]) -> None:
    """Post one message with an Adaptive Card attachment; raises the core's errors."""
    try:
        answer = policy.post_json(url, payload)
    except Transient as exc:
        raise Transient(f"Teams did not answer ({exc.message})") from None
    error = failure("Teams", answer)
    if error is not None:
        raise error

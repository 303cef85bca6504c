"""Microsoft Teams Workflows webhooks ("When a Teams webhook request is received").

The flow takes a message whose `attachments` hold an Adaptive Card; it answers 202 Accepted.
Office 365 connectors (the older incoming webhooks) are retired and not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from integrations.chat.slack import retry_after
from integrations.chat.tls import ca_bundle
from integrations.errors import for_status
from sync.errors import Transient

TIMEOUT = 15.0


def post_teams(url: str, payload: Mapping[str, Any]) -> None:
    """Post one message with an Adaptive Card attachment; raises the core's errors."""
    try:
        response = requests.post(
            url, json=dict(payload), timeout=TIMEOUT, verify=ca_bundle() or True
        )
    except requests.RequestException as exc:
        raise Transient(f"Teams did not answer: {type(exc).__name__}") from exc
    if 200 <= response.status_code < 300:
        return
    raise for_status(
        f"Teams answered {response.status_code} {response.text[:200]}",
        status=response.status_code,
        retry_after=retry_after(response.headers),
    )

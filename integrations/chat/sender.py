"""The `Chat` port: one post by channel kind, through the outbound URL policy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.chat.slack import post_slack
from integrations.chat.teams import post_teams
from integrations.outbound import OutboundPolicy
from sync.errors import Permanent


class WebhookChat:
    """Posts to Slack or Teams webhooks by the channel's kind, where `policy` allows."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    def post(self, *, kind: str, url: str, payload: Mapping[str, Any]) -> None:
        if kind == "slack":
            post_slack(self.policy, url, payload)
        elif kind == "teams":
            post_teams(self.policy, url, payload)
        else:
            raise Permanent(f"unknown chat kind {kind[:20]}")

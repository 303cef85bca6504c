"""Chat webhooks: Slack incoming webhooks and Teams Workflows webhooks, behind `sync.ports.Chat`."""

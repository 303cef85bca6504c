"""Outside systems (Jira and Confluence, GitHub), each behind a small client; no Flask, and
nothing from `connect/`."""

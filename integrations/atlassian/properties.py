"""The Jira issue properties okrlink writes: their keys are contracts (JQL, the glance).

`okrlink` holds the KR document that `okrKeyResult` and friends index (descriptors' entity
properties); the glance's status property is named after the app key and the glance module.
"""

from __future__ import annotations

from typing import Final

ISSUE_PROPERTY_KEY: Final = "okrlink"
GLANCE_MODULE_KEY: Final = "okr-glance"


def glance_status_property_key(app_key: str) -> str:
    """Issue property whose value Jira shows as the status of our Connect issue glance."""
    return f"com.atlassian.jira.issue:{app_key}:{GLANCE_MODULE_KEY}:status"

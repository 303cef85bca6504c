"""The demo: embedded defaults, the example OKR file, sample events through the real pipeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sync import okrfile
from sync.engine import recompute
from sync.okrs import import_team_okrs
from sync.store import local_site

if TYPE_CHECKING:
    from flask import Flask

from connect.cli import EXAMPLE_FILE


def load_demo(app: Flask, *, base: str) -> dict[str, str]:
    """Load the example OKRs into the local site; return the URLs a person can open."""
    okrs = okrfile.load(EXAMPLE_FILE)
    with app.extensions["okrlink"].store.session() as session:
        site = local_site(session)
        report = import_team_okrs(session, site.id, okrs)
        recompute(session, site.id, report.changed_kr_ids, now=datetime.now(UTC))
    return {
        "Health": f"{base}/healthz",
        "OKRs (API)": f"{base}/api/v1/objectives?team={okrs.team}",
    }

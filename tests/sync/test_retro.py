"""`sync/retro.py`: where a retrospective's page is written, and the answer before a close."""

from __future__ import annotations

from flask import Flask

from connect.services import services_of
from sync.db.store import local_site
from sync.retro import load_retro, publish_closed_cycle, retro_target, retro_title


def test_a_pages_target_and_title_name_the_team_and_the_cycle() -> None:
    assert retro_target("PLAT", "2026-Q4") == "PLAT/2026-Q4"
    assert retro_title("PLAT", "2026-Q4") == "PLAT 2026-Q4 retrospective"


def test_publishing_a_cycle_that_was_not_closed_says_so_and_writes_nothing(app: Flask) -> None:
    jobs = services_of(app).jobs
    with jobs.store.session() as session:
        site_id = local_site(session).id
        assert load_retro(session, site_id, team="PLAT", cycle="2026-Q4") is None
    answer = publish_closed_cycle(jobs, site_id, team="PLAT", cycle="2026-Q4")
    assert answer == {"error": "PLAT has not closed 2026-Q4", "status": "failed"}

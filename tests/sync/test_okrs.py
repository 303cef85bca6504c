"""`sync/okrs.py`: imports reconcile the file's own links only; a refused import writes nothing."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from connect.services import services_of
from sync.core import okrfile
from sync.db.model import KeyResult, Link, Objective
from sync.db.store import find_kr, local_site
from sync.errors import Invalid, OkrlinkError
from sync.okrs import ImportRefused, import_team_okrs, link_work


def okr_file(issues: str) -> str:
    return f"""team: PLAT
cycle: 2026-Q4
objectives:
  - key: PLAT-1
    title: Ship the platform work that matters
    key_results:
      - key: PLAT-1.1
        title: Finish the epics of the quarter
        kind: issues
        issues: [{issues}]
"""


def links_of(app: Flask) -> list[tuple[str, str]]:
    with services_of(app).store.session() as session:
        rows = session.execute(select(Link.target_key, Link.source).order_by(Link.target_key))
        return [(key, source) for key, source in rows]


def test_a_reimport_moves_the_files_links_and_keeps_the_others(app: Flask) -> None:
    store = services_of(app).store
    with store.session() as session:
        site_id = local_site(session).id
        report = import_team_okrs(session, site_id, okrfile.parse(okr_file("PLAT-7, PLAT-8")))
        assert report.created > 0
        kr = find_kr(session, site_id, "PLAT-1.1")
        assert kr is not None
        assert link_work(session, site_id, kr, kind="jira", target="PLAT-9", source="manual")
        assert not link_work(session, site_id, kr, kind="jira", target="PLAT-9", source="manual")
    assert links_of(app) == [("PLAT-7", "file"), ("PLAT-8", "file"), ("PLAT-9", "manual")]
    with store.session() as session:
        report = import_team_okrs(session, site_id, okrfile.parse(okr_file("PLAT-8, PLAT-10")))
        kr = find_kr(session, site_id, "PLAT-1.1")
        assert kr is not None and kr.id in report.changed_kr_ids
    assert links_of(app) == [("PLAT-10", "file"), ("PLAT-8", "file"), ("PLAT-9", "manual")]


def test_an_import_with_errors_is_refused_as_invalid_and_writes_nothing(app: Flask) -> None:
    broken = okr_file("PLAT-7").replace("kind: issues", "kind: vibes")
    store = services_of(app).store
    with store.session() as session:
        site_id = local_site(session).id
        with pytest.raises((ImportRefused, okrfile.OkrFileError)) as refused:
            import_team_okrs(session, site_id, okrfile.parse(broken))
    assert isinstance(refused.value, Invalid) and isinstance(refused.value, OkrlinkError)
    assert refused.value.http_status == 422
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Objective)) == 0
        assert session.scalar(select(func.count()).select_from(KeyResult)) == 0
        assert session.scalar(select(func.count()).select_from(Link)) == 0

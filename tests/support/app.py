"""Test support for the pages served by the app: a Connect tenant, signed URLs, seeded OKRs."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import jwt
from flask import Flask

from connect.doors.atlassian_connect.connect_jwt import CONTEXT_QSH
from connect.services import services_of
from integrations.atlassian.qsh import query_string_hash
from sync.core import okrfile
from sync.core.spec import CycleSpec, KeyResultSpec, ObjectiveSpec, TeamOkrs
from sync.db.model import CheckIn, KeyResult
from sync.db.store import find_kr
from sync.engine.snapshots import recompute
from sync.okrs import import_team_okrs
from sync.tenants import record_install

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "platform.okr.yml"
SECRET = "a-shared-secret-of-at-least-32-characters-0123456789"
CLIENT_KEY = "jira:acme-client-key"
BASE = "https://acme.atlassian.net"
ACCOUNT = "557058:f00d-cafe"


def install(
    app: Flask,
    *,
    client_key: str = CLIENT_KEY,
    base_url: str = BASE,
    secret: str = SECRET,
    product: str = "jira",
) -> int:
    """Record an installation the way the lifecycle route does; returns its site id."""
    services = services_of(app)
    registry = services.tenants
    with services.store.session() as session:
        row = record_install(
            session,
            client_key=client_key,
            base_url=base_url,
            product=product,
            shared_secret=secret,
            encrypt=registry.encrypt,
        )
        site_id = row.site_id
    registry.forget(client_key)
    return site_id


def signed_url(
    path: str,
    params: dict[str, str] | None = None,
    *,
    method: str = "GET",
    client_key: str = CLIENT_KEY,
    secret: str = SECRET,
    account: str | None = ACCOUNT,
    context: bool = False,
    origin: str = "",
) -> str:
    """`path?params&jwt=…` signed as Atlassian signs an iframe URL (qsh of this request)."""
    query = urlencode(params or {})
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": client_key,
        "iat": now,
        "exp": now + 180,
        "qsh": CONTEXT_QSH if context else query_string_hash(method, path, query),
    }
    if account:
        claims["sub"] = account
    token = jwt.encode(claims, secret, algorithm="HS256")
    return f"{origin}{path}?{query + '&' if query else ''}jwt={token}"


def import_example(app: Flask, site_id: int, *, at: datetime) -> None:
    """Import examples/platform.okr.yml into the site and derive its snapshots at `at`."""
    okrs = okrfile.load(EXAMPLE)
    with services_of(app).store.session() as session:
        report = import_team_okrs(session, site_id, okrs)
        recompute(session, site_id, report.changed_kr_ids, now=at)


def import_okrs(app: Flask, site_id: int, okrs: TeamOkrs, *, at: datetime) -> None:
    with services_of(app).store.session() as session:
        report = import_team_okrs(session, site_id, okrs)
        recompute(session, site_id, report.changed_kr_ids, now=at)


def big_team(
    team: str = "PLAT", *, objectives: int = 3, krs: int = 5, cycle: CycleSpec
) -> TeamOkrs:
    """`objectives` x `krs` metric KRs (baseline 0, target 100)."""
    return TeamOkrs(
        team=team,
        cycle=cycle,
        objectives=tuple(
            ObjectiveSpec(
                key=f"{team}-{o}",
                title=f"Objective {o} of {team}",
                key_results=tuple(
                    KeyResultSpec(
                        key=f"{team}-{o}.{k}",
                        title=f"Raise measure {k} from 0 to 100",
                        baseline=0,
                        target=100,
                        unit="%",
                        owner="Owner",
                    )
                    for k in range(1, krs + 1)
                ),
            )
            for o in range(1, objectives + 1)
        ),
    )


def check_in(
    app: Flask,
    site_id: int,
    key: str,
    *,
    value: float | None,
    at: datetime,
    status: str | None = None,
    what: str = "",
) -> None:
    """A check-in stored at `at`, then the KR re-derived at that time (a history point)."""
    with services_of(app).store.session() as session:
        kr = find_kr(session, site_id, key)
        assert kr is not None
        session.add(
            CheckIn(
                site_id=site_id,
                kr_id=kr.id,
                at=at,
                author="Owner",
                value=value,
                status=status,
                what=what,
            )
        )
        if value is not None:
            kr.current = value
        kr.version += 1
        session.flush()
        recompute(session, site_id, [kr.id], now=at)


def weekly_check_ins(
    app: Flask, site_id: int, key: str, values: list[float], *, start: datetime
) -> None:
    for week, value in enumerate(values):
        check_in(app, site_id, key, value=value, at=start + timedelta(weeks=week))


def kr_row(app: Flask, site_id: int, key: str) -> KeyResult:
    with services_of(app).store.session() as session:
        kr = find_kr(session, site_id, key)
        assert kr is not None
        session.expunge(kr)
        return kr


def hidden(html: str, name: str) -> str:
    """The value of the first hidden input `name` in the page."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


def form_action(html: str, fragment: str) -> str:
    """The first form action containing `fragment`, unescaped."""
    for action in re.findall(r'<form method="post" action="([^"]*)"', html):
        if fragment in action:
            return action.replace("&amp;", "&")
    raise AssertionError(f"no form posting to {fragment}")


PANEL_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PANEL = "/confluence/macro/okr-panel"
MACRO_PARAMS = {"team": "PLAT", "cycle": "", "objective": "", "view": ""}


def panel_site(app: Flask) -> int:
    """An installed site with the example OKR file imported at `PANEL_NOW`."""
    site_id = install(app)
    import_example(app, site_id, at=PANEL_NOW)
    return site_id

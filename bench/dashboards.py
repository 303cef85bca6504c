"""One scrape of a site's OKR metrics: `python bench/dashboards.py [--database-url URL]`.

A site of 50 teams x 15 KRs (3 objectives x 5, each KR with 8 weekly check-ins carrying a
confidence) and 2 KPIs a team is scraped at `GET /api/v1/metrics` with a dashboard token,
through the app's WSGI stack (the Flask test client: token lookup, the board's version, its
two queries, the text) after a change (a KR's version bumped, as a check-in does), so each page
is made anew, then once more with nothing changed (the page kept, `connect/api/metrics.Pages`).
Prints the median and p95 of the scrapes after a change, the median of the unchanged ones, the
split between reading the board and writing the text, what prometheus_client's own encoder
takes for the same text (the reason the endpoint writes it itself, byte-identical), the page's
size, the goal (under 50 ms) and whether the median scrape after a change meets it.

Options: `--database-url` (a PostgreSQL server to make a throwaway database on; default: a
SQLite file), `--teams N` (default 50), `--rounds N` (default 40).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ itself: its scripts must not shadow packages.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from bench.throwaway import throwaway_database  # noqa: E402
from connect.api.metrics import BoardCollector, exposition  # noqa: E402
from connect.app import create_app  # noqa: E402
from connect.services import services_of  # noqa: E402
from connect.settings import Settings  # noqa: E402
from sync.core.spec import KeyResultSpec, ObjectiveSpec, TeamOkrs, quarter_of  # noqa: E402
from sync.dashboards import create_token, load_board  # noqa: E402
from sync.db.model import CheckIn, KeyResult, Kpi  # noqa: E402
from sync.db.store import get_or_create_team, local_site  # noqa: E402
from sync.engine.snapshots import recompute  # noqa: E402
from sync.okrs import import_team_okrs  # noqa: E402

SECRET_KEY = "6psvp64HLeNiL6Klyrjca93eRbamiTHUQR4cLDEyaaY="
GOAL_MS = 50.0
OBJECTIVES, KRS, WEEKS, KPIS = 3, 5, 8, 2


def team_okrs(team: str, cycle_of: datetime) -> TeamOkrs:
    return TeamOkrs(
        team=team,
        cycle=quarter_of(cycle_of.date()),
        objectives=tuple(
            ObjectiveSpec(
                key=f"{team}-{o}",
                title=f"Make deploys boring for {team} ({o})",
                key_results=tuple(
                    KeyResultSpec(
                        key=f"{team}-{o}.{k}",
                        title=f"Raise adoption of the paved road from 0 to 100% in {o}.{k}",
                        baseline=0,
                        target=100,
                        unit="%",
                        owner="Platform lead",
                    )
                    for k in range(1, KRS + 1)
                ),
            )
            for o in range(1, OBJECTIVES + 1)
        ),
    )


def seed(settings: Settings, teams: int) -> str:
    """The site's teams, check-ins and KPIs; returns a dashboard token of the site."""
    app = create_app(settings)
    services = services_of(app)
    now = datetime.now(UTC)
    cycle = quarter_of(now.date())
    start = datetime.combine(cycle.start, datetime.min.time(), tzinfo=UTC)
    with services.store.session() as session:
        site_id = local_site(session).id
        for t in range(teams):
            team = f"T{t:02d}"
            report = import_team_okrs(session, site_id, team_okrs(team, now))
            krs = session.scalars(
                select(KeyResult).where(KeyResult.id.in_(report.changed_kr_ids))
            ).all()
            for n, kr in enumerate(krs):
                for week in range(WEEKS):
                    session.add(
                        CheckIn(
                            site_id=site_id,
                            kr_id=kr.id,
                            at=start + timedelta(weeks=week, hours=10),
                            author="lead",
                            value=float(week * (3 + n % 7)),
                            what=f"Week {week}: steady progress",
                            confidence=0.5 + 0.05 * ((week + n) % 7),
                        )
                    )
                kr.current = float((WEEKS - 1) * (3 + n % 7))
            team_id = get_or_create_team(session, site_id, team).id
            for k in range(KPIS):
                session.add(
                    Kpi(
                        site_id=site_id,
                        team_id=team_id,
                        key=f"{team}-K{k + 1}",
                        title=f"Health signal {k + 1}",
                        unit="%",
                        healthy_min=10.0,
                        healthy_max=90.0,
                        current=float(5 + 40 * k),
                        health="breached" if k == 0 else "healthy",
                        reason="out_of_range" if k == 0 else None,
                    )
                )
            session.flush()
            recompute(session, site_id, report.changed_kr_ids, now=now)
        _view, token = create_token(session, site_id, name="bench", now=now)
    services.store.dispose()
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with throwaway_database(args.database_url) as url, tempfile.TemporaryDirectory() as work:
        settings = Settings(data_dir=Path(work), database_url=url, secret_key=SECRET_KEY)
        started = time.perf_counter()
        token = seed(settings, args.teams)
        krs = args.teams * OBJECTIVES * KRS
        print(
            f"database: {url.split(':', 1)[0]}; seeded {args.teams} teams x "
            f"{OBJECTIVES * KRS} KRs ({krs} KRs, {krs * WEEKS:,} check-ins) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        app = create_app(settings)
        services = services_of(app)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        scrapes, unchanged, reads, writes, client_writes = [], [], [], [], []
        size = 0
        for n in range(args.rounds + 3):
            # A change first (as a check-in bumps its KR's version), so the page is made again.
            with services.store.session() as session:
                session.execute(
                    update(KeyResult)
                    .where(KeyResult.id == 1 + n % krs)
                    .values(version=KeyResult.version + 1)
                )
            began = time.perf_counter()
            response = client.get("/api/v1/metrics", headers=headers)
            scrapes.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text
            size = len(response.data)
            began = time.perf_counter()
            again = client.get("/api/v1/metrics", headers=headers)
            unchanged.append(time.perf_counter() - began)
            assert again.data == response.data
            began = time.perf_counter()
            with services.store.session() as session:
                board = load_board(session, 1)
            reads.append(time.perf_counter() - began)
            began = time.perf_counter()
            text = exposition(board)
            writes.append(time.perf_counter() - began)
            began = time.perf_counter()
            registry = CollectorRegistry(auto_describe=False)
            registry.register(BoardCollector(board))
            assert generate_latest(registry) == text
            client_writes.append(time.perf_counter() - began)
        samples = sum(line and not line.startswith("#") for line in response.text.splitlines())
        # Warm-up: statement caches, first connections.
        del scrapes[:3], unchanged[:3], reads[:3], writes[:3], client_writes[:3]
        services.store.dispose()
    median = statistics.median(scrapes) * 1000
    p95 = sorted(scrapes)[int(len(scrapes) * 0.95) - 1] * 1000
    print(f"page: {size / 1024:.0f} KiB, {samples:,} samples")
    print(
        f"  of which reading the board {statistics.median(reads) * 1000:.1f} ms, "
        f"writing the text {statistics.median(writes) * 1000:.1f} ms (medians); "
        f"prometheus_client's generate_latest for the same text: "
        f"{statistics.median(client_writes) * 1000:.1f} ms"
    )
    print(
        f"a scrape with nothing changed since the last (the page kept): median "
        f"{statistics.median(unchanged) * 1000:.1f} ms"
    )
    verdict = "meets" if median < GOAL_MS else "misses"
    print(
        f"one scrape after a change: median {median:.1f} ms, p95 {p95:.1f} ms; "
        f"goal < {GOAL_MS:.0f} ms: {verdict}"
    )


if __name__ == "__main__":
    main()

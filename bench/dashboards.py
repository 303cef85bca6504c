"""One scrape of a site's OKR metrics: `python bench/dashboards.py [--database-url URL]`.

A site of 50 teams x 15 KRs (3 objectives x 5, each KR with 8 weekly check-ins carrying a
confidence) and 2 KPIs a team is scraped at `GET /api/v1/metrics` with a dashboard token,
through the app's WSGI stack (the Flask test client: token lookup, the teams' versions, the
moved team's two queries, the text) after a change (a KR's version bumped, as a check-in does),
so the changed team's part of the page is made anew, then once more with nothing changed (the
page kept, `connect/api/metrics.Pages`). Runs on SQLite, then on PostgreSQL when
`--database-url` names a server. For each it prints the median and p95 of the scrapes after a
change and with nothing changed, each beside the goal (under 50 ms, `bench/goals.py`) with
"meets" or "misses"; the split of reading the whole board and writing its whole text (a
process's first scrape); what prometheus_client's own encoder takes for the same text (the
reason the endpoint writes it itself, byte-identical); the page's size.

The PostgreSQL database is analysed after the seed, as autovacuum does after a load of this
size: a table the planner holds for empty is planned as one, which no running site meets.

Options: `--database-url` (a PostgreSQL server to make a throwaway database on, besides the
SQLite file), `--teams N` (default 50), `--rounds N` (default 40).
"""

from __future__ import annotations

import argparse
import os
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
from sqlalchemy import select, text, update  # noqa: E402

from bench import goals  # noqa: E402
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
    if services.store.engine.dialect.name == "postgresql":
        with services.store.engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    services.store.dispose()
    return token


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def p95_ms(seconds: list[float]) -> float:
    return sorted(seconds)[max(int(len(seconds) * 0.95) - 1, 0)] * 1000


def measure(server_url: str, teams: int, rounds: int) -> None:
    """Seed a throwaway database on `server_url` (SQLite when empty), scrape, print."""
    with throwaway_database(server_url) as url, tempfile.TemporaryDirectory() as work:
        settings = Settings(data_dir=Path(work), database_url=url, secret_key=SECRET_KEY)
        started = time.perf_counter()
        token = seed(settings, teams)
        krs = teams * OBJECTIVES * KRS
        database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(
            f"{database}: seeded {teams} teams x {OBJECTIVES * KRS} KRs ({krs} KRs, "
            f"{krs * WEEKS:,} check-ins) in {time.perf_counter() - started:.1f} s"
        )
        app = create_app(settings)
        services = services_of(app)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        scrapes: list[float] = []
        unchanged: list[float] = []
        reads: list[float] = []
        writes: list[float] = []
        client_writes: list[float] = []
        size = 0
        for n in range(rounds + 3):
            # A change first (as a check-in bumps its KR's version), so a part is made again.
            with services.store.session() as session:
                session.execute(
                    update(KeyResult)
                    .where(KeyResult.id == 1 + (n * 37) % krs)
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
            page = exposition(board)
            writes.append(time.perf_counter() - began)
            # The page made of kept parts is the page made whole.
            assert page == response.data
            began = time.perf_counter()
            registry = CollectorRegistry(auto_describe=False)
            registry.register(BoardCollector(board))
            assert generate_latest(registry) == page
            client_writes.append(time.perf_counter() - began)
        samples = sum(line and not line.startswith("#") for line in response.text.splitlines())
        # Warm-up: statement caches, first connections, every team's first part.
        for series in (scrapes, unchanged, reads, writes, client_writes):
            del series[:3]
        services.store.dispose()
    print(f"  page: {size / 1024:.0f} KiB, {samples:,} samples")
    print(
        f"  the whole site (a process's first scrape): reading the board "
        f"{median_ms(reads):.1f} ms, writing the text {median_ms(writes):.1f} ms (medians); "
        f"prometheus_client's generate_latest for the same text: "
        f"{median_ms(client_writes):.1f} ms"
    )
    for what, seconds in (
        ("one scrape after a change (the changed team's part made anew)", scrapes),
        ("one scrape with nothing changed (the page kept)", unchanged),
    ):
        median = median_ms(seconds)
        print(
            f"  {database}, {teams} teams x {OBJECTIVES * KRS} KRs, {what}: median "
            f"{median:.1f} ms, p95 {p95_ms(seconds):.1f} ms; goal {goals.dashboard_goal()}: "
            f"{goals.verdict(goals.dashboard_met(median))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    one, five, fifteen = os.getloadavg()
    print(f"load average (1 / 5 / 15 min) before: {one:.1f} / {five:.1f} / {fifteen:.1f}")
    measure("", args.teams, args.rounds)
    if args.database_url:
        measure(args.database_url, args.teams, args.rounds)
    one, five, fifteen = os.getloadavg()
    print(f"load average (1 / 5 / 15 min) after: {one:.1f} / {five:.1f} / {fifteen:.1f}")


if __name__ == "__main__":
    main()

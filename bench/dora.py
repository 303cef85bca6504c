"""DORA benchmark: re-measure the four keys after one new deployment status.

    python bench/dora.py [--database-url URL] [--repos 50] [--per-day 2] [--rounds 60]

Seeds a site with a year of deployments (each repository deploys `--per-day` times a day, one
in ten fails, one merged PR per deployment, each PR paired with the deployment that shipped it
as the 0010 upgrade pairs history) and, beside it, a site with a quarter of the same;
then, round after round, records one new deployment status as the webhook handler does and
times each KPI's re-measure (one per DORA key, over every repository) and the whole handler
(store the status, re-measure the KPIs, re-derive the DORA KRs). A value reads its rolling
window (and a week before it), so the year-long site should cost what the quarter costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from bench.throwaway import throwaway_database
from sync.apply.deployments import record_deployment
from sync.core.dora import KEYS
from sync.db.model import (
    Cycle,
    Deployment,
    GitHubInstallation,
    KeyResult,
    Kpi,
    Objective,
    PullRequest,
    Site,
    Team,
)
from sync.db.store import Store
from sync.dora.changes import rebuild
from sync.dora.remeasure import remeasure
from sync.engine.snapshots import recompute
from sync.kpis import measured, record_value

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def seed(store: Store, *, name: str, installation: int, days: int, repos: int, per_day: int) -> int:
    """A site whose installation deployed `per_day` times a day to each repository."""
    with store.session() as session:
        site = Site(name=name, host=f"{name}.example")
        session.add(site)
        session.flush()
        team = Team(site_id=site.id, key="PLAT", name="PLAT")
        cycle = Cycle(
            site_id=site.id, name="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31)
        )
        session.add_all([team, cycle])
        session.flush()
        objective = Objective(
            site_id=site.id,
            team_id=team.id,
            cycle_id=cycle.id,
            key="PLAT-1",
            title="Ship small changes safely",
        )
        session.add(objective)
        session.add(GitHubInstallation(installation_id=installation, site_id=site.id))
        session.flush()
        for n, key in enumerate(KEYS, start=1):
            session.add(
                Kpi(
                    site_id=site.id,
                    team_id=team.id,
                    key=f"PLAT-K{n}",
                    title=key,
                    kind="github",
                    measure=key,
                    healthy_max=1000,
                    position=n,
                )
            )
            session.add(
                KeyResult(
                    site_id=site.id,
                    cycle_id=cycle.id,
                    objective_id=objective.id,
                    key=f"PLAT-1.{n}",
                    title=key,
                    kind="github",
                    measure=key,
                    baseline=100,
                    target=1,
                    position=n,
                )
            )
        deployments, pulls = [], []
        number = 0
        for day in range(days):
            for repo in range(repos):
                for slot in range(per_day):
                    number += 1
                    created = NOW - timedelta(days=day, hours=2 + slot * 5, minutes=repo % 60)
                    failed = number % 10 == 0
                    deployments.append(
                        {
                            "site_id": site.id,
                            "installation_id": installation,
                            "deployment_id": number,
                            "repo": f"acme/repo-{repo}",
                            "sha": f"{number:040x}",
                            "ref": "main",
                            "environment": "production",
                            "created_at": created,
                            "succeeded_at": None if failed else created + timedelta(minutes=4),
                            "failed_at": created + timedelta(minutes=4) if failed else None,
                        }
                    )
                    pulls.append(
                        {
                            "site_id": site.id,
                            "installation_id": installation,
                            "repo": f"acme/repo-{repo}",
                            "number": number,
                            "ref": f"acme/repo-{repo}#{number}",
                            "state": "closed",
                            "merged": True,
                            "opened_at": created - timedelta(hours=20 + number % 30),
                            "merged_at": created - timedelta(minutes=30),
                            "updated_at": created - timedelta(minutes=30),
                            "branch": f"change-{number}",
                        }
                    )
        for start in range(0, len(deployments), 5000):
            session.execute(insert(Deployment), deployments[start : start + 5000])
            session.execute(insert(PullRequest), pulls[start : start + 5000])
        # Rows inserted in bulk skip the handlers: pair them as the migration pairs history.
        rebuild(session, installation)
        return site.id


def one_status(store: Store, site_id: int, installation: int, n: int) -> tuple[list[float], float]:
    """Record one new deployment status; time each KPI's re-measure, then the whole handler."""
    at = NOW + timedelta(seconds=n)
    deployment = {
        "id": 10_000_000 + n,
        "repo": "acme/repo-0",
        "sha": "f" * 40,
        "ref": "main",
        "environment": "production",
        "created_at": at.isoformat(),
    }
    status = {"id": 20_000_000 + n, "state": "success", "at": at.isoformat()}
    per_kpi: list[float] = []
    with store.session() as session:
        record_deployment(
            session,
            installation_id=installation,
            site_id=site_id,
            deployment=deployment,
            status=status,
        )
        for kpi in session.scalars(select(Kpi).where(Kpi.site_id == site_id)):
            started = time.perf_counter()
            record_value(session, kpi, measured(session, kpi, now=at), now=at)
            per_kpi.append(time.perf_counter() - started)
        session.rollback()
    started = time.perf_counter()
    with store.session() as session:
        record_deployment(
            session,
            installation_id=installation,
            site_id=site_id,
            deployment=deployment,
            status=status,
        )
        recompute(session, site_id, remeasure(session, site_id, now=at), now=at)
    return per_kpi, time.perf_counter() - started


def report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    print(
        f"{label:62} median {statistics.median(samples) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--per-day", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with throwaway_database(args.database_url) as url:
        store = Store.connect(url)
        store.migrate()
        print(f"database: {store.engine.dialect.name}")
        sites = {}
        for name, days, installation in (("year", 365, 1), ("quarter", 90, 2)):
            started = time.perf_counter()
            sites[name] = (
                seed(
                    store,
                    name=name,
                    installation=installation,
                    days=days,
                    repos=args.repos,
                    per_day=args.per_day,
                ),
                installation,
            )
            total = days * args.repos * args.per_day
            took = time.perf_counter() - started
            print(
                f"seeded {name}: {total:,} deployments and {total:,} merged PRs over "
                f"{args.repos} repositories in {took:.1f} s"
            )
        for name, (site_id, installation) in sites.items():
            one_status(store, site_id, installation, 0)  # warm up
            rounds = [one_status(store, site_id, installation, n) for n in range(1, args.rounds)]
            for index, key in enumerate(KEYS):
                report(f"{name}: re-measure KPI {key}", [r[0][index] for r in rounds])
            report(f"{name}: whole handler (store, 4 KPIs, 4 DORA KRs)", [r[1] for r in rounds])
        store.dispose()


if __name__ == "__main__":
    main()

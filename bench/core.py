"""Core benchmark: recompute one KR after one linked issue changes, and import a large file.

    python bench/core.py [--database-url URL] [--issues 100000] [--krs 500]

Prints the median and p95 time to apply one issue change and re-derive the KR it touches, for a
tenant with N linked issues over M KRs (and for a tenant a tenth that size, to show the cost does
not grow with the tenant), and the time to import an OKR file of 100 objectives.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, update

from bench.throwaway import throwaway_database
from sync.core import okrfile
from sync.core.spec import CycleSpec, KeyResultSpec, ObjectiveSpec, TeamOkrs
from sync.db.model import Cycle, KeyResult, Link, Objective, Site, Team, WorkItem
from sync.db.store import Store
from sync.engine.snapshots import krs_linked_to, recompute
from sync.okrs import import_team_okrs

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def seed(store: Store, *, site_name: str, issues: int, krs: int) -> tuple[int, list[str]]:
    """A site with `krs` issues KRs, each linked to one epic whose children are its issues."""
    per_kr = issues // krs
    with store.session() as session:
        site = Site(name=site_name, host=f"{site_name}.example")
        session.add(site)
        session.flush()
        team = Team(site_id=site.id, key="PLAT", name="PLAT")
        cycle = Cycle(
            site_id=site.id, name="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31)
        )
        session.add_all([team, cycle])
        session.flush()
        objective = Objective(
            site_id=site.id, team_id=team.id, cycle_id=cycle.id, key="PLAT-1", title="t"
        )
        session.add(objective)
        session.flush()
        session.execute(
            insert(KeyResult),
            [
                {
                    "site_id": site.id,
                    "cycle_id": cycle.id,
                    "objective_id": objective.id,
                    "key": f"PLAT-1.{n}",
                    "title": f"KR {n}",
                    "kind": "issues",
                    "position": n,
                }
                for n in range(krs)
            ],
        )
        kr_ids = session.scalars(select(KeyResult.id).where(KeyResult.site_id == site.id)).all()
        session.execute(
            insert(Link),
            [
                {
                    "site_id": site.id,
                    "kr_id": kr_id,
                    "target_kind": "jira",
                    "target_key": f"EPIC-{n}",
                    "source": "api",
                }
                for n, kr_id in enumerate(kr_ids)
            ],
        )
        rows = []
        for n in range(krs):
            for m in range(per_kr):
                rows.append(
                    {
                        "site_id": site.id,
                        "key": f"P{n}-{m}",
                        "issue_type": "Story",
                        "status_category": "done" if m % 3 == 0 else "indeterminate",
                        "parent_key": f"EPIC-{n}",
                        "story_points": float(m % 5 + 1),
                        "summary": "",
                        "labels": [],
                        "deleted": False,
                    }
                )
            if len(rows) >= 20_000:
                session.execute(insert(WorkItem), rows)
                rows = []
        if rows:
            session.execute(insert(WorkItem), rows)
        recompute(session, site.id, kr_ids, now=NOW)
        return site.id, [f"P{n}-{0}" for n in range(krs)]


def time_changes(store: Store, site_id: int, keys: list[str], rounds: int) -> list[float]:
    """Apply one status change to one issue and re-derive the KRs it touches, per round."""
    samples = []
    for i in range(rounds):
        key = keys[i % len(keys)]
        category = "done" if i % 2 else "indeterminate"
        started = time.perf_counter()
        with store.session() as session:
            parent = (
                session.connection()
                .execute(
                    update(WorkItem.__table__)
                    .where(WorkItem.__table__.c.site_id == site_id, WorkItem.__table__.c.key == key)
                    .values(status_category=category)
                    .returning(WorkItem.__table__.c.parent_key)
                )
                .scalar_one()
            )
            touched = krs_linked_to(session, site_id, {key, parent})
            recompute(session, site_id, touched, now=NOW)
        samples.append(time.perf_counter() - started)
    return samples


def big_file(objectives: int) -> TeamOkrs:
    return TeamOkrs(
        team="BIG",
        cycle=CycleSpec(name="2026-Q4", start=date(2026, 10, 1), end=date(2026, 12, 31)),
        objectives=tuple(
            ObjectiveSpec(
                key=f"BIG-{o}",
                title=f"Objective {o}",
                key_results=tuple(
                    KeyResultSpec(
                        key=f"BIG-{o}.{k}",
                        title=f"Cut p99 latency from {900 - k} to 300 ms",
                        baseline=900.0 - k,
                        target=300.0,
                        unit="ms",
                        owner="Team lead",
                    )
                    for k in range(1, 5)
                ),
            )
            for o in range(1, objectives + 1)
        ),
    )


def report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{label:58} median {statistics.median(samples) * 1000:7.3f} ms   p95 {p95 * 1000:7.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--krs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    with throwaway_database(args.database_url) as url:
        store = Store.connect(url)
        store.migrate()
        print(f"database: {store.engine.dialect.name}")
        started = time.perf_counter()
        big_site, big_keys = seed(store, site_name="big", issues=args.issues, krs=args.krs)
        print(
            f"seeded {args.issues:,} linked issues over {args.krs} KRs "
            f"in {time.perf_counter() - started:.1f} s"
        )
        small_site, small_keys = seed(
            store, site_name="small", issues=args.issues // 10, krs=args.krs // 10
        )
        time_changes(store, big_site, big_keys, 20)  # warm up
        report(
            f"recompute after one issue change ({args.issues:,} issues)",
            time_changes(store, big_site, big_keys, args.rounds),
        )
        report(
            f"recompute after one issue change ({args.issues // 10:,} issues)",
            time_changes(store, small_site, small_keys, args.rounds),
        )
        okrs = big_file(100)
        text = okrfile.dump(okrs)
        with store.session() as session:
            site = Site(name="import", host="import.example")
            session.add(site)
            session.flush()
            site_id = site.id
        for attempt in ("first import", "re-import (no change)"):
            started = time.perf_counter()
            parsed = okrfile.parse(text)
            with store.session() as session:
                import_team_okrs(session, site_id, parsed)
            print(
                f"{attempt} of a 100-objective file (400 KRs): "
                f"{(time.perf_counter() - started) * 1000:8.1f} ms"
            )
        store.dispose()


if __name__ == "__main__":
    main()

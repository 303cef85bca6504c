"""Faults on a real deployment: ``python bench/faults.py [EVENTS]`` (default 2,000).

Two okrlink web processes (gunicorn, 2 sync workers each) and two `okrlink worker` processes
share one PostgreSQL and one Redis (replicas, as in production). A stream of signed Jira events
goes to both web processes, as Jira sends it (a delivery that fails is sent again). During the
stream: one worker is killed with SIGKILL (and started again), one gunicorn worker is killed
with SIGKILL, PostgreSQL is restarted, Redis is restarted (its queue is lost: no persistence).

Printed: acknowledged events, redeliveries the faults caused, events recorded (lost =
acknowledged but never recorded or never applied, duplicated = recorded twice), KRs and issue
properties that differ from the truth computed from the final issue states, and the seconds
from the last acknowledged event until everything matched it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

from sqlalchemy import select  # noqa: E402

from sync.db.model import InboxEvent  # noqa: E402
from sync.db.store import Store  # noqa: E402
from tests.support.faults import (  # noqa: E402
    Postgres,
    Redis,
    deployment,
    make_stream,
    send,
    wait_until_converged,
)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    postgres, redis = Postgres(), Redis()
    try:
        with deployment(postgres.url, redis.url) as cluster:
            ports = [cluster.start_web(workers=2), cluster.start_web(workers=2)]
            first = cluster.start_worker()
            cluster.start_worker()
            events = make_stream(cluster.plan, count)
            cut = [int(count * share) for share in (0.2, 0.35, 0.5, 0.65, 0.8)]
            retried = send(ports, events[: cut[0]], cluster.plan)
            cluster.kill_worker(first)
            print(f"{cut[0]:>6} events: SIGKILL okrlink worker {first.pid}")
            retried += send(ports, events[cut[0] : cut[1]], cluster.plan)
            cluster.start_worker()
            victim = cluster.kill_web_worker(cluster.webs[0][0])
            print(f"{cut[1]:>6} events: worker started again; SIGKILL gunicorn worker {victim}")
            retried += send(ports, events[cut[1] : cut[2]], cluster.plan)
            began = time.monotonic()
            postgres.restart()
            print(
                f"{cut[2]:>6} events: PostgreSQL restarted ({time.monotonic() - began:.1f} s down)"
            )
            retried += send(ports, events[cut[2] : cut[3]], cluster.plan)
            redis.restart()
            print(f"{cut[3]:>6} events: Redis restarted (its queued tasks are gone)")
            retried += send(ports, events[cut[3] :], cluster.plan)
            store = Store.connect(postgres.url)
            seconds, found = wait_until_converged(
                store, cluster.jira, cluster.plan, events, timeout=300
            )
            with store.session() as session:
                recorded = set(session.scalars(select(InboxEvent.delivery_id)))
            store.dispose()
            missing = [n for n, event in enumerate(events) if event.delivery not in recorded]
            if missing:
                print(f"never recorded (their place in the stream): {missing[:20]}")
            deliveries = len({event.delivery for event in events})
            print(f"acknowledged: {deliveries} events ({retried} redeliveries after faults)")
            print(
                f"recorded: {found.recorded}; lost: {deliveries - found.distinct}; "
                f"duplicated: {found.recorded - found.distinct}; "
                f"still pending: {found.pending}; parked: {found.failed}"
            )
            print(
                f"KRs differing from the truth: {len(found.kr_mismatches)}; "
                f"issue properties differing: {len(found.property_mismatches)}"
            )
            state = "converged" if found.converged else "NOT converged"
            print(f"last change visible {seconds:.1f} s after the last event ({state})")
    finally:
        redis.close()
        postgres.close()


if __name__ == "__main__":
    main()

"""A killed worker loses nothing and holds nothing: a real deployment (gunicorn, a separate
`okrlink worker`, PostgreSQL, Redis) takes a stream of signed Jira events while its worker is
killed with SIGKILL mid-stream and one web worker is killed too. Every event is applied once,
every KR and every issue property equals the truth computed from the events, and the last
change shows within 5 s of the last event: the new worker takes the dead one's drain lease at
once (with a lock that outlived its holder, events waited for the once-a-minute sweeper).

The long version, with both servers restarted and replicas, is `bench/faults.py`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from sync.db.store import Store
from tests.support.faults import deployment, make_stream, send, verdict, wait_until_converged
from tests.support.servers import redis_server

EVENTS = 300


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    """A database of its own on the session's server (the app fixtures empty theirs)."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS okrlink_faults WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE okrlink_faults"))
    yield postgres_url.rsplit("/", 1)[0] + "/okrlink_faults"
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS okrlink_faults WITH (FORCE)"))
    admin.dispose()


def test_a_worker_killed_mid_stream_loses_nothing_and_its_lease_is_taken_over(
    database_url: str,
) -> None:
    with redis_server() as queue_url, deployment(database_url, queue_url) as cluster:
        port = cluster.start_web(workers=2)
        web = cluster.webs[0][0]
        worker = cluster.start_worker()
        events = make_stream(cluster.plan, EVENTS)
        third = EVENTS // 3
        send([port], events[:third], cluster.plan)
        cluster.kill_worker(worker)  # mid-stream, most likely inside a drain: no cleanup
        cluster.kill_web_worker(web)  # gunicorn starts another; Jira redelivers what failed
        send([port], events[third : 2 * third], cluster.plan)  # acknowledged, queued, waiting
        cluster.start_worker()
        send([port], events[2 * third :], cluster.plan)
        store = Store.connect(database_url)
        try:
            seconds, found = wait_until_converged(
                store, cluster.jira, cluster.plan, events, timeout=60
            )
            assert found.converged, found
            assert seconds < 5, f"the last change showed {seconds:.1f} s after the last event"
            deliveries = len({event.delivery for event in events})
            assert found.recorded == found.distinct == deliveries  # 0 lost, 0 duplicated

            send([port], events[:20], cluster.plan)  # Jira redelivers some: nothing changes
            again = verdict(store, cluster.jira, cluster.plan, events)
            assert again.recorded == deliveries and again.converged
        finally:
            store.dispose()

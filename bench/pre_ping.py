"""What `pool_pre_ping` costs on the hot paths, and what it saves after a restart:
``python bench/pre_ping.py``.

On a throwaway PostgreSQL over loopback, with and without the pre-ping:
1. the webhook intake's unit of work (check a connection out, one autocommit INSERT into the
   inbox, give it back), median and p99 in microseconds;
2. a worker's smallest unit of work (a session reading the pending events of a site).
`python bench/pre_ping.py 500` runs fewer rounds.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

from sqlalchemy import select  # noqa: E402

from sync.db.model import InboxEvent, utcnow  # noqa: E402
from sync.db.store import Store  # noqa: E402
from sync.engine.inbox import insert_event  # noqa: E402
from tests.support.servers import postgres_server  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000


def _row(n: int) -> dict[str, object]:
    return {
        "source": "jira",
        "scope": "bench",
        "delivery_id": f"d-{n}-{time.monotonic_ns()}",
        "site_id": None,
        "event": "jira_issue",
        "payload": {"key": "PLAT-1"},
        "state": "pending",
        "attempts": 0,
        "received_at": utcnow(),
    }


def _timed(action: object, rounds: int = ROUNDS) -> tuple[float, float]:
    samples = []
    for n in range(rounds):
        began = time.perf_counter()
        action(n)  # type: ignore[operator]
        samples.append((time.perf_counter() - began) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def _pending(store: Store) -> None:
    with store.session() as session:
        session.scalars(select(InboxEvent.id).where(InboxEvent.state == "pending").limit(500))


def main() -> None:
    with postgres_server() as url:
        Store.connect(url).migrate()
        print(f"PostgreSQL over loopback, {ROUNDS} rounds each; microseconds (median / p99)")
        for pre_ping in (False, True):
            store = Store.connect(url, pre_ping=pre_ping)
            _timed(lambda n, s=store: insert_event(s, _row(n)), 300)  # warm the pool
            intake = _timed(lambda n, s=store: insert_event(s, _row(n)))
            worker = _timed(lambda n, s=store: _pending(s))
            label = "pre-ping" if pre_ping else "no ping "
            print(
                f"  {label}: intake INSERT {intake[0]:6.0f} / {intake[1]:6.0f}   "
                f"worker read {worker[0]:6.0f} / {worker[1]:6.0f}"
            )
            store.dispose()


if __name__ == "__main__":
    main()

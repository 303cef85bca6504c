"""Links from a KR to work, reconciled by source: the one place a source's links are made to
match what it says now.

A link carries the source that made it (`file`: an OKR file; `label`: a `kr-<key>` Jira label;
`description`: a `KR: <key>` line of an Asana task; `manual`, ...). A source reconciles only
its own links, within one scope: one KR's links from an OKR file, or one work item's links
from its labels or description. Links made elsewhere stay.
"""

from __future__ import annotations

from collections.abc import Set

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.db.model import Link
from sync.db.upsert import insert_ignore

UNIQUE = ("kr_id", "target_kind", "target_key", "source")


def reconcile_links(
    session: Session,
    site_id: int,
    *,
    source: str,
    target_kind: str,
    wanted: Set[tuple[int, str]],
    kr_id: int | None = None,
    target_key: str | None = None,
    have: Set[tuple[int, str]] | None = None,
) -> set[tuple[int, str]]:
    """Make `source`'s links within the scope (one `kr_id`, or one `target_key`) equal to
    `wanted`, as (KR id, target key) pairs; returns the pairs added or removed.

    `have`: the scope's current links when the caller read them already (a batch), else read.
    """
    if (kr_id is None) == (target_key is None):
        raise ValueError("reconcile one KR's links or one target's, not both")
    scope = [Link.site_id == site_id, Link.source == source, Link.target_kind == target_kind]
    scope.append(Link.kr_id == kr_id if kr_id is not None else Link.target_key == target_key)
    if have is None:
        rows = session.execute(select(Link.kr_id, Link.target_key).where(*scope))
        have = {(kr, key) for kr, key in rows}
    gone = set(have) - set(wanted)
    if gone:
        varying = (
            Link.target_key.in_({key for _kr, key in gone})
            if kr_id is not None
            else Link.kr_id.in_({kr for kr, _key in gone})
        )
        session.execute(delete(Link).where(*scope, varying))
    added = set(wanted) - set(have)
    insert_ignore(
        session,
        Link,
        [
            {
                "site_id": site_id,
                "kr_id": kr,
                "target_kind": target_kind,
                "target_key": key,
                "source": source,
            }
            for kr, key in sorted(added)
        ],
        UNIQUE,
    )
    return gone | added

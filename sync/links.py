"""Linking work to a KR, the same from every door (REST API, Jira issue panel, OKR file)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.apply.jira import plan_property_write
from sync.model import KeyResult, Link

LinkHook = Callable[[Session, int, KeyResult, str, str], None]
"""Runs when a link is added: (session, site id, KR, kind, target); fetches the linked work."""


def link_work(session: Session, site_id: int, kr: KeyResult, *, kind: str, target: str,
              source: str, on_link: LinkHook | None = None) -> bool:  # fmt: skip
    """Add the link unless this source made it already; returns whether it was added.

    A new link runs `on_link` (the Jira sync fetches an epic's children then).
    """
    exists = session.scalar(
        select(Link.id).where(
            Link.kr_id == kr.id,
            Link.target_kind == kind,
            Link.target_key == target,
            Link.source == source,
        )
    )
    if exists:
        return False
    session.add(
        Link(site_id=site_id, kr_id=kr.id, target_kind=kind, target_key=target, source=source)
    )
    session.flush()
    if on_link is not None:
        on_link(session, site_id, kr, kind, target)
    return True


def unlink_work(session: Session, site_id: int, kr: KeyResult, *, target: str, now: datetime,
                kinds: tuple[str, ...] = ("jira", "github")) -> bool:  # fmt: skip
    """Remove every link from the KR to the target; returns whether any existed.

    An unlinked Jira issue no longer shows this KR, so its property is rewritten.
    """
    links = session.scalars(
        select(Link).where(
            Link.kr_id == kr.id, Link.target_key == target, Link.target_kind.in_(kinds)
        )
    ).all()
    for link in links:
        session.delete(link)
    session.flush()
    if any(link.target_kind == "jira" for link in links):
        plan_property_write(session, site_id, target, now=now)
    return bool(links)

"""A team of 3 objectives x 5 KRs, imported into a site, for the digest's tests and benches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sync.core import okrfile
from sync.engine.snapshots import recompute
from sync.okrs import import_team_okrs


def team_file(team: str = "PLAT", *, objectives: int = 3, krs: int = 5) -> str:
    """An OKR file whose KRs are owned by three people and measured from 0 to 100."""
    lines = [f"team: {team}", "cycle: 2026-Q4", "objectives:"]
    for o in range(1, objectives + 1):
        lines += [
            f"  - key: {team}-{o}",
            f"    title: Objective {o} of the team",
            "    key_results:",
        ]
        for k in range(1, krs + 1):
            lines += [
                f"      - key: {team}-{o}.{k}",
                f"        title: Raise measure {o}.{k} from 0 to 100",
                "        kind: metric",
                "        baseline: 0",
                "        target: 100",
                f"        current: {10 * k}",
                f"        owner: Owner {k % 3}",
            ]
    return "\n".join(lines) + "\n"


def import_team(session: Session, site_id: int, *, now: datetime, team: str = "PLAT") -> None:
    report = import_team_okrs(session, site_id, okrfile.parse(team_file(team)))
    recompute(session, site_id, report.changed_kr_ids, now=now)

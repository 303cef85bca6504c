"""Screenshots of KPIs and DORA key results: `python bench/screenshots_dora.py`.

Loads the demo as it stood on 2026-10-24, at the end of its bad week of deployments (the
change failure rate KPI is breached), and writes with headless Chromium from Debian
`bench/screenshots/panel-kpi-breached.png` (the Confluence panel: the health strip above the
objectives, the DORA KRs PLAT-1.3 and PLAT-1.5) and `project-page-dora.png` (the Jira
project page, the same strip above the check-in forms).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ itself: its scripts must not shadow packages (a bench/github.py would hide PyGithub).
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.screenshots import take  # noqa: E402
from connect.demo.dora import ReplayClock  # noqa: E402
from sync.ports import Ports  # noqa: E402

BAD_WEEK_END = datetime(2026, 10, 24, 12, tzinfo=UTC)
SHOTS = (
    ("panel-kpi-breached.png", "Confluence OKR panel", 760),
    ("project-page-dora.png", "Jira project page (check-ins)", 960),
)


def main() -> None:
    take(SHOTS, ports=Ports(clock=ReplayClock(BAD_WEEK_END)))


if __name__ == "__main__":
    main()

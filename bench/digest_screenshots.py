"""The demo team's weekly digest as Slack and Teams show it: `python bench/digest_screenshots.py`.

Loads the demo into a throwaway SQLite database, builds PLAT's digest of the week ending now,
renders it as the Block Kit message and the Adaptive Card that would be posted (English and
French), lays each out as HTML the way Slack and Teams show them (`connect/chat/preview.py`)
and writes, with headless Chromium from Debian, `bench/screenshots/digest-slack-en.png`,
`digest-slack-fr.png`, `digest-teams-en.png` and `digest-teams-fr.png`. It prints each
payload's size against Slack's limits (50 blocks, 3,000 characters per text).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from connect.services import services_of

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from connect.chat.digest import render  # noqa: E402
from connect.chat.preview import page  # noqa: E402
from connect.demo.seed import load_demo, open_demo  # noqa: E402
from connect.settings import Settings  # noqa: E402
from sync.db.store import find_site  # noqa: E402
from sync.digest import load_digest  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from screenshots import OUT, browser, shoot  # noqa: E402

WIDTH = 820
SITE = "okrlink-demo.atlassian.net"


def texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["text"]] if isinstance(value.get("text"), str) else []
        return own + [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="okrlink-digest-"))
    profile = tempfile.mkdtemp(prefix="okrlink-chromium-")
    app = open_demo(Settings(data_dir=work, dev=True, queue_immediate=True))
    services = services_of(app)
    driver = browser(profile)
    try:
        load_demo(app, base="http://127.0.0.1:8080")
        now = services.jobs.ports.clock.now()
        year, week, _ = now.isocalendar()
        with services.store.session() as session:
            site_id = find_site(session, SITE).id
            digest = load_digest(
                session,
                site_id,
                "PLAT",
                end=now,
                week=f"{year}-W{week:02d}",
                links=services.digest.links(site_id, "PLAT"),
            )
        assert digest is not None
        OUT.mkdir(parents=True, exist_ok=True)
        for kind in ("slack", "teams"):
            for lang in ("en", "fr"):
                message = dict(render(digest, kind, lang))
                html = work / f"digest-{kind}-{lang}.html"
                html.write_text(page([(kind, message)], title=f"{kind} {lang}"), "utf-8")
                shot = OUT / f"digest-{kind}-{lang}.png"
                shoot(driver, html.as_uri(), shot, WIDTH)
                size = len(json.dumps(message, ensure_ascii=False).encode())
                if kind == "slack":
                    longest = max(len(t) for t in texts(message["blocks"]))
                    detail = f"{len(message['blocks'])} blocks, longest text {longest} chars"
                else:
                    card = message["attachments"][0]["content"]
                    detail = f"{len(card['body'])} card elements"
                print(f"{shot.relative_to(ROOT)}: {kind} {lang}, {size} bytes, {detail}")
    finally:
        driver.quit()
        services.store.dispose()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

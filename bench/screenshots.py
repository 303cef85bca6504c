"""Screenshots of the pages as people see them: `python bench/screenshots.py`.

Loads the demo (example OKRs, check-ins, sample Jira and GitHub events) into a throwaway
SQLite database, serves the app on loopback and writes, with headless Chromium from Debian,
`bench/screenshots/panel-full.png`, `panel-compact.png` and `jira-issue-panel.png`, each at
the width of the place it lives in (a Confluence page column, the Jira issue side panel).
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

from connect.services import services_of

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:  # said plainly, not as a traceback: the extra names what to install
    sys.exit(
        "bench/screenshots.py needs selenium: .venv/bin/pip install -e '.[screenshots]' "
        "(and Debian's chromium and chromium-driver)"
    )

ROOT = Path(__file__).resolve().parents[1]
# Not bench/ itself: its scripts must not shadow packages (a bench/github.py would hide PyGithub).
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from connect.demo.seed import load_demo, open_demo  # noqa: E402
from connect.settings import Settings  # noqa: E402
from sync.ports import Ports  # noqa: E402

OUT = ROOT / "bench" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
# (file, demo page, width in CSS pixels)
SHOTS = (
    ("panel-full.png", "Confluence OKR panel", 760),
    ("panel-compact.png", "Confluence OKR panel (compact)", 760),
    ("jira-issue-panel.png", "Jira issue panel", 380),
)


def browser(profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*ARGUMENTS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def shoot(driver: webdriver.Chrome, url: str, path: Path, width: int) -> None:
    """Load `url` at `width` and save the whole page."""
    metrics = {"width": width, "height": 100, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(url)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    driver.save_screenshot(str(path))


def take(shots: tuple[tuple[str, str, int], ...], *, ports: Ports | None = None) -> None:
    """Load the demo (on `ports`' clock) in a throwaway app and write each shot into `OUT`."""
    logging.basicConfig(level=logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="okrlink-shots-"))
    profile = tempfile.mkdtemp(prefix="okrlink-chromium-")
    app = open_demo(Settings(data_dir=work, dev=True), ports)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = browser(profile)
    try:
        urls = load_demo(app, base=f"http://127.0.0.1:{server.server_port}")
        OUT.mkdir(parents=True, exist_ok=True)
        for name, page, width in shots:
            shoot(driver, urls[page], OUT / name, width)
            print(f"wrote {OUT / name}")
    finally:
        driver.quit()
        server.shutdown()
        services_of(app).store.dispose()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    take(SHOTS)


if __name__ == "__main__":
    main()

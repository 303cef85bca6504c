"""The Jira dashboard gadget and the KPI chart as a reader sees them in Chromium.

Through the Connect door the gadget's page runs its own script against a stand-in for Jira's
`AP` (the page's dashboard item property kept in the browser): no settings yet, so it shows
its form; saved, it loads the panel with the page's token and shows it, compact and then full.
Through the Forge door the Custom UI shell shows the panel its gadget configuration names
(again from the remote's 304 on a second load) and submits its edit view's form as the
configuration. The KPI chart is shown on the page of a KR that takes a KPI, in English and
French. Screenshots: bench/screenshots/gadget-compact.png, gadget-full.png,
gadget-forge-edit.png, kpi-chart-en.png, kpi-chart-fr.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import responses
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from connect.services import services_of
from connect.settings import Settings
from sync import kpis
from sync.core.spec import KpiSpec
from sync.db.store import find_kr
from sync.engine.snapshots import recompute
from tests.support.app import PANEL_NOW, check_in, panel_site, signed_url
from tests.support.browser import WAIT, serving, shoot
from tests.support.forge import APP_UUID, JWKS_URL, fit, fit_claims, jwks_document
from tests.support.forge_shell import shell_app

ITEM = {"dashboardId": "10100", "dashboardItemId": "20200", "viewType": "default"}
PROPERTY_URL = "/rest/api/3/dashboard/10100/items/20200/properties/okrlink-gadget"

# Jira's `AP` as the gadget's script uses it: the dashboard item property, kept in the tab's
# session storage (so a reload finds it), and the Edit menu item (`window.__edit()` stands for
# clicking it).
STUB_AP = """
const kept = (url) => JSON.parse(window.sessionStorage.getItem("property:" + url) || "null");
window.AP = {
  resize() {},
  jira: {DashboardItem: {onDashboardItemEdit(callback) { window.__edit = callback; }}},
  request(options) {
    setTimeout(() => {
      if (options.type === "GET") {
        const value = kept(options.url);
        if (value) options.success(JSON.stringify({key: "okrlink-gadget", value}));
        else options.error({status: 404}, "error", "Not Found");
      } else if (options.type === "PUT") {
        if (window.__readOnly) {  // Jira refuses: this viewer may not edit the dashboard
          options.error({status: 403}, "error", "Forbidden");
          return;
        }
        window.sessionStorage.setItem("property:" + options.url, options.data);
        window.__puts = (window.__puts || []).concat([JSON.parse(options.data)]);
        options.success("");
      }
    }, 0);
  },
};
"""

LEAD_TIME = KpiSpec(
    key="PLAT-K2",
    title="Lead time for changes",
    unit="h",
    healthy_min=12,
    healthy_max=36,
)
LEAD_TIMES = (30.0, 28.0, 33.0, 41.0, 35.0, 29.0, 24.0, 22.0)
FAILURE_RATES = (12.0, 9.0, 17.0, 13.0, 11.0, 16.0, 10.0, 8.0)
CHECK_INS = (  # (KR, value, weeks before the screenshots): on track, at risk, off track
    ("PLAT-1.1", 99.8, 1),
    ("PLAT-1.2", 1.4, 2),
    ("PLAT-2.2", 6.4, 1),
    ("PLAT-2.3", 41.0, 0),
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(forge_app_id=APP_UUID, forge_jwks_url=JWKS_URL)


@pytest.fixture
def site(app: Flask) -> int:
    """The example OKRs with two KPIs measured weekly through the quarter (one breach each),
    and KR PLAT-1.5 taking its value from the lead time."""
    site_id = panel_site(app)
    start = PANEL_NOW - timedelta(weeks=len(LEAD_TIMES) - 1)
    with services_of(app).store.session() as session:
        kpis.upsert_kpi(session, site_id, "PLAT", LEAD_TIME, position=1, now=start)
        rate, lead = (
            kpis.find_kpi(session, site_id, "PLAT-K1"),
            kpis.find_kpi(session, site_id, "PLAT-K2"),
        )
        assert rate is not None and lead is not None
        for week, (failures, hours) in enumerate(zip(FAILURE_RATES, LEAD_TIMES, strict=True)):
            at = start + timedelta(weeks=week)
            kpis.record_value(session, rate, failures, now=at)
            kpis.record_value(session, lead, hours, now=at)
        kr = find_kr(session, site_id, "PLAT-1.5")
        assert kr is not None
        kr.kind, kr.measure, kr.kpi = "metric", None, "PLAT-K2"
        session.flush()
        recompute(session, site_id, [kr.id], now=PANEL_NOW)
    for key, value, weeks_ago in CHECK_INS:
        check_in(app, site_id, key, value=value, at=PANEL_NOW - timedelta(weeks=weeks_ago))
    return site_id


@pytest.fixture
def stub_ap(browser: webdriver.Chrome) -> Iterator[None]:
    """Jira's `AP` in every page the browser opens during the test (all.js cannot load)."""
    added = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": STUB_AP})
    try:
        yield
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
        )


def wait_for_state(browser: webdriver.Chrome, selector: str, *states: str) -> WebElement:
    node = browser.find_element(By.CSS_SELECTOR, selector)
    WebDriverWait(browser, WAIT).until(lambda _: node.get_attribute("data-state") in states)
    return node


def no_csp_violation(browser: webdriver.Chrome) -> None:
    logged = [entry["message"] for entry in browser.get_log("browser")]
    assert not [m for m in logged if "Content Security Policy" in m], logged


def save(browser: webdriver.Chrome, *, cycle: str, view: str) -> None:
    form = browser.find_element(By.CSS_SELECTOR, "form[data-form=gadget-config]")
    assert form.is_displayed()
    Select(form.find_element(By.NAME, "team")).select_by_value("PLAT")
    Select(form.find_element(By.NAME, "cycle")).select_by_value(cycle)
    Select(form.find_element(By.NAME, "view")).select_by_value(view)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_the_connect_gadget_is_configured_then_shows_the_panel_compact_and_full(
    browser: webdriver.Chrome, live_url: str, site: int, stub_ap: None
) -> None:
    browser.get_log("browser")  # forget what earlier tests logged
    browser.get(signed_url("/jira/dashboard-item", ITEM, origin=live_url))
    gadget = wait_for_state(browser, "[data-gadget=connect]", "editing")
    assert not browser.find_element(By.CSS_SELECTOR, "[data-gadget-panel]").is_displayed()

    save(browser, cycle="2026-Q4", view="compact")
    wait_for_state(browser, "[data-gadget=connect]", "ready", "error")
    assert gadget.get_attribute("data-state") == "ready", gadget.text
    assert browser.execute_script("return window.__puts") == [
        {"team": "PLAT", "cycle": "2026-Q4", "view": "compact"}
    ]
    assert not browser.find_element(By.CSS_SELECTOR, "form[data-form=gadget-config]").is_displayed()
    panel = browser.find_element(By.CSS_SELECTOR, "[data-gadget-panel] main.okr.cmp")
    rows = panel.find_elements(By.CSS_SELECTOR, "li[data-kr]")
    assert len(rows) == 8 and all(row.is_displayed() for row in rows)
    strip = panel.find_elements(By.CSS_SELECTOR, "section.kpis [data-kpi]")
    assert [k.get_attribute("data-kpi") for k in strip] == ["PLAT-K1", "PLAT-K2"]
    assert not panel.find_elements(By.CSS_SELECTOR, "[data-kpi-charts]")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-gadget-panel] script")
    shoot(browser, "gadget-compact.png", width=560)

    browser.execute_script("window.__edit()")  # Edit, from the gadget's menu
    wait_for_state(browser, "[data-gadget=connect]", "editing")
    form = browser.find_element(By.CSS_SELECTOR, "form[data-form=gadget-config]")
    assert Select(form.find_element(By.NAME, "view")).first_selected_option.text.startswith(
        "Compact"
    )
    save(browser, cycle="2026-Q4", view="full")
    wait_for_state(browser, "[data-gadget=connect]", "ready", "error")
    assert gadget.get_attribute("data-state") == "ready", gadget.text
    charts = browser.find_elements(By.CSS_SELECTOR, "[data-gadget-panel] [data-kpi-chart] svg")
    assert len(charts) == 2 and all(c.is_displayed() for c in charts)
    breaches = browser.find_elements(By.CSS_SELECTOR, "[data-kpi-chart] circle[data-breach]")
    assert len(breaches) == 3  # the failure rate twice over 15 %, the lead time once over 36 h

    # The dashboard reloads the gadget: its settings come back from the item property.
    browser.refresh()
    gadget = wait_for_state(browser, "[data-gadget=connect]", "ready", "error", "editing")
    assert gadget.get_attribute("data-state") == "ready", gadget.text
    assert browser.find_elements(By.CSS_SELECTOR, "[data-gadget-panel] [data-kpi-chart] svg")
    assert not browser.find_element(By.CSS_SELECTOR, "form[data-form=gadget-config]").is_displayed()
    shoot(browser, "gadget-full.png", width=560)
    no_csp_violation(browser)


def test_a_viewer_who_may_not_edit_the_dashboard_is_told_the_settings_were_not_saved(
    browser: webdriver.Chrome, live_url: str, site: int, stub_ap: None
) -> None:
    browser.get(signed_url("/jira/dashboard-item", ITEM, origin=live_url))
    gadget = wait_for_state(browser, "[data-gadget=connect]", "editing")
    browser.execute_script("window.__readOnly = true")
    save(browser, cycle="2026-Q4", view="full")
    note = browser.find_element(By.CSS_SELECTOR, "[data-gadget-note]")
    WebDriverWait(browser, WAIT).until(lambda _: note.is_displayed())
    assert note.text == (
        "Not saved: only people who may edit this dashboard can configure its gadgets."
    )
    assert gadget.get_attribute("data-state") == "editing"
    assert browser.execute_script("return window.__puts") is None
    assert not browser.find_element(By.CSS_SELECTOR, "[data-gadget-panel]").is_displayed()


def test_the_connect_gadget_says_so_when_it_is_opened_outside_jira(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(signed_url("/jira/dashboard-item", ITEM, origin=live_url))
    note = browser.find_element(By.CSS_SELECTOR, "[data-gadget-note]")
    WebDriverWait(browser, WAIT).until(lambda _: note.is_displayed())
    assert note.text == "Add this gadget to a Jira dashboard to see a team's OKRs here."


@pytest.fixture
def forge_keys() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(JWKS_URL, json=jwks_document())
        mock.add_passthru("http://127.0.0.1")
        yield mock


def forge_gadget(app: Flask, context: dict) -> Iterator[str]:
    token = fit(fit_claims(lifetime=600, module=("jira:dashboardGadget", "okr-dashboard-gadget")))
    with serving(shell_app(app, token, context)) as origin:
        yield origin


@pytest.fixture
def gadget_origin(app: Flask, forge_keys: responses.RequestsMock) -> Iterator[str]:
    context = {
        "locale": "en-US",
        "extension": {
            "type": "jira:dashboardGadget",
            "gadgetConfiguration": {"team": "PLAT", "cycle": "2026-Q4", "view": "full"},
        },
    }
    yield from forge_gadget(app, context)


@pytest.fixture
def edit_origin(app: Flask, forge_keys: responses.RequestsMock) -> Iterator[str]:
    context = {
        "locale": "fr-FR",
        "extension": {
            "type": "jira:dashboardGadget",
            "entryPoint": "edit",
            "gadgetConfiguration": {"team": "PLAT", "cycle": "", "view": "compact"},
        },
    }
    yield from forge_gadget(app, context)


def test_the_forge_gadget_shows_its_configured_panel_and_a_304_on_the_next_load(
    browser: webdriver.Chrome, site: int, gadget_origin: str
) -> None:
    browser.get(f"{gadget_origin}/shell/index.html")
    root = wait_for_state(browser, "#okrlink-root", "ready", "error")
    assert root.get_attribute("data-state") == "ready", root.text
    assert browser.find_elements(By.CSS_SELECTOR, "#okrlink-root [data-kpi-chart] svg")
    shown = [n.get_attribute("data-kr") for n in root.find_elements(By.CSS_SELECTOR, "[data-kr]")]
    assert "PLAT-1.1" in shown
    (call,) = browser.execute_script("return window.__calls")
    assert (call["path"], call["body"]) == (
        "/forge/gadget",
        {"team": "PLAT", "cycle": "2026-Q4", "view": "full", "locale": "en"},
    )
    browser.refresh()
    root = wait_for_state(browser, "#okrlink-root", "ready", "error")
    assert root.get_attribute("data-state") == "ready", root.text
    (call,) = browser.execute_script("return window.__calls")
    assert call["headers"]["If-None-Match"].startswith('W/"')
    assert browser.execute_script("return window.__statuses") == [304]
    again = [n.get_attribute("data-kr") for n in root.find_elements(By.CSS_SELECTOR, "[data-kr]")]
    assert again == shown


def test_the_forge_gadgets_edit_view_submits_its_settings_as_the_configuration(
    browser: webdriver.Chrome, site: int, edit_origin: str
) -> None:
    browser.get(f"{edit_origin}/shell/index.html")
    root = wait_for_state(browser, "#okrlink-root", "ready", "error")
    assert root.get_attribute("data-state") == "ready", root.text
    form = root.find_element(By.CSS_SELECTOR, "form[data-form=gadget-config]")
    assert form.find_element(By.CSS_SELECTOR, "label").text == "Équipe"
    Select(form.find_element(By.NAME, "cycle")).select_by_value("2026-Q4")
    Select(form.find_element(By.NAME, "view")).select_by_value("full")
    shoot(browser, "gadget-forge-edit.png", width=560)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: b.execute_script("return window.__submitted"))
    assert browser.execute_script("return window.__submitted") == [
        {"team": "PLAT", "cycle": "2026-Q4", "view": "full"}
    ]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_kpi_chart_on_the_page_of_a_kr_that_takes_the_kpi(
    browser: webdriver.Chrome, live_url: str, site: int, lang: str
) -> None:
    browser.get_log("browser")
    page = {"projectKey": "PLAT", "cycle": "2026-Q4", "lang": lang}
    browser.get(signed_url("/jira/project-page", page, origin=live_url))
    browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.5"] a[data-kr-link]').click()
    section = browser.find_element(By.CSS_SELECTOR, '[data-kr-kpi="PLAT-K2"]')
    heading = section.find_element(By.TAG_NAME, "h2").text
    assert heading == {"en": "KPI PLAT-K2 over the cycle", "fr": "KPI PLAT-K2 sur le cycle"}[lang]
    svg = section.find_element(By.CSS_SELECTOR, "svg[data-chart=kpi]")
    band = svg.find_element(By.CSS_SELECTOR, "[data-band=healthy] rect").rect
    box = svg.rect
    assert box["width"] > 400 and band["height"] > 10
    assert band["x"] >= box["x"] and band["x"] + band["width"] <= box["x"] + box["width"] + 1
    (breach,) = svg.find_elements(By.CSS_SELECTOR, "circle[data-breach]")
    assert breach.rect["y"] < band["y"]  # 41 h, above the healthy range's top (36 h)
    legend = section.find_element(By.CSS_SELECTOR, "[data-legend=band]").text
    assert legend == {"en": "Healthy range", "fr": "Plage saine"}[lang]
    shoot(browser, f"kpi-chart-{lang}.png", width=700)
    no_csp_violation(browser)


def test_the_docs_show_the_gadget_screenshot_these_tests_write() -> None:
    repo = Path(__file__).resolve().parents[4]
    docs = "".join(
        (repo / "docs" / page).read_text(encoding="utf-8")
        for page in (
            "integrations/dashboards.md",
            "integrations/kpis-and-dora.md",
            "guide/pages.md",
        )
    )
    assert "](../screenshots/gadget-full.png)" in docs
    for name in ("gadget-compact.png", "gadget-full.png", "kpi-chart-en.png", "kpi-chart-fr.png"):
        assert name in docs, name
        assert (repo / "bench" / "screenshots" / name).stat().st_size > 10_000, name


def test_the_readme_shows_the_three_ways_in_and_the_gadget() -> None:
    repo = Path(__file__).resolve().parents[4]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    section = readme.split("## On your dashboards\n", 1)[1].split("\n## ", 1)[0]
    for way in ("gadget", "/api/v1/metrics", "Grafana", "Datadog", "Geckoboard"):
        assert way in section, way
    assert "(docs/integrations/dashboards.md)" in section
    assert 'src="bench/screenshots/gadget-full.png"' in section
    assert (repo / "bench" / "screenshots" / "gadget-full.png").stat().st_size > 10_000

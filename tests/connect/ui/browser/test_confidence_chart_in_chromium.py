"""A KR's confidence charted beside its progress, as a reader sees it in Chromium: on the KR's own
page (large chart, labelled axes, legend) and in the Confluence panel's narrow rows; and the
closed cycle's retrospective saying where its Confluence page is. Screenshots land in
`bench/screenshots/` (`kr-confidence.png`, `kr-confidence-panel.png`, `cycle-retro-*.png`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By

from connect.services import services_of
from sync.engine.parking import retry_writes
from tests.connect.ui.browser.test_quarter_in_chromium import shoot
from tests.support.app import CLIENT_KEY, MACRO_PARAMS, PANEL, install, signed_url
from tests.support.base import FakeClock
from tests.support.confluence import (
    CONFLUENCE_KEY,
    CONTENT,
    CREATED,
    NOT_FOUND,
    PAGE_URL,
    REFUSED,
    WIKI,
)
from tests.support.quarter import CYCLE, post, write_quarter

PAGE = {"projectKey": "PLAT", "cycle": CYCLE}
# Seven weekly check-ins on PLAT-1.1 (availability 99.5 % -> 99.99 %): value and confidence.
WEEKS = (
    (99.55, 0.8),
    (99.6, 0.7),
    (99.62, 0.5),
    (99.68, 0.55),
    (99.7, 0.6),
    (99.74, 0.7),
    (99.78, 0.75),
)


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock) -> int:
    site_id = install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    clock.current -= timedelta(days=54)  # October 2nd: the quarter is written
    write_quarter(client, headers)
    for value, confidence in WEEKS:
        clock.current += timedelta(days=7)
        post(
            client,
            headers,
            "/key-results/PLAT-1.1/check-ins",
            {"value": value, "confidence": confidence, "what": "Failover drills"},
        )
    return site_id


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        outer["x"] - 1 <= inner["x"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
        and outer["y"] - 1 <= inner["y"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1
    )


def _no_csp_violation(browser: webdriver.Chrome) -> None:
    logs = browser.get_log("browser")
    assert not [e for e in logs if "Content Security Policy" in e["message"]], logs


def test_the_krs_page_draws_confidence_beside_progress_within_its_chart(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(signed_url("/jira/project-page", PAGE, origin=live_url))
    link = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.1"] a[data-kr-link]')
    browser.get(link.get_attribute("href"))
    chart = browser.find_element(By.CSS_SELECTOR, "[data-trend] svg")
    group = chart.find_element(By.CSS_SELECTOR, 'g[data-chart="confidence"]')
    dots = group.find_elements(By.CSS_SELECTOR, "circle")
    assert len(dots) == len(WEEKS) and all(dot.is_displayed() for dot in dots)
    svg_box = chart.rect
    assert svg_box["width"] >= 500  # the page's width is the chart's
    assert all(_inside(dot.rect, svg_box) for dot in dots)
    assert _inside(group.rect, svg_box)
    legend = browser.find_element(By.CSS_SELECTOR, '[data-trend] [data-legend="confidence"]')
    assert legend.is_displayed() and legend.text == "Confidence at each check-in"
    stroke = browser.execute_script("return getComputedStyle(arguments[0]).stroke", group)
    progress = browser.execute_script(
        "return getComputedStyle(arguments[0]).stroke",
        chart.find_element(By.CSS_SELECTOR, "svg > polyline"),
    )
    assert stroke != progress  # two lines a reader tells apart
    _no_csp_violation(browser)
    shoot(browser, "kr-confidence.png", width=900)


def test_the_panel_rows_draw_the_confidence_step_inside_their_small_chart(
    browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE}, origin=live_url))
    row = browser.find_element(By.CSS_SELECTOR, '[data-kr="PLAT-1.1"]')
    chart = row.find_element(By.CSS_SELECTOR, ".tr svg")
    group = chart.find_element(By.CSS_SELECTOR, 'g[data-chart="confidence"]')
    assert _inside(group.rect, chart.rect)
    assert browser.find_element(By.CSS_SELECTOR, "[data-chart-legend]").is_displayed()
    _no_csp_violation(browser)
    shoot(browser, "kr-confidence-panel.png", width=760)


@responses.activate
def test_the_retrospective_says_where_its_confluence_page_is_or_why_not_yet(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    browser: webdriver.Chrome,
    live_url: str,
    site: int,
    clock: FakeClock,
) -> None:
    install(app, client_key=CONFLUENCE_KEY, base_url=WIKI, product="confluence")
    responses.get(CONTENT, json=NOT_FOUND)
    responses.post(CONTENT, status=403, json=REFUSED)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    post(
        client,
        headers,
        f"/cycles/{CYCLE}/close?team=PLAT",
        {"retro": {"learned": "Failover drills pay off", "space": "PLAT"}},
    )
    retro = signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE, "view": "retro"}, origin=live_url)
    browser.get(retro)
    refused = browser.find_element(By.CSS_SELECTOR, '[data-retro-page="failed"]')
    assert refused.is_displayed() and "Not permitted to create page in space PLAT" in refused.text
    shoot(browser, "cycle-retro-refused.png", width=760)
    responses.replace(responses.POST, CONTENT, json=CREATED)
    with services_of(app).store.session() as session:
        retry_writes(session, None, now=clock.now())
    services_of(app).jobs.flush_outbound(site)
    browser.get(retro)
    link = browser.find_element(By.CSS_SELECTOR, '[data-retro-page="published"] a')
    assert link.is_displayed() and link.get_attribute("href") == PAGE_URL
    _no_csp_violation(browser)
    shoot(browser, "cycle-retro-published.png", width=760)

"""The review tab in a month's last week, as an owner sees it in Chromium: a month's-score form
per KR with the 0.3/0.7 guidance beside the field, filled in and sent; the score given then
shows on the KR and the "missing" list shrinks. Screenshot: `review-monthly-score.png`."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import select

from connect.services import services_of
from sync.db.model import MonthlyScore
from tests.support.app import ACCOUNT, CLIENT_KEY, install, signed_url
from tests.support.browser import shoot
from tests.support.quarter import CYCLE, post, write_quarter

REVIEW = {"projectKey": "PLAT", "cycle": CYCLE, "view": "review"}


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str]) -> int:
    """2026-Q4 written; today (November 25th) falls in November's last week."""
    site_id = install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    write_quarter(client, headers)
    post(
        client,
        headers,
        "/key-results/PLAT-1.2/monthly-scores",
        {"month": "2026-11", "score": 0.3, "reason": "Rollbacks still manual: rethink"},
    )
    return site_id


def test_an_owner_gives_the_months_score_on_the_review_tab(
    app: Flask, browser: webdriver.Chrome, live_url: str, site: int
) -> None:
    browser.get(signed_url("/jira/project-page", REVIEW, origin=live_url))
    missing = browser.find_element(By.CSS_SELECTOR, "[data-monthly-missing]")
    assert missing.get_attribute("data-monthly-missing") == "8"
    kr = browser.find_element(By.CSS_SELECTOR, 'li[data-kr="PLAT-1.1"]')
    form = kr.find_element(By.CSS_SELECTOR, 'form[data-form="monthly-score"]')
    score = form.find_element(By.NAME, "score")
    hint = form.find_element(By.ID, score.get_attribute("aria-describedby"))
    assert hint.is_displayed()
    assert "0.7 is a good stretch result" in hint.text
    assert abs(hint.rect["y"] - score.rect["y"]) < 60  # beside the field, not pages away
    score.send_keys("0.7")
    form.find_element(By.NAME, "reason").send_keys("Failover is automatic in every region")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    given = browser.find_element(By.CSS_SELECTOR, 'li[data-kr="PLAT-1.1"] [data-monthly-given]')
    assert given.get_attribute("data-monthly-given") == "0.70"
    assert "Failover is automatic in every region" in given.text
    missing = browser.find_element(By.CSS_SELECTOR, "[data-monthly-missing]")
    assert missing.get_attribute("data-monthly-missing") == "7"
    shot = shoot(browser, "review-monthly-score.png")
    assert shot.stat().st_size > 10_000
    with services_of(app).store.session() as session:
        authors = {r.score: r.author for r in session.scalars(select(MonthlyScore))}
    assert authors == {0.3: None, 0.7: ACCOUNT}

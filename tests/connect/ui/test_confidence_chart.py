"""Each check-in's confidence charted beside progress, on the same cycle time axis: on the KR's
own page (a large chart with labelled axes and a legend), in the panel's full view (the
Confluence macro, the project page, the Forge panel), with the legend in the reader's language;
a page without any confidence carries neither the legend nor a confidence group."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from connect.ui.render import render_panel
from tests.support.app import CLIENT_KEY, MACRO_PARAMS, PANEL, install, signed_url
from tests.support.base import FakeClock
from tests.support.quarter import CYCLE, post, write_quarter
from tests.support.ui import parse

PAGE = {"projectKey": "PLAT", "cycle": CYCLE}


def _check_in_weekly(client: FlaskClient, headers: dict[str, str], clock: FakeClock) -> None:
    """Three weekly check-ins on PLAT-1.1, confidence 0.8, 0.6 then 0.65; one on PLAT-1.2
    without a confidence."""
    for value, confidence in ((99.6, 0.8), (99.7, 0.6), (99.745, 0.65)):
        clock.current += timedelta(days=7)
        post(
            client,
            headers,
            "/key-results/PLAT-1.1/check-ins",
            {"value": value, "confidence": confidence, "what": "Drills"},
        )
    post(client, headers, "/key-results/PLAT-1.2/check-ins", {"value": 14, "what": "Slower"})


@pytest.fixture
def site(app: Flask, client: FlaskClient, admin: dict[str, str], clock: FakeClock) -> int:
    site_id = install(app)
    headers = {**admin, "X-Okrlink-Site": CLIENT_KEY}
    clock.current -= timedelta(days=40)  # mid-October: the quarter is written
    write_quarter(client, headers)
    _check_in_weekly(client, headers, clock)
    return site_id


def _kr_page(client: FlaskClient, lang: str = "en") -> str:
    page = client.get(signed_url("/jira/project-page", {**PAGE, "lang": lang}))
    link = parse(page.text).find("li", data_kr="PLAT-1.1").find("a", data_kr_link=True)
    response = client.get(link.attrs["href"])
    assert response.status_code == 200
    return response.text


def test_the_krs_page_charts_every_check_ins_confidence_beside_its_progress(
    client: FlaskClient, site: int
) -> None:
    root = parse(_kr_page(client))
    trend = root.find("section", data_trend=True)
    assert trend.find("h2").text == "Progress and confidence over the cycle"
    confidence = trend.find("g", data_chart="confidence")
    assert [p.split("=")[1] for p in confidence.attrs["data-points"].split()] == [
        "0.80",
        "0.60",
        "0.65",
    ]
    assert len(confidence.find_all("circle")) == 3
    assert trend.find("polyline")  # progress moved: a line, not only a dot
    assert trend.find("title").text.endswith("; confidence 65%")
    legend = {n.attrs["data-legend"]: n.text for n in trend.find_all(data_legend=True)}
    assert legend == {
        "progress": "Progress",
        "expected": "Expected pace",
        "confidence": "Confidence at each check-in",
    }
    axes = [text.text for text in trend.find("g", class_="axes").find_all("text")]
    assert axes[:3] == ["100%", "50%", "0%"]


def test_the_krs_page_speaks_french_to_a_french_reader(client: FlaskClient, site: int) -> None:
    trend = parse(_kr_page(client, lang="fr")).find("section", data_trend=True)
    assert trend.find("h2").text == "Avancement et confiance sur le cycle"
    legend = {n.attrs["data-legend"]: n.text for n in trend.find_all(data_legend=True)}
    assert legend["confidence"] == "Confiance à chaque point"
    assert trend.find("title").text.startswith("Avancement de PLAT-1.1")
    assert "; confiance 65" in trend.find("title").text


def test_a_kr_without_confidence_has_its_progress_chart_and_no_confidence_legend(
    client: FlaskClient, site: int
) -> None:
    page = client.get(signed_url("/jira/project-page", PAGE))
    link = parse(page.text).find("li", data_kr="PLAT-1.2").find("a", data_kr_link=True)
    trend = parse(client.get(link.attrs["href"]).text).find("section", data_trend=True)
    assert trend.find_all("g", data_chart="confidence") == []
    assert {n.attrs["data-legend"] for n in trend.find_all(data_legend=True)} == {
        "progress",
        "expected",
    }


def test_the_panel_macro_charts_confidence_in_the_krs_row_with_one_legend(
    client: FlaskClient, site: int
) -> None:
    root = parse(client.get(signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE})).text)
    row = root.find("li", data_kr="PLAT-1.1")
    confidence = row.find("g", data_chart="confidence")
    assert confidence.attrs["data-points"].endswith("=0.65")
    assert len(confidence.find_all("circle")) == 1  # the panel's narrow chart: the latest dot
    assert root.find("li", data_kr="PLAT-1.2").find_all("g", data_chart="confidence") == []
    assert len(root.find_all(data_chart_legend=True)) == 1


def test_the_project_page_charts_confidence_too(client: FlaskClient, site: int) -> None:
    root = parse(client.get(signed_url("/jira/project-page", PAGE)).text)
    assert root.find("li", data_kr="PLAT-1.1").find("g", data_chart="confidence")
    assert root.find(data_chart_legend=True)


def test_a_panel_without_confidence_carries_no_legend(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    install(app)
    write_quarter(client, {**admin, "X-Okrlink-Site": CLIENT_KEY})
    html = client.get(signed_url(PANEL, {**MACRO_PARAMS, "cycle": CYCLE})).text
    assert 'data-chart="confidence"' not in html and "data-chart-legend" not in html


def test_the_compact_panel_has_no_chart_and_no_legend(
    app: Flask, site: int, clock: FakeClock
) -> None:
    from connect.ui import panels

    with services_of(app).store.session() as session:
        where = panels.find_kr_panel(session, site, "PLAT-1.1")
        assert where is not None
        view = panels.load_panel(session, site, where, today=clock.now().date())
    assert view is not None and view.charts_confidence
    html = render_panel(view, mode="compact")
    assert 'data-chart="confidence"' not in html and "data-chart-legend" not in html

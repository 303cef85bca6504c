"""A KPI's chart: its values over the cycle, its healthy range as a band, its breaches marked,
named and described in words; on the panel's full view, the project page and the page of a KR
that takes the KPI, in English and French."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connect.services import services_of
from connect.ui.charts import KpiPoint, KpiScale, kpi_scale, kpi_svg
from sync import kpis
from sync.core.spec import KpiSpec
from sync.db.store import find_kr
from tests.support.app import MACRO_PARAMS, PANEL, PANEL_NOW, panel_site, signed_url
from tests.support.ui import CYCLE_END, CYCLE_START, Node, parse

OCT = datetime(2026, 10, 1, tzinfo=UTC)


def chart(points: list[KpiPoint], **kwargs: object) -> str:
    values: dict[str, object] = {
        "start": CYCLE_START,
        "end": CYCLE_END,
        "healthy_min": 10.0,
        "healthy_max": 20.0,
        "ident": "kpi-PLAT-K1",
        "title": "PLAT-K1 Lead time over the cycle",
        "description": "3 values",
        "number": lambda value: f"{value:g}",
        "start_label": "1 Oct 2026",
        "end_label": "31 Dec 2026",
        "width": 360,
        "height": 120,
    }
    values.update(kwargs)
    return str(kpi_svg(points, **values))  # type: ignore[arg-type]


def band(svg: str) -> Node:
    return parse(svg).find("g", data_band="healthy").find("rect")


def y_of(svg: str, value: float, points: list[KpiPoint]) -> float:
    """The y of `value` as the chart draws it: read from a dot drawn at that value."""
    for dot, point in zip(parse(svg).find_all("circle"), points, strict=True):
        if point.value == value:
            return float(dot.attrs["cy"])
    raise AssertionError(value)


POINTS = [
    KpiPoint(OCT + timedelta(days=7), 12.0),
    KpiPoint(OCT + timedelta(days=14), 25.0, breached=True),
    KpiPoint(OCT + timedelta(days=21), 20.0),
    KpiPoint(OCT + timedelta(days=28), 10.0),
]


def test_the_healthy_range_is_a_band_between_its_bounds() -> None:
    svg = chart(POINTS)
    rect = band(svg)
    top, height = float(rect.attrs["y"]), float(rect.attrs["height"])
    assert top == pytest.approx(y_of(svg, 20.0, POINTS), abs=0.05)
    assert top + height == pytest.approx(y_of(svg, 10.0, POINTS), abs=0.15)  # rounded twice
    assert parse(svg).find("svg").attrs["data-band"] == "10..20"


def test_a_one_sided_range_reaches_the_edge_of_the_plot() -> None:
    at_most = chart(POINTS, healthy_min=None)
    rect = band(at_most)
    bottom = float(rect.attrs["y"]) + float(rect.attrs["height"])
    axis = parse(at_most).find("g", class_="axes").find("path").attrs["d"]
    assert f"{bottom:g}" in axis  # down to the bottom line of the axes
    assert float(rect.attrs["y"]) == pytest.approx(y_of(at_most, 20.0, POINTS), abs=0.05)
    at_least = band(chart(POINTS, healthy_max=None))
    assert float(at_least.attrs["y"]) == 8.0  # the top of the plot (pad 3 + axis room 5)


def test_no_range_draws_no_band() -> None:
    svg = chart(POINTS, healthy_min=None, healthy_max=None)
    assert not parse(svg).find_all("g", data_band="healthy")
    assert parse(svg).find("svg").attrs["data-band"] == ".."


def test_breaches_are_red_dots_marked_with_their_day_and_the_rest_are_plain() -> None:
    root = parse(chart(POINTS))
    breaches = root.find_all("circle", data_breach=True)
    assert [c.attrs["data-breach"] for c in breaches] == ["2026-10-15"]
    assert breaches[0].attrs["fill"] == "#c9372c" and breaches[0].attrs["r"] == "4"
    plain = [c for c in root.find_all("circle") if "data-breach" not in c.attrs]
    assert len(plain) == 3 and {c.attrs["r"] for c in plain} == {"2.5"}


def test_the_line_runs_through_the_values_in_time_order() -> None:
    shuffled = [POINTS[2], POINTS[0], POINTS[3], POINTS[1]]
    root = parse(chart(shuffled))
    xs = [float(pair.split(",")[0]) for pair in root.find("polyline").attrs["points"].split()]
    assert xs == sorted(xs) and len(xs) == 4
    assert root.find("svg").attrs["data-points"] == (
        "2026-10-08=12 2026-10-15=25 2026-10-22=20 2026-10-29=10"
    )


def test_the_scale_shows_every_value_and_both_bounds_and_stays_above_zero() -> None:
    scale = kpi_scale([12.0, 25.0], healthy_min=10.0, healthy_max=20.0)
    assert scale.low < 10.0 and scale.high > 25.0
    assert kpi_scale([1.0, 3.0], healthy_min=0.0, healthy_max=None).low == 0.0
    flat = kpi_scale([5.0], healthy_min=None, healthy_max=None)
    assert flat.low < 5.0 < flat.high
    assert kpi_scale([], healthy_min=None, healthy_max=None) == KpiScale(0.0, 1.0)


def test_the_scale_runs_between_round_numbers_its_labels_can_say() -> None:
    lead_times = [30.0, 28.0, 33.0, 41.0, 35.0, 29.0, 24.0, 22.0]
    assert kpi_scale(lead_times, healthy_min=12, healthy_max=36) == KpiScale(0.0, 50.0)
    assert kpi_scale([99.6, 99.1], healthy_min=99.5, healthy_max=100) == KpiScale(99.0, 100.5)
    assert kpi_scale([-3.0, 2.0], healthy_min=None, healthy_max=None) == KpiScale(-4.0, 4.0)
    # "at most 15 %" with no value yet: from zero, the healthy side whole
    assert kpi_scale([], healthy_min=None, healthy_max=15) == KpiScale(0.0, 20.0)


def test_no_value_draws_the_band_and_axes_without_a_line() -> None:
    root = parse(chart([]))
    assert root.find("g", data_band="healthy")
    assert not root.find_all("polyline") and not root.find_all("circle")


def test_title_and_description_are_escaped_and_name_the_chart_for_screen_readers() -> None:
    svg = chart(POINTS, title="<script>alert(1)</script> & co", description='"><b>x</b>')
    assert "<script>" not in svg and "<b>" not in svg
    root = parse(svg).find("svg")
    assert root.attrs["role"] == "img"
    assert root.attrs["aria-labelledby"] == "kpi-PLAT-K1-t"
    assert root.attrs["aria-describedby"] == "kpi-PLAT-K1-d"
    assert root.find("title", id="kpi-PLAT-K1-t").text == "<script>alert(1)</script> & co"
    assert root.find("desc", id="kpi-PLAT-K1-d").text == '"><b>x</b>'


def test_axis_labels_are_escaped_too() -> None:
    svg = chart(POINTS, number=lambda value: "<i>n</i>", start_label="<u>", end_label="&")
    assert "<i>" not in svg and "<u>" not in svg
    texts = [t.text for t in parse(svg).find("g", class_="axes").find_all("text")]
    assert texts == ["<i>n</i>", "<i>n</i>", "<i>n</i>", "<u>", "&"]


# --- on the pages ---------------------------------------------------------------------------

LEAD = KpiSpec(
    key="PLAT-K2",
    title="Lead time <hours>",
    unit="h",
    healthy_min=10,
    healthy_max=20,
)


@pytest.fixture
def site(app: Flask) -> int:
    """The example team with a second KPI, recorded weekly through the cycle (one breach),
    and KR PLAT-2.3 taking its value from it."""
    site_id = panel_site(app)
    start = PANEL_NOW - timedelta(days=40)
    with services_of(app).store.session() as session:
        kpis.upsert_kpi(session, site_id, "PLAT", LEAD, position=1, now=start)
        kpi = kpis.find_kpi(session, site_id, "PLAT-K2")
        assert kpi is not None
        for week, value in enumerate((12.0, 14.0, 26.0, 18.0)):
            kpis.record_value(session, kpi, value, now=start + timedelta(weeks=week))
        kr = find_kr(session, site_id, "PLAT-2.3")
        assert kr is not None
        kr.kpi = "PLAT-K2"
    return site_id


def figure(html: str, key: str) -> Node:
    return parse(html).find("figure", data_kpi_chart=key)


def test_the_panels_full_view_charts_each_kpi_and_the_compact_view_none(
    client: FlaskClient, site: int
) -> None:
    html = client.get(signed_url(PANEL, MACRO_PARAMS)).text
    svg = figure(html, "PLAT-K2").find("svg")
    assert [p.split("=")[1] for p in svg.attrs["data-points"].split()] == ["12", "14", "26", "18"]
    assert len(svg.find_all("circle", data_breach=True)) == 1
    assert svg.find("title").text == "PLAT-K2 Lead time <hours> over the cycle"
    # (`text` collapses whitespace: the no-break space before a unit reads as a space)
    assert svg.find("desc").text == (
        "4 values from 1 Oct 2026 to 31 Dec 2026, the latest 18 h; healthy range: "
        "10 h to 20 h; 1 breach."
    )
    assert figure(html, "PLAT-K1")  # no value in the cycle yet: an empty chart, said so
    assert "No value recorded" in figure(html, "PLAT-K1").find("desc").text
    legend = {n.attrs["data-legend"]: n.text for n in parse(html).find_all(data_legend=True)}
    assert legend == {"value": "Value", "band": "Healthy range", "breach": "Breach"}
    compact = client.get(signed_url(PANEL, {**MACRO_PARAMS, "view": "compact"})).text
    assert "data-kpi-chart" not in compact and "data-kpi-charts" not in compact


def test_the_chart_speaks_french_to_a_french_reader(client: FlaskClient, site: int) -> None:
    html = client.get(signed_url(PANEL, {**MACRO_PARAMS, "lang": "fr"})).text
    root = parse(html)
    assert root.find("section", data_kpi_charts=True).find("h2").text == (
        "Signaux de santé sur le cycle"
    )
    svg = figure(html, "PLAT-K2").find("svg")
    assert svg.find("title").text == "PLAT-K2 Lead time <hours> sur le cycle"
    assert svg.find("desc").text == (
        "4 valeurs du 1 oct. 2026 au 31 déc. 2026, la dernière 18 h ; plage saine : "
        "de 10 h à 20 h ; 1 alerte."
    )
    axes = [t.text for t in svg.find("g", class_="axes").find_all("text")]
    assert axes[-2:] == ["1 oct. 2026", "31 déc. 2026"]
    legend = {n.attrs["data-legend"]: n.text for n in root.find_all(data_legend=True)}
    assert legend == {"value": "Valeur", "band": "Plage saine", "breach": "Hors plage"}


def test_the_project_page_charts_the_teams_kpis(client: FlaskClient, site: int) -> None:
    html = client.get(signed_url("/jira/project-page", {"projectKey": "PLAT"})).text
    assert figure(html, "PLAT-K2").find("svg").attrs["data-band"] == "10..20"


def kr_page(client: FlaskClient, kr: str, lang: str = "en") -> str:
    page = client.get(signed_url("/jira/project-page", {"projectKey": "PLAT", "lang": lang}))
    link = parse(page.text).find("li", data_kr=kr).find("a", data_kr_link=True)
    response = client.get(link.attrs["href"])
    assert response.status_code == 200
    return response.text


def test_the_page_of_a_kr_that_takes_a_kpi_charts_that_kpi(client: FlaskClient, site: int) -> None:
    root = parse(kr_page(client, "PLAT-2.3"))
    section = root.find("section", data_kr_kpi="PLAT-K2")
    assert section.find("h2").text == "KPI PLAT-K2 over the cycle"
    svg = section.find("svg")
    assert svg.attrs["width"] == "560"
    assert svg.attrs["aria-labelledby"] == "krkpi-PLAT-K2-t"
    assert len(svg.find_all("circle", data_breach=True)) == 1
    french = parse(kr_page(client, "PLAT-2.3", "fr")).find("section", data_kr_kpi="PLAT-K2")
    assert french.find("h2").text == "KPI PLAT-K2 sur le cycle"


def test_the_page_of_a_kr_without_a_kpi_has_no_kpi_chart(client: FlaskClient, site: int) -> None:
    html = kr_page(client, "PLAT-2.2")
    assert "data-kr-kpi" not in html and "data-kpi-chart" not in html
